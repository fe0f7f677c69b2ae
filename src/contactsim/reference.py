"""The SimPy reference engine: the model of MODEL.md written as plainly as possible.

Each contact is a SimPy process (arrive, pass the IVR, queue, be answered or give up, be handled,
perhaps redial); each pool's roster is a process that changes how many handlers are on duty.  A
small :class:`_Centre` holds the queues and idle handlers and makes the routing decisions.

It is the yardstick for the fast engine: on the same :class:`~contactsim.system.QueueSystem`
both must produce identical records.  To make that possible every model event is scheduled with
a SimPy priority that encodes ``(kind, contact id)``, so that events at the same instant are
processed in the documented order (``docs/engine.md``) rather than in the order they happened to
be scheduled.  SimPy's own bookkeeping events (process starts, condition triggers) carry
priorities 0 and 1 and so always settle before the next model event at the same time.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import simpy

from contactsim.system import (
    ABANDON,
    ABANDONED,
    ARRIVE,
    COMPLETED,
    DIVERTED_ONLINE,
    DIVERTED_OTHER,
    END_SERVICE,
    IN_SYSTEM,
    IVR_DIVERT_ONLINE,
    IVR_DIVERT_OTHER,
    IVR_END,
    IVR_HANG_UP,
    IVR_HANGUP,
    SHIFT,
    QueueSystem,
    Records,
)

_KIND_STRIDE = 2**56  # priority = (kind + 1) * stride + id keeps ids < 2**56 in order


def _wake(env: simpy.Environment, delay: float, kind: int, ident: int) -> simpy.Event:
    """A timeout whose ties are broken by (kind, id) instead of by scheduling order."""
    event = simpy.Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, priority=(kind + 1) * _KIND_STRIDE + ident, delay=delay)
    return event


class _Centre:
    """Queues per class, idle handler slots per pool, and the routing rules."""

    def __init__(self, env: simpy.Environment, system: QueueSystem):
        self.env, self.system = env, system
        self.records = Records.empty(system.max_contacts())
        self.rows = 0
        self.queues = [deque() for _ in system.class_names]
        self.idle = [list(range(n)) for n in system.n_slots]  # min-heaps of free slots
        self.on_duty = [int(n) for n in system.roster[:, 0]]
        self.answered_events: dict[int, simpy.Event] = {}

    def new_row(self, caller: int, attempt: int, klass: int) -> int:
        row, rec = self.rows, self.records
        self.rows += 1
        rec.caller[row], rec.attempt[row], rec.klass[row] = caller, attempt, klass
        rec.arrival[row] = self.env.now
        rec.status[row] = IN_SYSTEM
        return row

    def _has_free_handler(self, pool: int) -> bool:
        return bool(self.idle[pool]) and self.idle[pool][0] < self.on_duty[pool]

    def offer(self, row: int) -> bool:
        """A contact reaches the queue: first pool in routing order with a free handler takes it."""
        self.records.queue_entry[row] = self.env.now
        for pool in self.system.routing[self.records.klass[row]]:
            if pool < 0:
                break
            if self._has_free_handler(pool):
                self._answer(row, pool)
                return True
        self.queues[self.records.klass[row]].append(row)
        return False

    def _answer(self, row: int, pool: int) -> None:
        rec = self.records
        rec.answer[row], rec.pool[row] = self.env.now, pool
        rec.handler[row] = heapq.heappop(self.idle[pool])

    def _oldest_waiting(self, pool: int) -> int:
        for klass in self.system.serves[pool]:
            if klass < 0:
                break
            queue = self.queues[klass]
            while queue and self.records.status[queue[0]] != IN_SYSTEM:
                queue.popleft()  # abandoned while waiting
            if queue:
                return queue.popleft()
        return -1

    def dispatch(self, pool: int) -> None:
        """Free on-duty handlers of ``pool`` take the oldest highest-priority waiting contacts."""
        while self._has_free_handler(pool):
            row = self._oldest_waiting(pool)
            if row < 0:
                return
            self._answer(row, pool)
            self.answered_events.pop(row).succeed()

    def release(self, pool: int, slot: int) -> None:
        heapq.heappush(self.idle[pool], slot)
        self.dispatch(pool)

    def set_on_duty(self, pool: int, count: int) -> None:
        self.on_duty[pool] = count
        self.dispatch(pool)


class _Model:
    """The processes: arrivals, contacts and rosters."""

    def __init__(self, system: QueueSystem):
        self.system = system
        self.env = simpy.Environment()
        self.centre = _Centre(self.env, system)
        self.per_caller = system.contacts_per_caller

    def run(self) -> Records:
        self.env.process(self._arrivals())
        for pool in range(len(self.system.pool_names)):
            self.env.process(self._roster(pool))
        self.env.run(until=self.system.horizon)
        return self.centre.records.truncated(self.centre.rows)

    def _arrivals(self):
        s = self.system
        for caller in range(s.n_callers):
            yield self.env.timeout(s.arrival[caller] - self.env.now)
            self.env.process(self._contact(caller, 0, int(s.klass[caller]), 0.0))

    def _roster(self, pool: int):
        s = self.system
        width = s.roster.shape[1]
        boundary = 1
        while boundary * s.roster_interval < s.horizon:
            count = int(s.roster[pool, boundary % width])
            if count != self.centre.on_duty[pool]:
                delay = boundary * s.roster_interval - self.env.now
                yield _wake(self.env, delay, SHIFT, pool)
                self.centre.set_on_duty(pool, count)
            boundary += 1

    def _contact(self, caller: int, attempt: int, klass: int, delay: float):
        s, env, centre = self.system, self.env, self.centre
        ident = caller * self.per_caller + attempt
        yield _wake(env, delay, ARRIVE, ident)
        row = centre.new_row(caller, attempt, klass)
        rec = centre.records
        if klass == s.ivr_class:
            yield _wake(env, s.ivr_time[caller], IVR_END, ident)
            path = int(s.ivr_path[caller])
            rec.ivr[row] = path
            if path != 0:
                self._leave_ivr(row, caller, attempt, path)
                return
        if not centre.offer(row):
            answered = env.event()
            centre.answered_events[row] = answered
            patience = s.patience_of(klass, caller)
            if math.isinf(patience):
                yield answered
            else:
                yield answered | _wake(env, patience, ABANDON, ident)
            if np.isnan(rec.answer[row]):
                del centre.answered_events[row]
                self._abandon(row, caller, attempt)
                return
        pool = int(rec.pool[row])
        service = s.service[s.variant[pool, klass], caller]
        yield _wake(env, service, END_SERVICE, ident)
        rec.end[row], rec.status[row] = env.now, COMPLETED
        centre.release(pool, int(rec.handler[row]))

    def _leave_ivr(self, row: int, caller: int, attempt: int, path: int) -> None:
        rec, s = self.centre.records, self.system
        rec.end[row] = self.env.now
        if path == IVR_DIVERT_ONLINE:
            rec.status[row] = DIVERTED_ONLINE
            if s.divert_class >= 0:
                self.env.process(self._contact(caller, attempt + 1, s.divert_class, 0.0))
        elif path == IVR_DIVERT_OTHER:
            rec.status[row] = DIVERTED_OTHER
        elif path == IVR_HANG_UP:
            rec.status[row] = IVR_HANGUP

    def _abandon(self, row: int, caller: int, attempt: int) -> None:
        rec, s = self.centre.records, self.system
        rec.end[row], rec.status[row] = self.env.now, ABANDONED
        if attempt < s.redials[caller]:
            delay = s.redial_delay[attempt, caller]
            klass = int(s.redial_class[caller])
            self.env.process(self._contact(caller, attempt + 1, klass, delay))


def run(system: QueueSystem) -> Records:
    """Simulate ``system`` with SimPy; records in the order contacts arrived."""
    return _Model(system).run()
