"""A global gradient-boosting forecaster across regions, direct multi-horizon.

A region's own history is about 19 annual points, so learning comes from pooling: one
scikit-learn ``HistGradientBoostingRegressor`` per horizon ``h`` is trained on every
(region, year) row of all regions, with lagged targets, lagged exogenous features and the
region as a categorical attribute. Targets are divided by each region's naive scale (mean
absolute first difference up to the origin, :func:`kzmig.models.forecasters.scale.naive_scale`) so that large
and small regions pool on one footing; a flat series, which has no scale, is not rescaled.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from kzmig.core.errors import ConfigError, DataError
from kzmig.core.options import check_option
from kzmig.models.forecasters.forecast_base import BaseForecaster, forecast_frame
from kzmig.models.forecasters.scale import naive_scale
from kzmig.models.registry import register

logger = logging.getLogger(__name__)
MAX_CATEGORIES = 255  # HistGradientBoosting's cardinality limit for a categorical feature

TRANSFORMS = ("level", "diff")


def leaf_size(min_samples_leaf: int, n_rows: int) -> int:
    """Leaf size for ``n_rows`` training rows: ``min_samples_leaf`` capped at ``max(n_rows // 4, 1)``."""
    return min(int(min_samples_leaf), max(n_rows // 4, 1))


def design_matrix(data: pd.DataFrame, origin: int, h: int, *, lags: int, exog=(), exog_lag: int = 1,
                  transform: str = "level", denominator: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and prediction rows for horizon ``h`` built only from years ``<= origin``.

    Parameters
    ----------
    data : DataFrame
        Validated series frame with ``region, year, y_fit`` and the ``exog`` columns.
    origin : int
        Last year that may be used; rows after it are dropped first.

    Returns
    -------
    train, pred : DataFrame
        ``train`` holds ``region, year`` (the row year ``t``), the features and ``target``
        (scaled ``y_{t+h}``, or ``y_{t+h} - y_t`` with ``transform="diff"``), only where the
        target year is ``<= origin``; ``pred`` holds each region's last row, plus ``scale``,
        ``anchor`` (the value added back) and ``denom`` (rate back-transform). ``scale`` is
        :func:`kzmig.models.forecasters.scale.naive_scale` of the region's values, or 1.0 (not rescaled) where
        that is NaN: a flat or one-point series, or a missing denominator.
    """
    cut = data.loc[data["year"] <= origin].sort_values(["region", "year"], kind="mergesort")
    parts_t, parts_p, unscaled = [], [], []
    for code, (region, part) in enumerate(cut.groupby("region", sort=True)):
        y = part["y_fit"].to_numpy(dtype=float)
        denom = np.ones(len(y))
        if denominator is not None:
            denom = part[denominator].to_numpy(dtype=float) / 1000.0
            y = y / denom
        scale = naive_scale(y)
        if np.isnan(scale):
            scale = 1.0
            unscaled.append(str(region))
        z = pd.Series(y / scale, index=part.index)
        feats = {f"y_lag{k}": z.shift(k) for k in range(lags)}
        for col in exog:
            feats[f"{col}_lag{exog_lag}"] = part[col].shift(exog_lag)
        f = pd.DataFrame(feats)
        f.insert(0, "region_code", float(code))
        f.insert(0, "year", part["year"].to_numpy())
        f.insert(0, "region", region)
        f["target"] = z.shift(-h) - (z if transform == "diff" else 0.0)
        ok = f[[f"y_lag{k}" for k in range(lags)]].notna().all(axis=1)
        parts_t.append(f.loc[ok & f["target"].notna()])
        last = f.iloc[[-1]].drop(columns="target").assign(
            scale=scale, anchor=float(z.iloc[-1]) if transform == "diff" else 0.0, denom=float(denom[-1])
        )
        parts_p.append(last)
    if unscaled:  # debug: the frame is built once per horizon
        logger.debug("GradientBoosting: %d series without a naive scale up to %d (flat, one point or a missing "
                     "denominator) are not rescaled: %s.", len(unscaled), origin, unscaled[:6])
    return pd.concat(parts_t, ignore_index=True), pd.concat(parts_p, ignore_index=True)


@register("boosting", pools=True, horizon="max_horizon", choices={"transform": TRANSFORMS},
          ranges={"lags": (1, None), "exog_lag": (1, None), "max_horizon": (1, None), "min_samples_leaf": (1, None)})
class GradientBoosting(BaseForecaster):
    """Global direct multi-horizon gradient boosting (no model-based interval).

    Parameters
    ----------
    lags : int, default 3
        Lagged target values ``y_t, ..., y_{t-lags+1}`` used as features.
    exog : tuple of str, default ()
        Exogenous columns of the input frame, entered with ``exog_lag``.
    exog_lag : int, default 1
        Years between an exogenous value and the row year (``>= 1``; METHOD.md section 4).
    transform : {"level", "diff"}, default "level"
        Predict the scaled level ``y_{t+h}`` or the change ``y_{t+h} - y_t``.
    denominator : str, optional
        Column (e.g. ``"population_avg"``) turning counts into rates per 1,000 before
        fitting; forecasts are turned back with the denominator of the origin year, held fixed.
    region_feature : bool, default True
        Use the region as a categorical feature.
    max_horizon : int, default 8
        Horizons ``1..max_horizon`` get a model; ``predict(h)`` needs ``h <= max_horizon``.
    min_samples_leaf : int, default 10
        Fewest training rows in a leaf, capped per horizon at a quarter of that horizon's
        training rows (at least 1; see Notes).
    max_iter, learning_rate, max_leaf_nodes, l2_regularization
        Passed to ``HistGradientBoostingRegressor`` (``early_stopping=False``).
    random_state : int, default 0
    n_threads : int, default 1
        OpenMP threads for scikit-learn; one thread is fastest on these small problems and
        leaves the cores to the backtest's parallel origins.
    name : str, optional
        Model name (default ``"gradientboosting"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"

    Notes
    -----
    For each horizon :math:`h`, :math:`\\tilde y_{r,t+h} = f_h(\\tilde y_{rt}, \\dots,
    \\tilde y_{r,t-L+1}, x_{r,t-\\ell}, r) + e`, with :math:`\\tilde y = y / s_r` and :math:`s_r`
    the mean absolute first difference of region ``r`` up to the origin. ``result_`` is None;
    intervals come from :mod:`kzmig.forecast.engine.conformal`.

    Leaf size: a horizon with :math:`n` training rows uses
    ``min(min_samples_leaf, max(n // 4, 1))``, so that a tree can still split when early
    backtest origins leave few rows (with ``min_samples_leaf > n / 2`` no split is possible
    and every forecast would be the mean). The value used for each horizon is kept in
    ``min_samples_leaf_`` (saved with the model) and a cap is logged.

    Attributes
    ----------
    min_samples_leaf_ : dict of int to int
        Horizon -> leaf size used for that horizon's model.
    """

    has_intervals = False
    result_ = None
    min_length = 2

    def __init__(self, *, lags=3, exog=(), exog_lag=1, transform="level", denominator=None,
                 region_feature=True, max_horizon=8, max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                 min_samples_leaf=10, l2_regularization=1.0, random_state=0, n_threads=1, name=None,
                 breaks="bridge"):
        self.lags, self.exog, self.exog_lag, self.transform = lags, exog, exog_lag, transform
        self.denominator, self.region_feature, self.max_horizon = denominator, region_feature, max_horizon
        self.max_iter, self.learning_rate, self.max_leaf_nodes = max_iter, learning_rate, max_leaf_nodes
        self.min_samples_leaf, self.l2_regularization = min_samples_leaf, l2_regularization
        self.random_state, self.n_threads, self.name, self.breaks = random_state, n_threads, name, breaks

    @property
    def exog_columns(self):  # type: ignore[override]
        """Input columns the model needs besides ``y``: ``exog`` and the rate denominator."""
        return tuple(self.exog) + ((self.denominator,) if self.denominator else ())

    def _check_params(self) -> None:
        check_option("transform", self.transform, TRANSFORMS, owner="GradientBoosting")
        for p, lo in (("lags", 1), ("exog_lag", 1), ("max_horizon", 1), ("min_samples_leaf", 1)):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"GradientBoosting: {p}={v!r} must be an integer >= {lo}.")

    def _check_exog(self, data: pd.DataFrame, origin: int) -> None:
        for col in self.exog_columns:
            known = data.loc[data["year"] <= origin - (self.exog_lag if col in self.exog else 0), col]
            if known.notna().sum() == 0:
                raise DataError(
                    f"GradientBoosting: exogenous column {col!r} is missing for every region in all years "
                    f"up to {origin - self.exog_lag} (origin {origin}); drop it from exog or move the origin."
                )

    def _fit(self, data: pd.DataFrame) -> None:
        self._check_params()
        n_regions = data["region"].nunique()
        if self.region_feature and n_regions > MAX_CATEGORIES:
            raise ConfigError(
                f"GradientBoosting: region_feature=True supports at most {MAX_CATEGORIES} regions "
                f"(scikit-learn's limit for a categorical feature); got {n_regions}. Pass "
                "region_feature=False (the scaled target already pools regions on one footing)."
            )
        origin = max(self.years_)
        self._check_exog(data, origin)
        self.models_, self.pred_rows_, self.min_samples_leaf_ = {}, {}, {}
        for h in range(1, self.max_horizon + 1):
            train, pred = design_matrix(data, origin, h, lags=self.lags, exog=tuple(self.exog),
                                        exog_lag=self.exog_lag, transform=self.transform, denominator=self.denominator)
            if len(train) < 2:
                raise DataError(
                    f"GradientBoosting: horizon h={h} has {len(train)} training rows with lags={self.lags} "
                    f"(years {self.years_[0]}-{origin}); lower max_horizon or lags."
                )
            cols = self._feature_columns(train)
            self.min_samples_leaf_[h] = leaf = leaf_size(self.min_samples_leaf, len(train))
            est = HistGradientBoostingRegressor(
                max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=leaf,
                l2_regularization=self.l2_regularization, early_stopping=False, random_state=self.random_state,
                categorical_features=[c == "region_code" for c in cols] if self.region_feature else None,
            )
            with threadpool_limits(limits=self.n_threads, user_api="openmp"):
                self.models_[h] = est.fit(train[cols].to_numpy(dtype=float), train["target"].to_numpy(dtype=float))
            self.pred_rows_[h] = pred
        capped = {h: v for h, v in self.min_samples_leaf_.items() if v < self.min_samples_leaf}
        if capped:
            logger.info("GradientBoosting: min_samples_leaf=%d capped to a quarter of the training rows for "
                        "horizon(s) %s (origin %d): %s.", self.min_samples_leaf, sorted(capped), origin, capped)
        self.design_columns_ = cols
        self.feature_names_ = tuple(self.exog_columns)
        logger.info("GradientBoosting: %d horizon models on %d regions up to %d.", self.max_horizon, len(self.regions_), origin)

    update_rule = ("trees of every horizon kept; the prediction rows (lagged, scaled values and exogenous "
                   "features) rebuilt from the new series up to its last year")

    def _update(self, data: pd.DataFrame) -> None:
        """Keep the fitted trees; rebuild each horizon's prediction row from the newer data.

        The lags, the region's naive scale and the exogenous features of the prediction row
        come from the new series up to its last year (:func:`design_matrix`); the trees and the
        region codes (regions in sorted order, the same set as at fitting) are unchanged.
        """
        self._check_params()
        origin = max(self.years_)
        self._check_exog(data, origin)
        for h in self.models_:
            _, self.pred_rows_[h] = design_matrix(data, origin, h, lags=self.lags, exog=tuple(self.exog),
                                                  exog_lag=self.exog_lag, transform=self.transform,
                                                  denominator=self.denominator)

    def _feature_columns(self, train: pd.DataFrame) -> list[str]:
        drop = {"region", "year", "target"} | (set() if self.region_feature else {"region_code"})
        return [c for c in train.columns if c not in drop]

    def _predict(self, h: int, levels) -> pd.DataFrame:
        if h > self.max_horizon:
            raise ConfigError(
                f"GradientBoosting was fitted for horizons 1..{self.max_horizon}; refit with max_horizon >= {h}."
            )
        paths: dict[str, list[float]] = {}
        for step in range(1, h + 1):
            pred = self.pred_rows_[step]
            with threadpool_limits(limits=self.n_threads, user_api="openmp"):
                yhat = self.models_[step].predict(pred[self.design_columns_].to_numpy(dtype=float))
            values = (yhat + pred["anchor"].to_numpy()) * pred["scale"].to_numpy() * pred["denom"].to_numpy()
            for region, v in zip(pred["region"], values):
                paths.setdefault(str(region), []).append(float(v))
        parts = [forecast_frame(self._name(), r, self.origin_years_[r], np.asarray(p), None, levels)
                 for r, p in paths.items()]
        return pd.concat(parts, ignore_index=True)
