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
process's main thread.)  ``python benchmarks/allocator.py`` runs replications in fresh
processes with and without the settings and prints page faults, kernel (system) CPU seconds,
time per replication and peak memory: with ``--days 365 --replications 3``, a year-long Met
replication spent 0.8-1.5 s in the kernel without them and 0.2-0.45 s with them (2026-11-29).

The price is memory the process holds without using it: a process keeps its peak, and reuse
leaves some fragmentation (``python benchmarks/year.py`` reports the peak after one year and
after a second in the same process).  The settings are process-wide, for every library in the
process, and cannot be undone; an allocation never fails for them, as glibc falls back to
``mmap`` where the heap cannot grow.  They are applied by the command line and by every worker
of its local process pool (not by Dask workers, which run tasks in threads of a process Dask
manages); a program using the Python API may call ``keep_freed_memory()`` too.  It does nothing
elsewhere than glibc, nor when the user has tuned malloc through the environment (``MALLOC_*_``
or ``GLIBC_TUNABLES``).
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
    # No mmap per block, rather than a higher threshold: glibc caps that at 32 MiB, and a
    # year's per-caller arrays are 40 MB.
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
