"""Compile time of the fast engine, apart from run time: cold (empty numba cache) and cached.

Each measurement is a fresh interpreter that imports contactsim and runs a 1,000-call system;
the figure is the time of that first run minus a second, warm run in the same process.

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


def measure(cache_dir: str) -> float:
    code = PROBE.format(bench=os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = measure(cache)  # empty cache: numba compiles and writes the cache
        cached = measure(cache)  # same cache: numba loads the machine code
    print(json.dumps({"compile_cold_s": round(cold, 2), "cache_load_s": round(cached, 3)}))


if __name__ == "__main__":
    main()
