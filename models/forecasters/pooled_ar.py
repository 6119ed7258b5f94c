"""Pooled AR(1) towards each region's mean, with the persistence shrunk across regions.

In the spirit of the UN World Population Prospects model for net international migration
(a Bayesian hierarchical AR(1) pulling each country towards its own long-run mean with a
persistence drawn from a common distribution), estimated here by empirical Bayes: each
region's AR(1) coefficient is shrunk towards the precision-weighted cross-regional mean by
the DerSimonian-Laird between-region variance (statsmodels ``combine_effects``).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from statsmodels.stats.meta_analysis import combine_effects

from kzmig.core.errors import ConfigError
from kzmig.models.forecasters.forecast_base import BaseForecaster, forecast_frame, normal_bounds
from kzmig.models.registry import register

logger = logging.getLogger(__name__)


@register("pooled_ar", pools=True)
class PooledAR(BaseForecaster):
    """AR(1) around regional means with empirical-Bayes shrinkage of the persistence.

    Parameters
    ----------
    mean_window : int, optional
        Years (ending at the origin) over which each region's mean :math:`\\mu_r` is taken;
        ``None`` (default) uses the whole training series.
    phi_bound : float, default 0.98
        Shrunk coefficients are clipped to ``[-phi_bound, phi_bound]`` to stay stationary.
    name : str, optional
        Model name (default ``"pooledar"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` bridges.

    Attributes
    ----------
    params_ : DataFrame
        Per region: ``mu``, ``phi_ols``, ``phi_se``, ``phi`` (shrunk), ``shrinkage`` (weight on the
        pooled value), ``sigma``, ``n``.
    phi_pooled_, tau2_ : float
        Random-effects mean of the persistence and the between-region variance.

    Notes
    -----
    :math:`y_{rt} - \\mu_r = \\phi_r (y_{r,t-1} - \\mu_r) + \\varepsilon_{rt}`,
    :math:`\\varepsilon_{rt} \\sim N(0, \\sigma_r^2)`, :math:`\\phi_r \\sim N(\\bar\\phi, \\tau^2)`.
    With :math:`\\hat\\phi_r` the OLS slope (no intercept) of the demeaned series on its lag and
    :math:`s_r^2` its squared standard error, the posterior mean is
    :math:`\\phi_r^* = B_r\\bar\\phi + (1 - B_r)\\hat\\phi_r`, :math:`B_r = s_r^2/(s_r^2 + \\tau^2)`.
    Forecast: :math:`\\hat y_{r,T+h} = \\mu_r + (\\phi_r^*)^h (y_{rT} - \\mu_r)`, variance
    :math:`\\sigma_r^2 \\sum_{j=0}^{h-1} (\\phi_r^*)^{2j}` (parameter uncertainty ignored), so the
    interval widens with ``h`` towards the unconditional width.
    """

    min_length = 4

    def __init__(self, *, mean_window=None, phi_bound=0.98, name=None, breaks="bridge"):
        self.mean_window, self.phi_bound = mean_window, phi_bound
        self.name, self.breaks = name, breaks

    result_ = None

    def _fit(self, data: pd.DataFrame) -> None:
        if self.mean_window is not None and (not isinstance(self.mean_window, (int, np.integer)) or self.mean_window < 2):
            raise ConfigError(f"PooledAR: mean_window={self.mean_window!r} must be None or an integer >= 2.")
        if not 0 < self.phi_bound < 1:
            raise ConfigError(f"PooledAR: phi_bound={self.phi_bound!r} must lie in (0, 1).")
        rows = []
        for region, part in data.groupby("region", sort=False):
            y = part["y_fit"].to_numpy(dtype=float)
            mu = float(np.mean(y if self.mean_window is None else y[-self.mean_window :]))
            x0, x1 = y[:-1] - mu, y[1:] - mu
            sxx = float(x0 @ x0)
            phi = float(x0 @ x1) / sxx if sxx > 0 else 0.0
            resid = x1 - phi * x0
            s2 = float(resid @ resid) / max(len(resid) - 1, 1)
            se2 = s2 / sxx if sxx > 0 else np.inf
            rows.append((str(region), mu, phi, se2, np.sqrt(s2), float(y[-1]), len(y)))
        p = pd.DataFrame(rows, columns=["region", "mu", "phi_ols", "phi_var", "sigma", "last", "n"])
        ok = np.isfinite(p["phi_var"]) & (p["phi_var"] > 0)
        if ok.sum() >= 2:
            eff, var = p.loc[ok, "phi_ols"].to_numpy(), p.loc[ok, "phi_var"].to_numpy()
            with np.errstate(invalid="ignore"):
                ce = combine_effects(eff, var, method_re="dl")
            self.tau2_ = max(float(ce.tau2), 0.0)  # DL is truncated at zero
            w = 1.0 / (var + self.tau2_)
            self.phi_pooled_ = float(w @ eff / w.sum())
        else:
            self.phi_pooled_, self.tau2_ = float(p["phi_ols"].mean()), 0.0
        denom = p["phi_var"] + self.tau2_
        p["shrinkage"] = np.where(denom > 0, p["phi_var"] / denom, 1.0)
        p.loc[~np.isfinite(p["phi_var"]), "shrinkage"] = 1.0
        shrunk = p["shrinkage"] * self.phi_pooled_ + (1 - p["shrinkage"]) * p["phi_ols"]
        p["phi"] = shrunk.clip(-self.phi_bound, self.phi_bound)
        p["phi_se"] = np.sqrt(p.pop("phi_var"))
        self.params_ = p.set_index("region")
        logger.info("PooledAR: pooled phi=%.3f, tau2=%.4f over %d regions.", self.phi_pooled_, self.tau2_, len(p))

    update_rule = ("regional means mu, shrunk persistence phi and innovation sd kept; the forecast starts "
                   "from each region's new last value")

    def _update(self, data: pd.DataFrame) -> None:
        """Keep ``mu``, ``phi`` and ``sigma`` (the mean-reversion and persistence estimates); take
        each region's last value and length from the newer series."""
        last = data.groupby("region", sort=False)["y_fit"].agg(["last", "size"])
        p = self.params_.copy()
        p["last"] = last["last"].reindex(p.index).astype(float)
        p["n"] = last["size"].reindex(p.index).astype(p["n"].dtype)
        self.params_ = p

    def _predict(self, h: int, levels) -> pd.DataFrame:
        steps = np.arange(1, h + 1)
        parts = []
        for region, r in self.params_.iterrows():
            point = r["mu"] + r["phi"] ** steps * (r["last"] - r["mu"])
            var = r["sigma"] ** 2 * np.cumsum(r["phi"] ** (2 * (steps - 1)))
            bounds = normal_bounds(point, np.sqrt(var), levels)
            parts.append(forecast_frame(self._name(), region, self.origin_years_[region], point, bounds, levels))
        return pd.concat(parts, ignore_index=True)
