"""A replication run for its tables only (``keep_inputs=False``) gives the same results.

The command line runs every replication that way: each per-caller draw is released once the
engine run that reads it is over, so the tables must not depend on the draws being kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIGS

from contactsim.config import load
from contactsim.metrics import interval_table, summary_table
from contactsim.stages import simulate


@pytest.fixture(scope="module", params=["met-2018-07.yaml", "met-2018-09.yaml"])
def both(request):
    scenario = load(CONFIGS / request.param, ["horizon_days=3"]).scenario
    return simulate(scenario, 1), simulate(scenario, 1, keep_inputs=False)


def test_same_records(both):
    kept, lean = both
    pairs = [(kept.calls, lean.calls), (kept.tdiu.records, lean.tdiu.records),
             (kept.response.records, lean.response.records)]
    for a, b in pairs:
        for column, values in a.as_dict().items():
            np.testing.assert_array_equal(b.as_dict()[column], values)
    np.testing.assert_array_equal(lean.outcome, kept.outcome)


def test_same_tables(both):
    kept, lean = both
    pd.testing.assert_frame_equal(summary_table(lean), summary_table(kept))
    pd.testing.assert_frame_equal(interval_table(lean), interval_table(kept))


def test_lean_replication_keeps_the_structure_only(both):
    kept, lean = both
    assert kept.inputs.calls.n_callers > 0 and lean.inputs.calls.n_callers == 0
    assert lean.inputs.tdiu_time.size == 0 and lean.inputs.outcome.shape == (3, 0)
    for stage in ("tdiu", "response"):
        assert getattr(lean, stage).system.n_callers == 0
        np.testing.assert_array_equal(getattr(lean, stage).system.roster,
                                      getattr(kept, stage).system.roster)
    np.testing.assert_array_equal(lean.inputs.calls.roster, kept.inputs.calls.roster)
    np.testing.assert_array_equal(lean.inputs.calls.routing, kept.inputs.calls.routing)
