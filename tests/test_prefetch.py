"""The loop's software prefetch compiles to a prefetch instruction and changes nothing else."""

from __future__ import annotations

import platform

import numpy as np
import pytest
from numba import njit

from contactsim.engine.prefetch import prefetch


@njit
def _sum_prefetching(values, ahead):
    total = 0.0
    for j in range(values.shape[1]):
        for i in range(values.shape[0]):
            prefetch(values, i, j + ahead)  # past the end too: a prefetch never faults
            total += values[i, j]
    return total


def test_prefetching_leaves_the_values_and_the_result_alone():
    values = np.random.default_rng(3).random((3, 1000))
    before = values.copy()
    assert _sum_prefetching(values, 48) == _sum_prefetching(values, 0)
    assert _sum_prefetching(values, 48) == pytest.approx(values.sum(), rel=1e-12)
    np.testing.assert_array_equal(values, before)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 mnemonics")
def test_it_compiles_to_a_prefetch_instruction():
    _sum_prefetching(np.zeros((2, 4)), 1)
    assembly = "\n".join(_sum_prefetching.inspect_asm().values())
    assert "prefetcht0" in assembly
