"""Where a simulated year's wall time goes: by phase, by engine run and by random stream.

    python benchmarks/profile_year.py [CONFIG] [--rounds N] [--streams N] [--cprofile N] [--json]

Runs the year benchmark's replication (``benchmarks/year.py``: a year of ``CONFIG`` demand,
default ``configs/met-2018-07.yaml``, as every replication of a command-line run) ``N`` times in
this process and prints, for each round and as the median over rounds:

* the phases: arrivals and their merge into one caller order (``InputSampler()``), the
  call-handling draws (``InputSampler.calls``), the call-handling engine run, the downstream
  draws (``InputSampler.inputs``), the two downstream engine runs, the metrics; "everything
  else" is mostly picking and sorting the downstream stages' jobs and finishing their times
  (``contactsim.caller_values``);
* the ``--streams`` most expensive named streams: how many values each drew and how long the
  draws took (the placing of the values in caller order is not included);
* with ``--cprofile N``, the N functions with the most time of their own over one extra round.

``--json`` prints one JSON line instead of the tables: each round's wall time and each phase's
seconds per round, "everything else" included (``benchmarks/year_ab.py`` reads it to compare
two revisions).

The timers are those of the year benchmark (``year_phases.py``).  The host's speed drifts from
one round to the next (a phase may take 30% longer in one round than in the next), so compare
medians, and compare variants side by side in alternate runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path

import numpy as np
from year_phases import CONFIG, Timings, instrument, warm_up, year_scenario

from contactsim import allocator, metrics, stages


def _one_round(year) -> float:
    started = time.perf_counter()
    metrics.summary_table(stages.simulate(year, 0, keep_inputs=False))
    return time.perf_counter() - started


def _print_table(title: str, rounds: list[Timings], walls: list[float] | None, top: int) -> None:
    names = sorted(rounds[0].seconds, key=lambda n: -np.median([r.seconds[n] for r in rounds]))
    print(f"\n{title}")
    print(f"{'':40s} {'values':>12s} {'median s':>9s}   rounds (s)")
    for name in names[:top]:
        per_round = [r.seconds[name] for r in rounds]
        print(f"{name:40s} {rounds[0].values[name]:12,d} {np.median(per_round):9.3f}   "
              + " ".join(f"{s:.3f}" for s in per_round))
    if walls is not None:
        accounted = [sum(r.seconds.values()) for r in rounds]
        rest = [w - a for w, a in zip(walls, accounted)]
        print(f"{'everything else':40s} {'':12s} {np.median(rest):9.3f}   "
              + " ".join(f"{s:.3f}" for s in rest))
        print(f"{'wall':40s} {'':12s} {np.median(walls):9.3f}   "
              + " ".join(f"{s:.3f}" for s in walls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", nargs="?", type=Path, default=CONFIG)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=12)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--json", action="store_true", help="one JSON line, no tables")
    args = parser.parse_args()

    # as the command line does (revisions before tune_memory() tuned malloc alone: year_ab.py)
    getattr(allocator, "tune_memory", allocator.keep_freed_memory)()
    warm_up(args.config)  # compile / load the cache first
    year = year_scenario(args.config)
    phase_rounds, stream_rounds, walls = [], [], []
    phases, streams = Timings(), Timings()
    instrument(phases, streams)
    for _ in range(args.rounds):
        phases.clear(), streams.clear()
        walls.append(_one_round(year))
        phase_rounds.append(_snapshot(phases))
        stream_rounds.append(_snapshot(streams))
    if args.json:
        phases_s = {name: [r.seconds[name] for r in phase_rounds]
                    for name in phase_rounds[0].seconds}
        phases_s["everything else"] = [w - sum(r.seconds.values())
                                       for w, r in zip(walls, phase_rounds)]
        print(json.dumps({"walls": walls, "phases": phases_s}))
        return
    print(f"{args.config.name}, one year, {args.rounds} rounds")
    _print_table("phases (values: callers or jobs of the engine run)", phase_rounds, walls, 99)
    _print_table("streams (values drawn; placing them not included)", stream_rounds, None,
                 args.streams)
    print(f"{'all streams':40s} {sum(stream_rounds[0].values.values()):12,d} "
          f"{np.median([sum(r.seconds.values()) for r in stream_rounds]):9.3f}")
    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(_one_round, year)
        print()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)


def _snapshot(timings: Timings) -> Timings:
    copy = Timings()
    copy.seconds.update(timings.seconds)
    copy.values.update(timings.values)
    return copy


if __name__ == "__main__":
    main()
