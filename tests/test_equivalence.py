"""The fast engine and the SimPy reference give identical records on the same sampled inputs.

Identical means every column of every contact — arrival, IVR path, queue entry, answer, end,
status, pool and handler — equal to the last bit, for call handling and both downstream stages.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONFIGS
from hypothesis import HealthCheck, given, settings
from strategies import small_systems

from contactsim import engine, reference
from contactsim.config import load
from contactsim.stages import simulate

SHORT = ["horizon_days=1.5", "warmup=6h"]
SCENARIOS = {
    "erlang-a": ("examples/erlang-a.yaml", SHORT),
    "erlang-c": ("examples/erlang-c.yaml", SHORT),
    "two-class priority": ("examples/two-class.yaml", SHORT),
    "skills and shifts": ("examples/skills.yaml", []),
    "met july": ("met-2018-07.yaml", SHORT),
    "met september ivr": ("met-2018-09.yaml", SHORT),
    "backlog": ("met-2018-07.yaml", SHORT + ["backlog.queued.101=300", "backlog.queued.999=20",
                                             "backlog.tdiu_reports=400"]),
    "overload, heavy redial": ("met-2018-07.yaml", SHORT + [
        "pools.call_handlers.scale=0.5", "channels.101.redial.probability=0.9",
        "channels.101.redial.max_attempts=5", "channels.101.redial.switch.999=0.3"]),
    "ivr diverts everyone": ("met-2018-09.yaml", SHORT + [
        "ivr.routed=0", "ivr.divert_online=0.5", "ivr.divert_other=0.3", "ivr.hang_up=0.2"]),
    "deterministic ties": ("examples/two-class.yaml", SHORT + [
        "handling.999={dist: deterministic, value: 300}",
        "handling.101={dist: empirical, values: [120, 240, 480]}",
        "channels.999.patience={dist: deterministic, value: 60}"]),
    "zero handlers": ("examples/skills.yaml", [
        "pools.emergency.scale=0", "pools.non_emergency.scale=0", "pools.blended.scale=0"]),
    "tiny response fleet": ("met-2018-07.yaml", SHORT + [
        "response.roster={constant: 5}", "tdiu.roster={constant: 2}"]),
}


def assert_same(a, b):
    assert len(a) == len(b)
    a, b = a.sorted(), b.sorted()
    for name, column in a.as_dict().items():
        np.testing.assert_array_equal(column, b.as_dict()[name], err_msg=name)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_engines_identical_on_scenario(name):
    path, overrides = SCENARIOS[name]
    scenario = load(CONFIGS / path, overrides).scenario
    fast, slow = simulate(scenario, 0, "fast"), simulate(scenario, 0, "simpy")
    assert len(fast.calls) > 0 or name == "zero handlers"
    assert_same(fast.calls, slow.calls)
    for stage in ("tdiu", "response"):
        a, b = getattr(fast, stage), getattr(slow, stage)
        assert (a is None) == (b is None)
        if a is not None:
            assert_same(a.records, b.records)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_systems(max_callers=40))
def test_engines_identical_on_random_small_systems(system):
    assert_same(engine.run(system), reference.run(system))
