"""Benchmark models built directly as QueueSystems (no config parsing in the timed part)."""

from __future__ import annotations

import numpy as np

from contactsim.system import QueueSystem, on_grid


def two_class_erlang_a(n_calls: int, *, handlers: int = 100, load: float = 1.2,
                       mean_service: float = 300.0, mean_patience: float = 300.0,
                       seed: int = 1) -> QueueSystem:
    """Overloaded two-class Erlang-A: one pool of ``handlers`` serving 999 before 101.

    Poisson arrivals (half 999, half 101) at ``load`` × capacity, exponential service and
    patience, no redial, no IVR; the horizon is long enough for ``n_calls`` arrivals.
    """
    rng = np.random.default_rng(seed)
    rate = load * handlers / mean_service
    arrival = on_grid(np.cumsum(rng.exponential(1 / rate, n_calls)))
    horizon = float(arrival[-1]) + 1.0
    return QueueSystem(
        horizon=horizon,
        arrival=arrival,
        klass=rng.integers(0, 2, n_calls),
        patience=on_grid(rng.exponential(mean_patience, (2, n_calls))),
        service=on_grid(rng.exponential(mean_service, (1, n_calls))),
        variant=np.zeros((1, 2), np.int64),
        serves=np.array([[0, 1]]),
        routing=np.array([[0], [0]]),
        roster=np.array([[handlers]]),
        roster_interval=horizon,
        ivr_class=-1,
        ivr_path=np.zeros(n_calls, np.int64),
        ivr_time=np.zeros(n_calls),
        divert_class=-1,
        redials=np.zeros(n_calls, np.int64),
        redial_class=np.zeros(n_calls, np.int64),
        redial_delay=np.zeros((1, n_calls)),
        max_attempts=1,
        class_names=("999", "101"),
        pool_names=("blended",),
    )
