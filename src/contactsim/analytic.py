"""Closed-form queueing models for call-centre staffing (Erlang B, C and A).

All three models share the same core assumptions:

* arrivals form a Poisson process with rate ``arrival_rate`` (calls per second);
* handling (service) times are i.i.d. exponential with mean ``mean_service``
  seconds, i.e. service rate ``mu = 1 / mean_service``;
* there are ``servers`` identical agents, and calls are answered
  first-come-first-served (FCFS);
* the system is in steady state.

The offered load in Erlangs is ``load = arrival_rate * mean_service``.

Erlang B (M/M/n/n)
    No queue: a call that finds all agents busy is lost.  ``erlang_b`` is the
    blocking probability, computed with the stable recursion
    ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``, which stays in ``[0, 1]``
    and never forms factorials or powers of the load.

Erlang C (M/M/n)
    Infinite waiting room and infinitely patient callers.  The probability of
    waiting is ``C = n B / (n - a (1 - B))``; a delayed call waits an
    exponential time with rate ``n mu - arrival_rate``.  The model is only
    stable for ``load < servers``; otherwise the queue grows without bound and
    the metrics are reported as ``p_wait = 1``, ``service_level = 0``,
    ``asa = inf``, ``occupancy = 1``.

Erlang A (M/M/n+M, Palm's model)
    As Erlang C, but every waiting caller abandons after an exponential
    patience time with mean ``mean_patience`` (rate ``theta``), independently
    of everything else.  Because the abandonment rate grows with the queue,
    the system is stable for *any* load, including ``load > servers``
    (Garnett, Mandelbaum & Reiman 2002; Mandelbaum & Zeltyn, "The
    Palm/Erlang-A queue, with applications to call centers").

    The number of calls in the system is a birth-death chain with birth rate
    ``lambda`` and death rate ``min(k, n) mu + max(k - n, 0) theta``.  Writing
    ``x = lambda / theta`` and ``y = n mu / theta``, the stationary tail
    above ``n`` is ``pi_{n+j} = pi_n t_j`` with::

        t_j = prod_{i=1..j} x / (y + i),      T = sum_j t_j,

    and ``pi_n = B / (1 - B + B T)`` where ``B`` is Erlang B.  (``T`` equals
    the incomplete-gamma expression ``Gamma(y+1) e^x x^-y P(y, x)``, Mandelbaum
    & Zeltyn's ``A(y, x)``.)  The series is summed in log space over the window
    of indices whose terms are within ``exp(-50)`` of the largest one; the
    terms are log-concave in ``j``, so everything outside the window is
    negligible.  The sums therefore cost ``O(sqrt(x) + 1 / (1 - x / y))``
    operations and never overflow, whatever the load.

    Waiting times: an arrival that finds ``n + j`` calls present (``j`` ahead
    of it in the queue) would reach an agent after its *offered wait*
    ``V_j = sum_{i=0..j} Exp(n mu + i theta)`` (queue-head departures are
    service completions at rate ``n mu`` or abandonments of the ``i`` calls
    still ahead).  One checks ``exp(-theta V_j) ~ Beta(y, j + 1)``, which
    gives for a delayed arrival::

        P(V > t | delayed) = P(y, x u) / P(y, x),      u = exp(-theta t),

    with ``P`` the regularised lower incomplete gamma function.  The caller is
    answered iff ``V`` is shorter than its own patience, so the service level
    (answered within the target, over all offered calls) uses
    ``E[exp(-theta V); V > t]``, which reduces to the same kind of series with
    ``(y + 1, x u)``.  The mean wait of answered calls uses
    ``E[V_j exp(-theta V_j)] = y / (y + j + 1) * (psi(y+j+2) - psi(y+1)) / theta``.

All rates are per second and all times in seconds.  Every public function
validates its inputs and raises ``ValueError`` with a clear message for NaN,
negative rates or times, or a negative number of servers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "min_servers_erlang_a",
    "min_servers_erlang_c",
    "square_root_staffing",
]

# Terms smaller than exp(-_LOG_CUTOFF) times the largest term are dropped.
_LOG_CUTOFF = 50.0
# Exponents are clipped here before np.exp so that negligible terms never
# trigger floating-point underflow (relevant under np.errstate(all="raise")).
_MIN_EXPONENT = -700.0
# Series terms are generated in chunks of this size to bound memory use.
_CHUNK = 1 << 16
# Loader's Stirling-error series is used for arguments at least this large.
_STIRLING_SERIES_MIN = 15.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangCResult:
    """Steady-state performance of an M/M/n (Erlang C) queue.

    Attributes:
        p_wait: probability that an arrival has to wait (all agents busy).
        service_level: probability that the wait is at most ``target``.
        asa: average speed of answer, the mean wait over all calls (s).
        occupancy: agent utilisation, ``load / servers``.
        mean_queue_length: mean number of calls waiting (not in service).
    """

    p_wait: float
    service_level: float
    asa: float
    occupancy: float
    mean_queue_length: float


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state performance of an M/M/n+M (Erlang A) queue.

    Attributes:
        p_wait: probability that an arrival has to wait (all agents busy).
        p_abandon: share of all arrivals that abandon before being answered.
        service_level: share of all arrivals answered within ``target``
            (abandoned calls count as not answered within target).
        asa: mean wait of answered calls (s); NaN when no call is answered.
        mean_wait_all: mean wait of all arrivals, abandoned ones up to the
            moment they hang up (s); equals ``p_abandon * mean_patience``.
        occupancy: carried load per agent,
            ``arrival_rate * (1 - p_abandon) * mean_service / servers``.
        p_abandon_given_wait: probability that a delayed call abandons.
    """

    p_wait: float
    p_abandon: float
    service_level: float
    asa: float
    mean_wait_all: float
    occupancy: float
    p_abandon_given_wait: float


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _as_float(name: str, value: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(out):
        raise ValueError(f"{name} must not be NaN")
    return out


def _nonneg(name: str, value: float, *, allow_inf: bool = False) -> float:
    out = _as_float(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if math.isinf(out) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def _positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    out = _nonneg(name, value, allow_inf=allow_inf)
    if out == 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return out


def _probability(name: str, value: float, *, low_open: bool, high_open: bool) -> float:
    out = _as_float(name, value)
    too_low = out <= 0 if low_open else out < 0
    too_high = out >= 1 if high_open else out > 1
    if too_low or too_high:
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        raise ValueError(f"{name} must lie in {lo}, {hi}, got {value!r}")
    return out


def _servers(value: int) -> int:
    if isinstance(value, bool):
        raise ValueError("servers must be an integer, got a bool")
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"servers must be an integer, got {value!r}") from None
    if n < 0:
        raise ValueError(f"servers must be >= 0, got {n}")
    return n


# ---------------------------------------------------------------------------
# Numerical helpers
# ---------------------------------------------------------------------------


def _logsumexp(values: np.ndarray) -> float:
    """log(sum(exp(values))) without overflow, underflow traps or warnings."""
    if values.size == 0:
        return -math.inf
    peak = float(np.max(values))
    if peak == -math.inf:
        return -math.inf
    shifted = np.maximum(values - peak, _MIN_EXPONENT)
    return peak + math.log(float(np.sum(np.exp(shifted))))


def _logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for scalars, accepting -inf."""
    hi, lo = (a, b) if a >= b else (b, a)
    if hi == -math.inf:
        return -math.inf
    return hi + math.log1p(math.exp(max(lo - hi, _MIN_EXPONENT)))


def _exp(value: float) -> float:
    """math.exp that maps very negative arguments (and -inf) to 0 quietly."""
    return 0.0 if value < _MIN_EXPONENT else math.exp(value)


def _one_plus_w_log_one_plus_w_minus_w(w: float) -> float:
    """phi(w) = (1 + w) log(1 + w) - w, accurate also for small |w| (w > -1)."""
    if abs(w) < 0.1:
        # phi(w) = sum_{k>=2} (-1)^k w^k / (k (k - 1))
        total, power = 0.0, w * w
        for k in range(2, 24):
            total += (power if k % 2 == 0 else -power) / (k * (k - 1))
            power *= w
        return total
    return (1.0 + w) * math.log1p(w) - w


def _stirling_error(k: float) -> float:
    """log Gamma(k+1) - (k + 1/2) log k + k - log(2 pi)/2, for k > 0."""
    if k >= _STIRLING_SERIES_MIN:
        k2 = k * k
        return (
            1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * k2)) / k2) / k2) / k2
        ) / k
    return math.lgamma(k + 1.0) - (k + 0.5) * math.log(k) + k - _HALF_LOG_2PI


def _log_poisson_kernel(k: float, x: float) -> float:
    """log(x**k exp(-x) / Gamma(k + 1)) for real k >= 0 and x > 0.

    Uses Loader's saddle-point form for large ``k`` so that the result is
    accurate to a few ulps of its own (usually small) magnitude rather than of
    ``k log k``.
    """
    if k == 0:
        return -x
    if k < _STIRLING_SERIES_MIN or x < 1.0:
        return k * math.log(x) - x - math.lgamma(k + 1.0)
    bd0 = x * _one_plus_w_log_one_plus_w_minus_w((k - x) / x)
    return -_stirling_error(k) - bd0 - _HALF_LOG_2PI - 0.5 * math.log(k)


def _log_term(y: float, x: float, j: int) -> float:
    """log t_j with t_j = prod_{i=1..j} x / (y + i) (x > 0, y >= 0)."""
    if j == 0:
        return 0.0
    return _log_poisson_kernel(y + j, x) - _log_poisson_kernel(y, x)


def _series_window(y: float, x: float) -> tuple[int, int]:
    """Index range [lo, hi] holding every non-negligible t_j.

    ``log t_j`` is concave in ``j`` with its maximum at
    ``j* = max(0, floor(x - y))``; the window ends where the terms have
    dropped by ``exp(-_LOG_CUTOFF)`` relative to the peak.  Outside it the
    terms keep decreasing at least geometrically, so they are negligible.
    """
    peak = max(0, math.floor(x - y))
    log_peak = _log_term(y, x, peak)

    def negligible(j: int) -> bool:
        return _log_term(y, x, j) - log_peak < -_LOG_CUTOFF

    # Right end: gallop, then bisect for the first negligible index.
    step = 1
    while not negligible(peak + step):
        step *= 2
    good, bad = peak + step // 2, peak + step
    while bad - good > 1:
        mid = (good + bad) // 2
        if negligible(mid):
            bad = mid
        else:
            good = mid
    hi = bad

    # Left end: the largest negligible index below the peak (or 0).
    lo = 0
    if peak > 0:
        step = 1
        while peak - step > 0 and not negligible(peak - step):
            step *= 2
        bad = max(0, peak - step)
        if negligible(bad):
            good = peak - step // 2
            while good - bad > 1:
                mid = (good + bad) // 2
                if negligible(mid):
                    bad = mid
                else:
                    good = mid
            lo = bad
    return lo, hi


@dataclass(frozen=True)
class _TailSums:
    """Logs of the Erlang-A tail series (relative to pi_n).

    log_t: log sum_j t_j                                   (= log T)
    log_jt: log sum_j j t_j                                (queue length)
    log_answered_wait: log sum_j t_j y/(y+j+1) (psi(y+j+2) - psi(y+1)),
        i.e. theta * E[V exp(-theta V)] summed over the tail.
    """

    log_t: float
    log_jt: float
    log_answered_wait: float


def _tail_sums(y: float, x: float, *, with_moments: bool = True) -> _TailSums:
    """Sum the tail series t_j = prod_{i<=j} x/(y+i) in log space."""
    if x == 0.0:
        log_answered = math.log(y / (y + 1.0) / (y + 1.0)) if y > 0 else -math.inf
        return _TailSums(0.0, -math.inf, log_answered)
    lo, hi = _series_window(y, x)
    log_t_start = _log_term(y, x, lo)
    if lo == 0:
        digamma_diff_start = 1.0 / (y + 1.0)
    else:
        digamma_diff_start = float(special.digamma(y + lo + 2.0) - special.digamma(y + 1.0))
    parts_t: list[float] = []
    parts_jt: list[float] = []
    parts_w: list[float] = []
    start = lo
    while start <= hi:
        stop = min(hi + 1, start + _CHUNK)
        j = np.arange(start, stop, dtype=float)
        log_t = np.empty_like(j)
        log_t[0] = log_t_start
        log_t[1:] = log_t_start + np.cumsum(np.log(x / (y + j[1:])))
        parts_t.append(_logsumexp(log_t))
        if with_moments:
            log_j = np.full_like(j, -math.inf)
            positive = j > 0
            log_j[positive] = np.log(j[positive])
            parts_jt.append(_logsumexp(log_t + log_j))
            if y > 0:
                # psi(y+j+2) - psi(y+1) = sum_{i=1}^{j+1} 1/(y+i)
                dig = np.empty_like(j)
                dig[0] = digamma_diff_start
                dig[1:] = digamma_diff_start + np.cumsum(1.0 / (y + j[1:] + 1.0))
                weights = math.log(y) - np.log(y + j + 1.0) + np.log(dig)
                parts_w.append(_logsumexp(log_t + weights))
                digamma_diff_start = float(dig[-1]) + 1.0 / (y + stop + 1.0)
        log_t_start = float(log_t[-1]) + math.log(x / (y + stop))
        start = stop
    return _TailSums(
        log_t=_logsumexp(np.asarray(parts_t)),
        log_jt=_logsumexp(np.asarray(parts_jt)) if with_moments else math.nan,
        log_answered_wait=_logsumexp(np.asarray(parts_w)) if with_moments else math.nan,
    )


def _log_tail_sum_incgamma(y: float, x: float) -> float:
    """log T via the incomplete-gamma closed form (cross-check of the series).

    ``T = Gamma(y+1) e^x x^-y P(y, x)``.  Accurate whenever ``P(y, x)`` does
    not underflow (i.e. unless ``x`` is far below ``y``); requires ``y > 0``.
    """
    return math.log(float(special.gammainc(y, x))) - _log_poisson_kernel(y, x)


def _erlang_a_delayed_wait_tail(
    arrival_rate: float, mean_service: float, mean_patience: float, servers: int, t: float
) -> float:
    """P(V > t | delayed) for the offered wait V of a delayed Erlang-A call.

    ``V`` is the time a call that finds all agents busy would need to reach
    an agent if it never hung up.  Equals ``P(y, x u) / P(y, x)`` (regularised
    incomplete gamma, ``u = exp(-theta t)``); evaluated via the series as
    ``exp(-n mu t + x (1 - u)) S(y, x u) / S(y, x)``.
    """
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    p = _positive("mean_patience", mean_patience)
    n = _servers(servers)
    t = _nonneg("t", t, allow_inf=True)
    if math.isinf(t):
        return 0.0
    x, y = lam * p, n * p / s
    u = math.exp(-t / p)
    log_num = -n * t / s + lam * p * -math.expm1(-t / p)
    log_ratio = _tail_sums(y, x * u, with_moments=False).log_t - _tail_sums(
        y, x, with_moments=False
    ).log_t
    return min(1.0, _exp(log_num + log_ratio))


# ---------------------------------------------------------------------------
# Erlang B and C
# ---------------------------------------------------------------------------


def _erlang_b_unchecked(n: int, a: float) -> float:
    blocking = 1.0
    for k in range(1, n + 1):
        ab = a * blocking
        blocking = ab / (k + ab)
    return blocking


def erlang_b(servers: int, load: float) -> float:
    """Erlang B blocking probability of an M/M/n/n loss system.

    Args:
        servers: number of servers ``n >= 0``.
        load: offered load in Erlangs (``arrival_rate * mean_service``).

    Uses ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``: O(n), no overflow.
    Raises ValueError for negative, NaN or infinite load or negative servers.
    """
    n = _servers(servers)
    a = _nonneg("load", load)
    return _erlang_b_unchecked(n, a)


def _erlang_c_unchecked(n: int, a: float) -> float:
    if a >= n:
        return 1.0
    blocking = _erlang_b_unchecked(n, a)
    return min(1.0, n * blocking / (n - a * (1.0 - blocking)))


def erlang_c(servers: int, load: float) -> float:
    """Erlang C probability that an arrival must wait in an M/M/n queue.

    Returns 1.0 when ``load >= servers`` (unstable system: everyone waits).
    """
    n = _servers(servers)
    a = _nonneg("load", load)
    return _erlang_c_unchecked(n, a)


def erlang_c_metrics(
    arrival_rate: float, mean_service: float, servers: int, target: float
) -> ErlangCResult:
    """Waiting probability, service level, ASA, occupancy and queue of M/M/n.

    Args:
        arrival_rate: calls per second (>= 0).
        mean_service: mean handling time in seconds (> 0).
        servers: number of agents (>= 0).
        target: service-level threshold in seconds (>= 0, may be inf).

    ``service_level = 1 - C exp(-(n - a) t / mean_service)``,
    ``asa = C mean_service / (n - a)``, ``mean_queue_length = C a / (n - a)``.
    """
    lam = _nonneg("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    n = _servers(servers)
    t = _nonneg("target", target, allow_inf=True)
    a = lam * s
    if a >= n:
        return ErlangCResult(
            p_wait=1.0, service_level=0.0, asa=math.inf, occupancy=1.0, mean_queue_length=math.inf
        )
    c = _erlang_c_unchecked(n, a)
    spare = n - a
    service_level = 1.0 - c * _exp(-spare * t / s)
    return ErlangCResult(
        p_wait=c,
        service_level=min(1.0, max(0.0, service_level)),
        asa=c * s / spare,
        occupancy=a / n,
        mean_queue_length=c * a / spare,
    )


# ---------------------------------------------------------------------------
# Erlang A
# ---------------------------------------------------------------------------


def erlang_a_metrics(
    arrival_rate: float,
    mean_service: float,
    mean_patience: float,
    servers: int,
    target: float,
) -> ErlangAResult:
    """Performance of the M/M/n+M (Erlang A / Palm) queue.

    Args:
        arrival_rate: calls per second (>= 0).
        mean_service: mean handling time in seconds (> 0).
        mean_patience: mean patience in seconds (> 0); ``math.inf`` gives
            Erlang C (then ``load >= servers`` is unstable, as there).
        servers: number of agents (>= 0).
        target: service-level threshold in seconds (>= 0, may be inf).

    Stable for any load when ``mean_patience`` is finite.  With no agents
    every caller abandons and ``asa`` is NaN (no answered calls).
    """
    lam = _nonneg("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    p = _positive("mean_patience", mean_patience, allow_inf=True)
    n = _servers(servers)
    t = _nonneg("target", target, allow_inf=True)

    if math.isinf(p):
        c = erlang_c_metrics(lam, s, n, t)
        return ErlangAResult(
            p_wait=c.p_wait,
            p_abandon=0.0,
            service_level=c.service_level,
            asa=c.asa,
            mean_wait_all=c.asa,
            occupancy=c.occupancy,
            p_abandon_given_wait=0.0,
        )
    y = n * p / s  # n mu / theta
    if lam == 0.0:
        return ErlangAResult(
            p_wait=0.0,
            p_abandon=0.0,
            service_level=1.0,
            asa=0.0,
            mean_wait_all=0.0,
            occupancy=0.0,
            p_abandon_given_wait=1.0 / (y + 1.0),
        )
    if n == 0:
        return ErlangAResult(
            p_wait=1.0,
            p_abandon=1.0,
            service_level=0.0,
            asa=math.nan,
            mean_wait_all=p,
            occupancy=0.0,
            p_abandon_given_wait=1.0,
        )

    a = lam * s
    x = lam * p  # lambda / theta
    sums = _tail_sums(y, x)
    p_ab_given_wait = min(1.0, _exp(sums.log_jt - math.log(x) - sums.log_t))

    blocking = _erlang_b_unchecked(n, a)
    if blocking == 0.0:
        log_pi_n = -math.inf
    else:
        log_b = math.log(blocking)
        log_free = math.log1p(-blocking) if blocking < 1.0 else -math.inf
        log_pi_n = log_b - _logaddexp(log_free, log_b + sums.log_t)
    p_wait = min(1.0, _exp(log_pi_n + sums.log_t))
    p_abandon = p_wait * p_ab_given_wait
    p_answered = 1.0 - p_abandon
    answered_wait = _exp(log_pi_n + sums.log_answered_wait) * p  # E[W; answered]

    # P(answered and V > t | delayed) = y/(y+1) u^(y+1) e^(x(1-u)) S(y+1, xu) / T
    if t == 0.0:
        late_answered = 1.0 - p_ab_given_wait  # every delayed call is late
    elif math.isinf(t):
        late_answered = 0.0
    else:
        u = math.exp(-t / p)
        log_late = (
            math.log(y / (y + 1.0))
            - (n / s + 1.0 / p) * t
            + x * -math.expm1(-t / p)
            + _tail_sums(y + 1.0, x * u, with_moments=False).log_t
            - sums.log_t
        )
        late_answered = _exp(log_late)
    on_time_given_wait = max(0.0, (1.0 - p_ab_given_wait) - late_answered)
    service_level = (1.0 - p_wait) + p_wait * on_time_given_wait

    return ErlangAResult(
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=min(1.0, max(0.0, service_level)),
        asa=answered_wait / p_answered if p_answered > 0.0 else math.nan,
        mean_wait_all=p_abandon * p,
        occupancy=min(1.0, a * p_answered / n),
        p_abandon_given_wait=p_ab_given_wait,
    )


# ---------------------------------------------------------------------------
# Staffing
# ---------------------------------------------------------------------------


def square_root_staffing(arrival_rate: float, mean_service: float, beta: float) -> int:
    """Square-root safety staffing ``ceil(R + beta sqrt(R))`` with ``R = load``.

    A relative tolerance of 1e-9 is applied before the ceiling so that
    round-off (e.g. ``R = 10.000000000000002``) does not add an agent.
    Never returns less than 0.
    """
    lam = _nonneg("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    b = _as_float("beta", beta)
    if math.isinf(b):
        raise ValueError(f"beta must be finite, got {beta!r}")
    r = lam * s
    value = r + b * math.sqrt(r)
    return max(0, math.ceil(value - 1e-9 * max(1.0, abs(value))))


def _smallest_meeting(meets: Callable[[int], bool], failing: int, start: int, limit: int) -> int:
    """Smallest n in (failing, limit] with meets(n), for a monotone predicate.

    ``failing`` is known not to meet the target.  Starts at ``start``,
    gallops up (or down) with doubling steps, then bisects.
    """
    start = max(start, failing + 1)
    if meets(start):
        hi, step = start, 1
        lo = max(failing, hi - step)
        while lo > failing and meets(lo):
            hi, step = lo, step * 2
            lo = max(failing, hi - step)
    else:
        lo, step = start, 1
        hi = lo + step
        while True:
            if hi > limit:
                if meets(limit):
                    hi = limit
                    break
                raise ValueError(f"no staffing level up to {limit} servers meets the target")
            if meets(hi):
                break
            lo, step = hi, step * 2
            hi = lo + step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _staffing_limit(load: float) -> int:
    return math.ceil(load + 100.0 * math.sqrt(load) + 1000.0)


def _initial_guess(arrival_rate: float, mean_service: float, service_level: float) -> int:
    # Halfin-Whitt flavoured guess: beta grows with the required service level.
    beta = 0.5 + 2.0 * service_level
    return square_root_staffing(arrival_rate, mean_service, beta)


def min_servers_erlang_c(
    arrival_rate: float, mean_service: float, target: float, service_level: float
) -> int:
    """Fewest agents whose Erlang C service level is >= ``service_level``.

    Args:
        arrival_rate: calls per second (> 0).
        mean_service: mean handling time in seconds (> 0).
        target: answer-time threshold in seconds (>= 0).
        service_level: required P(wait <= target), in (0, 1).
    """
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    t = _nonneg("target", target)
    sl = _probability("service_level", service_level, low_open=True, high_open=True)
    load = lam * s

    def meets(n: int) -> bool:
        return erlang_c_metrics(lam, s, n, t).service_level >= sl

    failing = math.floor(load)  # load >= floor(load): unstable, SL = 0
    return _smallest_meeting(meets, failing, _initial_guess(lam, s, sl), _staffing_limit(load))


def min_servers_erlang_a(
    arrival_rate: float,
    mean_service: float,
    mean_patience: float,
    target: float,
    service_level: float,
    max_abandon: float | None = None,
) -> int:
    """Fewest agents meeting an Erlang A service level (and abandonment cap).

    Args:
        arrival_rate: calls per second (> 0).
        mean_service: mean handling time in seconds (> 0).
        mean_patience: mean patience in seconds (> 0, may be inf).
        target: answer-time threshold in seconds (>= 0).
        service_level: required share answered within ``target``, in (0, 1).
        max_abandon: optional cap on ``p_abandon``, in (0, 1].
    """
    lam = _positive("arrival_rate", arrival_rate)
    s = _positive("mean_service", mean_service)
    p = _positive("mean_patience", mean_patience, allow_inf=True)
    t = _nonneg("target", target)
    sl = _probability("service_level", service_level, low_open=True, high_open=True)
    cap = None
    if max_abandon is not None:
        cap = _probability("max_abandon", max_abandon, low_open=True, high_open=False)
    load = lam * s

    def meets(n: int) -> bool:
        m = erlang_a_metrics(lam, s, p, n, t)
        return m.service_level >= sl and (cap is None or m.p_abandon <= cap)

    failing = 0  # no agents: nobody is answered
    return _smallest_meeting(meets, failing, _initial_guess(lam, s, sl), _staffing_limit(load))
