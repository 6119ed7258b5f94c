"""The forecast study config (``kzmig forecast``; see ``experiments/net_migration.toml``).

Attribute access, as :mod:`kzmig.studies.forecast` reads it: ``cfg.name``, ``cfg.models`` (a tuple of specs with ``name``,
``kind``, ``params``, ``members``, ``combine``; members come before the ensembles that use
them, whatever the order in the file), ``cfg.data``, ``cfg.targets``, ``cfg.breaks`` (the
treatment, a string), ``cfg.backtest``, ``cfg.forecast``, ``cfg.reconciliation``,
``cfg.population``, ``cfg.path`` and ``cfg.sha256``.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SerializationInfo, field_serializer, field_validator, model_validator

from kzmig.config.base import SafeName, error, fail, toml_repr
from kzmig.config.blocks import (
    BacktestBlock,
    BreaksBlock,
    DataBlock,
    ExecutionBlock,
    ForecastBlock,
    PopulationBlock,
    ReconciliationBlock,
    StudyBlock,
    StudyConfigBase,
    TargetsBlock,
    dump_data, refuse_data_keys,
)
from kzmig.config.params import FORECAST_RESERVED, ForecasterSpec, follow_registry


#: Constructor parameters the study sets itself -> where the user sets them.
RESERVED = FORECAST_RESERVED
#: One ``[models.<name>]`` table: the class is chosen by ``kind`` among the registered forecasters.
ForecastModelSpec = ForecasterSpec


def _dependency_order(specs: dict[str, Any]) -> tuple[Any, ...]:
    """Specs with every ensemble after its members (file order otherwise); errors name the key."""
    problems = []
    for name, spec in specs.items():
        for i, m in enumerate(spec.members):
            if m == name or m not in specs:
                others = [n for n in specs if n != name]
                problems.append(error((name, "members", i), f"found {toml_repr(m)}; a member must be another "
                                                            f"model of the study: {toml_repr(others)}.", m))
    fail(problems)
    done: dict[str, Any] = {}
    while len(done) < len(specs):
        ready = [n for n, s in specs.items() if n not in done and all(m in done for m in s.members)]
        if not ready:
            loop = [n for n in specs if n not in done]
            fail([error((n, "members"), f"ensembles {toml_repr(loop)} are members of each other (a cycle); "
                                        "an ensemble cannot contain itself.", specs[n].members) for n in loop])
        done.update((n, specs[n]) for n in ready)
    return tuple(done.values())


@follow_registry
class ForecastStudyConfig(StudyConfigBase):
    """A forecasting study: ``[study]``, ``[data]``, ``[targets]``, ``[breaks]``, ``[models.<name>]``,
    ``[backtest]``, ``[forecast]``, ``[reconciliation]``, ``[population]`` and ``[execution]``.

    Only ``[study] name`` and at least one model are required; every other key has the
    default of the old parser (see each block).
    """

    study: StudyBlock
    data: DataBlock = Field(default_factory=DataBlock)
    targets: TargetsBlock = TargetsBlock()
    breaks_table: BreaksBlock = Field(default=BreaksBlock(), alias="breaks")
    models: Annotated[dict[SafeName, ForecastModelSpec], Field(min_length=1)]
    backtest: BacktestBlock = BacktestBlock()
    forecast: ForecastBlock = ForecastBlock()
    reconciliation: ReconciliationBlock = ReconciliationBlock()
    population: PopulationBlock = PopulationBlock()
    execution: ExecutionBlock = ExecutionBlock()

    @field_validator("models", mode="after")
    @classmethod
    def _named_in_dependency_order(cls, value: dict[str, Any]) -> tuple[Any, ...]:
        for name, spec in value.items():
            spec._name = name
        return _dependency_order(value)

    @field_serializer("data")
    def _dump_data(self, value: DataBlock, info: SerializationInfo) -> dict[str, Any]:
        return dump_data(value, "forecast", info)

    @field_serializer("models")
    def _dump_models(self, value: tuple[Any, ...]) -> dict[str, Any]:
        return {s.name: s.model_dump(by_alias=True) for s in value}

    @model_validator(mode="after")
    def _population_refers_to_study(self) -> ForecastStudyConfig:
        pop, problems = self.population, refuse_data_keys(self.data, "forecast")
        if pop.enabled and pop.migration_target not in self.targets.names:
            problems.append(error(("population", "migration_target"),
                                  f"found {toml_repr(pop.migration_target)}; it must be one of [targets] names = "
                                  f"{toml_repr(self.targets.names)}.", pop.migration_target))
        names = [m.name for m in self.models]
        if pop.model != "selected" and pop.model not in names:
            problems.append(error(("population", "model"),
                                  f"found {toml_repr(pop.model)}; expected \"selected\" or a model of the study: "
                                  f"{toml_repr(names)}.", pop.model))
        fail(problems)
        return self

    @property
    def name(self) -> str:
        """``[study] name``."""
        return self.study.name

    @property
    def breaks(self) -> str:
        """``[breaks] treatment``."""
        return self.breaks_table.treatment
