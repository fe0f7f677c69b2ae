"""Exact traces: a handful of contacts with fixed times, checked against times worked by hand."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from builders import make_system

from contactsim.system import ABANDONED, COMPLETED, DIVERTED_ONLINE, IN_SYSTEM

NAN = math.nan


def rows(records):
    """{(caller, attempt): (arrival, queue_entry, answer, end, status, handler)}."""
    r = records.sorted()
    return {
        (int(c), int(a)): (arr, q, ans, end, int(st), int(h))
        for c, a, arr, q, ans, end, st, h in zip(
            r.caller, r.attempt, r.arrival, r.queue_entry, r.answer, r.end, r.status, r.handler
        )
    }


def assert_rows(actual, expected):
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        for g, w in zip(got, want):
            assert (math.isnan(g) and math.isnan(w)) or g == w, (key, got, want)


def test_priority_abandon_redial_and_tie_to_handler(run_engine):
    """Two blended handlers; 999 (class 0) before 101 (class 1).

    t=0  caller 0 (999) -> handler 0 until 10
    t=1  caller 1 (101) -> handler 1 until 21
    t=2  caller 2 (101) waits; patience 5 -> abandons at 7, redials after 3 s -> back at 10
    t=4  caller 3 (999) waits; at 10 handler 0 frees and takes it (999 first) until 15
    t=10 caller 2's redial waits; patience 5 runs out at 15 exactly, when handler 0 frees:
         the handler wins the tie (END_SERVICE before ABANDON), so it is answered at 15
    t=12 caller 4 (101) waits; patience 2 -> abandons at 14, no redial
    """
    system = make_system(
        arrival=[0, 1, 2, 4, 12],
        klass=[0, 1, 1, 0, 1],
        service=[10, 20, 4, 5, 9],
        patience=[100, 100, 5, 100, 2],
        redials=[0, 0, 1, 0, 0],
        redial_delay=[[0, 0, 3, 0, 0]],
        max_attempts=2,
        horizon=100,
    )
    assert_rows(rows(run_engine(system)), {
        (0, 0): (0, 0, 0, 10, COMPLETED, 0),
        (1, 0): (1, 1, 1, 21, COMPLETED, 1),
        (2, 0): (2, 2, NAN, 7, ABANDONED, -1),
        (2, 1): (10, 10, 15, 19, COMPLETED, 0),
        (3, 0): (4, 4, 10, 15, COMPLETED, 0),
        (4, 0): (12, 12, NAN, 14, ABANDONED, -1),
    })


def test_shift_change_finishes_call_in_hand(run_engine):
    """Roster of 50 s intervals: 1 handler, then 0, then 2 (cyclic).

    t=10 caller 0 -> handler 0 until 70, though its shift ends at 50: it finishes the call
    t=20, 30 callers 1 and 2 wait; at 70 handler 0 is off shift and takes nothing
    t=100 two handlers come on: the lowest slot takes the oldest call (caller 1, until 110),
          slot 1 the next (caller 2, until 105)
    """
    system = make_system(
        arrival=[10, 20, 30],
        klass=[1, 1, 1],
        service=[60, 10, 5],
        roster=[[1, 0, 2]],
        roster_interval=50,
        horizon=200,
    )
    assert_rows(rows(run_engine(system)), {
        (0, 0): (10, 10, 10, 70, COMPLETED, 0),
        (1, 0): (20, 20, 100, 110, COMPLETED, 0),
        (2, 0): (30, 30, 100, 105, COMPLETED, 1),
    })


def test_ivr_diversion_creates_online_contact(run_engine):
    """A 101 caller spends 30 s in the IVR, is diverted online, and the online report is
    triaged by the digital pool; another is routed to the queue after 20 s."""
    system = make_system(
        arrival=[0, 5],
        klass=[1, 1],
        service=[50, 40],
        classes=("999", "101", "online"),
        pools=(("phones", (0, 1), 1), ("digital", (2,), 1)),
        ivr_class=1,
        ivr_path=[1, 0],
        ivr_time=[30, 20],
        divert_class=2,
        max_attempts=1,
        horizon=100,
    )
    records = run_engine(system)
    assert_rows(rows(records), {
        (0, 0): (0, NAN, NAN, 30, DIVERTED_ONLINE, -1),
        (0, 1): (30, 30, 30, 80, COMPLETED, 0),
        (1, 0): (5, 25, 25, 65, COMPLETED, 0),
    })
    by_key = {(c, a): (k, p) for c, a, k, p in zip(records.caller, records.attempt,
                                                   records.klass, records.pool)}
    assert by_key[(0, 1)] == (2, 1)  # online, digital pool
    assert by_key[(1, 0)] == (1, 0)  # 101, phones pool


def test_horizon_leaves_contacts_in_system(run_engine):
    """One handler busy past the horizon: its caller and the one waiting stay in the system."""
    system = make_system(arrival=[0, 1], klass=[0, 0], service=[50, 5], horizon=20,
                         pools=(("one", (0, 1), 1),))
    assert_rows(rows(run_engine(system)), {
        (0, 0): (0, 0, 0, NAN, IN_SYSTEM, 0),
        (1, 0): (1, 1, NAN, NAN, IN_SYSTEM, -1),
    })


def test_a_class_without_a_patience_row_never_abandons(run_engine):
    """Both waiting callers have 2 s of patience in the shared row, but class 0 has no row."""
    system = make_system(arrival=[0, 1, 1], klass=[0, 0, 1], service=[10, 10, 10],
                         patience=[2, 2, 2], pools=(("one", (0, 1), 1),), never_abandon=(0,))
    assert_rows(rows(run_engine(system)), {
        (0, 0): (0, 0, 0, 10, COMPLETED, 0),
        (1, 0): (1, 1, 10, 20, COMPLETED, 0),
        (2, 0): (1, 1, NAN, 3, ABANDONED, -1),
    })


def test_a_patience_row_must_exist_for_each_class():
    system = make_system(arrival=[0])  # two classes sharing one row of patience
    for wrong in ([0, 1], [0], [0, 0, 0]):  # a row that is not there; too few; too many
        with pytest.raises(ValueError, match="patience_row"):
            dataclasses.replace(system, patience_row=np.array(wrong))


def test_per_caller_arrays_must_cover_every_caller():
    system = make_system(arrival=[0, 1])
    with pytest.raises(ValueError, match="patience must have one entry"):
        dataclasses.replace(system, patience=np.ones((1, 1)))


def test_ivr_arrays_may_be_empty_only_without_an_ivr(run_engine):
    with_arrays = make_system(arrival=[0, 1], klass=[0, 1], service=[5, 5],
                              pools=(("one", (0, 1), 1),))
    without = dataclasses.replace(with_arrays, ivr_path=np.zeros(0), ivr_time=np.zeros(0))
    assert rows(run_engine(without)) == rows(run_engine(with_arrays))
    with pytest.raises(ValueError, match="ivr_time must have one entry .* or none without an IVR"):
        dataclasses.replace(with_arrays, ivr_class=1, ivr_time=np.zeros(0))
    with pytest.raises(ValueError, match="ivr_path must have one entry"):
        dataclasses.replace(with_arrays, ivr_path=np.zeros(1))


def test_ivr_paths_and_times_must_be_valid_with_an_ivr():
    system = make_system(arrival=[0, 1], klass=[1, 1], ivr_class=1, ivr_path=[0, 3],
                         ivr_time=[0, 5])
    for wrong in ([0, 4], [-1, 0]):
        with pytest.raises(ValueError, match="ivr_path must hold IVR paths"):
            dataclasses.replace(system, ivr_path=np.array(wrong))
    for wrong in ([0, -1], [np.nan, 1]):
        with pytest.raises(ValueError, match="ivr_time must be a time"):
            dataclasses.replace(system, ivr_time=np.array(wrong))
    without = make_system(arrival=[0, 1])  # without an IVR the arrays are never read
    dataclasses.replace(without, ivr_path=np.array([9, 9]), ivr_time=np.array([np.nan] * 2))


def test_engines_agree_on_the_traces():
    from contactsim import engine, reference

    system = make_system(arrival=np.arange(20) * 0.5, klass=np.arange(20) % 2,
                         service=np.full(20, 2.25), patience=np.full(20, 1.5), horizon=30)
    a, b = engine.run(system).sorted(), reference.run(system).sorted()
    for name, column in a.as_dict().items():
        np.testing.assert_array_equal(column, b.as_dict()[name])


def test_arrivals_must_be_sorted():
    system = make_system(arrival=[0, 2, 2])  # ties are in order
    with pytest.raises(ValueError, match="sorted"):
        dataclasses.replace(system, arrival=np.array([0.0, 2.0, 1.0]))
