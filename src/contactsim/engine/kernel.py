"""The fast engine's event loop, compiled with numba.

It implements exactly the semantics of the SimPy reference (``docs/engine.md``):

* Events are ``(time, kind, contact id)``; at equal times kinds go SHIFT, END_SERVICE, ABANDON,
  ARRIVE, IVR_END, and equal kinds go by contact id (``caller * contacts_per_caller + attempt``).
* First attempts are not put on the heap: they are already sorted, so the loop merges the
  ``arrival`` array with the heap (one comparison instead of a push and a pop per caller).
  Roster boundaries are merged the same way.
* Abandonment is lazy.  A waiting contact only gets an ABANDON event if abandoning has a
  consequence (a redial); otherwise it stays in its class's FIFO and is recognised as gone when
  a handler reaches it (``queue_entry + patience < now``).  Ties go to the handler because
  SHIFT and END_SERVICE, the only events that take waiting contacts, precede ABANDON.
* Idle handlers of a pool are a min-heap of slot numbers; on-duty slots are ``0..n-1``, so the
  pool has a free on-duty handler exactly when the smallest idle slot is below ``n``.  A handler
  going off shift needs no event: it is simply not re-dispatched when its call ends.

Everything lives in flat arrays; the records are written in place.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from contactsim.engine.heap import KIND_STRIDE, grown, int_pop, int_push, pop, push

SHIFT, END_SERVICE, ABANDON, ARRIVE, IVR_END = 0, 1, 2, 3, 4
IN_SYSTEM, COMPLETED, ABANDONED, DIVERTED_ONLINE, DIVERTED_OTHER, IVR_HANGUP = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _grow_queues(qbuf, qhead, qcount):
    """Double every class's ring buffer, unrolling each ring to start at 0."""
    classes, cap = qbuf.shape
    out = np.empty((classes, 2 * cap), np.int64)
    for c in range(classes):
        for j in range(qcount[c]):
            out[c, j] = qbuf[c, (qhead[c] + j) % cap]
        qhead[c] = 0
    return out


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

    # event heap (grows by doubling)
    cap = 1024
    ht = np.empty(cap, np.float64)
    hk = np.empty(cap, np.int64)
    hp = np.empty(cap, np.int64)
    hn = 0

    # FIFO per class: ring buffers of record rows
    qbuf = np.empty((n_classes, 1024), np.int64)
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

    rows = 0
    next_caller = 0
    boundary = 1
    t_shift = roster_interval if n_pools > 0 else np.inf
    shift_key = SHIFT * KIND_STRIDE
    arrive_key = ARRIVE * KIND_STRIDE

    while True:
        # --- choose the earliest of: next first attempt, next roster boundary, heap top ---
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
        if t_shift < t or (t_shift == t and shift_key < key):
            t, key, source = t_shift, shift_key, 2
        if not t < horizon:
            break

        if source == 2:  # roster boundary: pools change in pool order
            for p in range(n_pools):
                count = roster[p, boundary % width]
                if count != on_duty[p]:
                    on_duty[p] = count
                    hn, ht, hk, hp = _dispatch(
                        p, t, hn, ht, hk, hp, idle, n_idle, on_duty, serves, qbuf, qhead,
                        qcount, patience, service, variant, per_caller, horizon,
                        r_caller, r_attempt, r_klass, r_queue, r_answer, r_end, r_status,
                        r_pool, r_handler,
                    )  # fmt: skip
            boundary += 1
            t_shift = boundary * roster_interval
            continue

        row = -1
        payload = -1
        if source == 1:
            caller, attempt, cls = next_caller, 0, klass[next_caller]
            next_caller += 1
            kind = ARRIVE
        else:
            kind = hk[0] // KIND_STRIDE
            ident = hk[0] - kind * KIND_STRIDE
            payload = hp[0]
            hn = pop(ht, hk, hp, hn)
            caller, attempt = ident // per_caller, ident % per_caller
            cls = payload  # ARRIVE events carry the class; the others carry the row

        if kind == ARRIVE:
            row = rows
            rows += 1
            r_caller[row], r_attempt[row], r_klass[row] = caller, attempt, cls
            r_arrival[row] = t
            r_status[row] = IN_SYSTEM
            if cls == ivr_class:
                if hn == ht.size:
                    ht, hk, hp = grown(ht), grown(hk), grown(hp)
                hn = push(ht, hk, hp, hn, t + ivr_time[caller],
                          IVR_END * KIND_STRIDE + caller * per_caller + attempt, row)
                continue
        elif kind == IVR_END:
            row = payload
            cls = r_klass[row]
            path = ivr_path[caller]
            r_ivr[row] = path
            if path != 0:
                r_end[row] = t
                if path == 1:
                    r_status[row] = DIVERTED_ONLINE
                    if divert_class >= 0:
                        if hn == ht.size:
                            ht, hk, hp = grown(ht), grown(hk), grown(hp)
                        hn = push(ht, hk, hp, hn, t,
                                  arrive_key + caller * per_caller + attempt + 1, divert_class)
                elif path == 2:
                    r_status[row] = DIVERTED_OTHER
                else:
                    r_status[row] = IVR_HANGUP
                continue
        elif kind == END_SERVICE:
            row = payload
            r_end[row] = t
            r_status[row] = COMPLETED
            p = r_pool[row]
            n_idle[p] = int_push(idle[p], n_idle[p], r_handler[row])
            hn, ht, hk, hp = _dispatch(
                p, t, hn, ht, hk, hp, idle, n_idle, on_duty, serves, qbuf, qhead, qcount,
                patience, service, variant, per_caller, horizon,
                r_caller, r_attempt, r_klass, r_queue, r_answer, r_end, r_status, r_pool,
                r_handler,
            )  # fmt: skip
            continue
        else:  # ABANDON, only scheduled for contacts that would redial
            row = payload
            if r_status[row] == IN_SYSTEM and np.isnan(r_answer[row]):
                r_status[row] = ABANDONED
                r_end[row] = t
                t_redial = t + redial_delay[attempt, caller]
                if t_redial < horizon:
                    if hn == ht.size:
                        ht, hk, hp = grown(ht), grown(hk), grown(hp)
                    hn = push(ht, hk, hp, hn, t_redial,
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
                hn, ht, hk, hp = _answer(
                    row, p, t, hn, ht, hk, hp, idle, n_idle, service, variant, per_caller,
                    horizon, r_caller, r_attempt, r_klass, r_answer, r_pool, r_handler,
                )  # fmt: skip
                answered = True
                break
        if answered:
            continue
        if qcount[cls] == qbuf.shape[1]:
            qbuf = _grow_queues(qbuf, qhead, qcount)
        qbuf[cls, (qhead[cls] + qcount[cls]) % qbuf.shape[1]] = row
        qcount[cls] += 1
        give_up = t + patience[cls, caller]
        if attempt < redials[caller] and give_up < horizon:
            if hn == ht.size:
                ht, hk, hp = grown(ht), grown(hk), grown(hp)
            hn = push(ht, hk, hp, hn, give_up,
                      ABANDON * KIND_STRIDE + caller * per_caller + attempt, row)

    _settle_queues(horizon, qbuf, qhead, qcount, patience, r_caller, r_queue, r_answer,
                   r_end, r_status)
    return rows


@njit(cache=True)
def _answer(
    row, p, t, hn, ht, hk, hp, idle, n_idle, service, variant, per_caller, horizon,
    r_caller, r_attempt, r_klass, r_answer, r_pool, r_handler,
):  # fmt: skip
    """The smallest free slot of pool p takes contact ``row`` now; schedule its end."""
    slot = idle[p, 0]
    n_idle[p] = int_pop(idle[p], n_idle[p])
    r_answer[row], r_pool[row], r_handler[row] = t, p, slot
    caller = r_caller[row]
    done = t + service[variant[p, r_klass[row]], caller]
    if done < horizon:
        if hn == ht.size:
            ht, hk, hp = grown(ht), grown(hk), grown(hp)
        hn = push(ht, hk, hp, hn, done,
                  END_SERVICE * KIND_STRIDE + caller * per_caller + r_attempt[row], row)
    return hn, ht, hk, hp


@njit(cache=True)
def _dispatch(
    p, t, hn, ht, hk, hp, idle, n_idle, on_duty, serves, qbuf, qhead, qcount, patience,
    service, variant, per_caller, horizon,
    r_caller, r_attempt, r_klass, r_queue, r_answer, r_end, r_status, r_pool, r_handler,
):  # fmt: skip
    """Free on-duty handlers of pool p take the oldest waiting contacts, by class priority."""
    cap = qbuf.shape[1]
    while n_idle[p] > 0 and idle[p, 0] < on_duty[p]:
        row = -1
        for j in range(serves.shape[1]):
            c = serves[p, j]
            if c < 0:
                break
            while qcount[c] > 0:
                head = qbuf[c, qhead[c]]
                qhead[c] = (qhead[c] + 1) % cap
                qcount[c] -= 1
                if r_status[head] != IN_SYSTEM:
                    continue  # abandoned by its own event (it was going to redial)
                give_up = r_queue[head] + patience[c, r_caller[head]]
                if give_up < t:  # gone before now: lazy abandonment
                    r_status[head] = ABANDONED
                    r_end[head] = give_up
                    continue
                row = head
                break
            if row >= 0:
                break
        if row < 0:
            return hn, ht, hk, hp
        hn, ht, hk, hp = _answer(
            row, p, t, hn, ht, hk, hp, idle, n_idle, service, variant, per_caller, horizon,
            r_caller, r_attempt, r_klass, r_answer, r_pool, r_handler,
        )  # fmt: skip
    return hn, ht, hk, hp


@njit(cache=True)
def _settle_queues(horizon, qbuf, qhead, qcount, patience, r_caller, r_queue, r_answer,
                   r_end, r_status):  # fmt: skip
    """Contacts still queued at the horizon: those whose patience ran out before it abandoned."""
    cap = qbuf.shape[1]
    for c in range(qbuf.shape[0]):
        for j in range(qcount[c]):
            row = qbuf[c, (qhead[c] + j) % cap]
            if r_status[row] == IN_SYSTEM and np.isnan(r_answer[row]):
                give_up = r_queue[row] + patience[c, r_caller[row]]
                if give_up < horizon:
                    r_status[row] = ABANDONED
                    r_end[row] = give_up
