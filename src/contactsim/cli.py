"""The ``contactsim`` command line: the only module that reads argv.

Commands load and validate everything first, so that a bad config or option exits with code 2
and one clear message before any simulation runs or any file is written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from contactsim.allocator import tune_memory
from contactsim.config import ConfigError, LoadedConfig, load
from contactsim.executors import ExecutorSpec

ENGINES = ("fast", "simpy")  # contactsim.stages.ENGINES, without importing the engines

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate police contact handling: 999, 101 and online, IVR, handlers, TDIU, response.",
)
console = Console(width=max(Console().width, 110))
errors = Console(stderr=True, emoji=False)

ConfigArg = Annotated[Path, typer.Argument(help="scenario YAML file", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a field, e.g. --set ivr.enabled=false (repeatable)"),
]


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _settings(overrides: list[str] | None, **fields) -> list[str]:
    """--set overrides plus options such as --replications, written as overrides."""
    return list(overrides or []) + [f"{k}={v}" for k, v in fields.items() if v is not None]


def _or_fail(make, *args):
    """Call ``make(*args)``; a config error becomes the one-line message and exit 2."""
    try:
        return make(*args)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _load(config: Path, overrides: list[str] | None, **fields) -> LoadedConfig:
    return _or_fail(load, config, _settings(overrides, **fields))


def _progress(label: str):
    def wrap(items: Iterable[int], total: int) -> Iterable[int]:
        columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=errors, transient=True) as bar:
            task = bar.add_task(label, total=total)
            for item in items:
                yield item
                bar.advance(task)
    return wrap


ExecutorOpt = Annotated[str, typer.Option(help="local (process pool) or dask")]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="worker processes [all cores]; 1 runs in-process")
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="Dask scheduler address tcp://HOST:PORT [a LocalCluster]")
]
ResumeOpt = Annotated[bool, typer.Option(help="continue an interrupted run in the same --out")]
EngineOpt = Annotated[str, typer.Option(help="fast or simpy")]
ReportOpt = Annotated[bool, typer.Option(help="also write report.html in the output directory")]


def _executor(executor: str, workers: int | None, scheduler: str | None) -> ExecutorSpec:
    try:
        return ExecutorSpec(executor, workers, scheduler)
    except ValueError as exc:
        _fail(f"--executor: {exc}")
        raise


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        _fail(f"--engine: unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


def _execute(run, *args, **kwargs):
    """Run an experiment; a --resume into another experiment's results is a usage error."""
    from contactsim import experiment

    try:
        return run(*args, **kwargs)
    except experiment.ResumeError as exc:
        _fail(f"--resume: {exc}")
        raise


def _write_report(out: Path, compare: Path | None = None) -> None:
    from contactsim.report import write_report  # matplotlib only when asked for

    written = write_report(out, out / "report.html", compare)
    console.print(f"wrote {written[0]}", highlight=False)


@app.command()
def run(
    config: ConfigArg,
    replications: Annotated[int | None, typer.Option(min=1, help="replications")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="root random seed")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [out/NAME]")] = None,
    engine: EngineOpt = "fast",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    report: ReportOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Run a scenario and write summary, intervals and manifest to the output directory."""
    from contactsim import experiment
    from contactsim.display import summary_view

    _check_engine(engine)
    spec = _executor(executor, workers, scheduler)
    loaded = _load(config, overrides, replications=replications, seed=seed)
    scenario = loaded.scenario
    out = out or Path("out") / scenario.name
    point = experiment.Point(scenario.name, scenario)
    result = _execute(experiment.execute, [point], engine=engine, executor=spec, out=out,
                      resume=resume, progress=_progress(scenario.name))
    result.manifest["config_file"] = str(config)
    experiment.save(result, out)
    console.print(summary_view(scenario, result.summary_ci))
    console.print(f"wrote {out}/summary.csv, intervals.csv (+ .parquet), manifest.json "
                  f"in {result.manifest['wall_time_s']:.2f} s", highlight=False)
    if report:
        _write_report(out)


@app.command()
def compare(
    base: ConfigArg,
    alternatives: Annotated[list[Path], typer.Argument(help="alternative scenario YAML files",
                                                       show_default=False)],
    replications: Annotated[int | None, typer.Option(min=1, help="replications")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="root seed for all [base's]")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [out/compare-BASE]")] = None,
    engine: EngineOpt = "fast",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    report: ReportOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Run scenarios on common random numbers; paired differences against the base with CIs."""
    from contactsim import api, experiment
    from contactsim.display import differences_view
    from contactsim.store import write_table

    _check_engine(engine)
    spec = _executor(executor, workers, scheduler)
    points = _or_fail(api.comparison_points, base, alternatives, overrides or [], replications,
                      seed)
    out = out or Path("out") / f"compare-{points[0].scenario.name}"
    outcome = _execute(api.compare_points, points, engine=engine, executor=spec, out=out,
                       resume=resume, progress=_progress("compare"))
    experiment.save(outcome.result, out)
    write_table(out, "differences", outcome.differences)
    write_table(out, "interval_differences", outcome.interval_differences, csv=False)
    console.print(differences_view(outcome.differences, points))
    console.print(f"wrote {out}/differences.csv, interval_differences.parquet, summary.csv",
                  highlight=False)
    if report:
        _write_runs_and_report(outcome.result, points, out)


def _write_runs_and_report(result, points, out: Path) -> None:
    """The report compares two result directories: split the comparison's runs into two."""
    from contactsim import experiment
    from contactsim.report import write_report

    dirs = []
    for point in points[:2]:
        part = experiment.RunResult(result.summary[result.summary["point"] == point.name],
                                    result.intervals[result.intervals["point"] == point.name])
        part.manifest = {**result.manifest, "scenario": point.scenario.name,
                         "config": point.scenario.model_dump(mode="json")}
        experiment.save(part, out / point.name)
        dirs.append(out / point.name)
    written = write_report(dirs[0], out / "report.html", dirs[1] if len(dirs) > 1 else None)
    console.print(f"wrote {written[0]}", highlight=False)


@app.command()
def sweep(
    config: ConfigArg,
    grid: Annotated[list[str], typer.Option("--grid", help="PATH=V1,V2 or PATH=START:STOP:STEP")],
    zip_: Annotated[
        bool, typer.Option("--zip", help="pair grids element-wise, not a product")
    ] = False,
    replications: Annotated[int | None, typer.Option(min=1, help="replications")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="root random seed")] = None,
    out: Annotated[Path | None, typer.Option(help="output directory [out/sweep-NAME]")] = None,
    engine: EngineOpt = "fast",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Run every point of a parameter grid; one long table with the values and the seed."""
    from contactsim import experiment
    from contactsim.sweep import sweep_points

    _check_engine(engine)
    spec = _executor(executor, workers, scheduler)
    points = _or_fail(sweep_points, config, grid,
                      _settings(overrides, replications=replications, seed=seed), zip_)
    out = out or Path("out") / f"sweep-{points[0].scenario.name}"
    result = _execute(experiment.execute, points, engine=engine, executor=spec, out=out,
                      resume=resume, progress=_progress(f"sweep ({len(points)} points)"))
    experiment.save(result, out)
    console.print(f"{len(points)} points; wrote {out}/summary.csv, summary_ci.csv, intervals",
                  highlight=False)


@app.command()
def validate(config: ConfigArg, overrides: SetOpt = None) -> None:
    """Check a config and print the scenario it resolves to."""
    import yaml

    loaded = _load(config, overrides)
    console.print(yaml.safe_dump(loaded.scenario.model_dump(mode="json"), sort_keys=False),
                  highlight=False, markup=False)
    console.print(f"[green]ok:[/] {config} is a valid scenario ({loaded.scenario.name})")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="results directory of `contactsim run`",
                                            show_default=False)],
    compare: Annotated[Path | None, typer.Option(
        "--compare", help="a second results directory: paired differences and overlaid curves",
    )] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="HTML file to write [RESULTS/report.html]; PNGs go beside it",
    )] = None,
) -> None:
    """Write a self-contained HTML report of a run (or of two runs compared) with its figures."""
    from contactsim.report import ReportError, write_report  # matplotlib only when needed

    try:
        written = write_report(results, output or results / "report.html", compare)
    except ReportError as exc:
        _fail(str(exc))
        return
    console.print(f"wrote {written[0]} and {len(written) - 1} figure(s) beside it",
                  highlight=False)


@app.command()
def staff(
    config: ConfigArg,
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="CHANNEL=LEVEL@TIME, e.g. 999=0.90@10s or 101=90%@30s (repeatable)",
    )] = None,
    write_roster: Annotated[Path | None, typer.Option(
        "--write-roster", help="write a config that extends CONFIG with the proposed rosters",
    )] = None,
    replications: Annotated[int | None, typer.Option(
        min=2, help="replications of every simulation [10]")] = None,
    out: Annotated[Path | None, typer.Option(
        help="directory for roster.csv, intervals.csv, summary.csv [out/NAME-staff]")] = None,
    overrides: SetOpt = None,
) -> None:
    """The fewest handlers per pool and interval meeting service-level targets: Erlang A per
    interval, and the simulation-based iterative staffing algorithm, verified with CIs."""
    from contactsim import staffing

    loaded = _load(config, overrides)
    try:
        targets = staffing.resolve_targets(loaded.scenario, list(target or []))
    except staffing.TargetError as exc:
        _fail(str(exc))
        return
    if write_roster is not None and write_roster.is_dir():
        _fail(f"--write-roster: {write_roster} is a directory; give a file name like staffed.yaml")
    result = staffing.staff(loaded.scenario, targets, replications or 10,
                            log=lambda message: errors.print(message, highlight=False))
    written = staffing.write_outputs(result, out or Path("out") / f"{loaded.scenario.name}-staff")
    for view in staffing.views(result):
        console.print(view)
    console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
    if write_roster is not None:
        path = staffing.write_roster(result, config, write_roster, list(overrides or []))
        console.print(f"wrote {path}: run it with `contactsim run {path}`", highlight=False)


@app.command()
def calibrate(
    config: ConfigArg,
    observed: Annotated[Path, typer.Option(help="observed KPIs (configs/observed/*.yaml)")],
    fit: Annotated[list[str], typer.Option(help="PARAM or PARAM=LOW:HIGH to fit (repeatable)")],
    replications: Annotated[int, typer.Option(min=1, help="replications per evaluation")] = 5,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="fitted config to write [CONFIG-fitted.yaml]")] = None,
    method: Annotated[str, typer.Option(help="least-squares, nelder-mead or grid")] = (
        "least-squares"),
    budget: Annotated[int, typer.Option(min=2, help="most simulator evaluations")] = 150,
    starts: Annotated[int, typer.Option(min=0, help="extra Latin-hypercube starting points "
                                        "(multi-start)")] = 2,
    kpi: Annotated[list[str] | None, typer.Option(
        help="fit only these observed KPIs (their keys; repeatable) [all]")] = None,
    overrides: SetOpt = None,
) -> None:
    """Fit parameters so the simulated KPIs match observed ones (common random numbers)."""
    from contactsim import calibrate as cal

    loaded = _load(config, overrides)
    try:
        obs = cal.read_observed(observed)
        if kpi:
            obs = obs.subset(kpi)
        params = [cal.parse_fit(spec, loaded.scenario) for spec in fit]
        cal.check_counts(params, obs.targets)
    except cal.CalibrationError as exc:
        _fail(str(exc))
        raise
    output = output or config.with_name(config.stem + "-fitted.yaml")
    command = " ".join(["contactsim calibrate"] + [Path(a).as_posix() if "/" in a else a
                                                   for a in sys.argv[2:]])
    try:
        result = cal.calibrate(config, obs, params, replications=replications,
                               overrides=overrides or [], method=method, budget=budget,
                               starts=starts, progress=lambda n, c: errors.print(
                                   f"  evaluation {n}: cost {c:.4g}", highlight=False))
    except cal.CalibrationError as exc:
        _fail(str(exc))
        raise
    cal.write_fitted(result, output, command)
    console.print("\n".join(cal.summary_lines(result)), highlight=False, markup=False)
    console.print(f"wrote {output} ({result.evaluations} evaluations, "
                  f"{result.runtime_s:.0f} s)", highlight=False)


@app.command()
def reproduce(
    report: Annotated[Path, typer.Option(help="report to write")] = Path(
        "results/reproduction.md"),
    fitted: Annotated[Path, typer.Option(help="fitted July config to write")] = Path(
        "configs/met-2018-07-fitted.yaml"),
    replications: Annotated[int, typer.Option(min=2, help="replications per prediction")] = 20,
    fit_replications: Annotated[int, typer.Option(min=2, help="replications per fit "
                                                  "evaluation")] = 5,
    sensitivity: Annotated[bool, typer.Option(help="run the sensitivity analysis")] = True,
    mechanism: Annotated[bool, typer.Option(help="run the mechanism check")] = True,
    overrides: SetOpt = None,
) -> None:
    """Calibrate July 2018, predict September 2018 with the IVR, write results/reproduction.md."""
    from contactsim import reproduce as rp

    settings = rp.Settings(report=report, fitted=fitted, replications=replications,
                           fit_replications=fit_replications, sensitivity=sensitivity,
                           mechanism=mechanism, overrides=list(overrides or []),
                           command=" ".join(["contactsim reproduce"] + sys.argv[2:]))
    for path in (settings.config, settings.september, settings.observed_july):
        if not path.is_file():
            _fail(f"{path}: file not found (run from a clone of the repository)")
    result = rp.run(settings, lambda message: errors.print(f"  {message}", highlight=False))
    console.print(f"wrote {report} and {fitted} in {result.runtime_s / 60:.1f} min",
                  highlight=False)


def main() -> None:
    """Console-script entry point."""
    tune_memory()
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
