"""Duration distributions: the samplers behind handling times, patience, IVR menu time and delays.

Each sampler is a small frozen object that knows two things:

* how to draw ``size`` values with a generator passed in (``sample(size, rng=...)``), and
* its analytic ``mean`` and ``variance``, so a single generic test can check every sampler.

Planners think in means and variability, so lognormal and gamma are parameterised by ``mean`` and
coefficient of variation ``cv`` rather than by their textbook shape parameters.  All values are
seconds.  Infinite patience (a caller who never hangs up) is :class:`Never`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Sampler(Protocol):
    """What every distribution offers: draws, and the moments a test can check them against."""

    @property
    def mean(self) -> float: ...

    @property
    def variance(self) -> float: ...

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class Exponential:
    """Memoryless durations; the M in M/M/n (Erlang C and A)."""

    mean: float

    @property
    def variance(self) -> float:
        return self.mean**2

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return rng.exponential(self.mean, size)


@dataclass(frozen=True)
class Deterministic:
    """A fixed duration: hand-computed traces and teaching examples."""

    value: float

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return np.full(size, float(self.value))


@dataclass(frozen=True)
class Lognormal:
    """Heavy-tailed handling times, the call-centre norm; parameterised by mean and cv."""

    mean: float
    cv: float

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p(self.cv**2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - 0.5 * self.sigma**2

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    def sample_log(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        """The logarithms of what ``sample`` draws from the same stream: numpy draws a
        lognormal as ``exp`` of this normal variate (see :mod:`contactsim.caller_values`)."""
        return rng.normal(self.mu, self.sigma, size)


@dataclass(frozen=True)
class Gamma:
    """Right-skewed durations lighter-tailed than lognormal; mean and cv (shape = 1/cv²)."""

    mean: float
    cv: float

    @property
    def shape(self) -> float:
        return 1.0 / self.cv**2

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return rng.gamma(self.shape, self.mean / self.shape, size)


@dataclass(frozen=True)
class Weibull:
    """Patience with a rising (shape > 1) or falling (shape < 1) hazard of hanging up."""

    shape: float
    scale: float

    @property
    def mean(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)

    @property
    def variance(self) -> float:
        g1 = math.gamma(1.0 + 1.0 / self.shape)
        g2 = math.gamma(1.0 + 2.0 / self.shape)
        return self.scale**2 * (g2 - g1**2)

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, size)


@dataclass(frozen=True)
class Empirical:
    """Resampling of observed durations, with optional weights."""

    values: tuple[float, ...]
    weights: tuple[float, ...] | None = None

    def _probabilities(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._probabilities(), self.values))

    @property
    def variance(self) -> float:
        p, v = self._probabilities(), np.asarray(self.values, dtype=float)
        return float(np.dot(p, (v - np.dot(p, v)) ** 2))

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        # imported here: it compiles with numba, which validating a config must not load
        from contactsim.categorical import categorical

        values = np.asarray(self.values, dtype=float)
        return values[categorical(rng, self._probabilities(), size)]


@dataclass(frozen=True)
class Never:
    """A duration that never ends: callers who never abandon, online reports that wait forever."""

    @property
    def mean(self) -> float:
        return math.inf

    @property
    def variance(self) -> float:
        return math.nan

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        return np.full(size, np.inf)
