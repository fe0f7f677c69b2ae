"""KPIs: pure functions from records to tidy tables (definitions in ``docs/metrics.md``).

Every table is *long*: one row per (scenario, replication, seed, channel, metric) — and interval
for the interval table — so replications, scenarios and sweeps stack by concatenation.  The
``channel`` column names what a row is about: a channel (``999``, ``101``, ``online``), a pool
(``pool:NAME``) or a downstream stage (``tdiu``, ``response``, ``crime``).

Only contacts that reach a queue at or after the warm-up count as *offered*; a contact belongs
to the interval in which it reached the queue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from contactsim.inputs import CRIME_DEPLOY, CRIME_SCREENED_OUT, CRIME_TDIU
from contactsim.schema import CHANNELS, GRADES, Scenario
from contactsim.stages import Replication, Stage
from contactsim.system import (
    ABANDONED,
    IVR_DIVERT_OTHER,
    IVR_DIVERT_ONLINE,
    IVR_HANG_UP,
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
    short = (calls.status == ABANDONED) & (calls.end - calls.queue_entry < scenario.short_abandon)
    return queued & ~short


def _is_redial(calls: Records) -> np.ndarray:
    """A contact whose caller's previous contact was abandoned in the queue."""
    order = np.lexsort((calls.attempt, calls.caller))
    caller, status = calls.caller[order], calls.status[order]
    redial = np.zeros(len(calls), bool)
    redial[order[1:]] = (caller[1:] == caller[:-1]) & (status[:-1] == ABANDONED)
    return redial


def channel_metrics(scenario: Scenario, calls: Records) -> dict[tuple[str, str], float]:
    """Per-channel KPIs over the horizon after warm-up."""
    out: dict[tuple[str, str], float] = {}
    offered_mask = _offered_mask(scenario, calls)
    wait = calls.answer - calls.queue_entry
    arrived = calls.arrival >= scenario.warmup
    redial = _is_redial(calls)
    for c, name in enumerate(CHANNELS):
        spec = scenario.channels.get(name)
        if spec is None:
            continue
        mine = calls.klass == c
        offered = mine & offered_mask
        answered = offered & ~np.isnan(calls.answer)
        waits = wait[answered]
        n_off = int(offered.sum())
        in_target = int((waits <= spec.answer_target).sum())
        ivr = calls.ivr[mine & arrived]
        m = {
            "arrivals": float((mine & arrived).sum()),
            "offered": float(n_off),
            "answered": float(answered.sum()),
            "answered_in_target": float(in_target),
            "abandoned": float((offered & (calls.status == ABANDONED)).sum()),
            "service_level": _ratio(in_target, n_off),
            "asa_s": float(waits.mean()) if waits.size else float("nan"),
            "wait_p90_s": float(np.percentile(waits, 90)) if waits.size else float("nan"),
            "ivr_diverted": float(np.isin(ivr, (IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER)).sum()),
            "ivr_hangups": float((ivr == IVR_HANG_UP).sum()),
            "redials": float((mine & arrived & redial).sum()),
        }
        m["abandon_rate"] = _ratio(m["abandoned"], n_off)
        m.update(_caller_metrics(calls, mine & arrived & (calls.attempt == 0)))
        out.update({(name, k): v for k, v in m.items()})
    return out


def _caller_metrics(calls: Records, first: np.ndarray) -> dict[str, float]:
    """Per-caller view: of callers who started on this channel, how many were ever answered."""
    callers = calls.caller[first]  # one first contact per caller
    ever_answered = np.zeros(int(calls.caller.max(initial=-1)) + 1, bool)
    ever_answered[calls.caller[~np.isnan(calls.answer)]] = True
    return {
        "callers": float(callers.size),
        "callers_answered_share": _ratio(ever_answered[callers].sum(), callers.size),
    }


# --- pools ---------------------------------------------------------------------------------


def _on_duty_seconds(system: QueueSystem, pool: int, lo: float, hi: float, edges) -> np.ndarray:
    """Handler-seconds on duty in each bin [edges[k], edges[k+1]) clipped to [lo, hi)."""
    width = system.roster_interval
    n = int(np.ceil(system.horizon / width))
    counts = system.roster[pool, np.arange(n) % system.roster.shape[1]]
    starts = np.arange(n) * width
    return _binned_overlap(starts, starts + width, counts.astype(float), lo, hi, edges)


def _binned_overlap(start, end, weight, lo, hi, edges) -> np.ndarray:
    """Sum of weight × overlap of [start, end) with each bin of ``edges``, clipped to [lo, hi).

    The weighted count of open spans is a step function; integrating it between consecutive
    event times (edges included) and adding each piece to its bin is O(n log n).
    """
    edges = np.asarray(edges, dtype=float)
    start, end = np.clip(start, lo, hi), np.clip(end, lo, hi)
    times = np.concatenate([start, end, edges])
    steps = np.concatenate([weight, -np.asarray(weight, float), np.zeros(edges.size)])
    order = np.argsort(times, kind="stable")
    times, level = times[order], np.cumsum(steps[order])
    pieces = level[:-1] * np.diff(times)
    bins = np.searchsorted(edges, times[:-1], side="right") - 1
    keep = (bins >= 0) & (bins < edges.size - 1)
    return np.bincount(bins[keep], weights=pieces[keep], minlength=edges.size - 1)


def pool_metrics(scenario: Scenario, system: QueueSystem, calls: Records) -> dict:
    out = {}
    lo, hi = scenario.warmup, scenario.horizon
    for p, name in enumerate(system.pool_names):
        served = calls.pool == p
        end = np.where(np.isnan(calls.end[served]), hi, calls.end[served])
        start = np.clip(calls.answer[served], lo, hi)
        busy = float((np.clip(end, lo, hi) - start).sum())
        duty = _on_duty_seconds(system, p, lo, hi, [lo, hi])[0]
        out[(f"pool:{name}", "occupancy")] = _ratio(busy, duty)
        out[(f"pool:{name}", "handlers_mean")] = duty / (hi - lo)
        out[(f"pool:{name}", "contacts_handled")] = float(
            (served & (calls.answer >= lo)).sum()
        )
    return out


# --- downstream ----------------------------------------------------------------------------


def crime_metrics(scenario: Scenario, rep: Replication) -> dict:
    calls, outcome = rep.calls, rep.outcome
    done = calls.end >= scenario.warmup
    crime = done & np.isin(outcome, (CRIME_TDIU, CRIME_DEPLOY, CRIME_SCREENED_OUT))
    online = crime & (calls.klass == CHANNELS.index("online"))
    n = int(crime.sum())
    return {
        ("crime", "crime_reports"): float(n),
        ("crime", "tdiu_share_of_crime"): _ratio((crime & (outcome == CRIME_TDIU)).sum(), n),
        ("crime", "online_share_of_crime"): _ratio(online.sum(), n),
        ("crime", "screened_out_share"): _ratio((crime & (outcome == CRIME_SCREENED_OUT)).sum(),
                                                n),
    }


def tdiu_metrics(scenario: Scenario, stage: Stage | None) -> dict:
    if stage is None:
        return {}
    jobs = stage.records
    new = jobs.arrival >= scenario.warmup
    started = ~np.isnan(jobs.answer)
    wait = jobs.answer - jobs.arrival
    return {
        ("tdiu", "reports"): float(new.sum()),
        ("tdiu", "started"): float((new & started).sum()),
        ("tdiu", "wait_mean_h"): float(np.nanmean(wait[new & started]) / 3600)
        if (new & started).any() else float("nan"),
        ("tdiu", "backlog_end"): float((~started).sum()),
    }


def response_metrics(scenario: Scenario, stage: Stage | None) -> dict:
    if stage is None:
        return {}
    jobs, travel = stage.records, stage.extra["travel"][stage.records.caller]
    new = jobs.arrival >= scenario.warmup
    out = {("response", "deployments"): float(new.sum())}
    reach = jobs.answer + travel - jobs.arrival
    censored = np.isnan(jobs.answer) & (scenario.horizon - jobs.arrival <= 0)
    for g, grade in enumerate(GRADES):
        target = scenario.response.targets[grade]
        mine = new & (jobs.klass == g)
        waiting = mine & np.isnan(jobs.answer) & (scenario.horizon - jobs.arrival < target)
        counted = mine & ~waiting & ~censored
        within = counted & (reach <= target)
        out[("response", f"deployments_{grade}")] = float(mine.sum())
        out[("response", f"response_within_target_{grade}")] = _ratio(within.sum(),
                                                                       counted.sum())
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


def interval_table(rep: Replication) -> pd.DataFrame:
    """Per-interval KPIs of one replication (intervals after warm-up)."""
    s, calls = rep.scenario, rep.calls
    width = s.interval
    first = int(s.warmup // width)
    n = int(np.ceil(s.horizon / width))
    index = np.arange(first, n)
    offered_mask = _offered_mask(s, calls)
    slot = np.floor(calls.queue_entry / width)
    frames = []
    for c, name in enumerate(CHANNELS):
        spec = s.channels.get(name)
        if spec is None:
            continue
        offered = offered_mask & (calls.klass == c)
        k = slot[offered].astype(np.int64)
        wait = (calls.answer - calls.queue_entry)[offered]
        answered = ~np.isnan(wait)
        counts = {
            "offered": np.bincount(k, minlength=n),
            "answered": np.bincount(k[answered], minlength=n),
            "answered_in_target": np.bincount(k[answered & (wait <= spec.answer_target)],
                                              minlength=n),
            "abandoned": np.bincount(k[calls.status[offered] == ABANDONED], minlength=n),
            "wait_sum": np.bincount(k[answered], weights=wait[answered], minlength=n),
        }
        frames.append(_interval_frame(name, index, counts))
    frames.extend(_pool_interval_frames(s, rep, index, width))
    frames.extend(queue_interval_frames(s, rep, index, width))
    frames.extend(downstream_interval_frames(s, rep, index, width))
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(1, "start", pd.Timestamp(s.start_date) + pd.to_timedelta(
        frame["interval"] * width, unit="s"))
    return _with_ids(frame, rep)


def _interval_frame(channel: str, index, counts: dict) -> pd.DataFrame:
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
    return _long(channel, index, metrics)


def _long(channel: str, index, metrics: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "interval": np.tile(index, len(metrics)),
        "channel": channel,
        "metric": np.repeat(list(metrics), len(index)),
        "value": np.concatenate(list(metrics.values())),
    })


def _pool_interval_frames(s: Scenario, rep: Replication, index, width) -> list[pd.DataFrame]:
    system, calls = rep.inputs.calls, rep.calls
    edges = np.append(index * width, min((index[-1] + 1) * width, s.horizon)) if index.size else (
        np.zeros(1)
    )
    edges = np.minimum(edges, s.horizon)
    frames = []
    for p, name in enumerate(system.pool_names):
        served = calls.pool == p
        end = np.where(np.isnan(calls.end[served]), s.horizon, calls.end[served])
        busy = _binned_overlap(calls.answer[served], end, np.ones(served.sum()), s.warmup,
                               s.horizon, edges)
        duty = _on_duty_seconds(system, p, s.warmup, s.horizon, edges)
        length = np.diff(edges)
        with np.errstate(invalid="ignore", divide="ignore"):
            metrics = {"occupancy": busy / duty, "handlers": duty / length}
        frames.append(_long(f"pool:{name}", index, metrics))
    return frames


# --- queues and downstream by interval ----------------------------------------------------


def _interval_edges(s: Scenario, index, width) -> np.ndarray:
    """Bin edges of the intervals in ``index``, the last one clipped to the horizon."""
    if not index.size:
        return np.array([s.warmup, s.warmup])
    return np.minimum(np.append(index * width, (index[-1] + 1) * width), s.horizon)


def _time_average(start, stop, s: Scenario, edges) -> np.ndarray:
    """Mean number of spans [start, stop) open in each bin (spans with a NaN start are skipped;
    a NaN stop means still open at the horizon)."""
    keep = ~np.isnan(start)
    stop = np.where(np.isnan(stop), s.horizon, stop)
    total = _binned_overlap(start[keep], stop[keep], np.ones(int(keep.sum())), s.warmup,
                            s.horizon, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / np.diff(edges)


def queue_interval_frames(s: Scenario, rep: Replication, index, width) -> list[pd.DataFrame]:
    """``queue_length`` per channel: time-average number of contacts waiting in the interval.

    A contact waits from reaching the queue until it is answered, abandons, or the horizon.
    """
    calls, edges = rep.calls, _interval_edges(s, index, width)
    left = np.fmin(calls.answer, calls.end)  # NaN only if neither happened
    frames = []
    for c, name in enumerate(CHANNELS):
        if name not in s.channels:
            continue
        mine = calls.klass == c
        queue = _time_average(calls.queue_entry[mine], left[mine], s, edges)
        frames.append(_long(name, index, {"queue_length": queue}))
    return frames


def _slot_counts(times, mask, index, width) -> np.ndarray:
    """How many ``times[mask]`` fall in each interval of ``index``."""
    k = np.floor(times[mask & ~np.isnan(times)] / width).astype(np.int64)
    k = k[(k >= index[0]) & (k <= index[-1])] - index[0] if index.size else k[:0]
    return np.bincount(k, minlength=index.size).astype(float)


def downstream_interval_frames(s: Scenario, rep: Replication, index, width) -> list:
    """Crime screening, TDIU and response by interval (a job belongs to its arrival interval).

    ``crime``: ``crime_reports``, ``tdiu_allocated`` and ``tdiu_share_of_crime`` of the handled
    contacts ending in the interval; ``tdiu``: ``reports`` arriving and ``backlog`` (time-average
    reports waiting for an investigator); ``response``: ``deployments_{I,S,E}`` created,
    ``backlog`` (time-average deployments waiting for a unit) and
    ``response_within_target_{I,S,E}`` of the deployments created in the interval, with the
    horizon KPI's rule for deployments whose result is not yet known.
    """
    frames = []
    if s.outcomes:
        calls, outcome = rep.calls, rep.outcome
        crime = np.isin(outcome, (CRIME_TDIU, CRIME_DEPLOY, CRIME_SCREENED_OUT))
        n = _slot_counts(calls.end, crime, index, width)
        tdiu = _slot_counts(calls.end, outcome == CRIME_TDIU, index, width)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = tdiu / n
        frames.append(_long("crime", index, {"crime_reports": n, "tdiu_allocated": tdiu,
                                             "tdiu_share_of_crime": share}))
    edges = _interval_edges(s, index, width)
    if rep.tdiu is not None:
        jobs = rep.tdiu.records
        everything = np.ones(len(jobs), bool)
        frames.append(_long("tdiu", index, {
            "reports": _slot_counts(jobs.arrival, everything, index, width),
            "backlog": _time_average(jobs.arrival, jobs.answer, s, edges),
        }))
    if rep.response is not None:
        stage = rep.response
        jobs, travel = stage.records, stage.extra["travel"][stage.records.caller]
        reach = jobs.answer + travel - jobs.arrival
        metrics = {"backlog": _time_average(jobs.arrival, jobs.answer, s, edges)}
        for g, grade in enumerate(GRADES):
            target = s.response.targets[grade]
            mine = jobs.klass == g
            unknown = np.isnan(jobs.answer) & (s.horizon - jobs.arrival < target)
            counted = mine & ~unknown
            metrics[f"deployments_{grade}"] = _slot_counts(jobs.arrival, mine, index, width)
            with np.errstate(invalid="ignore", divide="ignore"):
                metrics[f"response_within_target_{grade}"] = (
                    _slot_counts(jobs.arrival, counted & (reach <= target), index, width)
                    / _slot_counts(jobs.arrival, counted, index, width))
        frames.append(_long("response", index, metrics))
    return frames


# --- across replications -------------------------------------------------------------------


def aggregate(table: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and a t-based confidence interval over replications for each group."""
    grouped = table.groupby(by, sort=False, dropna=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    tq = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
