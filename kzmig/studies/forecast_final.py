"""Everything a forecasting study does after fitting: forecast, intervals, reconciliation, population.

The forecasting study (:mod:`kzmig.studies.forecast`) backtests, selects and fits; then it calls
:func:`finish_target` for each target with the fitted models, and :func:`final_tables` for the
study. ``kzmig predict`` (:mod:`kzmig.studies.predict`) calls the same two functions with the
models loaded from a run folder (and possibly updated on newer data), so a reproduced run
writes the same tables, byte for byte:

* :func:`finish_target`: forecasts of every fitted model, conformal intervals from the backtest
  residuals and the series' scales, reconciliation with the backtest predictions, the
  selected model flagged, the model each region got;
* :func:`project_population_step`: population from the (reconciled) migration forecast;
* :func:`final_tables`: ``population_forecasts``, ``forecasts``, ``forecasts_base``,
  ``reconciliation``, ``fit_report``, ``history`` and ``breaks``, and the fan charts.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kzmig.core.errors import ConfigError, DataError, PanelContractError, StudyError
from kzmig.features.regions import NATIONAL
from kzmig.features.typology import break_years
from kzmig.forecast.steps import final_forecasts, reconcile_target
from kzmig.models.forecast_base import BaseForecaster
from kzmig.models.schema import check_nested_levels, coerce_forecast, validate_forecast
from kzmig.studies.charts import plot_overview  # a Chart (data); kzmig.reporting draws it when saved

logger = logging.getLogger(__name__)

#: output table -> key of a target's results, and the columns of an empty table
TABLES = {"forecasts": "forecasts", "forecasts_base": "base", "backtest_predictions": "preds",
          "backtest_metrics": "metrics", "reconciliation": "reconciliation",
          "reconciliation_backtest": "reconciliation_backtest", "fit_report": "fit_report",
          "accuracy_honest": "accuracy_honest", "selection_nested": "selection_nested"}
#: the tables of :data:`TABLES` that depend on the fitted models (not on the backtest alone)
FORECAST_TABLES = ("forecasts", "forecasts_base", "reconciliation", "fit_report")
EMPTY = {"reconciliation": ["target", "model", "origin_year", "year", "method", "incoherence_base",
                            "incoherence_reconciled", "method_used", "fallback_reason"],
         "reconciliation_backtest": ["target", "model", "method", "stage", "mae", "rmse", "mase", "n_origins"],
         "fit_report": ["target", "model", "region", "spec", "fallback_reason"],
         "accuracy_honest": ["target", "aggregate", "model", "role", "study_selected", "cells", "series", "origins",
                             "origins_left_out", "mae", "rmse", "mase", "bias"],
         "selection_nested": ["target", "origin_year", "model", "by", "score", "cells_known", "origins_known",
                              "status"]}


def finish_target(target: str, series: pd.DataFrame, fitted: Mapping[str, BaseForecaster], preds: pd.DataFrame,
                  sources: Mapping[str, str], *, selected: str, skipped: Sequence[dict], h: int, cfg: Any) -> dict:
    """Forecast, interval, reconcile and label one target with fitted models.

    Parameters
    ----------
    target : str
    series : DataFrame
        The target's series (``region, year, y[, exog], is_break``), too short series
        already left out; the models were fitted on it (or updated on it).
    fitted : dict of str to forecaster
        Fitted models by name, in the study's order (the order of the forecast rows).
    preds : DataFrame
        The target's backtest predictions (``backtest_predictions.csv`` without ``target``):
        their residuals give the conformal quantiles and the reconciliation's error covariance.
    sources : dict of str to str
        Interval source per model (``"conformal"``, ``"model"`` or ``"none"``).
    selected : str
        The model the backtest selected.
    skipped : sequence of dict
        Series left out as too short (:func:`kzmig.forecast.steps.drop_short`): a hierarchy
        with a member missing is not reconciled.
    h : int
        Years ahead of the last year of the series.
    cfg : ForecastStudyConfig
        ``forecast.levels``, ``targets.additive``, ``data.national`` and ``reconciliation``.

    Returns
    -------
    dict
        ``forecasts`` (reconciled, with ``target``, ``selected``, ``spec``,
        ``fallback_reason``), ``base`` (before reconciliation), ``reconciliation``,
        ``reconciliation_backtest``, ``fit_report``, ``fitted`` and ``notes``.
    """
    fc, fitted, fit_report = final_forecasts(series, dict(fitted), preds, dict(sources), h, cfg.forecast.levels,
                                             prefitted=True)
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
            used = set(final["reconciled"].astype(str))
            if used != {cfg.reconciliation.use}:  # the configured method could not run: say so in the run
                reason = rec_report.loc[rec_report["method"] == cfg.reconciliation.use, "fallback_reason"]
                notes.append(f"{target}: reconciliation.use = {cfg.reconciliation.use!r} could not run and fell back "
                             f"to {', '.join(sorted(used))}: {reason.iloc[0] if len(reason) else ''}")
    final = final.assign(target=target, selected=final["model"] == selected)
    if len(fit_report):  # which model each region really got, and why (fallbacks)
        final = final.merge(fit_report[["model", "region", "spec", "fallback_reason"]], on=["model", "region"], how="left")
    return {"forecasts": final, "base": fc.assign(target=target), "reconciliation": rec_report,
            "reconciliation_backtest": rec_acc,
            "fit_report": fit_report.assign(target=target) if len(fit_report) else fit_report,
            "fitted": fitted, "notes": notes}


def project_population_step(cfg: Any, wide: pd.DataFrame, results: dict) -> pd.DataFrame | None:
    """Population per region through the balancing equation (:func:`kzmig.forecast.population.project_population`)
    from the (reconciled) forecast of ``cfg.population.model`` for ``migration_target``.

    Raises
    ------
    DataError
        The data lack what the projection needs (population, natural increase, consecutive years).
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
    try:
        out = project_population(wide, mig, levels=cfg.forecast.levels)
    except PanelContractError:
        raise
    except ValueError as err:  # a year of population or natural increase the projection needs is missing
        raise DataError(f"{cfg.path}: population is projected from the {model} forecasts of "
                        f"{cfg.population.migration_target}, but {err} Add the data, or set "
                        "population.enabled = false.") from err
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


def final_tables(cfg: Any, wide: pd.DataFrame, long: pd.DataFrame, results: dict, *,
                 tables: Sequence[str] = tuple(TABLES)) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The study's tables and fan charts from the targets' results.

    Parameters
    ----------
    cfg : ForecastStudyConfig
    wide, long : DataFrame
        The study's panel and long table (:func:`kzmig.studies.forecast.study_panel`).
    results : dict
        Per target, the dict of :func:`finish_target` with ``selected`` (and, for the
        backtest tables, ``preds`` and ``metrics``).
    tables : sequence of str
        Which tables of :data:`TABLES` to build (``kzmig predict``: :data:`FORECAST_TABLES`).

    Returns
    -------
    (dict of str to DataFrame, dict of str to Figure)
        ``population_forecasts`` (with ``[population]``), the ``tables`` asked for (the
        population rows appended to ``forecasts``), ``history`` and ``breaks``; a fan chart
        per target.
    """
    population = project_population_step(cfg, wide, results)
    extra, out = {}, {}
    if population is not None:
        out["population_forecasts"] = _target_first(population)
        cols = list(results[cfg.population.migration_target]["forecasts"].columns)
        extra["forecasts"] = population.assign(interval="propagated", reconciled="none", selected=True).reindex(columns=cols)
    for name in tables:
        key = TABLES[name]
        frames = [r[key] for r in results.values() if len(r[key])] + ([extra[key]] if key in extra else [])
        out[name] = _target_first(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame(columns=EMPTY.get(key, []))
    observed = [t for t in results if t in wide.columns]
    out["history"] = wide[["region", "year", *observed]].dropna(how="all", subset=observed).reset_index(drop=True)
    out["breaks"] = pd.concat([break_years(long, variable=t).assign(target=t) for t in observed],
                              ignore_index=True)[["target", "region", "year", "flag"]]
    figures = {}
    for target, res in results.items():
        fig = (plot_overview(wide, res["forecasts"], target, breaks=break_years(long, variable=target))
               if res["forecasts"]["selected"].astype(bool).any() else None)
        if fig is not None:
            figures[f"forecast_{target}"] = fig
    return out, figures
