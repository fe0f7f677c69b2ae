"""The fast engine's event loop, compiled with numba.

It implements exactly the semantics of the SimPy reference (``docs/engine.md``):

* Events are ``(time, kind, contact id)``; at equal times kinds go SHIFT, END_SERVICE, ABANDON,
  ARRIVE, IVR_END, and equal kinds go by contact id (``caller * contacts_per_caller + attempt``).
* First attempts are not put on the heap: they are already sorted, so the loop merges the
  ``arrival`` array with the heap (one comparison instead of a push and a pop per caller).
  Roster boundaries are merged the same way.
* Abandonment is lazy.  A waiting contact only gets an ABANDON event if abandoning has a
  consequence (a redial); otherwise it stays in its class's FIFO with its give-up time and is
  recognised as gone when a handler reaches it (``give_up < now``).  Ties go to the handler
  because SHIFT and END_SERVICE, the only events that take waiting contacts, precede ABANDON.
* Idle handlers of a pool are a min-heap of slot numbers; on-duty slots are ``0..n-1``, so the
  pool has a free on-duty handler exactly when the smallest idle slot is below ``n``.  A handler
  going off shift needs no event: it is simply not given another contact when its call ends.
* When a call ends and someone is waiting, every other on-duty handler of the pool is busy
  (otherwise they would have taken the waiting contact), so the freed handler is the smallest
  free slot and takes the next contact directly, without touching the idle heap.

Everything lives in flat arrays; the records are written in place, every field at creation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from contactsim.engine.heap import KIND_STRIDE, grown, int_pop, int_push, schedule, settle

SHIFT, END_SERVICE, ABANDON, ARRIVE, IVR_END = 0, 1, 2, 3, 4
IN_SYSTEM, COMPLETED, ABANDONED, DIVERTED_ONLINE, DIVERTED_OTHER, IVR_HANGUP = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _grow_queues(qrow, qgive, qhead, qcount):
    """Double every class's ring buffer, unrolling each ring to start at 0."""
    classes, cap = qrow.shape
    rows = np.empty((classes, 2 * cap), np.int64)
    gives = np.empty((classes, 2 * cap), np.float64)
    for c in range(classes):
        for j in range(qcount[c]):
            k = (qhead[c] + j) & (cap - 1)
            rows[c, j], gives[c, j] = qrow[c, k], qgive[c, k]
        qhead[c] = 0
    return rows, gives


@njit(cache=True, inline="always")
def _take_waiting(p, t, serves, qrow, qgive, qhead, qcount, r_end, r_status):
    """Pop the oldest contact still waiting in the highest-priority class pool p serves.

    Contacts whose patience ran out before ``t`` are dropped on the way (lazy abandonment).
    Returns the record row, or -1 if nobody is waiting.
    """
    mask = qrow.shape[1] - 1
    for j in range(serves.shape[1]):
        c = serves[p, j]
        if c < 0:
            break
        while qcount[c] > 0:
            k = qhead[c]
            row, give_up = qrow[c, k], qgive[c, k]
            qhead[c] = (k + 1) & mask
            qcount[c] -= 1
            if give_up < t:
                if r_status[row] == IN_SYSTEM:  # not already abandoned by its own event
                    r_status[row] = ABANDONED
                    r_end[row] = give_up
                continue
            return row
    return -1


@njit(cache=True)
def simulate(
    horizon, arrival, klass, patience, service, variant, serves, routing, roster,
    roster_interval, ivr_class, ivr_path, ivr_time, divert_class, redials, redial_class,
    redial_delay, per_caller, n_slots,
    r_caller, r_attempt, r_klass, r_arrival, r_ivr, r_queue, r_answer, r_end, r_status,
    r_pool, r_handler,
):  # fmt: skip
    """Run the loop; fill the ``r_*`` record arrays; return the number of records."""
    n_callers = arrival.size
    n_pools, width = roster.shape
    n_classes = patience.shape[0]

    # event heap: times, keys, payloads (a record row, or a class for ARRIVE), size/pending
    ht = np.empty(0, np.float64)
    hk = np.empty(0, np.int64)
    hp = np.empty(0, np.int64)
    hn = 0  # heap size
    pending = False  # the root was taken and awaits removal

    # FIFO per class: ring buffers (power-of-two size) of (record row, give-up time)
    qrow = np.empty((n_classes, 1024), np.int64)
    qgive = np.empty((n_classes, 1024), np.float64)
    qhead = np.zeros(n_classes, np.int64)
    qcount = np.zeros(n_classes, np.int64)

    # idle handler slots per pool (min-heaps), and how many are on duty
    max_slots = 1
    for p in range(n_pools):
        max_slots = max(max_slots, n_slots[p])
    idle = np.empty((n_pools, max_slots), np.int64)
    n_idle = np.empty(n_pools, np.int64)
    on_duty = np.empty(n_pools, np.int64)
    for p in range(n_pools):
        for s in range(n_slots[p]):
            idle[p, s] = s  # ascending order is already a valid heap
        n_idle[p] = n_slots[p]
        on_duty[p] = roster[p, 0]

    # one event may schedule at most one event per handler slot plus two: keep that much room
    room = 2
    for p in range(n_pools):
        room += n_slots[p]

    rows = 0
    next_caller = 0
    boundary = 1
    t_shift = roster_interval if n_pools > 0 else np.inf
    arrive_key = ARRIVE * KIND_STRIDE

    while True:
        # --- the earliest of: roster boundary, heap top, next first attempt ---
        hn = settle(ht, hk, hp, hn, pending)
        pending = False
        if hn + room > ht.size:
            ht, hk, hp = grown(ht, room), grown(hk, room), grown(hp, room)
        source = 0  # 0 heap, 1 first attempt, 2 roster boundary
        if hn > 0:
            t, key = ht[0], hk[0]
        else:
            t, key = np.inf, np.int64(0)
        if next_caller < n_callers:
            ta = arrival[next_caller]
            ka = arrive_key + next_caller * per_caller
            if ta < t or (ta == t and ka < key):
                t, key, source = ta, ka, 1
        if t_shift <= t:  # SHIFT sorts first among events at the same time
            t, source = t_shift, 2
        if not t < horizon:
            break

        if source == 2:  # roster boundary: pools change in pool order
            for p in range(n_pools):
                count = roster[p, boundary % width]
                if count == on_duty[p]:
                    continue
                on_duty[p] = count
                while n_idle[p] > 0 and idle[p, 0] < count:
                    row = _take_waiting(p, t, serves, qrow, qgive, qhead, qcount, r_end,
                                        r_status)
                    if row < 0:
                        break
                    slot = idle[p, 0]
                    n_idle[p] = int_pop(idle, p, n_idle[p])
                    hn, pending = _start(row, p, slot, t, horizon, ht, hk, hp, hn, pending, service,
                                        variant, per_caller, r_caller, r_attempt, r_klass,
                                        r_answer, r_pool, r_handler)
            boundary += 1
            t_shift = boundary * roster_interval
            continue

        if source == 1:  # a first attempt, straight from the sorted arrivals
            caller, attempt, cls, kind = next_caller, 0, klass[next_caller], ARRIVE
            next_caller += 1
        else:
            kind = key // KIND_STRIDE
            payload = hp[0]
            pending = True
            if kind == ARRIVE:  # a redial or an online report made after an IVR diversion
                ident = key - kind * KIND_STRIDE
                caller, attempt, cls = ident // per_caller, ident % per_caller, payload
            else:
                row = payload
                caller, attempt, cls = r_caller[row], r_attempt[row], r_klass[row]

        if kind == ARRIVE:
            row = rows
            rows += 1
            r_caller[row], r_attempt[row], r_klass[row] = caller, attempt, cls
            r_arrival[row], r_ivr[row], r_status[row] = t, -1, IN_SYSTEM
            r_queue[row], r_answer[row], r_end[row] = np.nan, np.nan, np.nan
            r_pool[row], r_handler[row] = -1, -1
            if cls == ivr_class:
                hn, pending = schedule(ht, hk, hp, hn, pending, t + ivr_time[caller],
                                      IVR_END * KIND_STRIDE + caller * per_caller + attempt, row)
                continue
        elif kind == IVR_END:
            path = ivr_path[caller]
            r_ivr[row] = path
            if path != 0:
                r_end[row] = t
                if path == 1:
                    r_status[row] = DIVERTED_ONLINE
                    if divert_class >= 0:
                        hn, pending = schedule(ht, hk, hp, hn, pending, t,
                                              arrive_key + caller * per_caller + attempt + 1,
                                              divert_class)
                elif path == 2:
                    r_status[row] = DIVERTED_OTHER
                else:
                    r_status[row] = IVR_HANGUP
                continue
        elif kind == END_SERVICE:
            r_end[row], r_status[row] = t, COMPLETED
            p, slot = r_pool[row], r_handler[row]
            if slot < on_duty[p]:
                nxt = _take_waiting(p, t, serves, qrow, qgive, qhead, qcount, r_end, r_status)
                if nxt >= 0:
                    hn, pending = _start(nxt, p, slot, t, horizon, ht, hk, hp, hn, pending, service,
                                        variant, per_caller, r_caller, r_attempt, r_klass,
                                        r_answer, r_pool, r_handler)
                    continue
            n_idle[p] = int_push(idle, p, n_idle[p], slot)
            continue
        else:  # ABANDON, only scheduled for contacts that would redial
            if r_status[row] == IN_SYSTEM and np.isnan(r_answer[row]):
                r_status[row], r_end[row] = ABANDONED, t
                t_redial = t + redial_delay[attempt, caller]
                if t_redial < horizon:
                    hn, pending = schedule(ht, hk, hp, hn, pending, t_redial,
                                          arrive_key + caller * per_caller + attempt + 1,
                                          redial_class[caller])
            continue

        # --- the contact reaches the queue (after ARRIVE, or IVR_END when routed) ---
        r_queue[row] = t
        answered = False
        for j in range(routing.shape[1]):
            p = routing[cls, j]
            if p < 0:
                break
            if n_idle[p] > 0 and idle[p, 0] < on_duty[p]:
                slot = idle[p, 0]
                n_idle[p] = int_pop(idle, p, n_idle[p])
                hn, pending = _start(row, p, slot, t, horizon, ht, hk, hp, hn, pending, service, variant,
                                    per_caller, r_caller, r_attempt, r_klass, r_answer, r_pool,
                                    r_handler)
                answered = True
                break
        if answered:
            continue
        if qcount[cls] == qrow.shape[1]:
            qrow, qgive = _grow_queues(qrow, qgive, qhead, qcount)
        give_up = t + patience[cls, caller]
        k = (qhead[cls] + qcount[cls]) & (qrow.shape[1] - 1)
        qrow[cls, k], qgive[cls, k] = row, give_up
        qcount[cls] += 1
        if attempt < redials[caller] and give_up < horizon:
            hn, pending = schedule(ht, hk, hp, hn, pending, give_up,
                                  ABANDON * KIND_STRIDE + caller * per_caller + attempt, row)

    _settle_queues(horizon, qrow, qgive, qhead, qcount, r_end, r_status)
    return rows


@njit(cache=True, inline="always")
def _start(row, p, slot, t, horizon, ht, hk, hp, hn, pending, service, variant, per_caller,
           r_caller, r_attempt, r_klass, r_answer, r_pool, r_handler):  # fmt: skip
    """Handler ``slot`` of pool ``p`` takes contact ``row`` now; schedule the end of the call."""
    r_answer[row], r_pool[row], r_handler[row] = t, p, slot
    caller = r_caller[row]
    done = t + service[variant[p, r_klass[row]], caller]
    if done < horizon:
        hn, pending = schedule(ht, hk, hp, hn, pending, done,
                              END_SERVICE * KIND_STRIDE + caller * per_caller + r_attempt[row],
                              row)
    return hn, pending


@njit(cache=True)
def _settle_queues(horizon, qrow, qgive, qhead, qcount, r_end, r_status):
    """Contacts still queued at the horizon: those whose patience ran out before it abandoned."""
    mask = qrow.shape[1] - 1
    for c in range(qrow.shape[0]):
        for j in range(qcount[c]):
            k = (qhead[c] + j) & mask
            row, give_up = qrow[c, k], qgive[c, k]
            if r_status[row] == IN_SYSTEM and give_up < horizon:
                r_status[row], r_end[row] = ABANDONED, give_up
