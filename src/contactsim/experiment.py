"""Experiments: a scenario run over replications, with tables aggregated to means and CIs.

Replication ``r`` of a scenario draws from streams keyed by ``(seed, stream name, r)``
(:mod:`contactsim.rng`), so results do not depend on the order or place replications run.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pandas as pd

from contactsim import __version__
from contactsim.metrics import aggregate, interval_table, summary_table
from contactsim.schema import Scenario
from contactsim.stages import ENGINES, simulate


@dataclass
class RunResult:
    """Per-replication tables, their aggregates and the manifest of the run."""

    summary: pd.DataFrame
    intervals: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    @property
    def summary_ci(self) -> pd.DataFrame:
        return aggregate(self.summary, ["scenario", "channel", "metric"])

    @property
    def intervals_ci(self) -> pd.DataFrame:
        return aggregate(self.intervals, ["scenario", "interval", "start", "channel", "metric"])


def run_replication(scenario: Scenario, replication: int, engine: str = "fast"):
    """Summary and interval tables of one replication."""
    rep = simulate(scenario, replication, engine)
    return summary_table(rep), interval_table(rep)


def run(
    scenario: Scenario,
    *,
    engine: str = "fast",
    progress: Callable[[Iterable[int], int], Iterable[int]] | None = None,
) -> RunResult:
    """Run every replication of ``scenario`` in order and stack their tables."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    reps: Iterable[int] = range(scenario.replications)
    if progress is not None:
        reps = progress(reps, scenario.replications)
    summaries, intervals = [], []
    for r in reps:
        summary, interval = run_replication(scenario, r, engine)
        summaries.append(summary)
        intervals.append(interval)
    result = RunResult(pd.concat(summaries, ignore_index=True),
                       pd.concat(intervals, ignore_index=True))
    result.manifest = manifest(scenario, engine, time.perf_counter() - started)
    return result


def manifest(scenario: Scenario, engine: str, wall_time: float) -> dict:
    """What a reader needs to reproduce a run."""
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "engine": engine,
        "contactsim_version": __version__,
        "python": platform.python_version(),
        "wall_time_s": round(wall_time, 3),
        "config": scenario.model_dump(mode="json"),
    }
