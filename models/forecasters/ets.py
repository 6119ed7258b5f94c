"""Exponential smoothing (ETS) per region, trend chosen by AICc, damped trend allowed.

Net migration changes sign, so only additive errors and additive trends are searched
(multiplicative forms need a positive series): ETS(A,N,N), ETS(A,A,N) and ETS(A,Ad,N),
fitted by maximum likelihood with statsmodels' ``ETSModel``.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from kzmig.core.errors import StudyError
from kzmig.core.options import check_option
from kzmig.models.forecasters.schema import level_to_alpha
from kzmig.models.forecasters.forecast_base import LocalForecaster
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

#: (label, trend, damped) candidates; the label follows Hyndman's taxonomy.
CANDIDATES = {"ANN": (None, False), "AAN": ("add", False), "AAdN": ("add", True)}
CRITERIA = ("aicc", "aic", "bic")


def _ets(series: pd.Series, label: str) -> ETSModel:
    trend, damped = CANDIDATES[label]
    return ETSModel(series, error="add", trend=trend, damped_trend=damped)


def _with_params(y: np.ndarray, label: str, params: np.ndarray):
    """Results of the ETS form ``label`` on ``y`` with the given ``params``, not estimated."""
    series = pd.Series(y, index=pd.RangeIndex(len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning, RuntimeWarning))
        return _ets(series, label).smooth(params)


@register("ets", pools=False, choices={"criterion": CRITERIA, "trends": tuple(CANDIDATES)})
class ETS(LocalForecaster):
    """Additive-error exponential smoothing with automatic trend selection.

    Parameters
    ----------
    trends : tuple of {"ANN", "AAN", "AAdN"}, default all three
        Candidate forms: no trend, additive trend, damped additive trend.
    criterion : {"aicc", "aic", "bic"}, default "aicc"
    name : str, optional
        Model name (default ``"ets"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` bridges (ETS takes no regressor).

    Notes
    -----
    ETS(A,Ad,N): :math:`y_t = \\ell_{t-1} + \\phi b_{t-1} + \\varepsilon_t`,
    :math:`\\ell_t = \\ell_{t-1} + \\phi b_{t-1} + \\alpha\\varepsilon_t`,
    :math:`b_t = \\phi b_{t-1} + \\beta\\varepsilon_t`; :math:`\\phi = 1` gives ETS(A,A,N) and
    :math:`b \\equiv 0` gives ETS(A,N,N). Candidates whose AICc is undefined
    (:math:`n \\le k + 1`) are skipped; intervals are the analytic normal ones.

    A saved model stores, per region, the chosen form, the fitted series ``y`` and the
    estimated parameters, and rebuilds the results with ``ETSModel(...).smooth(params)``
    (statsmodels' own ``fit`` ends with that call), so forecasts and intervals are identical.
    """

    min_length = 4

    def __init__(self, *, trends=("ANN", "AAN", "AAdN"), criterion="aicc", name=None, breaks="bridge"):
        self.trends, self.criterion = trends, criterion
        self.name, self.breaks = name, breaks

    def _prepare(self, df):
        check_option("criterion", self.criterion, CRITERIA, owner="ETS")
        for t in self.trends:
            check_option("trends", t, tuple(CANDIDATES), owner="ETS")
        return super()._prepare(df)

    def _fit_one(self, years, y, is_break):
        series = pd.Series(y, index=pd.RangeIndex(len(y)))
        best = None
        for label in self.trends:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning, RuntimeWarning))
                res = _ets(series, label).fit(disp=False)
            score = float(getattr(res, self.criterion))
            if not np.isfinite(score):
                logger.debug("ETS: form %s left out, its %s is not finite on %d points.", label, self.criterion, len(y))
            elif best is None or score < best[0]:
                best = (score, label, res)
        if best is None:
            raise StudyError(f"no ETS form has a finite {self.criterion} on {len(y)} points")
        return {"label": best[1], "res": best[2], "n": len(y), "y": series.to_numpy()}

    def _dump_one(self, state):
        return {**state, "res": {"params": np.asarray(state["res"].params)}}

    def _load_one(self, state):
        return {**state, "res": _with_params(state["y"], state["label"], state["res"]["params"])}

    update_rule = ("form and estimated parameters (smoothing, damping, initial states) kept, applied to the "
                   "new series (statsmodels ETSModel(...).smooth(params))")

    def _update_one(self, state, years, y, is_break):
        """The fitted form with its parameters run over the newer series ``y`` (same first year)."""
        y = np.asarray(y, dtype=float)
        return {**state, "res": _with_params(y, state["label"], np.asarray(state["res"].params)), "n": len(y), "y": y}

    def _describe(self, state) -> str:
        return f"ETS({','.join([state['label'][0], state['label'][1:-1] or 'N', state['label'][-1]])})"

    def _forecast_one(self, s, h, levels):
        pred = s["res"].get_prediction(start=s["n"], end=s["n"] + h - 1)
        point = np.asarray(pred.predicted_mean, dtype=float)
        bounds = {}
        for lv in levels:
            sf = pred.summary_frame(alpha=level_to_alpha(lv))
            bounds[lv] = (sf["pi_lower"].to_numpy(dtype=float), sf["pi_upper"].to_numpy(dtype=float))
        return point, bounds
