"""The allocator settings apply where glibc is the C library."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = "from contactsim.allocator import keep_freed_memory; print(keep_freed_memory())"


def _applied(**extra: str) -> bool:
    """keep_freed_memory() in a fresh interpreter (this process keeps its own settings), with
    no malloc settings in its environment but ``extra`` (Dask, for one, sets
    MALLOC_TRIM_THRESHOLD_ in the environment of the process that starts a cluster)."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, env={**env, **extra})
    return {"True": True, "False": False}[out.stdout.strip()]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_settings_apply_on_glibc():
    assert _applied()


def test_user_settings_in_the_environment_win():
    assert not _applied(MALLOC_ARENA_MAX="2")
    assert not _applied(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")


def test_does_nothing_off_linux(monkeypatch):
    from contactsim import allocator

    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
