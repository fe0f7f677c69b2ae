"""Staffing: target parsing, the analytic method, the ISA's building blocks, the written roster,
the CLI's errors, and the roster proposed for the Met in July 2018 meeting its targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CONFIGS
from rich.console import Console
from typer.testing import CliRunner

from contactsim import analytic, staffing
from contactsim.arrivals import interval_rates
from contactsim.cli import app
from contactsim.config import load
from contactsim.distributions import Deterministic, Exponential, Lognormal
from contactsim.metrics import interval_table
from contactsim.staffing import Target, TargetError, parse_target, resolve_targets

MET = CONFIGS / "met-2018-07.yaml"
ERLANG_A = CONFIGS / "examples/erlang-a.yaml"
MET_TARGETS = ["999=0.90@10s", "101=0.90@30s"]
HOURLY = ["interval=1h"]  # an hourly roster keeps the default run short; full size is slow


# --- targets -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("999=0.90@10s", Target("999", 0.90, 10.0)),
    ("101=90%@30s", Target("101", 0.90, 30.0)),
    (" 101 = 0.8 @ 2min ", Target("101", 0.80, 120.0)),
    ("online=0.95@1h", Target("online", 0.95, 3600.0)),
    ("999=0.9@15", Target("999", 0.90, 15.0)),
    ("999=0.9", Target("999", 0.90, None)),
])
def test_parse_target(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text, message", [
    ("999", "expected CHANNEL=LEVEL@TIME"),
    ("999=0.9@10parsecs", "expected CHANNEL=LEVEL@TIME"),
    ("999=abc@10s", "expected CHANNEL=LEVEL@TIME"),
    ("112=0.9@10s", "unknown channel '112'"),
    ("999=1.2@10s", "strictly between 0 and 1"),
    ("999=100%@10s", "strictly between 0 and 1"),
    ("999=0@10s", "strictly between 0 and 1"),
])
def test_parse_target_refuses(text, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text)


def test_resolve_targets_fills_threshold_and_checks_channels():
    scenario = load(MET).scenario
    targets = resolve_targets(scenario, ["999=0.9", "101=0.8@20s"])
    assert targets["999"] == Target("999", 0.9, 10.0)  # the channel's answer_target
    assert targets["101"] == Target("101", 0.8, 20.0)
    with pytest.raises(TargetError, match="at least one"):
        resolve_targets(scenario, [])
    with pytest.raises(TargetError, match="two targets"):
        resolve_targets(scenario, ["999=0.9", "999=0.8"])
    with pytest.raises(TargetError, match="no demand on channel 999"):
        resolve_targets(load(ERLANG_A).scenario, ["999=0.9@10s"])


# --- the analytic method ---------------------------------------------------------------------


def test_analytic_staffing_is_erlang_a_per_interval_single_channel():
    scenario = load(ERLANG_A).scenario
    setup = staffing.prepare(scenario, resolve_targets(scenario, ["101=0.8@20s"]))
    roster = staffing.staffing_from_loads(setup, staffing.analytic_loads(setup))["handlers"]
    expected = analytic.min_servers_erlang_a(100 / 1800, 180.0, 300.0, 20.0, 0.8)
    assert roster.shape == (7 * 96,)
    assert (roster == expected).all()


def test_analytic_staffing_is_pooled_erlang_a_per_interval_met():
    """The Met's call-handling pools form one group serving 999 and 101: per interval, the
    group's handlers are the Erlang A minimum for the pooled load with each channel's patience
    and target, split between the pools in the config's proportions."""
    scenario = load(MET).scenario
    setup = staffing.prepare(scenario, resolve_targets(scenario, MET_TARGETS))
    (group,) = setup.groups
    assert set(group.channels) == {"999", "101"}
    assert set(group.pools) == {p for p, pool in scenario.pools.items()
                                if {"999", "101"} & set(pool.serves)}
    roster = staffing.staffing_from_loads(setup, staffing.analytic_loads(setup))
    total = sum(roster[p] for p in group.pools)
    per_day = scenario.intervals_per_day
    rates = {c: interval_rates(scenario.channels[c], scenario.start_date, scenario.horizon,
                               scenario.interval) / scenario.interval for c in ("999", "101")}
    aht = {c: scenario.handling[c].sampler().mean for c in ("999", "101")}
    patience = {c: scenario.channels[c].patience.sampler().mean for c in ("999", "101")}
    within = {"999": 10.0, "101": 30.0}
    start = scenario.start_date.weekday() * per_day
    for k in range(int(scenario.warmup // scenario.interval), 8 * per_day, 37):
        week = (start + k) % (7 * per_day)
        rate = rates["999"][k] + rates["101"][k]
        mean = (rates["999"][k] * aht["999"] + rates["101"][k] * aht["101"]) / rate
        need = max(analytic.min_servers_erlang_a(rate, mean, patience[c], within[c], 0.9)
                   for c in ("999", "101"))
        assert total[week] == need, (k, week)
    config = sum(setup.config[p] for p in group.pools)
    for pool in group.pools:  # the config's mix of dedicated and blended handlers is kept
        share = np.divide(setup.config[pool], config, out=np.zeros(config.size), where=config > 0)
        assert np.all(np.abs(roster[pool] - share * total) < 1 + 1e-9)


def test_split_keeps_totals_and_proportions():
    scenario = load(MET).scenario
    setup = staffing.prepare(scenario, resolve_targets(scenario, MET_TARGETS))
    (group,) = setup.groups
    totals = np.arange(setup.week) % 150
    parts = staffing.split(setup, group, totals)
    np.testing.assert_array_equal(sum(parts.values()), totals)
    assert all((v >= 0).all() for v in parts.values())


def test_halfin_whitt_beta_meets_its_own_approximation():
    load_, aht = 100.0, 300.0
    beta = staffing.halfin_whitt_beta(0.9, 20.0, load_, aht)
    p_wait = 1.0 / (1.0 + beta * math.sqrt(2 * math.pi) * math.exp(beta**2 / 2)
                    * 0.5 * math.erfc(-beta / math.sqrt(2)))
    assert 1 - p_wait * math.exp(-beta * math.sqrt(load_) * 20.0 / aht) == pytest.approx(0.9)
    # square-root staffing lands within a couple of handlers of exact Erlang C
    exact = analytic.min_servers_erlang_c(load_ / aht, aht, 20.0, 0.9)
    assert abs(analytic.square_root_staffing(load_ / aht, aht, beta) - exact) <= 2


# --- the ISA's building blocks ---------------------------------------------------------------


def exponential_kernel(mean: float, width: float, lags: int) -> np.ndarray:
    x = np.arange(-1, lags + 2) * width
    h = np.where(x > 0, mean * x - mean**2 * (1 - np.exp(-np.maximum(x, 0) / mean)), 0.0)
    return (h[2:] - 2 * h[1:-1] + h[:-2]) / width


@pytest.mark.parametrize("sampler", [Exponential(180.0), Lognormal(540.0, 0.9),
                                     Deterministic(300.0)])
def test_load_kernel_sums_to_the_mean(sampler):
    kernel = staffing.load_kernel(sampler, 900.0)
    assert kernel.sum() == pytest.approx(sampler.mean, rel=1e-12)
    assert (kernel >= -1e-9).all()


def test_load_kernel_matches_closed_forms():
    assert staffing.load_kernel(Deterministic(300.0), 900.0)[:3] == pytest.approx([250, 50, 0])
    kernel = staffing.load_kernel(Exponential(600.0), 900.0)
    exact = exponential_kernel(600.0, 900.0, kernel.size - 1)
    np.testing.assert_allclose(kernel[:4], exact[:4], rtol=0.01, atol=0.5)  # Monte Carlo


def test_first_attempt_load_reaches_the_stationary_load():
    scenario = load(ERLANG_A).scenario
    setup = staffing.prepare(scenario, resolve_targets(scenario, ["101=0.8@20s"]))
    offered = staffing.first_attempt_load(setup, "101")
    assert offered[0] < 10.0  # the system starts empty
    np.testing.assert_allclose(offered[10:], 10.0, rtol=1e-9)


def test_occupancy_matches_brute_force():
    rng = np.random.default_rng(5)
    start = rng.uniform(0, 1000, 300)
    end = start + rng.exponential(50, 300)
    grid = np.linspace(0, 1000, 100_001)[:-1] + 0.005
    open_ = ((start[:, None] <= grid) & (grid < end[:, None])).sum(axis=0)
    brute = open_.reshape(10, -1).mean(axis=1)
    np.testing.assert_allclose(staffing.occupancy(start, end, 100.0, 10), brute, atol=0.02)


def test_interval_counts_agree_with_metrics_interval_table():
    scenario = load(ERLANG_A, ["horizon_days=2", "warmup=6h"]).scenario
    setup = staffing.prepare(scenario, resolve_targets(scenario, ["101=0.8@20s"]))
    rep = staffing.run(setup, {"handlers": np.full(setup.week, 11)}, range(1))[0]
    offered, hit = staffing.interval_counts(setup, rep)["101"]
    table = interval_table(rep)
    rows = table[(table["channel"] == "101") & (table["interval"] < 192)]
    by_metric = rows.pivot(index="interval", columns="metric", values="value")
    index = by_metric.index.to_numpy()
    np.testing.assert_array_equal(offered[index], by_metric["offered"].to_numpy())
    level = np.divide(hit[index], offered[index])
    np.testing.assert_allclose(level, by_metric["service_level"].to_numpy())


# --- the whole job on the Met, July 2018 ------------------------------------------------------


@pytest.fixture(scope="module")
def met_staffing():
    scenario = load(MET, HOURLY).scenario
    return staffing.staff(scenario, resolve_targets(scenario, MET_TARGETS), replications=5)


def assert_meets_targets(result):
    met = result.verification.met(result.setup)
    assert result.repaired
    for channel, ok in met.items():
        levels = result.verification.levels[channel]
        assert ok.all(), f"{channel}: intervals below target:\n{levels[~ok]}"
    summary = result.verification.summary.set_index(["channel", "metric"])
    for channel, target in result.setup.targets.items():
        assert summary.loc[(channel, "service_level"), "ci_high"] >= target.level


def test_met_roster_meets_targets_in_every_interval(met_staffing):
    assert_meets_targets(met_staffing)


@pytest.mark.slow
def test_met_full_size_roster_meets_targets_also_on_independent_replications():
    """15-minute intervals, 10 replications; then a second, independent verification."""
    scenario = load(MET).scenario
    result = staffing.staff(scenario, resolve_targets(scenario, MET_TARGETS), replications=10)
    assert_meets_targets(result)
    again = staffing.verify(result.setup, result.proposed, 10, first=2 * staffing.FRESH)
    missed = sum(int((~ok).sum()) for ok in again.met(result.setup).values())
    assert missed <= 0.01 * 2 * result.setup.week
    summary = again.summary.set_index(["channel", "metric"])
    for channel, target in result.setup.targets.items():
        assert summary.loc[(channel, "service_level"), "mean"] >= target.level - 0.01


def test_met_staffing_reports_handler_hours_vs_the_july_roster(met_staffing):
    hours = met_staffing.hours()
    july = load(MET, HOURLY).scenario
    staffed = met_staffing.setup.staffed
    assert hours["config"]["total"] == pytest.approx(sum(
        staffing.weekly_counts(july.pools[p].roster, 3600.0, july.pools[p].scale).sum()
        for p in staffed))
    for method in ("analytic", "square_root", "isa", "proposed"):
        assert 0 < hours[method]["total"] < 3 * hours["config"]["total"]
    assert hours["proposed"]["total"] >= hours["isa"]["total"]
    console = Console(width=200, record=True)
    for view in staffing.views(met_staffing):
        console.print(view)
    text = console.export_text()
    assert "handler-hours" in text and "config roster" in text and "proposed" in text
    assert f"{hours['proposed']['total']:,.0f}" in text
    assert f"{hours['config']['total']:,.0f}" in text


def test_written_roster_is_a_config_that_loads(met_staffing, tmp_path):
    out = tmp_path / "nested" / "staffed.yaml"
    staffing.write_roster(met_staffing, MET, out, [*HOURLY, "replications=3"])
    loaded = load(out).scenario
    assert loaded.name == "met-2018-07-staffed"
    assert loaded.replications == 3 and loaded.interval == 3600.0
    for name, proposed in met_staffing.proposed.items():
        pool = loaded.pools[name]
        assert pool.scale == 1.0
        assert len(pool.roster.weekly) == 7 and {len(r) for r in pool.roster.weekly} == {24}
        counts = staffing.weekly_counts(pool.roster, loaded.interval, pool.scale)
        np.testing.assert_array_equal(counts, proposed)
    assert loaded.pools["digital"] == load(MET, HOURLY).scenario.pools["digital"]
    assert "extends:" in out.read_text() and out.read_text().startswith("# Written by")


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--target", "999=1.5@10s"], "strictly between 0 and 1"),
    (["--target", "999:0.9"], "expected CHANNEL=LEVEL@TIME"),
    (["--target", "10l=0.9@10s"], "unknown channel"),
    ([], "at least one --target"),
])
def test_cli_refuses_bad_targets_with_exit_2(args, message, tmp_path):
    result = CliRunner().invoke(app, ["staff", str(MET), *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o").exists()
