"""The HTML report: numbers it computes, the files it writes, and the page in a real browser.

The browser test opens a report of two real (small) runs in headless Chromium (Debian package
``chromium``) driven by Playwright, and checks that every chart rendered, that the page logged no
error and fetched nothing but itself, and saves a screenshot.  Without Chromium it is skipped,
unless the environment variable ``CI`` is set: in CI it must run.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from contactsim.cli import app
from contactsim.config import load
from contactsim.metrics import interval_table, summary_table
from contactsim.report import ReportError, load_results, paired_differences, write_report
from contactsim.schema import GRADES
from contactsim.stages import simulate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SMALL = ["--set", "horizon_days=2", "--set", "warmup=6h", "--replications", "3"]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
FIGURES = ("service-level", "abandonment", "pools", "differences", "downstream", "response")


def _contactsim(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """July and September, two days, three replications each, same seed."""
    root = tmp_path_factory.mktemp("runs")
    for month in ("07", "09"):
        _contactsim("run", CONFIGS / f"met-2018-{month}.yaml", "--out", root / month, *SMALL)
    return root / "07", root / "09"


@pytest.fixture(scope="module")
def compared(runs, tmp_path_factory) -> Path:
    """``contactsim report JUL --compare SEP -o report.html``."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    output = _contactsim("report", runs[0], "--compare", runs[1], "-o", out)
    assert "wrote" in output
    return out


# --- numbers -------------------------------------------------------------------------------


def test_paired_differences_match_a_hand_computed_t_interval():
    rng = np.random.default_rng(1)
    a_values, b_values = rng.normal(0.6, 0.05, 6), rng.normal(0.7, 0.05, 6)
    b_values[2] = np.nan  # a pair with a missing value is dropped, not imputed

    def table(values):
        return pd.DataFrame({"replication": range(6), "channel": "101",
                             "metric": "service_level", "value": values})

    out = paired_differences(table(a_values), table(b_values)).iloc[0]
    d = np.delete(b_values - a_values, 2)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert out["n"] == 5
    assert out["mean"] == pytest.approx(d.mean())
    assert out["ci_low"] == pytest.approx(d.mean() - half)
    assert out["ci_high"] == pytest.approx(d.mean() + half)
    assert out["mean_base"] == pytest.approx(np.delete(a_values, 2).mean())


def test_paired_differences_pair_replication_r_with_r():
    base = pd.DataFrame({"replication": [0, 1, 2], "channel": "999", "metric": "x",
                         "value": [1.0, 5.0, 9.0]})
    other = base.assign(value=base["value"] + 2.0).iloc[::-1]  # same pairs, other order
    out = paired_differences(base, other).iloc[0]
    assert out["mean"] == 2.0 and out["sd"] == 0.0 and out["n"] == 3


def test_queue_and_downstream_interval_metrics_agree_with_the_records():
    scenario = load(CONFIGS / "met-2018-07.yaml", ["horizon_days=1", "warmup=6h"]).scenario
    rep = simulate(scenario, 0)
    intervals, summary = interval_table(rep), summary_table(rep)
    lo, hi, width = scenario.warmup, scenario.horizon, scenario.interval

    def total(channel, metric):
        rows = intervals[(intervals["channel"] == channel) & (intervals["metric"] == metric)]
        return rows["value"].sum()

    def kpi(channel, metric):
        rows = summary[(summary["channel"] == channel) & (summary["metric"] == metric)]
        return rows["value"].item()

    def waited(start, stop):  # seconds spent waiting inside [warm-up, horizon)
        keep = ~np.isnan(start)
        stop = np.where(np.isnan(stop), hi, stop)[keep]
        return np.clip(np.minimum(stop, hi) - np.maximum(start[keep], lo), 0, None).sum()

    calls = rep.calls
    for c, channel in enumerate(["999", "101", "online"]):
        mine = calls.klass == c
        stop = np.where(np.isnan(calls.answer), calls.end, calls.answer)[mine]
        expected = waited(calls.queue_entry[mine], stop)
        assert total(channel, "queue_length") * width == pytest.approx(expected, rel=1e-9)
    jobs = rep.tdiu.records
    assert total("tdiu", "backlog") * width == pytest.approx(waited(jobs.arrival, jobs.answer))
    assert total("tdiu", "reports") == kpi("tdiu", "reports")
    assert total("crime", "crime_reports") == kpi("crime", "crime_reports")
    for grade in GRADES:
        assert total("response", f"deployments_{grade}") == kpi("response",
                                                                f"deployments_{grade}")
    share = intervals[intervals["metric"] == "tdiu_share_of_crime"]["value"].dropna()
    assert ((share >= 0) & (share <= 1)).all()


# --- files ---------------------------------------------------------------------------------


def test_single_run_report_writes_html_and_the_same_pngs_beside_it(runs, tmp_path):
    written = write_report(runs[0], tmp_path / "jul.html")
    html, pngs = written[0], written[1:]
    assert html == tmp_path / "jul.html" and html.is_file()
    assert [p.name for p in pngs] == [f"jul-{n}.png" for n in FIGURES if n != "differences"]
    page = html.read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(e) for e in embedded] == [p.read_bytes() for p in pngs]
    assert "<h2>Paired differences</h2>" not in page
    for text in ("Headline KPIs per channel", "90% in 10 s", "Resolved config",
                 "20180702", "fast", "wall time"):
        assert text in page


def test_compare_report_marks_targets_and_differences(compared):
    page = compared.read_text()
    assert "<h2>Paired differences</h2>" in page and "common random numbers" in page
    assert 'class="num misses"' in page or 'class="num meets"' in page
    assert "paired difference" in page
    assert "ivr.enabled" in page  # the config differences list the IVR switch
    assert sorted(p.name for p in compared.parent.glob("*.png")) == sorted(
        f"report-{n}.png" for n in FIGURES)


def test_report_of_a_missing_directory_exits_2_without_writing(tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nope"), "-o", str(out)])
    assert result.exit_code == 2
    assert "not a directory" in result.output
    assert not out.exists()
    with pytest.raises(ReportError, match="no manifest.json"):
        load_results(tmp_path)


# --- the page in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of the Chromium binary; skip (or, in CI, fail) if it is not installed."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("CI is set but Chromium is not installed: .ci/run must install the Debian "
                    "packages chromium and chromium-driver")
    pytest.skip("Chromium is not installed (Debian package `chromium`); with CI set this test "
                "fails instead of skipping")


def test_report_renders_in_headless_chromium(chromium, compared, tmp_path):
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed").sync_playwright

    url = compared.resolve().as_uri()
    errors, foreign, failed = [], [], []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url == url or r.url.startswith("data:")
                    else foreign.append(r.url))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(url, wait_until="load")
            charts = page.evaluate("""() => ({
                images: Array.from(document.images).map(i => ({
                    alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                    shown: i.getBoundingClientRect().width})),
                svgs: Array.from(document.querySelectorAll('svg')).map(s => {
                    const b = s.getBBox(); return {w: b.width, h: b.height}; }),
                canvases: Array.from(document.querySelectorAll('canvas')).map(c => ({
                    w: c.width, h: c.height})),
            })""")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()

    assert [i["alt"] for i in charts["images"]] == list(FIGURES)
    for image in charts["images"]:
        assert image["complete"] and image["w"] > 0 and image["h"] > 0, image
        assert image["shown"] > 0, image
    assert all(s["w"] > 0 and s["h"] > 0 for s in charts["svgs"])
    assert all(c["w"] > 0 and c["h"] > 0 for c in charts["canvases"])
    assert errors == []
    assert foreign == [] and failed == []
    assert shot.stat().st_size > 10_000
