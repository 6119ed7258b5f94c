"""Blocks shared by the studies: ``[study]``, ``[data]``, ``[backtest]``, ``[forecast]``,
``[targets]``, ``[breaks]``, ``[reconciliation]`` and ``[population]``.

Option sets come from the registries of the modules that use them (views and borders of
:mod:`kzmig.features.dataset`, break treatments of :mod:`kzmig.models.forecast_base`,
reconciliation methods of :mod:`kzmig.forecast.reconcile`), so a new option is added in one place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, WithJsonSchema, model_validator

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
from kzmig.core.parallel import BACKENDS, Backend, tcp_host_port
from kzmig.features.dataset import VIEWS
from kzmig.features.panel import YEAR_RANGE
from kzmig.features.regions import BORDERS
from kzmig.forecast.reconcile import METHODS as RECONCILE_METHODS
from kzmig.models.forecast_base import BREAK_TREATMENTS


#: ``[forecast] conformal``: which models get conformal intervals from backtest errors.
CONFORMAL = ("missing", "all", "none")
#: ``[forecast] select_by``: backtest metric that selects the model.
SELECT_BY = ("mase", "mae", "rmse")
#: Largest ``[backtest] horizon``.
MAX_HORIZON = 30


class StudyConfigBase(ConfigModel):
    """A whole study file: remembers the file it came from (set by the loader)."""

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")

    @property
    def path(self) -> Path | None:
        """The config file (``None`` when the config was not loaded from a file)."""
        return self._path

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes (``""`` when not loaded from a file)."""
        return self._sha256


class StudyBlock(ConfigModel):
    """``[study]``: the study's name (a folder name under ``runs/``) and a description."""

    name: SafeName
    description: str = ""


class DataSource(ConfigModel):
    """Which view of the data: ``view`` and, for the harmonised view, fixed ``borders``.

    ``borders`` defaults to 2018 for the harmonised view and to nothing for the current
    one; giving ``borders`` with ``view = "current"`` is an error.
    """

    view: Literal[VIEWS] = "harmonised"  # type: ignore[valid-type]
    borders: Literal[BORDERS] | None = 2018  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _no_default_borders_for_current(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("view") == "current" and "borders" not in data:
            return {**data, "borders": None}
        return data

    @model_validator(mode="after")
    def _borders_match_view(self) -> DataSource:
        if self.view == "current" and self.borders is not None:
            fail([error(("borders",), f"found {self.borders}; borders apply only to view = \"harmonised\", "
                                      "remove it for view = \"current\".", self.borders)])
        if self.view == "harmonised" and self.borders is None:
            fail([error(("borders",), "view = \"harmonised\" needs borders = "
                                      + " or ".join(map(str, BORDERS)) + ".")])
        return self


class DataBlock(DataSource):
    """``[data]`` of a forecast study: view, borders, optional year window, national series."""

    first_year: Year | None = None
    last_year: Year | None = None
    national: bool = True

    @model_validator(mode="after")
    def _years_ordered(self) -> DataBlock:
        if self.first_year is not None and self.last_year is not None and self.first_year >= self.last_year:
            fail([error(("last_year",), f"found {self.last_year}; last_year must be after first_year = "
                                        f"{self.first_year}.", self.last_year)])
        return self


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
