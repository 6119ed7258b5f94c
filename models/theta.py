"""The Theta method per region (statsmodels ``ThetaModel``), no seasonality for annual data."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.forecasting.theta import ThetaModel

from kzmig.models.schema import level_to_alpha
from kzmig.models.forecast_base import LocalForecaster

logger = logging.getLogger(__name__)


class Theta(LocalForecaster):
    """Theta forecasts: simple exponential smoothing plus half the linear-trend slope.

    Parameters
    ----------
    theta : float, default 2.0
        Weight of the long-run trend line (2 gives the classical Theta method).
    name : str, optional
        Model name (default ``"theta"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` bridges (Theta takes no regressor).

    Notes
    -----
    Assimakopoulos & Nikolopoulos (2000), as Hyndman & Billah (2003) show it to be SES with
    drift: :math:`\\hat y_{T+h} = \\tilde\\ell_T + \\frac{\\theta-1}{\\theta}\\, b_0
    \\left(h - 1 + \\frac1\\alpha - \\frac{(1-\\alpha)^T}{\\alpha}\\right)` with :math:`b_0` the
    OLS slope on time and :math:`\\tilde\\ell_T` the SES level. Intervals are statsmodels' SES
    intervals, :math:`\\hat\\sigma^2 (1 + \\alpha^2 (h-1))`, which widen with ``h``.
    """

    min_length = 4

    def __init__(self, *, theta: float = 2.0, name=None, breaks="bridge"):
        self.theta, self.name, self.breaks = theta, name, breaks

    def _prepare(self, df):
        if not np.isfinite(self.theta) or self.theta < 1:
            raise ValueError(f"Theta: theta={self.theta!r} must be a finite number >= 1.")
        return super()._prepare(df)

    def _fit_one(self, years, y, is_break):
        series = pd.Series(y, index=pd.RangeIndex(len(y)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            res = ThetaModel(series, period=1, deseasonalize=False).fit()
            sigma2 = res.sigma2  # fits the ARIMA(0,1,1) once; cached on the results object
        if not (np.isfinite(res.params).all() and np.isfinite(sigma2)):
            raise ValueError("Theta fit gave non-finite parameters")
        return {"res": res}

    def _forecast_one(self, s, h, levels):
        bounds = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            point = s["res"].forecast(h, theta=self.theta).to_numpy(dtype=float)
            for lv in levels:
                pi = s["res"].prediction_intervals(h, theta=self.theta, alpha=level_to_alpha(lv))
                bounds[lv] = (pi["lower"].to_numpy(dtype=float), pi["upper"].to_numpy(dtype=float))
        return point, bounds
