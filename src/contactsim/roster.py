"""Rosters: how many handlers of a pool are on duty in each interval of the week.

A roster is written as a constant, as shifts (start, length, days, handlers — a shift that
crosses midnight runs into the next day, Sunday into Monday), or as an explicit 7 × intervals
matrix.  Whatever the form, it becomes one integer array over the intervals of the week, Monday
00:00 first, multiplied by the pool's ``scale`` and rounded half up.
"""

from __future__ import annotations

import numpy as np

from contactsim.schema import WEEKDAYS, Roster


def weekly_counts(roster: Roster, interval: float, scale: float = 1.0) -> np.ndarray:
    """On-duty counts for each interval of the week, Monday 00:00 first."""
    per_day = int(round(86400.0 / interval))
    if roster.constant is not None:
        counts = np.full(7 * per_day, float(roster.constant))
    elif roster.weekly is not None:
        counts = np.asarray(roster.weekly, dtype=float).reshape(-1)
    else:
        counts = _shift_counts(roster, interval, per_day)
    return np.floor(counts * scale + 0.5).astype(np.int64)


def _shift_counts(roster: Roster, interval: float, per_day: int) -> np.ndarray:
    counts = np.zeros(7 * per_day)
    for shift in roster.shifts or []:
        hh, mm = map(int, shift.start.split(":"))
        first = int(round((hh * 3600 + mm * 60) / interval))
        length = int(round(shift.hours * 3600 / interval))
        for day in shift.days:
            begin = WEEKDAYS.index(day) * per_day + first
            covered = np.arange(begin, begin + length) % counts.size
            counts[covered] += shift.handlers
    return counts


def rotate_to_start(counts: np.ndarray, weekday: int) -> np.ndarray:
    """Re-index a Monday-first weekly array so that index 0 is the scenario's first interval."""
    per_day = counts.size // 7
    return np.roll(counts, -weekday * per_day)
