"""The bad-config corpus, and the figures docs/reliability.md quotes.

Every ``*.yaml`` here (except helpers whose name starts with ``_``) is a config with one thing
wrong.  Its header states the error it must produce::

    # Bad: a negative daily volume.
    # expect: channels.101.daily_volume: expected a number >= 0 (got -100)
    # names: _bad-parent.yaml        (optional: the file the error must name; default this one)

``expect`` is ``FIELD.PATH: FRAGMENT``: the error must be about exactly that path (``-`` for a
problem with the file as a whole, ``line N, column M`` for invalid YAML) and contain the fragment.

Run this file to try every case (and the config fuzz) and print the table of figures::

    python tests/bad_configs/summarise.py        # in-process: contactsim.config.load (~15 s)
    python tests/bad_configs/summarise.py --cli  # also `contactsim run` and `validate` on each
                                                 # (two subprocesses a case: minutes)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
TESTS = CORPUS.parent


@dataclass(frozen=True)
class Case:
    """One bad config and the error it must produce."""

    file: Path
    about: str
    path: str  # the field path the error names ('' for the file as a whole)
    fragment: str  # text the message must contain
    names: str  # the file name the error must name

    @property
    def name(self) -> str:
        return self.file.stem


def parse(file: Path) -> Case:
    """Read a case's header comments (the file itself may not be valid UTF-8, or YAML)."""
    header = {}
    for line in file.read_bytes().decode("utf-8", errors="replace").splitlines():
        match = re.match(r"#\s*(Bad|expect|names):\s*(.*)$", line)
        if match:
            header[match.group(1)] = match.group(2).strip()
    if "expect" not in header:
        raise ValueError(f"{file}: no '# expect: PATH: FRAGMENT' line")
    path, sep, fragment = header["expect"].partition(": ")
    if not sep or not fragment:
        raise ValueError(f"{file}: expected '# expect: PATH: FRAGMENT', got {header['expect']!r}")
    return Case(file, header.get("Bad", ""), "" if path == "-" else path, fragment,
                header.get("names", file.name))


def cases() -> list[Case]:
    return [parse(f) for f in sorted(CORPUS.glob("*.yaml")) if not f.name.startswith("_")]


def problems_with(case: Case, source: str, path: str, message: str) -> list[str]:
    """What is wrong with an error (empty if it is the one the case expects)."""
    found = []
    if Path(source).name != case.names:
        found.append(f"names {source!r}, expected {case.names!r}")
    if path != case.path:
        found.append(f"path {path!r}, expected {case.path!r}")
    if case.fragment not in message:
        found.append(f"message {message!r} lacks {case.fragment!r}")
    if "\n" in message or not message.strip():
        found.append("message is not one non-empty line")
    return found


def problems_with_stderr(case: Case, stderr: str) -> list[str]:
    """What is wrong with the CLI's stderr: it must be one line, 'error: FILE: PATH: ...'."""
    lines = stderr.strip().splitlines()
    if "Traceback" in stderr:
        return ["a Python traceback"]
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return [f"stderr is not one 'error:' line: {stderr!r}"]
    where = f"{case.names}: {case.path}: " if case.path else f"{case.names}: "
    found = [] if where in lines[0] else [f"stderr lacks {where!r}: {lines[0]!r}"]
    if case.fragment not in lines[0]:
        found.append(f"stderr lacks {case.fragment!r}: {lines[0]!r}")
    return found


def try_load(case: Case) -> tuple[str, str]:
    """('refused' | 'wrong error' | 'accepted' | 'crash', detail) for ``load`` on the case."""
    from contactsim.config import ConfigError, load

    try:
        load(case.file)
    except ConfigError as exc:
        found = problems_with(case, exc.source, exc.path, exc.message)
        return ("wrong error", "; ".join(found)) if found else ("refused", str(exc))
    except Exception as exc:  # noqa: BLE001 - counting crashes is the point
        return "crash", f"{type(exc).__name__}: {exc}"
    return "accepted", "loaded without error"


def contactsim_command() -> list[str]:
    exe = Path(sys.executable).with_name("contactsim")
    return [str(exe)] if exe.exists() else [shutil.which("contactsim") or "contactsim"]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(contactsim_command() + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def try_cli(case: Case) -> tuple[str, str]:
    """Outcome of `contactsim run FILE --out DIR/out` and `contactsim validate FILE`."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for args in (["run", str(case.file), "--out", str(work / "out")],
                     ["validate", str(case.file)]):
            done = run_cli(args, work)
            if "Traceback" in done.stderr or done.returncode not in (0, 2):
                return "crash", f"{args[0]}: exit {done.returncode}: {done.stderr[-300:]!r}"
            if done.returncode == 0:
                return "accepted", f"{args[0]} exited 0"
            found = problems_with_stderr(case, done.stderr)
            if any(work.iterdir()):
                found.append(f"{args[0]} wrote {sorted(p.name for p in work.iterdir())}")
            if found:
                return "wrong error", f"{args[0]}: " + "; ".join(found)
    return "refused", ""


def fuzz() -> tuple[int, int, int, str]:
    """(examples run, accepted, refused, failure) of tests/test_config_fuzz.py, run as pytest
    runs it (same fixed examples)."""
    sys.path.insert(0, str(TESTS))
    import test_config_fuzz as fz

    fz.OUTCOMES.clear()
    failure = ""
    try:
        fz.test_mutated_configs_load_or_refuse_clearly()
    except Exception as exc:  # noqa: BLE001 - a failing fuzz is a figure too
        failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return (sum(fz.OUTCOMES.values()), fz.OUTCOMES["accepted"], fz.OUTCOMES["refused"], failure)


def count(outcomes: dict[str, tuple[str, str]], outcome: str) -> int:
    return sum(1 for o, _ in outcomes.values() if o == outcome)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", action="store_true", help="also run the CLI on every case")
    parser.add_argument("--no-fuzz", action="store_true", help="skip the config fuzz")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    started = time.perf_counter()
    all_cases = cases()
    results = {c.name: try_load(c) for c in all_cases}
    cli = {}
    if args.cli:
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            cli = dict(zip(results, pool.map(try_cli, all_cases)))
    bad = 0
    for name, (outcome, detail) in results.items():
        for how, (o, d) in (("load", (outcome, detail)), ("cli", cli.get(name, ("refused", "")))):
            if o != "refused":
                bad += 1
                print(f"{name} [{how}]: {o}: {d}")
            elif args.verbose and how == "load":
                print(f"{name}: {d}")
    run, accepted, refused, failure = (0, 0, 0, "") if args.no_fuzz else fuzz()
    rows = [
        ("bad configs tried", len(all_cases)),
        ("refused with the expected error (load)", count(results, "refused")),
        ("refused with another error (load)", count(results, "wrong error")),
        ("silent accepts (load)", count(results, "accepted")),
        ("crashes (load: an exception other than ConfigError)", count(results, "crash")),
    ]
    if args.cli:
        rows += [
            ("refused as expected by the CLI (run and validate: exit 2, one line, nothing "
             "written)", count(cli, "refused")),
            ("refused with another error or output (CLI)", count(cli, "wrong error")),
            ("silent accepts (CLI)", count(cli, "accepted")),
            ("crashes (CLI: traceback or exit code other than 0 or 2)", count(cli, "crash")),
        ]
    rows += [
        ("fuzz examples run", run),
        ("fuzz examples accepted (a valid Scenario)", accepted),
        ("fuzz examples refused with a ConfigError naming a field", refused),
        ("fuzz crashes", 1 if failure else 0),
    ]
    print("\n| figure | value |\n|---|---:|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    if failure:
        print(f"\nfuzz failure: {failure}")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 1 if bad or failure else 0


if __name__ == "__main__":
    sys.exit(main())
