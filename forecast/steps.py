"""The steps of a forecasting study, as functions of frames (the study in :mod:`kzmig.studies.forecast` wires them).

* :func:`target_series` and :func:`drop_short`: one target's series with its break flags;
* :func:`interval_source`, :func:`with_conformal_backtest`, :func:`fit_models`,
  :func:`final_forecasts`: intervals that are model-based or conformal from earlier backtest
  residuals, for models fitted here or given fitted (loaded from a run folder, updated);
* :func:`conformal_fallback`: model-based intervals where the backtest has too few residuals
  for conformal ones (a single series);
* :func:`backtest_metrics`: accuracy per model x horizon over regions (or over the national
  series of a national-only target), without break years, per region;
* :func:`reconcile_target`: coherent regional forecasts, and the accuracy before and after.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from kzmig.core.errors import PanelContractError
from kzmig.features.regions import NATIONAL
from kzmig.forecast.conformal import apply_conformal, conformal_quantiles, conformalize_backtest
from kzmig.forecast.evaluate import score, series_scales
from kzmig.forecast.reconcile import reconcile
from kzmig.models.forecast_base import BaseForecaster
from kzmig.models.schema import BREAK_COLUMN, coerce_forecast

logger = logging.getLogger(__name__)

#: ``region`` of the per-horizon aggregate rows of :func:`backtest_metrics` (the model selection
#: reads them): over the regions, or, for a national-only target, over the national series
AGGREGATES = ("all_regions", "all_series")


def target_series(wide: pd.DataFrame, long: pd.DataFrame, target: str, exog=()) -> pd.DataFrame:
    """``region, year, y, <exog>, is_break`` for one target; years without a value are dropped.

    Break years are those whose ``flag`` in the long table contains ``"break:"``.
    """
    missing = [c for c in (target, *exog) if c not in wide.columns]
    if missing:
        raise PanelContractError(f"data: column(s) {missing} are absent; found {sorted(wide.columns)}.")
    s = wide[["region", "year", target, *exog]].rename(columns={target: "y"})
    s = s.loc[s["y"].notna()].copy()
    flags = long.loc[(long["variable"] == target) & long["flag"].astype(str).str.contains("break:", regex=False)]
    brk = set(zip(flags["region"].astype(str), flags["year"].astype(int)))
    s[BREAK_COLUMN] = [(r, y) in brk for r, y in zip(s["region"].astype(str), s["year"].astype(int))]
    return s.reset_index(drop=True)


def drop_short(series: pd.DataFrame, need: int, target: str) -> tuple[pd.DataFrame, list[dict]]:
    """Remove series shorter than ``need`` years; report them (they are not forecast)."""
    n = series.groupby("region")["year"].size()
    short = n[n < need]
    report = [{"target": target, "region": r, "length": int(k), "needed": need} for r, k in short.items()]
    if report:
        detail = ", ".join(f"{row['region']}={row['length']}" for row in report[:6]) + (" ..." if len(report) > 6 else "")
        logger.warning("target %s: %d series have fewer than the %d years needed and are not forecast (%s).",
                       target, len(report), need, detail)
    return series.loc[~series["region"].isin(short.index)].reset_index(drop=True), report


def interval_source(models: dict[str, BaseForecaster], conformal: str) -> dict[str, str]:
    out = {}
    for name, est in models.items():
        native = bool(getattr(est, "has_intervals", False))
        out[name] = "conformal" if (conformal == "all" or (conformal == "missing" and not native)) else (
            "model" if native else "none")
    return out


def conformal_fallback(preds: pd.DataFrame, source: dict[str, str], models: dict[str, BaseForecaster], levels,
                       target: str) -> tuple[dict[str, str], list[str]]:
    """Interval sources with model-based intervals where conformal calibration is too short.

    A split-conformal quantile at level ``a`` needs ``n >= ceil((n + 1) a)`` residuals per
    horizon (``n >= 4`` at 80 %, ``n >= 19`` at 95 %). Pooled across regions the shipped data
    never runs short, but a target with a single series (a user's national table: foreign
    students, labour emigrants) has one residual per origin and horizon. So, for each model
    whose ``source`` is ``"conformal"``, the calibration of its final forecast (all its backtest
    residuals, break years left out) must give every level at every backtested horizon;
    otherwise the model's own intervals are used, for the backtest and the forecast alike
    (source ``"model"``), or, for a model without intervals of its own, the conformal intervals
    are kept with the missing levels absent. Each case is logged and returned as a note.

    Parameters
    ----------
    preds : DataFrame
        Backtest predictions with the models' own intervals, ``actual``, ``scale`` and the
        break flags (before :func:`with_conformal_backtest`).
    source : dict of str to str
        From :func:`interval_source`.
    models : dict of str to forecaster
        To tell which models have intervals of their own (``has_intervals``).

    Returns
    -------
    (dict, list of str)
        The interval source per model, and notes naming the models that fell short.
    """
    out, fallback, partial = dict(source), {}, {}
    for name, src in source.items():
        if src != "conformal":
            continue
        resid = preds.loc[preds["model"] == name].drop_duplicates(["region", "origin_year", "year"])
        q = conformal_quantiles(resid, levels)
        short = q.loc[q["q"].isna()]
        if short.empty:
            continue
        low = q.loc[q["n"].idxmin()]
        why = (f"too few backtest residuals for conformal "
               f"{', '.join(f'{round(lv * 100):d} %' for lv in sorted(short['level'].unique()))} intervals "
               f"({int(low['n'])} at horizon {int(low['horizon'])}, {resid['region'].nunique()} series)")
        if getattr(models[name], "has_intervals", False):
            out[name] = "model"
            fallback.setdefault(why, []).append(name)
        else:
            partial.setdefault(why, []).append(name)
    notes = [f"{target}: {why}: {', '.join(names)} use their model-based intervals instead"
             for why, names in fallback.items()]
    notes += [f"{target}: {why}: {', '.join(names)} have no intervals of their own, so those levels are missing"
              for why, names in partial.items()]
    for note in notes:
        logger.warning("%s", note)
    return out, notes


def with_conformal_backtest(preds: pd.DataFrame, source: dict[str, str], levels) -> pd.DataFrame:
    conf = [m for m, s in source.items() if s == "conformal"]
    keep = preds.loc[~preds["model"].isin(conf)]
    parts = [keep]
    if conf:
        parts.append(conformalize_backtest(preds.loc[preds["model"].isin(conf)], levels))
    out = pd.concat(parts, ignore_index=True)
    out["interval"] = out["model"].map(source)
    return out.sort_values(["model", "region", "origin_year", "year", "level"], kind="mergesort",
                           na_position="first").reset_index(drop=True)


def backtest_metrics(preds: pd.DataFrame, target: str, levels) -> pd.DataFrame:
    """Metrics per model x horizon over the regions (``region="all_regions"``, national left out;
    ``"all_regions_no_breaks"``: the same without target years flagged as breaks), and per
    model x region over all horizons (``horizon=0``).

    A target with only the national series (a user's national table) has no regions: its
    aggregate rows are the national series', labelled ``"all_series"`` and
    ``"all_series_no_breaks"`` (see :data:`AGGREGATES`). Every row carries its cell counts
    (``n``, ``cells_mase``, ``cells_<pct>``, :func:`kzmig.forecast.evaluate.score`) and
    ``origins``; the study puts the nested-selected forecast's rows
    (:func:`kzmig.forecast.honest.nested_metrics`) first."""
    regional = preds.loc[preds["region"] != NATIONAL]
    label = "all_regions"
    if regional.empty:  # national-only: the aggregate is the one series there is
        regional, label = preds, "all_series"
    def scored(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
        if "horizon" not in frame.columns:
            frame = frame.assign(horizon=frame["year"] - frame["origin_year"])
        out = score(frame, by=by, levels=levels)
        n_origins = frame.groupby(list(by), sort=True)["origin_year"].nunique().rename("origins").reset_index()
        return out.merge(n_origins, on=list(by), how="left")

    a = scored(regional, ("model", "horizon")).assign(region=label)
    parts = [a]
    if BREAK_COLUMN in regional:  # the same scores on target years that are not breaks
        clean = regional.loc[~regional[BREAK_COLUMN].astype(bool)]
        parts.append(scored(clean, ("model", "horizon")).assign(region=f"{label}_no_breaks"))
    b = scored(preds.assign(horizon=0), ("model", "region")).assign(horizon=0)
    out = pd.concat([*parts, b], ignore_index=True).assign(target=target)
    first = ["target", "model", "region", "horizon"]
    return out[first + [c for c in out.columns if c not in first]]


def fit_models(series: pd.DataFrame, models: dict[str, BaseForecaster]) -> dict[str, BaseForecaster]:
    """A fitted clone of every model on the whole ``series``, by name (the models are left unfitted)."""
    with threadpool_limits(limits=1):
        return {name: clone(est).fit(series) for name, est in models.items()}


def final_forecasts(series, models, preds, source, h, levels, *, prefitted: bool = False
                    ) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Forecast ``h`` years with every model, conformal where configured.

    Parameters
    ----------
    series : DataFrame
        The target's series (``region, year, y[, exog], is_break``); the naive scale of each
        region (:func:`kzmig.forecast.evaluate.series_scales`) sizes its conformal interval.
    models : dict of str to forecaster
        Unfitted models, fitted here on ``series`` (:func:`fit_models`); with
        ``prefitted=True``, fitted models used as they are: fitted by the study, loaded from
        a run folder, or updated on newer data (``kzmig predict``).
    preds : DataFrame
        Backtest predictions (one row per model, region, origin, year and level) whose
        residuals calibrate the conformal intervals (:func:`conformal_quantiles`).
    source : dict of str to str
        Interval source per model (:func:`interval_source`, :func:`conformal_fallback`).
    h : int
        Years ahead of each region's last year.
    levels : sequence of float

    Returns
    -------
    (DataFrame, dict, DataFrame)
        The forecast table (models in the order of ``models``), the fitted models and their
        ``fit_report_`` rows (with ``model``).
    """
    scales = series_scales(series)
    if not prefitted:
        models = fit_models(series, models)
    frames, fitted, reports = [], {}, []
    with threadpool_limits(limits=1):
        for name, est in models.items():
            fc = est.predict(h, levels).assign(model=name)
            if source[name] == "conformal":
                resid = preds.loc[preds["model"] == name].drop_duplicates(["region", "origin_year", "year"])
                fc = apply_conformal(fc, conformal_quantiles(resid, levels), scales, levels)
            frames.append(fc.assign(interval=source[name]))
            fitted[name] = est
            if hasattr(est, "fit_report_"):
                reports.append(est.fit_report_.assign(model=name))
    return pd.concat(frames, ignore_index=True), fitted, pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()


def reconcile_target(fc, preds, target: str, methods: Sequence[str], use: str
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reconciled forecasts (method ``use``), incoherence report per method of ``methods``, and
    backtest accuracy before and after (residuals for WLS/MinT taken only up to each origin).

    ``interregional_net*`` targets sum to zero over regions; the others add up to the national row.
    """
    constraint = "zero_sum" if target.startswith("interregional_net") else "national_total"
    base = fc.drop(columns=["interval"])
    reports, used, used_method = [], None, None
    for method in dict.fromkeys((*methods, use)):
        try:
            rec, rep = reconcile(base, method=method, residuals=preds, constraint=constraint)
            rep = rep.assign(method_used=method, fallback_reason="")
            actual = method
        except ValueError as err:  # e.g. a series too young to have enough backtest errors
            logger.warning("target %s: reconciliation %s fell back to ols: %s", target, method, err)
            rec, rep = reconcile(base, method="ols", constraint=constraint)
            rep = rep.assign(method_used="ols", fallback_reason=str(err))
            actual = "ols"
        reports.append(rep.assign(target=target, method=method))
        if method == use:
            used, used_method = rec, actual
    out = used.assign(interval=fc["interval"].to_numpy(), reconciled=used_method)
    return out, pd.concat(reports, ignore_index=True), _reconciled_accuracy(preds, target, methods, constraint)


def _actuals_coherent(g: pd.DataFrame, constraint: str, rtol: float = 0.01) -> bool:
    """Whether the published values of a backtest cross-section satisfy the constraint (to
    ``rtol`` of the regions' absolute sum): only then is reconciling towards it meaningful."""
    one = g.drop_duplicates(["region", "year"])
    reg = one.loc[one["region"] != NATIONAL].groupby("year")["actual"]
    total = reg.sum()
    size = reg.apply(lambda a: a.abs().sum())
    if constraint == "zero_sum":
        gap = total.abs()
    else:
        nat = one.loc[one["region"] == NATIONAL].set_index("year")["actual"]
        if nat.empty:
            return False
        gap = (total - nat.reindex(total.index)).abs()
    return bool((gap <= rtol * size).all())


def _reconciled_accuracy(preds, target, methods, constraint) -> pd.DataFrame:
    rows = []
    pts = preds.drop_duplicates(["model", "region", "origin_year", "year"])
    for origin, g in pts.groupby("origin_year", sort=True):
        if not _actuals_coherent(g, constraint):
            logger.info("backtest reconciliation: origin %d skipped, its published values break the %s "
                        "constraint (a series is missing from the hierarchy).", origin, constraint)
            continue
        fc = coerce_forecast(g.assign(lower=np.nan, upper=np.nan, level=np.nan)[
            ["model", "region", "origin_year", "year", "point", "lower", "upper", "level", "actual", "scale"]])
        calib = preds.loc[preds["year"] <= origin]
        for method in methods:
            if method != "ols" and calib.drop_duplicates(["origin_year", "year"]).shape[0] < 2:
                continue
            try:
                rec, _ = reconcile(fc, method=method, residuals=calib if method != "ols" else None, constraint=constraint)
            except ValueError as err:
                logger.info("backtest reconciliation %s at origin %d skipped: %s", method, origin, err)
                continue
            for stage, tab in (("base", fc), ("reconciled", rec)):
                rows.append(score(tab.loc[tab["region"] != NATIONAL], by=("model",), levels=()).assign(
                    origin_year=int(origin), method=method, stage=stage))
    if not rows:
        return pd.DataFrame()
    acc = pd.concat(rows, ignore_index=True)
    agg = acc.groupby(["model", "method", "stage"], sort=True)[["mae", "rmse", "mase"]].mean().reset_index()
    return agg.assign(target=target, n_origins=acc["origin_year"].nunique())
