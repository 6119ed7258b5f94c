"""Blocks shared by the studies: ``[study]``, ``[data]``, ``[backtest]``, ``[forecast]``,
``[targets]``, ``[breaks]``, ``[reconciliation]`` and ``[population]``.

Option sets come from the registries of the modules that use them (views and borders of
:mod:`kzmig.features.data.dataset`, break treatments of :mod:`kzmig.models.forecasters.forecast_base`,
reconciliation methods of :mod:`kzmig.forecast.engine.reconcile`), so a new option is added in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainValidator, SerializationInfo, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from kzmig.config.base import (
    ConfigModel,
    Hint,
    Level,
    SafeName,
    SortedUnique,
    Text,
    Unique,
    Year,
    error,
    fail,
    toml_repr,
)
from kzmig.core.errors import ConfigError
from kzmig.core.parallel import BACKENDS, Backend, tcp_host_port
from kzmig.features.data.dataset import VIEWS
from kzmig.features.data.panel import YEAR_RANGE
from kzmig.features.data.regions import BORDERS
from kzmig.forecast.engine.reconcile import METHODS as RECONCILE_METHODS
from kzmig.models.forecasters.forecast_base import BREAK_TREATMENTS


#: ``[forecast] conformal``: which models get conformal intervals from backtest errors.
CONFORMAL = ("missing", "all", "none")
#: ``[forecast] select_by``: backtest metric that selects the model.
SELECT_BY = ("mase", "mae", "rmse")
#: Largest ``[backtest] horizon``.
MAX_HORIZON = 30


@dataclass(frozen=True)
class ConfigFile:
    """The file a config was read from and the SHA-256 of its bytes."""

    path: Path | None = None
    sha256: str = ""


def _not_a_key(value: Any) -> Any:
    """Fields the loader sets (by ``model_copy``), never a file: a key of that name is unknown."""
    raise PydanticCustomError("extra_forbidden", "Extra inputs are not permitted")


class StudyConfigBase(ConfigModel):
    """A whole study file: remembers the file it came from.

    The loader records it on a copy (``model_copy(update={"loaded_from": ...})``); a validated
    config is never changed. ``loaded_from`` is not a key of any file, nor part of a dump.
    """

    loaded_from: Annotated[SkipJsonSchema[ConfigFile | None], PlainValidator(_not_a_key)] = Field(
        default=None, exclude=True, repr=False)

    @property
    def path(self) -> Path | None:
        """The config file (``None`` when the config was not loaded from a file)."""
        return self.loaded_from.path if self.loaded_from is not None else None

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes (``""`` when not loaded from a file)."""
        return self.loaded_from.sha256 if self.loaded_from is not None else ""


class StudyBlock(ConfigModel):
    """``[study]``: the study's name (a folder name under ``runs/``) and a description."""

    name: SafeName
    description: str = ""


#: ``[data] breaks``: years flagged ``break:*`` are left out (default) or kept.
BREAK_POLICIES = ("drop", "keep")
#: The keys of ``[data]`` each study reads (a key a study does not read is refused, not ignored).
DATA_KEYS: dict[str, tuple[str, ...]] = {
    "forecast": ("view", "borders", "first_year", "last_year", "national"),
    "regress": ("view", "borders", "first_year", "last_year", "breaks"),
    "assess": ("view", "borders", "first_year", "last_year", "breaks"),
}
#: What each key does, for the message that refuses it in a study that does not read it.
DATA_KEY_ROLE = {
    "national": "the national series of a forecast study",
    "breaks": "break years in a regression or an assessment (a forecast study treats them by [breaks] treatment)",
}


def _old_years(value: Any) -> str:
    first, last = (value[0], value[-1]) if isinstance(value, (list, tuple)) and value else ("<first>", "<last>")
    return (f"years = [first, last] is now two keys of the [data] block every study shares: write "
            f"first_year = {first} and last_year = {last}")


#: Spellings of ``[data]`` keys before the block was shared -> the message that says what to write.
OLD_DATA_KEYS = {"years": _old_years}


class DataBlock(ConfigModel):
    """``[data]``, the same block for every study: which view of the data and which years.

    ``view = "harmonised"`` (fixed ``borders``, default 2018) or ``"current"`` (the regions of
    each year; no ``borders``). ``first_year``/``last_year`` bound the years used (a forecast
    study: default all years of the data; a regression study: the outcome years, default
    2006-2022; an assessment: the period, default 2006-2022). ``national`` (forecast only):
    keep the national series. ``breaks`` (regression and assessment): years flagged as
    breaks (census re-basing, territory transfers) are left out (``"drop"``) or kept.

    A key that a study does not read is refused by that study, naming the key.
    """

    view: Literal[VIEWS] = "harmonised"  # type: ignore[valid-type]
    borders: Literal[BORDERS] | None = 2018  # type: ignore[valid-type]
    first_year: Year | None = None
    last_year: Year | None = None
    national: bool = True
    breaks: Literal[BREAK_POLICIES] = "drop"  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _old_keys_and_current_view(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fail(error((k,), f"found {toml_repr(data[k])}; {OLD_DATA_KEYS[k](data[k])}.", data[k])
             for k in OLD_DATA_KEYS if k in data)
        if data.get("view") == "current" and "borders" not in data:
            return {**data, "borders": None}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DataBlock:
        problems = []
        if self.view == "current" and self.borders is not None:
            problems.append(error(("borders",), f"found {self.borders}; borders apply only to view = \"harmonised\", "
                                                "remove it for view = \"current\".", self.borders))
        if self.view == "harmonised" and self.borders is None:
            problems.append(error(("borders",), "view = \"harmonised\" needs borders = "
                                                + " or ".join(map(str, BORDERS)) + "."))
        if self.first_year is not None and self.last_year is not None and self.first_year >= self.last_year:
            problems.append(error(("last_year",), f"found {self.last_year}; last_year must be after first_year = "
                                                  f"{self.first_year}.", self.last_year))
        fail(problems)
        return self

    def years(self) -> tuple[int, int]:
        """``(first_year, last_year)`` of a study that fills both in (regression, assessment)."""
        if self.first_year is None or self.last_year is None:
            raise ConfigError("data.first_year and data.last_year are needed here; this study's config "
                              "does not fill them in.")
        return self.first_year, self.last_year


def study_data(raw: Any, defaults: dict[str, Any]) -> Any:
    """``raw[\"data\"]`` with the study's defaults filled in (a ``mode="before"`` step of a study config)."""
    if not isinstance(raw, dict):
        return raw
    data = raw.get("data", {})
    if isinstance(data, DataBlock):  # a block built in Python: its keys as given, the study's defaults for the rest
        data = data.model_dump(include=data.model_fields_set)
    if not isinstance(data, dict):
        return raw
    return {**raw, "data": {**defaults, **data}}


def dump_data(data: DataBlock, study: str, info: SerializationInfo) -> dict[str, Any]:
    """``[data]`` as a ``study`` config dumps it: the keys the study reads (a manifest reads back)."""
    return data.model_dump(mode=info.mode, include=set(DATA_KEYS[study]))


def refuse_data_keys(data: DataBlock, study: str) -> list:
    """Problems for the ``[data]`` keys given in a ``study`` config that the study does not read."""
    return [error(("data", k), f"found {toml_repr(getattr(data, k))}; the {study} study does not read data.{k} "
                               f"(it is for {DATA_KEY_ROLE.get(k, 'other studies')}); remove it.", getattr(data, k))
            for k in sorted(data.model_fields_set) if k not in DATA_KEYS[study]]


_YEAR_SCHEMA = {"type": "integer", "minimum": YEAR_RANGE[0], "maximum": YEAR_RANGE[1]}


def _origin_range(value: Any) -> Any:
    """``{from = a, to = b}`` -> ``(a, ..., b)``; anything else is left to the type check."""
    if not isinstance(value, dict):
        return value
    problems = [error((k,), "unknown key; an origins table has exactly the keys from and to.", value[k])
                for k in value if k not in ("from", "to")]
    problems += [error((k,), "missing; an origins table has exactly the keys from and to.")
                 for k in ("from", "to") if k not in value]
    for k in ("from", "to"):
        v = value.get(k)
        if k in value and (type(v) is not int or not YEAR_RANGE[0] <= v <= YEAR_RANGE[1]):
            problems.append(error((k,), f"found {toml_repr(v)}; expected a year from {YEAR_RANGE[0]} to "
                                        f"{YEAR_RANGE[1]}.", v))
    fail(problems)
    if value["from"] > value["to"]:
        fail([error(("to",), f"found {value['to']}; to must not be before from = {value['from']}.", value["to"])])
    return tuple(range(value["from"], value["to"] + 1))


class BacktestBlock(ConfigModel):
    """``[backtest]``: rolling origins (a list of years or ``{from, to}``), horizon, workers."""

    origins: Annotated[tuple[Year, ...], BeforeValidator(_origin_range), Field(min_length=1), SortedUnique,
                       Hint(f"a non-empty list of years {YEAR_RANGE[0]}-{YEAR_RANGE[1]}, "
                            "or a table {from = <year>, to = <year>}"),
                       WithJsonSchema({"anyOf": [
                           {"type": "array", "minItems": 1, "items": _YEAR_SCHEMA},
                           {"type": "object", "additionalProperties": False, "required": ["from", "to"],
                            "properties": {"from": _YEAR_SCHEMA, "to": _YEAR_SCHEMA}}]})] = tuple(range(2012, 2022))
    horizon: Annotated[int, Field(ge=1, le=MAX_HORIZON)] = 3
    #: the older spelling of ``[execution] workers`` (used when that is not given)
    n_jobs: Annotated[int, Field(ge=1)] = 1


class ExecutionBlock(ConfigModel):
    """``[execution]``: where the backtest tasks run; the tables do not depend on it.

    ``backend = "local"`` (default): a process pool of ``workers`` on this machine (1 runs in
    the calling process). ``backend = "dask"``: dask.distributed, on a ``LocalCluster`` of
    ``workers`` processes when ``address`` is not given, or on the existing cluster whose
    scheduler is at ``address`` (e.g. ``"tcp://10.0.0.5:8786"``; its workers need kzmig
    installed). ``workers`` defaults to ``[backtest] n_jobs`` when that is given, else to the
    cores of the machine.
    """

    backend: Literal[BACKENDS] = "local"  # type: ignore[valid-type]
    workers: Annotated[int, Field(ge=1)] | None = None
    address: Text | None = None

    @model_validator(mode="after")
    def _address_needs_dask(self) -> ExecutionBlock:
        if self.address is not None and self.backend != "dask":
            fail([error(("address",), f"found {toml_repr(self.address)}; a scheduler address needs backend = "
                                      f"\"dask\", not {toml_repr(self.backend)}.", self.address)])
        if self.address is not None and tcp_host_port(self.address) is None:
            fail([error(("address",), f"found {toml_repr(self.address)}; a scheduler address is HOST:PORT, "
                                      "optionally with a scheme (\"tcp://10.0.0.5:8786\", \"tls://host:8786\"; "
                                      "other schemes such as ucx:// are passed to dask as they are).", self.address)])
        return self

    def resolve(self, backtest: BacktestBlock | None = None) -> Backend:
        """The :class:`~kzmig.core.parallel.Backend` to run on (``workers`` from ``[backtest] n_jobs``
        when only that is given)."""
        workers = self.workers
        if workers is None and backtest is not None and "n_jobs" in backtest.model_fields_set:
            workers = backtest.n_jobs
        return Backend(self.backend, workers=workers, address=self.address)


class ForecastBlock(ConfigModel):
    """``[forecast]``: final horizon, interval levels, conformal intervals, selection metric.

    ``max_years_ahead`` bounds ``to_year`` minus the last observed year (checked with the
    data by :func:`kzmig.config.checks.check_to_year`); raise it explicitly to go further.
    """

    to_year: Year = 2030
    max_years_ahead: Annotated[int, Field(ge=1)] = 30
    levels: Annotated[tuple[Level, ...], Field(min_length=1), SortedUnique] = (0.8, 0.95)
    conformal: Literal[CONFORMAL] = "missing"  # type: ignore[valid-type]
    select_by: Literal[SELECT_BY] = "mase"  # type: ignore[valid-type]


class TargetsBlock(ConfigModel):
    """``[targets]``: series to forecast; ``additive`` ones are reconciled to the national total."""

    names: Annotated[tuple[SafeName, ...], Field(min_length=1), Unique] = ("net_migration",)
    additive: Annotated[tuple[Text, ...], Unique] = ("net_migration",)
    exog: Annotated[tuple[Text, ...], Unique] = ()

    @model_validator(mode="after")
    def _additive_are_targets(self) -> TargetsBlock:
        fail(error(("additive", i), f"found {toml_repr(a)}; an additive series must be one of names = "
                                    f"{toml_repr(self.names)}.", a)
             for i, a in enumerate(self.additive) if a not in self.names)
        return self


class BreaksBlock(ConfigModel):
    """``[breaks]``: how models treat break years (census re-basing, territory transfers)."""

    treatment: Literal[BREAK_TREATMENTS] = "bridge"  # type: ignore[valid-type]


class ReconciliationBlock(ConfigModel):
    """``[reconciliation]``: methods reported; ``use`` (one of them) gives the final forecasts."""

    methods: Annotated[tuple[Literal[RECONCILE_METHODS], ...],  # type: ignore[valid-type]
                       Field(min_length=1), Unique] = RECONCILE_METHODS
    use: Literal[RECONCILE_METHODS] = "mint_shrink"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _use_is_listed(self) -> ReconciliationBlock:
        if self.use not in self.methods:
            fail([error(("use",), f"found {toml_repr(self.use)}; use must be one of methods = "
                                  f"{toml_repr(self.methods)}.", self.use)])
        return self


class PopulationBlock(ConfigModel):
    """``[population]``: population through the balancing equation from a migration forecast.

    ``model`` is ``"selected"`` (the backtest-selected model) or a model name of the study.
    """

    enabled: bool = False
    migration_target: Text = "net_migration"
    model: Text = "selected"
