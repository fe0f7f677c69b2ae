"""Staffing: the fewest handlers per pool and interval that meet service-level targets.

A target reads ``999=0.90@10s``: 90% of offered 999 contacts answered within 10 s, in *every*
interval of the week (15 minutes by default), with contactsim's definition of the service level
(answered within the threshold / offered; abandoned contacts count as missed).  Two methods are
computed side by side (``docs/analytic.md`` has the formulas and the reasoning):

1. **Analytic, interval by interval** (pointwise stationary).  Each interval is a stationary
   Erlang A queue (``contactsim.analytic``) with that interval's arrival rate
   (``contactsim.arrivals.interval_rates``), the channels' mean handling times and mean
   patience.  It ignores what carries over from the previous interval, redials and priorities.
   Square-root staffing ``R + beta sqrt(R)``, with the Halfin-Whitt ``beta`` that meets the
   target, is shown as the rule of thumb.

2. **Simulation: the iterative staffing algorithm** (ISA; Feldman, Mandelbaum, Massey & Whitt
   2008).  The first run has ample handlers, so hardly anyone waits and the handlers busy are
   the offered load of an infinite-server system.  Every iteration simulates the current roster
   and measures the offered load of each interval — the time-average number of contacts that
   would be in service if each were answered on arrival, which includes contacts carried over
   from earlier intervals and the redials that the current roster's abandonment causes — and
   sets the roster to the Erlang A staffing of that load (the modified-offered-load step), until
   no interval moves by more than one handler.  The first attempts' share of that load is known
   exactly (``first_attempt_load``) and is not re-estimated, so the roster is not tailored to
   the random arrivals of the replications used.  A second phase feeds the simulated service
   level back: per channel and hour of day, the gap between simulated and Erlang A service level
   (priorities, non-exponential handling, time variation) shifts the level the Erlang A step
   aims at (``estimate_bias``), until the roster settles again.  The roster is then verified on
   fresh replications: wherever a target lies above an interval's whole 99% CI, a handler is
   added there and the roster is re-checked, until no interval misses.

Pools.  Pools that serve a targeted channel, and through the channels they serve any further
pools, form a *group* (in the Met configs the 999-only ``call_999`` pool and the blended
``call_handlers`` pool, which takes 999 first and then 101, are one group).  A group is staffed
as one Erlang A queue for all its channels' load — each targeted channel's own target and
patience must hold — and its handlers are split between its pools in the proportions of the
config's roster in that interval: how many handlers are dedicated and how many blended is the
planner's design, kept as it is.  Pools outside every group (e.g. ``digital`` for online reports)
keep their configured roster.  Downstream stages (TDIU, response) do not feed back into call
handling and are not simulated here.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, special

from contactsim import analytic, metrics
from contactsim.arrivals import interval_rates
from contactsim.roster import weekly_counts
from contactsim.schema import CHANNELS, Scenario
from contactsim.stages import Replication, simulate
from contactsim.system import ABANDONED

CONFIDENCE = 0.99
COOLDOWN = 3600.0  # simulated past the horizon so the last intervals' contacts are resolved
MAX_ISA_ITERATIONS = 12
FEEDBACK_ITERATIONS = 4
MAX_REPAIR_ROUNDS = 12
SAFETY = 1.0  # standard errors of the simulated bias held back (see estimate_bias)
FRESH = 1000  # replication index offset of the verification, never used to build the roster
DOWNSTREAM = ("outcomes", "crime_screening", "tdiu", "response")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TargetError(ValueError):
    """A --target that cannot be used; the message says why."""


# --- targets -----------------------------------------------------------------------------------

_TARGET = re.compile(
    r"^\s*(?P<channel>[^=\s]+)\s*=\s*(?P<level>[0-9]*\.?[0-9]+)\s*(?P<pct>%?)\s*"
    r"(?:@\s*(?P<within>[0-9]*\.?[0-9]+)\s*(?P<unit>s|sec|min|h)?)?\s*$"
)
_UNIT = {None: 1.0, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Target:
    """``level`` of offered contacts on ``channel`` answered within ``within`` seconds."""

    channel: str
    level: float
    within: float | None = None  # None: the channel's answer_target

    def __str__(self) -> str:
        within = "" if self.within is None else f"@{self.within:g}s"
        return f"{self.channel}={self.level:g}{within}"


def parse_target(text: str) -> Target:
    """Read ``CHANNEL=LEVEL[@TIME]``: ``999=0.90@10s``, ``101=90%@30s``, ``999=0.9``."""
    match = _TARGET.match(text)
    if not match:
        raise TargetError(
            f"--target {text!r}: expected CHANNEL=LEVEL@TIME, e.g. 999=0.90@10s or 101=90%@30s"
        )
    channel = match["channel"]
    if channel not in CHANNELS:
        raise TargetError(f"--target {text!r}: unknown channel {channel!r}; expected one of "
                          f"{', '.join(CHANNELS)}")
    level = float(match["level"]) / (100.0 if match["pct"] else 1.0)
    if not 0.0 < level < 1.0:
        raise TargetError(f"--target {text!r}: the level must lie strictly between 0 and 1 "
                          f"(or 0% and 100%), got {level:g}")
    within = None
    if match["within"] is not None:
        within = float(match["within"]) * _UNIT[match["unit"]]
    return Target(channel, level, within)


def resolve_targets(scenario: Scenario, texts: list[str]) -> dict[str, Target]:
    """Parse every --target and check it against the scenario; fill in default thresholds."""
    if not texts:
        raise TargetError("give at least one --target, e.g. --target 999=0.90@10s")
    targets: dict[str, Target] = {}
    for text in texts:
        target = parse_target(text)
        spec = scenario.channels.get(target.channel)
        if spec is None or spec.daily_volume <= 0:
            raise TargetError(f"--target {text!r}: the scenario has no demand on channel "
                              f"{target.channel}")
        if target.channel in targets:
            raise TargetError(f"--target {text!r}: channel {target.channel} has two targets")
        within = spec.answer_target if target.within is None else target.within
        targets[target.channel] = Target(target.channel, target.level, within)
    return targets


# --- the scenario as the staffing methods see it ------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Pools staffed together and every channel they serve."""

    pools: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Setup:
    """A scenario prepared for staffing: targets, pool groups and the queue parameters."""

    scenario: Scenario  # downstream dropped, answer targets set to the targets' thresholds
    targets: dict[str, Target]
    groups: tuple[Group, ...]
    primary: dict[str, str]  # channel -> the first pool serving it (its handling time)
    handling: dict[str, float]  # channel -> mean handling time in its primary pool (s)
    patience: dict[str, float]  # channel -> mean patience (s), inf for never
    config: dict[str, np.ndarray]  # staffed pool -> its configured roster over the week

    @property
    def week(self) -> int:
        return 7 * self.scenario.intervals_per_day

    @property
    def staffed(self) -> tuple[str, ...]:
        return tuple(p for g in self.groups for p in g.pools)

    def targeted(self, group: Group) -> list[str]:
        return [c for c in group.channels if c in self.targets]


def prepare(scenario: Scenario, targets: dict[str, Target]) -> Setup:
    """Work out pool groups, handling and patience; drop the downstream stages."""
    reach = scenario.reachable_channels()
    primary = {}
    for channel in CHANNELS:
        serving = [name for name, pool in scenario.pools.items() if channel in pool.serves]
        if channel in scenario.channels and channel in reach and serving:
            primary[channel] = serving[0]
    groups = pool_groups(scenario, list(targets), set(primary))
    handling = {c: _handling(scenario, p, c).mean for c, p in primary.items()}
    patience = {c: scenario.channels[c].patience.sampler().mean for c in primary}
    data = scenario.model_dump(mode="json")
    for key in DOWNSTREAM:
        data.pop(key, None)
    for channel, target in targets.items():
        data["channels"][channel]["answer_target"] = target.within
    config = {p: weekly_counts(scenario.pools[p].roster, scenario.interval, scenario.pools[p].scale)
              for g in groups for p in g.pools}
    return Setup(Scenario.model_validate(data), targets, groups, primary, handling, patience,
                 config)


def pool_groups(scenario: Scenario, targeted: list[str], live: set[str]) -> tuple[Group, ...]:
    """Connected sets of pools and channels, grown from each targeted channel."""
    groups: list[Group] = []
    for seed in targeted:
        if any(seed in g.channels for g in groups):
            continue
        channels, pools, todo = {seed}, set(), [seed]
        while todo:
            channel = todo.pop()
            for name, pool in scenario.pools.items():
                if channel in pool.serves and name not in pools:
                    pools.add(name)
                    new = {c for c in pool.serves if c in live} - channels
                    channels |= new
                    todo.extend(new)
        groups.append(Group(tuple(p for p in scenario.pools if p in pools),
                            tuple(c for c in CHANNELS if c in channels)))
    return tuple(groups)


def _handling(scenario: Scenario, pool: str, channel: str):
    spec = scenario.pools[pool].handling.get(channel) or scenario.handling[channel]
    return spec.sampler()


def week_index(scenario: Scenario, count: int) -> np.ndarray:
    """Interval of the week (Monday 00:00 = 0) of each of the first ``count`` intervals."""
    per_day = scenario.intervals_per_day
    return (scenario.start_date.weekday() * per_day + np.arange(count)) % (7 * per_day)


def measured(scenario: Scenario) -> np.ndarray:
    """Horizon intervals that start at or after the warm-up and end by the horizon."""
    width = scenario.interval
    starts = np.arange(int(np.ceil(scenario.horizon / width))) * width
    return np.flatnonzero((starts >= scenario.warmup) & (starts + width <= scenario.horizon))


def fold_week(setup: Setup, values: np.ndarray) -> np.ndarray:
    """Average per-horizon-interval values onto the intervals of the week (NaN if unmeasured)."""
    s = setup.scenario
    keep = measured(s)
    index = week_index(s, values.size)[keep]
    total = np.bincount(index, weights=values[keep], minlength=setup.week)
    seen = np.bincount(index, minlength=setup.week)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, total / seen, np.nan)


def hour_of(setup: Setup) -> np.ndarray:
    """Hour of day of each interval of the week."""
    s = setup.scenario
    return ((np.arange(setup.week) % s.intervals_per_day) * s.interval // 3600).astype(np.int64)


# --- from load to handlers -----------------------------------------------------------------------


def pooled(setup: Setup, group: Group, loads: dict[str, float]) -> tuple[float, float, float]:
    """The group as one queue: (offered load in Erlangs, arrival rate, mean handling time)."""
    total = sum(loads[c] for c in group.channels)
    if total <= 0:
        return 0.0, 0.0, 0.0
    rate = sum(loads[c] / setup.handling[c] for c in group.channels)
    return total, rate, total / rate


def requirement(setup: Setup, group: Group, loads: dict[str, float],
                lift: dict[str, float] | None = None, hint: int | None = None) -> int:
    """Fewest handlers for which every targeted channel of the group meets its level (+ lift).

    The group is one Erlang A queue: the channels' arrivals pooled, handling time their
    load-weighted mean, each targeted channel's own patience and target; ``lift`` moves a
    channel's level up (or down) in the model to correct for what the model leaves out.  The
    answer is ``max`` over the channels of ``analytic.min_servers_erlang_a``; the search starts
    at ``hint`` (e.g. the neighbouring interval's answer), which saves most evaluations.
    """
    total, rate, aht = pooled(setup, group, loads)
    if total <= 0:
        return 0
    levels = {}
    for c in setup.targeted(group):
        levels[c] = min(max(setup.targets[c].level + (lift or {}).get(c, 0.0), 0.01), 0.9999)

    order = list(levels)

    def meets(n: int) -> bool:
        for i, c in enumerate(order):
            result = analytic.erlang_a_metrics(rate, aht, setup.patience[c], n,
                                               setup.targets[c].within)
            if result.service_level < levels[c]:
                order.insert(0, order.pop(i))  # the binding channel is checked first next time
                return False
        return True

    start = hint if hint is not None and hint > 0 else math.ceil(total)
    return analytic._smallest_meeting(meets, 0, start, analytic._staffing_limit(total))


def erlang_a_level(setup: Setup, group: Group, channel: str, loads: dict[str, float], n: int
                   ) -> float:
    """Service level of ``channel`` that the group's Erlang A model predicts with n handlers."""
    total, rate, aht = pooled(setup, group, loads)
    if total <= 0:
        return 1.0
    t = setup.targets[channel]
    return analytic.erlang_a_metrics(rate, aht, setup.patience[channel], n, t.within).service_level


def split(setup: Setup, group: Group, totals: np.ndarray) -> dict[str, np.ndarray]:
    """Share each interval's handlers between the group's pools as the config's roster does
    (largest remainders, so the counts add up)."""
    weights = np.array([setup.config[p] for p in group.pools], dtype=float)
    fallback = weights.sum(axis=1) + 1e-9
    column = weights.sum(axis=0)
    weights = np.where(column > 0, weights, fallback[:, None])
    shares = weights / weights.sum(axis=0) * totals
    counts = np.floor(shares).astype(np.int64)
    remainder = totals - counts.sum(axis=0)
    order = np.argsort(-(shares - counts), axis=0, kind="stable")
    for rank in range(len(group.pools)):
        counts[order[rank], np.arange(totals.size)] += rank < remainder
    return dict(zip(group.pools, counts, strict=True))


def group_totals(setup: Setup, roster: dict[str, np.ndarray], group: Group) -> np.ndarray:
    return np.sum([roster[p] for p in group.pools], axis=0)


def staffing_from_loads(setup: Setup, loads: dict[str, np.ndarray],
                        bias: dict[str, np.ndarray] | None = None,
                        hints: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Erlang A staffing of every group in every interval of the week, split between pools;
    ``bias`` (per channel and hour) lowers the level aimed at by what simulation adds;
    ``hints`` (a roster) is where each interval's search starts, else the previous interval."""
    hours_ = hour_of(setup)
    out = {}
    for group in setup.groups:
        totals = np.zeros(setup.week, np.int64)
        start = group_totals(setup, hints, group) if hints else None
        for k in range(setup.week):
            lift = {c: -float(b[hours_[k]]) for c, b in (bias or {}).items()}
            hint = int(start[k]) if start is not None else int(totals[k - 1]) if k else None
            totals[k] = requirement(setup, group, {c: v[k] for c, v in loads.items()}, lift,
                                    hint)
        out.update(split(setup, group, totals))
    return out


# --- the analytic method -------------------------------------------------------------------------


def first_rates(setup: Setup, channel: str) -> np.ndarray:
    """Rate (per second) of first attempts reaching the channel's queue, per horizon interval.

    With the IVR on, only the routed share of 101 reaches the 101 queue (the menu time, a minute
    or so, is ignored here).
    """
    s = setup.scenario
    expected = interval_rates(s.channels[channel], s.start_date, s.horizon, s.interval)
    widths = np.minimum(s.interval, s.horizon - np.arange(expected.size) * s.interval)
    rates = expected / widths
    if channel == "101" and s.ivr.enabled:
        rates = rates * s.ivr.routed
    return rates


def queue_rates(setup: Setup, channel: str) -> np.ndarray:
    """Arrival rate (per second) at a channel's queue per horizon interval: first attempts,
    plus, for online, the 101 callers the IVR diverts there."""
    s = setup.scenario
    rates = first_rates(setup, channel)
    if channel == "online" and s.ivr.enabled and "101" in s.channels:
        spec = s.channels["101"]
        diverted = interval_rates(spec, s.start_date, s.horizon, s.interval) / s.interval
        rates = rates + diverted * s.ivr.divert_online
    return rates


def weekly(setup: Setup, values: np.ndarray) -> np.ndarray:
    """``fold_week``, with intervals of the week the horizon never measures filled from any
    occurrence (warm-up included)."""
    week = fold_week(setup, values)
    if np.isnan(week).any():
        index = week_index(setup.scenario, values.size)
        total = np.bincount(index, weights=values, minlength=setup.week)
        seen = np.bincount(index, minlength=setup.week)
        week = np.where(np.isnan(week), total / np.maximum(seen, 1), week)
    return week


def analytic_loads(setup: Setup) -> dict[str, np.ndarray]:
    """Pointwise offered load (Erlangs) of each channel per interval of the week."""
    return {c: weekly(setup, queue_rates(setup, c)) * setup.handling[c] for c in setup.primary}


def halfin_whitt_beta(level: float, within: float, load: float, aht: float) -> float:
    """The beta for which Halfin-Whitt's Erlang C approximation meets the target.

    P(wait) ~ 1 / (1 + beta Phi(beta) / phi(beta)) and a delayed call waits ~ Exp with rate
    beta sqrt(R) / aht, so SL(beta) = 1 - P(wait) exp(-beta sqrt(R) within / aht).
    """
    def gap(beta: float) -> float:
        if beta <= 0.0:
            return -level  # everyone waits and nobody is answered at once
        log_ratio = math.log(beta) + float(special.log_ndtr(beta)) + 0.5 * beta * beta \
            + 0.5 * math.log(2.0 * math.pi)
        p_wait = math.exp(-np.logaddexp(0.0, log_ratio))
        return 1.0 - p_wait * math.exp(-beta * math.sqrt(load) * within / aht) - level

    return optimize.brentq(gap, 0.0, 10.0) if gap(10.0) > 0 else 10.0


def square_root_from_loads(setup: Setup, loads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Square-root staffing R + beta sqrt(R) of each group (the quick estimate), split."""
    out = {}
    for group in setup.groups:
        totals = np.zeros(setup.week, np.int64)
        for k in range(setup.week):
            total, rate, aht = pooled(setup, group, {c: v[k] for c, v in loads.items()})
            if total > 0:
                beta = max(halfin_whitt_beta(setup.targets[c].level, setup.targets[c].within,
                                             total, aht) for c in setup.targeted(group))
                totals[k] = analytic.square_root_staffing(rate, aht, beta)
        out.update(split(setup, group, totals))
    return out


# --- simulation ----------------------------------------------------------------------------------


def with_rosters(setup: Setup, rosters: dict[str, np.ndarray], cooldown: float = COOLDOWN
                 ) -> Scenario:
    """The setup's scenario with weekly rosters for the staffed pools, run a little longer."""
    s = setup.scenario
    data = s.model_dump(mode="json")
    for pool, counts in rosters.items():
        data["pools"][pool]["roster"] = {"weekly": weekly_rows(counts, s.intervals_per_day)}
        data["pools"][pool]["scale"] = 1.0
    data["horizon_days"] = (s.horizon + cooldown) / 86400.0
    return Scenario.model_validate(data)


def weekly_rows(counts: np.ndarray, per_day: int) -> list[list[int]]:
    return [[int(v) for v in row] for row in np.asarray(counts).reshape(7, per_day)]


def run(setup: Setup, rosters: dict[str, np.ndarray], replications: range) -> list[Replication]:
    """Simulate the rosters (fast engine, call handling only) for the given replications."""
    scenario = with_rosters(setup, rosters)
    return [simulate(scenario, r, "fast") for r in replications]


def occupancy(start: np.ndarray, end: np.ndarray, width: float, count: int) -> np.ndarray:
    """Time-average number of spans [start, end) open in each interval [k width, (k+1) width).

    Uses F(t) = sum_j (min(t, end_j) - start_j)^+ = G(start, t) - G(end, t) with
    G(x, t) = sum_{x_j < t} (t - x_j), evaluated at the edges with sorted prefix sums.
    """
    edges = np.arange(count + 1) * width

    def cumulative(x: np.ndarray) -> np.ndarray:
        x = np.sort(x)
        before = np.searchsorted(x, edges, side="left")
        prefix = np.concatenate([[0.0], np.cumsum(x)])
        return before * edges - prefix[before]

    return np.diff(cumulative(start) - cumulative(end)) / width


def load_kernel(sampler, width: float, draws: int = 200_000) -> np.ndarray:
    """Offered load in interval k+d per unit arrival rate in interval k, for d = 0, 1, ...

    An infinite-server queue fed at rate lambda_j in interval j has, averaged over interval k,
    ``m_k = sum_d lambda_(k-d) (H((d+1)w) - 2 H(dw) + H((d-1)w)) / w`` with ``H(x) = int_0^x
    E[min(S, s)] ds`` (S the handling time, H = 0 below 0); the kernel sums to E[S].  H is
    estimated from a fixed sample of handling times, so any distribution works, and the kernel
    is rescaled to the distribution's exact mean.
    """
    sample = np.asarray(sampler.sample(draws, rng=np.random.default_rng(20080201)), float)
    lags = int(min(np.ceil(sample.max() / width), 7 * 86400 / width)) + 1
    x = np.arange(lags + 2) * width
    h = np.array([np.mean(np.where(sample >= v, 0.5 * v * v, sample * v - 0.5 * sample**2))
                  for v in x])
    h = np.concatenate([[0.0], h])  # H(-w) = 0
    kernel = (h[2:] - 2.0 * h[1:-1] + h[:-2]) / width
    return kernel * (sampler.mean / kernel.sum())  # the exact mean, the sample's shape


def first_attempt_load(setup: Setup, channel: str) -> np.ndarray:
    """Exact expected offered load of the channel's first attempts, per horizon interval,
    carry-over from earlier intervals included (the system starts empty at time 0)."""
    s = setup.scenario
    rates = first_rates(setup, channel)
    kernel = load_kernel(_handling(s, setup.primary[channel], channel), s.interval)
    return np.convolve(rates, kernel)[: rates.size]


def offered_load(setup: Setup, rep: Replication, channel: str, first: bool) -> np.ndarray:
    """Per horizon interval, the channel's offered load (Erlangs) of the callers' first
    attempts (``first``) or of everything else (redials, IVR diversions).

    Every contact that reached the queue counts from then for the handling time it would have
    had in its primary pool — what an infinite-server system would have in service.
    """
    s, calls, system = rep.scenario, rep.calls, rep.inputs.calls
    c = CHANNELS.index(channel)
    p = system.pool_names.index(setup.primary[channel])
    mine = (calls.klass == c) & ~np.isnan(calls.queue_entry) & ((calls.attempt == 0) == first)
    start = calls.queue_entry[mine]
    end = start + system.service[system.variant[p, c], calls.caller[mine]]
    count = int(np.ceil(setup.scenario.horizon / s.interval))
    return occupancy(start, end, s.interval, count)


def simulated_loads(setup: Setup, reps: list[Replication]) -> dict[str, np.ndarray]:
    """Offered load per channel and interval of the week: the exact load of first attempts
    plus the simulated load of redials and diversions (averaged over replications).

    Simulating the first attempts too would work but would tailor the roster to the random
    arrivals of these replications; their expected load is known exactly.
    """
    out = {}
    for c in setup.primary:
        other = np.mean([offered_load(setup, rep, c, first=False) for rep in reps], axis=0)
        out[c] = weekly(setup, first_attempt_load(setup, c) + other)
    return out


def interval_counts(setup: Setup, rep: Replication) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per targeted channel and horizon interval: offered contacts and those answered within
    the target — ``metrics.interval_table``'s definitions, counted without its other tables."""
    s, calls = rep.scenario, rep.calls
    count = int(np.ceil(setup.scenario.horizon / s.interval))
    short = (calls.status == ABANDONED) & (calls.end - calls.queue_entry < s.short_abandon)
    offered = (calls.queue_entry >= s.warmup) & (calls.queue_entry < setup.scenario.horizon) \
        & ~short
    slot = np.floor(calls.queue_entry[offered] / s.interval).astype(np.int64)
    wait = (calls.answer - calls.queue_entry)[offered]
    out = {}
    for channel in setup.targets:
        mine = calls.klass[offered] == CHANNELS.index(channel)
        hit = mine & (wait <= s.channels[channel].answer_target)  # NaN (unanswered) is False
        out[channel] = (np.bincount(slot[mine], minlength=count).astype(float),
                        np.bincount(slot[hit], minlength=count).astype(float))
    return out


def interval_kpis(setup: Setup, reps: list[Replication]) -> pd.DataFrame:
    """Service level of each targeted channel per measured interval: mean over replications,
    99% CI (``metrics.aggregate``), and the interval of the week."""
    keep = measured(setup.scenario)
    rows = []
    for rep in reps:
        for channel, (offered, hit) in interval_counts(setup, rep).items():
            with np.errstate(invalid="ignore", divide="ignore"):
                level = hit[keep] / offered[keep]
            rows.append(pd.DataFrame({"replication": rep.replication, "interval": keep,
                                      "channel": channel, "metric": "service_level",
                                      "value": level}))
    out = metrics.aggregate(pd.concat(rows, ignore_index=True), ["interval", "channel", "metric"],
                            confidence=CONFIDENCE)
    out.insert(1, "week_interval", week_index(setup.scenario, int(keep.max()) + 1)[
        out["interval"].to_numpy()])
    return out


def service_levels(setup: Setup, kpis: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per targeted channel: mean, ci_low, ci_high of the service level by interval of week."""
    out = {}
    for channel in setup.targets:
        rows = kpis[(kpis["channel"] == channel) & (kpis["metric"] == "service_level")]
        frame = rows.groupby("week_interval")[["mean", "ci_low", "ci_high"]].mean()
        out[channel] = frame.reindex(range(setup.week))
    return out


# --- the iterative staffing algorithm ---------------------------------------------------------


@dataclass
class IsaResult:
    roster: dict[str, np.ndarray]
    loads: dict[str, np.ndarray]
    bias: dict[str, np.ndarray]  # channel -> simulated minus Erlang A service level, by hour
    iterations: list[dict[str, np.ndarray]] = field(default_factory=list)
    converged: bool = False


def ample(setup: Setup, loads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A roster so generous that hardly anyone waits: the infinite-server-like first run."""
    out = {}
    for group in setup.groups:
        total = sum(loads[c] for c in group.channels)
        peak = np.maximum.reduce([np.roll(total, lag) for lag in range(4)])
        out.update(split(setup, group, np.ceil(1.2 * peak + 5.0 * np.sqrt(peak) + 5.0)
                         .astype(np.int64)))
    return out


def replication_levels(setup: Setup, rep: Replication) -> dict[str, tuple]:
    """Per targeted channel and interval of the week: one replication's service level (NaN
    where nothing was offered) and the offered contacts behind it."""
    out = {}
    for channel, (offered, hit) in interval_counts(setup, rep).items():
        offered, hit = fold_week(setup, offered), fold_week(setup, hit)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[channel] = (hit / offered, offered)
    return out


def estimate_bias(setup: Setup, reps, roster, loads) -> dict[str, np.ndarray]:
    """Per targeted channel and hour of day: simulated minus Erlang A service level, less
    ``SAFETY`` standard errors.

    Each replication's residuals are weighted by offered contacts over the days of the week and
    smoothed over neighbouring hours; the mean over replications is the bias, their spread its
    standard error.  Lowering the bias by ``SAFETY`` standard errors keeps the staffing from
    fitting the luck of a few replications (an hour that happened to go well would otherwise
    lose a handler it needs).  This is how priorities, non-exponential handling and time
    variation feed back into the Erlang A staffing.
    """
    hours_ = hour_of(setup)
    per_rep = [replication_levels(setup, rep) for rep in reps]
    bias = {}
    for group in setup.groups:
        n = group_totals(setup, roster, group)
        for c in setup.targeted(group):
            predicted = np.array([
                erlang_a_level(setup, group, c, {x: v[k] for x, v in loads.items()}, n[k])
                for k in range(setup.week)])
            bias[c] = _hourly_mean_less_safety(per_rep, c, predicted, hours_)
    return bias


def _hourly_mean_less_safety(per_rep, channel, predicted, hours_) -> np.ndarray:
    nums, dens = [], []
    for levels in per_rep:
        level, offered = levels[channel]
        weight = np.where(np.isnan(level), 0.0, offered)
        residual = np.where(np.isnan(level), 0.0, level - predicted)
        nums.append(_smooth(np.bincount(hours_, weights=weight * residual, minlength=24)))
        dens.append(_smooth(np.bincount(hours_, weights=weight, minlength=24)))
    num, den = np.array(nums), np.array(dens)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den.sum(0) > 0, num.sum(0) / den.sum(0), 0.0)
        each = np.where(den > 0, num / den, mean)
    spread = each.std(axis=0, ddof=1) / math.sqrt(len(per_rep)) if len(per_rep) > 1 else 0.0
    return mean - SAFETY * spread


def _smooth(by_hour: np.ndarray) -> np.ndarray:
    """Circular (1, 2, 1) / 4 filter over the hours of the day."""
    return 0.25 * np.roll(by_hour, 1) + 0.5 * by_hour + 0.25 * np.roll(by_hour, -1)


def isa(setup: Setup, replications: int, log=None) -> IsaResult:
    """Iterate simulate -> offered load (and service-level bias) -> Erlang A staffing.

    The first phase is the ISA proper (loads only) and stops, as in Feldman et al., when no
    interval moves by more than one handler.  The second phase also feeds back the simulated
    service level (``estimate_bias``), averaged with the previous estimate (damping: the bias
    depends a little on the roster it is measured at), until the same holds again or after
    ``FEEDBACK_ITERATIONS``; the larger of the last two rosters is kept in every interval.  The
    replications are the same in every iteration (common random numbers), so successive
    iterations differ by the roster, not by the noise.
    """
    loads = analytic_loads(setup)
    roster = ample(setup, loads)
    bias = {c: np.zeros(24) for c in setup.targets}
    result = IsaResult(roster, loads, bias)
    feedback = 0
    for iteration in range(MAX_ISA_ITERATIONS):
        reps = run(setup, roster, range(replications))
        loads = simulated_loads(setup, reps)
        if feedback:
            new_bias = estimate_bias(setup, reps, roster, loads)
            bias = new_bias if feedback == 1 else {
                c: 0.5 * (b + new_bias[c]) for c, b in bias.items()}
        new = staffing_from_loads(setup, loads, bias, hints=roster if iteration else None)
        change = max(int(np.abs(new[p] - roster[p]).max()) for p in setup.staffed)
        result.iterations.append(new)
        result.roster, result.loads, result.bias = new, loads, bias
        if log:
            phase = "service-level feedback" if feedback else "offered load"
            log(f"ISA iteration {iteration + 1} ({phase}): largest change {change} handler(s), "
                f"{hours(new, setup):,.0f} handler-hours")
        if feedback and (change <= 1 or feedback >= FEEDBACK_ITERATIONS):
            result.roster = {p: np.maximum(new[p], roster[p]) for p in setup.staffed}
            result.converged = change <= 1
            break
        if feedback or (iteration > 0 and change <= 1):
            feedback += 1
        roster = new
    return result


# --- verification and repair --------------------------------------------------------------------


@dataclass
class Verification:
    """KPIs of a roster on replications never used to build it."""

    intervals: pd.DataFrame  # interval, week_interval, channel, metric, mean, sd, n, ci_low, ...
    summary: pd.DataFrame  # channel, metric, mean, sd, n, ci_low, ci_high (horizon KPIs)
    levels: dict[str, pd.DataFrame]  # channel -> mean, ci_low, ci_high by interval of the week
    replications: int

    def met(self, setup: Setup) -> dict[str, np.ndarray]:
        """Per targeted channel and interval of the week: the target lies at or below the CI."""
        return {c: ~(self.levels[c]["ci_high"].to_numpy() < setup.targets[c].level)
                for c in setup.targets}


def verify(setup: Setup, roster: dict[str, np.ndarray], replications: int, first: int = FRESH
           ) -> Verification:
    """The roster's KPIs on fresh replications, per interval and over the horizon."""
    reps = run(setup, roster, range(first, first + replications))
    kpis = interval_kpis(setup, reps)
    summary = pd.concat([metrics.summary_table(_trimmed(rep)) for rep in reps])
    summary = metrics.aggregate(summary, ["channel", "metric"], confidence=CONFIDENCE)
    return Verification(kpis, summary, service_levels(setup, kpis), replications)


def _trimmed(rep: Replication) -> Replication:
    """The replication judged over the original horizon (cool-down contacts dropped)."""
    horizon = rep.scenario.horizon - COOLDOWN
    keep = rep.calls.queue_entry < horizon
    calls = type(rep.calls)(**{k: v[keep] for k, v in rep.calls.as_dict().items()})
    return Replication(rep.scenario, rep.replication, rep.inputs, calls, rep.outcome[keep],
                       None, None)


def additions(setup: Setup, roster: dict[str, np.ndarray], verification: Verification
              ) -> dict[str, np.ndarray]:
    """One handler wherever a target lies above the whole 99% CI: in the largest pool of the
    group that serves the channel."""
    add = {p: np.zeros(setup.week, np.int64) for p in setup.staffed}
    for c, ok in verification.met(setup).items():
        pools = [p for p in setup.staffed if c in setup.scenario.pools[p].serves]
        counts = np.array([roster[p] for p in pools])
        choice = np.argmax(counts, axis=0)
        for i, pool in enumerate(pools):
            add[pool] = np.maximum(add[pool], (~ok & (choice == i)).astype(np.int64))
    return add


def repair(setup: Setup, roster: dict[str, np.ndarray], replications: int, log=None
           ) -> tuple[dict[str, np.ndarray], Verification, bool]:
    """Verify on fresh replications; add a handler wherever a target is missed significantly
    and re-check, until no interval is."""
    for round_ in range(MAX_REPAIR_ROUNDS):
        verification = verify(setup, roster, replications)
        add = additions(setup, roster, verification)
        count = sum(int(a.sum()) for a in add.values())
        if log:
            log(f"verify round {round_ + 1}: {count} interval(s) significantly below target")
        if count == 0:
            return roster, verification, True
        roster = {p: roster[p] + add[p] for p in setup.staffed}
    return roster, verify(setup, roster, replications), False


def hours(roster: dict[str, np.ndarray], setup: Setup) -> float:
    return sum(float(v.sum()) for v in roster.values()) * setup.scenario.interval / 3600.0


# --- the whole job --------------------------------------------------------------------------------


@dataclass
class Staffing:
    """Everything `contactsim staff` reports."""

    setup: Setup
    analytic: dict[str, np.ndarray]
    square_root: dict[str, np.ndarray]
    isa: IsaResult
    proposed: dict[str, np.ndarray]
    repaired: bool
    verification: Verification

    @property
    def config(self) -> dict[str, np.ndarray]:
        return self.setup.config

    def hours(self) -> dict[str, dict[str, float]]:
        """Handler-hours per week of each method, per staffed pool and in total."""
        width = self.setup.scenario.interval / 3600.0
        methods = {"config": self.config, "analytic": self.analytic,
                   "square_root": self.square_root, "isa": self.isa.roster,
                   "proposed": self.proposed}
        out = {}
        for method, roster in methods.items():
            out[method] = {p: float(roster[p].sum()) * width for p in self.setup.staffed}
            out[method]["total"] = sum(out[method].values())
        return out

    def roster_table(self) -> pd.DataFrame:
        """One row per interval of the week and staffed pool, one column per method, and the
        proposed roster's simulated service levels."""
        s = self.setup.scenario
        k = np.arange(self.setup.week)
        seconds = (k % s.intervals_per_day) * s.interval
        frames = []
        for pool in self.setup.staffed:
            frame = pd.DataFrame({
                "day": [DAYS[i] for i in k // s.intervals_per_day],
                "time": [f"{int(x // 3600):02d}:{int(x % 3600 // 60):02d}" for x in seconds],
                "pool": pool, "config": self.config[pool], "analytic": self.analytic[pool],
                "square_root": self.square_root[pool], "isa": self.isa.roster[pool],
                "proposed": self.proposed[pool],
            })
            for c in self.setup.targets:
                if c in s.pools[pool].serves:
                    levels = self.verification.levels[c]
                    frame[f"sl_{c}"] = levels["mean"].to_numpy()
                    frame[f"sl_{c}_ci_low"] = levels["ci_low"].to_numpy()
                    frame[f"sl_{c}_ci_high"] = levels["ci_high"].to_numpy()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def staff(scenario: Scenario, targets: dict[str, Target], replications: int = 10, log=None
          ) -> Staffing:
    """Both methods, the ISA roster, and that roster verified (and repaired) on fresh
    replications."""
    setup = prepare(scenario, targets)
    loads = analytic_loads(setup)
    analytic_roster = staffing_from_loads(setup, loads)
    square_root = square_root_from_loads(setup, loads)
    if log:
        log(f"analytic staffing: {hours(analytic_roster, setup):,.0f} handler-hours; "
            f"ISA ({replications} replications per iteration) ...")
    result = isa(setup, replications, log)
    proposed, verification, repaired = repair(setup, result.roster, replications, log)
    return Staffing(setup, analytic_roster, square_root, result, proposed, repaired,
                    verification)


def write_roster(staffing: Staffing, config: Path, out: Path, overrides: list[str] = ()) -> Path:
    """A config that ``extends:`` the input (plus any --set overrides) and sets each staffed
    pool's weekly roster: 7 rows, Monday first, one count per interval from 00:00."""
    from contactsim.config import apply_override

    s = staffing.setup.scenario
    out = Path(out)
    data: dict = {}
    for text in overrides:
        data = apply_override(data, text, {})
    data.pop("extends", None)
    data.pop("name", None)
    pools = data.setdefault("pools", {})
    for pool, counts in staffing.proposed.items():
        pools.setdefault(pool, {})
        pools[pool]["scale"] = 1.0
        pools[pool]["roster"] = {"weekly": weekly_rows(counts, s.intervals_per_day)}
    parent = os.path.relpath(Path(config).resolve(), out.resolve().parent)
    data = {"extends": Path(parent).as_posix(), "name": f"{s.name}-staffed", **data}
    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    out.write_text(_roster_header(staffing) + text, encoding="utf-8")
    return out


def _roster_header(staffing: Staffing) -> str:
    s = staffing.setup.scenario
    targets = ", ".join(str(t) for t in staffing.setup.targets.values())
    lines = [
        f"Written by `contactsim staff`: rosters of {', '.join(staffing.proposed)} meeting "
        f"{targets}",
        f"in every {s.interval / 60:g}-minute interval of the week (verified by simulation, "
        f"{staffing.verification.replications} replications).",
        "weekly: 7 rows (Monday to Sunday), one count of handlers on duty per interval from 00:00.",
    ]
    return "".join(f"# {line}\n" for line in lines)


# --- what the command prints and writes ----------------------------------------------------------


def write_outputs(staffing: Staffing, out: Path) -> list[Path]:
    """roster.csv (interval x pool, every method), intervals.csv and summary.csv (the proposed
    roster's simulated KPIs with 99% CIs)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"roster.csv": staffing.roster_table(),
             "intervals.csv": staffing.verification.intervals,
             "summary.csv": staffing.verification.summary}
    for name, frame in files.items():
        frame.to_csv(out / name, index=False)
    return [out / name for name in files]


def views(staffing: Staffing) -> list:
    """Rich renderables: handler-hours by method, the proposed roster by hour, its KPIs."""
    return [hours_view(staffing), *roster_views(staffing), kpi_view(staffing)]


def hours_view(staffing: Staffing):
    from rich.table import Table

    table = Table(title="handler-hours per week, by method", title_style="bold")
    table.add_column("method")
    columns = [*staffing.setup.staffed, "total"] if len(staffing.setup.staffed) > 1 else list(
        staffing.setup.staffed)
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("vs config", justify="right")
    names = {"config": "config roster", "analytic": "analytic (Erlang A per interval)",
             "square_root": "square-root staffing", "isa": "ISA (simulation)",
             "proposed": "proposed (ISA, verified)"}
    hours_ = staffing.hours()
    base = hours_["config"]["total"]
    for method, label in names.items():
        cells = [f"{hours_[method][c]:,.0f}" for c in columns]
        change = f"{hours_[method]['total'] / base - 1:+.1%}" if base else "-"
        table.add_row(label, *cells, change, style="bold" if method == "proposed" else None)
    return table


def roster_views(staffing: Staffing) -> list:
    """Per staffed pool: proposed handlers on duty, hour x day (the most in the hour)."""
    from rich.table import Table

    s = staffing.setup.scenario
    per_hour = max(1, int(round(3600 / s.interval)))
    out = []
    for pool in staffing.setup.staffed:
        counts = staffing.proposed[pool].reshape(7, s.intervals_per_day)
        if s.interval < 3600 and s.intervals_per_day % per_hour == 0:
            counts = counts.reshape(7, -1, per_hour).max(axis=2)
        step = 86400 / counts.shape[1]
        table = Table(title=f"proposed roster: {pool}, handlers on duty (most in the hour)",
                      title_style="bold", padding=(0, 1))
        table.add_column("from")
        for day in DAYS:
            table.add_column(day, justify="right")
        for k in range(counts.shape[1]):
            start = k * step
            table.add_row(f"{int(start // 3600):02d}:{int(start % 3600 // 60):02d}",
                          *(str(v) for v in counts[:, k]))
        out.append(table)
    return out


def kpi_view(staffing: Staffing):
    """The proposed roster's KPIs per targeted channel, horizon and interval by interval."""
    from rich.table import Table

    v, setup = staffing.verification, staffing.setup
    table = Table(title=f"simulated KPIs of the proposed roster: {v.replications} fresh "
                  f"replications, mean ± 99% CI half-width", title_style="bold")
    for column in ("channel", "target", "service level", "abandoned", "ASA s",
                   "intervals meeting target*", "intervals mean ≥ target", "worst interval"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    met = v.met(setup)
    for c, target in setup.targets.items():
        levels = v.levels[c]
        worst = int(levels["mean"].idxmin())
        half = (levels["ci_high"][worst] - levels["ci_low"][worst]) / 2
        table.add_row(
            c, f"{target.level:.0%} in {target.within:g} s", _ci(v.summary, c, "service_level"),
            _ci(v.summary, c, "abandon_rate"), _ci(v.summary, c, "asa_s", percent=False),
            f"{int(met[c].sum())} / {met[c].size}",
            f"{int((levels['mean'] >= target.level).sum())} / {met[c].size}",
            f"{_day_time(setup, worst)}: {levels['mean'][worst]:.0%} ± {half:.0%}",
        )
    table.caption = ("* the target is inside or below the interval's 99% CI; "
                     f"intervals are {setup.scenario.interval / 60:g} minutes")
    return table


def _ci(summary: pd.DataFrame, channel: str, metric: str, percent: bool = True) -> str:
    row = summary[(summary["channel"] == channel) & (summary["metric"] == metric)].iloc[0]
    half = (row["ci_high"] - row["ci_low"]) / 2
    if percent:
        return f"{row['mean']:.1%} ± {half:.1%}"
    return f"{row['mean']:.1f} ± {half:.1f}"


def _day_time(setup: Setup, k: int) -> str:
    s = setup.scenario
    seconds = (k % s.intervals_per_day) * s.interval
    return f"{DAYS[k // s.intervals_per_day]} {int(seconds // 3600):02d}:" \
           f"{int(seconds % 3600 // 60):02d}"
