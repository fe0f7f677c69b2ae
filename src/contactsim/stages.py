"""Stages: call handling, then the TDIU and response officers, each one run of the same engine.

Downstream stages do not feed back into call handling (MODEL.md), so one replication is three
runs in sequence.  Call handling produces, for every handled contact, an outcome at the moment
its handling ended; crime reports allocated to the TDIU become jobs of the TDIU stage, and
incidents (plus crimes passed for deployment) become jobs of the response stage, classed by grade
I > S > E.  A stage is just another :class:`~contactsim.system.QueueSystem` — one pool, no
abandonment, no redial — so the same engine runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from contactsim import engine, reference
from contactsim.inputs import (
    CRIME_DEPLOY,
    CRIME_TDIU,
    INCIDENT_E,
    INCIDENT_I,
    INCIDENT_S,
    InputSampler,
    ScenarioInputs,
)
from contactsim.schema import GRADES, Scenario
from contactsim.system import COMPLETED, QueueSystem, Records

ENGINES: dict[str, Callable[[QueueSystem], Records]] = {
    "fast": engine.run,
    "simpy": reference.run,
}


@dataclass(frozen=True)
class Stage:
    """A downstream stage's run: jobs (by caller) and what the engine made of them."""

    system: QueueSystem
    records: Records
    job_caller: np.ndarray  # caller behind each job (caller index of the records' 'caller')
    extra: dict[str, np.ndarray]  # per job, e.g. travel time for response


@dataclass(frozen=True)
class Replication:
    """One replication of a scenario: call handling and the downstream stages."""

    scenario: Scenario
    replication: int
    inputs: ScenarioInputs
    calls: Records
    outcome: np.ndarray  # per call record: outcome code if completed, else -1
    tdiu: Stage | None
    response: Stage | None


def simulate(scenario: Scenario, replication: int, engine_name: str = "fast", *,
             keep_inputs: bool = True) -> Replication:
    """Sample and run one replication end to end.

    ``keep_inputs=False`` is for callers that only want the replication's tables: the
    downstream draws are made only after call handling has run, the call-handling draws are
    dropped as soon as that run is over, and the returned ``inputs`` and stage systems keep
    their structure only — rosters, routing and names, all the metrics read.  The records are
    the same either way; a year of Met demand needs about a third less memory.
    """
    run = ENGINES[engine_name]
    sampler = InputSampler(scenario, replication)
    system = sampler.calls()
    calls = run(system)
    if not keep_inputs:
        system = system.without_callers()
    inputs = sampler.inputs(system)
    del sampler, system
    outcome = handled_outcomes(inputs, calls)
    tdiu = _tdiu_stage(scenario, inputs, calls, outcome, run, keep_inputs)
    response = _response_stage(scenario, inputs, calls, outcome, run, keep_inputs)
    if not keep_inputs:
        inputs = inputs.without_callers()
    return Replication(scenario, replication, inputs, calls, outcome, tdiu, response)


def handled_outcomes(inputs: ScenarioInputs, calls: Records) -> np.ndarray:
    """The outcome of each completed contact, -1 for the others (int8)."""
    out = np.empty(len(calls), np.int8)
    if len(calls) and not (calls.klass.max() < inputs.outcome.shape[0]
                           and calls.caller.max() < inputs.outcome.shape[1]):
        raise ValueError("these records have contacts the inputs draw no outcome for")
    _completed_outcomes(inputs.outcome, calls.klass, calls.caller, calls.status, out)
    return out


@njit(cache=True)
def _completed_outcomes(outcome, klass, caller, status, out):
    """``where(status == COMPLETED, outcome[klass, caller], -1)`` in one pass: numpy's 2-D
    gather builds year-long index arrays first, and ``where`` makes another pass."""
    for i in range(out.size):
        out[i] = outcome[klass[i], caller[i]] if status[i] == COMPLETED else -1


def _stage_system(
    name: str, classes: tuple[str, ...], arrival, klass, service, roster, horizon, interval
) -> QueueSystem:
    """A one-pool, no-abandonment system over jobs sorted by arrival."""
    n, n_classes = arrival.size, len(classes)
    return QueueSystem(
        horizon=horizon,
        arrival=arrival,
        klass=klass,
        patience=np.empty((0, n)),
        patience_row=np.full(n_classes, -1),
        service=service[None, :],
        variant=np.zeros((1, n_classes), np.int64),
        serves=np.arange(n_classes, dtype=np.int64)[None, :],
        routing=np.zeros((n_classes, 1), np.int64),
        roster=roster[None, :].astype(np.int64),
        roster_interval=interval,
        ivr_class=-1,
        ivr_path=np.zeros(0, np.int8),  # no IVR: none read
        ivr_time=np.zeros(0),
        divert_class=-1,
        redials=np.zeros(n, np.int8),
        redial_class=np.zeros(n, np.int8),
        redial_delay=np.zeros((1, n)),
        max_attempts=1,
        class_names=classes,
        pool_names=(name,),
    )


def _jobs(calls: Records, outcome: np.ndarray, codes) -> np.ndarray:
    """Rows of completed contacts with one of ``codes``, in (end time, caller) order."""
    wanted = np.zeros(128, bool)
    wanted[np.asarray(codes, np.int64)] = True
    rows = _rows_with(outcome, wanted)
    end = calls.end[rows]
    # numpy's default sort, not its stable one: with every end time different, the order is
    # the same either way, and ties (or NaNs, which compare unequal) go to the caller below
    order = np.argsort(end)
    end = end[order]
    if np.all(end[1:] > end[:-1]):
        return rows[order]  # end times all differ: the caller breaks no tie (a year has none)
    return rows[np.lexsort((calls.caller[rows], calls.end[rows]))]


@njit(cache=True)
def _rows_with(outcome, wanted):
    """``flatnonzero(isin(outcome, codes))`` for a 128-entry lookup table ``wanted`` of codes,
    without the year-long temporaries numpy builds.  Branch-free (outcomes come in no
    predictable order): -1, not completed, looks up entry 127, which is never wanted."""
    count = 0
    for i in range(outcome.size):
        count += wanted[outcome[i] & 127]
    rows = np.empty(count + 1, np.int64)  # one spare: every row is written, kept or not
    count = 0
    for i in range(outcome.size):
        rows[count] = i
        count += wanted[outcome[i] & 127]
    return rows[:count]


def _run_stage(system: QueueSystem, run, keep_inputs: bool) -> tuple[QueueSystem, Records]:
    records = run(system)
    return (system if keep_inputs else system.without_callers()), records


def _tdiu_stage(scenario, inputs: ScenarioInputs, calls, outcome, run,
                keep_inputs: bool = True) -> Stage | None:
    if scenario.tdiu is None:
        return None
    rows = _jobs(calls, outcome, [CRIME_TDIU])
    backlog = inputs.tdiu_backlog_time.size
    callers = np.concatenate([np.full(backlog, -1), calls.caller[rows]])
    arrival = np.concatenate([np.zeros(backlog), calls.end[rows]])
    service = np.concatenate([inputs.tdiu_backlog_time, inputs.tdiu_time.at(calls.caller[rows])])
    system = _stage_system(
        "tdiu", ("crime",), arrival, np.zeros(arrival.size, np.int8), service,
        inputs.tdiu_roster, scenario.horizon, scenario.interval,
    )
    return Stage(*_run_stage(system, run, keep_inputs), callers, {})


def _response_stage(scenario, inputs: ScenarioInputs, calls, outcome, run,
                    keep_inputs: bool = True) -> Stage | None:
    if scenario.response is None:
        return None
    rows = _jobs(calls, outcome, [CRIME_DEPLOY, INCIDENT_I, INCIDENT_S, INCIDENT_E])
    deploy_grade = GRADES.index(scenario.crime_screening.deploy_grade) if (
        scenario.crime_screening
    ) else GRADES.index("E")
    grade_of = np.array([-1, -1, deploy_grade, -1, 0, 1, 2], np.int8)
    callers = calls.caller[rows]
    travel = inputs.travel_time.at(callers)
    system = _stage_system(
        "response", GRADES, calls.end[rows], grade_of[outcome[rows]],
        travel + inputs.on_scene_time.at(callers), inputs.response_roster, scenario.horizon,
        scenario.interval,
    )
    return Stage(*_run_stage(system, run, keep_inputs), callers, {"travel": travel})
