"""The fast loop keeps its own copies of the codes it writes and orders by (``system``'s event
kinds, statuses and IVR paths): numba bakes another module's globals into the cached machine
code without noticing when they change, so the loop does not read them from ``system``.
These tests hold the copies to the originals."""

from __future__ import annotations

import pytest

from contactsim import system
from contactsim.engine import kernel

CODES = ("SHIFT", "END_SERVICE", "ABANDON", "ARRIVE", "IVR_END",
         "IN_SYSTEM", "COMPLETED", "ABANDONED", "DIVERTED_ONLINE", "DIVERTED_OTHER",
         "IVR_HANGUP", "IVR_ROUTED", "IVR_DIVERT_ONLINE", "IVR_DIVERT_OTHER", "IVR_HANG_UP")


@pytest.mark.parametrize("name", CODES)
def test_the_loop_uses_the_systems_codes(name):
    assert getattr(kernel, name) == getattr(system, name)


def test_a_menu_exit_path_plus_the_offset_is_its_status():
    paths = (system.IVR_DIVERT_ONLINE, system.IVR_DIVERT_OTHER, system.IVR_HANG_UP)
    statuses = (system.DIVERTED_ONLINE, system.DIVERTED_OTHER, system.IVR_HANGUP)
    assert [p + kernel.MENU_EXIT_STATUS for p in paths] == list(statuses)
