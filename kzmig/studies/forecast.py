"""A forecasting study as library code: load -> backtest -> select -> fit -> forecast -> reconcile.

``forecast(config, data=None, *, progress=None) -> StudyResult`` returns the tables
``forecasts`` (long: target, model, region, origin_year, year, point, lower, upper, level,
interval source, reconciled, selected; a national row per target and year),
``forecasts_base``, ``backtest_predictions``, ``backtest_metrics``, ``reconciliation``,
``reconciliation_backtest``, ``fit_report`` and ``population_forecasts`` (with
``[population]``), a fan chart per target and the fitted models. Each step is a library
function of :mod:`kzmig.forecast`; this module wires them and writes nothing.

The selected model's score in ``backtest_metrics`` is optimistic: the selection saw the years
it is scored on. ``accuracy_honest`` scores, from the same backtest (nothing is refitted), a
selection made at each origin only from the errors known there
(:func:`kzmig.forecast.honest.nested_selection`), beside the naive forecast, the mean of the
last years, the historic mean and every model, on the same cells (every year and without break
years), with the ratio of MASE to each of the three baselines and a 90 % interval from a
bootstrap over regions (over origins for a national-only target); ``selection_nested`` lists
the model chosen at each origin.
"""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError, StudyError
from kzmig.features.dataset import load_long, to_wide
from kzmig.features.regions import NATIONAL
from kzmig.features.typology import break_years
from kzmig.forecast.backtest import backtest
from kzmig.forecast.honest import honest_tables
from kzmig.forecast.steps import (
    AGGREGATES,
    backtest_metrics,
    conformal_fallback,
    drop_short,
    final_forecasts,
    interval_source,
    reconcile_target,
    target_series,
    with_conformal_backtest,
)
from kzmig.models.ensemble import Ensemble, select_best
from kzmig.models.forecast_base import BaseForecaster
from kzmig.models.registry import make_model
from kzmig.models.since import Since
from kzmig.models.schema import BREAK_COLUMN, check_nested_levels, coerce_forecast, validate_forecast
from kzmig.reporting.planning_charts import plot_overview
from kzmig.studies.base import Progress, SavedModel, StudyResult, config_meta, no_progress
from kzmig.studies.data import DataArg, open_data

logger = logging.getLogger(__name__)



def build_models(cfg: Any, horizon: int) -> dict[str, BaseForecaster]:
    """Forecasters of the study by name, ensembles wired to their members."""
    models: dict[str, BaseForecaster] = {}
    # members first, whatever the order in the file (the config schema checked that they exist)
    ordered = sorted(cfg.models, key=lambda s: s.kind == "ensemble")
    for spec in ordered:
        if spec.kind == "ensemble":
            members = [(m, models[m]) for m in spec.members]
            est = Ensemble(members, combine=spec.combine, name=spec.name, breaks=cfg.breaks)
        else:
            est = make_model(spec.kind, spec.params, name=spec.name)
            if "breaks" in est.get_params():
                est.set_params(breaks=cfg.breaks)
            if "max_horizon" in est.get_params():
                est.set_params(max_horizon=max(horizon, est.max_horizon))
            if getattr(spec, "first_year", None) is not None:
                est = Since(est, first_year=spec.first_year, name=spec.name, breaks=cfg.breaks)
        models[spec.name] = est
    return {spec.name: models[spec.name] for spec in cfg.models}


#: baseline role of :func:`kzmig.forecast.honest.nested_selection` -> model kind
BASELINE_KINDS = {"naive": "naive", "mean": "window_mean", "historic": "historic_mean"}


def baseline_names(cfg: Any) -> dict[str, str | None]:
    """The study's model for each baseline role: the first of its kind in the file fitted on the
    whole series (else the first of its kind at all); None when the study has none."""
    out: dict[str, str | None] = {}
    for role, kind in BASELINE_KINDS.items():
        specs = [s for s in cfg.models if s.kind == kind]
        whole = [s for s in specs if getattr(s, "first_year", None) is None]
        out[role] = (whole or specs)[0].name if specs else None
    return out


def study_panel(cfg: Any, observations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide panel and long flag table of the configured view and years."""
    long = load_long(cfg.data.view, cfg.data.borders if cfg.data.view == "harmonised" else None,
                     observations=observations)
    wide = to_wide(long)
    if cfg.data.first_year is not None:
        wide = wide.loc[wide["year"] >= cfg.data.first_year]
    if cfg.data.last_year is not None:
        wide = wide.loc[wide["year"] <= cfg.data.last_year]
    if not cfg.data.national:
        wide = wide.loc[wide["region"] != NATIONAL]
    return wide.reset_index(drop=True), long


class TargetSkipped(Exception):
    """A target that cannot be forecast (too short); reported in the metadata, not an error."""

    def __init__(self, reason: str, series: list[dict]):
        super().__init__(reason)
        self.reason, self.series = reason, series


def _exog(cfg: Any, models: dict[str, BaseForecaster]) -> list[str]:
    return list(dict.fromkeys([*cfg.targets.exog, *(c for m in models.values() for c in getattr(m, "exog_columns", ()))]))


def run_target(target: str, wide: pd.DataFrame, long: pd.DataFrame, cfg: Any, models: dict[str, BaseForecaster],
               progress: Progress) -> dict:
    """Backtest, select, fit, forecast and reconcile one target; returns its tables."""
    levels = cfg.forecast.levels
    series = target_series(wide, long, target, _exog(cfg, models))
    need = max(getattr(m, "min_length", 2) for m in models.values())
    series, skipped = drop_short(series, need, target)
    if series.empty:
        raise TargetSkipped(f"no series has the {need} years the models need", skipped)
    first, last = int(series["year"].min()), int(series["year"].max())
    origins = [o for o in cfg.backtest.origins if first < o < last]
    if len(origins) < len(cfg.backtest.origins):
        logger.warning("target %s: backtest origins %s lie outside its data %d-%d and are left out.", target,
                       sorted(set(cfg.backtest.origins) - set(origins)), first, last)
    if not origins:
        raise TargetSkipped(f"no backtest origin of {list(cfg.backtest.origins)} lies inside its data {first}-{last}",
                            skipped)
    h_final = cfg.forecast.to_year - last
    if h_final < 1:
        raise ConfigError(f"{cfg.path}: forecast.to_year = {cfg.forecast.to_year} is not after the last data year "
                          f"{last} of {target!r}.")
    source = interval_source(models, cfg.forecast.conformal)
    preds = backtest(series, models, origins=origins, horizon=cfg.backtest.horizon, levels=levels,
                     n_jobs=cfg.backtest.n_jobs, progress=lambda k: progress(f"{target}: backtest", k, len(origins)))
    preds = preds.merge(series[["region", "year", BREAK_COLUMN]], on=["region", "year"], how="left",
                        validate="many_to_one")
    if preds[BREAK_COLUMN].isna().any():  # every target year of a backtest comes from the series
        raise PanelContractError(f"target {target}: backtest rows without a series year: "
                                 f"{preds.loc[preds[BREAK_COLUMN].isna(), ['region', 'year']].head().to_dict('records')}")
    preds[BREAK_COLUMN] = preds[BREAK_COLUMN].astype(bool)
    source, interval_notes = conformal_fallback(preds, source, models, levels, target)
    preds = with_conformal_backtest(preds, source, levels)
    metrics = backtest_metrics(preds, target, levels)
    selected = select_best(metrics.loc[metrics["region"].isin(AGGREGATES)], by=cfg.forecast.select_by)
    honest, nested, honest_note = honest_tables(preds, target, by=cfg.forecast.select_by,
                                                baselines=baseline_names(cfg), selected=selected)
    fc, fitted, fit_report = final_forecasts(series, models, preds, source, h_final, levels)
    check_nested_levels(validate_forecast(fc, source=f"forecasts of {target}"), source=f"forecasts of {target}")
    rec_report = rec_acc = pd.DataFrame()
    final = fc.assign(reconciled="none")
    notes = []
    if target in cfg.targets.additive and cfg.data.national:
        if not series["region"].ne(NATIONAL).any():  # a national-only table: no hierarchy
            notes.append(f"{target}: not reconciled: only the national series, nothing to reconcile")
            logger.info("%s", notes[-1])
            final = fc.assign(reconciled="none: national series only")
        elif skipped:  # a member of the hierarchy is missing: its total cannot be matched by the others
            missing = [row["region"] for row in skipped]
            notes.append(f"{target}: not reconciled, because {missing} are too short to forecast, so the forecast "
                         "regions do not make up the national total")
            logger.warning("%s", notes[-1])
            final = fc.assign(reconciled="none: series missing from the hierarchy")
        else:
            final, rec_report, rec_acc = reconcile_target(fc, preds, target, cfg.reconciliation.methods,
                                                          cfg.reconciliation.use)
    final = final.assign(target=target, selected=final["model"] == selected)
    if len(fit_report):  # which model each region really got, and why (fallbacks)
        final = final.merge(fit_report[["model", "region", "spec", "fallback_reason"]], on=["model", "region"], how="left")
    return {"forecasts": final, "base": fc.assign(target=target), "preds": preds.assign(target=target),
            "metrics": metrics, "reconciliation": rec_report, "reconciliation_backtest": rec_acc,
            "fit_report": fit_report.assign(target=target) if len(fit_report) else fit_report,
            "fitted": fitted, "selected": selected, "skipped": skipped, "series": series, "sources": source,
            "notes": notes, "interval_notes": interval_notes, "honest_notes": [honest_note] if honest_note else [],
            "accuracy_honest": honest, "selection_nested": nested}


def project_population_step(cfg: Any, wide: pd.DataFrame, results: dict) -> pd.DataFrame | None:
    """Population per region through the balancing equation (:func:`kzmig.forecast.population.project_population`)
    from the (reconciled) forecast of ``cfg.population.model`` for ``migration_target``.

    Raises
    ------
    StudyError
        A projected population at or below zero (the migration forecast's trend carried too far).
    """
    if not cfg.population.enabled:
        return None
    from kzmig.forecast.population import project_population

    if cfg.population.migration_target not in results:
        logger.warning("population is not projected: target %s was not forecast.", cfg.population.migration_target)
        return None
    res = results[cfg.population.migration_target]
    model = res["selected"] if cfg.population.model == "selected" else cfg.population.model
    fc = res["forecasts"]
    if model not in set(fc["model"]):
        raise ConfigError(f"{cfg.path}: population.model = {model!r} is not a model of the study; "
                          f"choose one of {sorted(set(fc['model']))} or 'selected'.")
    mig = coerce_forecast(fc.loc[fc["model"] == model, ["model", "region", "origin_year", "year", "point",
                                                        "lower", "upper", "level"]])
    out = project_population(wide, mig, levels=cfg.forecast.levels)
    low = out.loc[out["point"] <= 0]
    if len(low):
        r = low.sort_values("year").iloc[0]
        raise StudyError(f"{cfg.path}: the projected population of {r['region']} falls to {r['point']:,.0f} by "
                         f"{int(r['year'])} ({len(low)} region-years at or below zero): the {model} migration "
                         f"forecast is carried too far; choose an earlier forecast.to_year (now {cfg.forecast.to_year}).")
    logger.info("population projected for %d regions from %s forecasts of %s.", out["region"].nunique(),
                model, cfg.population.migration_target)
    return out.assign(target="population", migration_model=model)


def _target_first(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in ("target",) if c in df.columns] + [c for c in df.columns if c != "target"]]


def _saved_models(target: str, res: dict, cfg: Any, data_meta: dict) -> dict[str, SavedModel]:
    series, metrics = res["series"], res["metrics"]
    out = {}
    for name, est in res["fitted"].items():
        out[f"{target}/{name}"] = SavedModel(est, {
            "study": cfg.name, "target": target, "model": name, "config_sha256": cfg.sha256,
            "data": {"path": data_meta["path"], "sha256": data_meta["sha256"]},
            "origin_year": int(series["year"].max()), "n_rows": int(len(series)),
            "n_regions": int(series["region"].nunique()), "n_years": int(series["year"].nunique()),
            "intervals": res["sources"][name] != "none", "interval_source": res["sources"][name],
            "breaks": cfg.breaks,
            "metrics": metrics.loc[(metrics["model"] == name) & metrics["region"].isin(AGGREGATES),
                                   ["horizon", "mae", "rmse", "mase"]].to_dict("records")})
    return out


#: output table -> key of a target's results, and the columns of an empty table
TABLES = {"forecasts": "forecasts", "forecasts_base": "base", "backtest_predictions": "preds",
          "backtest_metrics": "metrics", "reconciliation": "reconciliation",
          "reconciliation_backtest": "reconciliation_backtest", "fit_report": "fit_report",
          "accuracy_honest": "accuracy_honest", "selection_nested": "selection_nested"}
EMPTY = {"reconciliation": ["target", "model", "origin_year", "year", "method", "incoherence_base",
                            "incoherence_reconciled", "method_used", "fallback_reason"],
         "reconciliation_backtest": ["target", "model", "method", "stage", "mae", "rmse", "mase", "n_origins"],
         "fit_report": ["target", "model", "region", "spec", "fallback_reason"],
         "accuracy_honest": ["target", "aggregate", "model", "role", "study_selected", "cells", "series", "origins",
                             "origins_left_out", "mae", "rmse", "mase", "bias"],
         "selection_nested": ["target", "origin_year", "model", "by", "score", "cells_known", "origins_known",
                              "status"]}


def forecast(config: Any, data: DataArg = None, *, progress: Progress | None = None) -> StudyResult:
    """Run a forecasting study.

    Parameters
    ----------
    config : ForecastStudyConfig
        Validated config (:mod:`kzmig.config`), e.g. ``experiments/net_migration.toml``.
    data : None, path or DataFrame
        The shipped dataset (None), a user file, or a long table.
    progress : callable, optional
        ``progress(step, done, total)``: once per finished backtest origin and per target.

    Raises
    ------
    ConfigError
        A target or model the data cannot support as configured (``forecast.to_year`` not after
        the data, ``forecast.to_year`` more than ``forecast.max_years_ahead`` years past it).
    StudyError
        No target could be forecast (every series too short, no origin inside the data), or a
        projected population at or below zero.
    """
    from kzmig.config.checks import check_to_year

    progress = progress or no_progress
    cfg = config
    source = open_data(data)
    wide, long = study_panel(cfg, source.observations)
    observed = wide[["year", *[c for c in cfg.targets.names if c in wide.columns]]].dropna(how="all", subset=[
        c for c in cfg.targets.names if c in wide.columns])
    if observed.empty:
        raise StudyError(f"{cfg.path}: none of the targets {list(cfg.targets.names)} has a value in {source.label}.")
    check_to_year(cfg.forecast.to_year, int(observed["year"].max()), cfg.forecast.max_years_ahead, source=cfg.path)
    data_meta = source.meta()
    horizon = max(cfg.backtest.horizon, cfg.forecast.to_year - int(wide["year"].max()))
    models = build_models(cfg, horizon)
    results, skipped_targets = {}, {}
    for i, target in enumerate(cfg.targets.names):
        progress(f"{target}: start", i, len(cfg.targets.names))
        try:
            results[target] = run_target(target, wide, long, cfg, models, progress)
        except TargetSkipped as skip:
            logger.warning("target %s is not forecast: %s.", target, skip.reason)
            skipped_targets[target] = {"reason": skip.reason, "series": skip.series}
        progress(f"{target}: done", i + 1, len(cfg.targets.names))
    if not results:
        raise StudyError(f"{cfg.path}: no target could be forecast: "
                         + "; ".join(f"{t}: {s['reason']}" for t, s in skipped_targets.items()))
    population = project_population_step(cfg, wide, results)
    extra = {}
    tables: dict[str, pd.DataFrame] = {}
    if population is not None:
        tables["population_forecasts"] = _target_first(population)
        cols = list(results[cfg.population.migration_target]["forecasts"].columns)
        extra["forecasts"] = population.assign(interval="propagated", reconciled="none", selected=True).reindex(columns=cols)
    for name, key in TABLES.items():
        frames = [r[key] for r in results.values() if len(r[key])] + ([extra[key]] if key in extra else [])
        tables[name] = _target_first(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame(columns=EMPTY.get(key, []))
    notes = [n for r in results.values() for n in r["interval_notes"] + r["notes"] + r["honest_notes"]]
    notes += [f"{t}: no backtest origin has a complete, coherent hierarchy (a series is too short to be "
              "backtested), so reconciliation_backtest.csv has no rows for it"
              for t, r in results.items() if t in cfg.targets.additive and not len(r["reconciliation_backtest"])
              and not r["notes"]]
    figures = {}
    for target, res in results.items():
        if res["forecasts"]["selected"].astype(bool).any():
            figures[f"forecast_{target}"] = plot_overview(wide, res["forecasts"], target,
                                                          breaks=break_years(long, variable=target))
    models_out = {k: v for t, r in results.items() for k, v in _saved_models(t, r, cfg, data_meta).items()}
    observed = [t for t in results if t in wide.columns]
    tables["history"] = wide[["region", "year", *observed]].dropna(how="all", subset=observed).reset_index(drop=True)
    tables["breaks"] = pd.concat([break_years(long, variable=t).assign(target=t) for t in observed],
                                 ignore_index=True)[["target", "region", "year", "flag"]]
    warnings = tuple([f"{t}: not forecast: {s['reason']}" for t, s in skipped_targets.items()] + notes)
    texts = {"config.toml": open(cfg.path, encoding="utf-8").read()} if getattr(cfg, "path", None) else {}
    return StudyResult(
        study="forecast", name=cfg.name, tables=tables, figures=figures, models=models_out, texts=texts,
        warnings=warnings,
        metadata={"config": config_meta(cfg), "data": data_meta,
                  "targets": {t: {"selected": r["selected"], "skipped_series": r["skipped"],
                                  "intervals": r["sources"], "n_series": int(r["series"]["region"].nunique())}
                              for t, r in results.items()},
                  "skipped_targets": skipped_targets, "breaks": cfg.breaks,
                  "origins": list(cfg.backtest.origins), "horizon": cfg.backtest.horizon, "notes": notes,
                  "seeds": {s.name: s.params["random_state"] for s in cfg.models if "random_state" in s.params}},
    )
