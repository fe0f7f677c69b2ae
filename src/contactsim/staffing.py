"""Staffing: the fewest handlers per pool and interval that meet service-level targets.

A target reads ``999=0.90@10s``: 90% of offered 999 contacts answered within 10 s, in *every*
interval of the week (15 minutes by default), with contactsim's definition of the service level
(answered within the threshold / offered; abandoned contacts count as missed).  Two methods are
computed side by side (``docs/analytic.md`` has the formulas and the reasoning):

1. **Analytic, interval by interval** (pointwise-stationary).  Each interval is treated as a
   stationary Erlang A queue (``contactsim.analytic``) with that interval's arrival rate
   (``contactsim.arrivals.interval_rates``), the channel's mean handling time and mean patience;
   it ignores what carries over from the previous interval, redials and priorities.  Square-root
   staffing ``R + beta sqrt(R)``, with the Halfin-Whitt ``beta`` that meets the target, is shown
   as the quick rule of thumb.

2. **Simulation, the iterative staffing algorithm** (ISA; Feldman, Mandelbaum, Massey & Whitt
   2008).  Start from ample staffing, so that nobody waits and the simulated busy handlers *are*
   the offered load of an infinite-server system.  Each iteration simulates the roster, measures
   the offered load of every interval — the time-average number of contacts that would be in
   service if each were answered on arrival (``offered_load``), which includes contacts carried
   over from earlier intervals and the redials that the current roster's abandonment causes —
   and sets the roster to the Erlang A staffing of that load (the modified-offered-load step).
   It stops when no interval moves by more than one handler.  The ISA roster is then verified by
   simulation with replications: intervals whose mean service level misses a target get
   handlers, intervals that beat every target significantly (lower 99% bound above it) give one
   back, and the loop repeats on the same random numbers until nothing changes.  This is where
   priorities show: in a blended pool the 999 calls jump the queue, so the pooled Erlang A step
   is only a starting point.  Finally the roster's KPIs are re-estimated on fresh replications
   and reported with confidence intervals.

Pools.  Each targeted channel loads the first pool that serves it (its *primary* pool).  A pool
that is the primary pool of some targeted channel is *staffed*: its roster must meet the targets
of all of them at once (the met configs' ``call_handlers`` pool serves 999 and 101, and both
targets must hold).  Other pools (e.g. ``digital`` for online reports, or pools that only take
overflow) keep their configured roster.  Downstream stages (TDIU, response) do not affect call
handling and are not simulated here.
"""

from __future__ import annotations

import math
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
MAX_REPAIR_ROUNDS = 12
FRESH = 1000  # replication index offset of the final, independent verification
DOWNSTREAM = ("outcomes", "crime_screening", "tdiu", "response")


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
class Setup:
    """A scenario prepared for staffing: targets, staffed pools and the queue parameters."""

    scenario: Scenario  # downstream dropped, answer targets set to the targets' thresholds
    targets: dict[str, Target]
    primary: dict[str, str]  # channel -> the pool it loads
    staffed: tuple[str, ...]
    handling: dict[str, float]  # channel -> mean handling time in its primary pool (s)
    patience: dict[str, float]  # channel -> mean patience (s), inf for never

    @property
    def week(self) -> int:
        return 7 * self.scenario.intervals_per_day

    def channels_of(self, pool: str) -> list[str]:
        return [c for c, p in self.primary.items() if p == pool]


def prepare(scenario: Scenario, targets: dict[str, Target]) -> Setup:
    """Work out pools, handling and patience; drop the downstream stages."""
    primary = {}
    for channel in CHANNELS:
        spec = scenario.channels.get(channel)
        serving = [name for name, pool in scenario.pools.items() if channel in pool.serves]
        if spec is not None and serving:
            primary[channel] = serving[0]
    staffed = tuple(dict.fromkeys(primary[c] for c in targets))
    handling = {c: _handling(scenario, p, c).mean for c, p in primary.items()}
    patience = {c: scenario.channels[c].patience.sampler().mean for c in primary}
    data = scenario.model_dump(mode="json")
    for key in DOWNSTREAM:
        data.pop(key, None)
    for channel, target in targets.items():
        data["channels"][channel]["answer_target"] = target.within
    return Setup(Scenario.model_validate(data), targets, primary, staffed, handling, patience)


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
    """Average per-horizon-interval values onto the intervals of the week (NaN if unseen)."""
    s = setup.scenario
    keep = measured(s)
    index = week_index(s, values.size)[keep]
    total = np.bincount(index, weights=values[keep], minlength=setup.week)
    seen = np.bincount(index, minlength=setup.week)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, total / seen, np.nan)


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


def weekly_rates(setup: Setup, channel: str) -> np.ndarray:
    """Arrival rate (per second) at a channel's queue in each interval of the week: first
    attempts, plus, for online, the 101 callers the IVR diverts there."""
    s = setup.scenario
    rates = first_rates(setup, channel)
    if channel == "online" and s.ivr.enabled and "101" in s.channels:
        rates = rates + first_rates(setup, "101") / s.ivr.routed * s.ivr.divert_online \
            if s.ivr.routed else rates
    week = fold_week(setup, rates)
    if np.isnan(week).any():  # intervals of the week the horizon never measures
        index = week_index(s, rates.size)
        total = np.bincount(index, weights=rates, minlength=setup.week)
        seen = np.bincount(index, minlength=setup.week)
        week = np.where(np.isnan(week), total / np.maximum(seen, 1), week)
    return week


def analytic_loads(setup: Setup) -> dict[str, np.ndarray]:
    """Offered load (Erlangs) of each channel in its primary pool, interval by interval."""
    return {c: weekly_rates(setup, c) * setup.handling[c] for c in setup.primary}


def requirement(setup: Setup, pool: str, loads: dict[str, float],
                lift: dict[str, float] | None = None) -> int:
    """Fewest handlers for which every targeted channel of ``pool`` meets its level (+ lift).

    The pool is one Erlang A queue: the channels' arrivals pooled, handling time their
    load-weighted mean, each channel's own patience and target; ``lift`` moves a channel's
    level up (or down) in the model to correct for what the model leaves out.
    """
    channels = setup.channels_of(pool)
    total = sum(loads[c] for c in channels)
    if total <= 0:
        return 0
    rate = sum(loads[c] / setup.handling[c] for c in channels)
    aht = total / rate
    need = 0
    for c in channels:
        if c in setup.targets:
            t = setup.targets[c]
            level = min(max(t.level + (lift or {}).get(c, 0.0), 0.01), 0.9999)
            need = max(need, analytic.min_servers_erlang_a(rate, aht, setup.patience[c],
                                                           t.within, level))
    return need


def staffing_from_loads(setup: Setup, loads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Erlang A staffing of every staffed pool in every interval of the week."""
    return {
        pool: np.array([requirement(setup, pool, {c: v[k] for c, v in loads.items()})
                        for k in range(setup.week)], dtype=np.int64)
        for pool in setup.staffed
    }


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
    """Square-root staffing R + beta sqrt(R) of each staffed pool (the quick estimate)."""
    out = {}
    for pool in setup.staffed:
        channels = setup.channels_of(pool)
        counts = np.zeros(setup.week, np.int64)
        for k in range(setup.week):
            total = sum(loads[c][k] for c in channels)
            if total <= 0:
                continue
            rate = sum(loads[c][k] / setup.handling[c] for c in channels)
            aht = total / rate
            beta = max(halfin_whitt_beta(setup.targets[c].level, setup.targets[c].within,
                                         total, aht)
                       for c in channels if c in setup.targets)
            counts[k] = analytic.square_root_staffing(rate, aht, beta)
        out[pool] = counts
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
    """Per horizon interval, the channel's offered load in its primary pool (Erlangs), of the
    callers' first attempts (``first``) or of everything else (redials, IVR diversions).

    Every contact that reached the queue counts from then for the handling time it would have
    had in the primary pool — what an infinite-server system would have in service.
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
        out[c] = fold_week(setup, first_attempt_load(setup, c) + other)
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
    for channel, target in setup.targets.items():
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
    for pool in setup.staffed:
        total = sum(loads[c] for c in setup.channels_of(pool))
        peak = np.maximum.reduce([np.roll(total, lag) for lag in range(4)])
        out[pool] = np.ceil(1.2 * peak + 5.0 * np.sqrt(peak) + 5.0).astype(np.int64)
    return out


def hour_of(setup: Setup) -> np.ndarray:
    """Hour of day of each interval of the week."""
    s = setup.scenario
    return ((np.arange(setup.week) % s.intervals_per_day) * s.interval // 3600).astype(np.int64)


def erlang_a_level(setup: Setup, pool: str, channel: str, loads: dict[str, float], n: int
                   ) -> float:
    """Service level of ``channel`` that the pooled Erlang A model predicts with n handlers."""
    channels = setup.channels_of(pool)
    total = sum(loads[c] for c in channels)
    if total <= 0:
        return 1.0
    rate = sum(loads[c] / setup.handling[c] for c in channels)
    t = setup.targets[channel]
    return analytic.erlang_a_metrics(rate, total / rate, setup.patience[channel], n,
                                     t.within).service_level


def pooled_levels(setup: Setup, reps: list[Replication]) -> dict[str, tuple]:
    """Per targeted channel and interval of the week: the service level pooled over
    replications (NaN where nothing was offered) and the offered contacts behind it."""
    out = {}
    counts = [interval_counts(setup, rep) for rep in reps]
    for channel in setup.targets:
        offered = fold_week(setup, np.sum([c[channel][0] for c in counts], axis=0))
        hit = fold_week(setup, np.sum([c[channel][1] for c in counts], axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[channel] = (hit / offered, offered)
    return out


def estimate_bias(setup: Setup, reps, roster, loads) -> dict[str, np.ndarray]:
    """Per targeted channel and hour of day: simulated minus Erlang A service level.

    Weighted by offered contacts over the days of the week and smoothed over neighbouring hours,
    which keeps the noise of a few replications from being fitted; this is how priorities,
    non-exponential handling and time variation feed back.
    """
    simulated = pooled_levels(setup, reps)
    hours_ = hour_of(setup)
    bias = {}
    for c, (level, offered) in simulated.items():
        pool = setup.primary[c]
        predicted = np.array([
            erlang_a_level(setup, pool, c, {x: v[k] for x, v in loads.items()}, roster[pool][k])
            for k in range(setup.week)])
        weight = np.where(np.isnan(level), 0.0, offered)
        residual = np.where(np.isnan(level), 0.0, level - predicted)
        num = _smooth(np.bincount(hours_, weights=weight * residual, minlength=24))
        den = _smooth(np.bincount(hours_, weights=weight, minlength=24))
        bias[c] = np.divide(num, den, out=np.zeros(24), where=den > 0)
    return bias


def _smooth(by_hour: np.ndarray) -> np.ndarray:
    """Circular (1, 2, 1) / 4 filter over the hours of the day."""
    return 0.25 * np.roll(by_hour, 1) + 0.5 * by_hour + 0.25 * np.roll(by_hour, -1)


def staffing_with_bias(setup: Setup, loads, bias) -> dict[str, np.ndarray]:
    """Erlang A staffing with each channel's level lowered by its simulated bias."""
    hours_ = hour_of(setup)
    out = {}
    for pool in setup.staffed:
        counts = np.zeros(setup.week, np.int64)
        for k in range(setup.week):
            lift = {c: -float(b[hours_[k]]) for c, b in bias.items()}
            counts[k] = requirement(setup, pool, {c: v[k] for c, v in loads.items()}, lift)
        out[pool] = counts
    return out


def isa(setup: Setup, replications: int, log=None) -> IsaResult:
    """Iterate simulate -> offered load (and service-level bias) -> Erlang A staffing.

    The first phase is the ISA proper (loads only) and stops, as in Feldman et al., when no
    interval moves by more than one handler; the second phase also feeds back the simulated
    service level (``estimate_bias``) until the same holds again, and keeps the larger of the
    last two rosters in every interval.  The replications are the same in every iteration
    (common random numbers), so the iterations differ by the roster, not by the noise.
    """
    loads = analytic_loads(setup)
    roster = ample(setup, loads)
    bias = {c: np.zeros(24) for c in setup.targets}
    result = IsaResult(roster, loads, bias)
    calibrating = False
    for iteration in range(MAX_ISA_ITERATIONS):
        reps = run(setup, roster, range(replications))
        loads = simulated_loads(setup, reps)
        loads = {c: np.where(np.isnan(v), analytic_loads(setup)[c], v) for c, v in loads.items()}
        if calibrating:
            bias = estimate_bias(setup, reps, roster, loads)
        new = staffing_with_bias(setup, loads, bias)
        change = max(int(np.abs(new[p] - roster[p]).max()) for p in setup.staffed)
        result.iterations.append(new)
        result.roster, result.loads, result.bias = new, loads, bias
        if log:
            phase = "service-level feedback" if calibrating else "offered load"
            log(f"ISA iteration {iteration + 1} ({phase}): largest change {change} handler(s), "
                f"{hours(new, setup):,.0f} handler-hours")
        if calibrating and change <= 1:
            result.roster = {p: np.maximum(new[p], roster[p]) for p in setup.staffed}
            result.converged = True
            break
        calibrating = calibrating or (iteration > 0 and change <= 1)
        roster = new
    return result


# --- verification and repair --------------------------------------------------------------------


def below(setup: Setup, levels: dict[str, pd.DataFrame], pool: str) -> np.ndarray:
    """Intervals of the week where some target of the pool lies above the whole 99% CI."""
    out = np.zeros(setup.week, bool)
    for c in setup.channels_of(pool):
        if c in setup.targets:
            high = levels[c]["ci_high"].to_numpy()
            out |= np.where(np.isnan(high), False, high < setup.targets[c].level)
    return out


def repair(setup: Setup, roster: dict[str, np.ndarray], replications: int, log=None
           ) -> tuple[dict[str, np.ndarray], "Verification", bool]:
    """Verify on fresh replications; add a handler wherever a target is missed significantly
    (the whole 99% CI below it) and re-check, until no interval is."""
    for round_ in range(MAX_REPAIR_ROUNDS):
        verification = verify(setup, roster, replications)
        misses = {p: below(setup, verification.levels, p) for p in setup.staffed}
        count = sum(int(m.sum()) for m in misses.values())
        if log:
            log(f"verify round {round_ + 1}: {count} interval(s) significantly below target")
        if count == 0:
            return roster, verification, True
        roster = {p: roster[p] + misses[p] for p in setup.staffed}
    return roster, verify(setup, roster, replications), False


def hours(roster: dict[str, np.ndarray], setup: Setup) -> float:
    return sum(float(v.sum()) for v in roster.values()) * setup.scenario.interval / 3600.0


# --- the whole job --------------------------------------------------------------------------------


@dataclass
class Verification:
    """KPIs of a roster on fresh replications."""

    intervals: pd.DataFrame  # interval, week_interval, channel, metric, mean, sd, n, ci_low, ...
    summary: pd.DataFrame  # channel, metric, mean, ci_low, ci_high (horizon KPIs)
    levels: dict[str, pd.DataFrame]

    def met(self, setup: Setup) -> dict[str, np.ndarray]:
        """Per targeted channel and interval of the week: the target lies at or below the CI."""
        return {c: ~(self.levels[c]["ci_high"].to_numpy() < setup.targets[c].level)
                for c in setup.targets}


def verify(setup: Setup, roster: dict[str, np.ndarray], replications: int) -> Verification:
    """Re-estimate the roster's KPIs on replications never used to build it."""
    reps = run(setup, roster, range(FRESH, FRESH + replications))
    kpis = interval_kpis(setup, reps)
    summary = pd.concat([metrics.summary_table(_trimmed(rep)) for rep in reps])
    summary = metrics.aggregate(summary, ["channel", "metric"], confidence=CONFIDENCE)
    return Verification(kpis, summary, service_levels(setup, kpis))


def _trimmed(rep: Replication) -> Replication:
    """The replication judged over the original horizon (cool-down contacts dropped)."""
    s = rep.scenario
    horizon = s.horizon - COOLDOWN
    keep = rep.calls.queue_entry < horizon
    calls = type(rep.calls)(**{k: v[keep] for k, v in rep.calls.as_dict().items()})
    return Replication(s, rep.replication, rep.inputs, calls, rep.outcome[keep], None, None)


@dataclass
class Staffing:
    """Everything `contactsim staff` reports."""

    setup: Setup
    config: dict[str, np.ndarray]  # the scenario's own roster per staffed pool
    analytic: dict[str, np.ndarray]
    square_root: dict[str, np.ndarray]
    isa: IsaResult
    proposed: dict[str, np.ndarray]
    repaired: bool
    verification: Verification

    def hours(self) -> dict[str, dict[str, float]]:
        """Handler-hours per week of each method, per staffed pool."""
        width = self.setup.scenario.interval / 3600.0
        methods = {"config": self.config, "analytic": self.analytic,
                   "square_root": self.square_root, "isa": self.isa.roster,
                   "proposed": self.proposed}
        return {m: {p: float(r[p].sum()) * width for p in self.setup.staffed}
                for m, r in methods.items()}

    def roster_table(self) -> pd.DataFrame:
        """One row per interval of the week and staffed pool, one column per method."""
        s = self.setup.scenario
        per_day = s.intervals_per_day
        k = np.arange(self.setup.week)
        frames = []
        for pool in self.setup.staffed:
            frame = pd.DataFrame({
                "day": [("mon", "tue", "wed", "thu", "fri", "sat", "sun")[i // per_day] for i in k],
                "time": [f"{int(i % per_day * s.interval // 3600):02d}:"
                         f"{int(i % per_day * s.interval % 3600 // 60):02d}" for i in k],
                "pool": pool,
                "config": self.config[pool], "analytic": self.analytic[pool],
                "square_root": self.square_root[pool], "isa": self.isa.roster[pool],
                "proposed": self.proposed[pool],
            })
            for c in self.setup.channels_of(pool):
                if c in self.setup.targets:
                    levels = self.verification.levels[c]
                    frame[f"sl_{c}"] = levels["mean"].to_numpy()
                    frame[f"sl_{c}_ci_high"] = levels["ci_high"].to_numpy()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def config_rosters(setup: Setup) -> dict[str, np.ndarray]:
    s = setup.scenario
    return {p: weekly_counts(s.pools[p].roster, s.interval, s.pools[p].scale)
            for p in setup.staffed}


def staff(scenario: Scenario, targets: dict[str, Target], replications: int = 10, log=None
          ) -> Staffing:
    """Both methods, the repaired ISA roster and its verification on fresh replications."""
    setup = prepare(scenario, targets)
    loads = analytic_loads(setup)
    analytic_roster = staffing_from_loads(setup, loads)
    square_root = square_root_from_loads(setup, loads)
    if log:
        log("analytic staffing done; ISA (simulation) ...")
    result = isa(setup, replications, log)
    if log:
        log("verifying the roster on fresh replications ...")
    proposed, verification, repaired = repair(setup, result.roster, replications, log)
    return Staffing(setup, config_rosters(setup), analytic_roster, square_root, result, proposed,
                    repaired, verification)


def write_roster(staffing: Staffing, config: Path, out: Path) -> Path:
    """A config that ``extends:`` the input and sets each staffed pool's weekly roster."""
    s = staffing.setup.scenario
    out = Path(out)
    parent = Path(config).resolve()
    relative = Path(_relpath(parent, out.resolve().parent))
    data = {
        "extends": relative.as_posix(),
        "name": f"{s.name}-staffed"[:120],
        "pools": {
            pool: {"scale": 1.0, "roster": {"weekly": weekly_rows(counts, s.intervals_per_day)}}
            for pool, counts in staffing.proposed.items()
        },
    }
    targets = ", ".join(str(t) for t in staffing.setup.targets.values())
    header = (f"# Written by `contactsim staff` for {', '.join(staffing.proposed)}: the fewest "
              f"handlers meeting {targets}\n# in every {s.interval / 60:g}-minute interval "
              f"(rows Monday..Sunday, one count per interval from 00:00).\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    out.write_text(header + text, encoding="utf-8")
    return out


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)
