"""Killing a run at any moment leaves no truncated file under a final name.

Every table and manifest is written to a temporary ``.*.part`` file and renamed into place, so a
SIGKILL can only leave a ``.part`` file (never read as a result) beside complete files, and the
next run into the same directory removes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import CONFIGS

RUN = [sys.executable, "-m", "contactsim.cli", "run", str(CONFIGS / "met-2018-07.yaml"),
       "--replications", "4", "--workers", "1", "--set", "horizon_days=3"]


def assert_complete(out: Path) -> None:
    """Every file under a final name is whole; the CSV and Parquet twins agree."""
    for parquet in out.rglob("*.parquet"):
        if parquet.name.startswith("."):
            continue
        table = pd.read_parquet(parquet)
        twin = parquet.with_suffix(".csv")
        if twin.exists():
            assert len(pd.read_csv(twin)) == len(table), f"{twin} does not match {parquet}"
    for manifest in out.rglob("*.json"):
        if not manifest.name.startswith("."):
            json.loads(manifest.read_text())


@pytest.mark.parametrize("delay", [1.5, 3.0, 4.5, 6.0])
def test_kill_at_any_moment_leaves_only_complete_files(tmp_path, delay):
    out = tmp_path / "out"
    proc = subprocess.Popen(RUN + ["--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if out.exists():
        assert_complete(out)


def test_an_uninterrupted_run_passes_the_same_check(tmp_path):
    """The check is not vacuous: a finished run has every file, and all are complete."""
    out = tmp_path / "out"
    subprocess.run(RUN + ["--out", str(out)], check=True, capture_output=True)
    for name in ("summary.csv", "summary.parquet", "intervals.csv", "manifest.json"):
        assert (out / name).exists()
    assert_complete(out)


@pytest.mark.parametrize("resume", [True, False])
def test_next_run_removes_what_a_kill_left_half_written(tmp_path, resume):
    out = tmp_path / "out"
    subprocess.run(RUN + ["--out", str(out)], check=True, capture_output=True)
    left = [out / ".summary.csv.k3j2x9ab.part",
            out / "replications" / "met-2018-07" / ".00001-intervals.parquet.q8z1_w0e.part"]
    others = [out / ".holiday.mkv.part",  # not a name the store makes
              out / "notes" / ".summary.csv.k3j2x9ab.part"]  # not where an experiment writes
    for path in left + others:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PAR1 half a table")
    again = RUN + ["--out", str(out)] + (["--resume"] if resume else [])
    subprocess.run(again, check=True, capture_output=True)
    assert not any(path.exists() for path in left)
    assert all(path.exists() for path in others)
    assert_complete(out)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found = []
    for task in tasks.iterdir():
        children = task / "children"
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    """Forked workers must not outlive a parent killed outright (they would wait forever)."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "contactsim.cli", "run", str(CONFIGS / "met-2018-07.yaml"),
           "--replications", "40", "--workers", "2", "--set", "horizon_days=3"]
    proc = subprocess.Popen(cmd + ["--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # generous: a cold numba cache compiles first
    while not list(out.glob("replications/*/*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = _children(proc.pid)
    assert len(workers) == 2, "the run should be mid-way, with both workers busy"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
