"""Tallying the call-handling records for the horizon KPIs in a compiled pass or two each.

The KPIs are defined per channel and per pool as counts of boolean masks and as sums and means
of waits and busy times (``docs/metrics.md``; ``contactsim.metrics`` turns these tallies into
the table).  Written with numpy, every mask and every count is a pass over a year's 5.8 M
records, and the channel KPIs took some thirty of them.  Here one loop reads the records'
columns once per tally:

* :func:`caller_history` looks each contact up in its caller's history: is it a redial, and
  was its caller ever answered (two passes, through a table of contacts by attempt and caller);
* :func:`channel_tally` counts, per class, what ``COUNTS`` names, and gathers the waits of the
  answered offered contacts, class by class in record order;
* :func:`pool_busy` gathers, per pool, the busy seconds of each contact it served within the
  window, in record order, and counts the contacts handled.

Each gathers its values in the same pass that decides which to gather, into places made
beforehand by counting the records of each class or pool (a pass over one small column).

The waits and busy seconds are returned as values, not sums: the caller sums them with numpy,
whose pairwise summation over the same values in the same order gives the plain definitions'
results bit for bit (``tests/test_metrics.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from contactsim.system import ABANDONED, IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER, IVR_HANG_UP, Records

# What channel_tally counts per class, in the order of its columns
COUNTS = ("arrivals", "offered", "answered", "abandoned", "ivr_diverted", "ivr_hangups",
          "redials", "callers", "callers_answered")
_ARRIVED, _OFFERED, _ANSWERED, _ABANDONED, _DIVERTED, _HUNG_UP, _REDIALS, _CALLERS, \
    _CALLERS_ANSWERED = range(len(COUNTS))


def caller_history(calls: Records, answered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: is it a *redial* (its caller's previous contact — the one with the highest
    lower attempt number in the records — was abandoned in the queue), and was its caller
    answered on some contact (``answered``: per contact, was it).  Any record order."""
    n_callers = int(calls.caller.max(initial=-1)) + 1
    attempts = int(calls.attempt.max(initial=0)) + 1
    if len(calls) and (calls.attempt.min() < 0 or calls.caller.min() < 0):
        raise ValueError("caller and attempt numbers must not be negative")
    redial = np.empty(len(calls), bool)
    caller_answered = np.empty(len(calls), bool)
    _history(calls.caller, calls.attempt, calls.status, answered,
             np.zeros((attempts, n_callers), np.uint8), np.zeros(n_callers, bool),
             redial, caller_answered)
    return redial, caller_answered


@njit(cache=True)
def _history(caller, attempt, status, answered, table, ever_answered, redial, caller_answered):
    """``table[a, i]``: 0 caller i has no contact of attempt a, 1 it has, 2 that contact was
    abandoned in the queue.  The first pass fills it and ``ever_answered``, the second reads
    each contact's previous attempt, stepping back past attempts missing from the records."""
    for i in range(caller.size):
        table[attempt[i], caller[i]] = np.uint8(1) + (status[i] == ABANDONED)
        ever_answered[caller[i]] |= answered[i]
    for i in range(caller.size):
        who, before = caller[i], attempt[i]
        previous = 0
        while previous == 0 and before > 0:
            before -= 1
            previous = table[before, who]
        redial[i] = previous == 2
        caller_answered[i] = ever_answered[who]


def channel_tally(calls: Records, n_classes: int, warmup: float, short_abandon: float,
                  redial: np.ndarray, caller_answered: np.ndarray):
    """Per class: the ``COUNTS`` (an int64 array, classes × counts) and the waits of its
    answered offered contacts in record order (a list of float64 arrays).

    A contact is *offered* if it reached a queue at or after ``warmup`` and is not a short
    abandon (abandoned less than ``short_abandon`` seconds after reaching the queue); it
    *arrived* if its arrival is at or after ``warmup``.  ``redial`` (per contact) and
    ``caller_answered`` (per contact: was its caller answered on some contact) come from the
    caller histories.  Redials, callers and IVR outcomes count arrived contacts."""
    if len(calls) and not 0 <= calls.klass.min() <= calls.klass.max() < n_classes:
        raise ValueError(f"record classes must lie in 0..{n_classes - 1}")
    counts = np.zeros((n_classes, len(COUNTS)), np.int64)
    # each class's waits get as many places as it has records, so that they are gathered in
    # the counting pass rather than in a second pass over the records
    offsets = _offsets(_sizes(calls.klass, n_classes))
    waits = np.empty(offsets[-1])
    _count(calls.klass, calls.attempt, calls.arrival, calls.ivr, calls.queue_entry,
           calls.answer, calls.end, calls.status, redial, caller_answered, float(warmup),
           float(short_abandon), counts, offsets, waits)
    return counts, [waits[offsets[c]:offsets[c] + counts[c, _ANSWERED]] for c in range(n_classes)]


def _offsets(sizes: np.ndarray) -> np.ndarray:
    """Where each part starts when parts of ``sizes`` are laid end to end, and the total."""
    offsets = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


@njit(cache=True)
def _sizes(codes, n):
    """How many of ``codes`` are each of 0..n-1 (others are not counted)."""
    sizes = np.zeros(n, np.int64)
    for i in range(codes.size):
        c = codes[i]
        if 0 <= c < n:
            sizes[c] += 1
    return sizes


@njit(cache=True)
def _count(klass, attempt, arrival, ivr, queue_entry, answer, end, status, redial,
           caller_answered, warmup, short_abandon, counts, offsets, waits):
    """The counts, and the waits (answer - queue entry) of answered offered contacts, class by
    class from ``offsets`` in ``waits``, in record order within a class."""
    at = offsets[:-1].copy()
    for i in range(klass.size):
        c = klass[i]
        if arrival[i] >= warmup:
            counts[c, _ARRIVED] += 1
            path = ivr[i]
            if path in (IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER):
                counts[c, _DIVERTED] += 1
            elif path == IVR_HANG_UP:
                counts[c, _HUNG_UP] += 1
            if redial[i]:
                counts[c, _REDIALS] += 1
            if attempt[i] == 0:
                counts[c, _CALLERS] += 1
                if caller_answered[i]:
                    counts[c, _CALLERS_ANSWERED] += 1
        entry = queue_entry[i]
        if not entry >= warmup:  # NaN: never reached a queue
            continue
        abandoned = status[i] == ABANDONED
        if abandoned:
            if end[i] - entry < short_abandon:  # a short abandon is not offered
                continue
            counts[c, _ABANDONED] += 1
        counts[c, _OFFERED] += 1
        if not np.isnan(answer[i]):
            counts[c, _ANSWERED] += 1
            waits[at[c]] = answer[i] - entry
            at[c] += 1


def pool_busy(calls: Records, n_pools: int, lo: float, hi: float):
    """Per pool: the contacts handled (answered at or after ``lo``, an int64 array) and the
    handler-seconds each contact it served was busy within [lo, hi), in record order (a list
    of float64 arrays; a contact still in service at the horizon is busy until it)."""
    offsets = _offsets(_sizes(calls.pool, n_pools))  # a contact was served if it has a pool
    busy = np.empty(offsets[-1])
    handled = np.zeros(n_pools, np.int64)
    _gather_busy(calls.pool, calls.answer, calls.end, float(lo), float(hi), offsets, busy,
                 handled)
    return handled, [busy[offsets[p]:offsets[p + 1]] for p in range(n_pools)]


@njit(cache=True)
def _gather_busy(pool, answer, end, lo, hi, offsets, busy, handled):
    """clip(end, lo, hi) - clip(answer, lo, hi) of each served contact, pool by pool, and the
    count of those answered at or after ``lo``."""
    at = offsets[:-1].copy()
    for i in range(pool.size):
        p = pool[i]
        if 0 <= p < at.size:
            stop = hi if np.isnan(end[i]) else min(max(end[i], lo), hi)
            busy[at[p]] = stop - min(max(answer[i], lo), hi)
            at[p] += 1
            if answer[i] >= lo:
                handled[p] += 1
