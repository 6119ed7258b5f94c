"""What the forecasting study and ``kzmig predict`` share around the forecast engine: its settings, the tables.

The forecasting study (:mod:`kzmig.studies.forecast`) and ``kzmig predict``
(:mod:`kzmig.studies.predict`, with models loaded from a run folder and possibly updated on
newer data) both run :mod:`kzmig.forecast.engine` with the :func:`settings` of the study's
config, and assemble its results with :func:`final_tables`, so a reproduced run writes the same
tables, byte for byte:

* :func:`settings`: what the engine reads from a config;
* :func:`finish_target`: :func:`kzmig.forecast.engine.finish_target` with those settings;
* :func:`project_population_step`: population from the (reconciled) migration forecast;
* :func:`final_tables`: ``population_forecasts``, ``forecasts``, ``forecasts_base``,
  ``reconciliation``, ``fit_report``, ``history`` and ``breaks``, and the fan charts.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.features.assessment.typology import break_years
from kzmig.forecast import engine
from kzmig.models.forecasters.forecast_base import BaseForecaster
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


#: baseline role of :func:`kzmig.forecast.engine.honest.nested_selection` -> model kind
BASELINE_KINDS = {"naive": "naive", "mean": "window_mean", "historic": "historic_mean"}


def baseline_names(cfg: ForecastStudyConfig) -> dict[str, str | None]:
    """The study's model for each baseline role: the first of its kind in the file fitted on the
    whole series (else the first of its kind at all); None when the study has none."""
    out: dict[str, str | None] = {}
    for role, kind in BASELINE_KINDS.items():
        specs = [s for s in cfg.models if s.kind == kind]
        whole = [s for s in specs if s.first_year is None]
        out[role] = (whole or specs)[0].name if specs else None
    return out


def settings(cfg: ForecastStudyConfig) -> engine.Settings:
    """What the forecast engine reads from the study's config."""
    return engine.Settings(
        levels=tuple(cfg.forecast.levels), conformal=cfg.forecast.conformal, select_by=cfg.forecast.select_by,
        origins=tuple(cfg.backtest.origins), horizon=cfg.backtest.horizon, additive=tuple(cfg.targets.additive),
        national=bool(cfg.data.national), methods=tuple(cfg.reconciliation.methods), use=cfg.reconciliation.use,
        baselines=baseline_names(cfg), where=str(cfg.path))


def finish_target(target: str, series: pd.DataFrame, fitted: Mapping[str, BaseForecaster], preds: pd.DataFrame,
                  sources: Mapping[str, str], *, selected: str, skipped: Sequence[dict], h: int, cfg: ForecastStudyConfig) -> dict:
    """Forecast, interval, reconcile and label one target with fitted models
    (:func:`kzmig.forecast.engine.finish_target` with the study's :func:`settings`)."""
    return engine.finish_target(target, series, fitted, preds, sources, selected=selected, skipped=skipped, h=h,
                                settings=settings(cfg))


def project_population_step(cfg: ForecastStudyConfig, wide: pd.DataFrame, results: dict) -> pd.DataFrame | None:
    """Population per region from the (reconciled) forecast of ``cfg.population.model`` for
    ``migration_target`` (:func:`kzmig.forecast.engine.project_population`); None without ``[population]``."""
    if not cfg.population.enabled:
        return None
    return engine.project_population(wide, results, migration_target=cfg.population.migration_target,
                                     model=cfg.population.model, levels=cfg.forecast.levels,
                                     to_year=cfg.forecast.to_year, where=str(cfg.path))


def _target_first(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in ("target",) if c in df.columns] + [c for c in df.columns if c != "target"]]


def final_tables(cfg: ForecastStudyConfig, wide: pd.DataFrame, long: pd.DataFrame, results: dict, *,
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
