"""Experiments: executors agree to the byte, CRN tightens comparisons, interrupted runs resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIGS

from contactsim import api
from contactsim.executors import ExecutorSpec, run_tasks

SMALL = ["horizon_days=1.5", "warmup=6h"]


def _summary_bytes(out: Path) -> bytes:
    return (out / "summary.csv").read_bytes()


def _run_to(out: Path, spec: ExecutorSpec) -> bytes:
    from contactsim.experiment import save

    result = api.run(CONFIGS / "met-2018-09.yaml", overrides=SMALL, replications=4,
                     executor=spec, out=out)
    save(result, out)
    return _summary_bytes(out)


def test_summary_identical_for_1_and_2_workers_and_dask(tmp_path):
    one = _run_to(tmp_path / "one", ExecutorSpec("local", 1))
    two = _run_to(tmp_path / "two", ExecutorSpec("local", 2))
    dask = _run_to(tmp_path / "dask", ExecutorSpec("dask", 2))
    assert len(one) > 1000
    assert one == two == dask


@pytest.fixture(scope="module")
def ivr_comparison():
    """IVR off (July) vs IVR on (the same July with the September IVR settings)."""
    ivr_on = ["ivr.enabled=true", "ivr.divert_online=0.15", "ivr.divert_other=0.175",
              "ivr.hang_up=0.05", "ivr.menu_time={dist: lognormal, mean: 75, cv: 0.5}"]
    return api, ivr_on


def _kpi(result, point=None):
    table = result.summary
    if point is not None:
        table = table[table["point"] == point]
    rows = table[(table["channel"] == "101") & (table["metric"] == "service_level")]
    return rows.sort_values("replication")["value"].to_numpy()


def test_paired_ci_narrower_and_matches_separate_runs(tmp_path):
    july = CONFIGS / "met-2018-07.yaml"
    on = tmp_path / "ivr-on.yaml"
    on.write_text(f"extends: {july}\nname: ivr-on\nivr:\n  enabled: true\n"
                  "  divert_online: 0.15\n  divert_other: 0.175\n  hang_up: 0.05\n")
    comparison = api.compare(july, [on], overrides=SMALL, replications=8, seed=11)
    row = comparison.differences.query("channel == '101' and metric == 'service_level'").iloc[0]
    assert row["paired_half_width"] < row["independent_half_width"]
    # separately, on independent seeds: the same difference within the two CIs combined
    base = _kpi(api.run(july, overrides=SMALL, replications=8, seed=101))
    alt = _kpi(api.run(on, overrides=SMALL, replications=8, seed=202))
    separate = alt.mean() - base.mean()
    assert np.sign(separate) == np.sign(row["diff_mean"]) == 1
    tolerance = row["paired_half_width"] + row["independent_half_width"]
    assert abs(separate - row["diff_mean"]) <= tolerance


SWEEP = [sys.executable, "-m", "contactsim.cli", "sweep", str(CONFIGS / "examples/skills.yaml"),
         "--grid", "pools.blended.scale=0.5,1.0,1.5", "--replications", "3", "--workers", "1",
         "--set", "horizon_days=2"]


def _complete_files_only(out: Path) -> None:
    """Every file under its final name is complete (a SIGKILL may leave a hidden .part)."""
    for parquet in out.rglob("*.parquet"):
        pd.read_parquet(parquet)


def _no_partial_files(out: Path) -> None:
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert not leftovers, f"half-written files left: {leftovers}"
    _complete_files_only(out)


def test_sweep_killed_and_resumed_gives_identical_results(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    subprocess.run(SWEEP + ["--out", str(full)], check=True, capture_output=True)
    proc = subprocess.Popen(SWEEP + ["--out", str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        done = list((cut / "replications").rglob("*-intervals.parquet"))
        if len(done) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((cut / "replications").rglob("*-intervals.parquet")))
    assert 3 <= finished < 9, "the kill should land mid-sweep"
    assert not (cut / "summary.csv").exists()
    _complete_files_only(cut)
    # what a kill landing mid-write leaves (whether or not this one did)
    planted = next((cut / "replications").iterdir()) / ".00002-intervals.parquet.zz9_ab1c.part"
    planted.write_bytes(b"PAR1 half")
    subprocess.run(SWEEP + ["--out", str(cut), "--resume"], check=True, capture_output=True)
    assert (cut / "summary.csv").read_bytes() == (full / "summary.csv").read_bytes()
    assert (cut / "intervals.csv").read_bytes() == (full / "intervals.csv").read_bytes()
    _no_partial_files(cut)


def test_resume_refuses_results_of_another_experiment(tmp_path):
    out = tmp_path / "x"
    subprocess.run(SWEEP + ["--out", str(out)], check=True, capture_output=True)
    other = subprocess.run(SWEEP + ["--out", str(out), "--resume", "--set", "seed=5"],
                           capture_output=True, text=True)
    assert other.returncode == 2
    assert "different experiment" in other.stderr


def test_cli_engine_names_match_the_engines():
    from contactsim.cli import ENGINES as CLI_ENGINES
    from contactsim.stages import ENGINES

    assert tuple(ENGINES) == CLI_ENGINES


def test_a_local_dask_clusters_workers_get_the_memory_settings():
    """The command line's memory settings reach the Dask workers it starts: numpy there no
    longer advises huge pages (allocator.small_pages), as in this process's own workers."""
    from numpy._core.multiarray import _get_madvise_hugepage

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        pytest.skip("the user's own huge-page setting wins")
    results = dict(run_tasks(_get_madvise_hugepage, [(), ()], ExecutorSpec("dask", 2)))
    assert results == {0: False, 1: False}
