"""Accuracy of backtest forecasts: MAE, RMSE, MASE, bias, interval coverage and Winkler score.

Input is the backtest table: the forecast table of :mod:`kzmig.models.schema` plus ``actual``
(the published value) and ``scale`` (the series' in-sample naive error up to the origin,
:func:`kzmig.models.scale.naive_scale`: NaN for a flat series, whose rows MASE leaves out). One row
per level; point metrics use each (model, region, origin_year, year) once.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.models.forecast_base import bridge_breaks
from kzmig.models.scale import naive_scale
from kzmig.models.schema import BREAK_COLUMN, check_levels

logger = logging.getLogger(__name__)

POINT_KEY = ["model", "region", "origin_year", "year"]


def series_scales(frame: pd.DataFrame) -> pd.Series:
    """MASE scale per region: the in-sample naive MAE of ``y`` with break years bridged.

    ``frame`` has ``region, year, y`` and optionally ``is_break``. A census re-basing or a
    territory transfer puts two jumps into the naive differences (into and out of the break
    year); with them the scale was up to 11 times larger on the shipped data and MASE was
    understated for exactly the regions with breaks. Break years are replaced by linear
    interpolation over the other years (as the models see them) before differencing.
    The scale itself is :func:`kzmig.models.scale.naive_scale` (NaN for a flat series).
    """
    out = {}
    for region, g in frame.sort_values(["region", "year"], kind="mergesort").groupby("region", sort=True):
        y = g["y"].to_numpy(dtype=float)
        if BREAK_COLUMN in g.columns and g[BREAK_COLUMN].astype(bool).any():
            y = bridge_breaks(g["year"].to_numpy(), y, g[BREAK_COLUMN].to_numpy(dtype=bool))
        out[region] = naive_scale(y)
    return pd.Series(out, dtype="float64", name="scale")


def winkler(lower, upper, actual, level: float) -> np.ndarray:
    """Interval (Winkler) score: width plus ``2/alpha`` times the miss distance.

    :math:`W = (u - l) + \\frac{2}{\\alpha}(l - y)1[y < l] + \\frac{2}{\\alpha}(y - u)1[y > u]`,
    :math:`\\alpha = 1 - \\text{level}` (Gneiting & Raftery 2007, eq. 43). Lower is better.
    """
    lower, upper, actual = (np.asarray(a, dtype=float) for a in (lower, upper, actual))
    alpha = 1.0 - level
    return (upper - lower) + 2 / alpha * np.clip(lower - actual, 0, None) + 2 / alpha * np.clip(actual - upper, 0, None)


def _point_metrics(g: pd.DataFrame) -> pd.Series:
    err = g["point"].to_numpy() - g["actual"].to_numpy()
    scaled = np.abs(err) / g["scale"].to_numpy()
    return pd.Series(
        {
            "n": float(len(g)),
            "mae": float(np.mean(np.abs(err))),
            "rmse": float(np.sqrt(np.mean(err**2))),
            "mase": float(np.nanmean(scaled)) if np.isfinite(scaled).any() else np.nan,
            "bias": float(np.mean(err)),
        }
    )


def score(preds: pd.DataFrame, *, by: Sequence[str] = ("model", "horizon"), levels: Sequence[float] = (0.8, 0.95)) -> pd.DataFrame:
    """Metrics per group of a backtest table.

    Parameters
    ----------
    preds : DataFrame
        Forecast-table columns plus ``actual`` and ``scale``; ``horizon`` is added as
        ``year - origin_year`` when absent.
    by : sequence of str
        Grouping columns, e.g. ``("target", "model", "horizon")`` or ``("model", "region")``.
    levels : sequence of float
        Levels whose coverage and Winkler score get columns ``coverage_80``, ``winkler_80`` ...
        (NaN where the model has no interval at that level).

    Returns
    -------
    DataFrame
        ``by`` columns, ``n, mae, rmse, mase, bias`` (bias = mean of point - actual), then for
        each level ``coverage_<pct>`` (share of actuals inside the interval) and ``winkler_<pct>``.
    """
    levels = check_levels(levels)
    df = preds.copy()
    if "horizon" not in df.columns:
        df["horizon"] = df["year"] - df["origin_year"]
    missing = [c for c in ("actual", "scale", *by) if c not in df.columns]
    if missing:
        raise ValueError(f"score: backtest table lacks column(s) {missing}; found {list(df.columns)}.")
    by = list(by)
    key = [c for c in POINT_KEY + by if c in df.columns]
    key = list(dict.fromkeys(key))
    pts = df.drop_duplicates(key)
    no_scale = ~(pts["scale"] > 0)
    if no_scale.any():
        logger.info("score: %d forecast(s) of series without a naive scale (flat or one-point up to the "
                    "origin) are left out of MASE.", int(no_scale.sum()))
    out = pts.groupby(by, sort=True)[["point", "actual", "scale"]].apply(_point_metrics).reset_index()
    for lv in levels:
        tag = f"{round(lv * 100):d}"
        sub = df.loc[np.isclose(df["level"].fillna(-1), lv)]
        if sub.empty:
            out[f"coverage_{tag}"], out[f"winkler_{tag}"] = np.nan, np.nan
            continue
        sub = sub.assign(
            _hit=((sub["actual"] >= sub["lower"]) & (sub["actual"] <= sub["upper"])).astype(float),
            _wk=winkler(sub["lower"], sub["upper"], sub["actual"], lv),
        )
        agg = sub.groupby(by, sort=True)[["_hit", "_wk"]].mean().reset_index()
        agg.columns = by + [f"coverage_{tag}", f"winkler_{tag}"]
        out = out.merge(agg, on=by, how="left")
    return out
