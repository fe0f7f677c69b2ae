"""Calibration: fit scenario parameters so that simulated KPIs match observed ones.

The observed KPIs (``configs/observed/*.yaml``, read by :func:`read_observed`) are published
percentages such as HMICFRS' "999 calls answered within the target time".  Each is mapped to a
contactsim metric (``service_level`` of channel ``999``...) with the definitions of
``docs/metrics.md``, and carries an uncertainty (``sd``): the rounding of the published figure,
or how far a proxy may be from the month it stands for.

:func:`calibrate` fits the parameters named by config paths (``pools.call_handlers.scale``,
``channels.101.patience.mean``...) within bounds, by simulation-based least squares on common
random numbers: every evaluation runs the same replications of the same seed, so the objective
is a deterministic function of the parameters and finite differences measure the effect of a
parameter, not noise.  The solver is ``scipy.optimize.least_squares`` (trust-region reflective,
box bounds) on parameters rescaled to [0, 1], with a finite-difference Jacobian whose step grows
until the KPIs move (a roster scale moves KPIs only when a rounded head-count changes).
``docs/calibration.md`` compares it with Nelder-Mead and a grid search, with numbers.

After the fit:

* **uncertainty** — the delta method: the covariance of the mean KPIs over replications
  (simulation noise) plus the observed KPIs' own variance, propagated through the Jacobian at the
  optimum (a linearised bootstrap over replications);
* **identifiability** — the Jacobian, whitened by that noise, is decomposed: a parameter whose
  whole range moves no KPI by more than the noise is *flat*; a direction in parameter space with
  a small singular value is a *ridge* (two parameters that trade off, e.g. a roster scale and a
  handling-time mean); both are reported as warnings, and the fit refuses outright to fit more
  free parameters than observed KPIs.

:func:`write_fitted` writes a config that ``extends:`` the input and sets the fitted values, with
a header giving the values, their uncertainty, the residuals and the command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from contactsim import engine
from contactsim.config import ConfigError, load, read_yaml
from contactsim.inputs import InputSampler
from contactsim.metrics import _offered_mask, t_quantile
from contactsim.schema import CHANNELS, Scenario
from contactsim.system import ABANDONED

#: Metrics a calibration target may name (definitions as in docs/metrics.md, per channel).
METRICS = ("service_level", "abandon_rate", "offered_per_day", "answered_per_day", "asa_s",
           "abandon_wait_s")


class CalibrationError(ValueError):
    """A calibration that cannot be run as asked (bad observed file, too many parameters...)."""


# --- observed KPIs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One observed figure and the simulated metric it is compared with."""

    key: str
    channel: str
    metric: str
    value: float
    sd: float
    label: str = ""
    definition: str = ""
    source: str = ""

    @property
    def short(self) -> str:
        return f"{self.channel} {self.metric}"


@dataclass(frozen=True)
class Observed:
    """The observed figures of one period: targets to fit, checks to report, other facts."""

    path: Path
    name: str
    period: str
    targets: tuple[Target, ...]
    checks: tuple[Target, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def subset(self, keys: Sequence[str]) -> Observed:
        """Only the named targets (e.g. the three HMICFRS KPIs without auxiliary ones)."""
        chosen = tuple(t for t in self.targets if t.key in keys)
        missing = set(keys) - {t.key for t in chosen}
        if missing:
            raise CalibrationError(f"{self.path}: no target named {', '.join(sorted(missing))}")
        return Observed(self.path, self.name, self.period, chosen, self.checks, self.facts)


def _target(entry: Any, where: str) -> Target:
    if not isinstance(entry, dict):
        raise CalibrationError(f"{where}: expected a mapping with channel, metric, value, sd")
    missing = [k for k in ("channel", "metric", "value", "sd") if k not in entry]
    if missing:
        raise CalibrationError(f"{where}: missing {', '.join(missing)}")
    if entry["metric"] not in METRICS:
        raise CalibrationError(f"{where}.metric: expected one of {', '.join(METRICS)} "
                               f"(got {entry['metric']!r})")
    value, sd = entry["value"], entry["sd"]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
               for x in (value, sd)) or sd <= 0:
        raise CalibrationError(f"{where}: value and sd must be finite numbers, sd > 0")
    return Target(key=str(entry.get("key", where.rsplit(".", 1)[-1])),
                  channel=str(entry["channel"]), metric=str(entry["metric"]),
                  value=float(value), sd=float(sd), label=str(entry.get("label", "")),
                  definition=" ".join(str(entry.get("definition", "")).split()),
                  source=" ".join(str(entry.get("source", "")).split()))


def read_observed(path: str | Path) -> Observed:
    """Read an observed-KPI file (``configs/observed/*.yaml``)."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigError as exc:
        raise CalibrationError(str(exc)) from None

    def block(name: str) -> tuple[Target, ...]:
        entries = data.get(name) or {}
        if not isinstance(entries, dict):
            raise CalibrationError(f"{path}: {name}: expected a mapping of named figures")
        return tuple(_target({"key": k, **v} if isinstance(v, dict) else v, f"{name}.{k}")
                     for k, v in entries.items())

    targets = block("kpis") + block("auxiliary")
    if not targets:
        raise CalibrationError(f"{path}: no kpis to fit")
    return Observed(path, str(data.get("name", path.stem)), str(data.get("period", "")),
                    targets, block("checks"), dict(data.get("facts") or {}))


# --- simulated KPIs ------------------------------------------------------------------------


def kpi_values(scenario: Scenario, targets: Sequence[Target], replication: int,
               engine_run: Callable = engine.run) -> np.ndarray:
    """The targets' metrics in one replication (call handling only; downstream not run)."""
    calls = engine_run(InputSampler(scenario, replication).calls())  # no downstream draws
    offered_mask = _offered_mask(scenario, calls)
    wait = calls.answer - calls.queue_entry
    days = (scenario.horizon - scenario.warmup) / 86400.0
    channels = list(scenario.channels)
    out = np.empty(len(targets))
    for k, t in enumerate(targets):
        if t.channel not in channels:
            raise CalibrationError(f"target {t.key}: scenario has no channel {t.channel}")
        offered = offered_mask & (calls.klass == CHANNELS.index(t.channel))
        answered = offered & ~np.isnan(calls.answer)
        n = offered.sum()
        if t.metric == "service_level":
            target = scenario.channels[t.channel].answer_target
            value = (wait[answered] <= target).sum() / n if n else np.nan
        elif t.metric == "abandon_rate":
            value = (offered & (calls.status == ABANDONED)).sum() / n if n else np.nan
        elif t.metric == "offered_per_day":
            value = n / days
        elif t.metric == "answered_per_day":
            value = answered.sum() / days
        elif t.metric == "abandon_wait_s":  # mean time in queue of those who abandoned
            gone = offered & (calls.status == ABANDONED)
            value = (calls.end[gone] - calls.queue_entry[gone]).mean() if gone.any() else np.nan
        else:  # asa_s
            value = wait[answered].mean() if answered.any() else np.nan
        out[k] = value
    return out


def simulate_kpis(scenario: Scenario, targets: Sequence[Target], replications: int) -> np.ndarray:
    """KPIs per replication: array [replications, targets], on the scenario's seed."""
    return np.array([kpi_values(scenario, targets, r) for r in range(replications)])


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Mean and Student-t confidence interval over axis 0."""
    values = np.asarray(values, float)
    n = values.shape[0]
    mean = values.mean(axis=0)
    if n < 2:
        return mean, mean * np.nan, mean * np.nan
    half = t_quantile(confidence, n - 1) * values.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A fitted parameter: a config path (or a rule producing overrides) within bounds."""

    path: str
    low: float
    high: float
    start: float
    render: Callable[[float], list[str]] | None = None
    unit: str = ""

    def overrides(self, value: float) -> list[str]:
        if self.render is not None:
            return self.render(value)
        return [f"{self.path}={_number(value)}"]

    def to_unit(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        return self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)


def _number(value: float) -> str:
    return repr(float(value))


def value_at(scenario: Scenario, path: str) -> Any:
    """The value of a dotted path in a validated scenario (durations in seconds)."""
    node: Any = scenario
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                raise KeyError(path)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(type(node), "model_fields") and part in type(node).model_fields:
            node = getattr(node, part)
        else:
            raise KeyError(path)
    return node


_PROBABILITY = re.compile(r"(probability|routed|divert_online|divert_other|hang_up|tdiu|deploy|"
                          r"screened_out)$")


def parse_fit(spec: str, scenario: Scenario) -> Parameter:
    """``PATH`` or ``PATH=LOW:HIGH`` -> Parameter, checked against the scenario."""
    path, sep, bounds = spec.partition("=")
    path = path.strip()
    try:
        start = value_at(scenario, path)
    except KeyError:
        raise CalibrationError(f"--fit {spec}: no field {path} in the config") from None
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise CalibrationError(f"--fit {spec}: {path} is not a number (got {type(start).__name__})")
    start = float(start)
    if sep:
        try:
            low, high = (float(x) for x in bounds.split(":"))
        except ValueError:
            raise CalibrationError(f"--fit {spec}: expected PATH=LOW:HIGH numbers") from None
    elif _PROBABILITY.search(path):
        low, high = 0.0, 1.0
    elif start > 0:
        low, high = start / 2, start * 2
    else:
        raise CalibrationError(f"--fit {spec}: {path} is {start:g}; give bounds PATH=LOW:HIGH")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise CalibrationError(f"--fit {spec}: expected LOW < HIGH (got {low:g}:{high:g})")
    return Parameter(path, low, high, float(np.clip(start, low, high)))


# --- the objective -------------------------------------------------------------------------


class BudgetExhausted(Exception):
    """The evaluation budget ran out; the best point so far is kept."""


class Objective:
    """KPIs as a function of the parameters (in [0, 1] units), on common random numbers.

    Every evaluation loads the config with the parameter overrides and runs replications
    0..R-1 of the config's seed.  Evaluations are cached; the best point is remembered.
    """

    def __init__(self, config: str | Path, params: Sequence[Parameter],
                 targets: Sequence[Target], replications: int,
                 overrides: Sequence[str] = (), budget: int = 10_000,
                 progress: Callable[[int, float], None] | None = None):
        self.config, self.params, self.targets = Path(config), list(params), list(targets)
        self.replications, self.overrides = replications, list(overrides)
        self.observed = np.array([t.value for t in self.targets])
        self.obs_sd = np.array([t.sd for t in self.targets])
        self.budget, self.progress = budget, progress
        self.cache: dict[tuple, np.ndarray] = {}
        self.history: list[tuple[np.ndarray, float]] = []
        self.scale = self.obs_sd.copy()  # residual units; refined by set_noise_scale
        self.best: tuple[float, np.ndarray] | None = None
        self.fd_step = 0.05

    def scenario(self, values: Sequence[float]) -> Scenario:
        extra = [o for p, v in zip(self.params, values) for o in p.overrides(v)]
        return load(self.config, self.overrides + extra).scenario

    def values(self, x: np.ndarray) -> list[float]:
        return [p.from_unit(u) for p, u in zip(self.params, x)]

    def per_replication(self, x: np.ndarray) -> np.ndarray:
        key = tuple(np.round(np.clip(x, 0, 1), 10))
        if key not in self.cache:
            if len(self.cache) >= self.budget:
                raise BudgetExhausted
            kpis = simulate_kpis(self.scenario(self.values(np.array(key))), self.targets,
                                 self.replications)
            self.cache[key] = kpis
            cost = float(np.sum(self._residual(kpis.mean(axis=0)) ** 2))
            self.history.append((np.array(key), cost))
            if self.best is None or cost < self.best[0]:
                self.best = (cost, np.array(key))
            if self.progress:
                self.progress(len(self.cache), cost)
        return self.cache[key]

    def mean(self, x: np.ndarray) -> np.ndarray:
        return self.per_replication(x).mean(axis=0)

    def _residual(self, mean: np.ndarray) -> np.ndarray:
        return (mean - self.observed) / self.scale

    def residual(self, x: np.ndarray) -> np.ndarray:
        return self._residual(self.mean(x))

    def cost(self, x: np.ndarray) -> float:
        return float(np.sum(self.residual(np.clip(x, 0, 1)) ** 2))

    def set_noise_scale(self, x: np.ndarray) -> None:
        """Residual unit: observed sd and simulation sd of the mean KPI, combined."""
        reps = self.per_replication(x)
        sim = reps.std(axis=0, ddof=1) / math.sqrt(len(reps)) if len(reps) > 1 else 0 * reps[0]
        self.scale = np.sqrt(self.obs_sd**2 + sim**2)
        self.history = [(k, float(np.sum(self._residual(self.cache[tuple(k)].mean(0)) ** 2)))
                        for k, _ in self.history]
        self.best = min(((c, k) for k, c in self.history), key=lambda t: t[0])

    def jacobian(self, x: np.ndarray, step: float = 0.03, central: bool = False,
                 of: str = "residual") -> np.ndarray:
        """Finite differences in [0, 1] units; the step doubles while no KPI moves."""
        f = self.residual if of == "residual" else self.mean
        x = np.clip(np.asarray(x, float), 0, 1)
        f0 = f(x)
        jac = np.zeros((len(f0), len(x)))
        for j in range(len(x)):
            h = step
            while True:
                if central and x[j] - h >= 0 and x[j] + h <= 1:
                    up, down = x.copy(), x.copy()
                    up[j] += h
                    down[j] -= h
                    d = (f(up) - f(down)) / (2 * h)
                else:
                    sign = 1.0 if x[j] + h <= 1 else -1.0
                    moved = x.copy()
                    moved[j] += sign * h
                    d = (f(moved) - f0) / (sign * h)
                if np.any(d != 0) or h >= 0.25:
                    break
                h *= 2
            jac[:, j] = d
        return jac


# --- solvers -------------------------------------------------------------------------------


def _least_squares(obj: Objective, x0: np.ndarray, tol: float) -> None:
    from scipy.optimize import least_squares

    least_squares(obj.residual, x0, jac=lambda x: obj.jacobian(x, step=obj.fd_step),
                  bounds=(0.0, 1.0), method="trf", x_scale=1.0, xtol=tol, ftol=1e-6,
                  gtol=1e-8, max_nfev=200, verbose=int(os.environ.get("CONTACTSIM_VERBOSE", "0")))


def _nelder_mead(obj: Objective, x0: np.ndarray, tol: float) -> None:
    from scipy.optimize import minimize

    n = len(x0)
    simplex = np.vstack([x0] + [np.clip(x0 + 0.1 * np.eye(n)[i], 0, 1) for i in range(n)])
    minimize(obj.cost, x0, method="Nelder-Mead",
             options={"xatol": tol, "fatol": 1e-2, "initial_simplex": simplex, "maxfev": 2000})


def _grid(obj: Objective, x0: np.ndarray, tol: float, points: int = 3) -> None:
    """A coarse grid, then a finer grid around the best point, until the step is below tol."""
    centre, half = np.full(len(x0), 0.5), 0.5
    while half > tol:
        axes = [np.clip(np.linspace(c - half, c + half, points), 0, 1) for c in centre]
        for x in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(x0), -1).T:
            obj.cost(x)
        centre = obj.best[1]
        half = half / 2


SOLVERS = {"least-squares": _least_squares, "nelder-mead": _nelder_mead, "grid": _grid}


def latin_hypercube(n: int, dims: int, seed: int = 20180702) -> np.ndarray:
    """``n`` points in [0, 1]^dims, one in each of n strata per axis, kept off the edges."""
    if n <= 0:
        return np.zeros((0, dims))
    rng = np.random.default_rng(seed)
    strata = np.array([rng.permutation(n) for _ in range(dims)]).T
    return 0.1 + 0.8 * (strata + rng.random((n, dims))) / n


# --- the fit -------------------------------------------------------------------------------


@dataclass
class FitResult:
    """A fitted calibration and everything the fitted config's header reports."""

    config: Path
    observed: Observed
    params: list[Parameter]
    targets: list[Target]
    values: np.ndarray
    sd: np.ndarray
    kpi_mean: np.ndarray
    kpi_low: np.ndarray
    kpi_high: np.ndarray
    kpi_sd_sim: np.ndarray
    jacobian: np.ndarray  # d mean KPI / d parameter, native units
    cov: np.ndarray  # parameter covariance (delta method), native units
    warnings: list[str]
    method: str
    replications: int
    seed: int
    evaluations: int
    runtime_s: float
    overrides: list[str]
    history: list[tuple[np.ndarray, float]] = field(default_factory=list)

    @property
    def residuals(self) -> np.ndarray:
        return self.kpi_mean - np.array([t.value for t in self.targets])

    @property
    def ci(self) -> tuple[np.ndarray, np.ndarray]:
        """95% CI (delta method), clipped to the parameters' bounds."""
        low = np.array([p.low for p in self.params])
        high = np.array([p.high for p in self.params])
        return (np.maximum(self.values - 1.96 * self.sd, low),
                np.minimum(self.values + 1.96 * self.sd, high))

    def as_overrides(self) -> list[str]:
        return [o for p, v in zip(self.params, self.values) for o in p.overrides(v)]

    def fitted(self) -> dict[str, float]:
        return {p.path: float(v) for p, v in zip(self.params, self.values)}


def check_counts(params: Sequence[Parameter], targets: Sequence[Target]) -> None:
    """Refuse to fit more free parameters than observed figures."""
    if len(params) > len(targets):
        raise CalibrationError(
            f"refusing to fit {len(params)} parameters to {len(targets)} observed KPIs: with "
            f"more free parameters than observations the fit is not identifiable (any of a "
            f"continuum of values fits exactly); fix {len(params) - len(targets)} of "
            f"{', '.join(p.path for p in params)} from a source, or add observed KPIs")
    if not params:
        raise CalibrationError("nothing to fit: give at least one --fit PARAM")
    names = [p.path for p in params]
    if len(set(names)) != len(names):
        raise CalibrationError(f"a parameter is given twice: {', '.join(names)}")


def calibrate(
    config: str | Path,
    observed: Observed,
    params: Sequence[Parameter],
    *,
    replications: int = 5,
    overrides: Sequence[str] = (),
    method: str = "least-squares",
    budget: int = 150,
    tol: float = 2e-3,
    start: Sequence[float] | None = None,
    starts: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Fit ``params`` of ``config`` to ``observed`` (only what it is given is read)."""
    started = time.perf_counter()
    targets = list(observed.targets)
    check_counts(params, targets)
    if method not in SOLVERS:
        raise CalibrationError(f"unknown method {method!r}; expected {', '.join(SOLVERS)}")
    obj = Objective(config, params, targets, replications, overrides, budget, progress)
    x0 = np.array([p.to_unit(v) for p, v in zip(params, start or [p.start for p in params])])
    obj.set_noise_scale(x0)
    # Multi-start: the given start, then `starts` Latin-hypercube points (a fixed design, so
    # the fit is reproducible); each gets an equal share of the budget, the best point wins.
    design = [x0] + list(latin_hypercube(starts, len(params)))
    share = max(len(params) + 2, budget // len(design))
    for x in design:
        obj.budget = min(budget, len(obj.cache) + share)
        with contextlib.suppress(BudgetExhausted):
            SOLVERS[method](obj, x, tol)
    obj.budget = 10_000  # the uncertainty below needs a few more evaluations
    x = obj.best[1]
    obj.set_noise_scale(x)
    reps = obj.per_replication(x)
    mean, low, high = mean_ci(reps)
    jac_unit = obj.jacobian(x, step=0.05, central=True, of="mean")
    widths = np.array([p.high - p.low for p in params])
    jac = jac_unit / widths
    sim_cov = np.cov(reps, rowvar=False, ddof=1).reshape(len(targets), len(targets)) / len(reps)
    noise = sim_cov + np.diag(obj.obs_sd**2)
    cov, warnings = _uncertainty(jac, noise, params, targets)
    sd = np.sqrt(np.abs(np.diag(cov)))
    warnings += _boundary_warnings(x, params)
    values = np.array(obj.values(x))
    scenario = obj.scenario(values)
    return FitResult(
        config=Path(config), observed=observed, params=list(params), targets=targets,
        values=values, sd=sd, kpi_mean=mean, kpi_low=low, kpi_high=high,
        kpi_sd_sim=np.sqrt(np.diag(sim_cov)), jacobian=jac, cov=cov, warnings=warnings,
        method=method,
        replications=replications, seed=scenario.seed, evaluations=len(obj.cache),
        runtime_s=time.perf_counter() - started, overrides=list(overrides),
        history=obj.history,
    )


#: A direction is not identifiable when moving the parameters by this fraction of their range
#: along it changes the KPIs by less than one noise sd (whitened singular value below 1/FLAT).
FLAT = 0.25


def _uncertainty(jac: np.ndarray, noise: np.ndarray, params: Sequence[Parameter],
                 targets: Sequence[Target]) -> tuple[np.ndarray, list[str]]:
    """Delta-method covariance of the parameters, and identifiability warnings."""
    warnings = []
    chol = np.linalg.cholesky(noise + 1e-18 * np.eye(len(noise)))
    widths = np.array([p.high - p.low for p in params])
    white = np.linalg.solve(chol, jac * widths)  # KPI noise sds per whole parameter range
    for j, p in enumerate(params):
        effect = float(np.max(np.abs(white[:, j])))
        if effect * FLAT < 1:
            warnings.append(
                f"{p.path} is not identifiable: the objective is flat in it (over its whole range "
                f"{p.low:g}..{p.high:g} it moves no KPI by more than {effect:.2g} noise sd); "
                f"fix it from a source instead of fitting it")
    _, sing, vt = np.linalg.svd(white, full_matrices=False)
    if len(params) > 1 and sing.size and sing[-1] * FLAT < 1:
        direction = vt[-1] / np.max(np.abs(vt[-1]))
        combo = ", ".join(f"{d:+.2f} x {p.path}" for d, p in zip(direction, params)
                          if abs(d) > 0.05)
        flat_already = {w.split(" ", 1)[0] for w in warnings}
        if not (len(flat_already) == 1 and sum(abs(direction) > 0.05) == 1):
            warnings.append(
                f"the parameters are not jointly identifiable: along the direction ({combo}) "
                f"(in units of each parameter's range) the KPIs change by only "
                f"{sing[-1]:.2g} noise sd per whole range, so these parameters trade off "
                f"against each other; fix one of them from a source")
    info = white.T @ white
    try:
        if np.linalg.cond(info) > 1e12:
            raise np.linalg.LinAlgError
        cov = np.linalg.inv(info) * np.outer(widths, widths)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.diag(np.full(len(params), np.inf))
    return cov, warnings


def _boundary_warnings(x: np.ndarray, params: Sequence[Parameter]) -> list[str]:
    return [f"{p.path} = {p.from_unit(u):.4g} is at its bound ({p.low:g}..{p.high:g}): the "
            f"fit wants it further; widen the bound or question the model"
            for p, u in zip(params, x) if u <= 1e-3 or u >= 1 - 1e-3]


# --- the fitted config ---------------------------------------------------------------------


def _nest(pairs: dict[str, Any]) -> dict:
    tree: dict = {}
    for path, value in pairs.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _shown(path: Path) -> str:
    """A path as the header shows it: relative to the working directory when inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _finite(value: Any) -> Any:
    """JSON-safe: non-finite numbers become null (an unidentified parameter's sd is inf)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) else f'"{key}"'


def _emit(tree: dict, notes: dict[str, str], indent: int = 0, prefix: str = "") -> list[str]:
    lines = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        pad = "  " * indent
        if isinstance(value, dict):
            lines.append(f"{pad}{_key(key)}:")
            lines += _emit(value, notes, indent + 1, path + ".")
        else:
            text = f"{pad}{_key(key)}: {_format(value)}"
            note = notes.get(path)
            lines.append(f"{text:<44}# {note}" if note else text)
    return lines


def _format(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else "inf"


def summary_lines(result: FitResult) -> list[str]:
    """The fit in plain text: parameters, KPIs, warnings (the fitted config's header)."""
    lo, hi = result.ci
    rows = [f"{'parameter':<38} {'fitted':>9} {'sd':>9}  {'95% CI':<22} bounds"]
    for p, v, s, a, b in zip(result.params, result.values, result.sd, lo, hi):
        rows.append(f"{p.path:<38} {_fmt(v):>9} {_fmt(s):>9}  "
                    f"{'[' + _fmt(a) + ', ' + _fmt(b) + ']':<22} [{p.low:g}, {p.high:g}]")
    rows.append("")
    rows.append(f"{'KPI':<26} {'observed':>9} {'fitted':>9}  {'95% CI':<20} {'residual':>9}")
    for t, m, a, b, r in zip(result.targets, result.kpi_mean, result.kpi_low, result.kpi_high,
                             result.residuals):
        rows.append(f"{t.short:<26} {_fmt(t.value):>9} {_fmt(m):>9}  "
                    f"{'[' + _fmt(a) + ', ' + _fmt(b) + ']':<20} {r:>+9.4g}")
    if result.warnings:
        rows.append("")
        rows += [f"warning: {w}" for w in result.warnings]
    return rows


def write_fitted(result: FitResult, out: str | Path, command: str, name: str | None = None,
                 sources: dict[str, str] | None = None) -> Path:
    """Write a config that extends the input and sets the fitted values, header included."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(os.path.relpath(result.config.resolve(), out.parent.resolve()))
    base = load(result.config).scenario
    sources = sources or {}
    header = [
        f"# Fitted by `{command}`",
        f"# on {dt.date.today().isoformat()}: {result.method} on common random numbers (seed "
        f"{result.seed}, replications 0-{result.replications - 1} for every evaluation), "
        f"{result.evaluations} evaluations, {result.runtime_s:.0f} s.",
        f"# Observed: {_shown(result.observed.path)} ({result.observed.period}).",
        "# Uncertainty: delta method (simulation noise of the mean KPIs over replications plus the",
        "# observed figures' own sd, through the Jacobian at the optimum);",
        "# 95% CI = fitted +- 1.96 sd, clipped to the bounds.",
        "#",
    ] + ["# " + line if line else "#" for line in summary_lines(result)] + ["#"]
    values = {p.path: float(v) for p, v in zip(result.params, result.values)
              if p.render is None}
    notes = {p.path: f"calibrated: {sources.get(p.path, 'fitted to ' + result.observed.name)}"
             f" (sd {_fmt(s)})" for p, s in zip(result.params, result.sd)}
    record = {
        "parameters": {p.path: {"value": float(v), "sd": float(s), "low": p.low, "high": p.high}
                       for p, v, s in zip(result.params, result.values, result.sd)},
        "kpis": {t.key: {"channel": t.channel, "metric": t.metric, "observed": t.value,
                         "fitted": float(m), "ci_low": float(a), "ci_high": float(b)}
                 for t, m, a, b in zip(result.targets, result.kpi_mean, result.kpi_low,
                                       result.kpi_high)},
        "seed": result.seed, "replications": result.replications,
        "overrides": list(result.overrides), "warnings": list(result.warnings),
    }
    body = [f"extends: {parent.as_posix()}",
            f"name: {name or base.name + '-fitted'}",
            "description: " + json.dumps(f"{base.description or base.name}; fitted to "
                                         f"{result.observed.name}")]
    body += _emit(_nest(values), notes)
    body += ["", "# The fit as data (x- keys are ignored by the config loader; tests read it):",
             "x-fit: " + json.dumps(_finite(record), allow_nan=False)]
    out.write_text("\n".join(header + body) + "\n", encoding="utf-8")
    return out
