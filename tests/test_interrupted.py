"""Killing a run at any moment leaves no truncated file under a final name.

Every table and manifest is written to a temporary ``.*.part`` file and renamed into place, so a
SIGKILL can only leave a ``.part`` file (never read as a result) beside complete files.
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
