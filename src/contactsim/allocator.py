"""Memory settings for processes that run replication after replication.

``tune_memory()`` applies both settings below; the command line calls it before anything else,
and so does every worker it starts.

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

Measured on 2026-11-29 (2-core virtual machine, numpy still advising huge pages), against that
threshold setting (32 MiB, with a 64 MiB trim threshold), in eight alternating pairs of ``python
benchmarks/year.py --allocator threshold`` and ``python benchmarks/year.py``: a second year in
the same process took 0.55 s less (median of the paired differences, less in 8 of 8 pairs; 3.5 s
against 4.1 s), the first year the same, and the peak was 17 MB higher (1,004 MB against 987
MB). Four more pairs later that day, once a year no longer held rows of infinite patience: the
second year 0.46 s faster (median; 4 of 4; 2.68-3.11 s against 3.23-3.75 s), the first year
0.05-0.31 s faster, the peak 8-9 MB higher (956-958 MB against 947-950 MB). Weeks gain nothing
more: their arrays stay below 32 MiB either way. ``python benchmarks/allocator.py`` compares the
settings and glibc's default on page faults, kernel CPU time, time per replication and peak
memory.

The price is memory the process holds without using it: a process keeps its peak, and reuse
leaves some fragmentation.  A year-long replication that also builds the interval table
(``python benchmarks/allocator.py --days 365 --replications 2``) peaked at about 1,250 MB with
these settings and 1,160 MB with the threshold setting or glibc's default.  The settings are
process-wide, for every library in the process, and cannot be undone; an allocation never fails
for them, as glibc falls back to ``mmap`` where the heap cannot grow.  They are applied by the
command line, by every worker of its local process pool and by the workers of a local Dask
cluster (a cluster given by address is left alone), where they stand aside: Dask sets
``MALLOC_TRIM_THRESHOLD_`` for its workers, and runs tasks in threads, whose blocks above 64 MiB
get mappings of their own anyway; a program using the Python API may call
``tune_memory()`` too.  It does nothing elsewhere than glibc, nor when the user has tuned
malloc through the environment (``MALLOC_*_`` or ``GLIBC_TUNABLES``).

``small_pages()`` stops numpy from advising the kernel (``madvise``) to back its arrays of 4 MB
and more with transparent huge pages (2 MiB).  Where the kernel grants huge pages only on advice
(``/sys/kernel/mm/transparent_hugepage/enabled`` is ``madvise``), a replication's arrays then
get ordinary 4 KiB pages: more page faults, but on this project's 2-core virtual machine a
first touch of huge pages cost about twice the kernel time of the same memory in small pages.
Measured on 2026-11-29 in five alternating pairs of fresh processes (``python
benchmarks/year.py --allocator keep-huge`` against ``python benchmarks/year.py``): the first
year's system time was 0.97-1.34 s with huge pages and 0.48-0.54 s without, its wall time
0.71 s less without (median of the pairs' differences, less in 5 of 5; 3.22-3.74 s against
3.64-4.52 s), its peak 957 MB against 960-964 MB, and a second year in the same process, which
reuses the first year's memory, the same either way (2.65-2.80 s against 2.61-3.07 s): the
address translations huge pages would spare the processor are worth nothing measurable to a
year's work.  It does nothing when the user has set ``NUMPY_MADVISE_HUGEPAGE``, nor where numpy
lacks the switch.

``reserve()`` is for the other kind of array: scratch sized for the worst case of which a run
touches a sliver (the event loop's heaps).  It gets an anonymous mapping of its own rather than
a block of the heap, where its untouched room would be faulted in by the next replication.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import sys

import numpy as np

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD = 2**30
RESERVE_APART = 32 * 2**20  # reserve(): from this size, a mapping of its own


def tune_memory() -> bool:
    """Apply this module's settings to this process: ``keep_freed_memory()`` and
    ``small_pages()``; True if both were applied."""
    kept = keep_freed_memory()
    return small_pages() and kept


def small_pages() -> bool:
    """Stop numpy advising huge pages for its large arrays; True if the advice was switched off."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False  # the user's own setting wins
    from numpy._core import multiarray

    switch = getattr(multiarray, "_set_madvise_hugepage", None)
    if switch is None:
        return False
    switch(False)
    return True


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


def reserve(size: int, dtype) -> np.ndarray:
    """An array of ``size`` items, its contents undefined, for scratch sized for the worst case
    of which a run touches little (the event loop's heaps).

    From ``RESERVE_APART`` bytes up it gets an anonymous mapping of its own: the operating
    system backs a page when it is first touched and takes them all back when the array is
    freed.  From ``malloc``'s heap, which ``keep_freed_memory()`` makes serve every block, the
    never-touched part would instead become free heap that the next replication's arrays are
    placed in, and they would fault it in afresh: a second year in the same process faulted
    76,222-77,327 pages with the loop's heaps taken from ``malloc``, 706-816 with them reserved
    (``python benchmarks/year.py``, twice each, 2026-11-29; docs/engine.md).  Smaller arrays
    come from ``malloc`` as usual: a fresh mapping costs system calls and first touches on every
    run, and a week's few megabytes of room are quickly reused.
    """
    nbytes = size * np.dtype(dtype).itemsize
    if nbytes < RESERVE_APART or not hasattr(mmap, "MAP_PRIVATE"):
        return np.empty(size, dtype)
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(mapping, dtype, count=size)  # the array keeps the mapping alive
