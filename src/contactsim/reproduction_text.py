"""The prose of ``results/reproduction.md``: verdicts, mechanism and checks, with the numbers
of the run that produced it (nothing here is hard-coded from an earlier run)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from contactsim.reproduce import DIVERSION_BAND, Reproduction, pp
from contactsim.sensitivity import BLIND_STRUCTURE


def _get(rep: Reproduction, run: str, channel: str, metric: str) -> float:
    value = rep.mechanism.get("runs", {}).get(run, {}).get((channel, metric))
    return value[0] if value else float("nan")


def _n(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}"


def _observed(rep: Reproduction, target) -> float:
    for t in rep.observed_september.targets:
        if (t.channel, t.metric) == (target.channel, target.metric):
            return t.value
    return float("nan")


def _largest(rep: Reproduction, group: str) -> str:
    sizes = [e.size for e in rep.sensitivity if e.variant.group == group]
    return f"{100 * max(sizes):.1f}" if sizes else "n/a"


def blind_prediction(rep: Reproduction) -> list[str]:
    """What the model's first structure, every handler blended, predicts when refitted to July.

    That structure was fixed before any September figure was seen, and it missed; the headline
    prediction comes from the structure revised after that miss.  Its refit here is not blind in
    every respect (it uses today's calibration setup), and the text says which."""
    blind = next((e for e in rep.sensitivity if e.variant.label == BLIND_STRUCTURE), None)
    if blind is None:
        return []
    targets = rep.september["central"].targets
    errors = [blind.september[k] - _observed(rep, t) for k, t in enumerate(targets)]
    misses = sum(abs(e) > 0.05 for e in errors)
    outcome = (f"outside ±5 points on {misses} of {len(errors)} KPIs" if misses else
               "within ±5 points on every KPI")
    warned = (" Its refit ended with a warning (listed under the sensitivity table)."
              if blind.warnings else "")
    return [
        "**The first structure's prediction.** The model's first structure (every handler "
        "answering both 999 and 101) was fixed before any September figure was seen. Refitted "
        "to July here, under the calibration setup described below (which includes choices made "
        "after September was seen: the June 2017 count as a fourth figure, a 10-min 999 "
        "patience, the reading of the IVR share) and with the sensitivity analysis' shorter "
        "refit, it matches the three July KPIs within "
        f"{100 * np.max(np.abs(blind.july_residual)):.1f} points.{warned} It predicts "
        "September at " + " / ".join(pp(x) for x in blind.september)
        + " (sensitivity replications): errors "
        + ", ".join(f"{100 * e:+.1f}" for e in errors) + f" points, {outcome}. "
        + ("With that structure the model did not get there. " if misses else "")
        + "What it lacks is a share of handlers who take 999 calls only (see *What was "
        "decided after seeing September* below): without them, 999's answer times are tied to "
        "the rate 101 calls are answered. The prediction in the table above comes from the "
        "revised structure.",
        "",
    ]


def narrative(rep: Reproduction, verdict: dict) -> list[str]:
    central = rep.september["central"]
    errors = [central.mean[k] - _observed(rep, t) for k, t in enumerate(central.targets)]
    band = [sorted([rep.september["low"].mean[k] - _observed(rep, t),
                    rep.september["high"].mean[k] - _observed(rep, t)])
            for k, t in enumerate(central.targets)]
    july_err = np.abs(rep.july.mean - [t.value for t in rep.observed_july.targets
                                       if t in central.targets])
    lines = [
        "**Verdict.** "
        + ("July is fitted within ±2 points on all three KPIs "
           if all(verdict["july"]) else "July is NOT fitted within ±2 points on every KPI ")
        + f"(largest error {100 * july_err.max():.1f} points). "
        + ("September, predicted out of sample with the IVR keeping 32.5% of 101 callers away, "
           "is within ±5 points on all three KPIs "
           if all(verdict["september"]) else
           "September, predicted out of sample, is NOT within ±5 points on every KPI ")
        + "(errors " + ", ".join(f"{100 * e:+.1f}" for e in errors) + " points). Across the "
        f"seed's {DIVERSION_BAND[0]:.0%}-{DIVERSION_BAND[1]:.0%} band the errors range over "
        + "; ".join(f"{100 * lo:+.1f} to {100 * hi:+.1f}" for lo, hi in band)
        + " points: the band itself spans "
        + ", ".join(f"{100 * abs(hi - lo):.1f}" for lo, hi in band) + " points.",
        "",
        *blind_prediction(rep),
        "**How September was predicted.** `configs/met-2018-09.yaml` extends the fitted July "
        "config and changes only what the seed says changed: the IVR in front of 101 (menu "
        "time assumed, 30-35% of 101 callers kept away from the queue, split assumed) and "
        "September's volumes (the July factor 1.1 of 999 and 101 demand back to the annual "
        "mean, an assumption). Handlers, handling times, patience and redial are July's fitted "
        "values. The calibration receives the July observations only; the September figures "
        "are read after every prediction has been made (`tests/test_reproduction.py` checks "
        "both).",
        "",
        "**What was decided after seeing September, and what was not.** No parameter was "
        "fitted or adjusted to September. Two modelling choices were made after a first, "
        "fully blended version of the model (every handler answering both 999 and 101, "
        "fitted to the three July KPIs alone) had predicted September far too well-served "
        "(its prediction is the *fully blended* row of the sensitivity table). The diagnosis "
        "used pre-IVR evidence only: with every handler blended and 101 always queueing, a "
        "999 caller waits for the next handler to come free, and the 999 queue drains at the "
        "rate 101 calls are answered, so 56% of 999 calls within 10 s forces the model to "
        "answer ~6,000-7,000 101 calls a day, and with 57% abandoned that means ~14,000 101 "
        "attempts a day; the only public count (June 2017, as stressed a month) is 9,490 "
        "attempts with 53% not completed, i.e. ~4,500 answered. The model now (a) fits that "
        "count as a fourth, loosely weighted July observation (sd 15%) and (b) lets a share "
        "of the handlers take 999 only, its size fitted. This is structure chosen with "
        "knowledge of the first prediction's failure, so the September comparison is not "
        "blind in that respect; the reader should weigh the result accordingly. Also settled "
        "after a September number had been seen: reading the seed's 30-35% as all 101 "
        "callers kept away from the queue, menu hang-ups included (hang-ups on top would act "
        "like the 35% row), and a 999 patience of 10 min, set so that ~3.5% of 999 calls are "
        "abandoned as in June 2017 (the tornado shows 5 or 20 min move September by at most "
        f"{_largest(rep, '999 patience')} points). The configs' other changes (rosters' "
        "shape, online, TDIU and response sizes) do not touch the call-handling KPIs or were "
        "made before any September run.",
        "",
    ]
    sd = central.param_sd
    if sd is not None and np.all(np.isfinite(sd)):
        widest = int(np.argmax(sd))
        lines += [
            "**Uncertainty.** The fit pins three combinations of the four parameters tightly "
            "and the fourth (mostly the 101 redial probability: how July's 101 attempts split "
            "between first calls and redials) only through the loosely weighted June 2017 "
            "count. That weak direction matters for September: the parameters' uncertainty "
            f"alone is worth ±{196 * sd[widest]:.0f} points (95%) on "
            f"{central.targets[widest].short}, far more than the simulation noise. The "
            "agreement with September is therefore closer than the prediction's own "
            "uncertainty warrants: had the June 2017 count pointed to a redial probability of "
            "0.6, the prediction would have missed by the amounts in the profile table below.",
            "",
        ]
    misses = [t for t, ok in zip(central.targets, verdict["september"]) if not ok]
    if misses and rep.sensitivity:
        top = rep.sensitivity[:3]
        lines += [
            "**Missing mechanism.** The model misses September on "
            + ", ".join(t.short for t in misses) + ". The assumptions that move the prediction "
            "most are " + "; ".join(f"{e.variant.label} ({100 * e.size:.1f} points)"
                                    for e in top)
            + ". See the sensitivity table.",
            "",
        ]
    return lines + checks(rep)


def checks(rep: Reproduction) -> list[str]:
    """Figures not fitted, compared with what the fitted model gives."""
    runs = rep.mechanism.get("runs")
    if not runs:
        return []
    july, sept = "July (fitted)", "September (predicted)"
    wait = rep.mechanism.get("abandon_wait_s", {})
    return [
        "**Checks against figures that were not fitted.**",
        "",
        "| figure | observed | model |",
        "|---|---|---|",
        f"| 999 attempts a day | 6,846 (June 2017) | {_n(_get(rep, july, '999', 'offered'))} "
        "(July) |",
        f"| 999 calls abandoned | 3.5% not completed (June 2017) | "
        f"{pp(_get(rep, july, '999', 'abandon_rate'))}% (July); "
        f"{pp(_get(rep, sept, '999', 'abandon_rate'))}% (September) |",
        f"| 101 attempts a day | 9,490 (June 2017; fitted loosely) | "
        f"{_n(_get(rep, july, '101', 'offered'))} (July) |",
        f"| 101 callers' time before giving up | ~6 min on average (Leicestershire) | "
        f"{wait.get(july, float('nan')) / 60:.1f} min (July), "
        f"{wait.get(sept, float('nan')) / 60:.1f} min (September): mean time in queue of "
        "abandoned 101 calls |",
        f"| online share of crime | 9% (June 2017), 11% (seed, after the IVR) | "
        f"{pp(_get(rep, july, 'crime', 'online_share_of_crime'))}% (July), "
        f"{pp(_get(rep, sept, 'crime', 'online_share_of_crime'))}% (September) |",
        f"| TDIU share of crime | 45% (seed); 37% (Sep 2018 count) | "
        f"{pp(_get(rep, sept, 'crime', 'tdiu_share_of_crime'))}% |",
        f"| crimes a day | 2,577 (September 2018) | "
        f"{_n(_get(rep, sept, 'crime', 'crime_reports'))} (September) |",
        f"| I within 15 min / S within 60 min | 86.9% / 81.9% (12 months to Sep 2018) | "
        f"{pp(_get(rep, july, 'response', 'response_within_target_I'))}% / "
        f"{pp(_get(rep, july, 'response', 'response_within_target_S'))}% (July) |",
        "",
    ]


def mechanism_text(rep: Reproduction) -> list[str]:
    g = partial(_get, rep)
    j, v, s = "July (fitted)", "September volumes, IVR off", "September (predicted)"
    jr, sr = "July, 101 redial off", "September, 101 redial off"
    jd, vd, sd = ("July, 999 on its own handlers",
                  "September volumes, IVR off, 999 on its own handlers",
                  "September, 999 on its own handlers")
    a101 = g(j, "101", "answered")
    formula = 1 - math.exp(-10 * a101 / 86400) if math.isfinite(a101) else float("nan")
    return [
        f"* **Shared handlers with 999 priority.** In July the blended handlers are "
        f"{pp(g(j, 'pool:call_handlers', 'occupancy'))}% occupied and 101 callers are always "
        "waiting, so every handler who comes free takes a 999 call if one is waiting and a "
        "101 call otherwise. A 999 caller who finds no free handler waits for the next one "
        "to come free, and the 999 queue empties only as fast as handlers are released to "
        f"101: about {_n(a101)} 101 answers a day, which alone would give "
        f"1 - exp(-10 s x {_n(a101)}/day) = {pp(formula)}% of 999 calls within 10 s. The "
        f"999-only handlers ({pp(g(j, 'pool:call_999', 'occupancy'))}% occupied) lift it to "
        f"{pp(g(j, '999', 'service_level'))}%.",
        f"* **What September changed.** September's lower volumes alone (the July factor "
        f"gone, IVR off) take 999 from {pp(g(j, '999', 'service_level'))}% to "
        f"{pp(g(v, '999', 'service_level'))}% within 10 s; the IVR then takes it to "
        f"{pp(g(s, '999', 'service_level'))}%, with 999 demand unchanged "
        f"({_n(g(v, '999', 'offered'))} vs {_n(g(s, '999', 'offered'))} attempts a day). "
        f"The IVR keeps {_n(g(s, '101', 'ivr_diverted'))} 101 callers a day away from the "
        f"queue and the blended handlers' occupancy falls from "
        f"{pp(g(v, 'pool:call_handlers', 'occupancy'))}% to "
        f"{pp(g(s, 'pool:call_handlers', 'occupancy'))}%: there are now moments with no 101 "
        "caller waiting, and a 999 caller arriving then is answered at once. 999's mean "
        f"wait falls from {g(j, '999', 'asa_s'):.1f} s (July) to {g(s, '999', 'asa_s'):.1f} s.",
        f"* **Redial load.** In July {_n(g(j, '101', 'redials'))} of the "
        f"{_n(g(j, '101', 'offered'))} 101 attempts a day are redials of callers who had "
        f"abandoned; in September {_n(g(s, '101', 'redials'))}. Fewer abandonments mean fewer "
        f"redials, which cut 101 attempts offered from {_n(g(j, '101', 'offered'))} to "
        f"{_n(g(s, '101', 'offered'))} a day, more than the IVR's share alone. Without "
        f"redial (same fitted values otherwise) 999 would go from "
        f"{pp(g(jr, '999', 'service_level'))}% to {pp(g(sr, '999', 'service_level'))}%, 101 "
        f"abandonment from {pp(g(jr, '101', 'abandon_rate'))}% to "
        f"{pp(g(sr, '101', 'abandon_rate'))}%: redial amplifies July's overload and so the "
        "IVR's effect on the abandonment rate.",
        f"* **Counterfactual: 999 on its own handlers.** Move handlers from the blended pool "
        "to the 999-only pool (the blended pool then answers 101 only, same total handlers), "
        f"as many as keep July's 999 at {pp(g(jd, '999', 'service_level'))}% within 10 s. "
        f"September's volumes then take 999 to {pp(g(vd, '999', 'service_level'))}% and "
        f"switching the IVR on changes it to {pp(g(sd, '999', 'service_level'))}%: without "
        "shared handlers the IVR does almost nothing for 999 (what remains is the 5% of 101 "
        "redials made on 999). But note what this counterfactual also shows: a 999 pool run "
        f"at {pp(g(jd, 'pool:call_999', 'occupancy'))}% occupancy improves by "
        f"{100 * (g(vd, '999', 'service_level') - g(jd, '999', 'service_level')):.0f} points "
        "from September's assumed 9% lower 999 volume alone. So the 999 improvement HMICFRS "
        "reports does not by itself prove that 999 and 101 shared handlers: in the fitted "
        f"model {100 * (g(s, '999', 'service_level') - g(v, '999', 'service_level')):.0f} of "
        f"the {100 * (g(s, '999', 'service_level') - g(j, '999', 'service_level')):.0f} "
        "points come from the IVR through the shared handlers and the rest from lower "
        "September volume; with separate pools all of it would come from volume. Monthly 999 "
        "call counts for July and September 2018 (not in the seed) would tell them apart.",
    ]


def downstream_text(rep: Reproduction) -> list[str]:
    g = partial(_get, rep)
    s = "September (predicted)"
    none, t37, off = ("September, no TDIU (its crimes deployed)",
                      "September, TDIU 37% (Sep 2018 count)", "September, no online reporting")
    return [
        f"* **TDIU.** With the TDIU taking 45% of crime (seed) response officers get "
        f"{_n(g(s, 'response', 'deployments'))} deployments a day in September. Were its "
        f"crimes deployed instead (no TDIU) they would get {_n(g(none, 'response', 'deployments'))}"
        f" (+{_n(g(none, 'response', 'deployments') - g(s, 'response', 'deployments'))} a day, "
        f"all grade E appointments); at the 37% the September 2018 count gives, "
        f"{_n(g(t37, 'response', 'deployments'))}. Each point of TDIU share is about "
        f"{_n((g(t37, 'response', 'deployments') - g(s, 'response', 'deployments')) / 8)} "
        "deployments a day.",
        f"* **Online reporting.** Online reports are "
        f"{pp(g(s, 'crime', 'online_share_of_crime'))}% of crime in September. Without online "
        f"reporting (its reports never made, diverted callers leaving) deployments would be "
        f"{_n(g(off, 'response', 'deployments'))} a day rather than "
        f"{_n(g(s, 'response', 'deployments'))}: an online report seldom leads to a deployment "
        "(4% grade E in the assumed outcome mix), so the online channel's effect on "
        "deployments is small; its effect is on crime reports that need no call handler.",
        f"* **Response officers.** I-grade incidents are attended within 15 min in "
        f"{pp(g(s, 'response', 'response_within_target_I'))}% of cases (reported 86.9%): with "
        "enough units this is set by travel time. S within 60 min is "
        f"{pp(g(s, 'response', 'response_within_target_S'))}% (reported 81.9%): one London-"
        "wide pool serving I before S before E keeps S waits short while E appointments "
        "absorb the shortfall; the 12 BCUs' separate fleets, travel across them and "
        "officers' other work are not modelled.",
    ]
