"""The contract between sampling and the engines: a queueing system as plain arrays, and its
records.

A :class:`QueueSystem` is everything an engine needs, with every random number already drawn:

* *callers* arrive at ``arrival`` (sorted) on a *class* (a channel for call handling, a grade for
  response officers); each caller may make several *contacts*: the first attempt, redials after
  abandoning, and an online report when the IVR diverts them;
* *pools* of interchangeable handlers serve classes in priority order, with a roster of how many
  are on duty in each roster interval; handlers are numbered slots and slot ``j`` is on duty when
  ``j`` < the roster count (so the on-duty handlers are always slots ``0..n-1``);
* times are seconds on a dyadic grid (multiples of 2⁻²⁰ s, see :func:`on_grid`), so sums of
  times are exact in floating point and both engines get bit-identical results however they
  order their arithmetic.

Both engines (:mod:`contactsim.engine` and :mod:`contactsim.reference`) are deterministic
functions of a QueueSystem and return the same :class:`Records`, one row per contact.
The semantics they share (event kinds, tie-breaks) are written down in ``docs/engine.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

GRID = 2.0**20  # ticks per second: times are integer multiples of 1/GRID
MAX_CONTACTS = 2**31 - 1  # records and callers are numbered with 32-bit integers

# IVR paths of a caller (what they choose in the menu on every 101 attempt)
IVR_ROUTED, IVR_DIVERT_ONLINE, IVR_DIVERT_OTHER, IVR_HANG_UP = 0, 1, 2, 3
IVR_NAMES = ("routed", "divert_online", "divert_other", "hang_up")

# How a contact ended
IN_SYSTEM, COMPLETED, ABANDONED, DIVERTED_ONLINE, DIVERTED_OTHER, IVR_HANGUP = range(6)
STATUS_NAMES = (
    "in_system",
    "completed",
    "abandoned",
    "diverted_online",
    "diverted_other",
    "ivr_hangup",
)

# Event kinds, in the order they are processed when they fall at the same instant
SHIFT, END_SERVICE, ABANDON, ARRIVE, IVR_END = range(5)
KIND_NAMES = ("shift", "end_service", "abandon", "arrive", "ivr_end")


def on_grid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Round times to the dyadic grid (infinite values stay infinite).

    Returns a new array, or ``out`` (which may be ``x`` itself) filled in place.  Scaling by a
    power of two is exact, so multiplying by 1/GRID gives the same bits as dividing by GRID.
    """
    out = np.multiply(x, GRID, dtype=np.float64, out=out)
    np.rint(out, out=out)
    out *= 1.0 / GRID
    return out


_DTYPES = {
    "arrival": np.float64,
    "klass": np.int8,
    "patience": np.float64,
    "patience_row": np.int64,
    "service": np.float64,
    "variant": np.int64,
    "serves": np.int64,
    "routing": np.int64,
    "roster": np.int64,
    "ivr_path": np.int8,
    "ivr_time": np.float64,
    "redials": np.int8,
    "redial_class": np.int8,
    "redial_delay": np.float64,
}


# Fields with one entry (or one column) per caller
_PER_CALLER = ("arrival", "klass", "patience", "service", "ivr_path", "ivr_time", "redials",
               "redial_class", "redial_delay")
# ... of which these are read only for contacts of the IVR's class, so may be empty without one
_IVR_ONLY = ("ivr_path", "ivr_time")


@dataclass(frozen=True)
class QueueSystem:
    """One run's worth of sampled inputs for a multi-class, multi-pool queue with shifts."""

    horizon: float
    arrival: np.ndarray  # f8[N], sorted; caller i arrives first at arrival[i]
    klass: np.ndarray  # i8[N], class of the first contact
    patience: np.ndarray  # f8[A, N], a class's row per patience_row; inf = never abandons
    service: np.ndarray  # f8[V, N], handling time per variant
    variant: np.ndarray  # i8[P, C], service variant of pool p serving class c, -1 if not served
    serves: np.ndarray  # i8[P, C], classes a pool serves, highest priority first, -1 padded
    routing: np.ndarray  # i8[C, P], pools that serve a class, in the order tried, -1 padded
    roster: np.ndarray  # i8[P, W], on duty per roster interval, cyclic, index 0 = time 0
    roster_interval: float
    ivr_class: int  # class whose contacts pass the IVR, -1 for none
    # i8[N] and f8[N], or empty when there is no IVR (a year's zeros would be 47 MB)
    ivr_path: np.ndarray
    ivr_time: np.ndarray
    divert_class: int  # class of the contact an IVR online diversion creates, -1 for none
    redials: np.ndarray  # i8[N], how many times the caller redials if they keep abandoning
    redial_class: np.ndarray  # i8[N], class of every redial
    redial_delay: np.ndarray  # f8[R, N], delay before redial k+1, R >= 1
    max_attempts: int
    class_names: tuple[str, ...]
    pool_names: tuple[str, ...]
    # i8[C]: the row of ``patience`` class c's contacts read, -1 if they never abandon (no row
    # of infinities to fill: a year's would be 42 MB); by default row c for class c
    patience_row: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.patience_row is None:
            object.__setattr__(self, "patience_row", np.arange(len(self.patience)))
        # One dtype per field, whoever builds the system: the compiled engine then has a single
        # signature, and per-caller codes take one byte each.
        for name, dtype in _DTYPES.items():
            value = getattr(self, name)
            if not (isinstance(value, np.ndarray) and value.dtype == dtype
                    and value.flags.c_contiguous):
                object.__setattr__(self, name, np.ascontiguousarray(value, dtype=dtype))
        if self.patience.ndim != 2 or self.patience_row.shape != (len(self.class_names),) or (
            not np.all((self.patience_row >= -1) & (self.patience_row < self.patience.shape[0]))
        ):
            raise ValueError("patience_row must name a row of patience, or -1, for each class")
        for name in _PER_CALLER:  # the engines index these by caller without a bounds check
            size = getattr(self, name).shape[-1]
            if size != self.n_callers and not (size == 0 and name in _IVR_ONLY
                                               and self.ivr_class < 0):
                raise ValueError(f"{name} must have one entry (column) per caller"
                                 + (", or none without an IVR" if name in _IVR_ONLY else ""))
        if self.ivr_class >= 0 and self.divert_class == self.ivr_class:
            raise ValueError("an IVR diversion cannot lead back into the IVR's own class")
        if self.ivr_class >= 0 and self.n_callers:
            # the fast engine writes a menu exit's status from its path
            if not IVR_ROUTED <= self.ivr_path.min() <= self.ivr_path.max() <= IVR_HANG_UP:
                raise ValueError(f"ivr_path must hold IVR paths ({IVR_ROUTED}..{IVR_HANG_UP})")
            if not self.ivr_time.min() >= 0:
                raise ValueError("ivr_time must be a time: not negative, not NaN")
        if self.max_attempts < 1 or self.redial_delay.shape[0] < max(self.max_attempts - 1, 1):
            raise ValueError("redial_delay needs a row per possible redial")
        if self.redials.size and self.redials.max() > self.max_attempts - 1:
            raise ValueError("a caller cannot redial more than max_attempts - 1 times")
        if np.any(self.arrival[1:] < self.arrival[:-1]):  # no year-long np.diff temporary
            raise ValueError("arrival times must be sorted")
        if self.max_contacts() > MAX_CONTACTS:
            raise ValueError(
                f"this run could create {self.max_contacts():,} contacts, more than the "
                f"{MAX_CONTACTS:,} a run can hold (32-bit rows): shorten horizon_days or "
                f"lower the daily volumes"
            )

    @property
    def n_callers(self) -> int:
        return int(self.arrival.size)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def patience_of(self, klass: int, caller: int) -> float:
        """How long a contact of caller ``caller`` on class ``klass`` waits before abandoning."""
        row = self.patience_row[klass]
        return float(self.patience[row, caller]) if row >= 0 else math.inf

    def patience_by_class(self) -> np.ndarray:
        """f8[C, N]: every caller's patience on every class (infinite where it never ends)."""
        out = np.full((self.n_classes, self.n_callers), np.inf)
        for c, row in enumerate(self.patience_row):
            if row >= 0:
                out[c] = self.patience[row]
        return out

    @property
    def n_slots(self) -> np.ndarray:
        """Handler slots per pool: the most ever on duty."""
        return self.roster.max(axis=1) if self.roster.size else np.zeros(0, np.int64)

    @property
    def contacts_per_caller(self) -> int:
        """Contact ids are caller * contacts_per_caller + attempt."""
        return self.max_attempts + 1

    def without_callers(self) -> QueueSystem:
        """The same system with no callers: classes, pools, routing and rosters only."""
        per_caller = {name: getattr(self, name)[..., :0].copy() for name in _PER_CALLER}
        return replace(self, **per_caller)

    def max_contacts(self) -> int:
        """An upper bound on the number of contact records the run can create."""
        bound = self.n_callers + int(self.redials.sum(dtype=np.int64))
        if self.ivr_class >= 0 and self.divert_class >= 0:
            diverts = self.ivr_path == IVR_DIVERT_ONLINE
            diverted_redials = self.redials[diverts].sum(dtype=np.int64)
            bound += int(np.count_nonzero(diverts)) + int(diverted_redials)
        return bound


# Narrow integer columns: the engine writes every column of every contact, and memory traffic,
# not arithmetic, is what a busy event loop spends its time on.
# caller is int32 (see MAX_CONTACTS): cast to int64 before any arithmetic that can exceed it,
# e.g. caller * contacts_per_caller.
RECORD_FIELDS = (
    ("caller", np.int32),
    ("attempt", np.int8),
    ("klass", np.int8),
    ("arrival", np.float64),
    ("ivr", np.int8),
    ("queue_entry", np.float64),
    ("answer", np.float64),
    ("end", np.float64),
    ("status", np.int8),
    ("pool", np.int16),
    ("handler", np.int32),
)


@dataclass
class Records:
    """One row per contact; NaN where a time does not apply, -1 where a code does not."""

    caller: np.ndarray
    attempt: np.ndarray
    klass: np.ndarray
    arrival: np.ndarray
    ivr: np.ndarray  # IVR path taken, -1 if the contact did not pass the IVR
    queue_entry: np.ndarray
    answer: np.ndarray
    end: np.ndarray
    status: np.ndarray
    pool: np.ndarray
    handler: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Records:
        """Arrays ready to be filled: times NaN, codes -1."""
        arrays = {}
        for name, dtype in RECORD_FIELDS:
            fill = np.nan if dtype is np.float64 else -1
            arrays[name] = np.full(n, fill, dtype=dtype)
        return cls(**arrays)

    @classmethod
    def uninitialised(cls, n: int) -> Records:
        """Arrays for an engine that writes every field of a row when it creates it."""
        return cls(**{name: np.empty(n, dtype=dtype) for name, dtype in RECORD_FIELDS})

    def __len__(self) -> int:
        return int(self.caller.size)

    def truncated(self, n: int) -> Records:
        return Records(**{f.name: getattr(self, f.name)[:n] for f in fields(self)})

    def sorted(self) -> Records:
        """Rows in (caller, attempt) order: the canonical order for comparing engines."""
        order = np.lexsort((self.attempt, self.caller))
        return Records(**{f.name: getattr(self, f.name)[order] for f in fields(self)})

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
