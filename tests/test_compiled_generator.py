"""The compiled draws are numpy's, bit for bit, and leave the generator where numpy would.

Each check draws from a ``CompiledGenerator`` and a plain ``numpy.random.Generator`` seeded
alike and compares values and bit-generator states.  The samples are large enough to reach the
ziggurats' rare paths (the wedges and the tails, which draw extra uniforms and would shift every
later value if mishandled), and the tail tests assert that they were reached.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from numba.np.random import _constants as ziggurat

from contactsim import compiled_generator
from contactsim.compiled_generator import SMALL, CompiledGenerator
from contactsim.rng import stream

SIZE = 200_003  # odd, and big enough for some hundred draws from the slow paths

pytestmark = pytest.mark.skipif(not compiled_generator.COMPILED,
                                reason="numba may take exp from SVML: every draw is numpy's")


@pytest.fixture
def compiled_calls(monkeypatch):
    """How many times the compiled loop ran: each test says which path its calls must take."""
    calls = []
    fill = compiled_generator._fill

    def counting(*args):
        calls.append(args[2])
        return fill(*args)

    monkeypatch.setattr(compiled_generator, "_fill", counting)
    return calls


def _pair(seed):
    sequence = np.random.SeedSequence(seed)
    return (CompiledGenerator(np.random.PCG64(sequence)),
            np.random.Generator(np.random.PCG64(sequence)))


def _same(compiled, plain):
    assert compiled.bit_generator.state == plain.bit_generator.state


def _equal(got, want):
    """The same values, of the same type, dtype and shape."""
    assert type(got) is type(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)


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
def test_draws_are_numpys(method, params, seed, compiled_calls):
    compiled, plain = _pair(seed)
    _equal(getattr(compiled, method)(size=SIZE, **params),
           getattr(plain, method)(size=SIZE, **params))
    _same(compiled, plain)
    assert len(compiled_calls) == 1


@pytest.mark.parametrize(("size", "compiled_path"), [
    (0, False), (1, False), (7, False), (SMALL - 1, False), (SMALL, True), (SMALL + 1, True),
    (np.int64(SMALL), True),
])
def test_sizes(size, compiled_path, compiled_calls):
    """A few values cost more to compile-draw than to draw with numpy: they go to numpy."""
    compiled, plain = _pair(7)
    for method in ("random", "exponential", "normal", "lognormal"):
        _equal(getattr(compiled, method)(size=size), getattr(plain, method)(size=size))
        _same(compiled, plain)
    assert len(compiled_calls) == (4 if compiled_path else 0)


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


def test_mixed_with_numpys_own_methods(compiled_calls):
    """Compiled draws, numpy's draws (some leaving half a 64-bit output in numpy's 32-bit
    buffer, which the compiled draws must keep) and compiled draws again follow one stream."""
    compiled, plain = _pair(2024)
    draws = {}
    for gen in (compiled, plain):
        draws[gen] = [
            gen.normal(1.0, 2.0, 5001),
            gen.integers(0, 10, 5, dtype=np.int32),
            gen.exponential(3.0, 2999),
            gen.gamma(2.0, 1.0, 50),
            gen.random(1500),
            gen.choice(5, 20, p=[0.1, 0.2, 0.3, 0.2, 0.2]),
            gen.lognormal(0.5, 0.3, 3333),
            gen.integers(0, 10, 2, dtype=np.int32),  # the buffered half first
            gen.normal(size=SMALL),
        ]
        assert gen.bit_generator.state["has_uint32"] == 1  # odd counts leave a half buffered
    for got, want in zip(draws[compiled], draws[plain]):
        _equal(got, want)
    _same(compiled, plain)
    assert len(compiled_calls) == 5


@pytest.mark.parametrize(("method", "args", "kwargs"), [
    ("random", (), {}),  # one value, not an array
    ("random", ((3, 4),), {}),
    ("random", (SIZE,), {"dtype": np.float32}),
    ("exponential", (np.ones(SIZE),), {}),
    ("exponential", (2.0, (2, SIZE)), {}),
    ("normal", (np.zeros(SIZE), 1.0, SIZE), {}),
    ("normal", (0.0, np.ones(SIZE)), {}),
    ("lognormal", (0.0, 1.0, (2, SIZE)), {}),
    ("lognormal", (np.array(0.0), 1.0, SIZE), {}),  # a 0-d array is not a scalar here
    ("normal", (), {}),
    ("exponential", (np.nan, SIZE), {}),  # numpy draws NaNs
    ("normal", (np.inf, 1.0, SIZE), {}),
])
def test_other_calls_are_numpys(method, args, kwargs, compiled_calls):
    compiled, plain = _pair(5)
    _equal(getattr(compiled, method)(*args, **kwargs), getattr(plain, method)(*args, **kwargs))
    _same(compiled, plain)
    assert not compiled_calls


def test_random_into_out(compiled_calls):
    compiled, plain = _pair(9)
    got, want = np.empty(SIZE), np.empty(SIZE)
    compiled.random(out=got)
    plain.random(out=want)
    np.testing.assert_array_equal(got, want)
    _same(compiled, plain)
    assert not compiled_calls


@pytest.mark.parametrize(("method", "args"), [
    ("exponential", (-1.0, SIZE)),
    ("normal", (0.0, -1.0, SIZE)),
    ("lognormal", (0.0, -1.0, SIZE)),
    ("exponential", (-0.0, SIZE)),  # numpy looks at the sign bit
    ("normal", (0.0, np.float64(-0.0), SIZE)),
    ("lognormal", (0.0, -0.0, SIZE)),
    ("random", (-1,)),
])
def test_bad_parameters_are_refused_as_numpy_refuses_them(method, args):
    compiled, plain = _pair(3)
    with pytest.raises(ValueError) as numpy_error:
        getattr(plain, method)(*args)
    with pytest.raises(ValueError) as compiled_error:
        getattr(compiled, method)(*args)
    assert str(compiled_error.value) == str(numpy_error.value)


@pytest.mark.parametrize("copy", [lambda g: pickle.loads(pickle.dumps(g)), copy.deepcopy])
def test_copies_stay_compiled_and_carry_on(copy, compiled_calls):
    compiled, plain = _pair(13)
    compiled.normal(size=SMALL)
    plain.normal(size=SMALL)
    twin = copy(compiled)
    assert type(twin) is CompiledGenerator
    _equal(twin.normal(size=SIZE), plain.normal(size=SIZE))
    assert len(compiled_calls) == 2


def test_needs_pcg64():
    with pytest.raises(TypeError, match="PCG64"):
        CompiledGenerator(np.random.MT19937(1))


def test_named_streams_are_compiled_generators():
    rng = stream(1, "patience:101<-101", 0)
    assert isinstance(rng, CompiledGenerator)
    plain = np.random.Generator(np.random.PCG64(rng.bit_generator.seed_seq))
    np.testing.assert_array_equal(rng.exponential(132.0, 1000), plain.exponential(132.0, 1000))
