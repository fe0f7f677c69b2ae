"""Extreme but valid scenarios run to the end and give KPIs that make sense."""

from __future__ import annotations

import math

import pytest
from conftest import CONFIGS

from contactsim import api
from contactsim.config import load


def kpis(overrides, config="met-2018-09.yaml", replications=2):
    result = api.run(CONFIGS / config, overrides=overrides, replications=replications)
    table = result.summary_ci.set_index(["channel", "metric"])["mean"]
    return table


SHORT = ["horizon_days=1", "warmup=0"]


def test_zero_handlers_nobody_is_answered():
    pools = load(CONFIGS / "met-2018-09.yaml").scenario.pools
    zero = [f"pools.{name}.scale=0" for name in pools]
    k = kpis(SHORT + zero)
    assert k[("999", "offered")] > 1000
    assert k[("999", "answered")] == 0 and k[("101", "answered")] == 0
    assert k[("999", "service_level")] == 0
    assert k[("101", "abandon_rate")] > 0.9  # all but those still waiting at the horizon
    assert math.isnan(k[("999", "asa_s")])  # no answered call: no mean wait
    assert all(k[(f"pool:{name}", "handlers_mean")] == 0 for name in pools)


def test_zero_arrivals_gives_empty_but_valid_tables():
    none = [f"channels.{c}.daily_volume=0" for c in ("999", "101", "online")]
    k = kpis(SHORT + none)
    assert k[("999", "offered")] == 0 and k[("101", "offered")] == 0
    assert math.isnan(k[("999", "service_level")])  # 0 / 0 is undefined, not 0 or 1
    assert all(v == 0 for (ch, m), v in k.items() if m == "occupancy")


def test_one_minute_horizon():
    k = kpis(["horizon_days=0.000694444", "warmup=0"])
    assert 0 <= k[("999", "offered")] < 50
    assert 0 <= k[("999", "service_level")] <= 1 or math.isnan(k[("999", "service_level")])


def test_tenfold_overload_is_mostly_abandoned():
    k = kpis(SHORT + ["channels.999.daily_volume=59700", "channels.101.daily_volume=81000",
                      "ivr.enabled=false"])
    assert k[("101", "abandon_rate")] > 0.7
    assert k[("pool:call_handlers", "occupancy")] > 0.95
    share = {c: k[(c, "answered")] / k[(c, "offered")] for c in ("999", "101")}
    assert share["999"] > share["101"]  # priority still holds


def test_ivr_diverts_everyone():
    k = kpis(SHORT + ["ivr.routed=0", "ivr.divert_online=0.6", "ivr.divert_other=0.3",
                      "ivr.hang_up=0.1"])
    assert k[("101", "offered")] == 0
    assert k[("101", "ivr_diverted")] == pytest.approx(0.9 * k[("101", "arrivals")], rel=0.05)
    assert k[("online", "arrivals")] > k[("101", "arrivals")] * 0.5


@pytest.mark.slow
def test_ten_million_calls():
    """About ten million calls: a year of the two-class example at ~27,000 calls a day."""
    from contactsim.config import load
    from contactsim.stages import simulate

    scenario = load(CONFIGS / "examples/two-class.yaml",
                    ["horizon_days=365", "warmup=0", "channels.999.daily_volume=13700",
                     "channels.101.daily_volume=13700", "pools.blended.roster={constant: 95}"]
                    ).scenario
    rep = simulate(scenario, 0)
    assert len(rep.calls) >= 10_000_000
    answered = (rep.calls.status == 1).mean()
    assert 0.5 < answered <= 1


def test_more_contacts_than_32_bit_rows_is_refused_clearly(monkeypatch):
    from contactsim import system
    from contactsim.inputs import InputSampler

    scenario = load(CONFIGS / "met-2018-07.yaml", ["horizon_days=1", "warmup=0"]).scenario
    calls = InputSampler(scenario, 0).calls()
    monkeypatch.setattr(system, "MAX_CONTACTS", calls.max_contacts() - 1)
    with pytest.raises(ValueError, match=r"could create [\d,]+ contacts, more than .* shorten"):
        InputSampler(scenario, 0).calls()
