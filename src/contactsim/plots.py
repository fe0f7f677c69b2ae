"""Figures of a report: matplotlib figures of one run, or of two runs overlaid.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot, so no global state
and no display: PNGs are rendered by the Agg canvas) from :class:`RunView` objects, which carry
the numbers already aggregated across replications (mean and 95% CI).  A figure whose data a
results directory does not carry is left out (the builder returns ``None``); a panel whose data
is missing says so instead of drawing nothing.

Time axes are in days since each run's start date, so two runs that start on different dates
(July and September) overlay by time of week.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator, PercentFormatter

RUN_COLORS = ("#1f5fa8", "#e07b00", "#2a9d3a", "#8e44ad")
GRADE_STYLES = {"I": "-", "S": "--", "E": ":"}
CHANNEL_STYLES = ("-", "--", ":", "-.")
TARGET_COLOR = "#c0392b"
DPI = 110
WIDTH_IN = 11.0


@dataclass
class RunView:
    """What the figures need of one run: aggregated curves and KPIs, and a little config."""

    label: str
    color: str
    curves: pd.DataFrame  # channel, metric, x_h, mean, ci_low, ci_high, n
    summary: pd.DataFrame  # channel, metric, mean, ci_low, ci_high, n
    start: dt.date
    channels: list[str]
    pools: dict[str, list[str]] = field(default_factory=dict)  # pool -> channels it serves
    _index: dict = field(default_factory=dict, repr=False)

    def curve(self, channel: str, metric: str) -> pd.DataFrame | None:
        """The curve of one (channel, metric) sorted by time, or None if absent or all NaN."""
        if not self._index:
            self._index.update({k: g.sort_values("x_h")
                                for k, g in self.curves.groupby(["channel", "metric"])})
        found = self._index.get((channel, metric))
        if found is None or found["mean"].isna().all():
            return None
        return found

    def kpi(self, channel: str, metric: str) -> pd.Series | None:
        rows = self.summary[(self.summary["channel"] == channel)
                            & (self.summary["metric"] == metric)]
        return None if rows.empty else rows.iloc[0]


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG (Agg), without a timestamp, so the same data gives the same file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


# --- building blocks -----------------------------------------------------------------------

# Fixed margins in inches (rather than constrained layout, which costs a second draw and most of
# the rendering time): room for the title line on top, tick labels and the x label below.
LEFT_IN, RIGHT_IN, TOP_IN, BOTTOM_IN, VGAP_IN = 0.85, 0.3, 0.75, 0.6, 0.55


def _figure(rows: int, cols: int = 1, row_height: float = 2.6, sharex: bool = True,
            right: float = RIGHT_IN, wgap: float = 0.9) -> tuple[Figure, np.ndarray]:
    height = TOP_IN + BOTTOM_IN + rows * row_height
    fig = Figure(figsize=(WIDTH_IN, height))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=sharex)
    axes_h = row_height - VGAP_IN
    axes_w = (WIDTH_IN - LEFT_IN - right - wgap * (cols - 1)) / cols
    fig.subplots_adjust(left=LEFT_IN / WIDTH_IN, right=1 - right / WIDTH_IN,
                        top=1 - (TOP_IN - 0.05) / height,
                        bottom=BOTTOM_IN / height, hspace=VGAP_IN / axes_h,
                        wspace=wgap / axes_w)
    for ax in axes.flat:
        ax.grid(True, color="#e3e3e3", linewidth=0.7)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, axes


def _title(fig: Figure, text: str, runs: list[RunView] | None = None, extra=()) -> None:
    """Figure title on the left of the top line, legend of the runs (and extras) on the right."""
    height = fig.get_figheight()
    fig.text(0.01, 1 - 0.12 / height, text, ha="left", va="top", fontsize=12,
             fontweight="bold")
    handles = [Line2D([], [], color=r.color, linewidth=2.5, label=r.label) for r in runs or []]
    handles += list(extra)
    if handles:
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.995, 1 - 0.05 / height),
                   ncol=len(handles), frameon=False, fontsize=9)


def _band(ax, curve: pd.DataFrame, color: str, label: str | None = None, style: str = "-",
          scale: float = 1.0, x_scale: float = 1 / 24) -> None:
    """Mean line with its CI band (where the CI is known)."""
    x = curve["x_h"].to_numpy(dtype=float) * x_scale
    ax.plot(x, curve["mean"].to_numpy(dtype=float) * scale, color=color, linestyle=style,
            linewidth=1.1, label=label)
    lo = curve["ci_low"].to_numpy(dtype=float) * scale
    hi = curve["ci_high"].to_numpy(dtype=float) * scale
    if np.isfinite(lo).any():
        ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)


def _day_axis(ax, runs: list[RunView], xlabel: bool = True) -> None:
    """Ticks at midnights, labelled by weekday (the same for every run) or by day number."""
    ax.xaxis.set_major_locator(MultipleLocator(1))
    ax.xaxis.set_minor_locator(MultipleLocator(0.25))
    weekdays = {r.start.weekday() for r in runs}
    start = runs[0].start

    def label(day: float, _pos) -> str:
        if len(weekdays) == 1:
            return (start + dt.timedelta(days=int(round(day)))).strftime("%a")
        return f"day {int(round(day))}"

    ax.xaxis.set_major_formatter(label)
    if xlabel:
        ax.set_xlabel("time of week (shading: 95% CI across replications)")


def _target_handle(text: str) -> Line2D:
    return Line2D([], [], color=TARGET_COLOR, linestyle="--", linewidth=1.1, label=text)


def _missing(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}: not in these results", transform=ax.transAxes,
            ha="center", va="center", color="#777777")


def _style_legend(ax, styles: dict[str, str], title: str | None = None) -> None:
    """A legend of line styles (in black), for what the colours do not say."""
    handles = [Line2D([], [], color="#333333", linestyle=s, linewidth=1.1, label=name)
               for name, s in styles.items()]
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=True, framealpha=0.85,
              edgecolor="none", ncol=len(handles), title=title, title_fontsize=8)


def _seconds(value: float) -> str:
    """A duration in the largest unit that divides it: 10 s, 15 min, 6 h, 2 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value / size:g} {unit}"
    return f"{value:g} s"


# --- interval figures ----------------------------------------------------------------------


def interval_figure(runs: list[RunView], metric: str, title: str, channels: list[str],
                    targets: dict[str, float], answer_targets: dict[str, float],
                    ylabel: str) -> Figure | None:
    """One panel per channel: ``metric`` by interval, mean and CI band, runs overlaid."""
    channels = [c for c in channels if any(r.curve(c, metric) is not None for r in runs)]
    if not channels:
        return None
    fig, axes = _figure(len(channels))
    for ax, channel in zip(axes[:, 0], channels, strict=True):
        for run in runs:
            curve = run.curve(channel, metric)
            if curve is not None:
                _band(ax, curve, run.color, scale=100)
        target = targets.get(channel)
        if target is not None:
            ax.axhline(target * 100, color=TARGET_COLOR, linestyle="--", linewidth=1.1)
        answer = answer_targets.get(channel)
        suffix = f" — answered within {_seconds(answer)}" if answer else ""
        suffix += f", target {target:.0%} (dashed)" if target is not None else ""
        ax.set_title(f"{channel}{suffix}", loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_ylim(-2, 102)
    _day_axis(axes[-1, 0], runs)
    extra = [_target_handle("target")] if any(c in targets for c in channels) else []
    _title(fig, title, runs, extra)
    return fig


def pools_figure(runs: list[RunView]) -> Figure | None:
    """Per pool: queue length of the channels it serves, and occupancy with handlers on duty."""
    pools: list[str] = []
    for run in runs:
        pools += [p for p in run.pools if p not in pools]
    if not pools:
        return None
    fig, axes = _figure(len(pools), 2, row_height=2.8, right=0.75, wgap=1.2)
    for row, pool in enumerate(pools):
        queue_ax, occ_ax = axes[row]
        served: list[str] = []
        for run in runs:
            served += [c for c in run.pools.get(pool, []) if c not in served]
        styles = {c: CHANNEL_STYLES[k % len(CHANNEL_STYLES)] for k, c in enumerate(served)}
        drawn = False
        for run in runs:
            for channel in run.pools.get(pool, []):
                curve = run.curve(channel, "queue_length")
                if curve is not None:
                    _band(queue_ax, curve, run.color, style=styles[channel])
                    drawn = True
        if drawn:
            _style_legend(queue_ax, styles)
        else:
            _missing(queue_ax, "queue length")
        queue_ax.set_title(f"{pool}: contacts waiting (time-average)", loc="left",
                           fontsize=10)
        queue_ax.set_ylabel("waiting")
        queue_ax.set_ylim(bottom=0)

        handlers_ax = occ_ax.twinx()
        handlers_ax.spines["top"].set_visible(False)
        drawn = False
        for run in runs:
            occupancy = run.curve(f"pool:{pool}", "occupancy")
            if occupancy is not None:
                _band(occ_ax, occupancy, run.color, scale=100)
                drawn = True
            handlers = run.curve(f"pool:{pool}", "handlers")
            if handlers is not None:
                handlers_ax.plot(handlers["x_h"] / 24, handlers["mean"], color=run.color,
                                 alpha=0.6, linewidth=1.0, linestyle=":")
        if not drawn:
            _missing(occ_ax, "occupancy")
        occ_ax.set_title(f"{pool}: occupancy; dotted: handlers on duty (right)", loc="left",
                         fontsize=10)
        occ_ax.set_ylabel("occupancy")
        occ_ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        occ_ax.set_ylim(-2, 110)
        handlers_ax.set_ylabel("on duty")
        handlers_ax.set_ylim(bottom=0)
    for ax in axes[-1]:
        _day_axis(ax, runs)
    _title(fig, "Queues and occupancy by pool, per 15-minute interval", runs)
    return fig


def downstream_figure(runs: list[RunView], grades: tuple[str, ...]) -> Figure | None:
    """TDIU share of crime and backlog, deployments by grade and response backlog over time."""
    panels = [
        ("crime", "tdiu_share_of_crime@1h", "TDIU share of crime reports, by hour", True),
        ("tdiu", "backlog", "TDIU backlog: reports waiting for an investigator", False),
        ("response", "deployments@1h", "Deployments created per hour, by grade", False),
        ("response", "backlog", "Response backlog: deployments waiting for a unit", False),
    ]

    def present(channel: str, metric: str) -> bool:
        if metric == "deployments@1h":
            return any(r.curve(channel, f"deployments_{g}@1h") is not None
                       for r in runs for g in grades)
        return any(r.curve(channel, metric) is not None for r in runs)

    if not any(present(c, m) for c, m, _, _ in panels):
        return None
    fig, axes = _figure(2, 2, row_height=3.0)
    for ax, (channel, metric, title, share) in zip(axes.flat, panels, strict=True):
        ax.set_title(title, loc="left", fontsize=10)
        if not present(channel, metric):
            _missing(ax, title.split(":")[0])
        for run in runs:
            if metric == "deployments@1h":
                for grade in grades:
                    curve = run.curve(channel, f"deployments_{grade}@1h")
                    if curve is not None:
                        _band(ax, curve, run.color, style=GRADE_STYLES.get(grade, "-"))
                continue
            curve = run.curve(channel, metric)
            if curve is not None:
                _band(ax, curve, run.color, scale=100 if share else 1)
        if share:
            ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            ax.set_ylim(-2, 102)
        else:
            ax.set_ylim(bottom=0)
        if metric == "deployments@1h" and present(channel, metric):
            _style_legend(ax, {g: GRADE_STYLES.get(g, "-") for g in grades})
    for ax in axes[-1]:
        _day_axis(ax, runs)
    _title(fig, "Downstream: TDIU and response officers over time", runs)
    return fig


# --- summary figures -----------------------------------------------------------------------


def _bars(ax, runs: list[RunView], channel: str, metrics: list[str], labels: list[str],
          scale: float = 1.0) -> bool:
    width = 0.8 / len(runs)
    drawn = False
    for i, run in enumerate(runs):
        x = np.arange(len(metrics)) + (i - (len(runs) - 1) / 2) * width
        rows = [run.kpi(channel, m) for m in metrics]
        mean = np.array([np.nan if r is None else r["mean"] for r in rows], float) * scale
        lo = np.array([np.nan if r is None else r["ci_low"] for r in rows], float) * scale
        hi = np.array([np.nan if r is None else r["ci_high"] for r in rows], float) * scale
        if np.isnan(mean).all():
            continue
        drawn = True
        err = np.vstack([mean - lo, hi - mean])
        err = np.where(np.isfinite(err), err, 0)
        ax.bar(x, np.nan_to_num(mean), width * 0.92, color=run.color, alpha=0.85,
               yerr=err, capsize=3, error_kw={"linewidth": 0.9})
    ax.set_xticks(np.arange(len(metrics)), labels)
    return drawn


def response_figure(runs: list[RunView], grades: tuple[str, ...],
                    share_targets: dict[str, float], time_targets: dict[str, float]
                    ) -> Figure | None:
    """Deployments by grade, and the share reached within the grade's target, with CIs."""
    if not any(run.kpi("response", "deployments") is not None for run in runs):
        return None
    fig, axes = _figure(1, 2, row_height=3.4, sharex=False)
    count_ax, share_ax = axes[0]
    labels = [f"{g} ({_seconds(time_targets[g])})" if g in time_targets else g for g in grades]
    _bars(count_ax, runs, "response", [f"deployments_{g}" for g in grades], list(grades))
    count_ax.set_title("Deployments by grade, after warm-up", loc="left", fontsize=10)
    count_ax.set_ylabel("deployments")
    _bars(share_ax, runs, "response", [f"response_within_target_{g}" for g in grades], labels,
          scale=100)
    for k, grade in enumerate(grades):
        target = share_targets.get(grade)
        if target is not None:
            share_ax.hlines(target * 100, k - 0.45, k + 0.45, color=TARGET_COLOR,
                            linestyle="--", linewidth=1.3)
    share_ax.set_title("Reached within the grade's time (dashed: target share)", loc="left",
                       fontsize=10)
    share_ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    share_ax.set_ylim(0, 105)
    extra = [_target_handle("target")] if share_targets else []
    _title(fig, "Response officers (bars: mean; whiskers: 95% CI)", runs, extra)
    return fig


def differences_figure(diff: pd.DataFrame, labels: tuple[str, str]) -> Figure | None:
    """Forest plot of the paired differences of share KPIs, in percentage points."""
    rows = diff[diff["kind"] == "share"].dropna(subset=["mean"])
    if rows.empty:
        return None
    rows = rows.iloc[::-1]
    row_in = 0.26
    fig, axes = _figure(1, row_height=VGAP_IN + row_in * len(rows))
    ax = axes[0, 0]
    fig.subplots_adjust(left=2.4 / WIDTH_IN)
    y = np.arange(len(rows))
    mean = rows["mean"].to_numpy(float) * 100
    lo, hi = rows["ci_low"].to_numpy(float) * 100, rows["ci_high"].to_numpy(float) * 100
    clear = (lo > 0) | (hi < 0)
    err = np.vstack([mean - lo, hi - mean])
    err = np.where(np.isfinite(err), err, 0)
    for k in range(len(rows)):
        ax.errorbar(mean[k], y[k], xerr=err[:, k:k + 1], fmt="o", markersize=4, capsize=3,
                    linewidth=1.1, color="#1f5fa8" if clear[k] else "#999999")
    ax.axvline(0, color="#444444", linewidth=0.9)
    ax.set_yticks(y, rows["label"].tolist(), fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(False, axis="y")
    ax.set_xlabel(f"{labels[1]} − {labels[0]}, percentage points (paired by replication; "
                  "grey: 95% CI includes 0)")
    _title(fig, "Paired differences of the share KPIs, with 95% CIs")
    return fig
