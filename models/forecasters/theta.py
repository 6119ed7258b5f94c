"""The Theta method per region (statsmodels ``ThetaModel``), no seasonality for annual data."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.forecasting.theta import ThetaModel, ThetaModelResults
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from kzmig.core.errors import ConfigError, StudyError
from kzmig.models.forecasters.schema import level_to_alpha
from kzmig.models.forecasters.forecast_base import LocalForecaster
from kzmig.models.registry import register


def _theta(series: pd.Series) -> ThetaModel:
    return ThetaModel(series, period=1, deseasonalize=False)


@register("theta", pools=False)
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

    A saved model stores, per region, the fitted series ``y`` and what statsmodels'
    ``ThetaModelResults`` holds (``b0``, ``alpha``, ``sigma2``, the one-step SES forecast,
    the seasonal terms, ``use_mle``; the last three read from its private attributes, as it
    has no public accessor) and rebuilds the results from them without refitting, so
    forecasts and intervals are identical.
    """

    min_length = 4

    def __init__(self, *, theta: float = 2.0, name=None, breaks="bridge"):
        self.theta, self.name, self.breaks = theta, name, breaks

    def _prepare(self, df):
        if not np.isfinite(self.theta) or self.theta < 1:
            raise ConfigError(f"Theta: theta={self.theta!r} must be a finite number >= 1.")
        return super()._prepare(df)

    def _fit_one(self, years, y, is_break):
        series = pd.Series(y, index=pd.RangeIndex(len(y)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            res = _theta(series).fit()
            sigma2 = res.sigma2  # fits the ARIMA(0,1,1) once; cached on the results object
        if not (np.isfinite(res.params).all() and np.isfinite(sigma2)):
            raise StudyError("Theta fit gave non-finite parameters")
        return {"res": res, "y": series.to_numpy()}

    def _dump_one(self, state):
        res = state["res"]
        return {**state, "res": {"b0": res.params["b0"], "alpha": res.params["alpha"],
                                 "sigma2": res.sigma2, "one_step": res._one_step,
                                 "seasonal": res._seasonal, "use_mle": res._use_mle}}

    def _load_one(self, state):
        model = _theta(pd.Series(state["y"], index=pd.RangeIndex(len(state["y"]))))
        return {**state, "res": ThetaModelResults(model=model, **state["res"])}

    update_rule = ("trend slope b0, smoothing parameter alpha and innovation variance kept; the SES level "
                   "filtered over the new series with that alpha (statsmodels ExponentialSmoothing, known "
                   "initial level y[0], as ThetaModel.fit)")

    def _update_one(self, state, years, y, is_break):
        """The fitted ``b0``, ``alpha`` and ``sigma2`` on the newer series ``y``.

        Only the one-step SES forecast depends on the data given the parameters: it is the
        SES level of ``y`` with the kept ``alpha``, started at ``y[0]`` as
        ``ThetaModel.fit`` starts it.
        """
        res = state["res"]
        if res._use_mle:
            raise NotImplementedError("Theta: a model estimated by MLE cannot be updated; refit it.")
        y = np.asarray(y, dtype=float)
        alpha = float(res.params["alpha"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            ses = ExponentialSmoothing(y, initial_level=y[0], initialization_method="known").fit(
                smoothing_level=alpha, optimized=False)
            model = _theta(pd.Series(y, index=pd.RangeIndex(len(y))))
            new = ThetaModelResults(res.params["b0"], alpha, res.sigma2, ses.forecast(1), res._seasonal,
                                    res._use_mle, model)
        return {**state, "res": new, "y": y}

    def _forecast_one(self, s, h, levels):
        bounds = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (UserWarning, RuntimeWarning))
            point = s["res"].forecast(h, theta=self.theta).to_numpy(dtype=float)
            for lv in levels:
                pi = s["res"].prediction_intervals(h, theta=self.theta, alpha=level_to_alpha(lv))
                bounds[lv] = (pi["lower"].to_numpy(dtype=float), pi["upper"].to_numpy(dtype=float))
        return point, bounds
