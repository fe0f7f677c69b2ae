"""Compile time apart from run time: cold (empty numba cache) and cached.

Two things are compiled: the fast engine and the compiled random draws
(``contactsim.compiled_generator``).  Each measurement is a fresh interpreter that imports
contactsim and runs a 1,000-call system, or draws 10,000 normal values (enough for the compiled
path); the figure is the time of that first call minus a second, warm call in the same process.
For the draws, numba's own start-up (included in the engine's figure) comes first, untimed, with
a small compiled helper.

    python benchmarks/compile_time.py > results/compile_time.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

PROBE = """
import sys, time
sys.path.insert(0, {bench!r})
from models import two_class_erlang_a
from contactsim import engine
s = two_class_erlang_a(1000)
t = time.perf_counter(); engine.run(s); first = time.perf_counter() - t
t = time.perf_counter(); engine.run(s); warm = time.perf_counter() - t
print(first - warm)
"""
DRAWS_PROBE = """
import time
import numpy as np
from contactsim.categorical import categorical
from contactsim.compiled_generator import CompiledGenerator
categorical(np.random.default_rng(0), [0.5, 0.5], 10)  # numba's own start-up, untimed
g = CompiledGenerator(np.random.PCG64(1))
t = time.perf_counter(); g.normal(size=10_000); first = time.perf_counter() - t
t = time.perf_counter(); g.normal(size=10_000); warm = time.perf_counter() - t
from contactsim import compiled_generator
assert compiled_generator._fill.signatures, "the draws did not take the compiled path"
print(first - warm)
"""


def measure(cache_dir: str, probe: str = PROBE) -> float:
    code = probe.format(bench=os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    figures = {}
    for prefix, probe in (("", PROBE), ("draws_", DRAWS_PROBE)):
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(cache, probe)  # empty cache: numba compiles and writes the cache
            cached = measure(cache, probe)  # same cache: numba loads the machine code
        figures[f"{prefix}compile_cold_s"] = round(cold, 2)
        figures[f"{prefix}cache_load_s"] = round(cached, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
