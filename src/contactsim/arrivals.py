"""Arrivals: non-homogeneous Poisson demand from a daily volume, a weekly profile and the season.

The arrival rate of a channel is piecewise constant over the scenario's intervals (15 minutes by
default): ``daily_volume × month_factor(month) × weekly_shape(weekday, hour)``, where the weekly
shape has mean 1 over the week, so ``daily_volume`` stays the mean contacts per day.

Sampling inverts the cumulative rate: a unit-rate Poisson process ``E_1 < E_2 < ...`` (sums of
standard exponentials, drawn in fixed blocks) is mapped through ``Λ⁻¹``, the inverse of the
expected number of arrivals by time ``t``.  This is exact for a piecewise-constant rate, and it
keeps common random numbers strong: in two scenarios whose rates differ, the k-th caller of a
channel arrives at nearly the same time in both, so every per-caller draw stays paired.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

from contactsim.schema import ChannelSpec, Profile
from contactsim.system import GRID


def weekly_shape(profile: Profile) -> np.ndarray:
    """7×24 relative rates (Monday first), normalised to mean 1."""
    if profile.weekly is not None:
        shape = np.asarray(profile.weekly, dtype=float)
    else:
        hours = np.asarray(profile.hour_of_day or [1.0] * 24, dtype=float)
        days = np.asarray(profile.day_of_week or [1.0] * 7, dtype=float)
        shape = np.outer(days / days.mean(), hours / hours.mean())
    return shape / shape.mean()


def interval_rates(
    spec: ChannelSpec, start: dt.date, horizon: float, interval: float
) -> np.ndarray:
    """Expected contacts in each interval of the horizon (the last may be cut short)."""
    starts = np.arange(int(np.ceil(horizon / interval))) * interval
    day = (starts // 86400).astype(np.int64)
    dates = np.datetime64(start, "D") + day
    weekday = (day + start.weekday()) % 7
    hour = ((starts % 86400) // 3600).astype(np.int64)
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    month_factor = np.array([spec.month_factor.get(m, 1.0) for m in range(1, 13)])
    per_second = spec.daily_volume / 86400.0
    widths = np.minimum(interval, horizon - starts)
    return per_second * widths * weekly_shape(spec.profile)[weekday, hour] * month_factor[
        months - 1
    ]


BLOCK = 65_536  # unit-rate arrivals drawn per block; fixed so the draws do not depend on totals


def _unit_rate_process(total: float, rng: np.random.Generator) -> np.ndarray:
    """Points of a unit-rate Poisson process on [0, total)."""
    blocks, reached = [], 0.0
    while reached < total:
        block = rng.exponential(1.0, BLOCK)
        reached = _accumulate(block, reached)
        blocks.append(block)
    points = np.concatenate(blocks) if blocks else np.zeros(0)
    return points[: np.searchsorted(points, total)]  # the points rise: those below total


def sample_arrivals(
    expected: np.ndarray, interval: float, horizon: float, *, rng: np.random.Generator
) -> np.ndarray:
    """Sorted arrival times for the given expected count per interval: drawn in [0, horizon)
    and rounded to the time grid (:func:`contactsim.system.on_grid`), which may carry the
    last to the horizon itself (the engines leave an arrival at the horizon out)."""
    edges = np.minimum(np.arange(len(expected) + 1) * interval, horizon)
    cumulative = np.concatenate([[0.0], np.cumsum(expected)])
    if not np.isfinite(cumulative[-1]):
        raise ValueError(f"the expected arrivals must add up to a finite number, "
                         f"not {cumulative[-1]}")
    unit = _unit_rate_process(float(cumulative[-1]), rng)
    times = np.empty(unit.size)
    _interp_on_grid(unit, cumulative, edges, GRID, times)
    return times


# The unit-rate points' sums and their mapping through the inverse were numpy's cumsum, interp
# and on_grid, six passes over a year's 5 M arrivals; these loops make two, with the same
# arithmetic, so the same bits (tests/test_arrivals.py compares them with numpy's).


@njit(cache=True)
def _accumulate(gaps, reached):
    """``gaps[:] = reached + cumsum(gaps)`` (numpy's sequential sum, then one addition);
    returns the last point, or ``reached`` if there are none."""
    total = -0.0  # numpy's sum starts from the first value itself: -0.0 + x is x, even -0.0
    last = reached
    for i in range(gaps.size):
        total += gaps[i]
        last = reached + total
        gaps[i] = last
    return last


@njit(cache=True)
def _interp_on_grid(x, xp, fp, grid, out):
    """``out[:] = on_grid(np.interp(x, xp, fp))`` for ascending ``x`` (NaNs last) and at
    least one knot: numpy's interpolation (the last knot at or below each point, exact values
    at knots, numpy's fallbacks where the slope overflows), its knots found by walking
    forward instead of by bisection."""
    unscale = 1.0 / grid
    last = xp.size - 1
    j = 0
    for i in range(x.size):
        v = x[i]
        while j < last and xp[j + 1] <= v:
            j += 1
        if np.isnan(v) and last > 0:  # numpy: NaN, but one knot's value for everything
            y = v
        elif v < xp[0]:
            y = fp[0]
        elif v > xp[last]:
            y = fp[last]
        elif j == last or xp[j] == v:
            y = fp[j]
        else:
            slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
            y = slope * (v - xp[j]) + fp[j]
            if np.isnan(y):
                y = slope * (v - xp[j + 1]) + fp[j + 1]
                if np.isnan(y) and fp[j] == fp[j + 1]:
                    y = fp[j]
        out[i] = np.rint(y * grid) * unscale
