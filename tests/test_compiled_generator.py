"""The compiled draws are numpy's, bit for bit, and leave the generator where numpy would.

Each check draws from a ``CompiledGenerator`` and a plain ``numpy.random.Generator`` seeded
alike and compares values and bit-generator states.  The samples are large enough to reach the
ziggurats' rare paths (the wedges and the tails, which draw extra uniforms and would shift every
later value if mishandled), and the tail tests assert that they were reached.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba.np.random import _constants as ziggurat

from contactsim import compiled_generator
from contactsim.compiled_generator import CompiledGenerator
from contactsim.rng import stream

SIZE = 200_003  # odd, and big enough for some hundred draws from the slow paths


def _pair(seed):
    sequence = np.random.SeedSequence(seed)
    return (CompiledGenerator(np.random.PCG64(sequence)),
            np.random.Generator(np.random.PCG64(sequence)))


def _same(compiled, plain):
    assert compiled.bit_generator.state == plain.bit_generator.state


CALLS = [
    ("random", {}),
    ("exponential", {"scale": 1.0}),
    ("exponential", {"scale": 30.0}),
    ("exponential", {"scale": 0.0}),
    ("normal", {"loc": 0.0, "scale": 1.0}),
    ("normal", {"loc": 5.8, "scale": 0.7}),
    ("normal", {"loc": -3.0, "scale": 0.0}),
    ("lognormal", {"mean": 5.8, "sigma": 0.7}),
    ("lognormal", {"mean": 0.0, "sigma": 1.0}),
]


@pytest.mark.parametrize("seed", [0, 1, 20180701])
@pytest.mark.parametrize(("method", "params"), CALLS)
def test_draws_are_numpys(method, params, seed):
    if method == "lognormal" and not compiled_generator.EXACT_EXP:
        pytest.skip("lognormals are numpy's own where numba's exp may differ")
    compiled, plain = _pair(seed)
    got = getattr(compiled, method)(size=SIZE, **params)
    want = getattr(plain, method)(size=SIZE, **params)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    _same(compiled, plain)


@pytest.mark.parametrize("size", [0, 1, 2, 7, np.int64(5)])
def test_small_sizes(size):
    compiled, plain = _pair(7)
    for method in ("random", "exponential", "normal", "lognormal"):
        np.testing.assert_array_equal(getattr(compiled, method)(size=size),
                                      getattr(plain, method)(size=size))
        _same(compiled, plain)


def test_tails_are_reached_and_exact():
    """Values beyond the ziggurats' base layer come only from their tail algorithms."""
    compiled, plain = _pair(11)
    normal = compiled.normal(size=2_000_000)
    np.testing.assert_array_equal(normal, plain.normal(size=2_000_000))
    assert np.sum(np.abs(normal) > ziggurat.ziggurat_nor_r) > 100
    assert np.sum(normal > ziggurat.ziggurat_nor_r) > 0 < np.sum(normal < -ziggurat.ziggurat_nor_r)
    exponential = compiled.exponential(size=2_000_000)
    np.testing.assert_array_equal(exponential, plain.exponential(size=2_000_000))
    assert np.sum(exponential > ziggurat.ziggurat_exp_r) > 100


def test_mixed_with_numpys_own_methods():
    """Compiled draws, numpy's draws (some using the 32-bit buffer) and compiled draws again
    follow one stream."""
    compiled, plain = _pair(2024)
    draws = {}
    for gen in (compiled, plain):
        draws[gen] = [
            gen.normal(1.0, 2.0, 1001),
            gen.integers(0, 10, 5, dtype=np.int32),  # leaves half a 64-bit output buffered
            gen.exponential(3.0, 999),
            gen.gamma(2.0, 1.0, 50),
            gen.random(17),
            gen.choice(5, 20, p=[0.1, 0.2, 0.3, 0.2, 0.2]),
            gen.lognormal(0.5, 0.3, 33),
            gen.integers(0, 10, 3, dtype=np.int32),
            gen.normal(size=3),
        ]
    for got, want in zip(draws[compiled], draws[plain]):
        np.testing.assert_array_equal(got, want)
    _same(compiled, plain)


@pytest.mark.parametrize(("method", "args", "kwargs"), [
    ("random", (), {}),  # one value, not an array
    ("random", ((3, 4),), {}),
    ("random", (5,), {"dtype": np.float32}),
    ("exponential", (np.array([1.0, 2.0, 3.0]),), {}),
    ("exponential", (2.0, (2, 3)), {}),
    ("normal", (np.array([0.0, 1.0]), 1.0, 2), {}),
    ("normal", (0.0, np.array([1.0, 2.0])), {}),
    ("lognormal", (0.0, 1.0, (2, 2)), {}),
    ("normal", (), {}),
    ("exponential", (np.nan, 5), {}),  # numpy draws NaNs
    ("normal", (np.inf, 1.0, 5), {}),
])
def test_other_calls_are_numpys(method, args, kwargs):
    compiled, plain = _pair(5)
    np.testing.assert_array_equal(getattr(compiled, method)(*args, **kwargs),
                                  getattr(plain, method)(*args, **kwargs))
    _same(compiled, plain)


def test_random_into_out():
    compiled, plain = _pair(9)
    got, want = np.empty(10), np.empty(10)
    compiled.random(out=got)
    plain.random(out=want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("method", "args"), [
    ("exponential", (-1.0, 5)),
    ("normal", (0.0, -1.0, 5)),
    ("lognormal", (0.0, -1.0, 5)),
    ("random", (-1,)),
])
def test_bad_parameters_are_refused_as_numpy_refuses_them(method, args):
    compiled, plain = _pair(3)
    with pytest.raises(ValueError) as numpy_error:
        getattr(plain, method)(*args)
    with pytest.raises(ValueError) as compiled_error:
        getattr(compiled, method)(*args)
    assert str(compiled_error.value) == str(numpy_error.value)


def test_needs_pcg64():
    with pytest.raises(TypeError, match="PCG64"):
        CompiledGenerator(np.random.MT19937(1))


def test_named_streams_are_compiled_generators():
    rng = stream(1, "patience:101<-101", 0)
    assert isinstance(rng, CompiledGenerator)
    plain = np.random.Generator(np.random.PCG64(rng.bit_generator.seed_seq))
    np.testing.assert_array_equal(rng.exponential(132.0, 1000), plain.exponential(132.0, 1000))
