"""The fast engine's event loop, compiled with numba.

It implements exactly the semantics of the SimPy reference (``docs/engine.md``):

* Events are ``(time, kind, contact id)``; at equal times kinds go SHIFT, END_SERVICE, ABANDON,
  ARRIVE, IVR_END, and equal kinds go by contact id (``caller * contacts_per_caller + attempt``).
* First attempts are not put on the heap: they are already sorted, so the loop merges the
  ``arrival`` array with the heap (one comparison instead of a push and a pop per caller).
  Roster boundaries are merged the same way.
* Abandonment is lazy.  A waiting contact only gets an ABANDON event if abandoning has a
  consequence (a redial); otherwise it stays in its class's FIFO and is recognised as gone when
  a handler reaches it and works out its give-up time (``give_up < now``).  Ties go to the
  handler because SHIFT and END_SERVICE, the only events that take waiting contacts, precede
  ABANDON.
* An IVR menu end is an event only when the menu leads to a queue (routed, or diverted to the
  online class).  A contact leaving the menu for good changes nothing but its own record, so its
  ARRIVE writes that record as the menu end would (if it falls before the horizon): 16,843 of a
  September week's 58,362 menu ends, and the week about 5% faster (``docs/engine.md``).
* ABANDON events are timers in a heap of their own, which knows where each contact's timer is,
  so answering the contact removes its timer at once.  In the event heap, 96% of a Met week's
  999 timers (10 min patience, mostly answered in seconds) were still there when they fell due,
  each costing a push and a pop: the separate heap made a Met week 6% and a July week 11-15%
  faster, the benchmark model (no redial, so no timers) unchanged.
* A pool's idle handlers are a bitmap of slot numbers; on-duty slots are ``0..n-1``, so the
  pool has a free on-duty handler exactly when the smallest idle slot is below ``n``.  A handler
  going off shift needs no event: it is simply not given another contact when its call ends.
* When a call ends and someone is waiting, every other on-duty handler of the pool is busy
  (otherwise they would have taken the waiting contact), so the freed handler is the smallest
  free slot and takes the next contact directly, without touching the idle slots.
* A first attempt's arrival prefetches the patience and handling time of the caller
  ``PREFETCH_AHEAD`` arrivals later: sampled long before and read one caller at a time, they
  were the loop's costliest loads on a year (a fifth of its ``perf`` samples); the prefetch made
  a Met week and a year's call handling about 10% faster (``docs/engine.md``).

Data structures, all flat arrays allocated before the loop and never reallocated:

* the event heap: a binary min-heap in three parallel arrays — time, key, payload — where the key
  packs the kind above the contact id (``kind * KIND_STRIDE + id``), so comparing ``(time, key)``
  is the tie-break above.  Removing the root is *deferred*: the loop marks it taken
  (``pending``) and the next insertion overwrites it and sifts down once (``heapreplace``);
* one FIFO per class, a linked list threaded through the record rows (``qnext``): a contact
  queues at most once, so nothing ever has to grow.  A waiting contact's give-up time is worked
  out from its record (queue entry + patience) only when a handler reaches it — or at once if
  it would redial and so needs an abandonment timer.  Loading its patience at queue entry instead
  stalled the loop on a memory load nothing else was waiting for (24% of the two-class
  benchmark's time);
* the abandonment timers: a second binary min-heap (time, key, record row) with the same keys,
  whose entries' places are kept in the waiting contacts' records (``handler = -2 - place``),
  so a timer is removed, not left stale, when its contact is answered;
* per pool, a bitmap of idle slots (one bit per slot in 64-bit words) and a summary bitmap of
  its non-empty words: the smallest idle slot is two trailing-zero counts away, and taking or
  freeing a slot sets or clears a bit.  It replaced a min-heap of slot numbers, whose sifts
  cost log₂(pool size) unpredictable branches: 27% faster on a year's response stage (a
  424-slot pool), 6% on a Met week;
* the records, written in place, every field when the contact is created.

The helpers are closures over those arrays, defined inside :func:`simulate`, rather than
functions taking arrays as arguments: numba inlines both, but every array passed to an inlined
function gets an atomic reference-count increment and decrement around the call, which the
reference-count pruner cannot remove across the helpers' loops.  Profiling the two-class
benchmark with ``perf`` showed those atomics taking more time than the loop itself.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from contactsim.engine.prefetch import prefetch

SHIFT, END_SERVICE, ABANDON, ARRIVE, IVR_END = 0, 1, 2, 3, 4
IN_SYSTEM, COMPLETED, ABANDONED, DIVERTED_ONLINE, DIVERTED_OTHER, IVR_HANGUP = 0, 1, 2, 3, 4, 5
IVR_ROUTED, IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER, IVR_HANG_UP = 0, 1, 2, 3
MENU_EXIT_STATUS = DIVERTED_ONLINE - IVR_DIVERT_ONLINE  # path + this: the status leaving by it
KIND_STRIDE = np.int64(2**58)  # contact ids stay below it; kinds are stacked above
PREFETCH_AHEAD = 48  # first attempts ahead whose patience and handling time are fetched


@njit(cache=True)
def simulate(
    horizon, arrival, klass, patience, patience_row, service, variant, serves, routing, roster,
    roster_interval, ivr_class, ivr_path, ivr_time, divert_class, redials, redial_class,
    redial_delay, per_caller, n_slots,
    r_caller, r_attempt, r_klass, r_arrival, r_ivr, r_queue, r_answer, r_end, r_status,
    r_pool, r_handler, heap_times, heap_ints,
):  # fmt: skip
    """Run the loop; fill the ``r_*`` record arrays; return the number of records.

    ``heap_times`` and ``heap_ints`` are scratch for the two heaps, sized for the worst case by
    :func:`contactsim.engine.heap_arrays`; their contents on entry do not matter.  Their rows
    are the event heap's times ``ht``, keys ``hk`` and payloads ``hp`` and the abandonment
    timers' times ``at``, keys ``ak`` and record rows ``ar``."""
    ht, at = heap_times[0], heap_times[1]
    hk, hp, ak, ar = heap_ints[0], heap_ints[1], heap_ints[2], heap_ints[3]
    n_callers = arrival.size
    n_pools, width = roster.shape
    n_classes = patience_row.size

    # --- the event heap: size ``hn`` and the ``pending`` flag are threaded through as values ---
    # Room for every event that can ever be pending.  Each names a contact — the one it ends or
    # routes, or the one it creates — and a contact has at most one pending at once, so the
    # records' size (plus the taken root) would do; twice that is a margin that costs only
    # address space: the operating system backs only the part the heap reaches (the arrays
    # come from the caller, reserved apart from the allocator's heap: engine.heap_arrays).

    def before(t1, k1, t2, k2):
        return t1 < t2 or (t1 == t2 and k1 < k2)

    def sift_down(n, t, key, payload):
        """Place (t, key, payload) at the root of a heap of size n and restore the order."""
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            right = child + 1
            if right < n:
                # the smaller child without a branch: which one wins is a coin toss, and a
                # mispredicted branch per level cost more than the comparison
                tr, tc = ht[right], ht[child]
                child += np.int64((tr < tc) | ((tr == tc) & (hk[right] < hk[child])))
            if before(ht[child], hk[child], t, key):
                ht[i], hk[i], hp[i] = ht[child], hk[child], hp[child]
                i = child
            else:
                break
        ht[i], hk[i], hp[i] = t, key, payload

    def sift_up(i, t, key, payload):
        while i > 0:
            parent = (i - 1) >> 1
            if before(t, key, ht[parent], hk[parent]):
                ht[i], hk[i], hp[i] = ht[parent], hk[parent], hp[parent]
                i = parent
            else:
                break
        ht[i], hk[i], hp[i] = t, key, payload

    def settle(n, pending):
        """Carry out a deferred removal of the root; afterwards ht[0] is the next event."""
        if pending:
            n -= 1
            if n > 0:
                sift_down(n, ht[n], hk[n], hp[n])
        return n

    def schedule(n, pending, t, key, payload):
        """Insert an event; returns the new size and pending flag (nothing is pending)."""
        if pending:
            sift_down(n, t, key, payload)
            return n, False
        sift_up(n, t, key, payload)
        return n + 1, False

    # --- FIFO per class: head and tail rows (-1: empty), linked through the waiting rows ---
    qhead = np.full(n_classes, -1, np.int64)
    qtail = np.full(n_classes, -1, np.int64)
    qnext = np.empty(r_caller.size, np.int32)  # rows fit in 32 bits (system.MAX_CONTACTS)

    # --- the abandonment timers of waiting contacts that would redial: a heap of their own
    # that knows each timer's place, so a timer goes as soon as its contact is answered instead
    # of lingering in the event heap until it falls due.  The place is kept in the contact's
    # record as ``handler = -2 - place``: a waiting contact has no handler yet, and the record
    # is written when the contact is answered anyway ---
    timed = redials.max() > 0 if redials.size > 0 else False  # can there be timers at all?

    def timer_of(row):
        """Where row's timer is in the timer heap, or -1.  (Places stay below
        system.MAX_CONTACTS = 2**31 - 1, so -2 - place fits the 32-bit handler field.)"""
        return -2 - np.int64(r_handler[row])

    def a_place(i, t, key, row):
        at[i], ak[i], ar[i] = t, key, row
        r_handler[row] = -2 - i

    def a_sift_up(i, t, key, row):
        while i > 0:
            parent = (i - 1) >> 1
            if before(t, key, at[parent], ak[parent]):
                a_place(i, at[parent], ak[parent], ar[parent])
                i = parent
            else:
                break
        a_place(i, t, key, row)

    def a_sift_down(n, i, t, key, row):
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            right = child + 1
            if right < n and before(at[right], ak[right], at[child], ak[child]):
                child = right
            if before(at[child], ak[child], t, key):
                a_place(i, at[child], ak[child], ar[child])
                i = child
            else:
                break
        a_place(i, t, key, row)

    def a_remove(n, i):
        """Remove entry i of an abandonment heap of size n; returns the new size."""
        r_handler[ar[i]] = -1
        n -= 1
        if i < n:
            t, key, row = at[n], ak[n], ar[n]
            if i > 0 and before(t, key, at[(i - 1) >> 1], ak[(i - 1) >> 1]):
                a_sift_up(i, t, key, row)
            else:
                a_sift_down(n, i, t, key, row)
        return n

    def give_up_time(row, patience_of):
        """When queued contact ``row`` gives up; ``patience_of`` is its class's patience row
        (looked up once per class by the callers: each FIFO holds one class)."""
        if patience_of < 0:  # the class never abandons
            return np.inf
        return r_queue[row] + patience[patience_of, r_caller[row]]

    def join_queue(cls, row):
        qnext[row] = -1
        if qhead[cls] < 0:
            qhead[cls] = row
        else:
            qnext[qtail[cls]] = row
        qtail[cls] = row

    def take_waiting(p, t):
        """The oldest contact still waiting in the highest-priority class pool p serves, or -1.

        Contacts whose patience ran out before ``t`` are dropped on the way (lazy abandonment).
        """
        for j in range(serves.shape[1]):
            c = serves[p, j]
            if c < 0:
                break
            row, patience_of = qhead[c], patience_row[c]
            while row >= 0:
                give_up = give_up_time(row, patience_of)
                if give_up < t:
                    if r_status[row] == IN_SYSTEM:  # not already abandoned by its own event
                        r_status[row], r_end[row] = ABANDONED, give_up
                    row = qnext[row]
                    continue
                qhead[c] = qnext[row]
                return row
            qhead[c] = -1
        return -1

    def settle_queues():
        """Contacts still queued at the horizon: those whose patience ran out before it left."""
        for c in range(n_classes):
            row, patience_of = qhead[c], patience_row[c]
            while row >= 0:
                give_up = give_up_time(row, patience_of)
                if r_status[row] == IN_SYSTEM and give_up < horizon:
                    r_status[row], r_end[row] = ABANDONED, give_up
                row = qnext[row]

    # --- idle handler slots: a bitmap per pool (bit s set: slot s idle), and a summary bitmap
    # of its non-empty words; the smallest idle slot is two trailing-zero counts away ---
    max_slots = 1
    for p in range(n_pools):
        max_slots = max(max_slots, n_slots[p])
    n_words = (max_slots + 63) // 64
    n_sums = (n_words + 63) // 64
    idle_bits = np.zeros((n_pools, n_words), np.uint64)
    idle_sum = np.zeros((n_pools, n_sums), np.uint64)
    on_duty = np.empty(n_pools, np.int64)
    one = np.uint64(1)

    def smallest_idle(p):
        """Pool p's smallest idle slot, or -1."""
        for j in range(n_sums):
            m = idle_sum[p, j]
            if m != 0:
                w = j * 64 + np.int64(trailing_zeros(m))
                return w * 64 + np.int64(trailing_zeros(idle_bits[p, w]))
        return -1

    def free_handler(p):
        """An idle on-duty slot of pool p, marked busy, or -1."""
        slot = smallest_idle(p)
        if slot < 0 or slot >= on_duty[p]:
            return -1
        w = slot >> 6
        bits = idle_bits[p, w] & ~(one << np.uint64(slot & 63))
        idle_bits[p, w] = bits
        if bits == 0:
            idle_sum[p, w >> 6] &= ~(one << np.uint64(w & 63))
        return slot

    def release_handler(p, slot):
        """Slot goes back to pool p's idle slots."""
        w = slot >> 6
        idle_bits[p, w] |= one << np.uint64(slot & 63)
        idle_sum[p, w >> 6] |= one << np.uint64(w & 63)

    for p in range(n_pools):  # every slot starts idle
        for s in range(n_slots[p]):
            release_handler(p, s)
        on_duty[p] = roster[p, 0]

    def start(row, p, slot, t, hn, pending):
        """Handler ``slot`` of pool ``p`` takes contact ``row`` now; schedule the call's end."""
        r_answer[row], r_pool[row], r_handler[row] = t, p, slot
        caller = r_caller[row]
        done = t + service[variant[p, r_klass[row]], caller]
        if done < horizon:
            key = END_SERVICE * KIND_STRIDE + caller * per_caller + r_attempt[row]
            hn, pending = schedule(hn, pending, done, key, row)
        return hn, pending

    an = 0  # abandonment timers pending
    hn = 0
    pending = False  # the heap's root was taken and awaits removal
    rows = 0
    next_caller = 0
    boundary = 1
    t_shift = roster_interval if n_pools > 0 else np.inf
    arrive_key = ARRIVE * KIND_STRIDE
    # the IVR paths that lead to a queue, so need the menu's end as an event (the others only
    # write the contact's record): routed, and diverted online when there is an online class
    last_path_to_queue = IVR_DIVERT_ONLINE if divert_class >= 0 else IVR_ROUTED
    # the handling time prefetched for a class: its first pool's variant (-1: no pool serves it)
    fetch_variant = np.full(n_classes, -1, np.int64)
    for c in range(n_classes):
        if routing[c, 0] >= 0:
            fetch_variant[c] = variant[routing[c, 0], c]

    while True:
        # --- the earliest of: roster boundary, event heap top, next first attempt, timer ---
        hn = settle(hn, pending)
        pending = False
        source = 0  # 0 event heap, 1 first attempt, 2 roster boundary, 3 abandonment timer
        if hn > 0:
            t, key = ht[0], hk[0]
        else:
            t, key = np.inf, np.int64(0)
        if next_caller < n_callers:
            ta = arrival[next_caller]
            ka = arrive_key + next_caller * per_caller
            if before(ta, ka, t, key):
                t, key, source = ta, ka, 1
        if an > 0 and before(at[0], ak[0], t, key):
            t, key, source = at[0], ak[0], 3
        if t_shift <= t:  # SHIFT sorts first among events at the same time
            t, source = t_shift, 2
        if not t < horizon:
            break

        if source == 0 and key < ABANDON * KIND_STRIDE:  # END_SERVICE, the commonest event
            row = hp[0]
            pending = True
            r_end[row], r_status[row] = t, COMPLETED
            p, slot = r_pool[row], r_handler[row]
            if slot < on_duty[p]:
                nxt = take_waiting(p, t)
                if nxt >= 0:
                    if timer_of(nxt) >= 0:
                        an = a_remove(an, timer_of(nxt))
                    hn, pending = start(nxt, p, slot, t, hn, pending)
                    continue
            release_handler(p, slot)
            continue

        if source == 2:  # roster boundary: pools change in pool order
            for p in range(n_pools):
                count = roster[p, boundary % width]
                if count == on_duty[p]:
                    continue
                on_duty[p] = count
                while 0 <= smallest_idle(p) < count:
                    row = take_waiting(p, t)
                    if row < 0:
                        break
                    if timer_of(row) >= 0:
                        an = a_remove(an, timer_of(row))
                    hn, pending = start(row, p, free_handler(p), t, hn, pending)
            boundary += 1
            t_shift = boundary * roster_interval
            continue

        if source == 3:  # a waiting contact's patience runs out, and it will redial
            row = ar[0]
            an = a_remove(an, 0)
            caller, attempt = r_caller[row], r_attempt[row]
            r_status[row], r_end[row] = ABANDONED, t
            t_redial = t + redial_delay[attempt, caller]
            if t_redial < horizon:
                key = arrive_key + caller * per_caller + attempt + 1
                hn, pending = schedule(hn, pending, t_redial, key, redial_class[caller])
            continue

        if source == 1:  # a first attempt, straight from the sorted arrivals
            caller, attempt, cls, kind = next_caller, 0, klass[next_caller], ARRIVE
            next_caller += 1
            ahead = caller + PREFETCH_AHEAD
            if ahead < n_callers:
                k = klass[ahead]
                if patience_row[k] >= 0:
                    prefetch(patience, patience_row[k], ahead)
                if fetch_variant[k] >= 0:
                    prefetch(service, fetch_variant[k], ahead)
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
                t_menu, path = t + ivr_time[caller], ivr_path[caller]
                if path <= last_path_to_queue:
                    key = IVR_END * KIND_STRIDE + caller * per_caller + attempt
                    hn, pending = schedule(hn, pending, t_menu, key, row)
                elif t_menu < horizon:
                    # leaving the menu for good changes nothing but the contact's own record,
                    # so it needs no event: the record is written now as the event would
                    r_ivr[row], r_end[row] = path, t_menu
                    r_status[row] = path + MENU_EXIT_STATUS
                continue
        else:  # IVR_END: routed to a queue, or diverted to the online class (see ARRIVE)
            path = ivr_path[caller]
            r_ivr[row] = path
            if path != IVR_ROUTED:
                r_end[row], r_status[row] = t, DIVERTED_ONLINE
                key = arrive_key + caller * per_caller + attempt + 1
                hn, pending = schedule(hn, pending, t, key, divert_class)
                continue

        # --- the contact reaches the queue (after ARRIVE, or IVR_END when routed) ---
        r_queue[row] = t
        answered = False
        for j in range(routing.shape[1]):
            p = routing[cls, j]
            if p < 0:
                break
            slot = free_handler(p)
            if slot >= 0:
                hn, pending = start(row, p, slot, t, hn, pending)
                answered = True
                break
        if answered:
            continue
        join_queue(cls, row)
        # give_up_time(row, ...) would give the same time from the record just written; reading
        # it back made a Met week 2-3% slower (kernel_ab.py), so it is worked out from t here
        if timed and attempt < redials[caller] and patience_row[cls] >= 0:
            give_up = t + patience[patience_row[cls], caller]
            if give_up < horizon:
                an += 1
                a_sift_up(an - 1, give_up, ABANDON * KIND_STRIDE + caller * per_caller + attempt,
                          row)

    settle_queues()  # no timer is left: only those due before the horizon were set
    return rows
