"""metrics.py and spans.py give bit-identical results to the plain definitions they were sped
up from.

The plain versions below are the KPI code as first written (``docs/metrics.md``, one boolean mask
per channel and metric, a lexsort for redials, an event sweep for time integrals).  The fast code
must agree with them exactly — not approximately — on real scenarios, on records in any row
order and on subsets of records with missing contacts.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIGS

from contactsim import metrics, spans
from contactsim.config import load
from contactsim.contact_tally import caller_history
from contactsim.schema import CHANNELS
from contactsim.stages import simulate
from contactsim.system import (
    ABANDONED,
    IVR_DIVERT_ONLINE,
    IVR_DIVERT_OTHER,
    IVR_HANG_UP,
    Records,
)

SCENARIOS = [
    ("examples/erlang-a.yaml", ["horizon_days=2"]),
    ("examples/skills.yaml", ["horizon_days=2", "short_abandon=5", "warmup=7207"]),
    ("examples/two-class.yaml", ["horizon_days=2", "interval=30min"]),
    ("met-2018-09.yaml", ["horizon_days=2", "warmup=0.3d"]),  # IVR, redials, downstream
]


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p for p, _ in SCENARIOS])
def rep(request):
    path, overrides = request.param
    return simulate(load(CONFIGS / path, overrides).scenario, 1)


def shuffled(rep, seed: int = 0):
    """The same replication with its call records in another row order."""
    order = np.random.default_rng(seed).permutation(len(rep.calls))
    calls = Records(**{k: v[order] for k, v in rep.calls.as_dict().items()})
    return dataclasses.replace(rep, calls=calls, outcome=rep.outcome[order])


def subset(calls: Records, keep) -> Records:
    return Records(**{k: v[keep] for k, v in calls.as_dict().items()})


# --- the plain definitions ------------------------------------------------------------------


def plain_redial(calls: Records) -> np.ndarray:
    order = np.lexsort((calls.attempt, calls.caller))
    caller, status = calls.caller[order], calls.status[order]
    redial = np.zeros(len(calls), bool)
    redial[order[1:]] = (caller[1:] == caller[:-1]) & (status[:-1] == ABANDONED)
    return redial


def plain_channel_metrics(scenario, calls: Records) -> dict:
    out = {}
    offered_mask = metrics._offered_mask(scenario, calls)
    wait = calls.answer - calls.queue_entry
    arrived = calls.arrival >= scenario.warmup
    redial = plain_redial(calls)
    ever_answered = np.zeros(int(calls.caller.max(initial=-1)) + 1, bool)
    ever_answered[calls.caller[~np.isnan(calls.answer)]] = True
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
        callers = calls.caller[mine & arrived & (calls.attempt == 0)]
        m = {
            "arrivals": float((mine & arrived).sum()),
            "offered": float(n_off),
            "answered": float(answered.sum()),
            "answered_in_target": float(in_target),
            "abandoned": float((offered & (calls.status == ABANDONED)).sum()),
            "service_level": metrics._ratio(in_target, n_off),
            "asa_s": float(waits.mean()) if waits.size else float("nan"),
            "wait_p90_s": float(np.percentile(waits, 90)) if waits.size else float("nan"),
            "ivr_diverted": float(np.isin(ivr, (IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER)).sum()),
            "ivr_hangups": float((ivr == IVR_HANG_UP).sum()),
            "redials": float((mine & arrived & redial).sum()),
        }
        m["abandon_rate"] = metrics._ratio(m["abandoned"], n_off)
        m["callers"] = float(callers.size)
        m["callers_answered_share"] = metrics._ratio(ever_answered[callers].sum(), callers.size)
        out.update({(name, k): v for k, v in m.items()})
    return out


def plain_busy_seconds(scenario, system, calls: Records) -> list[float]:
    lo, hi = scenario.warmup, scenario.horizon
    out = []
    for p in range(len(system.pool_names)):
        served = calls.pool == p
        end = np.where(np.isnan(calls.end[served]), hi, calls.end[served])
        start = np.clip(calls.answer[served], lo, hi)
        out.append(float((np.clip(end, lo, hi) - start).sum()))
    return out


def plain_interval_counts(s, calls: Records, index) -> dict:
    n = int(np.ceil(s.horizon / s.interval))
    offered_mask = metrics._offered_mask(s, calls)
    slot = np.floor(calls.queue_entry / s.interval)
    out = {}
    for c, name in enumerate(CHANNELS):
        if name not in s.channels:
            continue
        offered = offered_mask & (calls.klass == c)
        k = slot[offered].astype(np.int64)
        wait = (calls.answer - calls.queue_entry)[offered]
        answered = ~np.isnan(wait)
        target = s.channels[name].answer_target
        out[name] = {
            "offered": np.bincount(k, minlength=n)[index],
            "answered": np.bincount(k[answered], minlength=n)[index],
            "in_target": np.bincount(k[answered & (wait <= target)], minlength=n)[index],
            "abandoned": np.bincount(k[calls.status[offered] == ABANDONED], minlength=n)[index],
            "wait_sum": np.bincount(k[answered], weights=wait[answered], minlength=n)[index],
        }
    return out


# --- the fast code against them -------------------------------------------------------------


def assert_same(fast: dict, plain: dict) -> None:
    assert list(fast) == list(plain)
    for key, value in plain.items():  # bit for bit, NaN where NaN
        assert np.float64(fast[key]).tobytes() == np.float64(value).tobytes(), key


@pytest.mark.parametrize("order", ["as run", "shuffled"])
def test_channel_metrics_match_the_plain_definitions(rep, order):
    calls = (shuffled(rep) if order == "shuffled" else rep).calls
    assert_same(metrics.channel_metrics(rep.scenario, calls),
                plain_channel_metrics(rep.scenario, calls))


def test_channel_metrics_of_a_records_window_match_the_plain_definitions(rep):
    """A subset in which some callers' earlier or later contacts are missing."""
    calls = shuffled(rep, 1).calls
    for keep in (calls.queue_entry < rep.scenario.horizon / 2, calls.attempt != 1,
                 calls.attempt > 0, np.zeros(len(calls), bool)):
        window = subset(calls, keep)
        assert_same(metrics.channel_metrics(rep.scenario, window),
                    plain_channel_metrics(rep.scenario, window))


def answered_at_warmup(rep) -> Records:
    """The records with a few answered contacts answered exactly at the warm-up's end."""
    calls = Records(**{k: v.copy() for k, v in rep.calls.as_dict().items()})
    rows = np.flatnonzero(calls.pool >= 0)[::97][:20]
    calls.answer[rows] = rep.scenario.warmup
    calls.end[rows] = np.maximum(calls.end[rows], rep.scenario.warmup)
    return calls


def test_pool_busy_time_is_summed_as_the_plain_definition(rep):
    s, system = rep.scenario, rep.inputs.calls
    for calls in (rep.calls, shuffled(rep).calls, answered_at_warmup(rep)):
        pools = metrics.pool_metrics(s, system, calls)
        duty = [metrics._on_duty_seconds(system, p, s.warmup, s.horizon, [s.warmup, s.horizon])[0]
                for p in range(len(system.pool_names))]
        for p, name in enumerate(system.pool_names):
            busy = plain_busy_seconds(s, system, calls)[p]
            assert pools[(f"pool:{name}", "occupancy")] == metrics._ratio(busy, duty[p])
            handled = np.count_nonzero((calls.pool == p) & (calls.answer >= s.warmup))
            assert pools[(f"pool:{name}", "contacts_handled")] == handled


def test_interval_counts_match_the_plain_definitions(rep):
    s = rep.scenario
    table = metrics.interval_table(rep)
    index = np.arange(int(s.warmup // s.interval), int(np.ceil(s.horizon / s.interval)))
    for channel, counts in plain_interval_counts(s, rep.calls, index).items():
        rows = table[table["channel"] == channel].set_index("metric")["value"]
        off, ans = counts["offered"].astype(float), counts["answered"].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = {"offered": off, "answered": ans,
                        "abandoned": counts["abandoned"].astype(float),
                        "service_level": counts["in_target"] / off,
                        "abandon_rate": counts["abandoned"] / off,
                        "asa_s": counts["wait_sum"] / ans}
        for metric, values in expected.items():
            np.testing.assert_array_equal(rows[metric].to_numpy(), values, err_msg=metric)


def test_tables_do_not_depend_on_the_order_of_the_records(rep):
    """On the time grid every sum here is exact, so any row order gives the same tables."""
    other = shuffled(rep, 2)
    pd.testing.assert_frame_equal(metrics.summary_table(other), metrics.summary_table(rep),
                                  check_exact=True)
    pd.testing.assert_frame_equal(metrics.interval_table(other), metrics.interval_table(rep),
                                  check_exact=True)


# --- time integrals: exact path against the event sweep --------------------------------------


def random_spans(rng, on_grid: bool):
    n, width = int(rng.integers(0, 200)), float(rng.choice([1.0, 4.0, 900.0, 2.0**-10]))
    k0, bins = int(rng.integers(0, 4)), int(rng.integers(1, 12))
    horizon = (k0 + bins) * width - float(rng.choice([0.0, width / 4]))
    edges = np.minimum(np.append(np.arange(k0, k0 + bins) * width, (k0 + bins) * width),
                       horizon)
    grid = float(rng.choice([2.0**-20, 1.0, width])) if on_grid else 0.1
    start = np.round(rng.uniform(-width, horizon + width, n) / grid) * grid
    start[rng.random(n) < 0.2] = edges[0] if edges.size else 0.0  # on an edge
    length = np.round(rng.exponential(width * rng.choice([0.1, 1.0, 5.0]), n) / grid) * grid
    length[rng.random(n) < rng.random()] = 0.0
    weight = 1.0 if rng.random() < 0.5 else rng.integers(0, 4, n).astype(float)
    lo = float(rng.choice([0.0, edges[0] + grid]))
    hi = float(rng.choice([horizon, horizon - grid, horizon + width]))
    groups = int(rng.integers(1, 4))
    return start, start + length, weight, rng.integers(0, groups, n), groups, lo, hi, edges


@pytest.mark.parametrize("on_grid", [True, False])
def test_grouped_overlap_equals_the_event_sweep_bit_for_bit(on_grid):
    rng = np.random.default_rng(20180702)
    exact = 0
    for _ in range(400):
        start, end, weight, group, groups, lo, hi, edges = random_spans(rng, on_grid)
        got = spans.grouped_overlap(start, end, weight, group, groups, lo, hi, edges)
        w = np.broadcast_to(np.asarray(weight, float), start.shape)
        for g in range(groups):
            mine = group == g
            want = spans.overlap_by_events(start[mine], end[mine], w[mine], lo, hi, edges)
            assert got[g].tobytes() == want.tobytes()
        exact += spans.exact_overlap(start, end, np.asarray(weight, float),
                                     group.astype(np.intp), groups, lo, hi, edges) is not None
    assert exact > 300 if on_grid else exact < 100  # mostly the fast path on the grid


def test_exact_overlap_declines_what_it_cannot_promise():
    edges, group = np.array([0.0, 10.0, 20.0]), np.zeros(2, np.intp)

    def exact(start, end, weight=1.0):
        return spans.exact_overlap(np.array(start), np.array(end), np.asarray(weight), group, 1,
                                   0.0, 20.0, edges)

    assert exact([1.0, 2.0], [12.0, 3.0]) is not None
    assert exact([0.1, 2.0], [12.0, 3.0]) is None  # off the grid
    assert exact([np.nan, 2.0], [12.0, 3.0]) is None
    assert exact([5.0, 2.0], [4.0, 3.0]) is None  # ends before it starts
    assert exact([1.0, 2.0], [12.0, 3.0], np.array([0.5, 1.0])) is None  # not a whole weight


def test_t_quantile_is_scipy_stats_t_ppf_to_the_bit():
    from scipy import stats

    from contactsim.metrics import t_quantile

    df = np.concatenate([np.arange(1, 400), [1e3, 1e4, 2.5, 17.5]])
    for confidence in (0.8, 0.9, 0.95, 0.99, 0.999):
        np.testing.assert_array_equal(t_quantile(confidence, df),
                                      stats.t.ppf(0.5 + confidence / 2, df))


def test_caller_history_refuses_negative_numbers(rep):
    """The compiled lookup indexes a table by caller and attempt without bounds checks."""
    calls = rep.calls.truncated(50)
    for field in ("caller", "attempt"):
        bad = Records(**calls.as_dict())
        setattr(bad, field, getattr(calls, field).copy())
        getattr(bad, field)[3] = -1
        with pytest.raises(ValueError, match="must not be negative"):
            caller_history(bad, ~np.isnan(bad.answer))
