"""The reproduction: the committed July fit still holds, and September is never read by it.

* Regression: ``configs/met-2018-07-fitted.yaml`` is rerun with 3 of the 5 replications its fit
  used; each HMICFRS KPI must stay within the half-width of the 95% CI recorded with the fit
  (the 3-replication mean differs from the 5-replication mean by ~0.4 sd of one replication,
  the CI half-width is ~1.2 sd: a model change that moves a KPI by more is a regression), and
  within ±2 points of the observed July figure.
* Hold-out: the whole pipeline is run at toy size with the September observed file
  booby-trapped: reading it before the calibration has returned raises, and the calibration
  must be handed the July observations only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIGS

from contactsim import calibrate as cal
from contactsim import reproduce as rp
from contactsim.config import load

FITTED = CONFIGS / "met-2018-07-fitted.yaml"
HEADLINE = {("999", "service_level"), ("101", "service_level"), ("101", "abandon_rate")}


def _record() -> dict:
    return yaml.safe_load(FITTED.read_text(encoding="utf-8"))["x-fit"]


def test_fitted_july_config_still_reproduces_its_kpis():
    record = _record()
    scenario = load(FITTED).scenario
    assert scenario.seed == record["seed"]
    kpis = {k: v for k, v in record["kpis"].items() if (v["channel"], v["metric"]) in HEADLINE}
    assert len(kpis) == 3
    targets = [cal.Target(k, v["channel"], v["metric"], v["observed"], 0.01)
               for k, v in kpis.items()]
    rerun = cal.simulate_kpis(scenario, targets, 3).mean(axis=0)
    for target, value in zip(targets, rerun):
        entry = kpis[target.key]
        tolerance = (entry["ci_high"] - entry["ci_low"]) / 2
        assert abs(value - entry["fitted"]) <= tolerance, (target.key, value, entry)
        assert abs(value - entry["observed"]) <= 0.02, (target.key, value, entry)


def test_fitted_values_are_the_ones_september_extends():
    september = load(CONFIGS / "met-2018-09.yaml").scenario
    for path, entry in _record()["parameters"].items():
        assert cal.value_at(september, path) == pytest.approx(entry["value"], rel=1e-5), path
    assert september.ivr.enabled
    kept_away = september.ivr.divert_online + september.ivr.divert_other + september.ivr.hang_up
    assert rp.DIVERSION_BAND[0] <= kept_away <= rp.DIVERSION_BAND[1]


def test_september_is_never_read_by_the_calibration(tmp_path, monkeypatch):
    september_file = (CONFIGS / "observed" / "met-2018-09.yaml").resolve()
    events: list[str] = []
    real_read, real_calibrate = rp.read_observed, rp.calibrate

    def read_observed(path):
        if Path(path).resolve() == september_file:
            if "calibration done" not in events or "calibration started" not in events:
                raise AssertionError("the September observations were read before the "
                                     "calibration had finished")
            events.append("september read")
        else:
            events.append(f"read {Path(path).name}")
        return real_read(path)

    def calibrate(config, observed, params, **kwargs):
        assert Path(observed.path).resolve() != september_file
        assert {t.value for t in observed.targets if t.metric == "service_level"} == {0.56, 0.07}
        events.append("calibration started")
        result = real_calibrate(config, observed, params, **kwargs)
        events.append("calibration done")
        return result

    touched: list[Path] = []
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):
        if "calibration started" in events and "calibration done" not in events:
            touched.append(self.resolve())
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(rp, "read_observed", read_observed)
    monkeypatch.setattr(rp, "calibrate", calibrate)
    monkeypatch.setattr(Path, "read_text", read_text)
    settings = rp.Settings(
        report=tmp_path / "reproduction.md", fitted=tmp_path / "fitted.yaml",
        fit_replications=2, replications=2, budget=6, sensitivity=False, mechanism=False,
        overrides=["horizon_days=1.5", "warmup=0.5d"], command="test")
    result = rp.run(settings)
    assert events.index("calibration done") < events.index("september read")
    assert september_file not in touched
    assert all("met-2018-09" not in p.name for p in touched), touched
    assert (tmp_path / "reproduction.md").is_file()
    # the September prediction used the fitted values, not the committed ones
    scenario = rp.september_scenario(settings, result.fit)
    for path, value in result.fit.fitted().items():
        assert cal.value_at(scenario, path) == pytest.approx(value)
    assert np.all(np.isfinite(result.september["central"].mean))


def test_report_shows_the_strictly_blind_prediction_against_september():
    """The structure fixed before September was seen gets its own errors and verdict."""
    from types import SimpleNamespace

    from contactsim.reproduction_text import blind_prediction
    from contactsim.sensitivity import BLIND_STRUCTURE, Effect, Variant

    targets = [cal.Target(f"k{i}", ch, m, obs, 0.01) for i, (ch, m, obs) in enumerate(
        [("999", "service_level", 0.78), ("101", "service_level", 0.61),
         ("101", "abandon_rate", 0.23)])]
    observed = SimpleNamespace(targets=targets)

    def report(predicted, warnings=()):
        effect = Effect(Variant("blending", BLIND_STRUCTURE), np.array([0.014, -0.002, 0.0]),
                        {}, np.array(predicted), np.zeros(3), np.zeros(3), list(warnings))
        rep = SimpleNamespace(sensitivity=[effect], observed_september=observed,
                              september={"central": SimpleNamespace(targets=targets)})
        return " ".join(blind_prediction(rep))

    text = report([0.883, 0.835, 0.074], ["a parameter is at its bound"])
    assert "errors +10.3, +22.5, -15.6 points, outside ±5 points on 3 of 3 KPIs" in text
    assert "July KPIs within 1.4 points" in text and "did not get there" in text
    assert "ended with a warning" in text
    text = report([0.80, 0.60, 0.26])
    assert "within ±5 points on every KPI" in text and "did not get there" not in text
    assert "warning" not in text
