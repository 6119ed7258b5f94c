"""The regression study config (``kzmig regress``; see ``experiments/migration_factors.toml``).

Every value is checked when the file is read, before any data is loaded or model fitted:
covariance types, kernels, Hausman options, bootstrap weights, draws and level, bandwidths,
lags, trend-type models and orders, model kinds and their ``params``. Option sets come from
the registries of :mod:`kzmig.models`.

Read it by attribute (``cfg.covariance.types``, ``cfg.data.first_year``); every key has a
value (defaults filled in) and sequences are tuples.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, SerializationInfo, field_serializer, model_validator

from kzmig.config.base import ConfigModel, Level, SafeName, Text, Unique, error, fail, toml_repr
from kzmig.config.blocks import DataBlock, StudyConfigBase, dump_data, refuse_data_keys, study_data
from kzmig.config.params import ModelSpecBase, spec_classes
from kzmig.features.builders.factors import BUILDERS
from kzmig.features.data.panel import MISSING_POLICIES
from kzmig.models.panel.bootstrap import SUPPORTED as BOOTSTRAP_KINDS
from kzmig.models.panel.bootstrap import WEIGHTS
from kzmig.features.assessment.typology import DEFAULT_ABS_TOL, DEFAULT_REL_TOL, DEFAULT_ROLL_K, DEFAULT_ROLL_WINDOW
from kzmig.models.panel.design import lag_name
from kzmig.models.panel.discrete import DISCRETE_COV, TREND_ORDER
from kzmig.models.panel.hausman import METHODS as HAUSMAN_METHODS
from kzmig.models.panel.hausman import SIGMAS
from kzmig.models.panel import COV_TYPES, KERNELS
from kzmig.models.registry import DISCRETE_KINDS, PANEL_KINDS, REGISTRY


#: ``[data]`` years of a regression study when the file leaves them out: the outcome years.
DATA_DEFAULTS = {"first_year": 2006, "last_year": 2022}
#: Smallest number of bootstrap draws.
MIN_DRAWS = 99
#: Constructor parameters the command sets itself -> where the user sets them.
RESERVED = {
    "target": "each outcome of [outcomes] targets is estimated in turn",
    "features": "they are [features] columns",
    "cov_type": "every model is estimated with each of [covariance] types",
    "kernel": "it is [covariance] kernel",
    "bandwidth": "it is [covariance] bandwidth",
}


class FeaturesBlock(ConfigModel):
    """``[features]``: builders to run, regressor columns, their lag and the missing-value policy."""

    builders: Annotated[tuple[Literal[tuple(BUILDERS)], ...], Unique] = (  # type: ignore[valid-type]
        "density", "labour", "wages", "attractiveness")
    columns: Annotated[tuple[Text, ...], Field(min_length=1), Unique]
    lag: Annotated[int, Field(ge=0)] = 1
    missing: Literal[MISSING_POLICIES] = "drop"  # type: ignore[valid-type]
    #: columns whose entry is measured: each model refitted without it (``entry.csv``)
    compare_without: Annotated[tuple[Text, ...], Unique] = ()

    @model_validator(mode="after")
    def _compare_without_in_columns(self) -> FeaturesBlock:
        problems = [error(("compare_without", i), f"found {toml_repr(c)}; expected one of columns "
                          f"{toml_repr(list(self.columns))}.", c)
                    for i, c in enumerate(self.compare_without) if c not in self.columns]
        if not problems and self.compare_without and len(self.columns) < 2:
            problems.append(error(("compare_without",), "needs at least one other column to compare; "
                                  f"columns is {toml_repr(list(self.columns))}.", list(self.compare_without)))
        fail(problems)
        return self


class OutcomesBlock(ConfigModel):
    """``[outcomes]``: outcome columns, each estimated in turn (names become folder names)."""

    targets: Annotated[tuple[SafeName, ...], Field(min_length=1), Unique] = ("net_migration_rate_per_1000",)


class CovarianceBlock(ConfigModel):
    """``[covariance]``: each model is estimated with each type; the first is the main table."""

    types: Annotated[tuple[Literal[tuple(COV_TYPES)], ...],  # type: ignore[valid-type]
                     Field(min_length=1), Unique] = ("clustered",)
    kernel: Literal[KERNELS] = "bartlett"  # type: ignore[valid-type]
    bandwidth: Annotated[float, Field(ge=0)] | None = None


class HausmanBlock(ConfigModel):
    """``[hausman]``: fixed against random effects."""

    method: Literal[HAUSMAN_METHODS] = "auto"  # type: ignore[valid-type]
    time_effects: bool = False
    sigma: Literal[SIGMAS] = "separate"  # type: ignore[valid-type]


class BootstrapBlock(ConfigModel):
    """``[bootstrap]``: wild cluster bootstrap of some ``[[models]]`` (``terms = []``: every feature)."""

    models: Annotated[tuple[SafeName, ...], Unique] = ()
    terms: Annotated[tuple[Text, ...], Unique] = ()
    B: Annotated[int, Field(ge=MIN_DRAWS)] = 999
    weights: Literal[tuple(WEIGHTS)] = "webb"  # type: ignore[valid-type]
    level: Level = 0.95
    seed: Annotated[int, Field(ge=0)] = 0


class DiscreteBlock(ConfigModel):
    """``[discrete]``: migration-trend types over rolling windows, explained by lagged features."""

    enabled: bool = True
    window: Annotated[int, Field(ge=2)] = DEFAULT_ROLL_WINDOW
    k: Annotated[int, Field(ge=1)] = DEFAULT_ROLL_K
    rel_tol: Annotated[float, Field(ge=0)] = DEFAULT_REL_TOL
    abs_tol: Annotated[float, Field(ge=0)] = DEFAULT_ABS_TOL
    lag: Annotated[int, Field(ge=0)] = 5
    columns: Annotated[tuple[Text, ...], Unique] = ()
    models: Annotated[tuple[Literal[DISCRETE_KINDS], ...],  # type: ignore[valid-type]
                      Field(min_length=1), Unique] = DISCRETE_KINDS
    cov_type: Literal[tuple(DISCRETE_COV)] = "clustered"  # type: ignore[valid-type]
    order: Annotated[tuple[Literal[TREND_ORDER], ...], Field(min_length=2), Unique] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _k_fits_window(self) -> DiscreteBlock:
        if self.k > self.window // 2:
            fail([error(("k",), f"found {self.k}; k years are averaged at each end of a window of "
                                f"{self.window} years, so k must be at most {self.window // 2}.", self.k)])
        return self


class PlotBlock(ConfigModel):
    """``[plot]``: interval level of the coefficient chart."""

    level: Level = 0.95


class RegressSpecBase(ModelSpecBase):
    """One ``[[models]]`` entry: a unique ``name``, a panel ``kind`` and its ``params``."""

    name: SafeName


#: ``[[models]]`` spec classes by kind.
SPECS = spec_classes({k: REGISTRY[k] for k in PANEL_KINDS}, RegressSpecBase, RESERVED)
#: One ``[[models]]`` entry: the class is chosen by ``kind``.
RegressModelSpec = Annotated[Union[tuple(SPECS.values())], Field(discriminator="kind")]  # type: ignore[valid-type]

class RegressStudyConfig(StudyConfigBase):
    """A regression study: the tables of ``experiments/migration_factors.toml``."""

    data: DataBlock = Field(default_factory=lambda: DataBlock(**DATA_DEFAULTS))
    features: FeaturesBlock
    outcomes: OutcomesBlock = OutcomesBlock()
    models: Annotated[tuple[RegressModelSpec, ...], Field(min_length=1)]
    covariance: CovarianceBlock = CovarianceBlock()
    hausman: HausmanBlock = HausmanBlock()
    bootstrap: BootstrapBlock = BootstrapBlock()
    discrete: DiscreteBlock = DiscreteBlock()
    plot: PlotBlock = PlotBlock()

    @field_serializer("data")
    def _dump_data(self, value: DataBlock, info: SerializationInfo) -> dict[str, Any]:
        return dump_data(value, "regress", info)

    @model_validator(mode="before")
    @classmethod
    def _data_defaults(cls, data: Any) -> Any:
        return study_data(data, DATA_DEFAULTS)

    @model_validator(mode="after")
    def _models_and_bootstrap(self) -> RegressStudyConfig:
        problems, seen = refuse_data_keys(self.data, "regress"), set()
        for i, spec in enumerate(self.models):
            if spec.name in seen:
                problems.append(error(("models", i, "name"), f"found {toml_repr(spec.name)} a second time; "
                                                             "model names must be unique.", spec.name))
            seen.add(spec.name)
        by_name = {s.name: s for s in self.models}
        boot = self.bootstrap
        for i, name in enumerate(boot.models):
            spec = by_name.get(name)
            if spec is None:
                problems.append(error(("bootstrap", "models", i), f"found {toml_repr(name)}; expected a name of "
                                      f"[[models]]: {toml_repr(list(by_name))}.", name))
            elif spec.kind not in BOOTSTRAP_KINDS:
                problems.append(error(("bootstrap", "models", i), f"found {toml_repr(name)}, a {spec.kind} model; "
                                      f"the wild bootstrap supports kinds {toml_repr(BOOTSTRAP_KINDS)}.", name))
        lags = {by_name[n].params.get("lag", self.features.lag) for n in boot.models if n in by_name}
        terms = [lag_name(c, lag) for lag in sorted(lags) for c in self.features.columns]
        problems += [error(("bootstrap", "terms", i), f"found {toml_repr(t)}; a term is a [features] column as it "
                           f"enters the bootstrapped models: one of {toml_repr(terms)}.", t)
                     for i, t in enumerate(boot.terms) if t not in terms]
        fail(problems)
        return self

    @property
    def name(self) -> str:
        """The study's name: the config file's name without ``.toml`` (``"regress"`` when not from a file)."""
        return self.path.stem if self.path is not None else "regress"
