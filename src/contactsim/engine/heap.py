"""The event list: a binary min-heap of (time, key, payload) in three parallel arrays.

``key`` packs the event kind above the contact id (``kind * KIND_STRIDE + id``), so comparing
``(time, key)`` gives the documented tie-break: earlier time first, then kind, then contact id.
Parallel arrays of primitives keep the heap in three contiguous buffers that numba compiles to
plain loads and stores; sifting moves a hole instead of swapping, as ``heapq`` does.

Removing the root is *deferred*: the loop marks it consumed (``pending = True``) and the next
insertion simply overwrites the root and sifts down once (``heapq.heapreplace``), instead of a
sift-down for the pop and a sift-up for the push.  In a busy call centre almost every service
completion schedules the next one, so this halves the heap work.

The heap's size and pending flag are plain scalars threaded through the calls (the functions
return the new values) rather than fields of a state array: a value in memory would have to be
reloaded after every store to any other integer array it might alias.
"""

from __future__ import annotations

import numpy as np
from numba import njit

KIND_STRIDE = np.int64(2**58)


@njit(cache=True, inline="always")
def before(t1, k1, t2, k2):
    """(t1, k1) comes first."""
    return t1 < t2 or (t1 == t2 and k1 < k2)


@njit(cache=True, inline="always")
def _sift_down(ht, hk, hp, n, t, key, payload):
    """Place (t, key, payload) at the root of a heap of size n and restore the order."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n and before(ht[right], hk[right], ht[child], hk[child]):
            child = right
        if before(ht[child], hk[child], t, key):
            ht[i], hk[i], hp[i] = ht[child], hk[child], hp[child]
            i = child
        else:
            break
    ht[i], hk[i], hp[i] = t, key, payload


@njit(cache=True, inline="always")
def _sift_up(ht, hk, hp, i, t, key, payload):
    while i > 0:
        parent = (i - 1) >> 1
        if before(t, key, ht[parent], hk[parent]):
            ht[i], hk[i], hp[i] = ht[parent], hk[parent], hp[parent]
            i = parent
        else:
            break
    ht[i], hk[i], hp[i] = t, key, payload


@njit(cache=True, inline="always")
def settle(ht, hk, hp, n, pending):
    """Carry out a deferred removal of the root, if any; returns the new size.

    Afterwards ``ht[0]`` is the next event and nothing is pending."""
    if pending:
        n -= 1
        if n > 0:
            _sift_down(ht, hk, hp, n, ht[n], hk[n], hp[n])
    return n


@njit(cache=True)
def grown(a, room):
    """A copy of ``a`` with at least ``room`` free places after ``a.size`` (doubling)."""
    out = np.empty(max(2 * a.size, a.size + room), a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True, inline="always")
def schedule(ht, hk, hp, n, pending, t, key, payload):
    """Insert an event; returns the new size and pending flag (False: nothing is pending).

    The caller guarantees room (see ``grown``): never reallocating here keeps the arrays'
    reference counts out of the hot path."""
    if pending:
        _sift_down(ht, hk, hp, n, t, key, payload)
        return n, False
    _sift_up(ht, hk, hp, n, t, key, payload)
    return n + 1, False


@njit(cache=True, inline="always")
def int_push(h, row, n, value):
    """Push onto the integer min-heap h[row, :n]; returns the new size.

    The heaps of all pools share one 2-D array and are addressed by row: slicing ``h[row]``
    would create an array view, and with it a reference-count update, on every call.
    """
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if value < h[row, parent]:
            h[row, i] = h[row, parent]
            i = parent
        else:
            break
    h[row, i] = value
    return n + 1


@njit(cache=True, inline="always")
def int_pop(h, row, n):
    """Remove h[row, 0] from the integer min-heap h[row, :n]; returns the new size."""
    n -= 1
    if n == 0:
        return 0
    value = h[row, n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and h[row, child + 1] < h[row, child]:
            child += 1
        if h[row, child] < value:
            h[row, i] = h[row, child]
            i = child
        else:
            break
    h[row, i] = value
    return n
