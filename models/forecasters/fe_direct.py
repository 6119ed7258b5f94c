"""Region fixed effects, direct per horizon, with lagged exogenous drivers.

For each horizon ``h`` one pooled least-squares regression over every region and year ``t`` with
``t + h`` up to the origin:

.. math::

    z_{r,t+h} = \\alpha_{rh} + \\rho_h z_{rt} + \\gamma_h' x_{rt} + e_{r,t,h},

where :math:`z = y / s_r` is the (bridged) series divided by the region's naive scale
:math:`s_r` (so large and small regions pool on one footing) and :math:`x_{rt}` the exogenous
features of year ``t``: an ``h``-year lead from the features to the target, so the forecast
from origin ``T`` needs features of ``T`` only, never a forecast of them. A feature named in
``relative`` enters as its gap to the mean over the regional series of the same year (the
national series left out), after a log for those named in ``log``: the unemployment gap and the
log income ratio of the issue's probe. The region intercepts carry each region's long-run
level, so the forecast reverts toward it at the pooled rate :math:`\\rho_h`.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from kzmig.core.errors import ConfigError, DataError
from kzmig.features.data.regions import NATIONAL
from kzmig.models.forecasters.forecast_base import BaseForecaster, forecast_frame, normal_bounds
from kzmig.models.forecasters.tuning import region_scales
from kzmig.models.registry import register

logger = logging.getLogger(__name__)


def exog_features(data: pd.DataFrame, exog, log=(), relative=()) -> pd.DataFrame:
    """The exogenous columns as the model uses them: logged, then as gaps to the regional mean of each year.

    Uses only values of the same year (no other year enters a row), so it cannot leak a later
    year into an earlier one. A year without a regional series (a national-only table) takes the
    mean over every series of the year, so its gap is 0.

    Raises
    ------
    ValueError
        A ``log`` column with a value <= 0 (naming the column, region and year), or ``log`` /
        ``relative`` naming a column not in ``exog``.
    """
    unknown = sorted((set(log) | set(relative)) - set(exog))
    if unknown:
        raise ConfigError(f"DirectFE: log/relative name column(s) {unknown} that are not in exog={list(exog)}.")
    out = data[["region", "year"]].copy()
    regional = data["region"].astype(str) != NATIONAL
    for col in exog:
        x = data[col].astype(float)
        if col in log:
            bad = data.loc[x <= 0, ["region", "year"]]
            if len(bad):
                r = bad.iloc[0]
                raise DataError(f"DirectFE: column {col!r} has a value <= 0 (region {r['region']}, year "
                                 f"{int(r['year'])}); it cannot enter as a log.")
            x = np.log(x)
        if col in relative:
            mean = x.where(regional).groupby(data["year"]).transform("mean")
            # a year without a regional series (a national-only table): the mean over every series
            mean = mean.fillna(x.groupby(data["year"]).transform("mean"))
            x = x - mean
        out[col] = x
    return out


@register("fe_direct", pools=True, horizon="max_horizon", ranges={"max_horizon": (1, None), "window": (0, None)})
class DirectFE(BaseForecaster):
    """Pooled direct regressions with region intercepts, one per horizon.

    Parameters
    ----------
    exog : tuple of str, default ()
        Exogenous columns of the input frame (values of the row year ``t`` predict ``t + h``).
    log : tuple of str, default ()
        Columns of ``exog`` entered as logs.
    relative : tuple of str, default ()
        Columns of ``exog`` entered as gaps to the mean over the regional series of the year.
    window : int, default 0
        Regress on the rows whose target year is among the last ``window`` training years
        (0: every year).
    scaled : bool, default True
        Divide each region's series by its naive scale before pooling (False: the values as
        they are, e.g. for rates that already compare).
    max_horizon : int, default 8
        Horizons ``1..max_horizon`` get a regression; ``predict(h)`` needs ``h <= max_horizon``.
    name : str, optional
        Model name (default ``"directfe"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` bridges.

    Attributes
    ----------
    coef_ : DataFrame
        Per horizon: ``rho`` and one column per exogenous feature, ``rows``, ``sigma`` (residual
        standard deviation of the scaled target, degrees of freedom corrected).
    intercepts_ : DataFrame
        ``alpha`` per region (rows) and horizon (columns); a region without a training row at a
        horizon gets the intercept that makes its own mean a fixed point (noted in ``fit_report_``).
    state_ : DataFrame
        Per region the scaled last value ``z``, the features of its last year with a value
        (``<col>``), ``scale`` and ``feature_year``.
    fit_report_ : DataFrame
        ``region, spec, fallback_reason``: features carried forward from an earlier year, or
        intercepts set from the region's mean.

    Notes
    -----
    Rows with a missing feature are left out of the regression of that horizon (counted in
    ``rows``). At the origin, a region whose features of that year are missing uses its latest
    earlier ones (named in ``fit_report_``); a region with none raises.
    """

    min_length = 4

    def __init__(self, *, exog=(), log=(), relative=(), window=0, scaled=True, max_horizon=8, name=None,
                 breaks="bridge"):
        self.exog, self.log, self.relative = exog, log, relative
        self.window, self.scaled = window, scaled
        self.max_horizon, self.name, self.breaks = max_horizon, name, breaks

    @property
    def exog_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.exog)

    def _fit(self, data: pd.DataFrame) -> None:
        if isinstance(self.max_horizon, bool) or not isinstance(self.max_horizon, (int, np.integer)) \
                or self.max_horizon < 1:
            raise ConfigError(f"DirectFE: max_horizon={self.max_horizon!r} must be an integer >= 1.")
        cols = list(self.exog)
        data = data.sort_values(["region", "year"], kind="mergesort")
        scales = region_scales(data) if self.scaled else {str(r): 1.0 for r in data["region"].unique()}
        last_year = int(data["year"].max())
        feats = exog_features(data, cols, self.log, self.relative)
        z = data["y_fit"].astype(float) / data["region"].astype(str).map(scales)
        frame = pd.DataFrame({"region": data["region"].astype(str).to_numpy(), "year": data["year"].to_numpy(),
                              "z": z.to_numpy(), **{c: feats[c].to_numpy() for c in cols}})
        regions = list(dict.fromkeys(frame["region"]))
        coef, alphas, notes = [], {}, {r: [] for r in regions}
        for h in range(1, int(self.max_horizon) + 1):
            lead = frame.groupby("region", sort=False)[["year", "z"]].shift(-h)
            rows = frame.assign(target=lead["z"], ok=lead["year"] == frame["year"] + h)
            rows = rows.loc[rows["ok"] & rows[["z", "target", *cols]].notna().all(axis=1)]
            if int(self.window) > 0:
                rows = rows.loc[rows["year"] + h > last_year - int(self.window)]
            if rows.empty:
                raise DataError(f"DirectFE: no training row for horizon {h} (series too short for max_horizon="
                                 f"{self.max_horizon}).")
            dummies = pd.get_dummies(pd.Categorical(rows["region"], categories=regions), dtype=float)
            X = np.column_stack([dummies.to_numpy(), rows[["z", *cols]].to_numpy(dtype=float)])
            # a region without rows at this horizon has an all-zero dummy: its intercept is set below
            present = dummies.to_numpy().sum(axis=0) > 0
            X = X[:, np.concatenate([present, np.ones(1 + len(cols), bool)])]
            fit = LinearRegression(fit_intercept=False).fit(X, rows["target"].to_numpy(dtype=float))
            k = int(present.sum())
            beta = fit.coef_[k:]
            resid = rows["target"].to_numpy() - fit.predict(X)
            dof = max(len(rows) - X.shape[1], 1)
            coef.append({"horizon": h, "rho": beta[0], **dict(zip(cols, beta[1:])), "rows": len(rows),
                         "sigma": float(np.sqrt(resid @ resid / dof))})
            alpha = dict(zip([r for r, p in zip(regions, present) if p], fit.coef_[:k]))
            for r in regions:
                if r not in alpha:  # the region's own mean as the fixed point of its regression
                    g = frame.loc[frame["region"] == r]
                    xbar = g[cols].mean().to_numpy(dtype=float) if cols else np.zeros(0)
                    alpha[r] = float((1 - beta[0]) * g["z"].mean() - (beta[1:] @ np.nan_to_num(xbar)))
                    notes[r].append(f"h={h}: no training row, intercept from the region's mean")
            alphas[h] = alpha
        self.coef_ = pd.DataFrame(coef).set_index("horizon")
        self.intercepts_ = pd.DataFrame(alphas).reindex(regions)
        self.intercepts_.columns = [int(c) for c in self.intercepts_.columns]
        self.state_ = self._state(frame, scales, notes)
        self.fit_report_ = pd.DataFrame([(r, "DirectFE", "; ".join(n)) for r, n in notes.items()],
                                        columns=["region", "spec", "fallback_reason"])
        logger.info("%s: rho by horizon %s.", self._name(), self.coef_["rho"].round(3).tolist())

    def _state(self, frame: pd.DataFrame, scales: dict, notes: dict) -> pd.DataFrame:
        """Per region the scaled last value and the features of its latest year that has them all."""
        cols = list(self.exog)
        state = []
        for r, g in frame.groupby("region", sort=False):
            row = {"region": r, "z": float(g["z"].iloc[-1]), "scale": scales[r], "feature_year": int(g["year"].iloc[-1])}
            if cols:
                have = g.loc[g[cols].notna().all(axis=1)]
                if have.empty:
                    raise DataError(f"DirectFE: region {r}: the feature(s) {cols} have no value in any year up to "
                                     f"{int(g['year'].iloc[-1])}.")
                last = have.iloc[-1]
                row.update({c: float(last[c]) for c in cols}, feature_year=int(last["year"]))
                if row["feature_year"] != int(g["year"].iloc[-1]):
                    notes.setdefault(r, []).append(
                        f"features of {row['feature_year']} carried forward to {int(g['year'].iloc[-1])}")
            state.append(row)
        return pd.DataFrame(state).set_index("region")

    update_rule = ("coefficients and region intercepts kept; the forecast starts from each region's new last value "
                   "and the features of its new last year")

    def _update(self, data: pd.DataFrame) -> None:
        cols = list(self.exog)
        data = data.sort_values(["region", "year"], kind="mergesort")
        scales = self.state_["scale"].to_dict()
        feats = exog_features(data, cols, self.log, self.relative)
        z = data["y_fit"].astype(float) / data["region"].astype(str).map(scales)
        frame = pd.DataFrame({"region": data["region"].astype(str).to_numpy(), "year": data["year"].to_numpy(),
                              "z": z.to_numpy(), **{c: feats[c].to_numpy() for c in cols}})
        self.state_ = self._state(frame, scales, {})

    def _predict(self, h: int, levels) -> pd.DataFrame:
        if h > int(self.max_horizon):
            raise ConfigError(f"DirectFE: fitted for horizons 1..{self.max_horizon}; refit with max_horizon >= {h}.")
        cols = list(self.exog)
        c = self.coef_.loc[list(range(1, h + 1))]
        slopes = c[cols].to_numpy(dtype=float) if cols else np.zeros((h, 0))
        x = self.state_[cols].to_numpy(dtype=float) if cols else np.zeros((len(self.state_), 0))
        z = (self.intercepts_.loc[self.state_.index, list(range(1, h + 1))].to_numpy(dtype=float)
             + self.state_["z"].to_numpy(dtype=float)[:, None] * c["rho"].to_numpy(dtype=float)[None, :]
             + x @ slopes.T)
        scale = self.state_["scale"].to_numpy(dtype=float)
        sigma = np.maximum.accumulate(c["sigma"].to_numpy(dtype=float))
        parts = []
        for i, region in enumerate(self.state_.index):
            point = z[i] * scale[i]
            parts.append(forecast_frame(self._name(), region, self.origin_years_[region], point,
                                        normal_bounds(point, sigma * scale[i], levels), levels))
        return pd.concat(parts, ignore_index=True)
