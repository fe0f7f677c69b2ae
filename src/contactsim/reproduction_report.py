"""``results/reproduction.md``: the reproduction's report, written from a :class:`Reproduction`.

Tables of July observed vs fitted, September observed vs predicted with 95% intervals, the
prediction error per KPI, the fitted parameters with their sources, the sensitivity tornado, the
mechanism check, the runtime and the command.  Optionally a tornado PNG beside it.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import partial
from pathlib import Path

import numpy as np

from contactsim.calibrate import summary_lines
from contactsim.reproduce import DIVERSION_BAND, Reproduction, environment, pp

LABELS = {("999", "service_level"): "999 answered within 10 s",
          ("101", "service_level"): "101 answered within 30 s",
          ("101", "abandon_rate"): "101 abandoned"}
TOLERANCE_JULY = 0.02
TOLERANCE_SEPTEMBER = 0.05


def _label(target) -> str:
    return LABELS.get((target.channel, target.metric), target.short)


def _observed(observed, target) -> float | None:
    if observed is None:
        return None
    for t in observed.targets:
        if (t.channel, t.metric) == (target.channel, target.metric):
            return t.value
    return None


def _ci(low: float, high: float) -> str:
    return f"[{pp(low)}, {pp(high)}]"


def _num(x: float, digits: int = 0) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def headline(rep: Reproduction) -> tuple[list[str], dict]:
    """The main table and the verdicts."""
    july, sept = rep.july, rep.september
    low30, high35 = sept["low"], sept["high"]
    central = sept["central"]
    tl, th = central.total_ci
    sl, sh = central.ci
    lines = [
        "| KPI | July observed | July fitted (95% CI) | error | September observed | "
        "September predicted, IVR 32.5% (95% CI: simulation; + parameters) | "
        "IVR 30% / 35% | error (band) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdict = {"july": [], "september": []}
    jl, jh = july.ci
    for k, t in enumerate(central.targets):
        obs_j = _observed(rep.observed_july, t)
        obs_s = _observed(rep.observed_september, t)
        err_j = july.mean[k] - obs_j
        err_s = central.mean[k] - obs_s if obs_s is not None else float("nan")
        band = sorted([low30.mean[k], high35.mean[k]])
        band_err = sorted([band[0] - obs_s, band[1] - obs_s]) if obs_s is not None else [
            float("nan")] * 2
        verdict["july"].append(abs(err_j) <= TOLERANCE_JULY)
        verdict["september"].append(abs(err_s) <= TOLERANCE_SEPTEMBER)
        lines.append(
            f"| {_label(t)} | {pp(obs_j)} | {pp(july.mean[k])} {_ci(jl[k], jh[k])} | "
            f"{100 * err_j:+.1f} | {pp(obs_s)} | {pp(central.mean[k])} {_ci(sl[k], sh[k])}; "
            f"{_ci(tl[k], th[k])} | {pp(low30.mean[k])} / {pp(high35.mean[k])} | "
            f"{100 * err_s:+.1f} ({100 * band_err[0]:+.1f} to {100 * band_err[1]:+.1f}) |")
    return lines, verdict


def parameters(rep: Reproduction) -> list[str]:
    from contactsim.reproduce import SOURCES

    fit = rep.fit
    lo, hi = fit.ci
    lines = ["| parameter | fitted | sd | 95% CI | bounds | evidence |",
             "|---|---|---|---|---|---|"]
    for p, v, s, a, b in zip(fit.params, fit.values, fit.sd, lo, hi):
        lines.append(f"| `{p.path}` | {v:.4g} | {s:.2g} | [{a:.3g}, {b:.3g}] | "
                     f"{p.low:g}-{p.high:g} | {SOURCES.get(p.path, 'fitted to July 2018')} |")
    return lines


def profile_table(rep: Reproduction) -> list[str]:
    """The fit's cost along the redial probability, and what each point predicts."""
    if not rep.profile:
        return []
    from contactsim.reproduce import fit_cost

    targets = rep.september["central"].targets
    obs = [_observed(rep.observed_september, t) for t in targets]
    lines = [
        "| 101 redial probability (fixed) | July: max abs. error on the 3 KPIs (pts) | "
        "July 101 attempts / day (June 2017: 9,490 ± 1,420) | cost | "
        "September predicted: 999 in 10 s / 101 in 30 s / 101 abandoned | error vs observed |",
        "|---|---|---|---|---|---|",
    ]
    fits = [(p.value, p.fit, p.cost, p.september) for p in rep.profile]
    best = rep.fit
    fits.append((dict(zip([p.path for p in best.params], best.values)).get(
        "channels.101.redial.probability", float("nan")), best, fit_cost(best), None))
    for value, fit, cost, sept in sorted(fits, key=lambda f: f[0]):
        head = [i for i, t in enumerate(fit.targets) if t in targets]
        offered = [fit.kpi_mean[i] for i, t in enumerate(fit.targets)
                   if t.metric == "offered_per_day"]
        if sept is None:
            pred = rep.september["central"].mean
            tag = f"**{value:.3f} (the fit)**"
        else:
            pred = sept.mean(axis=0)
            tag = f"{value:g}"
        err = ", ".join(f"{100 * (p - o):+.1f}" for p, o in zip(pred, obs))
        lines.append(
            f"| {tag} | {100 * np.max(np.abs(fit.residuals[head])):.1f} | "
            f"{_num(offered[0]) if offered else 'n/a'} | {cost:.1f} | "
            + " / ".join(pp(x) for x in pred) + f" | {err} |")
    return lines


def tornado_table(rep: Reproduction) -> list[str]:
    lines = [
        "| assumption changed | July refitted? | July fit: max abs. error (pts) | "
        "Δ 999 in 10 s | Δ 101 in 30 s | Δ 101 abandoned | largest |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in rep.sensitivity:
        cells = [f"{100 * d:+.1f} ± {100 * h:.1f}" for d, h in zip(e.delta, e.delta_ci)]
        fit_err = f"{100 * np.max(np.abs(e.july_residual)):.1f}"
        lines.append(f"| {e.variant.label} | {'yes' if e.variant.refit else 'no (September only)'} "
                     f"| {fit_err} | {' | '.join(cells)} | {100 * e.size:.1f} |")
    return lines


def tornado_png(rep: Reproduction, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return None
    effects = rep.sensitivity[::-1]
    if not effects:
        return None
    names = [LABELS[(t.channel, t.metric)] for t in rep.september["central"].targets]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 0.42 * len(effects) + 1.5),
                             sharey=True)
    y = np.arange(len(effects))
    for k, ax in enumerate(np.atleast_1d(axes)):
        values = [100 * e.delta[k] for e in effects]
        errors = [100 * e.delta_ci[k] for e in effects]
        colours = ["#c44e52" if v < 0 else "#4c72b0" for v in values]
        ax.barh(y, values, xerr=errors, color=colours, alpha=0.85, capsize=2)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"Δ {names[k]} (points)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    np.atleast_1d(axes)[0].set_yticks(y, [e.variant.label for e in effects], fontsize=7)
    fig.suptitle("September prediction: effect of each assumption (vs baseline, paired)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _row(runs: dict, names: list[str], key, fmt) -> str:
    cells = []
    for name in names:
        value = runs[name].get(key)
        cells.append(fmt(value[0]) if value else "n/a")
    return " | ".join(cells)


def mechanism_tables(rep: Reproduction) -> list[str]:
    m = rep.mechanism
    runs = m.get("runs")
    if not runs:
        return []
    share, count = pp, _num
    secs = partial(_num, digits=1)
    hours = partial(_num, digits=2)
    names = ["July (fitted)", "September volumes, IVR off", "September (predicted)",
             "July, 101 redial off", "September, 101 redial off",
             "July, 999 on its own handlers",
             "September volumes, IVR off, 999 on its own handlers",
             "September, 999 on its own handlers"]
    names = [n for n in names if n in runs]
    rows = [
        ("999 answered within 10 s (%)", ("999", "service_level"), share),
        ("999 mean wait of answered (ASA, s)", ("999", "asa_s"), secs),
        ("999 abandoned (%)", ("999", "abandon_rate"), share),
        ("999 attempts offered / day", ("999", "offered"), count),
        ("999 redials / day", ("999", "redials"), count),
        ("101 callers + redials arriving / day", ("101", "arrivals"), count),
        ("101 diverted by the IVR / day", ("101", "ivr_diverted"), count),
        ("101 attempts offered / day", ("101", "offered"), count),
        ("101 redials / day", ("101", "redials"), count),
        ("101 answered / day", ("101", "answered"), count),
        ("101 answered within 30 s (%)", ("101", "service_level"), share),
        ("101 abandoned (%)", ("101", "abandon_rate"), share),
        ("101 ASA (s)", ("101", "asa_s"), secs),
        ("999-only handlers on duty (mean)", ("pool:call_999", "handlers_mean"), secs),
        ("999-only handlers occupancy (%)", ("pool:call_999", "occupancy"), share),
        ("blended handlers on duty (mean)", ("pool:call_handlers", "handlers_mean"), secs),
        ("blended handlers occupancy (%)", ("pool:call_handlers", "occupancy"), share),
    ]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {label} | {_row(runs, names, key, fmt)} |" for label, key, fmt in rows]
    down_names = ["July (fitted)", "September (predicted)",
                  "September, no online reporting", "September, TDIU 37% (Sep 2018 count)",
                  "September, no TDIU (its crimes deployed)"]
    down_names = [n for n in down_names if n in runs]
    down_rows = [
        ("crime reports / day", ("crime", "crime_reports"), count),
        ("online share of crime (%)", ("crime", "online_share_of_crime"), share),
        ("TDIU share of crime (%)", ("crime", "tdiu_share_of_crime"), share),
        ("TDIU reports / day", ("tdiu", "reports"), count),
        ("TDIU mean wait (h)", ("tdiu", "wait_mean_h"), hours),
        ("online report mean wait for triage (s)", ("online", "asa_s"), count),
        ("digital team occupancy (%)", ("pool:digital", "occupancy"), share),
        ("response deployments / day", ("response", "deployments"), count),
        ("  of which I / day", ("response", "deployments_I"), count),
        ("  of which S / day", ("response", "deployments_S"), count),
        ("  of which E / day", ("response", "deployments_E"), count),
        ("I attended within 15 min (%)", ("response", "response_within_target_I"), share),
        ("S attended within 60 min (%)", ("response", "response_within_target_S"), share),
    ]
    lines += ["", "| | " + " | ".join(down_names) + " |", "|---" * (len(down_names) + 1) + "|"]
    lines += [f"| {label} | {_row(runs, down_names, key, fmt)} |"
              for label, key, fmt in down_rows]
    return lines


def _profile_section(rep: Reproduction) -> list[str]:
    table = profile_table(rep)
    if not table:
        return []
    return [
        "### The weak direction: how July's 101 attempts split into first calls and redials",
        "",
        "The three July KPIs are matched equally well whatever the 101 redial probability: "
        "the other parameters compensate. Only the June 2017 count of 101 attempts (a proxy "
        "for July 2018, sd 15%) tells the redial probabilities apart. The profile below refits "
        "July with the redial probability fixed at each value (cost: sum of squared "
        "residuals in noise units, 4 figures) and shows the September each fit predicts. "
        "This is the one choice the September prediction depends on most; it is made on the "
        "June 2017 count, not on September."
        + (" The main fit was polished from the profile's best point." if rep.polished else ""),
        "",
        *table,
        "",
    ]


def write_report(rep: Reproduction, path: str | Path) -> Path:
    """Write the markdown report (and the tornado PNG beside it)."""
    from contactsim.reproduction_text import narrative

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table, verdict = headline(rep)
    png = tornado_png(rep, path.with_name(path.stem + "-tornado.png")) if rep.sensitivity else None
    s = rep.settings
    parts = [
        "# Reproducing the Met's 2018 IVR effect: calibrate to July, predict September",
        "",
        f"Generated by `{s.command}` on {dt.date.today().isoformat()} in "
        f"**{rep.runtime_s / 60:.1f} min** ({environment()}; "
        + ", ".join(f"{k} {v:.0f} s" for k, v in rep.timings.items()) + "). "
        f"Seed {rep.fit.seed}; the fit uses replications 0-{rep.fit.replications - 1} of it for "
        f"every evaluation, the predictions {s.replications} replications, the sensitivity "
        f"analysis and the mechanism check {min(s.sensitivity_replications, s.replications)} "
        "(common random numbers throughout). One replication is one simulated week after a "
        "one-day warm-up.",
        "",
        "## Result",
        "",
        *table,
        "",
        "Errors are predicted (or fitted) minus observed, in percentage points. The first CI is "
        "the simulation's (Student t over replications); the second adds the fitted parameters' "
        "uncertainty (delta method: the September KPIs' finite-difference Jacobian with respect "
        "to the parameters times the fit's covariance), in quadrature.",
        "",
        *narrative(rep, verdict),
        "",
        "## Fitted parameters (July 2018 only)",
        "",
        *parameters(rep),
        "",
        *_profile_section(rep),
        "The fit, as written in the header of `configs/met-2018-07-fitted.yaml`:",
        "",
        "```",
        *summary_lines(rep.fit),
        "```",
        "",
    ]
    if rep.sensitivity:
        parts += [
            "## Sensitivity: which assumptions move the September prediction",
            "",
            "Each row changes one assumption. Assumptions about July's system are applied to "
            "July and **July is refitted** under them (so every row still matches the July "
            "figures; its worst July error is shown), then September is predicted from that "
            "fit. Rows marked *September only* change September alone. Δ is the paired "
            "difference from the baseline September prediction in percentage points "
            "(± half-width of its 95% CI), largest effect first. IVR band: "
            f"{DIVERSION_BAND[0]:.0%}-{DIVERSION_BAND[1]:.0%}.",
            "",
            *tornado_table(rep),
            "",
        ]
        if png:
            parts += [f"![tornado]({png.name})", ""]
        warned = [e for e in rep.sensitivity if e.warnings]
        if warned:
            parts += ["Identifiability warnings in the refits:", ""]
            parts += [f"* {e.variant.label}: {w}" for e in warned for w in e.warnings]
            parts += [""]
    mech = mechanism_tables(rep)
    if mech:
        parts += ["## Mechanism: why 999 improved when only 101 changed", "",
                  f"Simulated, {rep.mechanism.get('replications')} replications each, common "
                  "random numbers; counts are per day.", "", *mech[: mech.index("")], ""]
        from contactsim.reproduction_text import downstream_text, mechanism_text

        parts += [*mechanism_text(rep), ""]
        parts += ["## Online reporting, the TDIU and response officers", "",
                  *mech[mech.index("") + 1:], "", *downstream_text(rep), ""]
    parts += [
        "## How to regenerate",
        "",
        "```bash",
        "pip install -e . && contactsim reproduce      # writes this file, "
        "configs/met-2018-07-fitted.yaml",
        "```",
        "",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
