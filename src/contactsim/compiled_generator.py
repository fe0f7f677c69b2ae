"""numpy's random generator with its busiest draws compiled: the same values, bit for bit, faster.

Every random number contactsim draws comes from a named PCG64 stream (:mod:`contactsim.rng`).
A year of Met demand draws some 73 million values (``python benchmarks/profile_year.py``), nearly
all of them normal (lognormal handling and downstream times), exponential (patience, redial
delays, arrivals) or uniform (decisions and categorical draws).  numpy draws each value through
a function pointer to the bit generator, and its normal sampler branches on each variate's
random sign.

:class:`CompiledGenerator` is a numpy ``Generator`` whose ``random``, ``exponential``,
``normal`` and ``lognormal`` run numpy's own algorithms compiled with numba: PCG64's step (a
128-bit multiply-add, written as LLVM IR because numba has no 128-bit integer) and its output
inlined into numpy's ziggurat samplers, with a normal variate's sign applied by a multiplication
by ±1 rather than a branch (exact either way).  They return numpy's values bit for bit and leave
the bit generator in the state numpy would, so every other method (``gamma``, ``weibull``,
``choice``...) and every later draw carries on as with numpy: ``tests/
test_compiled_generator.py`` compares them over seeds, parameters, sizes and mixed call
sequences.  ``pytest benchmarks/test_draws.py`` times each kind of draw against numpy's.

The ziggurat tables are numpy's, as numba carries them for its own ``np.random`` support.  The
samplers call the C library's ``exp`` and ``log1p``, as numpy's do; where numba could take them
from Intel's SVML instead (:mod:`contactsim.caller_values`), every draw is left to numpy.  So are
calls outside the compiled path: no ``size``, a shape, array parameters, ``out=``, another
``dtype``, parameters numpy would refuse, and fewer than ``SMALL`` values, where reading and
writing the bit generator's state through numpy's Python dictionary would cost more than the
faster draws save.  A pickled or copied generator comes back as a ``CompiledGenerator``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numba.np.random import _constants as ziggurat

from contactsim.caller_values import EXACT_EXP

# PCG64's multiplier (numpy's pcg64.h, PCG_DEFAULT_MULTIPLIER_128)
MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
_LOW64 = (1 << 64) - 1

# numpy's ziggurat tables (distributions.c), as unsigned integers where numpy compares integers
_WI, _KI, _FI = ziggurat.wi_double, ziggurat.ki_double.astype(np.uint64), ziggurat.fi_double
_WE, _KE, _FE = ziggurat.we_double, ziggurat.ke_double.astype(np.uint64), ziggurat.fe_double
_NOR_R, _NOR_INV_R, _EXP_R = ziggurat.ziggurat_nor_r, ziggurat.ziggurat_nor_inv_r, \
    ziggurat.ziggurat_exp_r
_DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2**-53: a 53-bit integer to a double in [0, 1)

COMPILED = EXACT_EXP  # whether the compiled samplers' exp and log1p are the C library's
SMALL = 1024  # fewer values than this are drawn by numpy (module docstring)


# --- PCG64 ---------------------------------------------------------------------------------


@intrinsic
def _step(typingctx, state_hi, state_lo, inc_hi, inc_lo):
    """PCG64's state transition: ``state * MULTIPLIER + inc`` modulo 2**128, as (hi, lo)."""
    u64 = types.uint64
    signature = types.UniTuple(u64, 2)(u64, u64, u64, u64)

    def codegen(context, builder, sig, args):
        i128 = ir.IntType(128)
        wide = ir.Constant(i128, 64)

        def join(hi, lo):
            return builder.or_(builder.shl(builder.zext(hi, i128), wide), builder.zext(lo, i128))

        state = builder.add(builder.mul(join(args[0], args[1]), ir.Constant(i128, MULTIPLIER)),
                            join(args[2], args[3]))
        hi = builder.trunc(builder.lshr(state, wide), ir.IntType(64))
        lo = builder.trunc(state, ir.IntType(64))
        return context.make_tuple(builder, sig.return_type, (hi, lo))

    return signature, codegen


@njit(inline="always")
def _next_uint64(s_hi, s_lo, i_hi, i_lo):
    """One step of the stream: the new state and its output (XSL-RR: xor the halves, rotate)."""
    s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
    x = s_hi ^ s_lo
    rot = s_hi >> np.uint64(58)
    return s_hi, s_lo, (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(inline="always")
def _next_double(s_hi, s_lo, i_hi, i_lo):
    """A uniform double in [0, 1): the output's top 53 bits (below 2**53, so the signed
    conversion, which x86 does in one instruction, is exact)."""
    s_hi, s_lo, r = _next_uint64(s_hi, s_lo, i_hi, i_lo)
    return s_hi, s_lo, np.int64(r >> np.uint64(11)) * _DOUBLE_UNIT


# --- numpy's samplers (numpy/random/src/distributions/distributions.c) ---------------------


@njit(inline="always")
def _standard_normal(s_hi, s_lo, i_hi, i_lo):
    """``random_standard_normal``: the ziggurat, 256 layers."""
    while True:
        s_hi, s_lo, r = _next_uint64(s_hi, s_lo, i_hi, i_lo)
        idx = r & np.uint64(0xFF)
        r >>= np.uint64(8)
        sign = r & np.uint64(1)
        rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        # numpy negates when the sign bit is set; multiplying by -1.0 negates exactly, and a
        # branch on a random bit is mispredicted half the time
        x = np.int64(rabs) * _WI[idx] * (1.0 - 2.0 * np.int64(sign))
        if rabs < _KI[idx]:
            return s_hi, s_lo, x
        if idx == 0:  # the tail beyond the base layer
            while True:
                s_hi, s_lo, u1 = _next_double(s_hi, s_lo, i_hi, i_lo)
                s_hi, s_lo, u2 = _next_double(s_hi, s_lo, i_hi, i_lo)
                xx = -_NOR_INV_R * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & np.uint64(1):
                        return s_hi, s_lo, -(_NOR_R + xx)
                    return s_hi, s_lo, _NOR_R + xx
        else:
            s_hi, s_lo, u = _next_double(s_hi, s_lo, i_hi, i_lo)
            if (_FI[idx - 1] - _FI[idx]) * u + _FI[idx] < math.exp(-0.5 * x * x):
                return s_hi, s_lo, x


@njit(inline="always")
def _standard_exponential(s_hi, s_lo, i_hi, i_lo):
    """``random_standard_exponential``: the ziggurat, 256 layers."""
    while True:
        s_hi, s_lo, r = _next_uint64(s_hi, s_lo, i_hi, i_lo)
        r >>= np.uint64(3)
        idx = r & np.uint64(0xFF)
        r >>= np.uint64(8)
        x = np.int64(r) * _WE[idx]
        if r < _KE[idx]:
            return s_hi, s_lo, x
        s_hi, s_lo, u = _next_double(s_hi, s_lo, i_hi, i_lo)
        if idx == 0:
            return s_hi, s_lo, _EXP_R - math.log1p(-u)
        if (_FE[idx - 1] - _FE[idx]) * u + _FE[idx] < math.exp(-x):
            return s_hi, s_lo, x


# --- filling an array: the state comes in and goes back as uint64[4] (hi, lo, inc hi, lo) ---

# the kinds of draw, as the fill loop's switch
UNIFORM, EXPONENTIAL, NORMAL, LOGNORMAL = range(4)


@njit(cache=True, nogil=True)
def _fill(state, out, kind, loc, scale):
    """``out[:] =`` draws of ``kind``: ``loc + scale * x`` for a normal (its ``exp`` for a
    lognormal), ``scale * x`` for an exponential, ``x`` for a uniform."""
    s_hi, s_lo, i_hi, i_lo = state[0], state[1], state[2], state[3]
    if kind == UNIFORM:
        for k in range(out.size):
            s_hi, s_lo, u = _next_double(s_hi, s_lo, i_hi, i_lo)
            out[k] = u
    elif kind == EXPONENTIAL:
        for k in range(out.size):
            s_hi, s_lo, x = _standard_exponential(s_hi, s_lo, i_hi, i_lo)
            out[k] = scale * x
    elif kind == NORMAL:
        for k in range(out.size):
            s_hi, s_lo, x = _standard_normal(s_hi, s_lo, i_hi, i_lo)
            out[k] = loc + scale * x
    else:
        for k in range(out.size):
            s_hi, s_lo, x = _standard_normal(s_hi, s_lo, i_hi, i_lo)
            out[k] = math.exp(loc + scale * x)
    state[0], state[1] = s_hi, s_lo


# --- the generator -------------------------------------------------------------------------


def _compiles(size) -> bool:
    """Whether a draw of ``size`` takes the compiled path: a plain number of values (its only
    shape), at least ``SMALL``, where numba's ``exp`` is the C library's."""
    return (COMPILED and isinstance(size, numbers.Integral) and not isinstance(size, bool)
            and size >= SMALL)


def _number(value) -> bool:
    """Whether ``value`` is a finite real scalar, which numpy accepts as a location."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _scale(value) -> bool:
    """Whether ``value`` is a finite real scalar numpy accepts as a scale: its sign bit clear
    (numpy refuses -0.0 too)."""
    return _number(value) and math.copysign(1.0, value) > 0


class CompiledGenerator(np.random.Generator):
    """A ``numpy.random.Generator`` on a PCG64 bit generator whose ``random``,
    ``exponential``, ``normal`` and ``lognormal`` draws of ``SMALL`` or more values are compiled
    (same values, same state afterwards); everything else is numpy's."""

    def __init__(self, bit_generator: np.random.PCG64):
        if not isinstance(bit_generator, np.random.PCG64):
            raise TypeError(f"CompiledGenerator needs a PCG64 bit generator, "
                            f"got {type(bit_generator).__name__}")
        super().__init__(bit_generator)

    def __reduce__(self):  # numpy's rebuilds a plain Generator
        return type(self), (self.bit_generator,)

    def _draw(self, size: int, kind: int, loc: float = 0.0, scale: float = 1.0) -> np.ndarray:
        out = np.empty(int(size))
        with self.bit_generator.lock:  # as numpy's own draws hold it
            saved = self.bit_generator.state
            state, inc = saved["state"]["state"], saved["state"]["inc"]
            words = np.array([state >> 64, state & _LOW64, inc >> 64, inc & _LOW64], np.uint64)
            _fill(words, out, kind, float(loc), float(scale))
            saved["state"]["state"] = (int(words[0]) << 64) | int(words[1])
            self.bit_generator.state = saved  # numpy's 32-bit buffer is left as it was
        return out

    def random(self, size=None, dtype=np.float64, out=None):
        if _compiles(size) and out is None and np.dtype(dtype) == np.float64:
            return self._draw(size, UNIFORM)
        return super().random(size, dtype, out)

    def exponential(self, scale=1.0, size=None):
        if _compiles(size) and _scale(scale):
            return self._draw(size, EXPONENTIAL, scale=scale)
        return super().exponential(scale, size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        if _compiles(size) and _number(loc) and _scale(scale):
            return self._draw(size, NORMAL, loc, scale)
        return super().normal(loc, scale, size)

    def lognormal(self, mean=0.0, sigma=1.0, size=None):
        if _compiles(size) and _number(mean) and _scale(sigma):
            return self._draw(size, LOGNORMAL, mean, sigma)
        return super().lognormal(mean, sigma, size)
