"""One simulated year of Met demand end to end (sampling + engine + metrics), run in its own
process so that its peak memory (VmHWM) is its own: the interpreter, the loaded engine and the
year, counted from after the untimed warm-up (which loads the engine; a child process compiles
it first when numba's cache is stale, as compiling here would leave about 100 MB of freed memory
in this process's peak).  Prints a JSON line, with the
seconds spent in each phase of the run (``year_phases.py``) and the CPU time it took, in the
process itself (user) and in the kernel on its behalf (system: mostly faulting in fresh memory,
whose cost depends on the host as much as on the year: ``benchmarks/first_touch.py``), and its
page faults.

A second year (the next replication) then runs in the same process, as the later replications
of a command-line run do: its wall and CPU times show what reusing the first year's memory
(``contactsim.allocator``) saves, and the peak memory after it what reuse costs.  The target
is read on the first year's peak.  ``--allocator`` runs the year under one of the other settings
``benchmarks/allocator.py`` compares (by default the command line's, ``keep``); alternate runs
with and without it to compare them on a year.

    python benchmarks/year.py [CONFIG] [--allocator {keep,keep-huge,threshold,default}]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from allocator import SETTINGS, peak_rss_mb, reset_peak_rss, set_allocator
from year_phases import CONFIG, Timings, instrument, warm_up, year_scenario

from contactsim import metrics, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", type=Path, default=CONFIG)
    parser.add_argument("--allocator", choices=SETTINGS, default="keep")
    args = parser.parse_args()
    set_allocator(args.allocator)  # "keep", as the command line does, unless told otherwise
    config = args.config
    # Compile in a child process first when numba's cache is stale: compiling here would leave
    # freed memory this process keeps (contactsim.allocator), and the year's peak would count
    # some 100 MB of it.  Here the warm-up then only loads the cached machine code, untimed.
    compile_first = f"from year_phases import warm_up; warm_up({str(config.resolve())!r})"
    subprocess.run([sys.executable, "-c", compile_first], cwd=Path(__file__).parent, check=True)
    warm_up(config)
    year = year_scenario(config)
    reset_peak_rss()
    phases = Timings()
    instrument(phases, Timings())
    first = _timed_year(year, 0)
    peak_mb = peak_rss_mb()
    phases_first = phases.as_dict()
    second = _timed_year(year, 1)
    second["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps({"wall_s": first["wall_s"], "peak_rss_mb": round(peak_mb, 1),
                      "user_s": first["user_s"], "system_s": first["system_s"],
                      "page_faults": first["page_faults"],
                      "callers": first["callers"], "contacts": first["contacts"],
                      "summary_rows": first["summary_rows"], "phases": phases_first,
                      "second_year": second}))


def _timed_year(year, replication: int) -> dict:
    """Run one replication of ``year`` as every replication of a command-line run is."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    rep = stages.simulate(year, replication, keep_inputs=False)
    summary = metrics.summary_table(rep)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": round(wall, 3), "user_s": round(after.ru_utime - cpu.ru_utime, 3),
            "system_s": round(after.ru_stime - cpu.ru_stime, 3),
            "page_faults": after.ru_minflt - cpu.ru_minflt,
            "callers": int(rep.calls.caller.max()) + 1, "contacts": len(rep.calls),
            "summary_rows": len(summary)}


if __name__ == "__main__":
    main()
