"""What this machine charges a fresh process for touching memory for the first time.

    python benchmarks/first_touch.py [--mb 750] [--idle 10] [--rounds 3]

A simulated year in a fresh process spends about a second of kernel (system) CPU time on top of
its own work (``benchmarks/year.py``), and that second moved from one run to the next.  This
script separates the machine from the code: each round it waits ``--idle`` seconds, then runs
two fresh processes one right after the other; each only fills ``--mb`` MB of numpy arrays (by
default about what a year holds above the interpreter), under the command line's allocator
settings (``contactsim.allocator``), and reports its wall, user and system seconds.

On a virtual machine whose balloon driver reports freed memory to the host, pages freed a few
seconds ago have been handed back, and touching them again faults on the host as well: the
first process after the idle gap pays that, the second one reuses what the first just freed.
On a machine without that, both cost the same.  One JSON line per process, then the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
from allocator import set_allocator, timed

COLUMN = 5_000_000  # float64 values: a 40 MB column, the size of a year's per-caller arrays


def touch(mb: float) -> dict:
    """Fill ``mb`` MB of fresh numpy columns, as a year's sampling does; wall and CPU seconds."""
    set_allocator("keep")  # as the command line does
    columns = []
    wall, before, after = timed(lambda: columns.extend(
        np.ones(COLUMN) for _ in range(max(1, round(mb * 1e6 / (8 * COLUMN))))))
    return {
        "mb": round(sum(c.nbytes for c in columns) / 1e6),
        "wall_s": round(wall, 3),
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "system_s": round(after.ru_stime - before.ru_stime, 3),
    }


def _fresh_process(mb: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(mb)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=750.0)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(touch(args.child)))
        return
    runs = {"after_idle": [], "right_after": []}
    for _ in range(args.rounds):
        time.sleep(args.idle)
        for when in runs:
            result = _fresh_process(args.mb) | {"when": when, "idle_s": args.idle}
            runs[when].append(result)
            print(json.dumps(result), flush=True)
    for when, results in runs.items():
        print(f"{when:>12s}: system {statistics.median(r['system_s'] for r in results):.3f} s, "
              f"wall {statistics.median(r['wall_s'] for r in results):.3f} s "
              f"(median of {len(results)}, {results[0]['mb']} MB)")


if __name__ == "__main__":
    main()
