"""What the Met week's features cost the fast engine: the same callers with the IVR, redial or
the roster's changes taken away.

    python benchmarks/met_week_features.py [--rounds N]

Samples one week of ``configs/met-2018-09.yaml`` call handling (the engine benchmark's
inputs) and runs the fast engine on it as it is and on copies with one feature switched off:
no IVR (101 callers go straight to the queue), no redial (nobody calls back, so no
abandonment timers), both, and a flat roster (every pool at its largest size all week).  The
variants are run alternately, ``N`` rounds, and compared by their median time per contact;
the records differ, so each variant's contact count is printed beside it, and the week as
configured says how many IVR menu ends (and how many of them are events: those leading to a
queue), abandonment timers and later attempts it had.  This is an
attribution of the loop's cost, not a benchmark: the variants are different models.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from contactsim import engine
from contactsim.allocator import keep_freed_memory
from contactsim.config import load
from contactsim.inputs import sample_inputs
from contactsim.system import IVR_DIVERT_ONLINE, IVR_ROUTED, QueueSystem

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "met-2018-09.yaml"


def variants(system: QueueSystem) -> dict[str, QueueSystem]:
    no_redial = np.zeros_like(system.redials)
    flat = np.repeat(system.roster.max(axis=1, keepdims=True), system.roster.shape[1], axis=1)
    return {
        "as configured": system,
        "no IVR": dataclasses.replace(system, ivr_class=-1),
        "no redial": dataclasses.replace(system, redials=no_redial),
        "no IVR, no redial": dataclasses.replace(system, ivr_class=-1, redials=no_redial),
        "flat roster": dataclasses.replace(system, roster=flat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    keep_freed_memory()  # as the command line does
    scenario = load(CONFIG, ["horizon_days=7", "warmup=0"]).scenario
    systems = variants(sample_inputs(scenario, 0).calls)
    contacts = {name: len(engine.run(s)) for name, s in systems.items()}  # compiles first
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, system in systems.items():
            started = time.perf_counter()
            engine.run(system)
            seconds[name].append(time.perf_counter() - started)
    as_configured = systems["as configured"]
    records = engine.run(as_configured)
    queued = ~np.isnan(records.queue_entry) & ~(records.answer == records.queue_entry)
    timers = queued & (records.attempt < as_configured.redials[records.caller])
    to_queue = (records.ivr == IVR_ROUTED) | (
        (records.ivr == IVR_DIVERT_ONLINE) & (as_configured.divert_class >= 0))
    print(f"as configured: {np.count_nonzero(records.ivr >= 0):,} IVR menu ends "
          f"({np.count_nonzero(to_queue):,} leading to a queue, the engine's IVR_END events), "
          f"{np.count_nonzero(timers):,} abandonment timers set (queued contacts who would "
          f"call back), {np.count_nonzero(records.attempt > 0):,} later attempts (redials and "
          f"online reports)")
    base = np.median(seconds["as configured"])
    print(f"{CONFIG.name}, one week, median of {args.rounds} alternating rounds")
    print(f"{'':20s} {'contacts':>9s} {'ms':>7s} {'ns/contact':>11s} {'vs as configured':>17s}")
    for name, times in seconds.items():
        median = float(np.median(times))
        print(f"{name:20s} {contacts[name]:9,d} {median * 1e3:7.2f} "
              f"{median / contacts[name] * 1e9:11.0f} {median / base:17.0%}")


if __name__ == "__main__":
    main()
