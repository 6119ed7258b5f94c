"""DRAFT: the planning-run config that composes studies (to be extended by the run issue).

A run file names the run and holds, each optional, an assessment, a regression study,
forecast studies and scenarios, with the same schemas as the standalone files::

    [run]
    name = "plan_2030"                    # folder name of the run
    description = "..."
    targets = "targets.csv"               # optional CSV, relative to this file

    [assess]                              # AssessStudyConfig
    start = 2006

    [regress]                             # RegressStudyConfig, inline ([regress.features] ...)
    features = { columns = ["unemployment_rate_pct"] }
    [[regress.models]]
    name = "fe"
    kind = "fixed_effects"

    [forecasts.net_migration]             # a ForecastStudyConfig body; [study] may be left out:
    models = { naive = { kind = "naive" } }   # its name is then the table name

    [scenario.jobs]
    description = "unemployment 10 % lower in the cities from 2026"
    shifts = [{ feature = "unemployment_rate_pct", regions = ["almaty_city"], from_year = 2026,
                kind = "relative", value = -0.1 }]

Whether the shifted features, regions and target rows exist is checked with the data.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, model_validator
from pydantic.json_schema import SkipJsonSchema

from kzmig.config.assess_study import AssessStudyConfig
from kzmig.config.base import ConfigModel, FilePath, SafeName, Text, Unique, Year, error, fail, toml_repr
from kzmig.config.blocks import ConfigFile, ExecutionBlock, StudyConfigBase, _not_a_key
from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.config.params import follow_registry
from kzmig.config.regress_study import RegressStudyConfig
from kzmig.features.data.regions import region_codes


#: ``kind`` of a scenario shift: a fraction of the baseline value, or an amount in its unit.
SHIFT_KINDS = ("relative", "absolute")


#: languages of a run's report, workbook and charts (``[run] lang``, ``kzmig run --lang``)
LANGUAGES = ("ru", "en")
#: which planning charts a run draws (``[run] charts``, ``kzmig run --charts``): ``"all"``, a fan chart
#: for every target and region besides the report's; ``"report"``, the charts the report shows only
CHART_SETS = ("all", "report")


class RunBlock(ConfigModel):
    """``[run]``: the run's name (a folder name), a description, an optional targets CSV, the
    language of its report, workbook and charts (``lang``: ``"ru"``, the default, or ``"en"``) and
    which planning charts it draws (``charts``: ``"all"``, the default, writes a fan chart of every
    target and region to ``charts/``; ``"report"`` writes the charts the report shows only -- the
    national and scenario regions' fan charts, overviews, accuracy and state targets: on the main
    job 43 charts instead of 91, and 18 % less CPU time to write the outputs). Tables, workbook and
    report text are the same either way."""

    name: SafeName
    description: str = ""
    targets: FilePath | None = None
    lang: Literal[LANGUAGES] = "ru"  # type: ignore[valid-type]
    charts: Literal[CHART_SETS] = "all"  # type: ignore[valid-type]


class Shift(ConfigModel):
    """One change of a feature in some regions over some years.

    ``kind = "relative"``: the value is multiplied by ``1 + value`` (``-0.1`` = 10 % lower);
    ``"absolute"``: ``value`` is added, in the feature's unit. ``to_year`` omitted = to the
    end of the forecast.
    """

    feature: Text
    regions: Annotated[tuple[Text, ...], Field(min_length=1), Unique] | Literal["all"] = "all"
    from_year: Year
    to_year: Year | None = None
    kind: Literal[SHIFT_KINDS]  # type: ignore[valid-type]
    value: float

    @model_validator(mode="after")
    def _sane(self) -> Shift:
        problems = []
        if self.to_year is not None and self.to_year < self.from_year:
            problems.append(error(("to_year",), f"found {self.to_year}; to_year must not be before from_year = "
                                                f"{self.from_year}.", self.to_year))
        if self.kind == "relative" and self.value <= -1:
            problems.append(error(("value",), f"found {self.value}; a relative shift is a fraction of the baseline "
                                              "and must be > -1 (-1 would remove the whole value).", self.value))
        fail(problems)
        return self


class ScenarioBlock(ConfigModel):
    """``[scenario.<name>]``: a description and the shifts that define the scenario."""

    description: str = ""
    shifts: Annotated[tuple[Shift, ...], Field(min_length=1)]


class ScenarioSettings(ConfigModel):
    """``[scenarios]``: which panel model carries the ``[scenario.NAME]`` shifts into which forecast.

    The effect is estimated on ``outcome`` (a rate per 1,000) by the regression model
    ``model`` and added, in persons, to the selected forecast of ``target`` in the forecast
    study ``forecast``; ``n_draws`` coefficient draws with ``seed``. ``national``:
    ``"between_regions"`` (default) reads the effects as migrants moving between regions (they
    sum to zero each year, the national balance is unchanged: a model with year effects
    identifies only a region's shift relative to the others); ``"sum"`` adds their sum to the
    national forecast.
    """

    forecast: SafeName = "net_migration"
    target: Text = "net_migration"
    outcome: Text = "net_migration_rate_per_1000"
    model: SafeName = "fe_twoway"
    n_draws: Annotated[int, Field(ge=1000, le=200_000)] = 20_000
    seed: Annotated[int, Field(ge=0)] = 20261201
    national: Literal["between_regions", "sum"] = "between_regions"


class SpecialistsBlock(ConfigModel):
    """``[specialists]``: departures (or arrivals) of specialists by education and specialty.

    The national forecast of ``target`` in the forecast study ``forecast`` times each group's
    share observed in the years that have one (composition-based, METHOD.md section 9); a
    ``user_series`` table with annual series by group replaces the assumption for those groups.
    """

    forecast: SafeName = "external_flows"
    target: Text = "external_departures"
    direction: Literal["departures", "arrivals"] = "departures"
    dimensions: Annotated[tuple[Literal["education", "specialty"], ...], Field(min_length=1), Unique] = (
        "education", "specialty")
    user_series: FilePath | None = None
    n_draws: Annotated[int, Field(ge=1000, le=200_000)] = 20_000
    seed: Annotated[int, Field(ge=0)] = 20261122


@follow_registry
class RunConfig(StudyConfigBase):
    """A planning run: ``[run]`` plus optional ``[assess]``, ``[regress]``, ``[forecasts.<study>]``
    and ``[scenario.<name>]`` tables."""

    run: RunBlock
    assess: AssessStudyConfig | None = None
    regress: RegressStudyConfig | None = None
    forecasts: dict[SafeName, ForecastStudyConfig] = Field(default_factory=dict)
    scenarios: ScenarioSettings = ScenarioSettings()
    scenario: dict[SafeName, ScenarioBlock] = Field(default_factory=dict)
    specialists: SpecialistsBlock | None = None
    #: where every forecast study of the run backtests (replaces their own ``[execution]``)
    execution: ExecutionBlock | None = None

    @model_validator(mode="before")
    @classmethod
    def _study_named_by_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("forecasts"), dict):
            bodies = {k: ({**v, "study": {"name": k}} if isinstance(v, dict) and "study" not in v else v)
                      for k, v in data["forecasts"].items()}
            if data.get("execution") is not None:  # the run's [execution] replaces each study's own
                bodies = {k: ({**v, "execution": data["execution"]} if isinstance(v, dict) else v)
                          for k, v in bodies.items()}
            return {**data, "forecasts": bodies}
        return data

    @model_validator(mode="after")
    def _parts_exist(self) -> RunConfig:
        problems = []
        if self.scenario and self.regress is None:
            problems.append(error(("scenario",), "scenarios need the panel model of a [regress] study; add one.",
                                  sorted(self.scenario)))
        if self.scenario and self.scenarios.forecast not in self.forecasts:
            problems.append(error(("scenarios", "forecast"), f"found {toml_repr(self.scenarios.forecast)}; it must "
                                  f"name a [forecasts.<name>] study: {toml_repr(sorted(self.forecasts))}.",
                                  self.scenarios.forecast))
        if self.scenario and self.regress is not None:
            names = [m.name for m in self.regress.models]
            if self.scenarios.model not in names:
                problems.append(error(("scenarios", "model"), f"found {toml_repr(self.scenarios.model)}; it must name a "
                                      f"[[regress.models]] entry: {toml_repr(names)}.", self.scenarios.model))
            if self.scenarios.outcome not in self.regress.outcomes.targets:
                problems.append(error(("scenarios", "outcome"), f"found {toml_repr(self.scenarios.outcome)}; it must be "
                                      f"an outcome of the regression: {toml_repr(list(self.regress.outcomes.targets))}.",
                                      self.scenarios.outcome))
            features = list(self.regress.features.columns)
            known = set(region_codes(include_national=False))
            for name, block in self.scenario.items():
                for i, shift in enumerate(block.shifts):
                    for j, region in enumerate(() if shift.regions == "all" else shift.regions):
                        if region not in known:
                            close = difflib.get_close_matches(region, sorted(known), n=1)
                            problems.append(error(("scenario", name, "shifts", i, "regions", j),
                                                  f"found {toml_repr(region)}; not a region code"
                                                  + (f" (did you mean {toml_repr(close[0])}?)" if close else "")
                                                  + "; codes are those of data/regions.csv.", region))
                    if shift.feature not in features:
                        problems.append(error(("scenario", name, "shifts", i, "feature"),
                                              f"found {toml_repr(shift.feature)}; the panel model's features are "
                                              f"{toml_repr(features)} (regress.features.columns).", shift.feature))
        if self.scenario and self.scenarios.forecast in self.forecasts:
            names = self.forecasts[self.scenarios.forecast].targets.names
            if self.scenarios.target not in names:
                problems.append(error(("scenarios", "target"), f"found {toml_repr(self.scenarios.target)}; it must be a "
                                      f"target of [forecasts.{self.scenarios.forecast}]: {toml_repr(list(names))}.",
                                      self.scenarios.target))
        sp = self.specialists
        if sp is not None and sp.forecast in self.forecasts and sp.target not in self.forecasts[sp.forecast].targets.names:
            names = self.forecasts[sp.forecast].targets.names
            problems.append(error(("specialists", "target"), f"found {toml_repr(sp.target)}; it must be a target of "
                                  f"[forecasts.{sp.forecast}]: {toml_repr(list(names))}.", sp.target))
        if self.specialists is not None and self.specialists.forecast not in self.forecasts:
            problems.append(error(("specialists", "forecast"), f"found {toml_repr(self.specialists.forecast)}; it "
                                  f"must name a [forecasts.<name>] study: {toml_repr(sorted(self.forecasts))}.",
                                  self.specialists.forecast))
        fail(problems)
        return self

    @model_validator(mode="after")
    def _names_agree(self) -> RunConfig:
        fail(error(("forecasts", k, "study", "name"), f"found {toml_repr(f.name)}; the study's name must be its "
                                                      f"table name {toml_repr(k)} (or leave [study] out).", f.name)
             for k, f in self.forecasts.items() if f.name != k)
        return self

    #: study files named by ``config = "<file>"`` (set by the loader on a copy; not a key)
    referenced_files: Annotated[SkipJsonSchema[dict[str, ConfigFile]], PlainValidator(_not_a_key)] = Field(
        default_factory=dict, exclude=True, repr=False)

    @property
    def references(self) -> dict[str, dict[str, str]]:
        """Study files named by ``config = "<file>"``: ``{table: {"path", "sha256"}}``."""
        return {k: {"path": str(f.path), "sha256": f.sha256} for k, f in self.referenced_files.items()}

    @property
    def name(self) -> str:
        """``[run] name``."""
        return self.run.name

    @property
    def targets(self) -> Path | None:
        """``[run] targets``: the targets CSV (resolved against the run file's folder), or ``None``."""
        return self.run.targets  # type: ignore[return-value]
