"""The event list: a binary min-heap of (time, key, payload) in three parallel arrays.

``key`` packs the event kind above the contact id (``kind * KIND_STRIDE + id``), so comparing
``(time, key)`` gives the documented tie-break: earlier time first, then kind, then contact id.
Parallel arrays of primitives (not tuples) keep the heap in three contiguous buffers that numba
compiles to plain loads and stores; sifting moves a hole instead of swapping, as heapq does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

KIND_STRIDE = np.int64(2**58)


@njit(cache=True, inline="always")
def before(t1, k1, t2, k2):
    """(t1, k1) comes first."""
    return t1 < t2 or (t1 == t2 and k1 < k2)


@njit(cache=True)
def push(ht, hk, hp, n, t, key, payload):
    """Insert at index n (the caller made room); returns the new size."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if before(t, key, ht[parent], hk[parent]):
            ht[i], hk[i], hp[i] = ht[parent], hk[parent], hp[parent]
            i = parent
        else:
            break
    ht[i], hk[i], hp[i] = t, key, payload
    return n + 1


@njit(cache=True)
def pop(ht, hk, hp, n):
    """Remove the root (read it before calling); returns the new size."""
    n -= 1
    if n == 0:
        return 0
    t, key, payload = ht[n], hk[n], hp[n]
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
    return n


@njit(cache=True)
def grown(a):
    """A copy of the 1-D array ``a`` with twice the room."""
    out = np.empty(2 * a.size, a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True)
def int_push(h, n, value):
    """Push onto an integer min-heap stored in h[:n]; returns the new size."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if value < h[parent]:
            h[i] = h[parent]
            i = parent
        else:
            break
    h[i] = value
    return n + 1


@njit(cache=True)
def int_pop(h, n):
    """Remove h[0] from an integer min-heap; returns the new size."""
    n -= 1
    if n == 0:
        return 0
    value = h[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and h[child + 1] < h[child]:
            child += 1
        if h[child] < value:
            h[i] = h[child]
            i = child
        else:
            break
    h[i] = value
    return n
