"""The study configuration of ``kzmig regress``: TOML parsed into a frozen dataclass.

Every section and key is known in advance (:data:`SCHEMA`); an unknown or mistyped one is
a :class:`~features.errors.ConfigError` naming the key and the file, the way pyfixest
collects estimation arguments in one checked object.
"""
from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kzmig.core.errors import ConfigError
from kzmig.models.registry import DISCRETE_KINDS, PANEL_KINDS

#: section -> key -> (accepted types, default); a default of ``...`` means required.
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "data": {"view": ((str,), "harmonised"), "borders": ((int,), None),
             "years": ((list,), [2006, 2022]), "breaks": ((str,), "drop")},
    "features": {"builders": ((list,), ["density", "labour", "wages", "attractiveness"]),
                 "columns": ((list,), ...), "lag": ((int,), 1), "missing": ((str,), "drop")},
    "outcomes": {"targets": ((list,), ["net_migration_rate_per_1000"])},
    "covariance": {"types": ((list,), ["clustered"]), "kernel": ((str,), "bartlett"),
                   "bandwidth": ((int, float), None)},
    "hausman": {"method": ((str,), "auto"), "time_effects": ((bool,), False),
                "sigma": ((str,), "separate")},
    "bootstrap": {"models": ((list,), []), "terms": ((list,), []), "B": ((int,), 999),
                  "weights": ((str,), "webb"), "level": ((float,), 0.95),
                  "seed": ((int,), 0)},
    "discrete": {"enabled": ((bool,), True), "window": ((int,), 5), "k": ((int,), 2),
                 "rel_tol": ((float, int), 0.2), "abs_tol": ((float, int), 0.5),
                 "lag": ((int,), 5), "columns": ((list,), []),
                 "models": ((list,), list(DISCRETE_KINDS)), "cov_type": ((str,), "clustered"),
                 "order": ((list,), None)},
    "plot": {"level": ((float,), 0.95)},
}
MODEL_KEYS = {"name", "kind", "params"}
#: What to do with outcome years flagged ``break:*`` (census re-basing, territory transfers):
#: "drop" leaves them out of the estimation sample (default), "keep" uses them as published.
BREAK_POLICIES = ("drop", "keep")


@dataclass(frozen=True)
class ModelSpec:
    """One continuous model of the study: unique ``name``, registry ``kind``, ``params``."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegressConfig:
    """A parsed, checked study configuration (see ``experiments/migration_factors.toml``)."""

    path: Path
    sha256: str
    sections: Mapping[str, Mapping[str, Any]]
    models: tuple[ModelSpec, ...]

    def get(self, section: str, key: str) -> Any:
        """Value of ``[section] key`` (the default when the file leaves it out)."""
        return self.sections[section][key]


def _fail(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"{path}: {msg}")


def _section(path: Path, name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    spec = SCHEMA[name]
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown} in [{name}]; valid keys: {sorted(spec)}.")
    out = {}
    for key, (types, default) in spec.items():
        if key not in raw:
            if default is ...:
                raise _fail(path, f"[{name}] {key} is required.")
            out[key] = default
            continue
        val = raw[key]
        if isinstance(val, bool) and bool not in types or not isinstance(val, types):
            want = " or ".join(t.__name__ for t in types)
            raise _fail(path, f"[{name}] {key} = {val!r} must be {want}.")
        out[key] = val
    return out


def _models(path: Path, raw: Any) -> tuple[ModelSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "needs at least one [[models]] table with name and kind.")
    specs = []
    for i, m in enumerate(raw):
        unknown = sorted(set(m) - MODEL_KEYS)
        if unknown:
            raise _fail(path, f"unknown key(s) {unknown} in [[models]] #{i + 1}; "
                              f"valid keys: {sorted(MODEL_KEYS)}.")
        if "name" not in m or "kind" not in m:
            raise _fail(path, f"[[models]] #{i + 1} needs both name and kind.")
        if m["kind"] not in PANEL_KINDS:
            raise _fail(path, f"[[models]] {m['name']!r}: kind={m['kind']!r} is not a panel "
                              f"model; choose one of {list(PANEL_KINDS)}.")
        specs.append(ModelSpec(str(m["name"]), str(m["kind"]), dict(m.get("params", {}))))
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _fail(path, f"model names {dup} are used more than once.")
    return tuple(specs)


def load_config(path: Path) -> RegressConfig:
    """Read and check a study TOML.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown sections or keys, wrong types, missing required keys,
        duplicate model names, bootstrap models that are not in [[models]], bad years.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
        raw = tomllib.loads(blob.decode("utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found.") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err}).") from err
    unknown = sorted(set(raw) - set(SCHEMA) - {"models"})
    if unknown:
        raise _fail(path, f"unknown section(s) {unknown}; valid: {sorted([*SCHEMA, 'models'])}.")
    sections = {name: _section(path, name, raw.get(name, {})) for name in SCHEMA}
    models = _models(path, raw.get("models"))
    years = sections["data"]["years"]
    if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] >= years[1]:
        raise _fail(path, f"[data] years = {years!r} must be [first, last] with first < last.")
    if sections["data"]["breaks"] not in BREAK_POLICIES:
        raise _fail(path, f"[data] breaks = {sections['data']['breaks']!r}; choose one of {BREAK_POLICIES}.")
    missing = sorted(set(sections["bootstrap"]["models"]) - {m.name for m in models})
    if missing:
        raise _fail(path, f"[bootstrap] models {missing} are not names of [[models]].")
    if not sections["features"]["columns"]:
        raise _fail(path, "[features] columns is empty.")
    return RegressConfig(path=path, sha256=hashlib.sha256(blob).hexdigest(),
                         sections=sections, models=models)
