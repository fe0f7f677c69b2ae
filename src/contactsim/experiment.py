"""Experiments: scenarios × replications, run on an executor, stored as they finish.

An experiment is a list of *points* — scenarios with labels (a sweep's parameter values) — each
run for its replications.  Replication ``r`` of a point draws from streams keyed by
``(seed, stream name, r)`` (:mod:`contactsim.rng`): results do not depend on which worker runs
a task or when, and two points with the same seed share their callers (common random numbers).

With an output directory, each finished replication is written at once, atomically, under
``replications/``; ``resume=True`` skips the replications already there, after checking that
they belong to the same experiment (a fingerprint of the resolved configs, engine and counts).
The final tables are always assembled from those files in (point, replication) order, so they
are byte-identical whatever the executor, the number of workers or the interruptions.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from contactsim import __version__
from contactsim.executors import ExecutorSpec, run_tasks
from contactsim.metrics import aggregate, interval_table, summary_table
from contactsim.schema import Scenario
from contactsim.stages import ENGINES, simulate
from contactsim.store import (
    read_json,
    remove_partial_files,
    safe_child,
    write_atomic,
    write_json,
    write_table,
)

Progress = Callable[[Iterable[int], int], Iterable[int]]


class ResumeError(ValueError):
    """An output directory holds the results of a different experiment."""


@dataclass(frozen=True)
class Point:
    """One scenario of an experiment, with the labels that set it apart (e.g. sweep values)."""

    name: str
    scenario: Scenario
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """Per-replication tables, their aggregates and the manifest of the run."""

    summary: pd.DataFrame
    intervals: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    @property
    def summary_ci(self) -> pd.DataFrame:
        return aggregate(self.summary, _group_columns(self.summary, ["channel", "metric"]))

    @property
    def intervals_ci(self) -> pd.DataFrame:
        by = _group_columns(self.intervals, ["interval", "start", "channel", "metric"])
        return aggregate(self.intervals, by)


def _group_columns(table: pd.DataFrame, tail: list[str]) -> list[str]:
    """Everything that identifies a point (scenario, sweep labels) plus ``tail``."""
    skip = {"replication", "seed", "value", *tail}
    return [c for c in table.columns if c not in skip] + tail


def replication_tables(scenario: Scenario, replication: int, engine: str = "fast"):
    """The task: summary and interval tables of one replication."""
    rep = simulate(scenario, replication, engine, keep_inputs=False)
    return summary_table(rep), interval_table(rep)


# --- fingerprint and per-replication files -------------------------------------------------


def fingerprint(points: Sequence[Point], engine: str) -> str:
    """Identifies an experiment's results: resolved configs, labels and engine."""
    payload = [
        {"name": p.name, "labels": p.labels, "config": p.scenario.model_dump(mode="json")}
        for p in points
    ]
    text = json.dumps({"points": payload, "engine": engine}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _rep_path(out: Path, point: Point, replication: int, table: str) -> Path:
    return safe_child(out, f"replications/{point.name}/{replication:05d}-{table}.parquet")


def _prepare(out: Path, points: Sequence[Point], engine: str, resume: bool) -> None:
    """Check a resumed directory belongs to this experiment; clear it for a fresh one.

    Either way, temporary files a killed run left half-written are removed first."""
    remove_partial_files(out)
    stamp = out / "experiment.json"
    key = fingerprint(points, engine)
    if resume and stamp.exists():
        if read_json(stamp).get("fingerprint") != key:
            raise ResumeError(
                f"{out} holds results of a different experiment (config, seed, engine or grid "
                f"changed); rerun without --resume or choose another --out"
            )
        return
    shutil.rmtree(out / "replications", ignore_errors=True)
    write_json(out, "experiment.json", {"fingerprint": key, "points": [p.name for p in points]})


def _done(out: Path, point: Point, replication: int) -> bool:
    return all(_rep_path(out, point, replication, t).exists() for t in ("summary", "intervals"))


def _labelled(table: pd.DataFrame, point: Point) -> pd.DataFrame:
    at = table.columns.get_loc("seed") + 1
    for offset, (key, value) in enumerate(point.labels.items()):
        table.insert(at + offset, key, value)
    return table


# --- running -------------------------------------------------------------------------------


def execute(
    points: Sequence[Point],
    *,
    engine: str = "fast",
    executor: ExecutorSpec = ExecutorSpec(workers=1),
    out: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run every replication of every point; store each as it finishes; stack the tables."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    tasks = [(p, r) for p in points for r in range(p.scenario.replications)]
    if out is not None:
        _prepare(out, points, engine, resume)
    todo = [t for t in tasks if out is None or not (resume and _done(out, *t))]
    results: dict[tuple[str, int], tuple[pd.DataFrame, pd.DataFrame]] = {}
    finished = run_tasks(replication_tables, [(p.scenario, r, engine) for p, r in todo],
                         executor)
    for index, (summary, intervals) in _with_progress(finished, len(todo), progress):
        point, r = todo[index]
        tables = (_labelled(summary, point), _labelled(intervals, point))
        if out is not None:
            for name, table in zip(("summary", "intervals"), tables):
                write_atomic(_rep_path(out, point, r, name),
                             lambda path, t=table: t.to_parquet(path, index=False))
        else:
            results[(point.name, r)] = tables
    result = _assemble(tasks, results, out)
    result.manifest = manifest(points, engine, executor, time.perf_counter() - started)
    return result


def _with_progress(items, total: int, progress: Progress | None):
    if progress is None:
        yield from items
        return
    iterator = iter(items)
    for _ in progress(range(total), total):
        yield next(iterator)


def _assemble(tasks, results, out: Path | None) -> RunResult:
    """Stack per-replication tables in (point, replication) order, from disk when stored."""
    summaries, intervals = [], []
    for point, r in tasks:
        if out is not None:
            summaries.append(pd.read_parquet(_rep_path(out, point, r, "summary")))
            intervals.append(pd.read_parquet(_rep_path(out, point, r, "intervals")))
        else:
            summary, interval = results[(point.name, r)]
            summaries.append(summary)
            intervals.append(interval)
    return RunResult(pd.concat(summaries, ignore_index=True),
                     pd.concat(intervals, ignore_index=True))


def save(result: RunResult, out: Path) -> None:
    """The final tables and manifest, each written atomically."""
    write_table(out, "summary", result.summary)
    write_table(out, "summary_ci", result.summary_ci)
    write_table(out, "intervals", result.intervals)
    write_json(out, "manifest.json", result.manifest)


def manifest(points: Sequence[Point], engine: str, executor: ExecutorSpec, wall: float) -> dict:
    """What a reader needs to reproduce a run."""
    first = points[0].scenario if points else None
    return {
        "scenario": first.name if first else None,
        "seed": first.seed if first else None,
        "replications": first.replications if first else None,
        "points": [{"name": p.name, "labels": p.labels, "scenario": p.scenario.name}
                   for p in points],
        "engine": engine,
        "executor": {"kind": executor.kind, "workers": executor.n_workers},
        "contactsim_version": __version__,
        "python": platform.python_version(),
        "wall_time_s": round(wall, 3),
        "config": first.model_dump(mode="json") if first else None,
        "configs": {p.name: p.scenario.model_dump(mode="json") for p in points[1:]},
    }
