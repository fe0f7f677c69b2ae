"""The fitter: KPIs as metrics.py defines them, recovery of a known answer, refusal, warnings.

The known-answer case is the Erlang A example (M/M/13+M), shortened: the "observed" KPIs are
simulated at scale 1.0 on a *different* seed with many replications, then ``pools.handlers.scale``
is fitted on the config's own seed; the fit must recover 1.0 within its stated uncertainty (or
within one handler, the roster's resolution: 13 x scale is rounded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIGS
from typer.testing import CliRunner

from contactsim import calibrate as cal
from contactsim.cli import app
from contactsim.config import load
from contactsim.metrics import channel_metrics
from contactsim.stages import simulate

ERLANG_A = CONFIGS / "examples" / "erlang-a.yaml"
SHORT = ["horizon_days=3", "warmup=0.5d"]
KPIS = [("101", "service_level"), ("101", "abandon_rate")]


def _targets(values, sd=0.003):
    return tuple(cal.Target(f"{c}-{m}", c, m, v, sd) for (c, m), v in zip(KPIS, values))


def _observed(values, sd=0.003) -> cal.Observed:
    return cal.Observed(Path("synthetic.yaml"), "synthetic", "test", _targets(values, sd))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_kpis_are_the_metrics_module_definitions():
    scenario = load(CONFIGS / "met-2018-07.yaml", ["horizon_days=1.5", "warmup=0.5d"]).scenario
    targets = [cal.Target("a", "999", "service_level", 0, 1),
               cal.Target("b", "101", "service_level", 0, 1),
               cal.Target("c", "101", "abandon_rate", 0, 1),
               cal.Target("d", "101", "offered_per_day", 0, 1),
               cal.Target("e", "999", "asa_s", 0, 1)]
    ours = cal.kpi_values(scenario, targets, 0)
    theirs = channel_metrics(scenario, simulate(scenario, 0).calls)
    days = (scenario.horizon - scenario.warmup) / 86400
    expected = [theirs[("999", "service_level")], theirs[("101", "service_level")],
                theirs[("101", "abandon_rate")], theirs[("101", "offered")] / days,
                theirs[("999", "asa_s")]]
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


@pytest.fixture(scope="module")
def truth():
    """KPIs at scale 1.0 on another seed (the 'real world'), 12 replications."""
    scenario = load(ERLANG_A, SHORT + ["seed=999"]).scenario
    per_rep = cal.simulate_kpis(scenario, _targets([0, 0]), 12)
    return per_rep.mean(axis=0), per_rep.std(axis=0, ddof=1) / np.sqrt(12)


def test_recovers_a_known_scale(truth):
    values, sim_sd = truth
    scenario = load(ERLANG_A, SHORT).scenario
    param = cal.parse_fit("pools.handlers.scale=0.6:1.4", scenario)
    param = cal.Parameter(param.path, param.low, param.high, start=0.75)  # start away from it
    observed = _observed(values, sd=float(np.max(sim_sd)))
    result = cal.calibrate(ERLANG_A, observed, [param], replications=4, overrides=SHORT)
    fitted, sd = result.values[0], result.sd[0]
    assert np.isfinite(sd) and sd > 0
    assert abs(fitted - 1.0) <= max(3 * sd, 1 / 13), (fitted, sd)
    assert round(13 * fitted) == 13  # the roster it implies is the true one
    assert np.all(np.abs(result.residuals) < 0.03)
    assert not result.warnings


def test_recovers_a_known_patience_mean(truth):
    values, sim_sd = truth
    scenario = load(ERLANG_A, SHORT).scenario
    param = cal.parse_fit("channels.101.patience.mean=120:600", scenario)  # truth 300 s
    param = cal.Parameter(param.path, param.low, param.high, start=180.0)
    observed = _observed(values, sd=float(np.max(sim_sd)))
    result = cal.calibrate(ERLANG_A, observed, [param], replications=4, overrides=SHORT)
    assert abs(result.values[0] - 300) <= 3 * result.sd[0] + 1, (result.values, result.sd)


def test_refuses_more_parameters_than_kpis():
    scenario = load(ERLANG_A, SHORT).scenario
    params = [cal.parse_fit(p, scenario) for p in (
        "pools.handlers.scale", "handling.101.mean", "channels.101.patience.mean")]
    with pytest.raises(cal.CalibrationError, match="refusing to fit 3 parameters to 2"):
        cal.calibrate(ERLANG_A, _observed([0.5, 0.1]), params, replications=1, overrides=SHORT)


def test_command_line_refuses_with_exit_code_2(tmp_path):
    observed = CONFIGS / "observed" / "met-2018-07.yaml"
    out = tmp_path / "fitted.yaml"
    args = ["calibrate", str(CONFIGS / "met-2018-07.yaml"), "--observed", str(observed),
            "--kpi", "answered_in_target_999", "--fit", "pools.call_handlers.scale",
            "--fit", "pools.call_999.scale=0:0.5", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "refusing to fit 2 parameters to 1 observed KPIs" in result.output
    assert not out.exists()


def test_flat_parameter_is_reported_not_identifiable(truth):
    values, _ = truth
    # a redial delay when nobody redials: the objective is flat in it
    overrides = SHORT + ["channels.101.redial={probability: 0.0, delay: {dist: exponential, "
                         "mean: 60}, max_attempts: 2}"]
    scenario = load(ERLANG_A, overrides).scenario
    params = [cal.parse_fit("pools.handlers.scale=0.6:1.4", scenario),
              cal.parse_fit("channels.101.redial.delay.mean=10:600", scenario)]
    result = cal.calibrate(ERLANG_A, _observed(values, 0.005), params, replications=2,
                           overrides=overrides, budget=12)
    flat = [w for w in result.warnings if "redial.delay.mean is not identifiable" in w]
    assert flat and "flat" in flat[0]
    assert not np.isfinite(result.sd[1])


def test_parse_fit_checks_the_path_and_bounds():
    scenario = load(ERLANG_A, SHORT).scenario
    assert cal.parse_fit("pools.handlers.scale", scenario).low == 0.5  # default: x/2..2x
    assert cal.parse_fit("channels.101.patience.mean", scenario).high == 600.0
    with pytest.raises(cal.CalibrationError, match="no field"):
        cal.parse_fit("pools.nosuch.scale", scenario)
    with pytest.raises(cal.CalibrationError, match="not a number"):
        cal.parse_fit("pools.handlers.serves", scenario)
    with pytest.raises(cal.CalibrationError, match="LOW < HIGH"):
        cal.parse_fit("pools.handlers.scale=2:1", scenario)


def test_fitted_config_extends_the_input_and_records_the_fit(tmp_path, truth):
    values, sim_sd = truth
    scenario = load(ERLANG_A, SHORT).scenario
    param = cal.parse_fit("pools.handlers.scale=0.6:1.4", scenario)
    result = cal.calibrate(ERLANG_A, _observed(values, float(np.max(sim_sd))), [param],
                           replications=2, overrides=SHORT, budget=8)
    out = cal.write_fitted(result, tmp_path / "sub" / "fitted.yaml", "contactsim calibrate X")
    text = out.read_text()
    assert text.startswith("# Fitted by `contactsim calibrate X`")
    assert "pools.handlers.scale" in text and "residual" in text
    raw = yaml.safe_load(text)
    assert Path(raw["extends"]).name == "erlang-a.yaml"
    loaded = load(out).scenario
    assert loaded.pools["handlers"].scale == pytest.approx(result.values[0], rel=1e-5)
    assert raw["x-fit"]["parameters"]["pools.handlers.scale"]["value"] == pytest.approx(
        result.values[0])
    assert set(raw["x-fit"]["kpis"]) == {"101-service_level", "101-abandon_rate"}


def test_observed_files_map_to_metrics():
    for name in ("met-2018-07.yaml", "met-2018-09.yaml"):
        observed = cal.read_observed(CONFIGS / "observed" / name)
        kpis = {(t.channel, t.metric) for t in observed.targets if t.key != "offered_101_per_day"}
        assert kpis == {("999", "service_level"), ("101", "service_level"),
                        ("101", "abandon_rate")}
        assert all(t.source and t.definition for t in observed.targets)


def test_bad_observed_file_is_refused(tmp_path):
    bad = _write(tmp_path, "bad.yaml", "kpis:\n  x: {channel: '101', metric: speed, value: 1, "
                                       "sd: 1}\n")
    with pytest.raises(cal.CalibrationError, match="metric"):
        cal.read_observed(bad)
