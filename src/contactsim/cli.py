"""The ``contactsim`` command line: the only module that reads argv.

Commands load and validate everything first, so that a bad config or option exits with code 2
and one clear message before any simulation runs or any file is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Iterable, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from contactsim import experiment
from contactsim.config import ConfigError, LoadedConfig, load
from contactsim.display import summary_view
from contactsim.stages import ENGINES
from contactsim.store import write_json, write_table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate police contact handling: 999, 101 and online, IVR, handlers, TDIU, response.",
)
console = Console(width=max(Console().width, 110))
errors = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="scenario YAML file", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="override a field, e.g. --set ivr.enabled=false (repeatable)"),
]


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _load(config: Path, overrides: list[str] | None, **fields) -> LoadedConfig:
    extra = [f"{k}={v}" for k, v in fields.items() if v is not None]
    try:
        return load(config, list(overrides or []) + extra)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


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


@app.command()
def run(
    config: ConfigArg,
    replications: Annotated[Optional[int], typer.Option(min=1, help="replications")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, help="root random seed")] = None,
    out: Annotated[Optional[Path], typer.Option(help="output directory [out/NAME]")] = None,
    engine: Annotated[str, typer.Option(help="fast or simpy")] = "fast",
    overrides: SetOpt = None,
) -> None:
    """Run a scenario and write summary, intervals and manifest to the output directory."""
    if engine not in ENGINES:
        _fail(f"--engine: unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    loaded = _load(config, overrides, replications=replications, seed=seed)
    scenario = loaded.scenario
    out = out or Path("out") / scenario.name
    result = experiment.run(scenario, engine=engine, progress=_progress(scenario.name))
    write_table(out, "summary", result.summary)
    write_table(out, "intervals", result.intervals)
    write_table(out, "summary_ci", result.summary_ci)
    write_json(out, "manifest.json", {**result.manifest, "config_file": str(config)})
    console.print(summary_view(scenario, result.summary_ci))
    console.print(f"wrote {out}/summary.csv, intervals.csv (+ .parquet), manifest.json "
                  f"in {result.manifest['wall_time_s']:.2f} s", highlight=False)


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
    compare: Annotated[Optional[Path], typer.Option(
        "--compare", help="a second results directory: paired differences and overlaid curves",
    )] = None,
    output: Annotated[Optional[Path], typer.Option(
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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)
