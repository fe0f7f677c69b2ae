"""Featureless event loops on the two-class benchmark's inputs: what the kernel's generality costs.

Both loops know only this one model — one pool, two classes served in priority order, lazy
abandonment, a binary heap of call completions merged with the sorted arrivals — and nothing of
rosters, skills, routing tables, IVR, redial or the horizon.  ``bare`` keeps two counters;
``with_records`` also writes the kernel's eleven record columns.  Run side by side with the
kernel (``test_kernel.py``), they show how much of the kernel's time is the model's generality
and how much is the irreducible heap and memory work.
"""

from __future__ import annotations

import numpy as np
from numba import njit

COMPLETION = np.int64(2**58)


@njit(cache=True)
def bare(arrival, klass, patience, service, servers):
    """Answered and abandoned counts."""
    ht = np.empty(servers + 1)
    hk = np.empty(servers + 1, np.int64)

    def sift_down(n, t, key):
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and (ht[child + 1] < ht[child] or (
                    ht[child + 1] == ht[child] and hk[child + 1] < hk[child])):
                child += 1
            if ht[child] < t or (ht[child] == t and hk[child] < key):
                ht[i], hk[i] = ht[child], hk[child]
                i = child
            else:
                break
        ht[i], hk[i] = t, key

    def sift_up(i, t, key):
        while i > 0:
            parent = (i - 1) >> 1
            if t < ht[parent] or (t == ht[parent] and key < hk[parent]):
                ht[i], hk[i] = ht[parent], hk[parent]
                i = parent
            else:
                break
        ht[i], hk[i] = t, key

    size = arrival.size
    queue = np.empty((2, size), np.int64)
    head = np.zeros(2, np.int64)
    tail = np.zeros(2, np.int64)
    n, free, i, answered, abandoned = 0, servers, 0, 0, 0
    while i < size or n > 0:
        if i < size and (n == 0 or arrival[i] < ht[0]):
            t, c = arrival[i], klass[i]
            if free > 0:
                free -= 1
                answered += 1
                sift_up(n, t + service[0, i], COMPLETION + i)
                n += 1
            else:
                queue[c, tail[c]] = i
                tail[c] += 1
            i += 1
            continue
        t, nxt = ht[0], -1
        for c in range(2):
            while head[c] < tail[c]:
                k = queue[c, head[c]]
                head[c] += 1
                if arrival[k] + patience[c, k] < t:
                    abandoned += 1
                    continue
                nxt = k
                break
            if nxt >= 0:
                break
        if nxt >= 0:
            answered += 1
            sift_down(n, t + service[0, nxt], COMPLETION + nxt)
        else:
            free += 1
            n -= 1
            if n > 0:
                sift_down(n, ht[n], hk[n])
    return answered, abandoned


@njit(cache=True)
def with_records(arrival, klass, patience, service, servers, r_caller, r_attempt, r_klass,
                 r_arrival, r_ivr, r_queue, r_answer, r_end, r_status, r_pool, r_handler):
    """The same loop writing every record column, as the kernel does; returns the row count."""
    ht = np.empty(servers + 1)
    hk = np.empty(servers + 1, np.int64)
    hp = np.empty(servers + 1, np.int64)

    def sift_down(n, t, key, row):
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and (ht[child + 1] < ht[child] or (
                    ht[child + 1] == ht[child] and hk[child + 1] < hk[child])):
                child += 1
            if ht[child] < t or (ht[child] == t and hk[child] < key):
                ht[i], hk[i], hp[i] = ht[child], hk[child], hp[child]
                i = child
            else:
                break
        ht[i], hk[i], hp[i] = t, key, row

    def sift_up(i, t, key, row):
        while i > 0:
            parent = (i - 1) >> 1
            if t < ht[parent] or (t == ht[parent] and key < hk[parent]):
                ht[i], hk[i], hp[i] = ht[parent], hk[parent], hp[parent]
                i = parent
            else:
                break
        ht[i], hk[i], hp[i] = t, key, row

    size = arrival.size
    queue = np.empty((2, size), np.int64)
    head = np.zeros(2, np.int64)
    tail = np.zeros(2, np.int64)
    n, free, i = 0, servers, 0
    while i < size or n > 0:
        if i < size and (n == 0 or arrival[i] < ht[0]):
            t, c = arrival[i], klass[i]
            r_caller[i], r_attempt[i], r_klass[i] = i, 0, c
            r_arrival[i], r_ivr[i], r_status[i] = t, -1, 0
            r_queue[i], r_answer[i], r_end[i] = t, np.nan, np.nan
            r_pool[i], r_handler[i] = -1, -1
            if free > 0:
                free -= 1
                r_answer[i], r_pool[i], r_handler[i] = t, 0, free
                sift_up(n, t + service[0, i], COMPLETION + i, i)
                n += 1
            else:
                queue[c, tail[c]] = i
                tail[c] += 1
            i += 1
            continue
        t, row = ht[0], hp[0]
        r_end[row], r_status[row] = t, 1
        nxt = -1
        for c in range(2):
            while head[c] < tail[c]:
                k = queue[c, head[c]]
                head[c] += 1
                if arrival[k] + patience[c, k] < t:
                    r_status[k], r_end[k] = 2, arrival[k] + patience[c, k]
                    continue
                nxt = k
                break
            if nxt >= 0:
                break
        if nxt >= 0:
            r_answer[nxt], r_pool[nxt], r_handler[nxt] = t, 0, r_handler[row]
            sift_down(n, t + service[0, nxt], COMPLETION + nxt, nxt)
        else:
            free += 1
            n -= 1
            if n > 0:
                sift_down(n, ht[n], hk[n], hp[n])
    return i
