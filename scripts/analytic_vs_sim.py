"""Where Erlang A and the simulator part ways on the Met configs, one modelling effect at a time.

For each config, with its own roster, the service level and abandonment of 999 and 101 over the
measured week come from:

1. Erlang A, pointwise (each interval stationary with its own arrival rate; 999 and 101 pooled
   FCFS in their pool group, as ``contactsim staff``'s analytic method does);
2. Erlang A on the exact time-varying offered load (carry-over between intervals included);
3. the simulator with the Erlang A assumptions that it can honour: exponential handling with
   the config's means, no redial — what remains is time variation, shifts and priorities;
4. + the config's handling-time distributions (lognormal);
5. + redial (the config as it is);
6. the config with the blended pool's priority reversed (101 before 999), to show what the
   priority is worth.

Analytic rows weight each interval by its expected offered contacts.  Simulated rows are means
over replications with 95% CI half-widths, fast engine, call handling only.

Run:  python scripts/analytic_vs_sim.py [--replications 10] [CONFIG ...]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from contactsim import analytic, metrics, staffing
from contactsim.config import load
from contactsim.schema import Scenario
from contactsim.stages import simulate

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "configs/met-2018-07.yaml", ROOT / "configs/met-2018-09.yaml"]
CHANNELS = ("999", "101")


def erlang_rows(setup: staffing.Setup, loads: dict[str, np.ndarray], label: str) -> list[dict]:
    """Offered-weighted service level and abandonment per channel from per-interval Erlang A."""
    rows = []
    for group in setup.groups:
        n = staffing.group_totals(setup, setup.config, group)
        for c in setup.targeted(group):
            weight = staffing.weekly(setup, staffing.queue_rates(setup, c))
            sl, ab = np.zeros(setup.week), np.zeros(setup.week)
            for k in range(setup.week):
                at = {x: v[k] for x, v in loads.items()}
                total, rate, aht = staffing.pooled(setup, group, at)
                if total > 0:
                    m = analytic.erlang_a_metrics(rate, aht, setup.patience[c], int(n[k]),
                                                  setup.targets[c].within)
                    sl[k], ab[k] = m.service_level, m.p_abandon
            rows.append({"model": label, "channel": c,
                         "service_level": float(weight @ sl / weight.sum()),
                         "abandon_rate": float(weight @ ab / weight.sum())})
    return rows


def variant(setup: staffing.Setup, change) -> Scenario:
    data = setup.scenario.model_dump(mode="json")
    change(data)
    return Scenario.model_validate(data)


def erlang_world(scenario: Scenario):
    """Exponential handling with each distribution's mean, and no redial."""
    def change(data: dict) -> None:
        for channel, spec in scenario.handling.items():
            data["handling"][channel] = {"dist": "exponential", "mean": spec.sampler().mean}
        for name, pool in scenario.pools.items():
            for channel, spec in pool.handling.items():
                data["pools"][name]["handling"][channel] = {
                    "dist": "exponential", "mean": spec.sampler().mean}
        no_redial(data)
    return change


def no_redial(data: dict) -> None:
    for spec in data["channels"].values():
        spec["redial"] = None


def reversed_priority(data: dict) -> None:
    for pool in data["pools"].values():
        if pool["serves"][:2] == ["999", "101"]:
            pool["serves"] = ["101", "999", *pool["serves"][2:]]


def simulated_rows(scenario: Scenario, label: str, replications: int) -> list[dict]:
    frames = []
    for r in range(replications):
        rep = simulate(scenario, r, "fast")
        table = metrics.channel_metrics(scenario, rep.calls)
        frames.append(pd.DataFrame([{"replication": r, "channel": c, "metric": m, "value": v}
                                    for (c, m), v in table.items() if c in CHANNELS
                                    and m in ("service_level", "abandon_rate")]))
    ci = metrics.aggregate(pd.concat(frames), ["channel", "metric"], confidence=0.95)
    rows = []
    for c in CHANNELS:
        row = {"model": label, "channel": c}
        for m in ("service_level", "abandon_rate"):
            hit = ci[(ci["channel"] == c) & (ci["metric"] == m)].iloc[0]
            row[m] = float(hit["mean"])
            row[m + "_ci"] = float(hit["ci_high"] - hit["mean"])
        rows.append(row)
    return rows


def compare(path: Path, replications: int) -> pd.DataFrame:
    scenario = load(path).scenario
    texts = [f"{c}=0.9" for c in CHANNELS if c in scenario.channels]
    setup = staffing.prepare(scenario, staffing.resolve_targets(scenario, texts))
    pointwise = staffing.analytic_loads(setup)
    exact = {c: staffing.weekly(setup, staffing.first_attempt_load(setup, c))
             for c in setup.primary}
    rows = erlang_rows(setup, pointwise, "1 Erlang A, pointwise")
    rows += erlang_rows(setup, exact, "2 Erlang A, time-varying offered load")
    steps = [
        ("3 simulated: exponential handling, no redial", erlang_world(setup.scenario)),
        ("4 + lognormal handling", no_redial),
        ("5 + redial (the config)", lambda data: None),
        ("6 the config, 101 before 999", reversed_priority),
    ]
    for label, change in steps:
        rows += simulated_rows(variant(setup, change), label, replications)
    frame = pd.DataFrame(rows)
    frame.insert(0, "config", path.stem)
    return frame


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| config | model | 999 SL | 999 abandoned | 101 SL | 101 abandoned |",
             "|---|---|---:|---:|---:|---:|"]
    for (config, model), rows in frame.groupby(["config", "model"], sort=False):
        cells = []
        for c in CHANNELS:
            row = rows[rows["channel"] == c].iloc[0]
            for m in ("service_level", "abandon_rate"):
                ci = row.get(m + "_ci")
                text = f"{row[m]:.1%}"
                if ci is not None and not (isinstance(ci, float) and math.isnan(ci)):
                    text += f" ± {ci:.1%}"
                cells.append(text)
        lines.append(f"| {config} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path, default=CONFIGS)
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    frame = pd.concat([compare(p, args.replications) for p in args.configs], ignore_index=True)
    print(markdown(frame))


if __name__ == "__main__":
    main()
