"""Downstream times finished on demand are, bit for bit, the lognormals numpy would draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contactsim import caller_values
from contactsim.caller_values import CallerValues
from contactsim.config import load
from contactsim.distributions import Exponential, Gamma, Lognormal
from contactsim.inputs import InputSampler
from contactsim.system import on_grid

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mean, cv", [(2700.0, 1.0), (540.0, 0.6), (1e-6, 3.0), (1e307, 1e3)])
def test_finished_logs_are_numpys_lognormals(mean, cv):
    """exp of the kept normal variates equals Generator.lognormal from the same stream, also
    where the values underflow to the grid's zero or overflow to infinity."""
    dist, n = Lognormal(mean, cv), 200_000
    logs = dist.sample_log(n, rng=np.random.default_rng(7))
    with np.errstate(over="ignore"):  # the largest overflow to infinity on the grid
        drawn = on_grid(dist.sample(n, rng=np.random.default_rng(7)))
    member = np.random.default_rng(1).permutation(n)  # callers in another order than draws
    values = CallerValues(logs, member, exponentiate=True)
    callers = np.random.default_rng(2).choice(n, 5_000)
    assert values.at(callers).tobytes() == drawn[member[callers]].tobytes()
    assert values.values().tobytes() == drawn[member].tobytes()
    if mean == 1e-6:
        assert np.count_nonzero(drawn == 0) > n // 2
    if mean == 1e307:
        assert np.count_nonzero(np.isinf(drawn)) > 100


@pytest.mark.skipif(not caller_values.EXACT_EXP, reason="lognormals are kept whole with SVML")
@pytest.mark.parametrize("mean, cv", [(2700.0, 1.0), (540.0, 0.6), (0.05, 0.3)])
def test_the_exponential_itself_is_numpys(mean, cv):
    """Unrounded: a grid of 2**60 ticks a second leaves every value above 2**-8 as it is, so a
    last-bit difference between the finish's exp and numpy's would show here, where rounding
    to the time grid would hide it."""
    dist, n = Lognormal(mean, cv), 200_000
    logs = dist.sample_log(n, rng=np.random.default_rng(11))
    drawn = dist.sample(n, rng=np.random.default_rng(11))
    assert drawn.min() > 2.0**-8
    member = np.random.default_rng(4).permutation(n)
    callers = np.random.default_rng(5).choice(n, 50_000)
    exact = caller_values._finish(logs, member, callers, True, 2.0**60)
    assert exact.tobytes() == drawn[member[callers]].tobytes()


def test_callers_outside_the_values_are_refused():
    values = CallerValues(np.ones(3), np.arange(3), exponentiate=True)
    for callers in ([3], [-1], np.array([0, 7], np.int32)):
        with pytest.raises(IndexError, match=r"\[0, 3\)"):
            values.at(callers)
    assert values.at([]).size == 0
    assert values.at(np.array([2, 0])).tolist() == on_grid(np.array([np.e, np.e])).tolist()


def test_lognormals_are_kept_whole_where_the_exp_may_not_be_numpys(monkeypatch):
    """With SVML the finish's exp could differ from numpy's: the draws are then lognormals."""
    from contactsim import inputs

    scenario = load(ROOT / "configs" / "met-2018-09.yaml", ["horizon_days=2"]).scenario
    draw = InputSampler(scenario, 0).draw
    dist = Lognormal(2700.0, 1.0)
    monkeypatch.setattr(inputs, "EXACT_EXP", False)
    kept = draw.downstream("tdiu", dist, draw.members())
    assert not kept.exponentiate and kept.raw.min() > 0
    monkeypatch.undo()
    draw = InputSampler(scenario, 0).draw
    logs = draw.downstream("tdiu", dist, draw.members())
    assert logs.exponentiate == caller_values.EXACT_EXP
    assert kept.values().tobytes() == logs.values().tobytes()


def test_values_kept_as_drawn_are_rounded_to_the_grid_only():
    raw = Gamma(300.0, 0.5).sample(1_000, rng=np.random.default_rng(3))
    raw[:3] = np.inf, np.nan, 0.0
    member = np.arange(raw.size)[::-1].copy()
    values = CallerValues(raw, member, exponentiate=False)
    np.testing.assert_array_equal(values.values(), on_grid(raw[member]))
    assert values.at(np.array([raw.size - 1, raw.size - 2, raw.size - 3], np.int32)).tolist()[
        0] == np.inf


@pytest.mark.parametrize("dist", [Lognormal(2700.0, 1.0), Exponential(540.0)])
def test_a_scenarios_downstream_times_are_its_placed_draws(dist):
    """Every caller's value equals drawing the group's values with ``sample`` and placing them
    in caller order, as the per-caller attributes of call handling are."""
    scenario = load(ROOT / "configs" / "met-2018-09.yaml", ["horizon_days=3"]).scenario
    placed = InputSampler(scenario, 0).draw.per_caller("tdiu", None, dist.sample, np.nan,
                                                       grid=True)
    draw = InputSampler(scenario, 0).draw
    finished = draw.downstream("tdiu", dist, draw.members())
    assert len(draw.groups) > 1  # more than one group, so the caller order differs
    assert finished.values().tobytes() == placed.tobytes()


def test_without_callers_keeps_the_finish():
    values = CallerValues(np.ones(4), np.arange(4), exponentiate=True).without_callers()
    assert values.size == 0 and values.exponentiate and values.values().size == 0
