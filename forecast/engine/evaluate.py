"""Accuracy of backtest forecasts: MAE, RMSE, MASE, bias, interval coverage and Winkler score.

Input is the backtest table: the forecast table of :mod:`kzmig.models.forecasters.schema` plus ``actual``
(the published value) and ``scale`` (the series' in-sample naive error up to the origin,
:func:`kzmig.models.forecasters.scale.naive_scale`: NaN for a flat series). One row per level; point metrics
use each (model, region, origin_year, year) once.

Every metric carries the number of cells it averages: ``n`` (MAE, RMSE, bias), ``cells_mase``
(the cells whose series has a naive scale: a flat series has none, and its cells are counted
out of MASE in the open, never dropped by a ``nanmean``) and ``cells_<pct>`` (the cells with an
interval at that level, the denominators of coverage and Winkler score). Models compared in one
table must be scored on the same cells: :func:`score` raises :class:`CellMismatch` when two
models of a group forecast different cells, or have scales on different ones.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import DataError
from kzmig.models.forecasters.forecast_base import bridge_breaks
from kzmig.models.forecasters.scale import naive_scale
from kzmig.models.forecasters.schema import BREAK_COLUMN, check_levels

logger = logging.getLogger(__name__)

POINT_KEY = ["model", "region", "origin_year", "year"]


def series_scales(frame: pd.DataFrame) -> pd.Series:
    """MASE scale per region: the in-sample naive MAE of ``y`` with break years bridged.

    ``frame`` has ``region, year, y`` and optionally ``is_break``. A census re-basing or a
    territory transfer puts two jumps into the naive differences (into and out of the break
    year); with them the scale was up to 11 times larger on the shipped data and MASE was
    understated for exactly the regions with breaks. Break years are replaced by linear
    interpolation over the other years (as the models see them) before differencing.
    The scale itself is :func:`kzmig.models.forecasters.scale.naive_scale` (NaN for a flat series).
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


class CellMismatch(ValueError):
    """Models scored side by side on different backtest cells (their scores would not compare)."""


POINT_METRICS = ["n", "mae", "rmse", "mase", "cells_mase", "bias"]


def _point_metrics(err: np.ndarray, scale: np.ndarray) -> list[float]:
    """:data:`POINT_METRICS` of one group's errors (point - actual) and naive scales."""
    has_scale = np.isfinite(scale) & (scale > 0)
    scaled = np.abs(err[has_scale]) / scale[has_scale]
    return [float(len(err)), float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2))),
            float(scaled.mean()) if len(scaled) else np.nan, float(has_scale.sum()), float(np.mean(err))]


def _point_table(pts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``by`` columns and :data:`POINT_METRICS` per group of ``pts`` (groups sorted).

    Each group's rows are taken in table order, so every mean is the one ``np.mean`` gives on
    that group alone; the groups are sliced from whole-table arrays instead of built as frames.
    """
    gb = pts.groupby(by, sort=True)
    keys = gb.size().index
    err = pts["point"].to_numpy(dtype=float) - pts["actual"].to_numpy(dtype=float)
    scale = pts["scale"].to_numpy(dtype=float)
    positions = gb.indices
    rows = [_point_metrics(err[positions[k]], scale[positions[k]]) for k in keys]
    return pd.DataFrame(rows, index=keys, columns=POINT_METRICS, dtype="float64").reset_index()


def check_same_cells(pts: pd.DataFrame, by: Sequence[str] = ()) -> None:
    """Raise :class:`CellMismatch` unless every model of each ``by`` group has the same cells.

    ``pts`` holds one row per model and cell (``model, region, origin_year, year, point,
    scale``). Within each group of ``by`` (without ``model``), the set of cells with a finite
    point, and the set of those with a naive scale, must be the same for every model.
    """
    if "model" not in pts.columns or pts["model"].nunique() < 2:
        return
    groups = [c for c in by if c != "model" and c in pts.columns]
    cell = ["region", "origin_year", "year"]
    finite = np.isfinite(pts["point"].to_numpy(dtype=float))
    scale = pts["scale"].to_numpy(dtype=float)
    frame = pts.assign(_ok=finite, _sc=finite & np.isfinite(scale) & (scale > 0))
    # models per group, on every row of the group; each cell any model has must be had by that many
    n_models = frame.groupby(groups, sort=False, observed=True)["model"].transform("nunique") if groups \
        else pd.Series(frame["model"].nunique(), index=frame.index)
    frame["_models"] = n_models.to_numpy()
    keys = list(dict.fromkeys([*groups, *cell]))  # a group column may be a cell column (region)
    for what, col in (("forecasts", "_ok"), ("cells with a naive scale (MASE)", "_sc")):
        have = frame.loc[frame[col], ["model", *keys, "_models"]].drop_duplicates(["model", *keys])
        per_cell = have.groupby(keys, sort=False, observed=True)
        if (per_cell.size() == per_cell["_models"].first()).all():
            continue
        _raise_mismatch(frame, groups, cell, what, col)


def _raise_mismatch(frame: pd.DataFrame, groups: list[str], cell: list[str], what: str, col: str) -> None:
    """Raise :class:`CellMismatch` for the first group of ``frame`` whose models differ in ``col`` cells."""
    for key, g in (frame.groupby(groups, sort=True) if groups else [((), frame)]):
        sets = {str(m): frozenset(map(tuple, part.loc[part[col], cell].itertuples(index=False, name=None)))
                for m, part in g.groupby("model", sort=True)}
        first_model, first = next(iter(sets.items()))
        for m, cells in sets.items():
            if cells != first:
                diff = sorted(first ^ cells)[:3]
                where = f" ({dict(zip(groups, key if isinstance(key, tuple) else (key,)))})" if groups else ""
                raise CellMismatch(
                    f"score: models {first_model!r} and {m!r} are scored on different {what}{where}: "
                    f"{len(first)} against {len(cells)}, e.g. (region, origin_year, year) {diff}; restrict "
                    "the backtest table to the cells every model forecasts before comparing them.")
    raise CellMismatch(f"score: models are scored on different {what}: some cell is forecast by fewer models "
                       "than its group has; restrict the backtest table to the cells every model forecasts.")


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
        ``by`` columns, ``n, mae, rmse, mase, cells_mase, bias`` (bias = mean of point -
        actual; MASE over the ``cells_mase`` cells that have a naive scale), then for each level
        ``coverage_<pct>`` (share of actuals inside the interval), ``winkler_<pct>`` and
        ``cells_<pct>`` (the cells with an interval at that level; 0 where there is none).

    Raises
    ------
    CellMismatch
        Two models of one group (``by`` without ``model``) forecast different cells or have
        naive scales on different cells.
    """
    levels = check_levels(levels)
    df = preds.copy()
    if "horizon" not in df.columns:
        df["horizon"] = df["year"] - df["origin_year"]
    missing = [c for c in ("actual", "scale", *by) if c not in df.columns]
    if missing:
        raise DataError(f"score: backtest table lacks column(s) {missing}; found {list(df.columns)}.")
    by = list(by)
    key = [c for c in POINT_KEY + by if c in df.columns]
    key = list(dict.fromkeys(key))
    pts = df.drop_duplicates(key)
    if "model" in by:
        check_same_cells(pts, by)
    no_scale = ~(pts["scale"] > 0)
    if no_scale.any():
        logger.warning("score: %d forecast(s) of series without a naive scale (flat or one-point up to the "
                       "origin) are counted out of MASE (cells_mase < n).", int(no_scale.sum()))
    out = _point_table(pts, by)
    out["n"] = out["n"].astype("int64")
    out["cells_mase"] = out["cells_mase"].astype("int64")
    for lv in levels:
        tag = f"{round(lv * 100):d}"
        has = "level" in df.columns and "lower" in df.columns
        sub = df.loc[np.isclose(df["level"].fillna(-1), lv) & df["lower"].notna() & df["upper"].notna()] if has \
            else df.iloc[:0]
        if sub.empty:
            out[f"coverage_{tag}"], out[f"winkler_{tag}"], out[f"cells_{tag}"] = np.nan, np.nan, 0
            continue
        sub = sub.assign(
            _hit=((sub["actual"] >= sub["lower"]) & (sub["actual"] <= sub["upper"])).astype(float),
            _wk=winkler(sub["lower"], sub["upper"], sub["actual"], lv),
        )
        grouped = sub.groupby(by, sort=True)  # the same cython means as a named aggregation, without its overhead
        agg = pd.concat([grouped["_hit"].mean(), grouped["_wk"].mean(), grouped.size()], axis=1).reset_index()
        agg.columns = by + [f"coverage_{tag}", f"winkler_{tag}", f"cells_{tag}"]
        out = out.merge(agg, on=by, how="left")
        out[f"cells_{tag}"] = out[f"cells_{tag}"].fillna(0).astype("int64")
    return out
