"""Timers around the phases of one replication: where a simulated year's wall time goes.

``instrument()`` wraps the functions of each phase — arrivals and caller order, call-handling
draws, the three engine runs, downstream draws, metrics — and every named stream's draws with
timers that add up seconds (and how many callers, jobs or values) under a name.  The wrappers
call the wrapped function unchanged, so the records are the same; their own cost is a few
hundred clock readings per replication (one per stream and caller group).  Used by the year
benchmark (``year.py``), whose JSON line then carries its phases, and by ``profile_year.py``;
with ``draws_read.py`` they share the year's scenario (``year_scenario``) and ``warm_up``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from contactsim import inputs, metrics, stages
from contactsim.config import load
from contactsim.schema import Scenario

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "met-2018-07.yaml"


def year_scenario(config: Path = CONFIG) -> Scenario:
    """The year benchmark's scenario: a calendar year of ``config``'s demand, no warm-up."""
    return load(config, ["horizon_days=365", "warmup=0", "start_date=2018-01-01"]).scenario


def warm_up(config: Path = CONFIG) -> None:
    """Run one day of ``config`` so that the engine is compiled or loaded before any timing."""
    metrics.summary_table(stages.simulate(load(config, ["horizon_days=1", "warmup=0"]).scenario, 0))


class Timings:
    """Seconds and counts accumulated under names."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.values: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float, values: int = 0) -> None:
        self.seconds[name] += seconds
        self.values[name] += values

    def clear(self) -> None:
        self.seconds.clear()
        self.values.clear()

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: {"s": round(s, 4), "values": self.values[name]}
                for name, s in sorted(self.seconds.items(), key=lambda item: -item[1])}


def _timed(function, timings: Timings, name_of, values_of=lambda *args, result: 0):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        timings.add(name_of(*args), time.perf_counter() - started, values_of(*args, result=result))
        return result
    return wrapper


def instrument(phases: Timings, streams: Timings) -> None:
    """Time the phases into ``phases`` and each named stream's draws into ``streams``.

    Streams are named ``purpose:channel`` (summed over caller groups); their time is the
    drawing only, not placing the values in caller order, which counts in the phase."""
    sampler, drawer = inputs.InputSampler, inputs._Drawer
    sampler.__init__ = _timed(sampler.__init__, phases,
                              lambda *a: "draws: arrivals, caller order")
    sampler.calls = _timed(sampler.calls, phases, lambda *a: "draws: call handling")
    sampler.inputs = _timed(sampler.inputs, phases, lambda *a: "draws: downstream")
    drawer.draw = _timed(drawer.draw, streams,
                         lambda self, purpose, target, k, sample: f"{purpose}:{target or '-'}",
                         lambda *a, result: result.size)
    stages.ENGINES["fast"] = _timed(stages.ENGINES["fast"], phases,
                                    lambda system: f"engine: {'+'.join(system.pool_names)}",
                                    lambda system, result: system.n_callers)
    metrics.summary_table = _timed(metrics.summary_table, phases, lambda *a: "metrics")
