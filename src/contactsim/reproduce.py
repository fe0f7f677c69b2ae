"""The reproduction of the Met's 2018 IVR effect: calibrate to July, predict September.

HMICFRS (PEEL 2018, MODEL.md first table) reports three KPIs for July 2018 (no IVR) and
September 2018 (IVR in front of 101 since 15 August).  The reproduction

1. fits the July config's calibrated parameters to the **July** figures only
   (:func:`fit_july` receives the July observations and nothing else);
2. builds September from the fitted July config plus the September deltas
   (``configs/met-2018-09.yaml``: IVR on, September volumes), with the IVR keeping 30% and 35%
   of 101 callers away from the queue (the seed's band) and nothing fitted changed;
3. predicts September's KPIs with 95% confidence intervals — simulation noise over
   replications and the fitted parameters' own uncertainty, propagated by the delta method;
4. only then reads the September figures and reports the prediction error per KPI.

The sensitivity analysis and the mechanism check live in :mod:`contactsim.sensitivity`; the
report is written by :func:`write_report`.  Everything runs on the configs' seed (common random
numbers), so July, September and every variant see the same callers.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from contactsim import __version__
from contactsim.calibrate import (
    FitResult,
    Observed,
    Parameter,
    Target,
    calibrate,
    mean_ci,
    parse_fit,
    read_observed,
    simulate_kpis,
    write_fitted,
)
from contactsim.config import load
from contactsim.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]

#: The seed: "It has reduced demand by 30-35 percent" - the share of 101 callers the IVR keeps
#: away from the handler queue (diverted online or elsewhere, or hanging up in the menu).
DIVERSION_BAND = (0.30, 0.35)

#: What the reproduction fits, with bounds, and where each parameter's evidence comes from.
DEFAULT_FIT = (
    "pools.call_handlers.scale=0.1:1.2",
    "pools.call_999.scale=0:0.6",
    "channels.101.redial.probability=0:0.95",
    "channels.101.patience.mean=30:900",
)
SOURCES = {
    "pools.call_handlers.scale": "blended 999+101 handlers relative to the 2014 roster, fitted "
                                 "to the July 2018 KPIs",
    "pools.call_999.scale": "999-only handlers relative to the 2014 roster, fitted to the July "
                            "2018 KPIs",
    "channels.101.redial.probability": "fitted to July 2018 101 abandonment and the June 2017 "
                                       "count of 101 attempts",
    "channels.101.patience.mean": "fitted to July 2018 101 answered within 30 s",
}


@dataclass
class Settings:
    """What to run and where to write; the defaults are the committed reproduction."""

    config: Path = ROOT / "configs/met-2018-07.yaml"
    september: Path = ROOT / "configs/met-2018-09.yaml"
    observed_july: Path = ROOT / "configs/observed/met-2018-07.yaml"
    observed_september: Path = ROOT / "configs/observed/met-2018-09.yaml"
    fitted: Path = ROOT / "configs/met-2018-07-fitted.yaml"
    report: Path | None = ROOT / "results/reproduction.md"
    fit: Sequence[str] = DEFAULT_FIT
    fit_replications: int = 5
    replications: int = 20
    sensitivity_replications: int = 8
    sensitivity: bool = True
    mechanism: bool = True
    budget: int = 120
    starts: int = 2
    overrides: Sequence[str] = ()
    command: str = "contactsim reproduce"


#: The weakly identified direction of the July fit is mostly the 101 redial probability (how
#: July's 101 attempts split between first calls and redials); it is profiled explicitly.
REDIAL = "channels.101.redial.probability"
PROFILE = (0.0, 0.2, 0.4, 0.6, 0.8)


@dataclass
class ProfilePoint:
    """The July fit with one parameter fixed, and the September it predicts."""

    value: float
    fit: FitResult
    cost: float
    september: np.ndarray | None = None  # [replications, KPIs]


@dataclass
class Prediction:
    """KPIs of one scenario: per-replication values, mean and CI, optional parameter sd."""

    label: str
    targets: list[Target]
    per_replication: np.ndarray
    param_sd: np.ndarray | None = None

    @property
    def mean(self) -> np.ndarray:
        return self.per_replication.mean(axis=0)

    @property
    def ci(self) -> tuple[np.ndarray, np.ndarray]:
        _, low, high = mean_ci(self.per_replication)
        return low, high

    @property
    def total_ci(self) -> tuple[np.ndarray, np.ndarray]:
        """Simulation CI widened by the parameters' uncertainty (added in quadrature)."""
        low, high = self.ci
        if self.param_sd is None:
            return low, high
        half = np.sqrt(((high - low) / 2) ** 2 + (1.96 * self.param_sd) ** 2)
        return self.mean - half, self.mean + half


@dataclass
class Reproduction:
    """Everything the report shows."""

    settings: Settings
    fit: FitResult
    july: Prediction
    september: dict[str, Prediction]  # 'central', 'low' (30%), 'high' (35%)
    observed_july: Observed
    observed_september: Observed | None = None
    sensitivity: list = field(default_factory=list)
    mechanism: dict = field(default_factory=dict)
    profile: list[ProfilePoint] = field(default_factory=list)
    polished: bool = False
    runtime_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


# --- steps ---------------------------------------------------------------------------------


def fit_parameters(settings: Settings) -> list[Parameter]:
    base = load(settings.config, list(settings.overrides)).scenario
    return [parse_fit(spec, base) for spec in settings.fit]


def fit_july(settings: Settings, observed_july: Observed, params: Sequence[Parameter] | None = None,
             overrides: Sequence[str] = (), start: Sequence[float] | None = None,
             replications: int | None = None, budget: int | None = None,
             starts: int | None = None, progress: Callable | None = None) -> FitResult:
    """Step 1: calibrate the July config to the July observations (and nothing else)."""
    return calibrate(
        settings.config, observed_july, params or fit_parameters(settings),
        replications=replications or settings.fit_replications,
        overrides=list(settings.overrides) + list(overrides),
        budget=budget or settings.budget, start=start,
        starts=settings.starts if starts is None else starts, progress=progress)


def fit_cost(fit: FitResult) -> float:
    """Sum of squared residuals in units of each figure's sd and the simulation noise."""
    scale = np.sqrt(np.array([t.sd for t in fit.targets]) ** 2 + fit.kpi_sd_sim**2)
    return float(np.sum((fit.residuals / scale) ** 2))


def profile(settings: Settings, observed_july: Observed, fit: FitResult, path: str = REDIAL,
            values: Sequence[float] = PROFILE, say: Callable[[str], None] = lambda m: None
            ) -> list[ProfilePoint]:
    """Refit July with ``path`` fixed at each of ``values`` (a profile of the fit's cost)."""
    if path not in [p.path for p in fit.params]:
        return []
    others = [p for p in fit.params if p.path != path]
    start = [v for p, v in zip(fit.params, fit.values) if p.path != path]
    points = []
    for value in values:
        say(f"profile: {path} = {value:g}")
        refit = fit_july(settings, observed_july, others, overrides=[f"{path}={float(value)!r}"],
                         start=start, budget=max(6, settings.budget // 3), starts=0)
        points.append(ProfilePoint(float(value), refit, fit_cost(refit)))
    return points


def ivr_overrides(scenario: Scenario, kept_away: float) -> list[str]:
    """IVR shares with ``kept_away`` of 101 callers not routed; the split keeps its proportions
    (online and hang-up fixed, 'other' taking the difference)."""
    ivr = scenario.ivr
    other = kept_away - ivr.divert_online - ivr.hang_up
    if other < 0:
        raise ValueError(f"IVR share {kept_away} is below divert_online + hang_up")
    return [f"ivr.divert_other={float(other)!r}", "ivr.routed=null"]


def september_scenario(settings: Settings, fit: FitResult, kept_away: float | None = None,
                       extra: Sequence[str] = ()) -> Scenario:
    """Step 2: the fitted July values + the September deltas (+ an IVR share)."""
    base = list(settings.overrides) + fit.as_overrides() + list(extra)
    scenario = load(settings.september, base).scenario
    if kept_away is None:
        return scenario
    return load(settings.september, base + ivr_overrides(scenario, kept_away)).scenario


def july_scenario(settings: Settings, fit: FitResult, extra: Sequence[str] = ()) -> Scenario:
    return load(settings.config, list(settings.overrides) + fit.as_overrides() + list(extra)
                ).scenario


def with_replications(scenario: Scenario, replications: int) -> Scenario:
    return scenario.model_copy(update={"replications": replications})


def predict(label: str, scenario: Scenario, targets: Sequence[Target], replications: int
            ) -> Prediction:
    return Prediction(label, list(targets), simulate_kpis(scenario, targets, replications))


def parameter_sd(settings: Settings, fit: FitResult, targets: Sequence[Target],
                 replications: int, step: float = 0.05,
                 scenario_of: Callable[[FitResult], Scenario] | None = None) -> np.ndarray:
    """sd of the September prediction due to the fitted parameters' uncertainty (delta method).

    The Jacobian of the predicted KPIs with respect to the parameters is taken by central
    differences on common random numbers; the parameters' covariance is the fit's (diagonal
    sds with the correlation the fit's Jacobian implies).
    """
    scenario_of = scenario_of or (lambda f: september_scenario(settings, f))
    cov = fit.cov
    if not np.all(np.isfinite(cov)):
        return np.full(len(targets), np.inf)
    jac = np.zeros((len(targets), len(fit.params)))
    for j, p in enumerate(fit.params):
        h = step * (p.high - p.low)
        up, down = fit.values.copy(), fit.values.copy()
        up[j] = min(p.high, up[j] + h)
        down[j] = max(p.low, down[j] - h)
        kpis = [simulate_kpis(scenario_of(replace(fit, values=v)), targets, replications)
                .mean(axis=0) for v in (up, down)]
        jac[:, j] = (kpis[0] - kpis[1]) / (up[j] - down[j])
    return np.sqrt(np.maximum(np.diag(jac @ cov @ jac.T), 0))


def headline_targets(observed: Observed) -> list[Target]:
    """The three HMICFRS KPIs (not the auxiliary figures), as metrics to simulate."""
    return [t for t in observed.targets if t.metric in ("service_level", "abandon_rate")]


def run(settings: Settings | None = None, progress: Callable[[str], None] | None = None
        ) -> Reproduction:
    """The whole reproduction; writes the fitted config and (if asked) the report."""
    settings = settings or Settings()
    say = progress or (lambda message: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. July only
    observed_july = read_observed(settings.observed_july)
    say("calibrating July")
    t0 = time.perf_counter()
    fit = fit_july(settings, observed_july)
    profiled = profile(settings, observed_july, fit, say=say)
    polished = False
    if profiled and min(p.cost for p in profiled) < fit_cost(fit) - 1.0:
        # the profile found a better region of the weak direction: polish from there
        best = min(profiled, key=lambda p: p.cost)
        start = [best.value if p.path == REDIAL else best.fit.fitted()[p.path]
                 for p in fit.params]
        say("polishing the fit from the profile's best point")
        fit = fit_july(settings, observed_july, start=start, starts=0)
        polished = True
    timings["calibration"] = time.perf_counter() - t0
    write_fitted(fit, settings.fitted, settings.command, name="met-2018-07-fitted",
                 sources=SOURCES)

    # 2-3. September predicted from the fitted July values and the September deltas
    say("predicting September")
    t0 = time.perf_counter()
    targets = headline_targets(observed_july)  # the same metrics, named from July's file
    july = predict("July 2018 (fitted)", with_replications(july_scenario(settings, fit),
                                                           settings.replications),
                   targets, settings.replications)
    september = {}
    central_share = None
    for key, share in (("central", None), ("low", DIVERSION_BAND[0]), ("high", DIVERSION_BAND[1])):
        scenario = september_scenario(settings, fit, share)
        if key == "central":
            ivr = scenario.ivr
            central_share = ivr.divert_online + ivr.divert_other + ivr.hang_up
        september[key] = predict(f"September 2018 ({key})", scenario, targets,
                                 settings.replications)
    september["central"].param_sd = parameter_sd(settings, fit, targets,
                                                 max(3, settings.fit_replications))
    reps = min(settings.sensitivity_replications, settings.replications)
    for point in profiled:
        scenario = september_scenario(settings, point.fit,
                                      extra=[f"{REDIAL}={point.value!r}"])
        point.september = simulate_kpis(scenario, targets, reps)
    timings["prediction"] = time.perf_counter() - t0

    # 4. Only now: the September figures
    observed_september = read_observed(settings.observed_september)
    result = Reproduction(settings, fit, july, september, observed_july, observed_september,
                          runtime_s=0.0, timings=timings)
    result.mechanism["central_share"] = central_share
    result.profile, result.polished = profiled, polished

    if settings.sensitivity or settings.mechanism:
        from contactsim import sensitivity

        if settings.sensitivity:
            say("sensitivity analysis")
            t0 = time.perf_counter()
            result.sensitivity = sensitivity.tornado(result, say)
            timings["sensitivity"] = time.perf_counter() - t0
        if settings.mechanism:
            say("mechanism check")
            t0 = time.perf_counter()
            result.mechanism.update(sensitivity.mechanism(result))
            timings["mechanism"] = time.perf_counter() - t0
    result.runtime_s = time.perf_counter() - started
    if settings.report is not None:
        from contactsim.reproduction_report import write_report

        write_report(result, settings.report)
    return result


def environment() -> str:
    return f"contactsim {__version__}, Python {platform.python_version()}"


def pp(x: float) -> str:
    """A share in percentage points."""
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"
