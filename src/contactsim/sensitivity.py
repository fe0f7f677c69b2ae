"""Which assumptions move the September prediction, and why September improved at all.

:func:`tornado` changes one assumption at a time.  An assumption about July's system (the
patience distribution, redial, handler blending, handling times) is applied to the July config
and **July is refitted** under it, so that every variant fits the same July figures; September
is then predicted from that variant's fit.  An assumption about September only (the IVR share,
September's volume, what the IVR removes) changes September alone.  The effect is the paired
difference from the baseline prediction on common random numbers (same seed, same replications).

:func:`mechanism` explains the improvement with simulated numbers: occupancy, 999 waits, redial
load, the month's volume and a counterfactual in which 999 has its own handlers; and what the
online and TDIU shares do to deployments of response officers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from contactsim.calibrate import Parameter, Target, simulate_kpis
from contactsim.experiment import Point, execute
from contactsim.schema import Scenario

# The structure the model had before any September figure was seen: every handler blended.
BLIND_STRUCTURE = "fully blended: no 999-only handlers (refit)"


@dataclass(frozen=True)
class Variant:
    """One changed assumption."""

    group: str
    label: str
    july: tuple[str, ...] = ()  # applied to July (and so to September) before refitting
    september: tuple[str, ...] = ()  # applied to September only
    refit: bool = True
    fixed: tuple[str, ...] = ()  # fitted parameters this variant fixes (removed from the fit)
    render: dict[str, Callable[[float], list[str]]] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)  # where the refit starts, if not
    # at the baseline fit


@dataclass
class Effect:
    """A variant's July fit and its September prediction, as differences from the baseline."""

    variant: Variant
    july_residual: np.ndarray  # fitted - observed, July headline KPIs
    fitted: dict[str, float]
    september: np.ndarray  # predicted September KPIs (mean over replications)
    delta: np.ndarray  # september - baseline september (paired)
    delta_ci: np.ndarray  # half-width of the 95% CI of the paired difference
    warnings: list[str] = field(default_factory=list)

    @property
    def size(self) -> float:
        return float(np.max(np.abs(self.delta)))


def _patience(kind: str, value: float) -> Callable[[float], list[str]]:
    """Render the fitted 101 patience *mean* as another distribution with the same mean."""
    def render(mean: float) -> list[str]:
        if kind == "weibull":
            scale = mean / math.gamma(1 + 1 / value)
            return [f"channels.101.patience={{dist: weibull, shape: {float(value)!r}, "
                    f"scale: {float(scale)!r}}}"]
        return [f"channels.101.patience={{dist: lognormal, mean: {float(mean)!r}, "
                f"cv: {float(value)!r}}}"]
    return render


def variants(scenario: Scenario, share: float) -> list[Variant]:
    """The assumptions examined, given the (fitted) July scenario and the central IVR share."""
    own = scenario.pools["call_999"].scale
    blended = scenario.pools["call_handlers"].scale
    h999 = scenario.handling["999"].mean
    h101 = scenario.handling["101"].mean
    short = h101 * (1 - share / 2) / (1 - share)
    return [
        Variant("IVR share", "IVR keeps 30% of 101 callers away", refit=False,
                september=("@share=0.30",)),
        Variant("IVR share", "IVR keeps 35% of 101 callers away", refit=False,
                september=("@share=0.35",)),
        Variant("patience shape", "101 patience Weibull k=0.7 (same mean, refit)",
                render={"channels.101.patience.mean": _patience("weibull", 0.7)}),
        Variant("patience shape", "101 patience Weibull k=1.5 (same mean, refit)",
                render={"channels.101.patience.mean": _patience("weibull", 1.5)}),
        Variant("patience shape", "101 patience lognormal cv 1 (same mean, refit)",
                render={"channels.101.patience.mean": _patience("lognormal", 1.0)}),
        Variant("blending", BLIND_STRUCTURE,
                july=("pools.call_999.scale=0",), fixed=("pools.call_999.scale",)),
        Variant("blending", "no blending: blended pool takes 101 only (refit)",
                july=('pools.call_handlers.serves=["101"]',),
                start={"pools.call_999.scale": own + 0.4 * blended,
                       "pools.call_handlers.scale": 0.6 * blended}),
        Variant("handling time", "handling exponential, same means (refit)",
                july=(f"handling.999={{dist: exponential, mean: {float(h999)!r}}}",
                      f"handling.101={{dist: exponential, mean: {float(h101)!r}}}")),
        Variant("handling time", "handling lognormal cv 1.5, same means (refit)",
                july=("handling.999.cv=1.5", "handling.101.cv=1.5")),
        Variant("handling time", "handling means x 4/3: 999 8 min, 101 12 min (refit)",
                july=(f"handling.999.mean={float(h999 * 4 / 3)!r}",
                      f"handling.101.mean={float(h101 * 4 / 3)!r}")),
        Variant("999 patience", "999 patience mean 5 min (refit)",
                july=("channels.999.patience.mean=300",)),
        Variant("999 patience", "999 patience mean 20 min (refit)",
                july=("channels.999.patience.mean=1200",)),
        Variant("September volume", "September as busy as July (month factor 1.1)",
                refit=False, september=("channels.999.month_factor={9: 1.1}",
                                        "channels.101.month_factor={9: 1.1}")),
        Variant("IVR composition", f"IVR removes short calls (routed 101 mean "
                f"{short / 60:.1f} min)",
                refit=False, september=(f"handling.101.mean={float(short)!r}",)),
    ]


def _september(result, fit, variant: Variant, replications: int) -> Scenario:
    from contactsim.reproduce import september_scenario, with_replications

    share = None
    extra = list(variant.july)
    for item in variant.september:
        if item.startswith("@share="):
            share = float(item.split("=", 1)[1])
        else:
            extra.append(item)
    return with_replications(september_scenario(result.settings, fit, share, extra),
                             replications)


def _refit(result, variant: Variant, say: Callable[[str], None]):
    from contactsim.reproduce import fit_july

    fit0 = result.fit
    params, start = [], []
    for p, v in zip(fit0.params, fit0.values):
        if p.path in variant.fixed:
            continue
        render = variant.render.get(p.path)
        params.append(Parameter(p.path, p.low, p.high, p.start, render or p.render, p.unit))
        start.append(variant.start.get(p.path, v))
    settings = result.settings
    return fit_july(settings, result.observed_july, params, overrides=variant.july, start=start,
                    replications=min(settings.fit_replications, 4),
                    budget=max(20, settings.budget // 3), starts=0)


def tornado(result, say: Callable[[str], None] = lambda m: None) -> list[Effect]:
    """Every variant's effect on the September prediction, largest first."""
    from contactsim.reproduce import july_scenario

    settings = result.settings
    reps = min(settings.sensitivity_replications, settings.replications)
    targets = result.september["central"].targets
    base = result.september["central"].per_replication[:reps]
    july_targets = [t for t in result.fit.targets if t in targets]
    share = result.mechanism.get("central_share") or 0.325
    effects = []
    for k, variant in enumerate(variants(july_scenario(settings, result.fit), share)):
        say(f"sensitivity {k + 1}: {variant.label}")
        fit = _refit(result, variant, say) if variant.refit else result.fit
        kpis = simulate_kpis(_september(result, fit, variant, reps), targets, reps)
        diff = kpis - base
        half = 1.96 * diff.std(axis=0, ddof=1) / math.sqrt(reps) if reps > 1 else diff[0] * 0
        index = [fit.targets.index(t) for t in july_targets]
        july_res = fit.residuals[index] if variant.refit else result.fit.residuals[index]
        effects.append(Effect(variant, july_res, fit.fitted(), kpis.mean(axis=0),
                              diff.mean(axis=0), half, fit.warnings if variant.refit else []))
    effects += _profile_effects(result, base, july_targets)
    return sorted(effects, key=lambda e: -e.size)


def _profile_effects(result, base: np.ndarray, july_targets) -> list[Effect]:
    """Redial off and redial high, from the profile (July refitted with it fixed)."""
    from contactsim.reproduce import REDIAL

    out = []
    points = [p for p in result.profile if p.september is not None]
    if not points:
        return out
    for point in (points[0], points[-1]):
        label = ("101 redial off (probability 0, refit)" if point.value == 0 else
                 "101 redial probability {:g} (fixed, refit)")
        reps = min(len(base), len(point.september))
        diff = point.september[:reps] - base[:reps]
        half = 1.96 * diff.std(axis=0, ddof=1) / math.sqrt(reps) if reps > 1 else diff[0] * 0
        index = [point.fit.targets.index(t) for t in july_targets]
        variant = Variant("redial", label.format(point.value), fixed=(REDIAL,))
        out.append(Effect(variant, point.fit.residuals[index], point.fit.fitted(),
                          point.september.mean(axis=0), diff.mean(axis=0), half,
                          point.fit.warnings))
    return out


# --- the mechanism -------------------------------------------------------------------------

MECHANISM_METRICS = [
    ("999", "service_level"), ("999", "asa_s"), ("999", "abandon_rate"), ("999", "offered"),
    ("999", "redials"), ("101", "arrivals"), ("101", "offered"), ("101", "answered"),
    ("101", "redials"), ("101", "service_level"), ("101", "abandon_rate"), ("101", "asa_s"),
    ("101", "ivr_diverted"), ("online", "arrivals"), ("online", "asa_s"),
    ("pool:call_999", "occupancy"), ("pool:call_999", "handlers_mean"),
    ("pool:call_handlers", "occupancy"), ("pool:call_handlers", "handlers_mean"),
    ("pool:digital", "occupancy"),
    ("crime", "crime_reports"), ("crime", "online_share_of_crime"),
    ("crime", "tdiu_share_of_crime"), ("tdiu", "reports"), ("tdiu", "wait_mean_h"),
    ("response", "deployments"), ("response", "deployments_I"), ("response", "deployments_S"),
    ("response", "deployments_E"), ("response", "response_within_target_I"),
    ("response", "response_within_target_S"),
]
PER_DAY = {"offered", "redials", "arrivals", "answered", "ivr_diverted", "crime_reports",
           "reports", "deployments", "deployments_I", "deployments_S", "deployments_E"}


def full_runs(scenarios: dict[str, Scenario], replications: int) -> dict[str, dict]:
    """Every metric of each scenario (call handling and downstream), mean and 95% CI."""
    points = [Point(name, s.model_copy(update={"replications": replications}), {"point": name})
              for name, s in scenarios.items()]
    summary = execute(points).summary_ci
    out = {}
    for name, scenario in scenarios.items():
        days = (scenario.horizon - scenario.warmup) / 86400.0
        rows = summary[summary["point"] == name].set_index(["channel", "metric"])
        table = {}
        for key in MECHANISM_METRICS:
            if key not in rows.index:
                continue
            row = rows.loc[key]
            factor = 1 / days if key[1] in PER_DAY else 1.0
            table[key] = (row["mean"] * factor, row["ci_low"] * factor, row["ci_high"] * factor)
        out[name] = table
    return out


def _counterfactual_dedicated(result, july_sl: float, reps: int) -> list[str]:
    """999 on its own handlers: the blended pool takes 101 only and some of its handlers move
    to the 999 pool, as many as keep July's 999 answer rate what the fitted model gives (the
    same total handlers; found by bisection on common random numbers)."""
    from contactsim.reproduce import july_scenario

    settings, fit = result.settings, result.fit
    july = july_scenario(settings, fit)
    own, blended = july.pools["call_999"].scale, july.pools["call_handlers"].scale
    total = own + blended
    target = [t for t in fit.targets if (t.channel, t.metric) == ("999", "service_level")]

    def overrides(share: float) -> list[str]:
        return [f"pools.call_999.scale={float(share)!r}",
                f"pools.call_handlers.scale={float(total - share)!r}",
                'pools.call_handlers.serves=["101"]']

    low, high = own, total
    for _ in range(8):
        mid = (low + high) / 2
        sl = simulate_kpis(july_scenario(settings, fit, overrides(mid)), target, reps).mean()
        low, high = (mid, high) if sl < july_sl else (low, mid)
    return overrides((low + high) / 2)


def mechanism(result) -> dict:
    """Simulated numbers behind the September improvement and the downstream effects."""
    from contactsim.reproduce import july_scenario, september_scenario

    settings, fit = result.settings, result.fit
    reps = min(settings.sensitivity_replications, settings.replications)
    july = july_scenario(settings, fit)
    out: dict = {}
    scenarios = {
        "July (fitted)": july,
        "September (predicted)": september_scenario(settings, fit),
        "September volumes, IVR off": september_scenario(settings, fit, extra=[
            "ivr.enabled=false"]),
        "July, 101 redial off": july_scenario(settings, fit, [
            "channels.101.redial.probability=0"]),
        "September, 101 redial off": september_scenario(settings, fit, extra=[
            "channels.101.redial.probability=0"]),
    }
    out["runs"] = full_runs(scenarios, reps)
    july_sl = out["runs"]["July (fitted)"][("999", "service_level")][0]
    dedicated = _counterfactual_dedicated(result, july_sl, reps)
    out["dedicated_overrides"] = dedicated
    sept = scenarios["September (predicted)"]
    no_online = [
        "channels.online.daily_volume=0", "ivr.divert_online=0",
        f"ivr.divert_other={float(sept.ivr.divert_other + sept.ivr.divert_online)!r}",
        "channels.101.redial.switch.online=0", "ivr.routed=null"]
    screening = july.crime_screening
    more = {
        "July, 999 on its own handlers": july_scenario(settings, fit, dedicated),
        "September volumes, IVR off, 999 on its own handlers": september_scenario(
            settings, fit, extra=dedicated + ["ivr.enabled=false"]),
        "September, 999 on its own handlers": september_scenario(settings, fit,
                                                                 extra=dedicated),
        "September, no online reporting": september_scenario(settings, fit, extra=no_online),
        "September, TDIU 37% (Sep 2018 count)": september_scenario(settings, fit, extra=[
            "crime_screening.tdiu=0.37",
            f"crime_screening.deploy={float(screening.deploy + screening.tdiu - 0.37)!r}"]),
        "September, no TDIU (its crimes deployed)": september_scenario(settings, fit, extra=[
            "crime_screening.tdiu=0",
            f"crime_screening.deploy={float(screening.deploy + screening.tdiu)!r}"]),
    }
    out["runs"].update(full_runs(more, reps))
    abandon_wait = [Target("abandon_wait", "101", "abandon_wait_s", 360.0, 60.0)]
    out["abandon_wait_s"] = {
        name: float(simulate_kpis(scenario, abandon_wait, reps).mean())
        for name, scenario in (("July (fitted)", july),
                               ("September (predicted)", scenarios["September (predicted)"]))}
    out["replications"] = reps
    return out
