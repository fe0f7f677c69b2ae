"""The C allocator's settings for processes that run replication after replication.

A replication allocates tens of arrays of one to thirty megabytes (per-caller inputs, records,
metric temporaries) and frees them all at its end.  glibc's ``malloc`` serves such sizes from
fresh ``mmap`` regions and gives them back to the operating system when freed, so the next
replication touches brand-new pages again, and on a virtual machine each first touch of a page
is a costly fault.  ``python benchmarks/allocator.py`` runs sixteen one-week Met replications
in one process with and without these settings: about 30 k page faults without, under 2 k
with, and a median time per replication 10-20% lower on a 2-core virtual machine.

``keep_freed_memory()`` raises the size above which blocks get their own ``mmap`` to glibc's
maximum (32 MiB on 64-bit systems) and lets up to 64 MiB of free memory stay at the top of the
heap, so freed arrays are reused instead of returned and faulted in again.  The price is that
memory: a long run's peak can grow by up to those 64 MiB (a year of Met demand peaks at 988 MB
with the settings and 947 MB without: ``python benchmarks/year.py``, then the same with
``MALLOC_ARENA_MAX=8`` set, which makes them step aside).  It is called by the command line
and by every local worker process; a program
using the Python API may call it too.  It does nothing elsewhere than glibc, nor when the user
has tuned malloc through the environment (``MALLOC_*_`` or ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 64 * 2**20


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
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
