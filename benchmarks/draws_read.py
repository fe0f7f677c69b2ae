"""How many of a simulated year's random draws the run actually reads, stream by stream.

    python benchmarks/draws_read.py [CONFIG]

Each attribute is drawn for every caller who *can* reach its channel (``inputs.py``), so
that two scenarios share their callers wherever their configs agree.  This runs the year
benchmark's replication once (a year of ``CONFIG``, default ``configs/met-2018-07.yaml``),
times every named stream's draws (``year_phases.py``) and counts, from the records, the
callers whose values the run read:

* handling time: callers with a contact answered under that handling variant;
* patience: callers with a contact that waited in that channel's queue (a contact answered
  on arrival never has its patience read);
* outcome: callers with a contact completed on that channel;
* IVR path and menu time: callers with a contact that went through the IVR;
* redial decision *k*: callers whose contact of attempt *k* was abandoned (the decision only
  matters then); redial delay *k*: those of them who called back; redial channel: callers
  who called back at all;
* TDIU investigation, travel and on-scene times: callers behind a TDIU or response job.

The last column prorates each stream's drawing time by the share read: roughly what drawing
only where a contact is routed would cost, which is what the year's 3 s target would need
(``results/benchmarks.md``).  Such draws would no longer be shared between scenarios whose
routing differs, so this is an estimate for that decision, not a plan.  It keeps the year's
inputs for the counts: about 1.6 GB of memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from year_phases import CONFIG, Timings, instrument, year_scenario

from contactsim import stages
from contactsim.allocator import keep_freed_memory
from contactsim.inputs import _variants
from contactsim.schema import CHANNELS
from contactsim.system import ABANDONED, COMPLETED


def _callers(records, mask) -> int:
    """Distinct callers among the records selected by ``mask``."""
    return int(np.unique(records.caller[mask]).size)


def read_counts(scenario, rep) -> dict[str, int]:
    """Callers whose value of each stream (``purpose:channel``) the replication read."""
    calls, system = rep.calls, rep.inputs.calls
    answered = ~np.isnan(calls.answer)
    waited = ~np.isnan(calls.queue_entry) & ~(calls.answer == calls.queue_entry)
    read: dict[str, int] = {}
    variant = np.full(len(calls), -1)
    variant[answered] = system.variant[calls.pool[answered], calls.klass[answered]]
    for v, (channel, key) in enumerate(_variants(scenario)):
        read[f"handling:{key}:{channel}"] = _callers(calls, variant == v)
    for c, channel in enumerate(CHANNELS):
        mine = calls.klass == c
        read[f"patience:{channel}"] = _callers(calls, mine & waited)
        read[f"outcome:{channel}"] = _callers(calls, mine & (calls.status == COMPLETED))
    through_ivr = calls.ivr >= 0
    read["ivr_path:101"] = read["ivr_time:101"] = _callers(calls, through_ivr)
    called_back = np.zeros(int(calls.caller.max()) + 1, bool)
    called_back[calls.caller[calls.attempt > 0]] = True
    read["redial_channel:101"] = int(called_back.sum())
    for attempt in range(int(calls.attempt.max()) + 1):
        gave_up = (calls.attempt == attempt) & (calls.status == ABANDONED)
        read[f"redial_decision{attempt}:-"] = _callers(calls, gave_up)
        again = np.zeros(called_back.size, bool)
        again[calls.caller[calls.attempt == attempt + 1]] = True
        for c, channel in enumerate(CHANNELS):
            on = gave_up & again[calls.caller] & (calls.klass == c)
            read[f"redial_delay{attempt}:{channel}"] = _callers(calls, on)
    for stage, names in ((rep.tdiu, ["tdiu:-"]), (rep.response, ["travel:-", "on_scene:-"])):
        jobs = int(np.unique(stage.job_caller[stage.job_caller >= 0]).size) if stage else 0
        read.update(dict.fromkeys(names, jobs))
    return read


def main() -> None:
    config = Path(sys.argv[1]) if len(sys.argv) > 1 else CONFIG
    keep_freed_memory()
    year = year_scenario(config)
    streams = Timings()
    instrument(Timings(), streams)
    rep = stages.simulate(year, 0)  # keeps the inputs: the counts need the routing tables
    read = read_counts(year, rep)
    print(f"{config.name}, one year: values drawn and read, by stream")
    print(f"{'stream':28s} {'drawn':>12s} {'read':>12s} {'share':>6s} {'draw s':>7s} "
          f"{'prorated s':>10s}")
    total = {"drawn": 0, "read": 0, "s": 0.0, "prorated": 0.0}
    for name, seconds in sorted(streams.seconds.items(), key=lambda item: -item[1]):
        drawn = streams.values[name]
        used = min(read.get(name, drawn), drawn)  # a stream not accounted for counts as read
        prorated = seconds * used / drawn if drawn else 0.0
        print(f"{name:28s} {drawn:12,d} {used:12,d} {used / drawn:6.0%} {seconds:7.3f} "
              f"{prorated:10.3f}" + ("" if name in read else "   (not counted: all read)"))
        for key, value in (("drawn", drawn), ("read", used), ("s", seconds),
                           ("prorated", prorated)):
            total[key] += value
    print(f"{'all streams':28s} {total['drawn']:12,d} {total['read']:12,d} "
          f"{total['read'] / total['drawn']:6.0%} {total['s']:7.3f} {total['prorated']:10.3f}")


if __name__ == "__main__":
    main()
