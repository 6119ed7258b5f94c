"""Partial pooling toward each region's long-run mean, tuned on pseudo-origins of the training data.

Each region's forecast starts from an *anchor* between its last value and its recent mean and
decays toward its whole-history mean at a persistence shared by all regions:

.. math::

    a_r = (1 - w)\\,y_{rT} + w\\,\\bar y_{r,T-k+1..T}, \\qquad
    \\hat y_{r,T+h} = m_r + \\phi^h (a_r - m_r),

with :math:`m_r` the mean of the region's (bridged) training values. The pooled persistence
:math:`\\phi`, the weight :math:`w` on the recent mean and its window :math:`k` are chosen on a
grid by the mean scaled absolute error of the forecasts from pseudo-origins inside the training
data (:mod:`kzmig.models.forecasters.tuning`): at a backtest origin, from earlier years only. ``w = 1,
phi -> 1`` is the mean of the last ``k`` years, ``w = 0, phi = 1`` the naive forecast, ``phi = 0``
the historic mean; :class:`kzmig.models.forecasters.pooled_ar.PooledAR` differs by estimating a persistence
per region (shrunk) by least squares on one-step changes instead of tuning one on the forecast
error of every horizon.
"""
from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, DataError
from kzmig.models.forecasters.fe_direct import exog_features
from kzmig.models.forecasters.forecast_base import BaseForecaster, forecast_frame
from kzmig.models.forecasters.tuning import pseudo_origins, region_scales
from kzmig.models.registry import register

logger = logging.getLogger(__name__)


def interval_quantiles(abs_scaled: dict[int, np.ndarray], levels, h: int) -> dict[float, np.ndarray]:
    """Per level, the scaled half-width at horizons ``1..h`` from inner absolute scaled errors.

    The half-width at a horizon is the finite-sample conformal quantile (rank ``ceil((n + 1) a)``)
    of that horizon's errors, the largest error where ``n`` is too small; horizons beyond the
    tuned ones grow by ``sqrt(h / H)`` from the last; widths never shrink with the horizon.
    """
    tuned = sorted(abs_scaled)
    out = {}
    for lv in levels:
        q = []
        for k in range(1, h + 1):
            e = np.sort(abs_scaled[min(k, tuned[-1])]) if tuned else np.array([np.nan])
            n = len(e)
            rank = int(np.ceil((n + 1) * lv))
            base = e[min(rank, n) - 1] if n else np.nan
            q.append(base * (np.sqrt(k / tuned[-1]) if tuned and k > tuned[-1] else 1.0))
        out[lv] = np.maximum.accumulate(np.asarray(q, dtype=float))
    return out


@register("mean_reversion", pools=True)
class MeanReversion(BaseForecaster):
    """Pooled mean reversion from an anchor between the last value and the recent mean.

    Parameters
    ----------
    phis : tuple of float, default (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
        Candidate pooled persistences (each in [0, 1]).
    weights : tuple of float, default (0, 0.25, 0.5, 0.75, 1)
        Candidate weights on the recent mean in the anchor.
    windows : tuple of int, default (3, 5)
        Candidate windows (years) of the recent mean.
    mean_windows : tuple of int, default (0,)
        Candidate spans (years) of the long-run mean :math:`m_r`; 0 is the whole training series.
    exog, log, relative : tuple of str, default ()
        Exogenous columns whose values at the origin correct the forecast (as in
        :class:`kzmig.models.forecasters.fe_direct.DirectFE`: logs, gaps to the regional mean of the year):
        per horizon, the scaled pseudo-origin errors of the tuned forecast are regressed (least
        squares, no intercept) on the features of the pseudo-origin year, and
        :math:`s_r \\gamma_h' x_{rT}` is added to the forecast (``gamma_``).
    tune_horizon : int, default 3
        Horizons ``1..tune_horizon`` scored on the pseudo-origins.
    min_train : int, default 8
        Years of a series up to its first pseudo-origin.
    name : str, optional
        Model name (default ``"meanreversion"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` bridges.

    Attributes
    ----------
    phi_, weight_, window_ : float, float, int
        The tuned values.
    tuning_ : DataFrame
        Every grid point: ``phi, weight, window, error`` (mean scaled absolute error over
        ``cells`` pseudo-origin cells), ``chosen``.
    params_ : DataFrame
        Per region: ``mean`` (long-run), ``anchor``, ``scale``, ``n``.
    inner_errors_ : dict of int to array
        Per horizon, the chosen grid point's absolute scaled errors on the pseudo-origins; the
        interval half-width is their conformal quantile times the region's scale
        (:func:`interval_quantiles`).

    Notes
    -----
    With no pseudo-origin cell (every series shorter than ``min_train + 1`` years) the model
    uses ``phi = 0.85, w = 0.5, k = 3`` (the middle of the grid) and says so in the log and in
    ``tuning_``; intervals are then absent.
    """

    min_length = 4
    DEFAULT = (0.85, 0.5, 3, 0)

    def __init__(self, *, phis=(0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95), weights=(0.0, 0.25, 0.5, 0.75, 1.0),
                 windows=(3, 5), mean_windows=(0,), exog=(), log=(), relative=(), tune_horizon=3, min_train=8,
                 name=None, breaks="bridge"):
        self.phis, self.weights, self.windows, self.mean_windows = phis, weights, windows, mean_windows
        self.exog, self.log, self.relative = exog, log, relative
        self.tune_horizon, self.min_train = tune_horizon, min_train
        self.name, self.breaks = name, breaks

    def _check(self) -> None:
        bad = [k for k, v, ok in (("phis", self.phis, lambda x: 0 <= x <= 1), ("weights", self.weights,
                                  lambda x: 0 <= x <= 1), ("windows", self.windows, lambda x: int(x) == x and x >= 1),
                                 ("mean_windows", self.mean_windows, lambda x: int(x) == x and x >= 0))
               if not len(v) or not all(ok(x) for x in v)]
        if bad or int(self.tune_horizon) < 1 or int(self.min_train) < 2:
            raise ConfigError(f"MeanReversion: {bad or 'tune_horizon/min_train'} out of range: phis and weights in "
                             f"[0, 1], windows whole >= 1 (given phis={self.phis}, weights={self.weights}, "
                             f"windows={self.windows}, tune_horizon={self.tune_horizon}, min_train={self.min_train}).")

    @staticmethod
    def _paths(y: np.ndarray, grid: np.ndarray, H: int) -> np.ndarray:
        """Forecasts ``1..H`` from the end of ``y`` for each grid row ``(phi, w, k, mean span)``: shape (G, H)."""
        def means(spans: np.ndarray) -> np.ndarray:  # one mean per distinct span, mapped to the rows
            values, inverse = np.unique(spans.astype(int), return_inverse=True)
            return np.array([y[-v:].mean() if v else y.mean() for v in values])[inverse]

        m, recent = means(grid[:, 3]), means(grid[:, 2])
        anchor = (1 - grid[:, 1]) * y[-1] + grid[:, 1] * recent
        steps = np.arange(1, H + 1)
        return m[:, None] + grid[:, [0]] ** steps * (anchor - m)[:, None]

    @property
    def exog_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.exog)

    def _fit(self, data: pd.DataFrame) -> None:
        self._check()
        H = int(self.tune_horizon)
        cols = list(self.exog)
        grid = np.array(list(itertools.product(self.phis, self.weights, self.windows, self.mean_windows)), dtype=float)
        scales = region_scales(data)
        feats = exog_features(data, cols, self.log, self.relative).set_index(["region", "year"]) if cols else None
        cells = []  # (region, pseudo-origin, h, forecasts of every grid point, actual, scale)
        for region, g in data.groupby("region", sort=False):
            years, y = g["year"].to_numpy(), g["y_fit"].to_numpy(dtype=float)
            for s in pseudo_origins(years, min_train=int(self.min_train), last=int(years[-1])):
                i = int(np.searchsorted(years, s))
                if years[i] != s:
                    continue
                path = self._paths(y[: i + 1], grid, H)
                for h in range(1, H + 1):
                    if i + h < len(y) and years[i + h] == s + h:
                        cells.append((str(region), int(s), h, path[:, h - 1], float(y[i + h]), scales[str(region)]))
        if cells:
            P = np.stack([c[3] for c in cells])
            actual = np.array([c[4] for c in cells])
            sc = np.array([c[5] for c in cells])
            err = (np.abs(P - actual[:, None]) / sc[:, None]).mean(axis=0)
            best = int(np.argmin(np.round(err, 12)))  # first in grid order on ties
        else:
            err = np.full(len(grid), np.nan)
            hit = (grid == np.array(self.DEFAULT)).all(axis=1)
            best = int(np.flatnonzero(hit)[0]) if hit.any() else 0
            logger.warning("%s: no pseudo-origin cell (series shorter than %d years); phi, w, k = %s untuned.",
                           self._name(), int(self.min_train) + 1, tuple(grid[best]))
        self.phi_, self.weight_, self.window_ = float(grid[best, 0]), float(grid[best, 1]), int(grid[best, 2])
        self.mean_window_ = int(grid[best, 3])
        self.tuning_ = pd.DataFrame({"phi": grid[:, 0], "weight": grid[:, 1], "window": grid[:, 2].astype("int64"),
                                     "mean_window": grid[:, 3].astype("int64"),
                                     "error": err, "cells": len(cells), "chosen": np.arange(len(grid)) == best})
        resid = (actual - P[:, best]) / sc if cells else np.zeros(0)
        horizons = np.array([c[2] for c in cells], dtype=int)
        self.gamma_ = pd.DataFrame(0.0, index=pd.Index(range(1, H + 1), name="horizon"), columns=cols)
        if cols and cells:
            X = feats.reindex(pd.MultiIndex.from_tuples([(c[0], c[1]) for c in cells]))[cols].to_numpy(dtype=float)
            ok = np.isfinite(X).all(axis=1)
            for h in range(1, H + 1):
                m = ok & (horizons == h)
                if m.sum() > len(cols):
                    self.gamma_.loc[h] = np.linalg.lstsq(X[m], resid[m], rcond=None)[0]
            # the interval errors: corrected where the cell has its features, as they are where it has not
            correction = np.einsum("ij,ij->i", np.where(ok[:, None], X, 0.0), self.gamma_.loc[horizons].to_numpy())
            resid = resid - np.where(ok, correction, 0.0)
        self.inner_errors_ = {int(h): np.abs(resid[horizons == h]) for h in range(1, H + 1) if (horizons == h).any()}
        rows = []
        for region, g in data.groupby("region", sort=False):
            y = g["y_fit"].to_numpy(dtype=float)
            k = min(self.window_, len(y))
            anchor = (1 - self.weight_) * y[-1] + self.weight_ * y[-k:].mean()
            x = {}
            if cols:
                x = self._last_features(feats, str(region), cols)
            rows.append({"region": str(region), "mean": self._long_run(y), "anchor": float(anchor),
                         "scale": scales[str(region)], "n": len(y), **x})
        self.params_ = pd.DataFrame(rows).set_index("region")
        logger.info("%s: phi=%.2f, w=%.2f, k=%d from %d pseudo-origin cells.", self._name(), self.phi_,
                    self.weight_, self.window_, len(cells))

    update_rule = ("phi, w, k and the exogenous correction kept; each region's long-run mean, anchor and features "
                   "recomputed from the newer series")

    def _update(self, data: pd.DataFrame) -> None:
        rows = []
        for region, g in data.groupby("region", sort=False):
            y = g["y_fit"].to_numpy(dtype=float)
            k = min(self.window_, len(y))
            anchor = (1 - self.weight_) * y[-1] + self.weight_ * y[-k:].mean()
            rows.append({"region": str(region), "mean": self._long_run(y), "anchor": float(anchor),
                         "scale": float(self.params_.loc[str(region), "scale"]), "n": len(y)})
        new = pd.DataFrame(rows).set_index("region")
        cols = list(self.exog)
        if cols:
            feats = exog_features(data, cols, self.log, self.relative).set_index(["region", "year"])
            x = pd.DataFrame([self._last_features(feats, str(r), cols) for r in new.index], index=new.index)
            new = new.join(x)
        self.params_ = new

    def _long_run(self, y: np.ndarray) -> float:
        """The long-run mean: over the last ``mean_window_`` values (all with 0)."""
        n = int(getattr(self, "mean_window_", 0))
        return float(y[-n:].mean() if n else y.mean())

    def _last_features(self, feats: pd.DataFrame, region: str, cols: list[str]) -> dict:
        """The region's features of its latest year with all of them (``feature_year``); raises if none."""
        have = feats.loc[region][cols].dropna()
        if have.empty:
            raise DataError(f"MeanReversion: region {region}: the feature(s) {cols} have no value in any training "
                             "year.")
        return {**{c: float(have[c].iloc[-1]) for c in cols}, "feature_year": int(have.index[-1])}

    @property
    def has_intervals(self) -> bool:  # type: ignore[override]
        return True

    def _predict(self, h: int, levels) -> pd.DataFrame:
        steps = np.arange(1, h + 1)
        inner = {int(k): np.asarray(v, dtype=float) for k, v in getattr(self, "inner_errors_", {}).items()}
        width = interval_quantiles(inner, levels, h) if inner else None
        parts = []
        cols = list(self.exog)
        gamma = self.gamma_.reindex(range(1, h + 1)).ffill().fillna(0.0) if cols else None
        for region, r in self.params_.iterrows():
            point = r["mean"] + self.phi_ ** steps * (r["anchor"] - r["mean"])
            if cols:
                point = point + r["scale"] * (gamma[cols].to_numpy() @ r[cols].to_numpy(dtype=float))
            bounds = {lv: (point - width[lv] * r["scale"], point + width[lv] * r["scale"]) for lv in levels} \
                if width else None
            parts.append(forecast_frame(self._name(), region, self.origin_years_[region], point, bounds, levels))
        return pd.concat(parts, ignore_index=True)
