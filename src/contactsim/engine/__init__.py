"""The fast engine: the event loop of :mod:`contactsim.engine.kernel` behind a plain interface.

``run(system)`` takes a :class:`~contactsim.system.QueueSystem` and returns the same
:class:`~contactsim.system.Records` as :func:`contactsim.reference.run`, much faster.
"""

from __future__ import annotations

import numpy as np

from contactsim.allocator import reserve
from contactsim.engine.kernel import simulate
from contactsim.system import QueueSystem, Records


def run(system: QueueSystem) -> Records:
    """Simulate ``system``; records in the order contacts arrived."""
    records = Records.uninitialised(system.max_contacts())
    s = system
    rows = simulate(
        float(s.horizon),
        s.arrival,
        s.klass,
        s.patience,
        s.patience_row,
        s.service,
        s.variant,
        s.serves,
        s.routing,
        s.roster,
        float(s.roster_interval),
        int(s.ivr_class),
        s.ivr_path,
        s.ivr_time,
        int(s.divert_class),
        s.redials,
        s.redial_class,
        s.redial_delay,
        int(s.contacts_per_caller),
        np.ascontiguousarray(s.n_slots, dtype=np.int64),
        *records.as_dict().values(),
        *heap_arrays(len(records)),
    )
    return records.truncated(rows)


def heap_arrays(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The loop's two heaps for a run of at most ``rows`` records, as ``simulate`` takes them:
    the times (rows: the event heap's, the abandonment timers') and the integers (rows: the
    event heap's keys and payloads, the timers' keys and record rows), each row with room for
    ``2 * rows + 2`` entries (the timers need ``rows + 1``).

    They are sized for the worst case, and a run touches a sliver of them (a year's heaps hold
    a few thousand entries in 950 MB of room), so large ones are reserved in mappings of their
    own (:func:`contactsim.allocator.reserve`, from 32 MiB): from the allocator's heap, the
    untouched room would be handed to the next replication's arrays, which would fault it in
    afresh.  Two arrays rather than six, as every array argument is seven values the compiled
    loop has to keep somewhere.
    """
    room = 2 * rows + 2
    return (reserve(2 * room, np.float64).reshape(2, room),
            reserve(4 * room, np.int64).reshape(4, room))
