"""Where the kernel's time goes: ``perf`` samples of the two-class benchmark, by code region.

    python benchmarks/profile_kernel.py [--rounds 20]

Runs itself under ``perf record -e cpu-clock`` (a software clock, so it works where hardware
counters are unavailable, as in most virtual machines) and sorts the samples taken while the
engine runs into: the compiled event loop itself, other numba-compiled code (runtime helpers
such as the reference-count functions ``NRT_incref``/``NRT_decref``), and everything else
(Python, numpy, the operating system).  numba's code has no symbols ``perf`` can read, so the
child process records where the loop's machine code lives (``/proc/self/maps``) for the parent
to classify the sampled instruction addresses.

What it found (docs/engine.md): with the heap and queue helpers written as inlined functions
taking arrays, *more* samples fell in the reference-count helpers — an atomic ``lock incq`` per
array per call — than in the loop itself; with the helpers as closures, almost none do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def child(rounds: int, regions_file: Path) -> None:
    """Run the benchmark kernel; write the address ranges of compiled code."""
    from models import two_class_erlang_a

    from contactsim import engine
    from contactsim.engine.kernel import simulate

    engine.run(two_class_erlang_a(1000))  # compile or load the cache before sampling matters
    system = two_class_erlang_a(1_000_000)
    for _ in range(rounds):
        engine.run(system)
    compiled = simulate.overloads[simulate.signatures[0]]
    entry = compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)
    regions = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if "x" in fields[1] and len(fields) < 6:  # executable and anonymous: JIT code
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            regions.append({"lo": lo, "hi": hi, "loop": lo <= entry < hi})
    regions_file.write_text(json.dumps(regions))


def parent(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data, regions_file = Path(tmp) / "perf.data", Path(tmp) / "regions.json"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", str(data), "--",
                        sys.executable, __file__, "--child", str(regions_file),
                        "--rounds", str(rounds)], check=True)
        regions = json.loads(regions_file.read_text())
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip"], check=True,
                                capture_output=True, text=True).stdout
    counts: Counter[str] = Counter()
    for token in script.split():
        ip = int(token, 16)
        where = next((r for r in regions if r["lo"] <= ip < r["hi"]), None)
        counts["event loop" if where and where["loop"] else
               "other compiled code (numba runtime)" if where else "everything else"] += 1
    compiled = counts["event loop"] + counts["other compiled code (numba runtime)"]
    return {"samples": sum(counts.values()), **{k: v / compiled for k, v in counts.items()
                                                if k != "everything else"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.rounds, args.child)
        return
    shares = parent(args.rounds)
    print(f"{shares.pop('samples')} samples; of those in compiled code:")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
