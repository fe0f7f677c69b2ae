"""Arrival sampling: numpy's arithmetic bit for bit, and a Poisson process with the intended rates.

The compiled passes of :mod:`contactsim.arrivals` replaced numpy's ``cumsum``, ``interp`` and
``on_grid``; each is compared here with the numpy expression it stands for.  The statistical
tests draw a week with a fixed seed and compare counts with their Poisson expectations at an
explicit alpha of 10⁻⁶.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import chdtri

from contactsim import arrivals
from contactsim.arrivals import BLOCK, sample_arrivals
from contactsim.system import on_grid

ALPHA = 1e-6


def _numpys_unit_rate_process(total, rng):
    """The unit-rate points as numpy's cumulative sums make them (the former implementation)."""
    blocks, reached = [], 0.0
    while reached < total:
        block = reached + np.cumsum(rng.exponential(1.0, BLOCK))
        blocks.append(block)
        reached = float(block[-1])
    points = np.concatenate(blocks) if blocks else np.zeros(0)
    return points[points < total]


@pytest.mark.parametrize("total", [0.0, 0.5, 10.0, BLOCK - 0.5, 3.5 * BLOCK, 2e6])
def test_unit_rate_points_are_numpys_sums(total):
    got = arrivals._unit_rate_process(total, np.random.default_rng(9))
    want = _numpys_unit_rate_process(total, np.random.default_rng(9))
    assert got.tobytes() == want.tobytes()


def _knots(seed, n, zero_share):
    """Cumulative expected counts with some zero-rate intervals, and their interval edges with
    the last ones cut at a horizon (so the times repeat too)."""
    rng = np.random.default_rng(seed)
    expected = rng.exponential(3.0, n) * (rng.random(n) > zero_share)
    cumulative = np.concatenate([[0.0], np.cumsum(expected)])
    edges = np.minimum(np.arange(n + 1) * 900.0, (n - 2.5) * 900.0)
    return cumulative, edges


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("zero_share", [0.0, 0.3, 0.9])
def test_the_inverse_is_numpys_interp_rounded_to_the_grid(seed, zero_share):
    xp, fp = _knots(seed, 500, zero_share)
    rng = np.random.default_rng(seed + 100)
    x = np.sort(np.concatenate([
        rng.uniform(-5.0, xp[-1] + 5.0, 20_000),  # below, inside and beyond the knots
        xp, xp[rng.integers(0, xp.size, 300)],  # exactly at knots, some repeated
        [0.0, xp[-1], np.nextafter(xp[-1], 0.0)],
    ]))
    got = np.empty(x.size)
    arrivals._interp_on_grid(x, xp, fp, arrivals.GRID, got)
    assert got.tobytes() == on_grid(np.interp(x, xp, fp)).tobytes()


def test_the_sums_keep_numpys_signed_zeros():
    gaps = np.array([-0.0, -0.0, 0.0, -0.0])
    want = -0.0 + np.cumsum(gaps)
    assert arrivals._accumulate(gaps, -0.0) == want[-1]
    assert gaps.tobytes() == want.tobytes()


@pytest.mark.parametrize("x", [
    [0.5, np.nan, np.nan],  # NaNs sort last
    [-np.inf, 0.0, 1.0, np.inf],
    [0.25],  # fewer points than knots: numpy works its slopes out point by point
])
@pytest.mark.parametrize("xp", [[0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 3.0], [0.0]])
def test_the_inverse_is_numpys_at_the_edges(x, xp):
    x, xp = np.array(x), np.array(xp)
    fp = np.arange(xp.size) * 900.0
    got = np.empty(x.size)
    arrivals._interp_on_grid(x, xp, fp, arrivals.GRID, got)
    assert got.tobytes() == on_grid(np.interp(x, xp, fp)).tobytes()


def test_infinite_demand_is_refused():
    with pytest.raises(ValueError, match="finite number, not inf"):
        sample_arrivals(np.array([1.0, np.inf]), INTERVAL, 2 * INTERVAL,
                        rng=np.random.default_rng(0))


def test_a_knot_repeated_at_the_start_maps_like_numpys():
    xp, fp = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 5.0]), np.array([0.0, 900.0, 1800.0, 2700.0,
                                                                   3600.0, 4500.0])
    x = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 5.0])
    got = np.empty(x.size)
    arrivals._interp_on_grid(x, xp, fp, arrivals.GRID, got)
    assert got.tobytes() == on_grid(np.interp(x, xp, fp)).tobytes()


# --- the process ---------------------------------------------------------------------------

INTERVAL = 900.0
HORIZON = 7 * 86400.0


def _week_rates():
    """Expected arrivals per 15 minutes: a daily cycle, and nights with none at all."""
    hours = (np.arange(int(HORIZON / INTERVAL)) * INTERVAL % 86400) // 3600
    return np.where(hours < 5, 0.0, 20.0 + 15.0 * np.sin(hours / 24 * 2 * np.pi))


def test_arrivals_are_sorted_on_the_grid_and_inside_the_horizon():
    times = sample_arrivals(_week_rates(), INTERVAL, HORIZON, rng=np.random.default_rng(5))
    assert times.size > 0 and np.all(np.diff(times) >= 0)
    assert times.tobytes() == on_grid(times).tobytes()
    assert times[0] >= 0.0 and times[-1] <= HORIZON  # rounding may reach the horizon itself


def test_no_arrivals_fall_where_the_rate_is_zero():
    times = sample_arrivals(_week_rates(), INTERVAL, HORIZON, rng=np.random.default_rng(6))
    assert np.all((times % 86400) >= 5 * 3600)


def test_counts_per_hour_are_poisson_with_the_expected_means():
    """Pearson's dispersion statistic over the week's hours with demand, against the
    chi-squared quantile at 1 - alpha; and the total within the Poisson quantile's normal
    bound."""
    expected = _week_rates()
    times = sample_arrivals(expected, INTERVAL, HORIZON, rng=np.random.default_rng(20180701))
    per_hour = expected.reshape(-1, 4).sum(axis=1)
    observed = np.bincount((times // 3600).astype(np.int64), minlength=per_hour.size)
    busy = per_hour > 0
    assert observed[~busy].sum() == 0
    statistic = np.sum((observed[busy] - per_hour[busy]) ** 2 / per_hour[busy])
    assert statistic < chdtri(busy.sum(), ALPHA)  # known means: one degree of freedom each
    assert abs(times.size - expected.sum()) < 4.9 * np.sqrt(expected.sum())  # z at ALPHA
