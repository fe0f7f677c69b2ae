"""The C allocator's settings for processes that run replication after replication.

A replication allocates tens of arrays of one to a few hundred megabytes (per-caller inputs,
records, metric temporaries) and frees them all at its end.  glibc's ``malloc`` serves large
blocks from fresh ``mmap`` regions and gives them back to the operating system when freed, so
the next replication touches brand-new pages again, and on a virtual machine each first touch of
a page is a costly fault.

``keep_freed_memory()`` serves every block of the main thread from the heap instead (no
``mmap`` per block) and lets up to 1 GiB of free memory stay at the top of the heap, so freed
arrays are reused instead of returned and faulted in again.  (Other threads allocate from arenas
of at most 64 MiB, so larger blocks there still get their own mapping; replications run in a
process's main thread.)  Raising the ``mmap`` threshold instead would not do: glibc caps it at
32 MiB, below a year's 40 MB per-caller columns.

Measured on 2026-11-29 (2-core virtual machine), against that threshold setting (32 MiB, with a
64 MiB trim threshold), in eight alternating pairs of ``python benchmarks/year.py --allocator
threshold`` and ``python benchmarks/year.py``: a second year in the same process took 0.55 s
less (median of the paired differences, less in 8 of 8 pairs; 3.5 s against 4.1 s), the first
year the same, and the peak was 17 MB higher (1,004 MB against 987 MB).  Four more pairs later
that day, once a year no longer held rows of infinite patience: the second year 0.46 s faster
(median; 4 of 4; 2.68-3.11 s against 3.23-3.75 s), the first year 0.05-0.31 s faster, the peak
8-9 MB higher (956-958 MB against 947-950 MB).  Weeks gain nothing
more: their arrays stay below 32 MiB either way.  ``python benchmarks/allocator.py`` compares
the settings and glibc's default on page faults, kernel CPU time, time per replication and peak
memory.

The price is memory the process holds without using it: a process keeps its peak, and reuse
leaves some fragmentation.  A year-long replication that also builds the interval table
(``python benchmarks/allocator.py --days 365 --replications 2``) peaked at about 1,250 MB with
these settings and 1,160 MB with the threshold setting or glibc's default.  The settings are
process-wide, for every library in the process, and cannot be undone; an allocation never fails
for them, as glibc falls back to ``mmap`` where the heap cannot grow.  They are applied by the
command line and by every worker of its local process pool (not by Dask workers, which run tasks
in threads of a process Dask manages); a program using the Python API may call
``keep_freed_memory()`` too.  It does nothing elsewhere than glibc, nor when the user has tuned
malloc through the environment (``MALLOC_*_`` or ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD = 2**30


def keep_freed_memory() -> bool:
    """Tune glibc malloc to reuse freed arrays; True if the settings were applied."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if any(name.startswith("MALLOC_") or name == "GLIBC_TUNABLES" for name in os.environ):
        return False  # the user's own settings win
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
