"""Split-conformal intervals from backtest residuals, pooled across regions by horizon.

Residuals are scaled by each series' naive scale (the MASE denominator) before pooling, so
a quantile learned on all regions fits each region's own size: the bound is
``point -/+ q_h * s_r``. With ``n`` calibration residuals at horizon ``h`` the quantile is the
``ceil((n + 1) * level)``-th smallest absolute scaled residual (the finite-sample
split-conformal rank, Lei et al. 2018); when ``n`` is too small for that rank no interval is
given. Horizons beyond the calibrated ones use ``q_H * sqrt(h / H)``.

Residuals of target years flagged as breaks (``is_break``: census re-basing, territory
transfers) are left out of calibration: they are not migration, no break is expected in the
forecast years, and with them the 95 % quantile was 3.5x the break-free one on the shipped
data. They stay in the backtest scores. The quantile is a running maximum over horizons, so
intervals never narrow as the horizon grows.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kzmig.models.forecasters.schema import BREAK_COLUMN, check_levels, coerce_forecast

logger = logging.getLogger(__name__)


def conformal_quantiles(residuals: pd.DataFrame, levels: Iterable[float]) -> pd.DataFrame:
    """Conformal quantiles of ``|actual - point| / scale`` per horizon and level.

    Parameters
    ----------
    residuals : DataFrame
        ``horizon`` (or ``origin_year`` and ``year``), ``point``, ``actual``, ``scale``; one row
        per (region, origin, year), i.e. a single level.

    Returns
    -------
    DataFrame
        ``horizon, level, q, n``; ``q`` is NaN where ``n`` is too small for the level.
    """
    levels = check_levels(levels)
    score, horizon, usable = _scaled_residuals(residuals)
    hs, counts, qs = _quantiles(score[usable], horizon[usable], levels)
    rows = [(int(h), lv, float(qs[lv][i]), int(counts[i])) for i, h in enumerate(hs) for lv in levels]
    return pd.DataFrame(rows, columns=["horizon", "level", "q", "n"])


def _scaled_residuals(residuals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|actual - point| / scale``, the horizon of each row and whether it calibrates: a finite
    scaled residual of a year that is not flagged as a break."""
    horizon = (residuals["horizon"] if "horizon" in residuals.columns
               else residuals["year"] - residuals["origin_year"]).to_numpy()
    score = ((residuals["actual"] - residuals["point"]).abs() / residuals["scale"]).to_numpy(dtype=float)
    usable = np.isfinite(score)
    if BREAK_COLUMN in residuals.columns:
        brk = residuals[BREAK_COLUMN].astype(bool).to_numpy()
        if brk.any():
            logger.debug("conformal: %d residuals of break years left out of calibration.", int(brk.sum()))
        usable &= ~brk
    return score, horizon, usable


def _quantiles(scores: np.ndarray, horizons: np.ndarray, levels: list[float]
               ) -> tuple[np.ndarray, np.ndarray, dict[float, np.ndarray]]:
    """The horizons (ascending), their numbers of residuals, and per level the conformal quantile at
    each horizon (the ``ceil((n + 1) * level)``-th smallest; NaN where ``n`` is too small), as a
    running maximum over the horizons: an interval never narrows with the horizon."""
    hs = np.unique(horizons)
    by_h = [np.sort(scores[horizons == h]) for h in hs]
    qs = {}
    for lv in levels:
        q = np.array([s[k - 1] if (k := math.ceil((len(s) + 1) * lv)) <= len(s) else np.nan for s in by_h], dtype=float)
        qs[lv] = _running_max(q)
    return hs, np.array([len(s) for s in by_h], dtype=int), qs


def _running_max(q: np.ndarray) -> np.ndarray:
    """``Series.cummax`` of ``q``: NaN stays NaN, the others are the largest non-NaN value so far."""
    out, top = q.copy(), -np.inf
    for i, v in enumerate(q):
        if not np.isnan(v):
            top = max(top, v)
            out[i] = top
    return out


def _q_for(quantiles: pd.DataFrame, level: float, horizons: np.ndarray) -> np.ndarray:
    """The quantile of ``level`` at each of ``horizons`` from a table of :func:`conformal_quantiles`."""
    sel = quantiles.loc[np.isclose(quantiles["level"].to_numpy(dtype=float), level)]
    return _q_at(sel["horizon"].to_numpy(), sel["q"].to_numpy(dtype=float), horizons)


def _q_at(hs: np.ndarray, q: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """The quantile at each of ``horizons`` from the quantiles ``q`` of horizons ``hs`` (NaN ones left
    out): NaN at a horizon without one, ``q_H * sqrt(h / H)`` beyond the largest calibrated ``H``."""
    keep = ~np.isnan(q)
    if not keep.any():
        return np.full(len(horizons), np.nan)
    lookup = dict(zip(hs[keep].tolist(), q[keep].tolist()))
    H = max(lookup)
    return np.array([lookup.get(h, np.nan) if h <= H else lookup[H] * math.sqrt(h / H) for h in np.asarray(horizons).tolist()],
                    dtype=float)


def apply_conformal(forecast: pd.DataFrame, quantiles: pd.DataFrame, scales: pd.Series,
                    levels: Iterable[float]) -> pd.DataFrame:
    """Replace the intervals of ``forecast`` by conformal ones.

    Parameters
    ----------
    forecast : DataFrame
        Forecast table (any levels; points are taken once per key).
    quantiles : DataFrame
        From :func:`conformal_quantiles`.
    scales : Series
        Naive scale per region (index ``region``), or per ``(region, origin_year)``
        (MultiIndex) for backtests.
    """
    levels = check_levels(levels)
    key = ["model", "region", "origin_year", "year"]
    extra = [c for c in forecast.columns if c not in ("point", "lower", "upper", "level") and c not in key]
    base = forecast.drop_duplicates(key)[key + ["point"] + extra].reset_index(drop=True)
    horizons = (base["year"] - base["origin_year"]).to_numpy()
    if isinstance(scales.index, pd.MultiIndex):
        s = scales.reindex(pd.MultiIndex.from_frame(base[["region", "origin_year"]])).to_numpy(dtype=float)
    else:
        s = scales.reindex(base["region"]).to_numpy(dtype=float)
    parts, any_ok = [], np.zeros(len(base), dtype=bool)
    for lv in levels:
        half = _q_for(quantiles, lv, horizons) * s
        ok = np.isfinite(half)
        any_ok |= ok
        parts.append(base.loc[ok].assign(lower=base["point"][ok] - half[ok], upper=base["point"][ok] + half[ok],
                                          level=lv))
    # a key without any interval keeps one row with NA bounds and level
    parts.append(base.loc[~any_ok].assign(lower=np.nan, upper=np.nan, level=np.nan))
    out = pd.concat([p for p in parts if len(p)] or parts[-1:], ignore_index=True)
    return coerce_forecast(out.reset_index(drop=True))


def conformalize_backtest(preds: pd.DataFrame, levels: Iterable[float]) -> pd.DataFrame:
    """Conformal intervals for backtest rows using only residuals observed by each origin.

    For origin ``o`` the calibration set is every backtest residual of the same model whose
    target year is ``<= o`` (known at ``o``); rows of the earliest origins, with too few
    residuals, get no interval (NA), which :func:`kzmig.forecast.engine.evaluate.score` leaves out of
    coverage. The same rows as :func:`conformal_quantiles` and :func:`apply_conformal` per model
    and origin; each model's residuals are scaled once, and the dtypes coerced once.
    """
    levels = check_levels(levels)
    out = []
    for _, rows in preds.groupby("model", sort=True):  # each model's rows once, not a scan of all per origin
        cells = rows.drop_duplicates(["region", "origin_year", "year"])  # one residual per cell
        score, horizon, usable = _scaled_residuals(cells)
        year = cells["year"].to_numpy()
        tables = {int(o): _quantiles(score[usable & (year <= o)], horizon[usable & (year <= o)], levels)
                  for o in np.unique(rows["origin_year"].to_numpy())}
        out.append(_conformal_model(rows, tables, levels))
    return coerce_forecast(pd.concat(out, ignore_index=True))


def _conformal_model(rows: pd.DataFrame, tables: dict[int, tuple], levels: list[float]) -> pd.DataFrame:
    """:func:`apply_conformal` (before the dtypes are coerced) of one model's backtest rows at every
    origin, each origin with its own quantile table, in one pass: origin by origin (ascending), each
    level's rows with an interval, then the rows with none, as the per-origin calls concatenated."""
    key = ["model", "region", "origin_year", "year"]
    extra = [c for c in rows.columns if c not in ("point", "lower", "upper", "level") and c not in key]
    base = rows.drop_duplicates(key)[key + ["point"] + extra].reset_index(drop=True)
    origin = base["origin_year"].to_numpy()
    horizons = (base["year"] - base["origin_year"]).to_numpy()
    scales = rows.drop_duplicates(["region", "origin_year"]).set_index(["region", "origin_year"])["scale"]
    s = scales.reindex(pd.MultiIndex.from_frame(base[["region", "origin_year"]])).to_numpy(dtype=float)
    point = base["point"].to_numpy(dtype=float)
    take, lower, upper, level = [], [], [], []
    for o in sorted(tables):
        at = np.flatnonzero(origin == o)
        any_ok = np.zeros(len(at), dtype=bool)
        for lv in levels:
            hs, _, qs = tables[o]
            half = _q_at(hs, qs[lv], horizons[at]) * s[at]
            ok = np.isfinite(half)
            any_ok |= ok
            take.append(at[ok])
            lower.append(point[at[ok]] - half[ok])
            upper.append(point[at[ok]] + half[ok])
            level.append(np.full(int(ok.sum()), lv))
        none = at[~any_ok]  # a key without any interval keeps one row with NA bounds and level
        take.append(none)
        lower.append(np.full(len(none), np.nan))
        upper.append(np.full(len(none), np.nan))
        level.append(np.full(len(none), np.nan))
    out = base.iloc[np.concatenate(take)].reset_index(drop=True)
    return out.assign(lower=np.concatenate(lower), upper=np.concatenate(upper), level=np.concatenate(level))
