"""One simulated year of Met demand end to end (sampling + engine + metrics), run in its own
process so that its peak memory (VmHWM) is its own.  Prints a JSON line, with the seconds spent
in each phase of the run (``year_phases.py``).

    python benchmarks/year.py [CONFIG]
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from year_phases import CONFIG, Timings, instrument, warm_up, year_scenario

from contactsim import metrics, stages
from contactsim.allocator import keep_freed_memory


def _peak_rss_mb() -> float:
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


def main() -> None:
    keep_freed_memory()  # as the command line does
    config = Path(sys.argv[1]) if len(sys.argv) > 1 else CONFIG
    warm_up(config)  # compile / load the cache untimed
    year = year_scenario(config)
    phases = Timings()
    instrument(phases, Timings())
    started = time.perf_counter()
    rep = stages.simulate(year, 0, keep_inputs=False)  # as every replication of a CLI run
    summary = metrics.summary_table(rep)
    wall = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    print(json.dumps({"wall_s": round(wall, 3), "peak_rss_mb": round(peak_mb, 1),
                      "callers": int(rep.calls.caller.max()) + 1, "contacts": len(rep.calls),
                      "summary_rows": len(summary), "phases": phases.as_dict()}))


if __name__ == "__main__":
    main()
