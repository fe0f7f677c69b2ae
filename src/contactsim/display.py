"""Terminal tables: the headline KPIs of a run, with 95% confidence intervals, for people."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Group
from rich.table import Table

from contactsim.schema import CHANNELS, Scenario

_CHANNEL_COLUMNS = (
    ("offered", "offered", "{:,.0f}"),
    ("service_level", "in target", "{:.1%}"),
    ("abandon_rate", "abandoned", "{:.1%}"),
    ("asa_s", "ASA s", "{:,.1f}"),
    ("wait_p90_s", "p90 wait s", "{:,.0f}"),
    ("ivr_diverted", "IVR diverted", "{:,.0f}"),
)


def _cell(row: pd.Series | None, fmt: str) -> str:
    if row is None or math.isnan(row["mean"]):
        return "–"
    text = fmt.format(row["mean"])
    if row["n"] > 1 and not math.isnan(row["ci_low"]):
        half = (row["ci_high"] - row["ci_low"]) / 2
        text += " ± " + fmt.format(half).lstrip()
    return text


def _lookup(table: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    return {(r.channel, r.metric): r for _, r in table.iterrows()}


def summary_view(scenario: Scenario, table: pd.DataFrame) -> Group:
    """Channels as rows, headline KPIs as columns, then pools and downstream."""
    rows = _lookup(table)
    n = int(table["n"].max()) if len(table) else 0
    view = Table(title=f"{scenario.name}: {n} replication(s), mean ± 95% CI half-width")
    view.add_column("channel")
    for _, title, _ in _CHANNEL_COLUMNS:
        view.add_column(title, justify="right")
    for channel in CHANNELS:
        if channel not in scenario.channels:
            continue
        cells = [_cell(rows.get((channel, m)), fmt) for m, _, fmt in _CHANNEL_COLUMNS]
        view.add_row(channel, *cells)
    targets = ", ".join(f"{c} {s.answer_target:g} s" for c, s in scenario.channels.items())
    view.caption = f"answer targets: {targets}"
    return Group(view, _other_view(rows))


def _other_view(rows: dict[tuple[str, str], pd.Series]) -> Table:
    """Pools and downstream stages: one row per (what, metric)."""
    view = Table(title="pools and downstream")
    for title in ("what", "metric", "value"):
        view.add_column(title, justify="right" if title == "value" else "left")
    for (what, metric), row in rows.items():
        if what in CHANNELS:
            continue
        view.add_row(what, metric, _cell(row, "{:.1%}" if _is_share(metric) else "{:,.2f}"))
    return view


def _is_share(metric: str) -> bool:
    return metric in ("occupancy",) or "share" in metric or "within_target" in metric


_DIFF_METRICS = ("service_level", "abandon_rate", "asa_s", "offered", "ivr_diverted")


def differences_view(differences: pd.DataFrame, points) -> Group:
    """One table per alternative: base, alternative, paired difference ± CI, independent CI."""
    tables = []
    names = {p.name: p.scenario.name for p in points}
    for alt, rows in differences.groupby("alternative", sort=False):
        view = Table(title=f"{names.get(alt, alt)} − {names.get('base', 'base')} "
                           f"(paired on common random numbers, 95% CI)")
        for title in ("channel", "metric", "base", "alternative", "difference",
                      "± paired", "± independent"):
            view.add_column(title, justify="left" if title in ("channel", "metric") else "right")
        for r in rows.itertuples():
            if r.channel not in CHANNELS or r.metric not in _DIFF_METRICS:
                continue
            fmt = "{:.1%}" if r.metric in ("service_level", "abandon_rate") else "{:,.1f}"
            view.add_row(r.channel, r.metric, fmt.format(r.base_mean), fmt.format(r.alt_mean),
                         fmt.format(r.diff_mean), _maybe(fmt, r.paired_half_width),
                         _maybe(fmt, r.independent_half_width))
        tables.append(view)
    return Group(*tables)


def _maybe(fmt: str, value: float) -> str:
    return "–" if value != value else fmt.format(value)
