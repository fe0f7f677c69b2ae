"""A simulated year under another revision's code against the working tree's, phase by phase,
in alternating processes.

    python benchmarks/year_ab.py REV [CONFIG] [--pairs 4] [--rounds 3]

``kernel_ab.py`` compares two event loops inside one process.  A change elsewhere in a year's
pipeline — sampling, the stages, the metrics — spans modules that cannot be loaded twice in
one process, so this compares whole processes instead: ``REV``'s ``src/`` (any git revision) is
extracted into a temporary directory, and ``benchmarks/profile_year.py --json`` (the working
tree's script, so both sides are timed alike) runs alternately on it and on the working tree's
``src/``, in pairs whose order alternates (ABBA).  Each process runs ``--rounds`` years after an
untimed warm-up, and gives each phase's median over its rounds, under the memory settings
that revision's command line applies (``contactsim.allocator``).  A first untimed process per
side compiles its numba cache (tens of seconds for ``REV``).

It prints, per phase and for the year's wall time, both sides' medians over the pairs, the
median of the pairs' differences (working tree - ``REV``, negative when the working tree is
faster) and how many pairs favour the working tree.  Processes on this host drift by 10-30%
from one minute to the next, more than most changes to one phase, which is why it reports
paired differences.  A year's first round in a process also pays for faulting in fresh memory
(``first_touch.py``); the median over three rounds sets it aside.  The phases are those
``year_phases.py`` instruments, so ``REV`` must have the functions it wraps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from year_phases import CONFIG

ROOT = Path(__file__).resolve().parents[1]
PROFILE = Path(__file__).resolve().parent / "profile_year.py"


def extract_src(rev: str, into: Path) -> Path:
    """``rev``'s ``src/`` directory, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:  # our own repository's archive
            tar.extractall(into)
    return into / "src"


def run_year(src: Path, config: Path, rounds: int) -> dict:
    """One process of ``profile_year.py --json`` with ``src`` first on the import path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(src)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    out = subprocess.run(
        [sys.executable, str(PROFILE), str(config), "--rounds", str(rounds), "--json"],
        check=True, capture_output=True, text=True, env=env, cwd=ROOT,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    medians = {name: statistics.median(times) for name, times in result["phases"].items()}
    medians["wall"] = statistics.median(result["walls"])
    return medians


def compare(pairs: list[tuple[dict, dict]]) -> list[str]:
    """Lines of the table: per phase, both sides' medians and the paired differences."""
    names = list(pairs[0][0])
    lines = [f"{'':40s} {'working':>8s} {'REV':>8s} {'diff':>8s}   working faster",
             f"{'':40s} {'(s)':>8s} {'(s)':>8s} {'(s)':>8s}"]
    for name in names:
        mine = [w[name] for w, _ in pairs]
        theirs = [r[name] for _, r in pairs]
        diffs = [a - b for a, b in zip(mine, theirs)]
        faster = sum(d < 0 for d in diffs)
        lines.append(f"{name:40s} {statistics.median(mine):8.3f} {statistics.median(theirs):8.3f}"
                     f" {statistics.median(diffs):+8.3f}   in {faster} of {len(pairs)} pairs")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision to compare the working tree against")
    parser.add_argument("config", nargs="?", type=Path, default=CONFIG)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.pairs < 1 or args.rounds < 1:
        parser.error("--pairs and --rounds must be at least 1")
    config = args.config.resolve()
    with tempfile.TemporaryDirectory(prefix="year_ab_") as tmp:
        sides = {"working": ROOT / "src", "REV": extract_src(args.rev, Path(tmp))}
        for src in sides.values():
            run_year(src, config, 1)  # compile or load each side's numba cache, untimed
        pairs = []
        for i in range(args.pairs):
            order = ["working", "REV"] if i % 2 == 0 else ["REV", "working"]
            got = {side: run_year(sides[side], config, args.rounds) for side in order}
            pairs.append((got["working"], got["REV"]))
            print(f"pair {i + 1}: wall working {got['working']['wall']:.3f} s, "
                  f"REV {got['REV']['wall']:.3f} s", flush=True)
    print(f"\n{config.name}, one year; working tree against {args.rev}: {args.pairs} pairs of "
          f"processes, {args.rounds} rounds each (medians over rounds, then over pairs)")
    print("\n".join(compare(pairs)))


if __name__ == "__main__":
    main()
