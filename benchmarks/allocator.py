"""What the allocator settings (contactsim.allocator) do for back-to-back replications.

    python benchmarks/allocator.py [--replications 16]

Runs the same one-week Met replications (configs/met-2018-09.yaml, the replication benchmark's
scenario) in two fresh processes, one with ``keep_freed_memory()`` and one without, alternating
the order, and prints for each: page faults taken while replicating (``ru_minflt``) and the
median and best time per replication.  Prints a JSON line per process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "met-2018-09.yaml"


def child(keep: bool, replications: int) -> None:
    from contactsim.allocator import keep_freed_memory

    applied = keep_freed_memory() if keep else False
    from contactsim.config import load
    from contactsim.experiment import replication_tables

    scenario = load(CONFIG, ["horizon_days=8"]).scenario
    replication_tables(scenario, 0)  # load the engine and warm the imports outside the count
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for r in range(replications):
        started = time.perf_counter()
        replication_tables(scenario, r)
        times.append(time.perf_counter() - started)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps({"keep_freed_memory": applied, "page_faults": faults,
                      "median_s": round(statistics.median(times), 4),
                      "best_s": round(min(times), 4)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--child", choices=["keep", "default"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "keep", args.replications)
        return
    for mode in ("default", "keep", "keep", "default"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--replications",
                              str(args.replications)], check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
