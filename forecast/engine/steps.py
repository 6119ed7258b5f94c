"""Steps of the forecast engine that are plain functions of frames (:mod:`kzmig.forecast.engine` runs them).

* :func:`target_series` and :func:`drop_short`: one target's series with its break flags;
* :func:`interval_source`, :func:`with_conformal_backtest`: intervals that are model-based or
  conformal from earlier backtest residuals;
* :func:`conformal_fallback`: model-based intervals where the backtest has too few residuals
  for conformal ones (a single series);
* :func:`backtest_metrics`: accuracy per model x horizon over regions (or over the national
  series of a national-only target), without break years, per region.

Fitting, forecasting and reconciling are stages of the engine (:func:`kzmig.forecast.engine.fit_models`,
:func:`~kzmig.forecast.engine.forecast_models`, :func:`~kzmig.forecast.engine.reconcile_target`).
"""
from __future__ import annotations

import logging

import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.conformal import conformal_quantiles, conformalize_backtest
from kzmig.forecast.engine.evaluate import score
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.forecasters.schema import BREAK_COLUMN

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
    (``n``, ``cells_mase``, ``cells_<pct>``, :func:`kzmig.forecast.engine.evaluate.score`) and
    ``origins``; the study puts the nested-selected forecast's rows
    (:func:`kzmig.forecast.engine.honest.nested_metrics`) first."""
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
