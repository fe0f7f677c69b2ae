"""Sweeps: a grid of parameter values turned into experiment points.

``--grid 'ivr.divert_online=0.1,0.2,0.3'`` lists values;
``--grid 'pools.blended.scale=0.8:1.2:0.1'`` is an inclusive range ``start:stop:step``.  Several
grids combine as a cartesian product, or element by element with ``zip``.  Each point is the
base config with the point's values set as ``--set`` overrides, validated before anything runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from contactsim.config import OVERRIDE_SOURCE, ConfigError, load
from contactsim.experiment import Point


def parse_grid(text: str) -> tuple[str, list[Any]]:
    """'path=v1,v2' or 'path=start:stop:step' -> (path, values)."""
    key, sep, spec = text.partition("=")
    if not sep or not key.strip() or not spec.strip():
        raise ConfigError(OVERRIDE_SOURCE, text, "a grid is PATH=V1,V2,... or PATH=START:STOP:STEP")
    key = key.strip()
    if spec.count(":") == 2 and "," not in spec:
        return key, _range(key, spec)
    return key, [yaml.safe_load(v) for v in spec.split(",")]


def _range(key: str, spec: str) -> list[float]:
    try:
        start, stop, step = (float(x) for x in spec.split(":"))
    except ValueError:
        raise ConfigError(
            "--grid", key, f"expected START:STOP:STEP numbers, got {spec!r}"
        ) from None
    if step <= 0 or stop < start:
        raise ConfigError("--grid", key, f"a range needs step > 0 and stop >= start, got {spec!r}")
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(count)]


def grid_points(grids: Sequence[str], zipped: bool = False) -> list[dict[str, Any]]:
    """The settings of every point, in order."""
    axes = [parse_grid(g) for g in grids]
    if zipped:
        lengths = {len(values) for _, values in axes}
        if len(lengths) > 1:
            raise ConfigError("--grid", "", f"--zip needs grids of equal length, got {lengths}")
        combos = zip(*(values for _, values in axes))
    else:
        combos = itertools.product(*(values for _, values in axes))
    keys = [key for key, _ in axes]
    return [dict(zip(keys, combo)) for combo in combos]


def sweep_points(config: Path, grids: Sequence[str], overrides: Sequence[str] = (),
                 zipped: bool = False) -> list[Point]:
    """Load and validate every point of the grid (a bad point fails before any run)."""
    points = []
    for i, settings in enumerate(grid_points(grids, zipped)):
        sets = [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}"
                for k, v in settings.items()]
        sets = [s.removesuffix("\n...") for s in sets]
        scenario = load(config, list(overrides) + sets).scenario
        points.append(Point(f"p{i:03d}", scenario, {"point": f"p{i:03d}", **settings}))
    return points
