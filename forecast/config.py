"""A forecasting study config (TOML) parsed into frozen dataclasses.

Every table and key is known in advance; an unknown key is an error naming the key and the
file, so a typo never silently falls back to a default. See ``experiments/net_migration.toml``.
"""
from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kzmig.core.errors import ConfigError

logger = logging.getLogger(__name__)

BREAKS = ("bridge", "dummy", "keep")
CONFORMAL = ("missing", "all", "none")
RECONCILE_METHODS = ("ols", "wls", "mint_shrink")


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which view of the shipped dataset (or ``--data`` file) to read."""

    view: str = "harmonised"
    borders: int | None = 2018
    first_year: int | None = None
    last_year: int | None = None
    national: bool = True


@dataclass(frozen=True)
class TargetsConfig:
    """``[targets]``: series to forecast; ``additive`` ones are reconciled to the national total."""

    names: tuple[str, ...] = ("net_migration",)
    additive: tuple[str, ...] = ("net_migration",)
    exog: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """``[models.<name>]``: a forecaster ``kind`` (see :mod:`forecast.registry`) and its params."""

    name: str
    kind: str
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    members: tuple[str, ...] = ()
    combine: str = "mean"


@dataclass(frozen=True)
class BacktestConfig:
    """``[backtest]``: rolling origins and horizons."""

    origins: tuple[int, ...] = tuple(range(2012, 2022))
    horizon: int = 3
    n_jobs: int = 1


@dataclass(frozen=True)
class ForecastConfig:
    """``[forecast]``: final forecast horizon, levels, intervals and model selection."""

    to_year: int = 2030
    levels: tuple[float, ...] = (0.8, 0.95)
    conformal: str = "missing"
    select_by: str = "mase"


@dataclass(frozen=True)
class ReconcileConfig:
    """``[reconciliation]``: projection methods applied to additive targets."""

    methods: tuple[str, ...] = RECONCILE_METHODS
    use: str = "mint_shrink"


@dataclass(frozen=True)
class PopulationConfig:
    """``[population]``: project population through the balancing equation from a migration forecast."""

    enabled: bool = False
    migration_target: str = "net_migration"
    model: str = "selected"


@dataclass(frozen=True)
class StudyConfig:
    """The whole study; ``path`` and ``sha256`` identify the file it came from."""

    name: str
    models: tuple[ModelSpec, ...]
    data: DataConfig = DataConfig()
    targets: TargetsConfig = TargetsConfig()
    breaks: str = "bridge"
    backtest: BacktestConfig = BacktestConfig()
    forecast: ForecastConfig = ForecastConfig()
    reconciliation: ReconcileConfig = ReconcileConfig()
    population: PopulationConfig = PopulationConfig()
    path: str = ""
    sha256: str = ""


def _fail(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"{path}: {msg}")


def _section(path: Path, cls, table: Any, where: str, convert: dict | None = None):
    if not isinstance(table, dict):
        raise _fail(path, f"[{where}] must be a table, found {type(table).__name__}.")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown} in [{where}]; known keys are {known}.")
    kwargs = {}
    for key, value in table.items():
        kwargs[key] = convert[key](value) if convert and key in convert else value
    return cls(**kwargs)


def _origins(path: Path, value) -> tuple[int, ...]:
    if isinstance(value, dict):
        if set(value) != {"from", "to"}:
            raise _fail(path, f"[backtest] origins table needs exactly 'from' and 'to', found {sorted(value)}.")
        return tuple(range(int(value["from"]), int(value["to"]) + 1))
    return tuple(int(v) for v in value)


def _check(path: Path, name: str, value, valid) -> None:
    if value not in valid:
        raise _fail(path, f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, valid))}.")


def load_config(path: Path | str) -> StudyConfig:
    """Parse a study TOML file.

    Raises
    ------
    ConfigError
        Unreadable TOML, an unknown table or key (naming it and the file), a missing model
        kind, a bad option value, or an ensemble member that is not a model of the study.
    """
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise _fail(path, f"not valid TOML ({err}).") from None
    top = {"study", "data", "targets", "breaks", "models", "backtest", "forecast", "reconciliation", "population"}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise _fail(path, f"unknown table(s) {unknown}; known tables are {sorted(top)}.")
    study = raw.get("study", {})
    if set(study) - {"name", "description"}:
        raise _fail(path, f"unknown key(s) {sorted(set(study) - {'name', 'description'})} in [study]; known keys are ['description', 'name'].")
    if "name" not in study:
        raise _fail(path, "[study] needs a name.")
    breaks = raw.get("breaks", {}).get("treatment", "bridge")
    if set(raw.get("breaks", {})) - {"treatment"}:
        raise _fail(path, f"unknown key(s) {sorted(set(raw['breaks']) - {'treatment'})} in [breaks]; known keys are ['treatment'].")
    _check(path, "breaks.treatment", breaks, BREAKS)
    tup = lambda v: tuple(v)  # noqa: E731
    data = _section(path, DataConfig, raw.get("data", {}), "data")
    targets = _section(path, TargetsConfig, raw.get("targets", {}), "targets", {"names": tup, "additive": tup, "exog": tup})
    backtest = _section(path, BacktestConfig, raw.get("backtest", {}), "backtest", {"origins": lambda v: _origins(path, v)})
    forecast = _section(path, ForecastConfig, raw.get("forecast", {}), "forecast", {"levels": lambda v: tuple(float(x) for x in v)})
    rec = _section(path, ReconcileConfig, raw.get("reconciliation", {}), "reconciliation", {"methods": tup})
    _check(path, "forecast.conformal", forecast.conformal, CONFORMAL)
    for m in (*rec.methods, rec.use):
        _check(path, "reconciliation method", m, RECONCILE_METHODS)
    pop = _section(path, PopulationConfig, raw.get("population", {}), "population")
    if pop.enabled and pop.migration_target not in targets.names:
        raise _fail(path, f"[population] migration_target={pop.migration_target!r} is not in [targets] names {list(targets.names)}.")
    bad_add = sorted(set(targets.additive) - set(targets.names))
    if bad_add:
        raise _fail(path, f"[targets] additive {bad_add} are not in names {list(targets.names)}.")
    models = []
    for name, table in raw.get("models", {}).items():
        if "kind" not in table:
            raise _fail(path, f"[models.{name}] needs a kind.")
        spec = _section(path, ModelSpec, {"name": name, **table}, f"models.{name}",
                        {"params": lambda v: MappingProxyType(dict(v)), "members": tup})
        models.append(spec)
    if not models:
        raise _fail(path, "no [models.<name>] table; give at least one model.")
    names = [m.name for m in models]
    for m in models:
        missing = [x for x in m.members if x not in names or x == m.name]
        if missing:
            raise _fail(path, f"[models.{m.name}] members {missing} are not other models of the study; models are {names}.")
    return StudyConfig(
        name=str(study["name"]), models=tuple(models), data=data, targets=targets, breaks=breaks,
        backtest=backtest, forecast=forecast, reconciliation=rec, population=pop, path=str(path),
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )
