"""The report: one self-contained HTML page of a run, or of two runs compared, and its figures.

:func:`write_report` reads a results directory written by ``contactsim run`` (``summary``,
``intervals`` — Parquet, or CSV if there is no Parquet — and ``manifest.json``) and writes

* ``OUT.html``: headline KPIs per channel with 95% CIs and the targets marked; service level and
  abandonment per 15-minute interval with CI bands and target lines; queue length and occupancy
  by pool; the downstream stages; for a comparison, paired differences of every KPI; and at the
  bottom each run's manifest and resolved config.  Figures are inline base64 PNGs, styles are
  inline and a Content-Security-Policy forbids every fetch, so the page opens without a network;
* ``OUT-NAME.png`` beside it: the same figures, byte for byte, for slides.

A comparison pairs replication ``r`` of one run with replication ``r`` of the other.  Runs with the
same seed use common random numbers (each replication of both saw the same callers wherever the
configs agree), so the paired differences have much tighter CIs than the two runs' own; the CI is
a Student-t interval over the per-replication differences (:func:`paired_differences`).

Targets: the answer-time target of each channel comes from the run's config; the share of
contacts that should meet it, and the share of response deployments that should meet their
grade's time, are not config fields and are the published standards in
:data:`SERVICE_LEVEL_TARGETS` and :data:`RESPONSE_SHARE_TARGETS`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from contactsim import __version__, plots
from contactsim.metrics import aggregate
from contactsim.schema import CHANNELS, GRADES
from contactsim.store import write_atomic

#: Share of contacts to answer within the channel's answer target: the National Call Handling
#: Standard (2006) for 999, 90% within 10 s.  The Met's 101 target (30 s) has no published share.
SERVICE_LEVEL_TARGETS: dict[str, float] = {"999": 0.90}
#: Share of deployments to reach within the grade's time: the Met aims at 90% for grade I.
RESPONSE_SHARE_TARGETS: dict[str, float] = {"I": 0.90}

CONFIDENCE = 0.95


class ReportError(Exception):
    """Results that cannot be reported on; ``str()`` is the one-line message for the user."""


# --- reading results -----------------------------------------------------------------------


@dataclass
class Results:
    """One results directory: per-replication tables and the manifest."""

    path: Path
    summary: pd.DataFrame
    intervals: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario") or self.path.name)

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config") or {}

    @property
    def interval_s(self) -> float:
        return float(self.config.get("interval", 900.0))

    @property
    def start(self) -> dt.date:
        return dt.date.fromisoformat(str(self.config.get("start_date", "2018-07-02")))

    @property
    def channels(self) -> list[str]:
        present = set(self.summary["channel"])
        return [c for c in CHANNELS if c in present]

    @property
    def pools(self) -> dict[str, list[str]]:
        """Pool name -> the channels it serves, highest priority first."""
        pools = self.config.get("pools") or {}
        named = {p: list(spec.get("serves", [])) for p, spec in pools.items()}
        for channel in self.summary["channel"].unique():
            if str(channel).startswith("pool:"):
                named.setdefault(str(channel)[5:], [])
        return named

    def answer_targets(self) -> dict[str, float]:
        channels = self.config.get("channels") or {}
        return {c: float(spec["answer_target"]) for c, spec in channels.items()
                if "answer_target" in spec}

    def response_targets(self) -> dict[str, float]:
        return {g: float(t) for g, t in ((self.config.get("response") or {})
                                         .get("targets") or {}).items()}


def _read_table(directory: Path, stem: str) -> pd.DataFrame:
    parquet, csv = directory / f"{stem}.parquet", directory / f"{stem}.csv"
    try:
        if parquet.is_file():
            table = pd.read_parquet(parquet)
        elif csv.is_file():
            table = pd.read_csv(csv, dtype={"channel": str, "metric": str, "scenario": str})
        else:
            raise ReportError(f"{directory}: no {stem}.parquet or {stem}.csv "
                              "(is this a results directory of `contactsim run`?)")
    except ReportError:
        raise
    except Exception as exc:  # a damaged file: name it, do not show a traceback
        raise ReportError(f"{directory}: cannot read {stem}: {exc}") from exc
    missing = {"replication", "channel", "metric", "value"} - set(table.columns)
    if missing:
        raise ReportError(f"{directory}/{stem}: missing column(s) {', '.join(sorted(missing))}")
    table["channel"] = table["channel"].astype(str)
    return table


def load_results(directory: Path | str) -> Results:
    """Read a results directory, or raise :class:`ReportError` saying what is wrong with it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ReportError(f"{directory}: not a directory")
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{directory}: no manifest.json") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{manifest_path}: cannot read: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ReportError(f"{manifest_path}: expected a JSON object")
    summary = _read_table(directory, "summary")
    intervals = _read_table(directory, "intervals")
    if "interval" not in intervals.columns:
        raise ReportError(f"{directory}/intervals: missing column interval")
    if summary.empty:
        raise ReportError(f"{directory}/summary: no rows")
    return Results(directory, summary, intervals, manifest)


# --- numbers -------------------------------------------------------------------------------


def summary_ci(results: Results) -> pd.DataFrame:
    """Mean and CI of every horizon KPI over the replications."""
    return aggregate(results.summary, ["channel", "metric"], CONFIDENCE)


def _hourly(intervals: pd.DataFrame, width: float) -> pd.DataFrame:
    """Per-replication hourly series of the sparse downstream counts (15 minutes is too noisy):
    ``crime/tdiu_share_of_crime@1h`` and ``response/deployments_G@1h``."""
    bucket = max(width, 3600.0)
    crime = (intervals["channel"] == "crime") & intervals["metric"].isin(
        ["crime_reports", "tdiu_allocated"])
    deployments = (intervals["channel"] == "response") & intervals["metric"].str.startswith(
        "deployments_")
    rows = intervals[crime | deployments]
    columns = ["replication", "channel", "metric", "x_h", "value"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(hour=np.floor(rows["interval"] * width / bucket))
    sums = rows.groupby(["replication", "channel", "metric", "hour"], sort=False)["value"].sum()
    sums = sums.unstack("metric")
    parts = []
    if "tdiu_allocated" in sums.columns and "crime_reports" in sums.columns:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = sums["tdiu_allocated"] / sums["crime_reports"].where(
                sums["crime_reports"] > 0)
        parts.append(share.rename("value").reset_index()
                     .assign(metric="tdiu_share_of_crime@1h"))
    for grade in GRADES:
        column = f"deployments_{grade}"
        if column in sums.columns:
            parts.append(sums[column].rename("value").reset_index()
                         .assign(metric=f"{column}@1h"))
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    table["x_h"] = (table["hour"] + 0.5) * bucket / 3600
    return table[columns]


def curves(results: Results) -> pd.DataFrame:
    """Mean and CI per interval (x_h: interval midpoint, hours since the start) of every metric,
    plus the hourly downstream series."""
    width = results.interval_s
    table = results.intervals[["replication", "channel", "metric", "interval", "value"]]
    table = table.assign(x_h=(table["interval"] + 0.5) * width / 3600)
    hourly = _hourly(results.intervals, width)
    both = pd.concat([table.drop(columns="interval")] + ([hourly] if len(hourly) else []),
                     ignore_index=True)
    both["value"] = both["value"].astype(float)
    return aggregate(both, ["channel", "metric", "x_h"], CONFIDENCE)


def paired_differences(base: pd.DataFrame, other: pd.DataFrame,
                       confidence: float = CONFIDENCE) -> pd.DataFrame:
    """``other - base`` per (channel, metric), pairing replication r with replication r.

    Both tables are per-replication summaries (``replication, channel, metric, value``).  Pairs
    where either value is NaN are dropped.  Returns ``channel, metric, mean_base, mean_other,
    mean, sd, n, ci_low, ci_high`` where ``mean`` is the mean paired difference and the CI is the
    Student-t interval of the differences.
    """
    key = ["channel", "metric", "replication"]
    pairs = base[key + ["value"]].merge(other[key + ["value"]], on=key,
                                        suffixes=("_base", "_other"))
    pairs = pairs.dropna(subset=["value_base", "value_other"])
    pairs["value"] = pairs["value_other"] - pairs["value_base"]
    out = aggregate(pairs, ["channel", "metric"], confidence)
    means = pairs.groupby(["channel", "metric"], sort=False)[["value_base", "value_other"]].mean()
    means = means.rename(columns={"value_base": "mean_base", "value_other": "mean_other"})
    out = out.merge(means.reset_index(), on=["channel", "metric"], how="left")
    cols = ["channel", "metric", "mean_base", "mean_other", "mean", "sd", "n", "ci_low",
            "ci_high"]
    return out[cols]


# --- formatting ----------------------------------------------------------------------------


def kind(metric: str) -> str:
    """How a metric is shown: share, seconds, hours or count."""
    if (metric in ("service_level", "abandon_rate", "occupancy") or "share" in metric
            or "within_target" in metric):
        return "share"
    if metric.endswith("_s"):
        return "seconds"
    if metric.endswith("_h"):
        return "hours"
    return "count"


def fmt(metric: str, value: float, diff: bool = False, like: float | None = None) -> str:
    """``value`` of ``metric`` for people; ``like`` picks the unit (e.g. the mean's, for its CI
    bounds) so that a row reads in one unit."""
    if value is None or not math.isfinite(value):
        return "–"
    sign = "+" if diff else ""
    scale = abs(value if like is None or not math.isfinite(like) else like)
    k = kind(metric)
    if k == "share":
        return f"{value * 100:{sign}.1f} pp" if diff else f"{value * 100:.1f}%"
    if k == "seconds":
        if scale >= 36000:
            return f"{value / 3600:{sign},.1f} h"
        if scale >= 600:
            return f"{value / 60:{sign},.1f} min"
        return f"{value:{sign},.1f} s"
    if k == "hours":
        return f"{value:{sign},.2f} h"
    if scale >= 100 or value == 0:
        return f"{value:{sign},.0f}"
    return f"{value:{sign},.2f}"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ci_cell(metric: str, row: pd.Series | None, diff: bool = False,
             target: float | None = None) -> str:
    """``mean`` over ``[low, high]``; marked against a target, or as clear of 0 for a diff."""
    if row is None or not math.isfinite(row["mean"]):
        return '<td class="num">–</td>'
    classes, mark = ["num"], ""
    low, high = row["ci_low"], row["ci_high"]
    known = math.isfinite(low) and math.isfinite(high)
    if target is not None:
        if (low if known else row["mean"]) >= target:
            verdict, mark = "meets", " ✓"
        elif (high if known else row["mean"]) < target:
            verdict, mark = "misses", " ✗"
        else:
            verdict, mark = "unclear", " ~"
        classes.append(verdict)
    if diff and known and (low > 0 or high < 0):
        classes.append("clear")
    if known and kind(metric) == "share" and not diff:  # a t interval can pass 0% or 100%
        low, high = max(low, 0.0), min(high, 1.0)
    mean = row["mean"]
    ci = _range(fmt(metric, low, diff, mean), fmt(metric, high, diff, mean)) if known else (
        "no CI")
    return (f'<td class="{" ".join(classes)}">{_e(fmt(metric, mean, diff))}{mark}'
            f'<small>{_e(ci)}</small></td>')


def _range(low: str, high: str) -> str:
    """``low … high`` with a unit both share written once: ``78.8 … 81.2%``."""
    for unit in ("%", " pp", " s", " min", " h"):
        if low.endswith(unit) and high.endswith(unit):
            return f"{low[:-len(unit)]} … {high}"
    return f"{low} … {high}"


def _seconds(value: float) -> str:
    return plots._seconds(value)


# --- the page ------------------------------------------------------------------------------


HEADLINE = (
    ("offered", "offered"),
    ("service_level", "answered in target"),
    ("abandon_rate", "abandoned"),
    ("asa_s", "ASA"),
    ("wait_p90_s", "p90 wait"),
    ("callers_answered_share", "callers ever answered"),
    ("ivr_diverted", "IVR diverted"),
)

CSS = """
:root { --ink:#1d232b; --muted:#667; --line:#d9dde3; --meets:#e3f4e6; --misses:#fbe3e0;
        --unclear:#fdf2d6; --a:#1f5fa8; --b:#e07b00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0; background: #f6f7f9; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 48px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 30px 0 8px; padding-bottom: 4px;
     border-bottom: 2px solid var(--line); }
p.lede { color: var(--muted); margin: 0 0 12px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
          margin: 0 4px 0 10px; vertical-align: -1px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
table.kpi { font-size: 13px; width: 100%; }
.scroll { overflow-x: auto; }
td.nowrap, th.nowrap { white-space: nowrap; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 7px; vertical-align: top; }
th { background: #eef1f5; text-align: left; font-weight: 600; font-size: 13px; }
td.num { text-align: right; white-space: nowrap; }
td small { display: block; color: var(--muted); font-size: 11px; }
td.meets { background: var(--meets); } td.misses { background: var(--misses); }
td.unclear { background: var(--unclear); }
td.clear { font-weight: 600; }
tr.diff td { background: #f7f8fb; font-style: italic; }
tr.first td { border-top: 2px solid #b9c0ca; }
.legend { color: var(--muted); font-size: 12px; }
.legend span.k { padding: 1px 6px; border-radius: 3px; margin-right: 4px; }
figure { margin: 14px 0 20px; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
pre { background: #f4f5f7; padding: 10px; overflow: auto; font-size: 12px; max-height: 520px; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.note { background: #eef4fb; border-left: 4px solid var(--a); padding: 6px 10px; margin: 8px 0; }
"""


@dataclass
class _Run:
    results: Results
    view: plots.RunView
    ci: pd.DataFrame
    rows: dict[tuple[str, str], pd.Series]


def _run(results: Results, label: str, color: str) -> _Run:
    ci = summary_ci(results)
    view = plots.RunView(label=label, color=color, curves=curves(results), summary=ci,
                         start=results.start, channels=results.channels, pools=results.pools)
    rows = {(r.channel, r.metric): r for r in ci.itertuples(index=False)}
    rows = {k: pd.Series(v._asdict()) for k, v in rows.items()}
    return _Run(results, view, ci, rows)


def _labels(a: Results, b: Results | None) -> tuple[str, str]:
    if b is None:
        return a.name, ""
    if a.name != b.name:
        return a.name, b.name
    return f"{a.name} ({a.path.name})", f"{b.name} ({b.path.name})"


def _headline_table(runs: list[_Run], diff: pd.DataFrame | None) -> str:
    metrics = [(m, t) for m, t in HEADLINE
               if m != "ivr_diverted" or any(
                   (r.rows.get((c, m)) is not None and r.rows[(c, m)]["mean"] > 0)
                   for r in runs for c in CHANNELS)]
    diffs = _diff_rows(diff)
    answer = runs[0].results.answer_targets()
    head = "".join(f"<th>{_e(t)}</th>" for _, t in metrics)
    out = ['<div class="scroll"><table class="kpi"><thead><tr><th>channel</th><th>target</th>'
           + ("<th>run</th>" if len(runs) > 1 else "") + head + "</tr></thead><tbody>"]
    channels = [c for c in CHANNELS if any(c in r.results.channels for r in runs)]
    for channel in channels:
        share = SERVICE_LEVEL_TARGETS.get(channel)
        target = (f"{share:.0%} in " if share else "in ") + (
            _seconds(answer[channel]) if channel in answer else "–")
        span = len(runs) + (1 if diffs else 0)
        for k, run in enumerate(runs):
            cells = "".join(
                _ci_cell(m, run.rows.get((channel, m)),
                         target=share if m == "service_level" else None)
                for m, _ in metrics)
            first = (f'<td rowspan="{span}"><b>{_e(channel)}</b></td>'
                     f'<td class="nowrap" rowspan="{span}">{_e(target)}</td>') if k == 0 else ""
            tag = (f'<td class="nowrap"><span class="swatch" '
                   f'style="background:{run.view.color}"></span>'
                   f'{_e(run.view.label)}</td>') if len(runs) > 1 else ""
            out.append(f'<tr class="{"first" if k == 0 else ""}">{first}{tag}{cells}</tr>')
        if diffs:
            cells = "".join(_ci_cell(m, diffs.get((channel, m)), diff=True) for m, _ in metrics)
            out.append(f'<tr class="diff"><td class="nowrap">paired difference</td>{cells}</tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def _diff_rows(diff: pd.DataFrame | None) -> dict[tuple[str, str], pd.Series]:
    if diff is None:
        return {}
    return {(r["channel"], r["metric"]): r for _, r in diff.iterrows()}


def _other_table(runs: list[_Run], diff: pd.DataFrame | None) -> str:
    """Pools, crime, TDIU and response KPIs: one row each, runs (and difference) as columns."""
    keys: list[tuple[str, str]] = []
    for run in runs:
        keys += [k for k in run.rows if k[0] not in CHANNELS and k not in keys]
    if not keys:
        return ""
    diffs = _diff_rows(diff)
    head = "".join(f'<th><span class="swatch" style="background:{r.view.color}"></span>'
                   f"{_e(r.view.label)}</th>" for r in runs)
    if diffs:
        head += "<th>paired difference</th>"
    out = [f"<table><thead><tr><th>what</th><th>metric</th><th>target</th>{head}</tr></thead>"
           "<tbody>"]
    for what, metric in keys:
        target = None
        note = "–"
        if what == "response" and metric.startswith("response_within_target_"):
            grade = metric.rsplit("_", 1)[1]
            target = RESPONSE_SHARE_TARGETS.get(grade)
            seconds = runs[0].results.response_targets().get(grade)
            note = (f"{target:.0%} " if target else "") + (
                f"in {_seconds(seconds)}" if seconds else "")
        cells = "".join(_ci_cell(metric, r.rows.get((what, metric)), target=target)
                        for r in runs)
        if diffs:
            cells += _ci_cell(metric, diffs.get((what, metric)), diff=True)
        out.append(f"<tr><td>{_e(what)}</td><td>{_e(metric)}</td><td>{_e(note)}</td>"
                   f"{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _legend(compare: bool) -> str:
    diff = ("Paired differences in <b>bold</b> have a CI that excludes 0; shares differ in "
            "percentage points (pp).") if compare else ""
    return ('<p class="legend">Each cell: mean over replications, and below it the 95% CI. '
            '<span class="k" style="background:var(--meets)">✓ meets target</span>'
            '<span class="k" style="background:var(--unclear)">~ CI straddles target</span>'
            '<span class="k" style="background:var(--misses)">✗ misses target</span>'
            f"{diff}</p>")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    return {prefix: value}


def _value(flat: dict[str, Any], key: str) -> str:
    if key not in flat:
        return "<em>absent</em>"
    return _e(json.dumps(flat[key], ensure_ascii=False))


def _config_differences(a: Results, b: Results) -> str:
    fa, fb = _flatten(a.config), _flatten(b.config)
    keys = [k for k in dict.fromkeys([*fa, *fb]) if fa.get(k, "∅") != fb.get(k, "∅")]
    if not keys:
        return "<p>The two resolved configs are identical.</p>"
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td>{_value(fa, k)}</td><td>{_value(fb, k)}</td>"
        "</tr>" for k in keys)
    return (f"<table><thead><tr><th>field</th><th>{_e(a.name)}</th><th>{_e(b.name)}</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


MANIFEST_FIELDS = (
    ("scenario", "scenario"),
    ("config_file", "config file"),
    ("seed", "seed"),
    ("replications", "replications"),
    ("engine", "engine"),
    ("contactsim_version", "contactsim version"),
    ("python", "Python"),
    ("wall_time_s", "wall time (s)"),
)


def _manifest_table(runs: list[_Run]) -> str:
    head = "".join(f"<th>{_e(r.view.label)}</th>" for r in runs)
    rows = [("results directory", [str(r.results.path) for r in runs])]
    rows += [(title, [r.results.manifest.get(key, "–") for r in runs])
             for key, title in MANIFEST_FIELDS]
    rows += [
        ("description", [r.results.config.get("description", "–") for r in runs]),
        ("start date", [r.results.start.isoformat() for r in runs]),
        ("horizon", [f"{r.results.config.get('horizon_days', '–')} d" for r in runs]),
        ("warm-up", [_seconds(float(r.results.config.get("warmup", 0))) for r in runs]),
        ("interval", [_seconds(r.results.interval_s) for r in runs]),
    ]
    body = "".join(f"<tr><th>{_e(t)}</th>" + "".join(f"<td>{_e(v)}</td>" for v in vals)
                   + "</tr>" for t, vals in rows)
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _configs(runs: list[_Run]) -> str:
    blocks = []
    for run in runs:
        text = yaml.safe_dump(run.results.config, sort_keys=False, allow_unicode=True)
        blocks.append(f"<div><h3>{_e(run.view.label)}</h3><pre>{_e(text)}</pre></div>")
    return '<div class="cols">' + "".join(blocks) + "</div>"


def _pairing_note(a: Results, b: Results, diff: pd.DataFrame) -> str:
    ra, rb = set(a.summary["replication"]), set(b.summary["replication"])
    common = len(ra & rb)
    seed_a, seed_b = a.manifest.get("seed"), b.manifest.get("seed")
    if seed_a is not None and seed_a == seed_b:
        crn = (f"Both runs use seed {seed_a}: replication r of each saw the same sampled "
               "callers wherever the configs agree (common random numbers), so the paired "
               "differences are much tighter than the runs' own CIs.")
    else:
        crn = (f"The runs' seeds differ ({seed_a} vs {seed_b}): the pairs are independent, so "
               "the paired CI is valid but no tighter than an unpaired one.")
    extra = ""
    if ra != rb:
        extra = (f" Only the {common} replication(s) both runs have are paired "
                 f"({len(ra)} vs {len(rb)}).")
    return (f'<p class="note">Differences are {_e(b.name)} − {_e(a.name)}, replication r of '
            f"one paired with replication r of the other ({common} pairs), with a 95% "
            f"Student-t CI over the per-replication differences. {_e(crn)}{_e(extra)}</p>")


def _diff_table(diff: pd.DataFrame, labels: tuple[str, str]) -> str:
    rows = []
    for _, r in diff.iterrows():
        rows.append(
            f"<tr><td>{_e(r['channel'])}</td><td>{_e(r['metric'])}</td>"
            f'<td class="num">{_e(fmt(r["metric"], r["mean_base"]))}</td>'
            f'<td class="num">{_e(fmt(r["metric"], r["mean_other"]))}</td>'
            + _ci_cell(r["metric"], r, diff=True) + f'<td class="num">{int(r["n"])}</td></tr>')
    return (f"<details><summary>All {len(diff)} paired differences</summary><table><thead><tr>"
            f"<th>what</th><th>metric</th><th>{_e(labels[0])}</th><th>{_e(labels[1])}</th>"
            "<th>difference (95% CI)</th><th>pairs</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></details>")


@dataclass
class _Figure:
    name: str
    caption: str
    png: bytes


def _figures(runs: list[_Run], diff: pd.DataFrame | None,
             labels: tuple[str, str]) -> dict[str, list[_Figure]]:
    """Figures by report section, rendered to PNG (each figure is closed as soon as drawn)."""
    views = [r.view for r in runs]
    first = runs[0].results
    answer = first.answer_targets()
    channels = [c for c in CHANNELS if any(c in v.channels for v in views)]
    patient = [c for c in channels if any(
        ((r.results.config.get("channels") or {}).get(c, {}).get("patience") or {})
        .get("dist", "never") != "never" for r in runs)]
    specs = {
        "intervals": [
            ("service-level", "Share of offered contacts answered within the channel's answer "
             "target, per 15-minute interval (by the interval the contact reached the queue).",
             lambda: plots.interval_figure(views, "service_level",
                                           "Service level by 15-minute interval", channels,
                                           SERVICE_LEVEL_TARGETS, answer, "in target")),
            ("abandonment", "Share of offered contacts abandoned in the queue, per 15-minute "
             "interval; IVR hang-ups are not in it.",
             lambda: plots.interval_figure(views, "abandon_rate",
                                           "Abandonment by 15-minute interval", patient, {},
                                           {}, "abandoned")),
        ],
        "pools": [
            ("pools", "Left: time-average number of contacts waiting, per channel the pool "
             "serves. Right: occupancy (busy ÷ on-duty handler time) and handlers on duty.",
             lambda: plots.pools_figure(views)),
        ],
        "differences": [
            ("differences", "Paired differences of every share KPI (service level, abandonment,"
             " occupancy, TDIU share, response within target), in percentage points.",
             lambda: plots.differences_figure(diff, labels) if diff is not None else None),
        ],
        "downstream": [
            ("downstream", "TDIU share of crime reports (hourly), reports waiting for the TDIU,"
             " deployments created per hour by grade, and deployments waiting for a response "
             "unit (time-averages per 15-minute interval).",
             lambda: plots.downstream_figure(views, GRADES)),
            ("response", "Deployments after warm-up by grade, and the share reached (dispatch "
             "wait + travel) within the grade's target; dashed: the Met's aim for grade I.",
             lambda: plots.response_figure(views, GRADES, RESPONSE_SHARE_TARGETS,
                                           first.response_targets())),
        ],
    }
    out: dict[str, list[_Figure]] = {}
    for section, items in specs.items():
        out[section] = []
        for name, caption, build in items:
            figure = build()
            if figure is None:
                continue
            out[section].append(_Figure(name, caption, plots.png_bytes(figure)))
            figure.clear()
    return out


def _img(figure: _Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    return (f'<figure id="fig-{figure.name}"><img alt="{_e(figure.name)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(figure.caption)}'
            "</figcaption></figure>")


def render(base: Results, other: Results | None = None) -> tuple[str, list[_Figure]]:
    """The HTML page and its figures."""
    labels = _labels(base, other)
    runs = [_run(base, labels[0], plots.RUN_COLORS[0])]
    diff = None
    if other is not None:
        runs.append(_run(other, labels[1], plots.RUN_COLORS[1]))
        diff = paired_differences(base.summary, other.summary)
        diff["kind"] = diff["metric"].map(kind)
        diff["label"] = diff["channel"] + " · " + diff["metric"]
    figures = _figures(runs, diff, labels)

    title = f"contactsim report: {labels[0]}" + (f" vs {labels[1]}" if other else "")
    swatches = "".join(f'<span class="swatch" style="background:{r.view.color}"></span>'
                       f"{_e(r.view.label)}" for r in runs)
    desc = " · ".join(_e(r.results.config.get("description", "")) for r in runs
                      if r.results.config.get("description"))
    reps = ", ".join(f"{r.view.label}: {r.results.summary['replication'].nunique()}"
                     for r in runs)
    warm = _seconds(float(base.config.get("warmup", 0)))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="lede">{swatches}<br>{desc}<br>Replications: {_e(reps)}. KPIs cover the '
        f"horizon after a warm-up of {_e(warm)}; 95% confidence intervals across "
        f"replications. Generated {_e(now)} by contactsim {_e(__version__)}.</p>",
        "<h2>Headline KPIs per channel</h2>", _legend(other is not None),
        _headline_table(runs, diff),
    ]
    parts += ["<h2>Service level and abandonment by interval</h2>"]
    parts += [_img(f) for f in figures["intervals"]] or ["<p>No interval data.</p>"]
    parts += ["<h2>Queues and handler occupancy by pool</h2>"]
    parts += [_img(f) for f in figures["pools"]] or ["<p>No pool data.</p>"]
    if other is not None and diff is not None:
        parts += ["<h2>Paired differences</h2>", _pairing_note(base, other, diff)]
        parts += [_img(f) for f in figures["differences"]]
        parts.append(_diff_table(diff, labels))
    parts += ["<h2>Downstream: crime, TDIU and response</h2>"]
    parts += [_img(f) for f in figures["downstream"]] or ["<p>No downstream stages.</p>"]
    parts += ["<h3>Pools and downstream KPIs over the horizon</h3>", _other_table(runs, diff)]
    parts += ["<h2>Runs: manifest and resolved config</h2>", _manifest_table(runs)]
    if other is not None:
        parts += ["<h3>Config differences</h3>", _config_differences(base, other)]
    parts += ["<h3>Resolved config</h3>", _configs(runs)]

    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
        + "\n".join(parts) + "</main></body></html>\n"
    )
    return page, [f for items in figures.values() for f in items]


def write_report(results_dir: Path | str, out_html: Path | str,
                 compare_dir: Path | str | None = None) -> list[Path]:
    """Write the HTML report of ``results_dir`` (compared with ``compare_dir`` if given) to
    ``out_html`` and its figures as ``<stem>-<figure>.png`` beside it.

    Returns the paths written, the HTML first.  Raises :class:`ReportError` before writing
    anything if a results directory cannot be read.
    """
    base = load_results(results_dir)
    other = load_results(compare_dir) if compare_dir is not None else None
    out_html = Path(out_html)
    page, figures = render(base, other)
    mode = _file_mode()
    written = []
    for figure in figures:
        path = out_html.parent / f"{out_html.stem}-{figure.name}.png"
        write_atomic(path, lambda p, data=figure.png: (p.write_bytes(data), p.chmod(mode)))
        written.append(path)
    write_atomic(out_html, lambda p: (p.write_text(page, encoding="utf-8"), p.chmod(mode)))
    return [out_html, *written]


def _file_mode() -> int:
    """Mode of a new file under the process umask (a report is for sharing, and the atomic
    writer's temporary files are private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
