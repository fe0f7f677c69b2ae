"""What the allocator settings (contactsim.allocator) do for back-to-back replications.

    python benchmarks/allocator.py [--replications 16] [--days 8] [--config CONFIG]

Runs the same Met replications (by default one week and a day of configs/met-2018-09.yaml, the
replication benchmark's scenario; ``--days 365 --replications 3`` for years) in fresh processes,
two with ``keep_freed_memory()`` and two without, alternating, and prints a JSON line for each:
page faults taken while replicating (``ru_minflt``), the kernel's (system) CPU seconds per
replication, the median and best time per replication, and the process's peak memory.  The
first replication of each process is run before the count (it loads the engine and touches
the process's memory for the first time); the figures are those of a process's later ones.
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


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(keep: bool, replications: int, days: int, config: Path) -> None:
    from contactsim.allocator import keep_freed_memory

    applied = keep_freed_memory() if keep else False
    from contactsim.config import load
    from contactsim.experiment import replication_tables

    scenario = load(config, [f"horizon_days={days}"]).scenario
    replication_tables(scenario, 0)  # load the engine and warm the imports outside the count
    before = resource.getrusage(resource.RUSAGE_SELF)
    times = []
    for r in range(1, replications + 1):
        started = time.perf_counter()
        replication_tables(scenario, r)
        times.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"keep_freed_memory": applied, "days": days,
                      "page_faults": after.ru_minflt - before.ru_minflt,
                      "system_s_per_replication":
                          round((after.ru_stime - before.ru_stime) / replications, 3),
                      "median_s": round(statistics.median(times), 4),
                      "best_s": round(min(times), 4),
                      "peak_rss_mb": round(_peak_rss_mb(), 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--child", choices=["keep", "default"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "keep", args.replications, args.days, args.config)
        return
    for mode in ("default", "keep", "keep", "default"):
        out = subprocess.run([sys.executable, __file__, "--child", mode,
                              "--replications", str(args.replications), "--days", str(args.days),
                              "--config", str(args.config)],
                             check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
