"""Property tests: invariants every run must satisfy, on random small systems full of ties."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import small_systems

from contactsim import engine, reference
from contactsim.system import (
    ABANDONED,
    COMPLETED,
    DIVERTED_ONLINE,
    DIVERTED_OTHER,
    IN_SYSTEM,
    IVR_HANGUP,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def on_duty(system, pool, t):
    k = int(t // system.roster_interval) % system.roster.shape[1]
    return system.roster[pool, k]


def check_invariants(system, r):
    n = len(r)
    # every contact ends exactly once, in one of the ways a contact can end
    assert set(np.unique(r.status)) <= {IN_SYSTEM, COMPLETED, ABANDONED, DIVERTED_ONLINE,
                                        DIVERTED_OTHER, IVR_HANGUP}
    keys = set(zip(r.caller.tolist(), r.attempt.tolist()))
    assert len(keys) == n, "a contact was recorded twice"
    done = r.status == COMPLETED
    assert np.all(r.answer[done] <= r.end[done])
    assert np.all(np.isnan(r.end[r.status == IN_SYSTEM]))
    aband = r.status == ABANDONED
    assert np.all(np.isnan(r.answer[aband]))
    patience = system.patience_by_class()[r.klass[aband], r.caller[aband]]
    np.testing.assert_array_equal(r.end[aband], r.queue_entry[aband] + patience)
    assert np.all(r.arrival < system.horizon)
    assert np.all(r.end[~np.isnan(r.end)] < system.horizon)
    # no handler serves two contacts at once
    answered = ~np.isnan(r.answer)
    for pool, handler in set(zip(r.pool[answered].tolist(), r.handler[answered].tolist())):
        mine = answered & (r.pool == pool) & (r.handler == handler)
        start = r.answer[mine]
        end = np.where(np.isnan(r.end[mine]), np.inf, r.end[mine])
        order = np.argsort(start, kind="stable")
        assert np.all(start[order][1:] >= end[order][:-1]), "handler double-booked"
    # no off-shift handler starts a call
    for i in np.flatnonzero(answered):
        assert r.handler[i] < on_duty(system, r.pool[i], r.answer[i])
    # a waiting higher-priority contact is always taken first by a handler who serves both
    for i in np.flatnonzero(answered):
        t, pool = r.answer[i], r.pool[i]
        served = [c for c in system.serves[pool] if c >= 0]
        higher = served[: served.index(r.klass[i])]
        waiting = (
            np.isin(r.klass, higher)
            & (r.queue_entry < t)
            & ~(r.answer <= t)
            & ~(r.end < t)
        )
        assert not waiting.any(), f"contact {i} answered while a higher class waited"


@SETTINGS
@given(small_systems())
def test_fast_engine_invariants(system):
    check_invariants(system, engine.run(system))


@SETTINGS
@given(small_systems())
def test_reference_engine_invariants(system):
    check_invariants(system, reference.run(system))
