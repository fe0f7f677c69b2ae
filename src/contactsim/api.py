"""The Python API: ``run``, ``compare`` and ``sweep``, mirroring the command line.

Each takes config paths (and ``--set``-style overrides) and returns pandas DataFrames::

    import contactsim
    result = contactsim.run("configs/met-2018-07.yaml", replications=10)
    result.summary_ci                      # mean and 95% CI per channel and metric
    diff = contactsim.compare("configs/met-2018-07.yaml", ["configs/met-2018-09.yaml"])
    diff.differences                       # paired differences on common random numbers
    grid = contactsim.sweep("configs/met-2018-09.yaml", ["ivr.divert_online=0.1,0.2,0.3"])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from contactsim.comparison import paired_differences
from contactsim.config import load
from contactsim.executors import ExecutorSpec
from contactsim.experiment import Point, Progress, RunResult, execute
from contactsim.sweep import sweep_points


def _settings(replications: int | None, seed: int | None) -> list[str]:
    return [f"{k}={v}" for k, v in (("replications", replications), ("seed", seed))
            if v is not None]


def run(
    config: str | Path,
    *,
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    engine: str = "fast",
    executor: ExecutorSpec = ExecutorSpec(workers=1),
    out: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run one scenario; tables per replication, ``summary_ci`` aggregated."""
    scenario = load(config, list(overrides) + _settings(replications, seed)).scenario
    return execute([Point(scenario.name, scenario)], engine=engine, executor=executor, out=out,
                   resume=resume, progress=progress)


@dataclass
class Comparison:
    """The runs of a comparison and the paired differences of every alternative to the base."""

    result: RunResult
    differences: pd.DataFrame
    interval_differences: pd.DataFrame


def comparison_points(base: str | Path, alternatives: Sequence[str | Path],
                      overrides: Sequence[str] = (), replications: int | None = None,
                      seed: int | None = None) -> list[Point]:
    """Base and alternatives, all on the base's seed (common random numbers)."""
    base_scenario = load(base, list(overrides) + _settings(replications, seed)).scenario
    common = _settings(replications or base_scenario.replications, seed or base_scenario.seed)
    points = [Point("base", base_scenario, {"point": "base"})]
    for i, alt in enumerate(alternatives, start=1):
        scenario = load(alt, list(overrides) + common).scenario
        points.append(Point(f"alt{i}", scenario, {"point": f"alt{i}"}))
    return points


def compare_points(points: Sequence[Point], **run_options) -> Comparison:
    """Run prepared comparison points and pair each alternative with the base."""
    result = execute(points, **run_options)
    base = points[0].name
    summary = [paired_differences(result.summary, base, p.name, ["channel", "metric"])
               for p in points[1:]]
    intervals = [
        paired_differences(result.intervals, base, p.name, ["interval", "start", "channel",
                                                            "metric"])
        for p in points[1:]
    ]
    return Comparison(result, pd.concat(summary, ignore_index=True),
                      pd.concat(intervals, ignore_index=True))


def compare(base: str | Path, alternatives: Sequence[str | Path], *,
            overrides: Sequence[str] = (), replications: int | None = None,
            seed: int | None = None, **run_options) -> Comparison:
    """Run base and alternatives on common random numbers; paired differences with CIs."""
    points = comparison_points(base, alternatives, overrides, replications, seed)
    return compare_points(points, **run_options)


def sweep(config: str | Path, grids: Sequence[str], *, zipped: bool = False,
          overrides: Sequence[str] = (), replications: int | None = None,
          seed: int | None = None, **run_options) -> RunResult:
    """Run every point of a grid; tables carry the point's parameter values and the seed."""
    points = sweep_points(Path(config), grids, list(overrides) + _settings(replications, seed),
                          zipped)
    return execute(points, **run_options)
