"""Fuzzing the loader: a mutated bundled config loads, or is refused with one clear ConfigError.

Each example takes one of the bundled configs (merged: what ``load`` validates), breaks it one to
three times — a key deleted, a value of the wrong type, a random number, text, null, list or
mapping at a random place, a number negated or scaled, a random key added, shares that no
longer sum to 1, the YAML text itself corrupted, or the change given as a ``--set`` override —
and asserts that
``load`` returns a Scenario or raises ConfigError with a one-line message that names a field
path (or, for a file no longer YAML, its line).  Any other exception fails the test.

The settings are fixed (derandomize) so every run tries the same examples.
``tests/bad_configs/summarise.py`` runs :func:`check` the same way and counts the outcomes.
"""

from __future__ import annotations

import atexit
import copy
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from conftest import CONFIGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactsim.config import ConfigError, load
from contactsim.schema import Scenario

BUNDLED = sorted(str(p.relative_to(CONFIGS)) for p in [*CONFIGS.glob("*.yaml"),
                                                        *CONFIGS.glob("examples/*.yaml")])
BASES = {name: load(CONFIGS / name).raw for name in BUNDLED}
SHARE_BLOCKS = ("outcomes", "crime_screening", "ivr", "redial")
SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OUTCOMES: Counter = Counter()  # accepted / refused, for summarise.py
WORK = Path(tempfile.mkdtemp(prefix="contactsim-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)

# Values that are wrong in interesting ways somewhere in a config
TRICKY = ["15min", "-5s", "10 parsecs", "1e400s", "07:00", "25:00", "2018-02-30", "", " ",
          "exponential", "never", "999", "101", "online", "10l", "[/]", "nan", "mon", "x" * 200]
values = st.one_of(
    st.integers(-10, 10),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2, 2),
    st.booleans(),
    st.none(),
    st.sampled_from(TRICKY),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-3, 100), st.sampled_from(TRICKY)), max_size=4),
    st.dictionaries(st.sampled_from(["dist", "mean", "cv", "constant", "x", "999"]),
                    st.one_of(st.integers(-3, 100), st.sampled_from(TRICKY)), max_size=3),
    st.builds(lambda d: {"dist": d, "mean": 60},
              st.sampled_from(["exponential", "lognormal", "weibull", "empirical", "pareto"])),
)
keys = st.one_of(
    st.sampled_from(["daily_volume", "daily_volumes", "dist", "mean", "cv", "roster", "shifts",
                     "constant", "weekly", "serves", "x-note", "999", "101", "online", "10l",
                     "routed", "tdiu", "enabled", "extends", "null"]),
    st.text(min_size=1, max_size=8),
)


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a raw config: mapping keys and list positions (as int)."""
    found = [at] if at else []
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else [])
    for key, child in items:
        found += _paths(child, at + (key,))
    return found


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(node: Any, path: tuple, value: Any) -> None:
    _get(node, path[:-1])[path[-1]] = value


def _retyped(value: Any) -> Any:
    """The same content, the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return list(value.values())
    return {str(i): v for i, v in enumerate(value)}


@st.composite
def mutated_configs(draw) -> tuple[str, Any, list[str]]:
    """(YAML text, how it was broken, --set overrides)."""
    name = draw(st.sampled_from(BUNDLED))
    raw = copy.deepcopy(BASES[name])
    overrides: list[str] = []
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        kind = draw(st.sampled_from(["delete", "replace", "negate", "nudge", "retype", "add",
                                     "shares", "override", "text"]))
        path = draw(st.sampled_from(paths)) if paths else ()
        steps.append((kind, path))
        if not path and kind not in ("add", "override", "text"):
            continue
        if kind == "delete":
            parent = _get(raw, path[:-1])
            del parent[path[-1]]
        elif kind == "replace":
            _set(raw, path, draw(values))
        elif kind in ("negate", "nudge"):  # nudge: a plausible value, often still valid
            numbers = [p for p in paths if isinstance(_get(raw, p), (int, float))
                       and not isinstance(_get(raw, p), bool)]
            if numbers:
                target = draw(st.sampled_from(numbers))
                value = _get(raw, target)
                factor = -1 if kind == "negate" else draw(st.sampled_from([0, 0.5, 2, 1000]))
                _set(raw, target, type(value)(value * factor) or factor)
        elif kind == "retype":
            _set(raw, path, _retyped(_get(raw, path)))
        elif kind == "add":
            blocks = [()] + [p for p in paths if isinstance(_get(raw, p), dict)]
            block = draw(st.sampled_from(blocks))
            _get(raw, block)[draw(keys)] = draw(values)
        elif kind == "shares":
            shares = [p for p in paths if any(b in p for b in SHARE_BLOCKS)
                      and isinstance(_get(raw, p), (int, float))]
            if shares:
                target = draw(st.sampled_from(shares))
                _set(raw, target, _get(raw, target) * draw(st.sampled_from([0, 0.5, 1.1, 2, 10]))
                     + draw(st.sampled_from([0, 0.01, 0.3])))
        elif kind == "override":
            where = [str(p) for p in path] if path and draw(st.booleans()) else [draw(keys)]
            dotted = ".".join(where)
            if dotted.strip() and "=" not in dotted and "" not in dotted.split("."):
                overrides.append(f"{dotted}={json.dumps(draw(values))}")
    text = yaml.safe_dump(raw, sort_keys=False)
    if any(kind == "text" for kind, _ in steps):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", ":", "- ", "{", "\t", "\n  ", "&a", "*a",
                                                 "!!python/none ", "'", "\x00"])) + text[at + 1:]
    return text, steps, overrides


def check(case: tuple[str, Any, list[str]]) -> None:
    """load returns a Scenario or raises ConfigError with one line naming the field."""
    text, _steps, overrides = case
    file = WORK / "fuzz.yaml"
    file.write_text(text, encoding="utf-8")
    try:
        loaded = load(file, overrides)
    except ConfigError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message, repr(message)
        file_level = exc.message.startswith(("expected a mapping of fields at top level",
                                             "invalid YAML"))
        assert exc.path or file_level, f"no field path in {message!r}"
        assert f"{exc.source}: {exc.path}" in message if exc.path else exc.source in message
        OUTCOMES["refused"] += 1
    else:
        assert isinstance(loaded.scenario, Scenario)
        OUTCOMES["accepted"] += 1


@SETTINGS
@given(mutated_configs())
def test_mutated_configs_load_or_refuse_clearly(case):
    check(case)


def test_fuzz_bases_are_valid():
    for name, raw in BASES.items():
        assert Scenario.model_validate(raw).name, name
