"""Partial pooling toward each region's long-run mean, tuned on pseudo-origins of the training data.

Each region's forecast starts from an *anchor* between its last value and its recent mean and
decays toward its whole-history mean at a persistence shared by all regions:

.. math::

    a_r = (1 - w)\\,y_{rT} + w\\,\\bar y_{r,T-k+1..T}, \\qquad
    \\hat y_{r,T+h} = m_r + \\phi^h (a_r - m_r),

with :math:`m_r` the mean of the region's (bridged) training values. The pooled persistence
:math:`\\phi`, the weight :math:`w` on the recent mean and its window :math:`k` are chosen on a
grid by the mean scaled absolute error of the forecasts from pseudo-origins inside the training
data (:mod:`kzmig.models.tuning`): at a backtest origin, from earlier years only. ``w = 1,
phi -> 1`` is the mean of the last ``k`` years, ``w = 0, phi = 1`` the naive forecast, ``phi = 0``
the historic mean; :class:`kzmig.models.pooled_ar.PooledAR` differs by estimating a persistence
per region (shrunk) by least squares on one-step changes instead of tuning one on the forecast
error of every horizon.
"""
from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from kzmig.models.forecast_base import BaseForecaster, forecast_frame
from kzmig.models.tuning import pseudo_origins, region_scales

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
    DEFAULT = (0.85, 0.5, 3)

    def __init__(self, *, phis=(0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95), weights=(0.0, 0.25, 0.5, 0.75, 1.0),
                 windows=(3, 5), tune_horizon=3, min_train=8, name=None, breaks="bridge"):
        self.phis, self.weights, self.windows = phis, weights, windows
        self.tune_horizon, self.min_train = tune_horizon, min_train
        self.name, self.breaks = name, breaks

    def _check(self) -> None:
        bad = [k for k, v, ok in (("phis", self.phis, lambda x: 0 <= x <= 1), ("weights", self.weights,
                                  lambda x: 0 <= x <= 1), ("windows", self.windows, lambda x: int(x) == x and x >= 1))
               if not len(v) or not all(ok(x) for x in v)]
        if bad or int(self.tune_horizon) < 1 or int(self.min_train) < 2:
            raise ValueError(f"MeanReversion: {bad or 'tune_horizon/min_train'} out of range: phis and weights in "
                             f"[0, 1], windows whole >= 1 (given phis={self.phis}, weights={self.weights}, "
                             f"windows={self.windows}, tune_horizon={self.tune_horizon}, min_train={self.min_train}).")

    @staticmethod
    def _paths(y: np.ndarray, grid: np.ndarray, H: int) -> np.ndarray:
        """Forecasts ``1..H`` from the end of ``y`` for each grid row ``(phi, w, k)``: shape (G, H)."""
        m = y.mean()
        recent = np.array([y[-int(k):].mean() for k in grid[:, 2]])
        anchor = (1 - grid[:, 1]) * y[-1] + grid[:, 1] * recent
        steps = np.arange(1, H + 1)
        return m + grid[:, [0]] ** steps * (anchor - m)[:, None]

    def _fit(self, data: pd.DataFrame) -> None:
        self._check()
        H = int(self.tune_horizon)
        grid = np.array(list(itertools.product(self.phis, self.weights, self.windows)), dtype=float)
        scales = region_scales(data)
        err_sum, cells = np.zeros(len(grid)), 0
        errs = {h: [] for h in range(1, H + 1)}  # per horizon: (cells, G) absolute scaled errors
        for region, g in data.groupby("region", sort=False):
            years, y = g["year"].to_numpy(), g["y_fit"].to_numpy(dtype=float)
            last = int(years[-1])
            for s in pseudo_origins(years, min_train=int(self.min_train), last=last):
                i = int(np.searchsorted(years, s))
                if years[i] != s:
                    continue
                path = self._paths(y[: i + 1], grid, H)
                for h in range(1, H + 1):
                    if i + h < len(y) and years[i + h] == s + h:
                        e = np.abs(path[:, h - 1] - y[i + h]) / scales[str(region)]
                        err_sum += e
                        cells += 1
                        errs[h].append(e)
        if cells:
            err = err_sum / cells
            best = int(np.argmin(np.round(err, 12)))  # first in grid order on ties
        else:
            err = np.full(len(grid), np.nan)
            best = int(np.flatnonzero((grid == np.array(self.DEFAULT)).all(axis=1))[0]) if (
                (grid == np.array(self.DEFAULT)).all(axis=1).any()) else 0
            logger.warning("%s: no pseudo-origin cell (series shorter than %d years); phi, w, k = %s untuned.",
                           self._name(), int(self.min_train) + 1, tuple(grid[best]))
        self.phi_, self.weight_, self.window_ = float(grid[best, 0]), float(grid[best, 1]), int(grid[best, 2])
        self.tuning_ = pd.DataFrame({"phi": grid[:, 0], "weight": grid[:, 1], "window": grid[:, 2].astype("int64"),
                                     "error": err, "cells": cells, "chosen": np.arange(len(grid)) == best})
        rows = []
        for region, g in data.groupby("region", sort=False):
            y = g["y_fit"].to_numpy(dtype=float)
            k = min(self.window_, len(y))
            anchor = (1 - self.weight_) * y[-1] + self.weight_ * y[-k:].mean()
            rows.append((str(region), float(y.mean()), float(anchor), scales[str(region)], len(y)))
        self.params_ = pd.DataFrame(rows, columns=["region", "mean", "anchor", "scale", "n"]).set_index("region")
        chosen = {h: np.array([e[best] for e in errs[h]]) for h in errs if errs[h]}
        self.inner_errors_ = {int(h): v.astype(float) for h, v in chosen.items()}
        logger.info("%s: phi=%.2f, w=%.2f, k=%d from %d pseudo-origin cells.", self._name(), self.phi_,
                    self.weight_, self.window_, cells)

    update_rule = "phi, w and k kept; each region's long-run mean and anchor recomputed from the newer series"

    def _update(self, data: pd.DataFrame) -> None:
        rows = []
        for region, g in data.groupby("region", sort=False):
            y = g["y_fit"].to_numpy(dtype=float)
            k = min(self.window_, len(y))
            anchor = (1 - self.weight_) * y[-1] + self.weight_ * y[-k:].mean()
            rows.append((str(region), float(y.mean()), float(anchor), float(self.params_.loc[str(region), "scale"]),
                         len(y)))
        self.params_ = pd.DataFrame(rows, columns=["region", "mean", "anchor", "scale", "n"]).set_index("region")

    @property
    def has_intervals(self) -> bool:  # type: ignore[override]
        return True

    def _predict(self, h: int, levels) -> pd.DataFrame:
        steps = np.arange(1, h + 1)
        inner = {int(k): np.asarray(v, dtype=float) for k, v in getattr(self, "inner_errors_", {}).items()}
        width = interval_quantiles(inner, levels, h) if inner else None
        parts = []
        for region, r in self.params_.iterrows():
            point = r["mean"] + self.phi_ ** steps * (r["anchor"] - r["mean"])
            bounds = {lv: (point - width[lv] * r["scale"], point + width[lv] * r["scale"]) for lv in levels} \
                if width else None
            parts.append(forecast_frame(self._name(), region, self.origin_years_[region], point, bounds, levels))
        return pd.concat(parts, ignore_index=True)
