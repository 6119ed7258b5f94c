"""pydantic's ``ValidationError`` as one :class:`~kzmig.core.errors.ConfigError` message.

Each problem becomes one line: the key path in dotted TOML form (``backtest.horizon``,
``forecast.levels[0]``, ``models.gbm.params.lags``, ``models[2].name``), what was found and
what is allowed (the choices of a ``Literal``, the range of a number, the keys of a table,
with a close match for a mistyped key)::

    study.toml: 2 problems in this forecast config:
      - backtest.horizon: found "3" (a string); expected an integer from 1 to 30
      - forecast.levels[0]: found 1.2 (a number); expected a number > 0 and < 1

The expected part is read from the schema itself (types, ``Literal`` choices, ``Field``
bounds and :class:`~kzmig.config.base.Hint` texts), so it never drifts from what is checked.
"""
from __future__ import annotations

import difflib
import inspect
import logging
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema

from kzmig.config.base import ERROR_TYPE, Hint, toml_repr
from kzmig.core.errors import ConfigError

logger = logging.getLogger(__name__)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else toml_repr(k)


def _unwrap(t: Any, meta: Sequence[Any] = ()) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` and ``X | None``; collect the metadata (``FieldInfo`` flattened)."""
    meta = list(meta)
    while True:
        if get_origin(t) is Annotated:
            t, *more = get_args(t)
            meta += more
        elif get_origin(t) in (Union, types.UnionType) and type(None) in get_args(t):
            rest = [a for a in get_args(t) if a is not type(None)]
            t = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            break
    flat = []
    for m in meta:
        flat += m.metadata if isinstance(m, FieldInfo) else [m]
    return t, flat


def _is_model(t: Any) -> bool:
    return inspect.isclass(t) and issubclass(t, BaseModel)


def _field(model: type[BaseModel], key: Any) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    """Keys a table takes (those kept out of the JSON Schema are refused ones, not listed)."""
    return [info.alias or name for name, info in model.model_fields.items()
            if not any(isinstance(m, SkipJsonSchema) for m in info.metadata)]


def _kinds(t: Any) -> list[str] | None:
    """The ``kind`` values of a discriminated union of models, else None."""
    members = get_args(t)
    if members and all(_is_model(m) and "kind" in m.model_fields for m in members):
        return [a for m in members for a in get_args(m.model_fields["kind"].annotation)]
    return None


def _bounds(meta: Sequence[Any]) -> tuple[dict[str, Any], int | None, str | None]:
    b = {k: getattr(m, k) for m in meta for k in ("ge", "gt", "le", "lt") if getattr(m, k, None) is not None}
    min_len = next((m.min_length for m in meta if getattr(m, "min_length", None)), None)
    pattern = next((m.pattern for m in meta if getattr(m, "pattern", None)), None)
    return b, min_len, pattern


def describe(t: Any, meta: Sequence[Any] = ()) -> str:
    """What a value of type ``t`` (with ``meta`` constraints) may be, in words."""
    t, meta = _unwrap(t, meta)
    hint = next((m.text for m in meta if isinstance(m, Hint)), None)
    if hint:
        return hint
    origin, args = get_origin(t), get_args(t)
    bounds, min_len, pattern = _bounds(meta)
    if t is Any:
        return "any value"
    if origin is Literal:
        return ("one of " if len(args) > 1 else "") + ", ".join(toml_repr(a) for a in args)
    if origin in (Union, types.UnionType):
        kinds = _kinds(t)
        if kinds:
            return "a table with kind = one of " + ", ".join(map(toml_repr, kinds))
        return " or ".join(describe(a) for a in args)
    if t is bool:
        return "true or false"
    if t in (int, float):
        word = "an integer" if t is int else "a number"
        lo = (">=", bounds["ge"]) if "ge" in bounds else (">", bounds["gt"]) if "gt" in bounds else None
        hi = ("<=", bounds["le"]) if "le" in bounds else ("<", bounds["lt"]) if "lt" in bounds else None
        if lo and hi and lo[0] == ">=" and hi[0] == "<=":
            return f"{word} from {lo[1]} to {hi[1]}"
        return " and ".join([word + (f" {lo[0]} {lo[1]}" if lo else "")] + ([f"{hi[0]} {hi[1]}"] if hi else []))
    if t is str:
        return ("a non-empty string" if min_len else "a string") + (f" matching {pattern}" if pattern else "")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ("a non-empty list" if min_len else "a list") + f"; each item {describe(args[0])}"
        return f"a list of {len(args)} items: " + "; ".join(describe(a) for a in args)
    if origin is dict:
        return f"a table of named entries, each {describe(args[1])}"
    if _is_model(t):
        return "a table with keys " + ", ".join(_keys(t))
    return getattr(t, "__name__", str(t))


def _found(v: Any) -> str:
    word = ("a boolean" if isinstance(v, bool) else "an integer" if isinstance(v, int) else
            "a number" if isinstance(v, float) else "a string" if isinstance(v, str) else
            "an array" if isinstance(v, (list, tuple)) else "a table" if isinstance(v, dict) else
            type(v).__name__)
    return f"{toml_repr(v)} ({word})"


def _walk(root: type[BaseModel], loc: Sequence[Any], raw: Any) -> tuple[str, Any, list[Any], Any, str]:
    """Follow ``loc`` through the types: (path, type, metadata, parent type, parent path)."""
    t, meta, path, node = root, [], "", raw
    parent, parent_path, key_type = root, "", Any
    for el in loc:
        t, meta = _unwrap(t, meta)
        if el == "[key]":  # the key of a table of named entries failed, not its value
            path += " (the table name)"
            t, meta = key_type, []
            continue
        if get_origin(t) in (Union, types.UnionType):
            kinds = _kinds(t)
            tag = node.get("kind") if isinstance(node, dict) else None
            if kinds and (el in kinds or tag in kinds):  # a model chosen by its kind
                t = next(m for m in get_args(t) if (el if el in kinds else tag)
                         in get_args(m.model_fields["kind"].annotation))
                meta = []
                if el in kinds:
                    continue
            elif isinstance(el, int) or (isinstance(node, dict) and el in node):
                t, meta = Any, []
            else:  # pydantic's name of a union member, not a key: describe the whole union
                continue
        parent, parent_path = t, path
        if _is_model(t):
            info = _field(t, el)
            path += ("." if path else "") + _key(str(el))
            t, meta = (info.annotation, list(info.metadata)) if info else (Any, [])
        elif get_origin(t) is dict:
            path += ("." if path else "") + _key(str(el))
            key_type, t, meta = get_args(t)[0], get_args(t)[1], []
        elif isinstance(el, int):
            args = get_args(t)
            path += f"[{el}]"
            if isinstance(node, (list, tuple)) and el < len(node) and isinstance(node[el], dict) \
                    and isinstance(node[el].get("name"), str):
                path += f" (name = {toml_repr(node[el]['name'])})"
            t = args[0] if len(args) == 2 and args[1] is Ellipsis else args[el] if el < len(args) else Any
            meta = []
        else:
            path += ("." if path else "") + _key(str(el))
            t, meta = Any, []
        if isinstance(node, dict) and el in node:
            node = node[el]
        elif isinstance(node, (list, tuple)) and isinstance(el, int) and el < len(node):
            node = node[el]
        else:
            node = None
    return path, t, meta, parent, parent_path


def _line(root: type[BaseModel], err: dict[str, Any], raw: Any) -> str:
    path, t, meta, parent, parent_path = _walk(root, err["loc"], raw)
    kind, value = err["type"], err.get("input")
    where = path or "(top level)"
    if kind == ERROR_TYPE:
        return f"{where}: {err['ctx']['message'].rstrip('.')}"
    if kind == "extra_forbidden":
        keys = _keys(parent) if _is_model(parent) else []
        close = difflib.get_close_matches(str(err["loc"][-1]), keys, n=1)
        table = f"[{parent_path}]" if parent_path else "the top level"
        return (f"{where}: unknown key; {table} takes " + (", ".join(keys) if keys else "no keys")
                + (f" (did you mean {close[0]}?)" if close else ""))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(map(toml_repr, _kinds(_unwrap(t)[0]) or []))
        tag = value.get("kind") if isinstance(value, dict) else None
        found = "missing" if kind == "union_tag_not_found" else f"found {_found(tag)}"
        return f"{where}.kind: {found}; expected one of {kinds}"
    if kind == "missing":
        return f"{where}: missing; expected {describe(t, meta)}"
    return f"{where}: found {_found(value)}; expected {describe(t, meta)}"


def config_error(err: ValidationError, root: type[BaseModel], raw: Any, source: str, kind: str) -> ConfigError:
    """One :class:`ConfigError` naming ``source`` and listing every problem of ``err``."""
    errors = err.errors()
    locs = [tuple(e["loc"]) for e in errors]
    lines: list[str] = []
    for e, loc in zip(errors, locs, strict=True):
        if e["type"] == "too_short" and any(o[:len(loc)] == loc and len(o) > len(loc) for o in locs):
            continue  # an item failed, so fewer are left: the item's own error says it
        line = _line(root, e, raw)
        if line not in lines:
            lines.append(line)
    n = len(lines)
    head = f"{source}: {n} problem{'s' if n > 1 else ''} in this {kind} config:"
    logger.debug("%s", head)
    return ConfigError(head + "".join(f"\n  - {line}" for line in lines))
