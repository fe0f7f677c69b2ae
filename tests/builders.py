"""Small hand-made queueing systems for exact traces and property tests."""

from __future__ import annotations

import numpy as np

from contactsim.system import QueueSystem, on_grid


def make_system(
    arrival,
    klass=None,
    service=None,
    patience=None,
    *,
    classes=("999", "101"),
    pools=(("both", (0, 1), 2),),
    roster=None,
    roster_interval=86400.0,
    horizon=1000.0,
    redials=None,
    redial_class=None,
    redial_delay=None,
    max_attempts=1,
    ivr_class=-1,
    ivr_path=None,
    ivr_time=None,
    divert_class=-1,
    never_abandon=(),
) -> QueueSystem:
    """A system from per-caller lists; pools are (name, classes in priority order, handlers).

    ``service`` is one handling time per caller used by every pool; ``patience`` one per caller
    used on every class (inf = never), one row all classes share but those in ``never_abandon``,
    which have none.
    """
    n = len(arrival)
    n_classes, n_pools = len(classes), len(pools)
    klass = np.zeros(n, np.int64) if klass is None else np.asarray(klass, np.int64)
    service = np.full(n, 1.0) if service is None else np.asarray(service, float)
    patience = np.full(n, np.inf) if patience is None else np.asarray(patience, float)
    serves = np.full((n_pools, n_classes), -1, np.int64)
    variant = np.full((n_pools, n_classes), -1, np.int64)
    for p, (_, served, _) in enumerate(pools):
        serves[p, : len(served)] = served
        variant[p, list(served)] = 0
    routing = np.full((n_classes, n_pools), -1, np.int64)
    for c in range(n_classes):
        order = [p for p, (_, served, _) in enumerate(pools) if c in served]
        routing[c, : len(order)] = order
    if roster is None:
        roster = [[size] for _, _, size in pools]
    return QueueSystem(
        horizon=float(horizon),
        arrival=on_grid(arrival),
        klass=klass,
        patience=on_grid(patience)[None, :],
        patience_row=np.array([-1 if c in never_abandon else 0 for c in range(n_classes)]),
        service=on_grid(service)[None, :],
        variant=variant,
        serves=serves,
        routing=routing,
        roster=np.asarray(roster, np.int64),
        roster_interval=float(roster_interval),
        ivr_class=ivr_class,
        ivr_path=np.zeros(n, np.int64) if ivr_path is None else np.asarray(ivr_path, np.int64),
        ivr_time=np.zeros(n) if ivr_time is None else on_grid(ivr_time),
        divert_class=divert_class,
        redials=np.zeros(n, np.int64) if redials is None else np.asarray(redials, np.int64),
        redial_class=klass.copy() if redial_class is None else np.asarray(redial_class, np.int64),
        redial_delay=(
            np.zeros((max(max_attempts - 1, 1), n))
            if redial_delay is None
            else on_grid(np.atleast_2d(redial_delay))
        ),
        max_attempts=max_attempts,
        class_names=tuple(classes),
        pool_names=tuple(name for name, _, _ in pools),
    )
