"""Loading a scenario: YAML files that may ``extends:`` one another, overrides, clear errors.

A config file is read with YAML's *safe* loader (no Python objects, no duplicate keys), merged
over the file it ``extends:`` (mappings merge key by key; lists, scalars,
distributions and rosters replace; ``null`` removes an inherited key), then overridden by ``--set path.to.field=value`` pairs, and finally
validated against :class:`contactsim.schema.Scenario`.

Every problem becomes one :class:`ConfigError` that names the file the offending field came from,
the field path and what was expected — before any simulation work starts.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from contactsim.schema import PathError, Scenario

Provenance = dict[tuple[str, ...], str]
OVERRIDE_SOURCE = "--set"


class ConfigError(Exception):
    """A config that cannot be used; ``str()`` is the one-line message for the user."""

    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, message
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated scenario, the merged raw mapping it came from and where each field was set."""

    scenario: Scenario
    raw: dict[str, Any]
    provenance: Provenance


# --- YAML ----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite hides typos)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep=False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _string_keys(node: Any) -> Any:
    """YAML reads `999:` as an int; channel names and every other key are strings here."""
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one config file as a mapping, or raise ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), line, f"invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", f"expected a mapping at top level, got {_kind(data)}")
    return _string_keys(data)


# --- extends and merging -------------------------------------------------------------------


def _replaces_whole(over: dict, at: tuple[str, ...]) -> bool:
    """A distribution (``dist:``) or a roster is one choice: it replaces, it does not merge."""
    return "dist" in over or (bool(at) and at[-1] == "roster")


def _merge(base: Any, over: Any, source: str, prov: Provenance, at: tuple[str, ...]) -> Any:
    """Deep-merge ``over`` onto ``base``, recording which file set each leaf."""
    if isinstance(base, dict) and isinstance(over, dict) and not _replaces_whole(over, at):
        merged = dict(base)
        for key, value in over.items():
            if value is None:
                merged.pop(key, None)
                continue
            merged[key] = _merge(base.get(key), value, source, prov, at + (key,))
        return merged
    _claim(over, source, prov, at)
    return over


def _claim(value: Any, source: str, prov: Provenance, at: tuple[str, ...]) -> None:
    prov[at] = source
    if isinstance(value, dict):
        for key, child in value.items():
            _claim(child, source, prov, at + (key,))


def _resolve(path: Path, chain: tuple[Path, ...], prov: Provenance) -> dict[str, Any]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in chain + (path,))
        raise ConfigError(str(chain[-1]), "extends", f"circular extends: {cycle}")
    data = read_yaml(path)
    for key in [k for k in data if k.startswith("x-")]:
        del data[key]  # extension fields: a place for YAML anchors, ignored
    parent = data.pop("extends", None)
    base: dict[str, Any] = {}
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise ConfigError(str(path), "extends", "expected the path of another config file")
        parent_path = path.parent / parent
        if not parent_path.is_file():
            raise ConfigError(str(path), "extends", f"file not found: {parent_path}")
        base = _resolve(parent_path, chain + (path,), prov)
    return _merge(base, data, str(path), prov, ())


# --- overrides -----------------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """'ivr.enabled=false' -> (['ivr', 'enabled'], False); the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(OVERRIDE_SOURCE, text, "expected KEY=VALUE, e.g. ivr.enabled=false")
    try:
        parsed = _string_keys(yaml.load(value, Loader=_StrictLoader))  # noqa: S506
    except yaml.YAMLError:
        raise ConfigError(OVERRIDE_SOURCE, key, f"cannot read value {value!r}") from None
    return key.strip().split("."), parsed


def apply_override(raw: dict, text: str, prov: Provenance) -> dict:
    """Set one dotted path in a copy of ``raw``; intermediate mappings are created."""
    keys, value = parse_override(text)
    return _merge(raw, _nest(keys, value), OVERRIDE_SOURCE, prov, ())


def _nest(keys: list[str], value: Any) -> dict:
    for key in reversed(keys):
        value = {key: value}
    return value


# --- validation errors ---------------------------------------------------------------------


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


def _present_path(raw: Any, loc: tuple) -> tuple[str, ...]:
    """Drop the union tags pydantic adds to a location ('lognormal' in handling.999.lognormal.cv)."""
    path, node = [], raw
    for part in loc:
        part = str(part)
        if part == "[key]":
            continue
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            path.append(part)
            node = node[int(part)]
        elif not isinstance(node, (dict, list)) or isinstance(node, list):
            path.append(part)
            node = None
        elif node is raw or part not in _UNION_TAGS:
            path.append(part)
            node = None
    return tuple(path)


_UNION_TAGS = {"exponential", "deterministic", "lognormal", "gamma", "weibull", "empirical", "never"}


def _field_names_at(path: tuple[str, ...], raw: dict) -> list[str]:
    """The valid keys of the block at ``path`` (for 'did you mean' hints)."""
    annotation: Any = Scenario
    node: Any = raw
    for part in path:
        annotation = _unwrap(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
        node = node.get(part) if isinstance(node, dict) else None
    annotation = _unwrap(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any, node: Any) -> Any:
    """Strip Annotated/Optional; pick the union member a ``dist:`` tag names."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            tag = node.get("dist") if isinstance(node, dict) else None
            chosen = [
                m for m in members
                if isinstance(m, type) and issubclass(m, pydantic.BaseModel)
                and tag in typing.get_args(m.model_fields.get("dist").annotation)
            ] if tag and all(
                isinstance(m, type) and issubclass(m, pydantic.BaseModel)
                and "dist" in m.model_fields for m in members
            ) else members
            annotation = chosen[0] if len(chosen) == 1 else annotation
            if len(chosen) != 1:
                return annotation
        else:
            return annotation


def _message(error: dict, raw: dict, path: tuple[str, ...]) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        valid = _field_names_at(path[:-1], raw)
        hint = difflib.get_close_matches(path[-1], valid, n=1)
        expected = f"did you mean '{hint[0]}'?" if hint else (
            f"expected one of: {', '.join(valid)}" if valid else "not a known field"
        )
        return f"unknown key '{path[-1]}'; {expected}"
    if kind == "missing":
        return "required field is missing"
    text = error["msg"].removeprefix("Value error, ")
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "bool_parsing"):
        return f"{text} (got {_kind(value)} {value!r})"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return f"{text}"
    if not isinstance(value, (dict, list)) and value is not None:
        return f"{text} (got {value!r})"
    return text


def _to_config_error(exc: pydantic.ValidationError, raw: dict, prov: Provenance, top: str):
    error = exc.errors()[0]
    original = (error.get("ctx") or {}).get("error")
    if isinstance(original, PathError):
        path = tuple(original.path.split("."))
        message = original.message
    else:
        path = _present_path(raw, error["loc"])
        message = _message(error, raw, path)
    source = top
    for cut in range(len(path), -1, -1):
        if path[:cut] in prov:
            source = prov[path[:cut]]
            break
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    return ConfigError(source, ".".join(path), message + suffix)


# --- entry point ---------------------------------------------------------------------------


def load(path: str | Path, overrides: typing.Sequence[str] = ()) -> LoadedConfig:
    """Read, merge, override and validate a scenario; raise ConfigError on any problem."""
    path = Path(path)
    prov: Provenance = {}
    raw = _resolve(path, (), prov)
    for text in overrides:
        raw = apply_override(raw, text, prov)
    top = str(path.resolve())
    try:
        scenario = Scenario.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _to_config_error(exc, raw, prov, top) from None
    return LoadedConfig(scenario, raw, prov)
