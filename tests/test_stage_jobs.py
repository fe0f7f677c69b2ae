"""Downstream jobs are the completed contacts with the stage's outcomes, in (end time, caller)
order, whatever the order of the records — checked against numpy's lexsort."""

from __future__ import annotations

import numpy as np
import pytest

from contactsim.stages import _jobs
from contactsim.system import Records


def _records(end: np.ndarray, caller: np.ndarray) -> Records:
    records = Records.empty(end.size)
    records.end[:], records.caller[:] = end, caller
    return records


def _expected(records: Records, outcome: np.ndarray, codes) -> np.ndarray:
    rows = np.flatnonzero(np.isin(outcome, codes))
    return rows[np.lexsort((records.caller[rows], records.end[rows]))]


@pytest.mark.parametrize("ties", [False, True, "nan"])
def test_jobs_by_end_then_caller(ties):
    rng = np.random.default_rng(3)
    n = 20_000
    # records in arrival order are not in caller order: redials come long after the first try
    caller = rng.permutation(n).astype(np.int32)
    end = rng.integers(0, 500, n).astype(float) if ties is True else rng.random(n) * 1e5
    if ties == "nan":  # NaNs compare unequal, yet go last in the caller's order as ties do
        end[rng.random(n) < 0.05] = np.nan
    outcome = rng.integers(-1, 7, n).astype(np.int8)  # -1: not completed
    records = _records(end, caller)
    for codes in ([1], [2, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6]):
        rows = _jobs(records, outcome, codes)
        np.testing.assert_array_equal(rows, _expected(records, outcome, codes))
    if ties is True:  # ties the caller breaks, or this case would not test the tie-break
        rows = np.flatnonzero(outcome == 1)
        by_end_alone = rows[np.argsort(end[rows], kind="stable")]
        assert not np.array_equal(by_end_alone, _jobs(records, outcome, [1]))


def test_no_jobs():
    records = _records(np.array([1.0, 2.0]), np.array([0, 1], np.int32))
    assert _jobs(records, np.array([-1, 0], np.int8), [1]).size == 0
    assert _jobs(_records(np.zeros(0), np.zeros(0, np.int32)), np.zeros(0, np.int8), [1]).size == 0
