"""Per-caller values drawn for every caller and finished only for the callers a stage reads.

A downstream time (investigation, travel, on scene) is drawn for every caller, from each caller
group's own stream, so that scenarios share their callers' draws (common random numbers).  Only
the callers whose contact becomes a job read theirs: about a tenth for the TDIU and a third for
response officers in a year of Met demand.  So the draws are kept as they come, in caller-group
order, and the last steps — looking a caller up, rounding to the time grid and, for a lognormal,
the exponential — are done for the jobs only.

A lognormal's draws are kept as the normal variates it exponentiates: numpy's
``Generator.lognormal`` is ``exp`` of ``Generator.normal`` with the same arguments, element by
element from the same stream, and the finish here calls the same C library ``exp``, one value at
a time, so the finished values are bit for bit those of drawing lognormals and placing them in
caller order (``tests/test_caller_values.py`` checks them unrounded as well as on the grid).
That holds while numba compiles ``math.exp`` to a call of the C library's scalar ``exp``: with
Intel's vector maths library (SVML) installed, numba may vectorise the loop with SVML's own
``exp``, which can differ in the last bit, so then lognormals are drawn and kept whole
(``EXACT_EXP``).  On a year of Met demand the finish exponentiates about 4 M values where
drawing lognormals took the exponential of 15 M, and it saves three scatters of 5 M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit

from contactsim.system import GRID

# Whether exponentiating in the finish gives numpy's lognormals to the bit (module docstring).
EXACT_EXP = not numba.config.USING_SVML


@dataclass(frozen=True)
class CallerValues:
    """One value per caller, finished on demand.

    ``raw[member[caller]]`` is the caller's draw, or its logarithm if ``exponentiate``: then
    the finish takes its exponential before rounding to the time grid."""

    raw: np.ndarray  # f8[N], in caller-group order
    member: np.ndarray  # int[N], caller -> index in raw
    exponentiate: bool

    @property
    def size(self) -> int:
        return int(self.member.size)

    def at(self, callers) -> np.ndarray:
        """The finished values of ``callers`` (caller indices), in their order."""
        callers = np.ascontiguousarray(callers, dtype=np.int64)
        if callers.size == 0:
            return np.empty(0)
        if callers.min() < 0 or callers.max() >= self.size:  # the loop does not check
            raise IndexError(f"caller indices must lie in [0, {self.size}), got "
                             f"{callers.min()}..{callers.max()}")
        return _finish(self.raw, self.member, callers, self.exponentiate, GRID)

    def values(self) -> np.ndarray:
        """Every caller's finished value, in caller order."""
        return self.at(np.arange(self.size))

    def without_callers(self) -> CallerValues:
        """No callers, the same finish (for a replication that keeps only its structure)."""
        return CallerValues(self.raw[:0].copy(), self.member[:0].copy(), self.exponentiate)


@njit(cache=True)
def _finish(raw, member, callers, exponentiate, grid):
    """``on_grid(exp?(raw[member[callers]]))`` in one pass, with on_grid's arithmetic (``grid``
    is passed in, not read as a global, which a cached compilation would freeze)."""
    out = np.empty(callers.size)
    unscale = 1.0 / grid
    for i in range(callers.size):
        x = raw[member[callers[i]]]
        if exponentiate:
            x = math.exp(x)
        out[i] = np.rint(x * grid) * unscale
    return out
