"""What the allocator settings (contactsim.allocator) do for replication after replication.

    python benchmarks/allocator.py [--replications 16] [--days 8] [--config CONFIG]

Runs the same Met replications (by default one week and a day of configs/met-2018-09.yaml, the
replication benchmark's scenario; ``--days 365 --replications 2`` for years) in fresh
processes under three settings, each twice, in the order default, threshold, keep, keep,
threshold, default:

* ``default``: glibc's own (blocks above a threshold that adapts up to 32 MiB get their own
  ``mmap``, returned when freed);
* ``threshold``: the widest ``mmap`` threshold glibc allows (32 MiB) and a 64 MiB trim
  threshold, so week-sized arrays stay in the heap but a year's 40 MB columns do not;
* ``keep``: the command line's (``tune_memory()``): every block from the heap, 1 GiB trim
  threshold, and no huge-page advice from numpy;
* ``keep-huge``: the same but with numpy's huge-page advice left on, as before
  ``small_pages()`` (not in the default sequence; ``benchmarks/year.py --allocator keep-huge``).

Each process first runs two days to load the engine, then times its first replication (which
touches the process's memory for the first time) and the later ones.  It prints a JSON line:
the first replication's wall and kernel (system) CPU seconds, the later replications' page
faults (``ru_minflt``), system CPU seconds per replication, median and best wall time, and the
process's peak memory.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "met-2018-09.yaml"
MODES = ("default", "threshold", "keep", "keep", "threshold", "default")
SETTINGS = ("default", "threshold", "keep", "keep-huge")


def reset_peak_rss() -> bool:
    """Start this process's peak resident memory afresh from what it holds now (Linux: ``5`` to
    ``/proc/self/clear_refs``), so that a peak read later belongs to what ran since; False
    where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    ``VmHWM`` belongs to the process's own address space.  ``ru_maxrss`` is kept across exec on
    Linux, so a child of a big process (pytest after the 10⁷-call benchmark) would report its
    parent's size at fork time instead of its own."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def set_allocator(mode: str) -> bool:
    """Apply one of the settings compared here to this process; True if any were applied."""
    from contactsim.allocator import keep_freed_memory, tune_memory

    if mode == "keep":
        return tune_memory()
    if mode == "keep-huge":
        return keep_freed_memory()
    if mode == "threshold":
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
        return bool(mallopt(m_mmap_threshold, 32 * 2**20)) and bool(
            mallopt(m_trim_threshold, 64 * 2**20))
    return False


def timed(run) -> tuple[float, resource.struct_rusage, resource.struct_rusage]:
    """Wall seconds of ``run()``, and this process's resource usage before and after it."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started, before, resource.getrusage(resource.RUSAGE_SELF)


def child(mode: str, replications: int, days: int, config: Path) -> None:
    applied = set_allocator(mode)
    from contactsim.config import load
    from contactsim.experiment import replication_tables

    replication_tables(load(config, ["horizon_days=2"]).scenario, 0)  # load the engine
    scenario = load(config, [f"horizon_days={days}"]).scenario
    reset_peak_rss()  # the peak of the replications, not of a compile while loading the engine
    first_s, before, after = timed(lambda: replication_tables(scenario, 0))
    first_system_s = after.ru_stime - before.ru_stime
    times, start = [], resource.getrusage(resource.RUSAGE_SELF)
    for r in range(1, replications + 1):
        seconds, _, end = timed(lambda r=r: replication_tables(scenario, r))
        times.append(seconds)
    print(json.dumps({
        "mode": mode, "applied": applied, "days": days,
        "first_s": round(first_s, 3), "first_system_s": round(first_system_s, 3),
        "page_faults": end.ru_minflt - start.ru_minflt,
        "system_s_per_replication": round((end.ru_stime - start.ru_stime) / replications, 3),
        "median_s": round(statistics.median(times), 4), "best_s": round(min(times), 4),
        "peak_rss_mb": round(peak_rss_mb(), 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replications < 1:
        parser.error("--replications must be at least 1")
    if args.child:
        child(args.child, args.replications, args.days, args.config)
        return
    for mode in MODES:
        out = subprocess.run([sys.executable, __file__, "--child", mode,
                              "--replications", str(args.replications), "--days", str(args.days),
                              "--config", str(args.config)],
                             check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
