"""Sampled inputs: the only place where random numbers are drawn.

``sample_inputs(scenario, replication)`` turns a scenario into arrays — arrival times, the IVR
path and menu time, patience, handling times, redial plans and outcomes — for every caller, and
downstream work times drawn for every caller but finished only for the callers that become
jobs (:mod:`contactsim.caller_values`).  Callers come in *groups*: the arrivals of each channel
and the backlog queued on each channel at time zero.  Every attribute of every group is drawn
from its own named stream (:mod:`contactsim.rng`) in that group's own order, so changing one
part of a config leaves the draws of every other part alone (common random numbers).

A caller brings one need: their redials and an IVR diversion to online reuse the draws made for
them (same patience on the same channel, the same handling time for the same contact type).
Draws are made only for the channels a caller can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from contactsim.arrivals import interval_rates, sample_arrivals
from contactsim.caller_values import EXACT_EXP, CallerValues
from contactsim.categorical import categorical
from contactsim.distributions import Lognormal
from contactsim.rng import Streams
from contactsim.roster import rotate_to_start, weekly_counts
from contactsim.schema import CHANNELS, GRADES, Scenario
from contactsim.system import GRID, QueueSystem, on_grid

# Outcome codes of a handled contact
(RESOLVED, CRIME_TDIU, CRIME_DEPLOY, CRIME_SCREENED_OUT,
 INCIDENT_I, INCIDENT_S, INCIDENT_E) = range(7)
OUTCOME_NAMES = (
    "resolved",
    "crime_tdiu",
    "crime_deploy",
    "crime_screened_out",
    "incident_I",
    "incident_S",
    "incident_E",
)


@dataclass(frozen=True)
class Group:
    """Callers drawn together: a channel's arrivals or its backlog."""

    name: str
    channel: int
    size: int


@dataclass(frozen=True)
class ScenarioInputs:
    """Everything one replication needs: call handling as a QueueSystem, plus downstream draws."""

    calls: QueueSystem
    outcome: np.ndarray  # i8[C, N], outcome if the caller is handled on channel c, -1 unreachable
    tdiu_time: CallerValues  # per caller, finished for the jobs that read them
    travel_time: CallerValues
    on_scene_time: CallerValues
    tdiu_backlog_time: np.ndarray  # f8[B], investigation time of reports waiting at time 0
    tdiu_roster: np.ndarray  # i8[W]
    response_roster: np.ndarray  # i8[W]

    def without_callers(self) -> ScenarioInputs:
        """The structure only (rosters, routing, names): every per-caller array emptied."""
        return ScenarioInputs(
            calls=self.calls.without_callers(),
            outcome=self.outcome[:, :0].copy(),
            tdiu_time=self.tdiu_time.without_callers(),
            travel_time=self.travel_time.without_callers(),
            on_scene_time=self.on_scene_time.without_callers(),
            tdiu_backlog_time=self.tdiu_backlog_time[:0].copy(),
            tdiu_roster=self.tdiu_roster,
            response_roster=self.response_roster,
        )


def sample_inputs(scenario: Scenario, replication: int) -> ScenarioInputs:
    """Draw every random number of one replication."""
    sampler = InputSampler(scenario, replication)
    return sampler.inputs(sampler.calls())


class InputSampler:
    """One replication's draws, made when asked for: call handling first, downstream later.

    Every attribute is drawn from its own named stream, so neither the order in which the parts
    are asked for nor leaving some out changes a single draw: ``sample_inputs`` gives the same
    arrays as asking for ``calls()`` now and ``inputs()`` after the engine has run.  Asking
    later lets a replication release the call-handling draws before the downstream ones are
    made (:func:`contactsim.stages.simulate` with ``keep_inputs=False``).
    """

    def __init__(self, scenario: Scenario, replication: int):
        self.scenario = scenario
        self.streams = Streams(scenario.seed, replication)
        groups, arrivals = _groups(scenario, self.streams)
        position, self._channel, self._arrival = _merge(groups, arrivals)
        self.draw = _Drawer(scenario, self.streams, groups, position)

    def calls(self) -> QueueSystem:
        """The call-handling queue system (once: the sampler hands its arrays over)."""
        if self._arrival is None:
            raise RuntimeError("calls() was already asked for")
        system = _queue_system(self.scenario, self.draw, self._channel, self._arrival)
        self._channel = self._arrival = None
        return system

    def inputs(self, calls: QueueSystem) -> ScenarioInputs:
        """``calls`` with the downstream draws: outcomes, investigation and travel times.

        Once per sampler, like ``calls()``: a named stream gives its draws only once."""
        scenario, draw = self.scenario, self.draw
        member = draw.members()
        return ScenarioInputs(
            calls=calls,
            outcome=draw.outcomes(),
            tdiu_time=draw.downstream("tdiu", _tdiu_sampler(scenario), member),
            travel_time=draw.downstream("travel", _response_sampler(scenario, "travel_time"),
                                        member),
            on_scene_time=draw.downstream("on_scene",
                                          _response_sampler(scenario, "on_scene_time"), member),
            tdiu_backlog_time=_tdiu_backlog(scenario, self.streams),
            tdiu_roster=_downstream_roster(scenario, scenario.tdiu),
            response_roster=_downstream_roster(scenario, scenario.response),
        )


# --- callers -------------------------------------------------------------------------------


def _groups(scenario: Scenario, streams: Streams) -> tuple[list[Group], list[np.ndarray]]:
    """Backlog groups first (they are waiting at time 0), then each channel's arrivals."""
    groups, arrivals = [], []
    for c, name in enumerate(CHANNELS):
        queued = scenario.backlog.queued.get(name, 0)
        if queued:
            groups.append(Group(f"backlog-{name}", c, queued))
            arrivals.append(np.zeros(queued))
    for c, name in enumerate(CHANNELS):
        spec = scenario.channels.get(name)
        if spec is None or spec.daily_volume == 0:
            continue
        expected = interval_rates(spec, scenario.start_date, scenario.horizon, scenario.interval)
        times = sample_arrivals(
            expected, scenario.interval, scenario.horizon, rng=streams(f"arrivals:{name}")
        )
        groups.append(Group(name, c, times.size))
        arrivals.append(times)
    return groups, arrivals


def _merge(groups: list[Group], arrivals: list[np.ndarray]):
    """One caller order for all groups: by time, ties by group then by order within it.

    Returns where each group member (the groups laid end to end) stands in caller order, and
    each caller's channel and arrival time."""
    arrival = np.concatenate(arrivals) if groups else np.zeros(0)
    order = np.argsort(arrival, kind="stable")
    channel = np.repeat(np.array([g.channel for g in groups], np.int8), [g.size for g in groups])
    position = np.empty(order.size, np.int32 if order.size < 2**31 else np.int64)
    in_order = np.empty_like(channel), np.empty_like(arrival)
    _invert_and_gather(order, position, channel, arrival, *in_order)
    return position, *in_order


class _Drawer:
    """Draws a per-caller attribute group by group and scatters it into caller order (or, for
    downstream times, keeps it in group order with a caller -> draw lookup)."""

    def __init__(self, scenario: Scenario, streams: Streams, groups: list[Group], position):
        self.scenario, self.streams, self.groups = scenario, streams, groups
        # where each group member lands in caller order (kept while draws remain to be made)
        self.position = position
        self.offsets = np.cumsum([0] + [g.size for g in groups])
        self.reach = [reachable(scenario, CHANNELS[g.channel]) for g in groups]
        self.n = int(position.size)

    def slots(self, k: int) -> np.ndarray:
        """Where group k's callers stand in caller order."""
        return self.position[self.offsets[k] : self.offsets[k + 1]]

    def per_caller(self, purpose: str, target: str | None, sample, fill, dtype=np.float64, *,
                   out: np.ndarray | None = None, grid: bool = False) -> np.ndarray:
        """``sample(size, rng=...)`` for every group that can reach channel ``target``.

        Callers of the other groups get ``fill``.  ``out`` (e.g. a row of a 2-D array) is filled
        instead of a new array; ``grid`` rounds the draws to the time grid on the way.
        """
        if out is None:
            out = np.empty(self.n, dtype=dtype)
        for k in range(len(self.groups)):
            if target is None or target in self.reach[k]:
                values = self.draw(purpose, target, k, sample)
                if grid:
                    _place_on_grid(out, self.slots(k), values, GRID)
                else:
                    _place(out, self.slots(k), values.astype(out.dtype, copy=False))
            else:
                _fill(out, self.slots(k), out.dtype.type(fill))
        return out

    def draw(self, purpose: str, target: str | None, k: int, sample) -> np.ndarray:
        """Group k's draws of one attribute, from its own named stream, in the group's order."""
        rng = self.streams(f"{purpose}:{target or '-'}<-{self.groups[k].name}")
        return sample(self.slots(k).size, rng=rng)

    def outcomes(self) -> np.ndarray:
        out = np.empty((len(CHANNELS), self.n), np.int8)
        for c, name in enumerate(CHANNELS):
            shares = outcome_shares(self.scenario, name)
            self.per_caller("outcome", name,
                            lambda size, rng, p=shares: categorical(rng, p, size), -1,
                            out=out[c])
        return out

    def members(self) -> np.ndarray:
        """Caller -> index in the groups' draws laid end to end (the inverse of ``position``)."""
        member = np.empty(self.n, self.position.dtype)
        _invert(self.position, member)
        return member

    def downstream(self, purpose: str, sampler, member: np.ndarray) -> CallerValues:
        """Every caller's draw, kept in group order and finished only for the callers read
        (:mod:`contactsim.caller_values`); a lognormal's are kept as their logarithms."""
        if sampler is None:
            return CallerValues(np.full(self.n, np.nan), member, exponentiate=False)
        log = isinstance(sampler, Lognormal) and EXACT_EXP
        sample = sampler.sample_log if log else sampler.sample
        raw = np.empty(self.n)
        for k in range(len(self.groups)):
            raw[self.offsets[k] : self.offsets[k + 1]] = self.draw(purpose, None, k, sample)
        return CallerValues(raw, member, exponentiate=log)


# Permutations between group order and caller order.  numpy's scatter ``out[order] =
# arange(n)`` builds a year-long arange first, and its gathers make a pass each; these loops
# give the same results in one pass.


@njit(cache=True)
def _invert(permutation, out):
    """``out[permutation] = arange(permutation.size)``: the inverse permutation."""
    for i in range(permutation.size):
        out[permutation[i]] = i


@njit(cache=True)
def _invert_and_gather(order, position, channel, arrival, channel_out, arrival_out):
    """The inverse of ``order`` into ``position``, and ``channel[order]``,
    ``arrival[order]``, in one pass."""
    for i in range(order.size):
        j = order[i]
        position[j] = i
        channel_out[i] = channel[j]
        arrival_out[i] = arrival[j]


# Placing a group's draws in caller order.  With numpy indexing (and rounding to the grid in
# three passes first) this took a fifth of a year's sampling time; these loops take a quarter
# of that, with bit for bit the same results.


@njit(cache=True)
def _place(out, slots, values):
    """``out[slots] = values``."""
    for i in range(slots.size):
        out[slots[i]] = values[i]


@njit(cache=True)
def _fill(out, slots, value):
    """``out[slots] = value``."""
    for i in range(slots.size):
        out[slots[i]] = value


@njit(cache=True)
def _place_on_grid(out, slots, values, grid):
    """``out[slots] = on_grid(values)`` with the same arithmetic (``grid`` ticks per second is
    passed in, not read as a global, which a cached compilation would freeze)."""
    unscale = 1.0 / grid
    for i in range(slots.size):
        out[slots[i]] = np.rint(values[i] * grid) * unscale


@njit(cache=True)
def _place_on_grid_where(out, slots, values, grid, on, c):
    """``out[slots[on == c]] = on_grid(values[on == c])``, in one pass."""
    unscale = 1.0 / grid
    for i in range(slots.size):
        if on[i] == c:
            out[slots[i]] = np.rint(values[i] * grid) * unscale


def reachable(scenario: Scenario, channel: str) -> set[str]:
    """Channels a caller who starts on ``channel`` may be handled on."""
    reach, todo = {channel}, [channel]
    while todo:
        current = todo.pop()
        spec = scenario.channels.get(current)
        nxt = set()
        if current == "101" and scenario.ivr.enabled and scenario.ivr.divert_online > 0:
            nxt.add("online")
        if spec and spec.redial and spec.redial.probability > 0:
            nxt |= {c for c, share in spec.redial.switch.items() if share > 0}
        for c in nxt - reach:
            reach.add(c)
            todo.append(c)
    return reach


def outcome_shares(scenario: Scenario, channel: str) -> np.ndarray:
    """Probabilities of the seven outcome codes for a contact handled on ``channel``."""
    out = scenario.outcomes.get(channel)
    if out is None:
        return np.eye(7)[RESOLVED]
    screen = scenario.crime_screening
    tdiu, deploy, dropped = (screen.tdiu, screen.deploy, screen.screened_out) if screen else (
        0.0, 0.0, 1.0
    )
    p = np.array([
        out.resolved, out.crime * tdiu, out.crime * deploy, out.crime * dropped,
        out.incident_I, out.incident_S, out.incident_E,
    ])
    return p / p.sum()


# --- the call-handling queue system --------------------------------------------------------


def _queue_system(scenario: Scenario, draw: _Drawer, channel, arrival) -> QueueSystem:
    pool_names = tuple(scenario.pools)
    variants = _variants(scenario)
    serves, routing, variant = _routing(scenario, variants)
    ivr_path, ivr_time = _ivr(scenario, draw)
    redials, redial_class, redial_delay, max_attempts = _redials(scenario, draw, channel)
    patience, patience_row = _patience(scenario, draw)
    week = rotate_to_start
    roster = np.array([
        week(weekly_counts(pool.roster, scenario.interval, pool.scale),
             scenario.start_date.weekday())
        for pool in scenario.pools.values()
    ], dtype=np.int64)
    return QueueSystem(
        horizon=float(scenario.horizon),
        arrival=arrival,
        klass=channel,
        patience=patience,
        patience_row=patience_row,
        service=_handling(draw, variants),
        variant=variant,
        serves=serves,
        routing=routing,
        roster=roster,
        roster_interval=float(scenario.interval),
        ivr_class=CHANNELS.index("101") if scenario.ivr.enabled else -1,
        ivr_path=ivr_path,
        ivr_time=ivr_time,
        divert_class=CHANNELS.index("online"),
        redials=redials,
        redial_class=redial_class,
        redial_delay=redial_delay,
        max_attempts=max_attempts,
        class_names=CHANNELS,
        pool_names=pool_names,
    )


def _variants(scenario: Scenario) -> dict:
    """Distinct handling-time distributions: (channel, 'default' or 'pool:NAME') -> spec."""
    variants = {}
    for name, pool in scenario.pools.items():
        for ch in pool.serves:
            key = (ch, f"pool:{name}") if ch in pool.handling else (ch, "default")
            variants[key] = pool.handling.get(ch) or scenario.handling[ch]
    return variants


def _routing(scenario: Scenario, variants: dict):
    pools = list(scenario.pools.items())
    n_c, n_p = len(CHANNELS), len(pools)
    serves = np.full((n_p, n_c), -1, np.int64)
    variant = np.full((n_p, n_c), -1, np.int64)
    keys = list(variants)
    for p, (name, pool) in enumerate(pools):
        serves[p, : len(pool.serves)] = [CHANNELS.index(ch) for ch in pool.serves]
        for ch in pool.serves:
            key = (ch, f"pool:{name}") if ch in pool.handling else (ch, "default")
            variant[p, CHANNELS.index(ch)] = keys.index(key)
    routing = np.full((n_c, n_p), -1, np.int64)
    for c, ch in enumerate(CHANNELS):
        order = [p for p, (_, pool) in enumerate(pools) if ch in pool.serves]
        routing[c, : len(order)] = order
    return serves, routing, variant


def _handling(draw: _Drawer, variants: dict) -> np.ndarray:
    """Handling time of every caller under every variant (rows), NaN where unreachable."""
    out = np.empty((len(variants), draw.n))
    for row, ((ch, key), spec) in enumerate(variants.items()):
        draw.per_caller(f"handling:{key}", ch, spec.sampler().sample, np.nan,
                        out=out[row], grid=True)
    return out


def _patience(scenario: Scenario, draw: _Drawer) -> tuple[np.ndarray, np.ndarray]:
    """Patience of every caller on each channel whose callers abandon (rows; infinite where
    the channel is unreachable), and each channel's row (-1: its callers never abandon)."""
    abandons = [name for name in CHANNELS if name in scenario.channels
                and scenario.channels[name].patience.dist != "never"]
    out = np.empty((len(abandons), draw.n))
    for row, name in enumerate(abandons):
        draw.per_caller("patience", name, scenario.channels[name].patience.sampler().sample,
                        np.inf, out=out[row], grid=True)
    row_of = np.array([abandons.index(name) if name in abandons else -1 for name in CHANNELS])
    return out, row_of


def _ivr(scenario: Scenario, draw: _Drawer):
    ivr = scenario.ivr
    if not ivr.enabled:  # nothing for the engines to read (QueueSystem)
        return np.zeros(0, np.int8), np.zeros(0)
    shares = np.array([ivr.routed, ivr.divert_online, ivr.divert_other, ivr.hang_up])
    path = draw.per_caller(
        "ivr_path", "101", lambda k, rng: categorical(rng, shares / shares.sum(), k), 0,
        np.int8,
    )
    time = draw.per_caller("ivr_time", "101", ivr.menu_time.sampler().sample, 0, grid=True)
    return path, time


def _redials(scenario: Scenario, draw: _Drawer, channel: np.ndarray):
    """How many times each caller would redial, on which channel, after which delays.

    Worked out group by group: only callers who can redial at all get decisions and delays
    (the others keep zero redials), and every draw comes from the group's own stream.
    """
    redial = [spec.redial if spec else None
              for spec in (scenario.channels.get(name) for name in CHANNELS)]
    max_attempts = max([r.max_attempts for r in redial if r] + [1])
    redials = np.zeros(draw.n, np.int8)
    switch = channel.copy()
    delay = np.zeros((max(max_attempts - 1, 1), draw.n))
    for k, group in enumerate(draw.groups):
        slots, own = draw.slots(k), redial[group.channel]
        if own is None:
            continue
        if own.switch:
            _place(switch, slots, _redial_channels(draw, k, group.channel, own))
        if own.probability > 0:
            count = _redial_plan(draw, k, group.channel, redial, switch[slots], delay)
            _place(redials, slots, count)
    return redials, switch, delay, max_attempts


def _redial_channels(draw: _Drawer, k: int, channel: int, redial) -> np.ndarray:
    """The channel each caller of group k redials on."""
    targets = np.array([CHANNELS.index(t) for t in redial.switch] + [channel], np.int8)
    probs = list(redial.switch.values()) + [max(0.0, 1 - sum(redial.switch.values()))]
    return draw.draw("redial_channel", CHANNELS[channel], k,
                     lambda size, rng: targets[categorical(rng, probs, size)])


def _redial_plan(draw: _Drawer, k: int, channel: int, redial: list, switch: np.ndarray,
                 delay: np.ndarray) -> np.ndarray:
    """Group k's redial counts; the delay before each redial goes straight into ``delay``
    (a row per redial, callers in caller order), rounded to the grid.

    The first redial is on the caller's channel, later ones on ``switch``: each channel's delay
    stream is drawn for the whole group and placed where the redial is on that channel, so
    delays on channels without redial settings stay zero."""
    size = switch.size
    slots = draw.slots(k)
    prob = np.array([r.probability if r else 0.0 for r in redial])
    count = np.zeros(size, np.int8)
    going = np.ones(size, bool)
    for attempt in range(redial[channel].max_attempts - 1):
        on = channel if attempt == 0 else switch
        u = draw.draw(f"redial_decision{attempt}", None, k, lambda n, rng: rng.random(n))
        going &= u < prob[on]
        count += going
        for c, r in enumerate(redial):
            if r is None or CHANNELS[c] not in draw.reach[k] or not np.any(on == c):
                continue
            d = draw.draw(f"redial_delay{attempt}", CHANNELS[c], k, r.delay.sampler().sample)
            if attempt == 0:
                _place_on_grid(delay[attempt], slots, d, GRID)
            else:
                _place_on_grid_where(delay[attempt], slots, d, GRID, switch, c)
    return count


# --- downstream ----------------------------------------------------------------------------


def _tdiu_sampler(scenario: Scenario):
    return scenario.tdiu.investigation_time.sampler() if scenario.tdiu else None


def _response_sampler(scenario: Scenario, field: str):
    return getattr(scenario.response, field).sampler() if scenario.response else None


def _tdiu_backlog(scenario: Scenario, streams: Streams) -> np.ndarray:
    size = scenario.backlog.tdiu_reports
    if not size or scenario.tdiu is None:
        return np.zeros(0)
    sampler = scenario.tdiu.investigation_time.sampler()
    return on_grid(sampler.sample(size, rng=streams("tdiu_backlog")))


def _downstream_roster(scenario: Scenario, stage) -> np.ndarray:
    if stage is None:
        return np.zeros(7 * scenario.intervals_per_day, np.int64)
    counts = weekly_counts(stage.roster, scenario.interval)
    return rotate_to_start(counts, scenario.start_date.weekday())


__all__ = ["GRADES", "OUTCOME_NAMES", "InputSampler", "ScenarioInputs", "sample_inputs"]
