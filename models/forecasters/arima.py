"""Automatic ARIMA, one series per region, order chosen by AICc over small orders.

Annual regional series have about 15-19 points, so the search stays small: ``p, q <= 2``,
``d <= 1`` with a constant (``d = 0``) or a drift (``d = 1``) and without. ``d`` is chosen by a
KPSS test as in Hyndman & Khandakar (2008); the orders by their stepwise search (or the full
grid with ``stepwise=False``). Fitting is statsmodels' state-space ``ARIMA`` (exact likelihood).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from statsmodels.tools.sm_exceptions import ConvergenceWarning, InterpolationWarning
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.stattools import kpss

from kzmig.core.errors import StudyError
from kzmig.core.options import check_option
from kzmig.models.forecasters.forecast_base import LocalForecaster, bridge_breaks, normal_bounds
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

CRITERIA = ("aicc", "aic", "bic")


def _spec_text(order, trend) -> str:
    extra = {"c": " with constant", "t": " with drift"}.get(trend, "")
    return f"ARIMA{order}{extra}"


def _arima(y, exog, order, trend) -> ARIMA:
    return ARIMA(y, exog=exog, order=order, trend=trend, concentrate_scale=True)


def _with_params(y, exog, state, params):
    """Results of ``state``'s ARIMA on ``y`` (and ``exog``) with the given ``params``, not estimated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning, RuntimeWarning))
        return _arima(y, exog, state["order"], state["trend"]).smooth(params, cov_type="none")


@register("auto_arima", pools=False, choices={"criterion": CRITERIA})
class AutoARIMA(LocalForecaster):
    """ARIMA(p, d, q) per region with automatic order selection.

    Parameters
    ----------
    max_p, max_q : int, default 2
        Largest AR and MA orders searched.
    max_d : {0, 1}, default 1
        Largest differencing order; ``d`` is set by a KPSS test at 5 %.
    criterion : {"aicc", "aic", "bic"}, default "aicc"
    stepwise : bool, default True
        Hyndman-Khandakar stepwise search from (0,d,0), (1,d,0), (0,d,1) with constant/drift and
        (0,d,0) without, moving one order or the constant at a time while AICc falls (the
        (2,d,2) start of auto.arima is left out: on ~15 points it rarely wins and is the
        slowest fit); ``False`` fits the whole grid.
    name : str, optional
        Model name (default ``"autoarima"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        ``"dummy"`` adds a pulse regressor equal to 1 in flagged years.

    Attributes
    ----------
    fit_report_ : DataFrame
        ``region, spec, fallback_reason``: the chosen model per region, or the fallback
        (:class:`~kzmig.models.forecasters.baselines.Naive`) and why no ARIMA could be fitted.
    results_ : dict
        statsmodels results per region.
    states_ : dict
        Per region ``order``, ``trend``, ``res`` (the statsmodels results), ``exog`` (whether
        the break dummy is used), and the fitted data ``y`` and ``x`` (the dummy column or
        None). A saved model stores the parameters instead of ``res`` and rebuilds it with
        ``ARIMA(y, x, order, trend).smooth(params)``, which gives the same forecasts and
        intervals bit for bit (statsmodels' own ``fit`` ends with that ``smooth`` call).

    Notes
    -----
    :math:`\\phi(B)(1-B)^d (y_t - \\mu - \\beta t - \\gamma D_t) = \\theta(B)\\varepsilon_t`,
    :math:`\\varepsilon_t \\sim N(0, \\sigma^2)`, with :math:`\\beta = 0` unless ``d = 1`` with
    drift, :math:`\\mu = 0` unless ``d = 0`` with constant, and :math:`D_t` the break pulse.
    AICc :math:`= AIC + 2k(k+1)/(n-k-1)`; candidates with :math:`n - k - 1 \\le 0` are skipped,
    so on the shortest series accepted (5 years, e.g. Shymkent from 2017 at a 2021 origin) only
    white noise or a random walk, with or without constant/drift, can be chosen.
    Intervals are the normal ones from the state-space forecast variance.
    """

    min_length = 5

    def __init__(self, *, max_p=2, max_q=2, max_d=1, criterion="aicc", stepwise=True,
                 name=None, breaks="bridge"):
        self.max_p, self.max_q, self.max_d = max_p, max_q, max_d
        self.criterion, self.stepwise = criterion, stepwise
        self.name, self.breaks = name, breaks

    accepts_dummy = True

    def _prepare(self, df):
        check_option("criterion", self.criterion, CRITERIA, owner="AutoARIMA")
        check_option("max_d", self.max_d, (0, 1), owner="AutoARIMA")
        return super()._prepare(df)

    def _choose_d(self, y: np.ndarray) -> int:
        if self.max_d == 0 or np.ptp(y) == 0:
            return 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InterpolationWarning)
            stat, pvalue, *_ = kpss(y, regression="c", nlags="auto", result_object=False)
        return int(pvalue < 0.05)

    def _fit_candidate(self, y, exog, order, trend):
        k = order[0] + order[2] + (trend != "n") + 1 + (exog is not None)
        if len(y) - order[1] - k - 1 <= 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning, RuntimeWarning))
            try:
                res = _arima(y, exog, order, trend).fit(cov_type="none")
            except (ValueError, np.linalg.LinAlgError) as err:
                logger.debug("ARIMA%s trend=%s failed: %s", order, trend, err)
                return None
        score = float(getattr(res, self.criterion))
        if not np.isfinite(score) or not np.all(np.isfinite(res.params)):
            return None
        return score, res

    def _search(self, y, exog, d):
        trends = ("c", "n") if d == 0 else ("t", "n")
        fits: dict = {}

        def get(p, q, t):
            key = (p, q, t)
            if key not in fits and 0 <= p <= self.max_p and 0 <= q <= self.max_q:
                fits[key] = self._fit_candidate(y, exog, (p, d, q), t)
            return fits.get(key)

        if not self.stepwise:
            for p in range(self.max_p + 1):
                for q in range(self.max_q + 1):
                    for t in trends:
                        get(p, q, t)
        else:
            for p, q, t in [(0, 0, trends[0]), (1, 0, trends[0]), (0, 1, trends[0]), (0, 0, "n")]:
                get(p, q, t)
            while True:
                ok = {k: v for k, v in fits.items() if v is not None}
                if not ok:
                    break
                best = min(ok, key=lambda k: (ok[k][0], k))
                p, q, t = best
                moves = [(p + a, q + b, t) for a, b in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1))]
                moves += [(p, q, u) for u in trends if u != t]
                new = [m for m in moves if m not in fits]
                for m in new:
                    get(*m)
                ok2 = {k: v for k, v in fits.items() if v is not None}
                if min(ok2, key=lambda k: (ok2[k][0], k)) == best:
                    break
        ok = {k: v for k, v in fits.items() if v is not None}
        if not ok:
            raise StudyError(f"no ARIMA candidate with d={d} could be fitted to {len(y)} points")
        best = min(ok, key=lambda k: (ok[k][0], k))
        return (best[0], d, best[1]), best[2], ok[best][1]

    def _fit_one(self, years, y, is_break):
        exog = None
        if self.break_treatment_ == "dummy" and is_break.any():
            exog = is_break.astype(float).reshape(-1, 1)
        d = self._choose_d(y)
        order, trend, res = self._search(y, exog, d)
        return {"order": order, "trend": trend, "res": res, "exog": exog is not None, "y": y, "x": exog}

    def _dump_one(self, state):
        return {**state, "res": {"params": np.asarray(state["res"].params)}}

    def _load_one(self, state):
        return {**state, "res": _with_params(state["y"], state["x"], state, state["res"]["params"])}

    update_rule = ("order, trend and estimated coefficients kept, applied to the new series "
                   "(statsmodels ARIMA(...).smooth(params): the state-space filter and smoother)")

    def _update_one(self, state, years, y, is_break):
        """The fitted ARIMA with its coefficients, filtered over the newer series ``y``.

        The break dummy keeps its coefficient and takes the new flags; without a fitted dummy,
        a newly flagged year is bridged (there is no coefficient for it). The innovation
        variance is concentrated out (``concentrate_scale=True``), so it is the one the kept
        coefficients imply on the new series.
        """
        x = is_break.astype(float).reshape(-1, 1) if state["exog"] else None
        if x is None and self.break_treatment_ == "dummy" and np.asarray(is_break).any():
            y = bridge_breaks(years, y, is_break)
        return {**state, "res": _with_params(y, x, state, np.asarray(state["res"].params)), "y": y, "x": x}

    def _describe(self, state) -> str:
        return _spec_text(state["order"], state["trend"]) + (" + break dummy" if state["exog"] else "")

    def _forecast_one(self, s, h, levels):
        exog = np.zeros((h, 1)) if s["exog"] else None
        fc = s["res"].get_forecast(h, exog=exog)
        point = np.asarray(fc.predicted_mean, dtype=float)
        se = np.asarray(fc.se_mean, dtype=float)
        if not (np.all(np.isfinite(point)) and np.all(np.isfinite(se))):
            raise StudyError(f"{_spec_text(s['order'], s['trend'])} produced a non-finite forecast")
        return point, normal_bounds(point, se, levels)

    @property
    def results_(self) -> dict:
        """statsmodels results per region (fallback regions left out)."""
        return {r: s["res"] for r, s in self.states_.items() if isinstance(s, dict)}
