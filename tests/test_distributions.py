"""Every sampler draws values whose mean and variance are its analytic ones.

The moments are checked on 400,000 draws with a fixed seed, to five standard errors (a
two-sided alpha below 10⁻⁶ by the central limit theorem): the mean's standard error is the
analytic standard deviation over √n, the variance's is estimated from the sample's own fourth
central moment, √((m₄ − s⁴) / n).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from contactsim.distributions import (
    Deterministic,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Never,
    Weibull,
)

N = 400_000
Z = 5.0

FINITE = [
    Exponential(540.0),
    Lognormal(360.0, 0.8),
    Lognormal(2700.0, 0.3),
    Gamma(300.0, 0.5),
    Weibull(1.5, 600.0),
    Weibull(0.8, 600.0),
    Empirical((30.0, 60.0, 600.0), (0.5, 0.3, 0.2)),
    Empirical((10.0, 20.0)),
]


@pytest.mark.parametrize("sampler", FINITE, ids=repr)
def test_sample_moments_are_the_analytic_ones(sampler):
    x = sampler.sample(N, rng=np.random.default_rng(20180701))
    assert x.shape == (N,) and x.dtype == np.float64 and np.all(x >= 0)
    assert abs(x.mean() - sampler.mean) <= Z * math.sqrt(sampler.variance / N)
    s2 = x.var()
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(s2 - sampler.variance) <= Z * math.sqrt((m4 - s2**2) / N)


def test_deterministic_and_never_draw_their_one_value():
    rng = np.random.default_rng(1)
    assert np.all(Deterministic(300.0).sample(5, rng=rng) == 300.0)
    assert Deterministic(300.0).variance == 0.0
    assert np.all(Never().sample(5, rng=rng) == np.inf) and Never().mean == math.inf
