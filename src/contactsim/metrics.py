"""KPIs: pure functions from records to tidy tables (definitions in ``docs/metrics.md``).

Every table is *long*: one row per (scenario, replication, seed, channel, metric) — and interval
for the interval table — so replications, scenarios and sweeps stack by concatenation.  The
``channel`` column names what a row is about: a channel (``999``, ``101``, ``online``), a pool
(``pool:NAME``) or a downstream stage (``tdiu``, ``response``, ``crime``).

Only contacts that reach a queue at or after the warm-up count as *offered*; a contact belongs
to the interval in which it reached the queue.

Speed.  A simulated year of Met demand is 5.8 M contacts, and every pass over a column costs
milliseconds (fresh memory too: a year's column is 46 MB), so each KPI is computed from the
records as the docs define it but with few passes.  Profiling a year found the time in:
lexsorting every contact to find redials; a scatter per channel for "caller ever answered";
boolean-mask indexing of float columns per channel, pool and metric (``x[mask]`` is ~3x slower
than ``np.compress(mask, x)`` or ``x[np.flatnonzero(mask)]`` on scattered masks); ``np.isin`` on
small code sets (~20x slower than comparisons); sorting span end points for the interval
integrals (see :mod:`contactsim.spans`); and building string columns per sub-frame.  The horizon
KPIs' counts, waits and busy times, and each contact's caller history (is it a redial, was its
caller ever answered), come from compiled passes over the records
(:mod:`contactsim.contact_tally`: a mask and a count per channel and metric were some thirty
passes); the interval counts from one ``bincount``.  Float means and sums are taken over the
same values in the same (record) order as the plain definition, so results are bit-identical to
it (``tests/test_metrics.py``); only counts and exact integrals are gathered in another order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactsim.contact_tally import COUNTS, caller_history, channel_tally, pool_busy
from contactsim.inputs import CRIME_DEPLOY, CRIME_SCREENED_OUT, CRIME_TDIU
from contactsim.schema import CHANNELS, GRADES, Scenario
from contactsim.spans import binned_overlap, grouped_overlap
from contactsim.stages import Replication, Stage
from contactsim.system import (
    ABANDONED,
    QueueSystem,
    Records,
)

ID_COLUMNS = ["scenario", "replication", "seed"]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


# --- call handling -------------------------------------------------------------------------


def _offered_mask(scenario: Scenario, calls: Records) -> np.ndarray:
    """Contacts that reached a queue after warm-up, short abandons excluded."""
    queued = calls.queue_entry >= scenario.warmup  # NaN compares False
    if scenario.short_abandon == 0:  # x - y < 0 is x < y in IEEE arithmetic (NaN, inf too)
        quick = calls.end < calls.queue_entry  # without a year-long temporary
    else:
        quick = calls.end - calls.queue_entry < scenario.short_abandon
    return queued & ~((calls.status == ABANDONED) & quick)


def channel_metrics(scenario: Scenario, calls: Records) -> dict[tuple[str, str], float]:
    """Per-channel KPIs over the horizon after warm-up."""
    out: dict[tuple[str, str], float] = {}
    redial, caller_answered = caller_history(calls, ~np.isnan(calls.answer))
    counts, waits_of = channel_tally(calls, len(CHANNELS), scenario.warmup,
                                     scenario.short_abandon, redial, caller_answered)
    for c, name in enumerate(CHANNELS):
        spec = scenario.channels.get(name)
        if spec is None:
            continue
        n = dict(zip(COUNTS, counts[c].tolist()))
        waits = waits_of[c]  # in record order
        in_target = int(np.count_nonzero(waits <= spec.answer_target))
        m = {
            "arrivals": float(n["arrivals"]),
            "offered": float(n["offered"]),
            "answered": float(n["answered"]),
            "answered_in_target": float(in_target),
            "abandoned": float(n["abandoned"]),
            "service_level": _ratio(in_target, n["offered"]),
            "asa_s": float(waits.mean()) if waits.size else float("nan"),
            # after the mean, which needs the record order: partition in place, no copy
            "wait_p90_s": float(np.percentile(waits, 90, overwrite_input=True))
            if waits.size else float("nan"),
            "ivr_diverted": float(n["ivr_diverted"]),
            "ivr_hangups": float(n["ivr_hangups"]),
            "redials": float(n["redials"]),
        }
        m["abandon_rate"] = _ratio(m["abandoned"], n["offered"])
        m["callers"] = float(n["callers"])
        m["callers_answered_share"] = _ratio(n["callers_answered"], n["callers"])
        out.update({(name, k): v for k, v in m.items()})
    return out


# --- pools ---------------------------------------------------------------------------------


def _on_duty_seconds(system: QueueSystem, pool: int, lo: float, hi: float, edges) -> np.ndarray:
    """Handler-seconds on duty in each bin [edges[k], edges[k+1]) clipped to [lo, hi)."""
    width = system.roster_interval
    n = int(np.ceil(system.horizon / width))
    counts = system.roster[pool, np.arange(n) % system.roster.shape[1]]
    starts = np.arange(n) * width
    return binned_overlap(starts, starts + width, counts.astype(float), lo, hi, edges)


def pool_metrics(scenario: Scenario, system: QueueSystem, calls: Records) -> dict:
    out = {}
    lo, hi = scenario.warmup, scenario.horizon
    handled, busy = pool_busy(calls, len(system.pool_names), lo, hi)
    for p, name in enumerate(system.pool_names):
        duty = _on_duty_seconds(system, p, lo, hi, [lo, hi])[0]
        out[(f"pool:{name}", "occupancy")] = _ratio(float(busy[p].sum()), duty)
        out[(f"pool:{name}", "handlers_mean")] = duty / (hi - lo)
        out[(f"pool:{name}", "contacts_handled")] = float(handled[p])
    return out


# --- downstream ----------------------------------------------------------------------------


def _is_crime(outcome: np.ndarray) -> np.ndarray:
    # three comparisons: np.isin costs ~20x more on a year's int8 outcomes
    return (outcome == CRIME_TDIU) | (outcome == CRIME_DEPLOY) | (outcome == CRIME_SCREENED_OUT)


def crime_metrics(scenario: Scenario, rep: Replication) -> dict:
    calls, outcome = rep.calls, rep.outcome
    crime = (calls.end >= scenario.warmup) & _is_crime(outcome)

    def count(mask: np.ndarray) -> int:
        return int(np.count_nonzero(crime & mask))

    n = int(np.count_nonzero(crime))
    return {
        ("crime", "crime_reports"): float(n),
        ("crime", "tdiu_share_of_crime"): _ratio(count(outcome == CRIME_TDIU), n),
        ("crime", "online_share_of_crime"): _ratio(count(calls.klass == CHANNELS.index("online")),
                                                   n),
        ("crime", "screened_out_share"): _ratio(count(outcome == CRIME_SCREENED_OUT), n),
    }


def tdiu_metrics(scenario: Scenario, stage: Stage | None) -> dict:
    if stage is None:
        return {}
    jobs = stage.records
    new = jobs.arrival >= scenario.warmup
    started = ~np.isnan(jobs.answer)
    wait = jobs.answer - jobs.arrival
    return {
        ("tdiu", "reports"): float(np.count_nonzero(new)),
        ("tdiu", "started"): float(np.count_nonzero(new & started)),
        ("tdiu", "wait_mean_h"): float(np.nanmean(wait[np.flatnonzero(new & started)]) / 3600)
        if (new & started).any() else float("nan"),
        ("tdiu", "backlog_end"): float(np.count_nonzero(~started)),
    }


def response_metrics(scenario: Scenario, stage: Stage | None) -> dict:
    if stage is None:
        return {}
    jobs, travel = stage.records, stage.extra["travel"][stage.records.caller]
    new = jobs.arrival >= scenario.warmup
    out = {("response", "deployments"): float(np.count_nonzero(new))}
    reach = jobs.answer + travel - jobs.arrival
    unanswered, left = np.isnan(jobs.answer), scenario.horizon - jobs.arrival
    censored = unanswered & (left <= 0)
    for g, grade in enumerate(GRADES):
        target = scenario.response.targets[grade]
        mine = new & (jobs.klass == g)
        waiting = mine & unanswered & (left < target)
        counted = mine & ~waiting & ~censored
        within = counted & (reach <= target)
        out[("response", f"deployments_{grade}")] = float(np.count_nonzero(mine))
        out[("response", f"response_within_target_{grade}")] = _ratio(
            np.count_nonzero(within), np.count_nonzero(counted))
    return out


# --- tables --------------------------------------------------------------------------------


def summary_rows(rep: Replication) -> dict[tuple[str, str], float]:
    """All horizon KPIs of one replication, keyed by (channel, metric)."""
    s = rep.scenario
    rows = channel_metrics(s, rep.calls)
    rows.update(pool_metrics(s, rep.inputs.calls, rep.calls))
    if s.outcomes:
        rows.update(crime_metrics(s, rep))
    rows.update(tdiu_metrics(s, rep.tdiu))
    rows.update(response_metrics(s, rep.response))
    return rows


def summary_table(rep: Replication) -> pd.DataFrame:
    """Tidy summary of one replication."""
    rows = summary_rows(rep)
    frame = pd.DataFrame(
        [(ch, metric, value) for (ch, metric), value in rows.items()],
        columns=["channel", "metric", "value"],
    )
    return _with_ids(frame, rep)


def _with_ids(frame: pd.DataFrame, rep: Replication) -> pd.DataFrame:
    frame.insert(0, "seed", rep.scenario.seed)
    frame.insert(0, "replication", rep.replication)
    frame.insert(0, "scenario", rep.scenario.name)
    return frame


Block = tuple[str, dict[str, np.ndarray]]  # a channel and its metrics, one value per interval


def interval_table(rep: Replication) -> pd.DataFrame:
    """Per-interval KPIs of one replication (intervals after warm-up)."""
    s = rep.scenario
    width = s.interval
    first = int(s.warmup // width)
    n = int(np.ceil(s.horizon / width))
    index = np.arange(first, n)
    blocks = channel_interval_blocks(s, rep.calls, index, width)
    blocks += _pool_interval_blocks(s, rep, index, width)
    blocks += queue_interval_blocks(s, rep, index, width)
    blocks += downstream_interval_blocks(s, rep, index, width)
    return _with_ids(_long(blocks, index, s), rep)


def _long(blocks: list[Block], index, s: Scenario) -> pd.DataFrame:
    """The blocks stacked into one long frame (built once: pandas costs per frame and column)."""
    names = [(channel, metric) for channel, metrics in blocks for metric in metrics]
    interval = np.tile(index, len(names))
    # the start of an interval, computed once per interval and repeated for every metric
    start = pd.Timestamp(s.start_date) + pd.to_timedelta(pd.Series(index) * s.interval, unit="s")
    return pd.DataFrame({
        "interval": interval,
        "start": np.tile(start.to_numpy(), len(names)),
        "channel": _repeated_strings([channel for channel, _ in names], index.size),
        "metric": _repeated_strings([metric for _, metric in names], index.size),
        "value": np.concatenate([v for _, metrics in blocks for v in metrics.values()]),
    })


def _repeated_strings(names: list[str], times: int):
    """``np.repeat(names, times)`` as a pandas string column, taken from the distinct names:
    converting a year's 1.4 M numpy strings cost ~0.25 s, taking ~10 ms."""
    distinct = list(dict.fromkeys(names))
    codes = np.repeat([distinct.index(name) for name in names], times)
    return pd.Series(distinct).array.take(codes)


def channel_interval_blocks(s: Scenario, calls: Records, index, width) -> list[Block]:
    """Offered, answered, abandoned, service level, abandon rate and ASA per channel."""
    rows = np.flatnonzero(_offered_mask(s, calls))
    slot = np.floor(calls.queue_entry[rows] / width).astype(np.int64)
    n_slots = max(int(np.ceil(s.horizon / width)), int(slot.max(initial=-1)) + 1)
    klass = calls.klass[rows]
    wait = calls.answer[rows]
    wait -= calls.queue_entry[rows]
    answered = ~np.isnan(wait)
    target = np.array([s.channels[c].answer_target if c in s.channels else np.nan
                       for c in CHANNELS])
    in_target = wait <= target[klass]  # NaN (not answered) is not
    abandoned = calls.status[rows] == ABANDONED
    # One bincount over (channel, interval, outcome) codes instead of a mask per channel and
    # count; outcome bits: 1 answered, 2 answered in target, 4 abandoned.
    bit = np.uint8
    outcome = answered.view(bit) | in_target.view(bit) << 1 | abandoned.view(bit) << 2
    cell = klass.astype(np.int64) * n_slots + slot  # (channel, interval)
    tally = np.bincount(cell * 8 + outcome, minlength=len(CHANNELS) * n_slots * 8).reshape(
        len(CHANNELS), n_slots, 8)

    def having(bit: int) -> np.ndarray:
        return tally[:, :, [o for o in range(8) if o & bit]].sum(axis=2)

    picked = np.flatnonzero(answered)  # waits add up in record order within each cell
    counts = {
        "offered": tally.sum(axis=2),
        "answered": having(1),
        "answered_in_target": having(2),
        "abandoned": having(4),
        "wait_sum": np.bincount(cell[picked], wait[picked], len(CHANNELS) * n_slots).reshape(
            len(CHANNELS), n_slots),
    }
    return [_channel_interval_metrics(name, index, {k: v[c] for k, v in counts.items()})
            for c, name in enumerate(CHANNELS) if name in s.channels]


def _channel_interval_metrics(channel: str, index, counts: dict) -> Block:
    off = counts["offered"][index].astype(float)
    ans = counts["answered"][index].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        metrics = {
            "offered": off,
            "answered": ans,
            "abandoned": counts["abandoned"][index].astype(float),
            "service_level": counts["answered_in_target"][index] / off,
            "abandon_rate": counts["abandoned"][index] / off,
            "asa_s": counts["wait_sum"][index] / ans,
        }
    return channel, metrics


def _pool_interval_blocks(s: Scenario, rep: Replication, index, width) -> list[Block]:
    system, calls = rep.inputs.calls, rep.calls
    edges = np.append(index * width, min((index[-1] + 1) * width, s.horizon)) if index.size else (
        np.zeros(1)
    )
    edges = np.minimum(edges, s.horizon)
    n_pools = len(system.pool_names)
    rows = np.flatnonzero((calls.pool >= 0) & (calls.pool < n_pools))
    end = np.where(np.isnan(calls.end[rows]), s.horizon, calls.end[rows])
    busy = grouped_overlap(calls.answer[rows], end, 1.0, calls.pool[rows], n_pools, s.warmup,
                           s.horizon, edges)
    blocks = []
    for p, name in enumerate(system.pool_names):
        duty = _on_duty_seconds(system, p, s.warmup, s.horizon, edges)
        length = np.diff(edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            metrics = {"occupancy": busy[p] / duty, "handlers": duty / length}
        blocks.append((f"pool:{name}", metrics))
    return blocks


# --- queues and downstream by interval ----------------------------------------------------


def _interval_edges(s: Scenario, index, width) -> np.ndarray:
    """Bin edges of the intervals in ``index``, the last one clipped to the horizon."""
    if not index.size:
        return np.array([s.warmup, s.warmup])
    return np.minimum(np.append(index * width, (index[-1] + 1) * width), s.horizon)


def _time_average(start, stop, s: Scenario, edges, group=None, n_groups: int = 1) -> np.ndarray:
    """Mean number of spans [start, stop) open in each bin (spans with a NaN start are skipped;
    a NaN stop means still open at the horizon); per group (n_groups, bins) if ``group`` given."""
    by = np.zeros(start.size, np.intp) if group is None else group
    keep = np.flatnonzero(~np.isnan(start))
    if keep.size < start.size:
        start, stop, by = start[keep], stop[keep], by[keep]
    stop = np.where(np.isnan(stop), s.horizon, stop)
    total = grouped_overlap(start, stop, 1.0, by, n_groups, s.warmup, s.horizon, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = total / np.diff(edges)
    return average[0] if group is None else average


def queue_interval_blocks(s: Scenario, rep: Replication, index, width) -> list[Block]:
    """``queue_length`` per channel: time-average number of contacts waiting in the interval.

    A contact waits from reaching the queue until it is answered, abandons, or the horizon.
    """
    calls, edges = rep.calls, _interval_edges(s, index, width)
    left = np.fmin(calls.answer, calls.end)  # NaN only if neither happened
    queue = _time_average(calls.queue_entry, left, s, edges, calls.klass, len(CHANNELS))
    return [(name, {"queue_length": queue[c]}) for c, name in enumerate(CHANNELS)
            if name in s.channels]


def _interval_counter(times, index, width):
    """``count(mask)``: how many ``times[mask]`` fall in each interval of ``index`` (floats)."""
    known = np.flatnonzero(~np.isnan(times))
    slot = np.zeros(times.shape, np.int64)
    slot[known] = np.floor(times[known] / width).astype(np.int64)
    inside = np.zeros(times.shape, bool)
    if index.size:
        inside[known] = (slot[known] >= index[0]) & (slot[known] <= index[-1])
        slot -= index[0]

    def count(mask=None) -> np.ndarray:
        picked = np.flatnonzero(inside if mask is None else inside & mask)
        return np.bincount(slot[picked], minlength=index.size).astype(float)

    return count


def downstream_interval_blocks(s: Scenario, rep: Replication, index, width) -> list[Block]:
    """Crime screening, TDIU and response by interval (a job belongs to its arrival interval).

    ``crime``: ``crime_reports``, ``tdiu_allocated`` and ``tdiu_share_of_crime`` of the handled
    contacts ending in the interval; ``tdiu``: ``reports`` arriving and ``backlog`` (time-average
    reports waiting for an investigator); ``response``: ``deployments_{I,S,E}`` created,
    ``backlog`` (time-average deployments waiting for a unit) and
    ``response_within_target_{I,S,E}`` of the deployments created in the interval, with the
    horizon KPI's rule for deployments whose result is not yet known.
    """
    blocks = []
    if s.outcomes:
        crime = np.flatnonzero(_is_crime(rep.outcome))
        count = _interval_counter(rep.calls.end[crime], index, width)
        n, tdiu = count(), count(rep.outcome[crime] == CRIME_TDIU)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = tdiu / n
        blocks.append(("crime", {"crime_reports": n, "tdiu_allocated": tdiu,
                                 "tdiu_share_of_crime": share}))
    edges = _interval_edges(s, index, width)
    if rep.tdiu is not None:
        jobs = rep.tdiu.records
        blocks.append(("tdiu", {
            "reports": _interval_counter(jobs.arrival, index, width)(),
            "backlog": _time_average(jobs.arrival, jobs.answer, s, edges),
        }))
    if rep.response is not None:
        stage = rep.response
        jobs, travel = stage.records, stage.extra["travel"][stage.records.caller]
        reach = jobs.answer + travel - jobs.arrival
        count = _interval_counter(jobs.arrival, index, width)
        metrics = {"backlog": _time_average(jobs.arrival, jobs.answer, s, edges)}
        for g, grade in enumerate(GRADES):
            target = s.response.targets[grade]
            mine = jobs.klass == g
            unknown = np.isnan(jobs.answer) & (s.horizon - jobs.arrival < target)
            counted = mine & ~unknown
            metrics[f"deployments_{grade}"] = count(mine)
            with np.errstate(invalid="ignore", divide="ignore"):
                metrics[f"response_within_target_{grade}"] = (
                    count(counted & (reach <= target)) / count(counted))
        blocks.append(("response", metrics))
    return blocks


# --- across replications -------------------------------------------------------------------


def t_quantile(confidence: float, df):
    """Two-sided Student-t quantile: the half-width of a ``confidence`` CI in standard errors.

    ``scipy.special.stdtrit`` is what ``scipy.stats.t.ppf`` evaluates, to the bit, without
    importing ``scipy.stats`` (a second of every command's start-up and ~50 MB).
    """
    from scipy.special import stdtrit

    return stdtrit(df, 0.5 + confidence / 2)


def aggregate(table: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and a t-based confidence interval over replications for each group."""
    grouped = table.groupby(by, sort=False, dropna=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    tq = t_quantile(confidence, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
