"""Loading a scenario: YAML files that may ``extends:`` one another, overrides, clear errors.

A config file is read as plain data with YAML's *safe* loader (no Python objects; duplicate keys,
recursive aliases and absurdly large or deep documents refused), merged over the file it
``extends:`` (mappings merge key by key; lists, scalars, distributions and rosters replace;
``null`` removes an inherited key; top-level ``x-`` keys are ignored), then overridden by
``--set path.to.field=value`` pairs (the value read as YAML), and finally validated against
:class:`contactsim.schema.Scenario`.

Three YAML 1.1 surprises are read the YAML 1.2 way, so that a value means what it looks like:
``15:00`` is text (not the sexagesimal number 54000), ``010`` is not octal 8 (it is text, and so
refused where a number belongs), and ``2018-07-02`` is text that the schema reads as a date.
``1e3`` is a number.

Every problem becomes one :class:`ConfigError`, one line that names the file the offending field
came from, the field path and what was expected — before any simulation work starts.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from contactsim.schema import DIST_NAMES, PATTERN_MEANING, PathError, Scenario

Provenance = dict[tuple[str, ...], str]
OVERRIDE_SOURCE = "--set"
MAX_NODES = 1_000_000  # values in one config after aliases are expanded


class ConfigError(Exception):
    """A config that cannot be used; ``str()`` is the one-line message for the user."""

    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, _one_line(message)
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {self.message}")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated scenario, the merged raw mapping it came from and where each field was set."""

    scenario: Scenario
    raw: dict[str, Any]
    provenance: Provenance


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _display(path: Path) -> str:
    """A file as messages name it: relative to the working directory if it is inside it."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # outside it, or the working directory is gone
        return str(path)


def _dotted(path: typing.Iterable[str]) -> str:
    """channels.101.daily_volume; a key that itself holds a dot or space is quoted."""
    return ".".join(p if re.fullmatch(r"[^.\s'\"]+", p) else repr(p) for p in path)


# --- YAML ----------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_INT_12 = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|[-+]?0b[01_]+|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT_12 = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader for plain data: duplicate keys and recursive aliases refused, YAML 1.2 numbers.

    A constructor's ValueError (``!!int abc``, ``!!timestamp 2018-02-30``) becomes a YAML error
    with the line it is on.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {_short_tag(node.tag)} ({exc})",
                node.start_mark,
            ) from None


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (
        _TAG + "timestamp", _TAG + "int", _TAG + "float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_TAG + "float", _FLOAT_12, list("-+0123456789."))
_Loader.add_implicit_resolver(_TAG + "int", _INT_12, list("-+0123456789"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    """A mapping whose keys are plain values, each once (``101`` and ``"101"`` count as one)."""
    seen: set[str] = set()
    for key_node, _ in node.value:
        if key_node.tag == _TAG + "merge":
            continue  # '<<: *defaults' merges a mapping; its keys may be overridden here
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list, set, tuple)):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value (got {_kind(key)})",
                key_node.start_mark,
            )
        if str(key) in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {str(key)!r}", key_node.start_mark
            )
        seen.add(str(key))
    return loader.construct_mapping(node, deep=True)


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> list:
    return loader.construct_sequence(node, deep=True)  # built at once: a recursive alias fails


_Loader.add_constructor(_TAG + "map", _construct_mapping)
_Loader.add_constructor(_TAG + "seq", _construct_sequence)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    """(where, what) of a YAML error: 'line 3, column 5' and the problem in one line."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return f"line {line}", f"invalid YAML: character {chr(exc.character)!r} is not allowed"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    unknown_tag = re.match(r"could not determine a constructor for the tag '([^']*)'", problem)
    if unknown_tag:
        problem = (f"tag {_short_tag(unknown_tag.group(1))} is not allowed: a config holds "
                   f"plain data (no Python objects)")
    elif problem == "found unconstructable recursive node":
        problem = "an alias refers to the node that contains it (a recursive alias)"
    return where, f"invalid YAML: {problem}"


def _string_keys(node: Any, budget: list[int]) -> Any:
    """YAML reads `999:` as an int; channel names and every other key are strings here.

    Aliases are expanded into copies, so ``budget`` bounds the values a document may expand to
    (a "billion laughs" document is refused instead of exhausting memory).
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(node, dict):
        return {str(k): _string_keys(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v, budget) for v in node]
    return node


class _TooLarge(Exception):
    pass


def _parse_yaml(text: str, source: str, where: str = "") -> Any:
    """Plain data from YAML text, or a ConfigError naming ``source`` (and the line)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
        return _string_keys(data, [MAX_NODES])
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        raise ConfigError(source, where or line, problem) from None
    except RecursionError:
        raise ConfigError(source, where, "invalid YAML: nested too deeply") from None
    except _TooLarge:
        raise ConfigError(
            source, where, f"expected at most {MAX_NODES:,} values (got more, counting each "
            "use of an alias)"
        ) from None


def read_yaml(path: Path, source: str | None = None) -> dict[str, Any]:
    """Read one config file as a mapping, or raise ConfigError naming the file and line."""
    source = source or _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(source, "", "expected a config file (got a directory)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            source, "", f"expected UTF-8 text (got byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file ({exc.strerror})") from None
    except ValueError as exc:  # a NUL byte in the name
        raise ConfigError(source, "", f"cannot read file ({exc})") from None
    data = _parse_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"expected a mapping of fields at top level (got "
                                      f"{_kind(data)})")
    return data


# --- extends and merging -------------------------------------------------------------------


def _replaces_whole(over: dict, at: tuple[str, ...]) -> bool:
    """A distribution (``dist:``) or a roster is one choice: it replaces, it does not merge."""
    return "dist" in over or (bool(at) and at[-1] == "roster")


def _merge(base: Any, over: Any, source: str, prov: Provenance, at: tuple[str, ...]) -> Any:
    """``over`` merged onto ``base``; ``prov`` records the source of each value set or removed."""
    if not isinstance(over, dict):
        _set_provenance(prov, at, source)
        return over
    if isinstance(base, dict) and not _replaces_whole(over, at):
        merged = dict(base)
    else:
        merged = {}
        _set_provenance(prov, at, source)
    for key, value in over.items():
        if value is None:  # null removes the key (and a required field becomes missing)
            merged.pop(key, None)
            _set_provenance(prov, at + (key,), source)
        else:
            merged[key] = _merge(merged.get(key), value, source, prov, at + (key,))
    return merged


def _set_provenance(prov: Provenance, at: tuple[str, ...], source: str) -> None:
    """``at`` (and everything below it) now comes from ``source``."""
    for key in [k for k in prov if k[: len(at)] == at]:
        del prov[key]
    prov[at] = source


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte in it
        return False


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError):  # read_yaml will say what is wrong with it
        return path.absolute()


def _resolve(path: Path, chain: tuple[Path, ...], prov: Provenance) -> dict[str, Any]:
    """The raw mapping of ``path`` merged over the files it extends."""
    path = _absolute(path)
    source = _display(path)
    if path in chain:
        cycle = " -> ".join(_display(p) for p in chain + (path,))
        raise ConfigError(_display(chain[-1]), "extends", f"circular extends: {cycle}")
    data = read_yaml(path, source)
    for key in [k for k in data if k.startswith("x-")]:
        del data[key]  # extension fields: a place for YAML anchors, ignored
    parent = data.pop("extends", None)
    base: dict[str, Any] = {}
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(source, "extends", f"expected the path of another config file "
                                                 f"(got {_show(parent)})")
        parent_path = path.parent / parent
        if not _is_file(parent_path):
            raise ConfigError(source, "extends", f"expected an existing config file, relative "
                                                 f"to this one (got {_show(parent)}: not "
                                                 f"found)")
        base = _resolve(parent_path, chain + (path,), prov)
    return _merge(base, data, source, prov, ())


# --- overrides -----------------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """'ivr.enabled=false' -> (['ivr', 'enabled'], False); the value is read as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(OVERRIDE_SOURCE, "", f"expected KEY=VALUE, e.g. ivr.enabled=false "
                                               f"(got {text!r})")
    keys = key.split(".")
    if not all(keys):
        raise ConfigError(OVERRIDE_SOURCE, key, "expected a dotted field path, e.g. "
                                                "channels.101.daily_volume (got an empty part)")
    return keys, _parse_yaml(value, OVERRIDE_SOURCE, key)


def apply_override(raw: dict, text: str, prov: Provenance) -> dict:
    """Set one dotted path in a copy of ``raw``; intermediate mappings are created."""
    keys, value = parse_override(text)
    node: Any = raw
    for depth, key in enumerate(keys[:-1], 1):
        node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            raise ConfigError(
                OVERRIDE_SOURCE, _dotted(keys[:depth]),
                "expected a mapping to set a field in (got a list: --set cannot change one "
                "item, set the whole list instead)",
            )
    for key in reversed(keys):
        value = {key: value}
    return _merge(raw, value, OVERRIDE_SOURCE, prov, ())


# --- validation errors ---------------------------------------------------------------------


def _kind(value: Any) -> str:
    kinds = {dict: "a mapping", list: "a list", str: "text", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _show(value: Any, limit: int = 60) -> str:
    """A value as an error message shows it: YAML words for null and booleans, short."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (dict, list, set, tuple)):
        return _kind(value) if value else f"an empty {_kind(value).removeprefix('a ')}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def _present_path(raw: Any, loc: tuple) -> tuple[str, ...]:
    """A pydantic location as the user wrote it: '[key]' markers and distribution tags dropped.

    pydantic puts the ``dist`` of a distribution into the location (handling.999.lognormal.cv);
    the config has no such level.
    """
    path: list[str] = []
    node = raw
    for part in map(str, loc):
        if part == "[key]":
            continue
        if isinstance(node, dict) and part not in node and node.get("dist") == part:
            continue
        path.append(part)
        node = _child(node, part)
    return tuple(path)


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _members(annotation: Any) -> list[Any]:
    """The types an annotation admits: Annotated and None stripped, unions flattened."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) if arg is not type(None)
                for m in _members(arg)]
    return [annotation]


def _types_at(path: tuple[str, ...], raw: dict) -> tuple[list[Any], Any]:
    """The types the schema admits at ``path``, and the raw value there."""
    members: list[Any] = [Scenario]
    node: Any = raw
    for part in path:
        model = _pick_model(members, node)
        containers = [m for m in members if typing.get_origin(m) in (dict, list)]
        if model is not None and part in model.model_fields:
            members = _members(model.model_fields[part].annotation)
        elif containers:
            members = _members(typing.get_args(containers[0])[-1])
        else:
            return [], None
        node = _child(node, part)
    return members, node


def _models(members: list[Any]) -> list[type[pydantic.BaseModel]]:
    return [m for m in members if isinstance(m, type) and issubclass(m, pydantic.BaseModel)]


def _pick_model(members: list[Any], node: Any) -> type[pydantic.BaseModel] | None:
    """The one schema block among ``members``; for a distribution, the one ``dist:`` names."""
    models = _models(members)
    if len(models) > 1:
        tag = node.get("dist") if isinstance(node, dict) else None
        models = [m for m in models if "dist" in m.model_fields
                  and tag in typing.get_args(m.model_fields["dist"].annotation)]
    return models[0] if len(models) == 1 else None


def _model_at(path: tuple[str, ...], raw: dict) -> type[pydantic.BaseModel] | None:
    return _pick_model(*_types_at(path, raw))


def _did_you_mean(word: str, choices: list[str]) -> str:
    hint = difflib.get_close_matches(word, choices, n=1)
    listed = f"expected one of: {', '.join(choices)}"
    return f"did you mean '{hint[0]}'? ({listed})" if hint else listed


_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
_EXPECTED = {
    "finite_number": "expected a finite number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "string_too_short": "expected non-empty text",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
    "date_type": "expected a date YYYY-MM-DD",
    "date_parsing": "expected a date YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date YYYY-MM-DD",
    "date_from_datetime_inexact": "expected a date YYYY-MM-DD without a time of day",
}


def _message(error: dict, raw: dict, path: tuple[str, ...]) -> str:
    """What was expected at ``path`` (got what), in words a planner can act on."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = f" (got {_show(value)})"
    if kind == "extra_forbidden":
        model = _model_at(path[:-1], raw)
        valid = list(model.model_fields) if model else []
        return f"unknown key {_show(path[-1])}; " + (
            _did_you_mean(path[-1], valid) if valid else "not a known field")
    if kind == "missing":
        model = _model_at(path[:-1], raw)
        field = model.model_fields.get(path[-1]) if model else None
        about = f": {field.description}" if field is not None and field.description else ""
        return f"required field is missing{about}"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        return text if "(got" in text else text + got
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"unknown value {_show(value)}; {_did_you_mean(str(value), choices)}"
    if kind == "union_tag_not_found":
        return f"expected a distribution with 'dist:' one of {', '.join(DIST_NAMES)} (got no dist)"
    if kind == "union_tag_invalid":
        return f"unknown dist {_show(ctx.get('tag'))}; " + _did_you_mean(
            str(ctx.get("tag")), list(DIST_NAMES))
    if kind in _BOUNDS:
        name, sign = _BOUNDS[kind]
        bound = ctx.get(name)
        if isinstance(bound, float):
            bound = int(bound) if bound.is_integer() and abs(bound) < 1e15 else f"{bound:g}"
        return f"expected a number {sign} {bound}{got}"
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        words = "at least" if kind == "too_short" else "at most"
        entries = ("entr" + ("y" if bound == 1 else "ies")) if isinstance(value, dict) else (
            "item" + ("" if bound == 1 else "s"))
        return f"expected {words} {bound} {entries} (got {ctx.get('actual_length')})"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return f"expected {PATTERN_MEANING.get(pattern, f'text matching {pattern}')}{got}"
    distribution = len(_models(_types_at(path, raw)[0])) > 1
    if kind in ("model_type", "model_attributes_type") and distribution:
        return f"expected a distribution, e.g. {{dist: exponential, mean: 5min}}{got}"
    if kind in _EXPECTED:
        octal = re.fullmatch(r"([-+]?)0+([0-9_]*)", value) if isinstance(value, str) and len(
            value.lstrip("+-")) > 1 else None
        if octal:  # YAML 1.1 would read 010 as 8; it is refused rather than misread
            return (f"{_EXPECTED[kind]} (got {value!r}: YAML does not read a number with a "
                    f"leading 0; write {octal.group(1)}{octal.group(2) or 0})")
        if isinstance(value, str) and _looks_like_a_number_or_bool(value):
            return f"{_EXPECTED[kind]} (got text {value!r}; write it without quotes)"
        return _EXPECTED[kind] + got
    return error["msg"] + got


def _looks_like_a_number_or_bool(text: str) -> bool:
    if text.strip().lower() in ("true", "false", "yes", "no"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _source_of(path: tuple[str, ...], prov: Provenance, top: str) -> str:
    """The file (or ``--set``) that last set or removed a value at or below ``path``.

    ``prov`` is in the order values were set, so for a block-level problem (shares that do not
    sum to 1) this names the file that changed the block last.  For a field that is absent (a
    required field missing) it is the file that set the nearest block around it.
    """
    below = [source for key, source in prov.items() if key[: len(path)] == path]
    if below:
        return below[-1]
    for cut in range(len(path) - 1, -1, -1):
        if path[:cut] in prov:
            return prov[path[:cut]]
    return top


def _to_config_error(exc: pydantic.ValidationError, raw: dict, prov: Provenance,
                     top: str) -> ConfigError:
    """The first problem pydantic found, as a ConfigError, counting the others."""
    errors = exc.errors()
    first = errors[0]
    for error in errors:  # a misspelt key explains the required field found missing beside it
        if error["type"] == "extra_forbidden" and error["loc"][:-1] == first["loc"][:-1]:
            errors = [error] + [e for e in errors if e is not error]
            break
    where = _present_path(raw, errors[0]["loc"])
    original = (errors[0].get("ctx") or {}).get("error")
    if isinstance(original, PathError):  # a block's validator naming a field inside it
        path = where + tuple(original.path.split("."))
        message = original.message
    else:
        path = where
        message = _message(errors[0], raw, path)
    more = sum(1 for e in errors[1:] if _present_path(raw, e["loc"])[: len(where)] != where)
    if more:
        message += f" (and {more} more problem{'s' * (more > 1)})"
    return ConfigError(_source_of(path, prov, top), _dotted(path), message)


# --- entry point ---------------------------------------------------------------------------


def load(path: str | Path, overrides: typing.Sequence[str] = ()) -> LoadedConfig:
    """Read, merge, override and validate a scenario; raise ConfigError on any problem."""
    path = Path(path)
    prov: Provenance = {}
    raw = _resolve(path, (), prov)
    for text in overrides:
        raw = apply_override(raw, text, prov)
    top = _display(_absolute(path))
    try:
        scenario = Scenario.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _to_config_error(exc, raw, prov, top) from None
    except RecursionError:
        raise ConfigError(top, "", "expected a config nested at most a few levels deep") from None
    return LoadedConfig(scenario, raw, prov)
