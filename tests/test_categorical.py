"""categorical() gives numpy's ``Generator.choice`` indices, from the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from contactsim.categorical import UNROLLED, categorical
from contactsim.distributions import Empirical

PROBABILITIES = [
    [1.0],
    [0.0, 0.0, 1.0],
    [0.5, 0.0, 0.2, 0.0, 0.0, 0.3, 0.0],  # zero shares are never drawn, as with choice
    [0.1, 0.2, 0.3, 0.4],
    list(np.random.default_rng(3).dirichlet(np.ones(UNROLLED))),  # every unrolled bound used
    list(np.random.default_rng(4).dirichlet(np.ones(UNROLLED + 5))),  # numpy's search instead
]


@pytest.mark.parametrize("p", PROBABILITIES, ids=lambda p: f"{len(p)}-categories")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_indices_and_generator_state_as_choice(p, seed):
    numpy_rng, ours_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = numpy_rng.choice(len(p), 200_003, p=p)
    got = categorical(ours_rng, p, 200_003)
    np.testing.assert_array_equal(got, expected)
    assert numpy_rng.random() == ours_rng.random()  # the same number of draws consumed


def test_small_draws_fit_a_byte_and_large_ones_keep_numpys_type():
    rng = np.random.default_rng(0)
    assert categorical(rng, [0.5, 0.5], 10).dtype == np.int8
    assert categorical(rng, np.full(UNROLLED + 1, 1 / (UNROLLED + 1)), 10).dtype == np.int64
    assert categorical(rng, [0.5, 0.5], 0).size == 0


def test_uniform_bounds_land_in_the_next_category():
    """A uniform draw equal to a cumulative bound belongs to the category above it
    (``searchsorted(side="right")``); the bound 0.5 is exact in binary."""

    class Fixed:
        def random(self, size):
            return np.array([0.0, 0.25, 0.5, 0.75])[:size]

    np.testing.assert_array_equal(categorical(Fixed(), [0.5, 0.5], 4), [0, 0, 1, 1])


@pytest.mark.parametrize("p, message", [
    ([0.5, 0.6], "do not sum to 1"),
    ([1.5, -0.5], "not non-negative"),
    ([float("nan"), 1.0], "contain NaN"),
    ([float("inf"), 1.0], "do not sum to 1"),
    ([[0.5, 0.5]], "1-D"),
])
def test_bad_probabilities_are_refused_where_numpy_refuses_them(p, message):
    with pytest.raises(ValueError):
        np.random.default_rng(0).choice(len(p), 5, p=p)
    with pytest.raises(ValueError, match=message):
        categorical(np.random.default_rng(0), p, 5)


def test_no_probabilities_at_all_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        categorical(np.random.default_rng(0), [], 5)


def test_single_precision_shares_get_numpys_looser_tolerance():
    """A float32 array summing to 1 + 1e-4 is within float32's tolerance, as numpy allows."""
    p = np.array([0.5, 0.5001], dtype=np.float32)
    expected = np.random.default_rng(0).choice(2, 1000, p=p)
    np.testing.assert_array_equal(categorical(np.random.default_rng(0), p, 1000), expected)
    with pytest.raises(ValueError, match="do not sum to 1"):
        categorical(np.random.default_rng(0), p.astype(np.float64), 1000)


def test_size_is_a_count_not_a_shape():
    with pytest.raises(TypeError):
        categorical(np.random.default_rng(0), [0.5, 0.5], (3, 4))
    assert categorical(np.random.default_rng(0), [0.5, 0.5], np.int64(3)).shape == (3,)


@pytest.mark.parametrize("weights", [None, (1.0, 3.0, 0.0, 2.0)])
def test_empirical_durations_are_numpys_choice_of_the_values(weights):
    values = (30.0, 60.0, 90.0, 600.0)
    sampler = Empirical(values, weights)
    p = None if weights is None else np.array(weights) / sum(weights)
    expected = np.random.default_rng(5).choice(
        np.array(values), 10_000, p=p if p is not None else np.full(4, 0.25))
    got = sampler.sample(10_000, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(got, expected)
