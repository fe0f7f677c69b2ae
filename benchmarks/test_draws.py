"""Compiled draws against numpy's, side by side: the same values from the same stream.

Every random number of a run comes from a named PCG64 stream whose ``random``,
``exponential``, ``normal`` and ``lognormal`` are compiled (``contactsim.compiled_generator``).
Each benchmark draws 10⁶ values from a fresh stream, with numpy's ``Generator`` and with the
compiled one, and checks them against each other; the report gives the ratio of the two
minimum times for each kind of draw.  The arrays are allocated in each round either way, as in
a run.

Why compiled: ``python benchmarks/profile_year.py --streams 30`` (its streams table, medians over
three rounds in one process) showed a year's draws taking 0.86-0.95 s of a 3.2-3.3 s year: about
15 ns a value for a normal stream (travel, on scene), 7-11 ns for an exponential (patience,
redial delays), 26 ns for a lognormal (handling).  numpy calls the bit generator through a
function pointer for every value, and its normal ziggurat branches on each value's random sign,
mispredicted half the time.  With the compiled draws the same table showed 0.41 s for all
streams, and ``python benchmarks/year_ab.py bd4f287 --pairs 6`` a year 0.35 s faster (median of
the paired differences; faster in 5 of 6 pairs).
"""

from __future__ import annotations

import numpy as np
import pytest

from contactsim.compiled_generator import CompiledGenerator

VALUES = 1_000_000
DRAWS = {
    "random": (),
    "exponential": (600.0,),
    "normal": (5.8, 0.7),
    "lognormal": (5.8, 0.7),
}
GENERATORS = {"numpy": np.random.Generator, "compiled": CompiledGenerator}


def _draw(make, method, params):
    return getattr(make(np.random.PCG64(2018)), method)(*params, size=VALUES)


@pytest.mark.parametrize("generator", list(GENERATORS))
@pytest.mark.parametrize("method", list(DRAWS))
def test_draws(benchmark, method, generator):
    benchmark.group = f"draws: {method}, 10⁶ values"
    make, params = GENERATORS[generator], DRAWS[method]
    values = benchmark.pedantic(_draw, args=(make, method, params), rounds=20,
                                warmup_rounds=2)
    np.testing.assert_array_equal(values, _draw(np.random.Generator, method, params))
    benchmark.extra_info["values"] = VALUES
