"""The allocator settings apply where glibc is the C library."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CODE = "from contactsim.allocator import keep_freed_memory; print(keep_freed_memory())"


def _without_malloc_settings() -> dict[str, str]:
    """This environment without malloc settings (Dask, for one, sets MALLOC_TRIM_THRESHOLD_ in
    the environment of the process that starts a cluster)."""
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")}


def _applied(**extra: str) -> bool:
    """keep_freed_memory() in a fresh interpreter (this process keeps its own settings), with
    no malloc settings in its environment but ``extra``."""
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, env={**_without_malloc_settings(), **extra})
    return {"True": True, "False": False}[out.stdout.strip()]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_settings_apply_on_glibc():
    assert _applied()


# glibc's own accounting (malloc.h), for the scripts below
MALLINFO2 = """import ctypes
class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Mallinfo2
"""

MMAPPED = """
import ctypes, sys
import numpy as np
from contactsim.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
{mallinfo2}before = mallinfo2().hblkhd
year_array = np.ones(5_000_000)  # 40 MB, a year's per-caller column
print(mallinfo2().hblkhd - before)
""".replace("{mallinfo2}", MALLINFO2)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc"
                    or tuple(map(int, platform.libc_ver()[1].split(".")[:2])) < (2, 33),
                    reason="mallinfo2 is glibc's, from 2.33")
def test_a_years_column_comes_from_the_heap_not_its_own_mmap():
    """glibc's own count of bytes in mmapped blocks: a 40 MB array gets its own mapping by
    default (so freeing it unmaps it, and the next one faults its pages in again) and none
    with the settings."""
    env = _without_malloc_settings()

    def mmapped(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", MMAPPED, mode], capture_output=True,
                             text=True, check=True, env=env)
        return int(out.stdout)

    assert mmapped("default") >= 40_000_000
    assert mmapped("keep") == 0


def test_user_settings_in_the_environment_win():
    assert not _applied(MALLOC_ARENA_MAX="2")
    assert not _applied(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")


def test_does_nothing_off_linux(monkeypatch):
    from contactsim import allocator

    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False


HUGE = """
import sys
from pathlib import Path
import numpy as np
from contactsim.allocator import small_pages
if sys.argv[1] == "small":
    assert small_pages()
column = np.ones(5_000_000)  # 40 MB, a year's per-caller column, touched
rollup = open("/proc/self/smaps_rollup").read().splitlines()
print(next(int(line.split()[1]) for line in rollup if line.startswith("AnonHugePages:")))
"""


def _thp_mode() -> str | None:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return None
    return text[text.index("[") + 1 : text.index("]")]


@pytest.mark.skipif(_thp_mode() != "madvise",
                    reason="huge pages on advice only where the kernel grants them on advice")
def test_small_pages_stops_numpys_huge_page_advice():
    """The kernel's own count of huge pages in the process: a 40 MB column gets some by default
    (numpy advises them) and none after small_pages()."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}

    def huge_kb(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", HUGE, mode], capture_output=True, text=True,
                             check=True, env=env)
        return int(out.stdout)

    assert huge_kb("default") >= 2048
    assert huge_kb("small") == 0


def test_the_users_huge_page_setting_wins():
    code = "from contactsim.allocator import small_pages; print(small_pages())"
    for value, applied in (("1", "False"), (None, "True")):
        env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
        if value is not None:
            env["NUMPY_MADVISE_HUGEPAGE"] = value
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        assert out.stdout.strip() == applied


RESERVED = """
import ctypes
import numpy as np
from contactsim.allocator import keep_freed_memory, reserve
assert keep_freed_memory()
{mallinfo2}before = mallinfo2()
heap = reserve(20_000_001, np.int64)  # a year's event heap: 160 MB of room
heap[:1000] = 7
after = mallinfo2()
print(after.arena - before.arena, after.hblkhd - before.hblkhd)
""".replace("{mallinfo2}", MALLINFO2)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc"
                    or tuple(map(int, platform.libc_ver()[1].split(".")[:2])) < (2, 33),
                    reason="mallinfo2 is glibc's, from 2.33")
def test_reserved_room_stays_out_of_mallocs_heap():
    """Under keep_freed_memory(), where every block comes from malloc's heap, a reserved array
    takes no byte of it (nor any of malloc's own mappings)."""
    env = _without_malloc_settings()
    out = subprocess.run([sys.executable, "-c", RESERVED], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split() == ["0", "0"]


@pytest.mark.parametrize("size", [0, 1, 5000, 2**22 + 1])
def test_reserve_gives_a_writable_array(size):
    """Small sizes come from malloc, from RESERVE_APART bytes (2**22 float64) a mapping."""
    from contactsim.allocator import reserve

    array = reserve(size, np.float64)
    assert array.shape == (size,) and array.dtype == np.float64 and array.flags.writeable
    array[:] = 1.5
    assert array.sum() == 1.5 * size
