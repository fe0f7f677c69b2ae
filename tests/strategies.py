"""Hypothesis strategies: small random queueing systems full of ties (integer times)."""

from __future__ import annotations

import numpy as np
from builders import make_system
from hypothesis import strategies as st


@st.composite
def small_systems(draw, max_callers: int = 25):
    n_classes = draw(st.integers(1, 3))
    classes = ("999", "101", "online")[:n_classes]
    n_pools = draw(st.integers(1, 3))
    pools = []
    for p in range(n_pools):
        served = draw(st.permutations(range(n_classes)))
        k = draw(st.integers(1, n_classes))
        pools.append((f"p{p}", tuple(served[:k]), 0))
    width = draw(st.integers(1, 4))
    roster = [[draw(st.integers(0, 3)) for _ in range(width)] for _ in range(n_pools)]
    n = draw(st.integers(0, max_callers))
    ints = lambda lo, hi: st.lists(st.integers(lo, hi), min_size=n, max_size=n)  # noqa: E731
    arrival = sorted(draw(ints(0, 60)))
    patience = [np.inf if x > 15 else float(x) for x in draw(ints(0, 20))]
    max_attempts = draw(st.integers(1, 3))
    ivr_class = draw(st.integers(-1, n_classes - 1))
    return make_system(
        arrival=arrival,
        klass=draw(ints(0, n_classes - 1)),
        service=[x / 2 for x in draw(ints(1, 30))],
        patience=patience,
        classes=classes,
        pools=tuple(pools),
        roster=roster,
        roster_interval=float(draw(st.sampled_from([5, 10, 20]))),
        horizon=float(draw(st.integers(20, 80))),  # menu ends fall on both sides of it
        redials=[min(x, max_attempts - 1) for x in draw(ints(0, 2))],
        redial_class=draw(ints(0, n_classes - 1)),
        redial_delay=np.array([draw(ints(0, 10)) for _ in range(max(max_attempts - 1, 1))],
                              dtype=float).reshape(max(max_attempts - 1, 1), n),
        max_attempts=max_attempts,
        ivr_class=ivr_class,
        ivr_path=draw(ints(0, 3)),
        ivr_time=draw(ints(0, 20)),
        divert_class=draw(st.sampled_from([-1] + [c for c in range(n_classes) if c != ivr_class])),
        never_abandon=draw(st.sets(st.integers(0, n_classes - 1), max_size=n_classes)),
    )
