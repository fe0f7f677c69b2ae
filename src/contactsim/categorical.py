"""Categorical draws: which of k outcomes each of n callers gets, with given probabilities.

``categorical(rng, p, size)`` returns the indices ``rng.choice(len(p), size, p=p)`` returns,
from the same uniform draws, leaving the generator in the same state (``tests/
test_categorical.py``).  numpy's ``choice`` finds each uniform draw in the cumulative
probabilities with a binary search (``cdf.searchsorted(u, side="right")``), whose unpredictable
branches, and its eight-byte indices, cost most of its time.  With a handful of categories,
counting the cumulative probabilities at or below ``u`` gives the same index without a branch,
written in one byte.  A year of Met demand draws some 14 million outcomes and redial channels;
``python benchmarks/profile_year.py`` shows their cost by stream.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numba import njit

UNROLLED = 8  # up to this many categories, the branch-free count (every draw of the Met configs)


def categorical(rng: np.random.Generator, p, size: int) -> np.ndarray:
    """Indices into ``p`` drawn with probabilities ``p``; the values of ``rng.choice``.

    ``size`` is a number of draws (not a shape).  With up to ``UNROLLED`` categories the indices
    come as ``int8`` (a year's outcome codes are written in a single byte anyway, and writing
    eight-byte indices took most of the time); with more, as numpy's ``int64``.  ``p`` is
    checked as ``choice`` checks it.
    """
    size = operator.index(size)
    cdf = _cumulative(p)
    uniform = rng.random(size)
    if cdf.size > UNROLLED:
        return cdf.searchsorted(uniform, side="right").astype(np.int64, copy=False)
    bounds = np.full(UNROLLED, 2.0)  # unused bounds lie above every uniform draw
    bounds[: cdf.size] = cdf
    return _count_at_or_below(bounds, uniform)


def _cumulative(p) -> np.ndarray:
    """The cumulative probabilities ``choice`` searches, after ``choice``'s checks of ``p``.

    The sum is checked against the same tolerance (looser for a float32 array); numpy adds with
    Kahan's method and ``math.fsum`` exactly, which can differ only for sums within a rounding
    of that tolerance."""
    tolerance = np.sqrt(np.finfo(np.float64).eps)
    if isinstance(p, np.ndarray) and np.issubdtype(p.dtype, np.floating):
        tolerance = max(tolerance, np.sqrt(np.finfo(p.dtype).eps))
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"probabilities must be a non-empty 1-D sequence, got shape {p.shape}")
    total = math.fsum(p)
    if math.isnan(total):
        raise ValueError("probabilities contain NaN")
    if np.any(p < 0):
        raise ValueError("probabilities are not non-negative")
    if abs(total - 1.0) > tolerance:
        raise ValueError(f"probabilities do not sum to 1 (sum {total!r})")
    cdf = p.cumsum()
    cdf /= cdf[-1]  # as numpy does: the last bound is exactly 1, above every uniform draw
    return cdf


@njit(cache=True)
def _count_at_or_below(bounds, uniform):
    """For each uniform draw, how many of the eight ``bounds`` are at or below it."""
    out = np.empty(uniform.size, np.int8)
    b0, b1, b2, b3, b4, b5, b6, b7 = bounds[0], bounds[1], bounds[2], bounds[3], bounds[4], \
        bounds[5], bounds[6], bounds[7]
    for i in range(uniform.size):
        u = uniform[i]
        out[i] = (np.int8(b0 <= u) + np.int8(b1 <= u) + np.int8(b2 <= u) + np.int8(b3 <= u)
                  + np.int8(b4 <= u) + np.int8(b5 <= u) + np.int8(b6 <= u) + np.int8(b7 <= u))
    return out
