"""Tests for contactsim.analytic (Erlang B / C / A formulas and staffing)."""

from __future__ import annotations

import heapq
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg, special

from contactsim import analytic
from contactsim.analytic import (
    ErlangAResult,
    ErlangCResult,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    min_servers_erlang_a,
    min_servers_erlang_c,
    square_root_staffing,
)

# The standard textbook example: 100 calls per 30 minutes, 3 minute handling.
LAM = 100 / 1800  # calls per second
AHT = 180.0  # seconds
PATIENCE = 300.0  # seconds
TARGET = 20.0  # seconds

Z_999 = float(special.ndtri(0.9995))  # two-sided 99.9 % normal quantile


def sig3(value: float) -> float:
    """Round to 3 significant figures."""
    return float(f"{value:.3g}")


# ---------------------------------------------------------------------------
# Brute-force references (tests only)
# ---------------------------------------------------------------------------


def brute_stationary(lam, mu, theta, n, extra=300):
    """Stationary law of the M/M/n+M chain, truncated at n + extra, by linear algebra."""
    size = n + extra + 1
    q = np.zeros((size, size))
    for k in range(size):
        if k + 1 < size:
            q[k, k + 1] = lam
        if k > 0:
            q[k, k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k, k] = -q[k].sum()
    a = q.T.copy()
    a[-1, :] = 1.0  # replace one (redundant) balance equation by normalisation
    b = np.zeros(size)
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    pi = np.clip(pi, 0.0, None)  # round-off can leave -1e-20 in the far tail
    return pi / pi.sum()


def brute_phase_type(mu, theta, n, extra=300):
    """Tagged-call phase-type chain: phase i = number of calls ahead.

    Returns (q_t, r_served, q_offered): the transient generator including the
    tagged call's own abandonment, the exit-rate vector to 'served', and the
    generator of the offered wait V (no own abandonment).
    """
    size = extra + 1
    q_offered = np.zeros((size, size))
    for i in range(size):
        q_offered[i, i] = -(n * mu + i * theta)
        if i > 0:
            q_offered[i, i - 1] = n * mu + i * theta
    q_t = q_offered - theta * np.eye(size)
    r = np.zeros(size)
    r[0] = n * mu
    return q_t, r, q_offered


def brute_erlang_a(lam, s, p, n, t):
    """Erlang A metrics from the truncated chain and phase-type matrices."""
    mu, theta = 1 / s, 1 / p
    x = lam * p  # the queue length is roughly Poisson(x) - n when overloaded
    extra = int(x + 12 * math.sqrt(x) + 100)
    pi = brute_stationary(lam, mu, theta, n, extra)
    q_t, r, q_off = brute_phase_type(mu, theta, n, extra)
    delayed = pi[n:]
    neg_inv = np.linalg.inv(-q_t)
    served = neg_inv @ r  # P(answered | j ahead)
    served_by_t = neg_inv @ (np.eye(len(r)) - linalg.expm(q_t * t)) @ r
    answered_wait = neg_inv @ neg_inv @ r  # E[V; answered | j ahead]
    offered_tail = linalg.expm(q_off * t) @ np.ones(len(r))  # P(V > t | j ahead)
    p_wait = delayed.sum()
    p_abandon = float(delayed @ (1 - served))
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "service_level": pi[:n].sum() + float(delayed @ served_by_t),
        "asa": float(delayed @ answered_wait) / (1 - p_abandon),
        "mean_wait_all": float(pi[n:] @ np.arange(len(delayed))) / lam,
        "delayed_tail": float(delayed @ offered_tail) / p_wait,
        "pi": pi,
    }


def binomial_tol(p, n_samples):
    """Half-width of a 99.9 % normal-approximation binomial CI (plus slack)."""
    return Z_999 * math.sqrt(p * (1 - p) / n_samples) + 1e-4


# ---------------------------------------------------------------------------
# Published figures
# ---------------------------------------------------------------------------


def test_erlang_c_published_example():
    r = erlang_c_metrics(arrival_rate=LAM, mean_service=AHT, servers=14, target=TARGET)
    assert isinstance(r, ErlangCResult)
    assert round(r.p_wait, 4) == 0.1741
    assert round(r.service_level, 4) == 0.8884
    assert sig3(r.asa) == 7.84
    assert sig3(r.occupancy) == 0.714
    assert r.p_wait == pytest.approx(0.1741, rel=5e-4)
    assert r.service_level == pytest.approx(0.8884, rel=5e-4)
    assert r.mean_queue_length == pytest.approx(LAM * r.asa, rel=1e-12)  # Little
    assert erlang_c(servers=14, load=10.0) == pytest.approx(r.p_wait, rel=1e-12)


def test_erlang_a_published_example():
    r = erlang_a_metrics(
        arrival_rate=LAM, mean_service=AHT, mean_patience=PATIENCE, servers=13, target=TARGET
    )
    assert isinstance(r, ErlangAResult)
    assert sig3(r.p_wait) == 0.226
    assert sig3(r.p_abandon) == 0.0250
    assert r.mean_wait_all == pytest.approx(r.p_abandon * PATIENCE, rel=1e-12)
    assert r.p_abandon == pytest.approx(r.p_wait * r.p_abandon_given_wait, rel=1e-12)
    assert r.occupancy == pytest.approx(LAM * (1 - r.p_abandon) * AHT / 13, rel=1e-12)


# ---------------------------------------------------------------------------
# Erlang B and C
# ---------------------------------------------------------------------------


def test_erlang_b_known_values():
    assert erlang_b(servers=10, load=5.0) == pytest.approx(0.01838457, rel=1e-6)
    assert erlang_b(servers=0, load=3.0) == 1.0
    assert erlang_b(servers=1, load=2.0) == pytest.approx(2 / 3)
    assert erlang_b(servers=2, load=1.0) == pytest.approx(0.2)
    assert erlang_b(servers=5, load=0.0) == 0.0


@pytest.mark.parametrize("n", [1, 3, 7, 15, 30])
@pytest.mark.parametrize("a", [0.3, 2.5, 9.0, 25.0])
def test_erlang_b_matches_factorial_formula(n, a):
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    assert erlang_b(n, a) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_erlang_c_known_values():
    assert erlang_c(servers=2, load=1.0) == pytest.approx(1 / 3)
    assert erlang_c(servers=1, load=0.5) == pytest.approx(0.5)  # M/M/1: rho
    assert erlang_c(servers=5, load=5.0) == 1.0
    assert erlang_c(servers=5, load=7.0) == 1.0
    assert erlang_c(servers=5, load=0.0) == 0.0


def test_erlang_c_unstable_metrics():
    r = erlang_c_metrics(arrival_rate=LAM, mean_service=AHT, servers=10, target=TARGET)
    assert r == ErlangCResult(
        p_wait=1.0, service_level=0.0, asa=math.inf, occupancy=1.0, mean_queue_length=math.inf
    )


def test_erlang_c_target_extremes():
    r0 = erlang_c_metrics(LAM, AHT, 14, 0.0)
    assert r0.service_level == pytest.approx(1 - r0.p_wait)
    assert erlang_c_metrics(LAM, AHT, 14, math.inf).service_level == 1.0


# ---------------------------------------------------------------------------
# Erlang A: exact cross-checks
# ---------------------------------------------------------------------------

ERLANG_A_CASES = [
    # arrival_rate, mean_service, mean_patience, servers, target
    (LAM, AHT, PATIENCE, 13, TARGET),
    (LAM, AHT, PATIENCE, 9, 60.0),  # overloaded: load 10 > 9 agents
    (15 / 180, 180.0, 120.0, 10, 30.0),  # 50 % overload, impatient callers
    (2.0, 300.0, 30.0, 500, 10.0),  # large centre, patience << service
    (0.04, 60.0, 600.0, 3, 5.0),  # small centre, very patient callers
    (0.5, 60.0, 100.0, 5, 30.0),  # load 30 on 5 agents: 83 % abandon
]


@pytest.mark.parametrize("lam, s, p, n, t", ERLANG_A_CASES)
def test_erlang_a_matches_brute_force_chain(lam, s, p, n, t):
    ref = brute_erlang_a(lam, s, p, n, t)
    r = erlang_a_metrics(lam, s, p, n, t)
    assert r.p_wait == pytest.approx(ref["p_wait"], rel=1e-8)
    assert r.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-8)
    assert r.service_level == pytest.approx(ref["service_level"], rel=1e-8, abs=1e-12)
    assert r.asa == pytest.approx(ref["asa"], rel=1e-8)
    assert r.mean_wait_all == pytest.approx(ref["mean_wait_all"], rel=1e-8)
    tail = analytic._erlang_a_delayed_wait_tail(lam, s, p, n, t)
    assert tail == pytest.approx(ref["delayed_tail"], rel=1e-8)


@pytest.mark.parametrize("lam, s, p, n, t", ERLANG_A_CASES)
def test_delayed_wait_tail_incomplete_gamma_form(lam, s, p, n, t):
    # P(V > t | delayed) = P(y, x u) / P(y, x)  (regularised incomplete gamma)
    x, y, u = lam * p, n * p / s, math.exp(-t / p)
    closed = special.gammainc(y, x * u) / special.gammainc(y, x)
    tail = analytic._erlang_a_delayed_wait_tail(lam, s, p, n, t)
    assert tail == pytest.approx(closed, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    y=st.floats(min_value=0.05, max_value=2e4),
    ratio=st.floats(min_value=0.3, max_value=4.0),
)
def test_tail_series_matches_incomplete_gamma(y, ratio):
    # Series and incomplete-gamma closed form of T agree where P(y, x) is not tiny.
    x = ratio * y
    if special.gammainc(y, x) < 1e-200:
        return
    series = analytic._tail_sums(y, x).log_t
    closed = analytic._log_tail_sum_incgamma(y, x)
    assert series == pytest.approx(closed, rel=1e-9, abs=1e-9)


def brute_tail_sums(y, x, terms=20_000):
    """log T, log sum j t_j and the answered-wait sum by summing every term."""
    j = np.arange(terms, dtype=float)
    log_t = np.concatenate([[0.0], np.cumsum(np.log(x / (y + j[1:])))])
    log_jt = log_t[1:] + np.log(j[1:])
    dig = special.digamma(y + j + 2) - special.digamma(y + 1)
    log_w = log_t + math.log(y) - np.log(y + j + 1) + np.log(dig)
    return special.logsumexp(log_t), special.logsumexp(log_jt), special.logsumexp(log_w)


@pytest.mark.parametrize("chunk", [None, 7, 64])
@pytest.mark.parametrize("y, x", [(10.0, 2000.0), (3.5, 800.0), (900.0, 1000.0), (500.0, 20.0)])
def test_tail_series_window_and_chunks(monkeypatch, chunk, y, x):
    # windows that start well above j = 0, and sums split over many chunks
    if chunk is not None:
        monkeypatch.setattr(analytic, "_CHUNK", chunk)
    sums = analytic._tail_sums(y, x)
    ref = brute_tail_sums(y, x)
    assert sums.log_t == pytest.approx(ref[0], rel=1e-11, abs=1e-11)
    assert sums.log_jt == pytest.approx(ref[1], rel=1e-11, abs=1e-11)
    assert sums.log_answered_wait == pytest.approx(ref[2], rel=1e-11, abs=1e-11)


def test_results_are_frozen():
    r = erlang_c_metrics(LAM, AHT, 14, TARGET)
    with pytest.raises(AttributeError):
        r.p_wait = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("y, x", [(0.0, 0.5), (0.5, 3.0), (7.3, 2.0), (40.0, 55.0)])
def test_tail_series_matches_direct_products(y, x):
    terms = [1.0]
    for i in range(1, 400):
        terms.append(terms[-1] * x / (y + i))
    sums = analytic._tail_sums(y, x)
    assert math.exp(sums.log_t) == pytest.approx(sum(terms), rel=1e-12)
    assert math.exp(sums.log_jt) == pytest.approx(
        sum(j * tj for j, tj in enumerate(terms)), rel=1e-12
    )


# ---------------------------------------------------------------------------
# Erlang A -> Erlang C
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n, target", [(11, 20.0), (14, 20.0), (20, 0.0), (14, math.inf)])
def test_erlang_a_infinite_patience_is_erlang_c(n, target):
    a = erlang_a_metrics(LAM, AHT, math.inf, n, target)
    c = erlang_c_metrics(LAM, AHT, n, target)
    assert a.p_wait == c.p_wait
    assert a.service_level == c.service_level
    assert a.asa == c.asa
    assert a.mean_wait_all == c.asa
    assert a.occupancy == c.occupancy
    assert a.p_abandon == 0.0


def test_erlang_a_infinite_patience_unstable():
    a = erlang_a_metrics(LAM, AHT, math.inf, 9, TARGET)
    assert (a.p_wait, a.service_level, a.asa, a.occupancy) == (1.0, 0.0, math.inf, 1.0)


@pytest.mark.parametrize("n", [11, 14, 25])
def test_erlang_a_converges_to_erlang_c(n):
    c = erlang_c_metrics(LAM, AHT, n, TARGET)
    previous_gap = math.inf
    for patience in (1e4, 1e6, 1e8, 1e10, 1e12):
        a = erlang_a_metrics(LAM, AHT, patience, n, TARGET)
        gap = abs(a.asa - c.asa) / c.asa
        assert gap < previous_gap  # the gap shrinks like 1 / patience
        previous_gap = gap
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-8)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-8)
    assert a.asa == pytest.approx(c.asa, rel=1e-8)
    assert a.p_abandon < 1e-9


# ---------------------------------------------------------------------------
# Monte Carlo cross-checks (seeded)
# ---------------------------------------------------------------------------


def test_erlang_a_waiting_time_tail_monte_carlo():
    """Independent tagged-call simulation of M/M/n+M against the formulas.

    The state met by an arrival is drawn from the brute-force stationary law
    (PASTA); the tagged call then moves up the queue through competing
    exponential clocks (n agents, abandonments of the calls ahead) and its own
    patience clock.  Samples are independent, so binomial CIs apply.
    """
    rng = np.random.default_rng(20240611)
    lam, s, p, n = LAM, AHT, PATIENCE, 13
    mu, theta = 1 / s, 1 / p
    pi = brute_stationary(lam, mu, theta, n, extra=200)
    m = 200_000
    state = rng.choice(len(pi), size=m, p=pi)
    ahead = state - n
    delayed = ahead >= 0
    offered = np.zeros(m)
    for i in range(int(ahead.max()) + 1):  # stage with i calls ahead
        active = ahead >= i
        offered[active] += rng.exponential(1 / (n * mu + i * theta), size=int(active.sum()))
    patience = rng.exponential(p, size=m)
    answered = ~delayed | (offered < patience)

    targets = (5.0, TARGET, 60.0, 180.0)
    r = erlang_a_metrics(lam, s, p, n, TARGET)
    checks = [(r.p_wait, delayed.mean(), m), (r.p_abandon, (~answered).mean(), m)]
    for t in targets:
        sl = erlang_a_metrics(lam, s, p, n, t).service_level
        checks.append((sl, (answered & (offered <= t)).mean(), m))
        tail = analytic._erlang_a_delayed_wait_tail(lam, s, p, n, t)
        checks.append((tail, (offered[delayed] > t).mean(), int(delayed.sum())))
    for expected, observed, size in checks:
        assert abs(observed - expected) <= binomial_tol(expected, size), (expected, observed)

    # mean wait of answered calls: CLT interval
    waits = np.where(delayed, offered, 0.0)[answered]
    half = Z_999 * waits.std() / math.sqrt(waits.size)
    assert abs(waits.mean() - r.asa) <= half


def simulate_fcfs(lam, s, p, n, n_calls, rng):
    """Event-free FCFS M/M/n+M simulation (Kiefer-Wolfowitz style).

    Each call takes the earliest-free agent after all earlier answered calls;
    it abandons if that start would come after its patience runs out.
    Returns per-call arrays (waited, abandoned, wait).
    """
    arrivals = np.cumsum(rng.exponential(1 / lam, n_calls))
    service = rng.exponential(s, n_calls)
    patience = rng.exponential(p, n_calls)
    free_at = [0.0] * n
    waited = np.zeros(n_calls, dtype=bool)
    abandoned = np.zeros(n_calls, dtype=bool)
    wait = np.zeros(n_calls)
    for k in range(n_calls):
        arrival = arrivals[k]
        delay = free_at[0] - arrival
        if delay > 0.0:
            waited[k] = True
            if delay > patience[k]:
                abandoned[k] = True
                wait[k] = patience[k]
                continue
            wait[k] = delay
            heapq.heapreplace(free_at, free_at[0] + service[k])
        else:
            heapq.heapreplace(free_at, arrival + service[k])
    return waited, abandoned, wait


def test_erlang_a_full_queue_simulation():
    """End-to-end FCFS queue simulation; batch means give the CI (calls are correlated)."""
    rng = np.random.default_rng(7)
    lam, s, p, n = LAM, AHT, PATIENCE, 13
    n_calls, warmup, batches = 120_000, 2_000, 20
    waited, abandoned, wait = simulate_fcfs(lam, s, p, n, n_calls, rng)
    waited, abandoned, wait = waited[warmup:], abandoned[warmup:], wait[warmup:]
    on_time = ~abandoned & (wait <= TARGET)
    r = erlang_a_metrics(lam, s, p, n, TARGET)
    t_crit = float(special.stdtrit(batches - 1, 0.9995))
    for expected, flags in (
        (r.p_wait, waited),
        (r.p_abandon, abandoned),
        (r.service_level, on_time),
        (r.mean_wait_all, wait),
    ):
        means = np.array([b.mean() for b in np.array_split(flags.astype(float), batches)])
        half = t_crit * means.std(ddof=1) / math.sqrt(batches)
        assert abs(means.mean() - expected) <= half, (expected, means.mean(), half)


# ---------------------------------------------------------------------------
# Numerical stability
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.9, 1.0, 2.0])
def test_stability_large_centre(factor):
    n, s = 5000, 180.0
    load = factor * n
    lam = load / s
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        values = [erlang_b(n, load), erlang_c(n, load)]
        c = erlang_c_metrics(lam, s, n, TARGET)
        values += [c.p_wait, c.service_level, c.occupancy]
        for patience in (10.0, 300.0, 1e5):
            a = erlang_a_metrics(lam, s, patience, n, TARGET)
            values += [a.p_wait, a.p_abandon, a.service_level, a.occupancy]
            values += [a.p_abandon_given_wait]
            assert math.isfinite(a.asa) and a.asa >= 0
            assert math.isfinite(a.mean_wait_all) and a.mean_wait_all >= 0
            if factor > 1:  # fluid limit: the excess load abandons
                assert a.p_abandon == pytest.approx(1 - 1 / factor, rel=1e-3)
    for v in values:
        assert math.isfinite(v) and 0.0 <= v <= 1.0
    # independent reference: B = (a^n/n!) / sum_k a^k/k!, summed in log space
    k = np.arange(n + 1)
    log_terms = k * math.log(load) - special.gammaln(k + 1)
    reference = math.exp(log_terms[-1] - special.logsumexp(log_terms))
    assert erlang_b(n, load) == pytest.approx(reference, rel=1e-9)


def test_stability_staffing_large_centre():
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        n_c = min_servers_erlang_c(4500 / 180, 180.0, TARGET, 0.8)
        n_a = min_servers_erlang_a(9000 / 180, 180.0, 300.0, TARGET, 0.8, max_abandon=0.02)
    assert 4500 < n_c < 4700
    assert 8500 < n_a < 9500


# ---------------------------------------------------------------------------
# Monotonicity (hypothesis)
# ---------------------------------------------------------------------------

# Absolute slack: the Erlang-A service level is a difference of O(1) terms,
# so values within ~1e-12 of each other are not ordered reliably.
SLACK = 1e-10


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=400),
    utilisation=st.floats(min_value=0.01, max_value=0.999),
    target=st.floats(min_value=0.0, max_value=600.0),
    aht=st.floats(min_value=10.0, max_value=1000.0),
)
def test_erlang_c_monotone_in_servers(n, utilisation, target, aht):
    lam = utilisation * n / aht
    r0 = erlang_c_metrics(lam, aht, n, target)
    r1 = erlang_c_metrics(lam, aht, n + 1, target)
    assert r1.p_wait <= r0.p_wait + SLACK
    assert r1.service_level >= r0.service_level - SLACK
    assert r1.asa <= r0.asa * (1 + SLACK)
    assert 0.0 <= r0.p_wait <= 1.0 and 0.0 <= r0.service_level <= 1.0


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    utilisation=st.floats(min_value=0.05, max_value=2.0),
    aht=st.floats(min_value=10.0, max_value=1000.0),
    patience=st.floats(min_value=5.0, max_value=5000.0),
    target=st.floats(min_value=0.0, max_value=600.0),
)
def test_erlang_a_monotone_in_servers(n, utilisation, aht, patience, target):
    lam = utilisation * n / aht
    r0 = erlang_a_metrics(lam, aht, patience, n, target)
    r1 = erlang_a_metrics(lam, aht, patience, n + 1, target)
    assert r1.p_wait <= r0.p_wait + SLACK
    assert r1.p_abandon <= r0.p_abandon + SLACK
    assert r1.service_level >= r0.service_level - SLACK
    for r in (r0, r1):
        assert 0.0 <= r.p_abandon <= r.p_wait <= 1.0
        assert r.service_level <= 1.0 - r.p_abandon + SLACK
        assert 0.0 <= r.occupancy <= 1.0
        assert r.mean_wait_all == pytest.approx(r.p_abandon * patience, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=200),
    utilisation=st.floats(min_value=0.05, max_value=0.95),
    aht=st.floats(min_value=10.0, max_value=1000.0),
    target=st.floats(min_value=0.0, max_value=600.0),
)
def test_erlang_a_abandonment_decreases_with_patience(n, utilisation, aht, target):
    lam = utilisation * n / aht
    impatient = erlang_a_metrics(lam, aht, 60.0, n, target)
    patient = erlang_a_metrics(lam, aht, 600.0, n, target)
    assert patient.p_abandon <= impatient.p_abandon + SLACK


# ---------------------------------------------------------------------------
# Staffing
# ---------------------------------------------------------------------------


def test_square_root_staffing():
    assert square_root_staffing(arrival_rate=LAM, mean_service=AHT, beta=1.0) == 14
    assert square_root_staffing(LAM, AHT, 0.0) == 10  # no round-off agent
    assert square_root_staffing(100.0 / 180, 180.0, 2.0) == 120
    assert square_root_staffing(LAM, AHT, -10.0) == 0


STAFFING_CASES = [
    (LAM, AHT, TARGET, 0.8),
    (LAM, AHT, 10.0, 0.95),
    (0.01, 600.0, 30.0, 0.5),
    (3.0, 240.0, 15.0, 0.9),
    (0.2, 300.0, 0.0, 0.7),
]


@pytest.mark.parametrize("lam, s, t, sl", STAFFING_CASES)
def test_min_servers_erlang_c_is_minimal(lam, s, t, sl):
    n = min_servers_erlang_c(arrival_rate=lam, mean_service=s, target=t, service_level=sl)
    assert erlang_c_metrics(lam, s, n, t).service_level >= sl
    assert erlang_c_metrics(lam, s, n - 1, t).service_level < sl


def test_min_servers_erlang_c_published_example():
    assert min_servers_erlang_c(LAM, AHT, TARGET, 0.8) == 14
    assert erlang_c_metrics(LAM, AHT, 13, TARGET).service_level < 0.8


@pytest.mark.parametrize("lam, s, t, sl", STAFFING_CASES)
@pytest.mark.parametrize("patience, cap", [(PATIENCE, None), (60.0, 0.01), (1e4, None)])
def test_min_servers_erlang_a_is_minimal(lam, s, t, sl, patience, cap):
    def meets(n):
        r = erlang_a_metrics(lam, s, patience, n, t)
        return r.service_level >= sl and (cap is None or r.p_abandon <= cap)

    n = min_servers_erlang_a(
        arrival_rate=lam,
        mean_service=s,
        mean_patience=patience,
        target=t,
        service_level=sl,
        max_abandon=cap,
    )
    assert meets(n)
    assert n == 1 or not meets(n - 1)


def test_min_servers_erlang_a_abandon_cap_binds():
    free = min_servers_erlang_a(LAM, AHT, PATIENCE, TARGET, 0.5)
    capped = min_servers_erlang_a(LAM, AHT, PATIENCE, TARGET, 0.5, max_abandon=0.001)
    assert capped > free
    assert erlang_a_metrics(LAM, AHT, PATIENCE, capped, TARGET).p_abandon <= 0.001
    assert erlang_a_metrics(LAM, AHT, PATIENCE, capped - 1, TARGET).p_abandon > 0.001


def test_min_servers_erlang_a_infinite_patience_matches_c():
    for lam, s, t, sl in STAFFING_CASES:
        assert min_servers_erlang_a(lam, s, math.inf, t, sl) == min_servers_erlang_c(lam, s, t, sl)


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------

NAN = math.nan


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(-1, 1.0),
        lambda: erlang_b(3, -1.0),
        lambda: erlang_b(3, NAN),
        lambda: erlang_b(3, math.inf),
        lambda: erlang_b(2.5, 1.0),
        lambda: erlang_b(True, 1.0),
        lambda: erlang_c(-2, 1.0),
        lambda: erlang_c(2, NAN),
        lambda: erlang_c_metrics(-0.1, AHT, 14, TARGET),
        lambda: erlang_c_metrics(LAM, 0.0, 14, TARGET),
        lambda: erlang_c_metrics(LAM, AHT, -1, TARGET),
        lambda: erlang_c_metrics(LAM, AHT, 14, -1.0),
        lambda: erlang_c_metrics(NAN, AHT, 14, TARGET),
        lambda: erlang_a_metrics(LAM, AHT, 0.0, 13, TARGET),
        lambda: erlang_a_metrics(LAM, AHT, NAN, 13, TARGET),
        lambda: erlang_a_metrics(LAM, AHT, -5.0, 13, TARGET),
        lambda: erlang_a_metrics(LAM, -AHT, PATIENCE, 13, TARGET),
        lambda: erlang_a_metrics(LAM, AHT, PATIENCE, 13, NAN),
        lambda: erlang_a_metrics(LAM, AHT, PATIENCE, "13", TARGET),
        lambda: square_root_staffing(LAM, AHT, NAN),
        lambda: square_root_staffing(-LAM, AHT, 1.0),
        lambda: min_servers_erlang_c(0.0, AHT, TARGET, 0.8),
        lambda: min_servers_erlang_c(LAM, AHT, TARGET, 1.0),
        lambda: min_servers_erlang_c(LAM, AHT, TARGET, 0.0),
        lambda: min_servers_erlang_c(LAM, AHT, NAN, 0.8),
        lambda: min_servers_erlang_a(LAM, AHT, PATIENCE, TARGET, 1.2),
        lambda: min_servers_erlang_a(LAM, AHT, PATIENCE, TARGET, 0.8, max_abandon=0.0),
        lambda: min_servers_erlang_a(LAM, AHT, PATIENCE, TARGET, 0.8, max_abandon=NAN),
        lambda: min_servers_erlang_a(LAM, AHT, -1.0, TARGET, 0.8),
    ],
)
def test_invalid_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_degenerate_inputs():
    idle = erlang_a_metrics(0.0, AHT, PATIENCE, 5, TARGET)
    assert (idle.p_wait, idle.p_abandon, idle.service_level, idle.occupancy) == (0, 0, 1, 0)
    nobody = erlang_a_metrics(LAM, AHT, PATIENCE, 0, TARGET)
    assert (nobody.p_wait, nobody.p_abandon, nobody.service_level) == (1, 1, 0)
    assert math.isnan(nobody.asa)
    assert nobody.mean_wait_all == PATIENCE
    quiet = erlang_c_metrics(0.0, AHT, 3, TARGET)
    assert (quiet.p_wait, quiet.service_level, quiet.asa) == (0.0, 1.0, 0.0)
    r = erlang_a_metrics(LAM, AHT, PATIENCE, 13, math.inf)
    assert r.service_level == pytest.approx(1 - r.p_abandon)
