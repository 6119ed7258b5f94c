"""Scenarios of a run: the planner's feature shifts carried through the estimated panel model.

For each ``[scenario.NAME]`` of a run config the effect on the regression outcome (a net
migration rate per 1,000) is coefficient x shift of each lagged feature, with the
coefficients' uncertainty drawn from their estimated covariance; it is turned into persons with
the projected average population and added to the baseline forecast of net migration (its
interval widened by the effect's), reconciled as the baseline is, and population follows
through the balancing equation (:mod:`kzmig.forecast.planning.scenario`).
"""
from __future__ import annotations

import difflib
import logging
from typing import Any

import pandas as pd

from kzmig.config.run_config import RunConfig
from kzmig.core.errors import ConfigError, StudyError
from kzmig.features.builders.factors import factor_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.planning.scenario import (
    average_population,
    between_regions,
    effect_in_persons,
    reconcile_scenario,
    scenario_effect,
    scenario_forecast,
    scenario_population,
    scenario_table,
)
from kzmig.forecast.planning.shifts import apply_shifts, baseline_feature_path
from kzmig.models.forecasters.schema import FORECAST_COLUMNS
from kzmig.studies.base import StudyResult
from kzmig.studies.data import DataSource
from kzmig.studies.forecast import study_panel

logger = logging.getLogger(__name__)


def _model(cfg: RunConfig, regression: StudyResult) -> Any:
    s = cfg.scenarios
    key = f"{s.outcome}/{s.model}"
    if key not in regression.models:
        have = sorted(regression.models)
        raise ConfigError(f"{cfg.path}: scenarios.model = {s.model!r} with outcome {s.outcome!r} was not estimated "
                          f"by the regression study (models saved: {have}).")
    return regression.models[key].estimator


def _check_features(cfg: RunConfig, model: Any) -> None:
    features = list(model.features)
    for name, block in cfg.scenario.items():
        for i, shift in enumerate(block.shifts):
            if shift.feature not in features:
                close = difflib.get_close_matches(shift.feature, features, n=1)
                raise ConfigError(
                    f"{cfg.path}: scenario.{name}.shifts[{i}].feature = {shift.feature!r} is not a feature of the "
                    f"panel model {cfg.scenarios.model!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                    + f"; its features are {features}.")


def _baseline(forecast: StudyResult, target: str) -> pd.DataFrame:
    fc = forecast.tables["forecasts"]
    sel = fc.loc[(fc["target"] == target) & fc["selected"].astype(bool)]
    if sel.empty:
        raise StudyError(f"scenarios: the forecast study has no selected forecast of {target!r}.")
    return sel.reset_index(drop=True)


def scenario_part(cfg: RunConfig, source: DataSource, regression: StudyResult, forecast: StudyResult) -> StudyResult:
    """Run every ``[scenario.NAME]`` of ``cfg`` against the baseline of ``forecast``.

    Raises
    ------
    ConfigError
        A shifted feature the panel model does not contain (naming it and the features that
        exist), or a model/outcome the regression study did not estimate.
    """
    s = cfg.scenarios
    model = _model(cfg, regression)
    _check_features(cfg, model)
    fc_cfg = cfg.forecasts[s.forecast]
    baseline = _baseline(forecast, s.target)
    years = sorted(int(y) for y in baseline["year"].unique())
    origin = int(baseline["origin_year"].max())
    rc = cfg.regress
    long = source.long(rc.data.view, rc.data.borders)
    panel, _ = factor_panel(long, builders=rc.features.builders, targets=[], columns=list(model.features),
                            drop_breaks=False)
    regions = sorted(set(panel["region"]) - {NATIONAL})
    base_path = baseline_feature_path(panel, list(model.features), origin_year=origin, until=max(years))
    pop = forecast.tables["population_forecasts"]
    pop = pop.loc[pop["migration_model"] == pop["migration_model"].iloc[0]]
    avg = average_population(pop)
    levels = tuple(sorted(baseline["level"].dropna().unique()))
    wide, _ = study_panel(fc_cfg, source)
    residuals = forecast.tables["backtest_predictions"]
    residuals = residuals.loc[residuals["target"] == s.target]
    method = fc_cfg.reconciliation.use
    effects, forecasts, reports, populations = [], [], [], []
    for name, block in cfg.scenario.items():
        shifted = apply_shifts(base_path, [sh.model_dump() for sh in block.shifts], regions_all=regions)
        eff = scenario_effect(model, base_path, shifted, years=years, n_draws=s.n_draws, seed=s.seed, levels=levels)
        eff = effect_in_persons(eff, avg)
        if s.national == "between_regions":
            eff = between_regions(eff, levels=levels)
        sc = scenario_forecast(baseline[list(FORECAST_COLUMNS)], eff, name=name, levels=levels, seed=s.seed)
        try:
            sc, rep = reconcile_scenario(sc, method=method, residuals=residuals)
        except ValueError as err:  # as the baseline: fall back to OLS when WLS/MinT lack error vectors
            logger.info("scenario %s: reconciliation %s fell back to ols: %s", name, method, err)
            sc, rep = reconcile_scenario(sc, method="ols")
        effects.append(eff.drop(columns=["draws"], errors="ignore").assign(scenario=name))
        forecasts.append(sc.assign(target=s.target))
        reports.append(rep.assign(scenario=name))
        populations.append(scenario_population(wide, sc, levels=levels))
    scen = pd.concat(forecasts, ignore_index=True)
    table = scenario_table(baseline[list(FORECAST_COLUMNS)], {n: f for n, f in scen.groupby("scenario", sort=False)})
    last = table.loc[table["year"] == max(years)]
    summary_cols = ["region", "year", "level", "baseline_point", *[c for c in table.columns if c.endswith("_change")]]
    summary = last.loc[last["level"] == min(levels), [c for c in summary_cols if c in last.columns]]
    return StudyResult(
        study="scenarios", name=cfg.name,
        tables={"scenario_effects": pd.concat(effects, ignore_index=True), "scenario_forecasts": scen,
                "scenario_comparison": table, "scenario_population": pd.concat(populations, ignore_index=True),
                "scenario_reconciliation": pd.concat(reports, ignore_index=True),
                "scenario_summary": summary.reset_index(drop=True)},
        metadata={"seeds": {"scenarios": s.seed}, "model": s.model, "national": s.national, "outcome": s.outcome, "target": s.target,
                  "feature_path": "features held at their last observed value per region after the origin",
                  "scenarios": {n: b.description for n, b in cfg.scenario.items()}},
    )
