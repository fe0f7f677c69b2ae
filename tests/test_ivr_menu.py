"""Menu ends at the horizon: an IVR menu ending before it is recorded, one ending at or after
it is not (the contact is still in the menu), whether the fast engine makes the menu's end an
event (routed, or diverted to an online class) or writes the exit when the contact arrives."""

from __future__ import annotations

import numpy as np
import pytest
from builders import make_system

from contactsim import engine, reference
from contactsim.system import IN_SYSTEM

HORIZON = 80.0


def _same(system):
    fast, slow = engine.run(system).sorted(), reference.run(system).sorted()
    for name, column in slow.as_dict().items():
        np.testing.assert_array_equal(getattr(fast, name), column, err_msg=name)
    return fast


@pytest.mark.parametrize("divert_class", [-1, 2])
def test_menu_exits_just_before_at_and_after_the_horizon(divert_class):
    # each path (online, other, hang-up) ending its menu at 79.5, exactly 80 and 85, and at
    # once (79 + 0)
    arrival = [60] * 3 + [70] * 3 + [75] * 3 + [79] * 3
    ivr_time = [19.5] * 3 + [10] * 3 + [10] * 3 + [0] * 3
    system = make_system(arrival, klass=[1] * 12, ivr_class=1, ivr_path=[1, 2, 3] * 4,
                         ivr_time=ivr_time, divert_class=divert_class,
                         classes=("999", "101", "online"), pools=(("all", (0, 1, 2), 1),),
                         horizon=HORIZON)
    records = _same(system)
    first = records.attempt == 0
    left = first & (records.arrival + np.array(ivr_time)[records.caller] < HORIZON)
    assert np.all(records.ivr[left] == np.array([1, 2, 3] * 4)[records.caller[left]])
    assert np.all(records.end[left] < HORIZON)
    still_in_menu = first & ~left
    assert still_in_menu.sum() == 6  # those ending at 80 and at 85
    assert np.all(records.ivr[still_in_menu] == -1)
    assert np.all(records.status[still_in_menu] == IN_SYSTEM)
    assert np.all(np.isnan(records.end[still_in_menu]))


def test_a_redial_onto_the_ivr_class_whose_menu_ends_at_the_horizon():
    # caller 1 gives up on 999 at 15 and redials on 101 at 70; its 10 s menu (hang-up) would
    # end exactly at the horizon
    system = make_system([0, 5], klass=[0, 0], service=[100, 1], patience=[np.inf, 10],
                         pools=(("p", (0, 1), 1),), redials=[0, 1], redial_class=[1, 1],
                         redial_delay=[[0, 55]], max_attempts=2, ivr_class=1, ivr_path=[0, 3],
                         ivr_time=[0, 10], horizon=HORIZON)
    records = _same(system)
    redial = records.attempt == 1
    assert redial.sum() == 1 and records.arrival[redial][0] == 70
    assert records.ivr[redial][0] == -1 and records.status[redial][0] == IN_SYSTEM
