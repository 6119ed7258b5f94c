"""Baselines every model must beat: naive (last value), drift, mean of the last k years, historic mean.

Each fits one series per region and gives normal intervals whose width grows with the
horizon (formulas in each class' Notes, after Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, section 5.5). They are summaries of the data by definition: their
:meth:`~kzmig.models.forecasters.forecast_base.BaseForecaster.update` recomputes them from the newer series
with the same specification (the naive forecast becomes the new last value; see
:class:`SummaryOfData`).
"""
from __future__ import annotations


import numpy as np

from kzmig.core.errors import ConfigError
from kzmig.models.forecasters.forecast_base import LocalForecaster, normal_bounds
from kzmig.models.registry import register


def fit_drift(y: np.ndarray, *, window: int | None = None) -> dict:
    """Drift and innovation standard deviation of a series of consecutive years.

    Parameters
    ----------
    y : array of float
        One series in time order, at least three values, no gap.
    window : int, optional
        Use only the last ``window`` one-step changes (all by default).

    Returns
    -------
    dict
        ``last`` (:math:`y_T`), ``drift`` (:math:`\\hat c`, the mean change), ``sigma``
        (:math:`\\hat\\sigma`, their standard deviation with ``n - 1`` degrees of freedom) and
        ``n_diff`` (:math:`n`, the number of changes used); see :func:`drift_path`.
    """
    d = np.diff(np.asarray(y, dtype=float))
    if window is not None:
        d = d[-window:]
    c = float(d.mean())
    sigma = float(np.sqrt(np.sum((d - c) ** 2) / (len(d) - 1)))
    return {"last": float(y[-1]), "drift": c, "sigma": sigma, "n_diff": len(d)}


def drift_path(last: float, drift: float, sigma: float, n_diff: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and standard errors of the drift forecast for horizons ``1..h``.

    Notes
    -----
    :math:`\\hat y_{T+h} = y_T + h\\hat c` and
    :math:`\\hat\\sigma_h = \\hat\\sigma\\sqrt{h\\,(1 + h/n)}`: ``h`` innovations plus the error
    of :math:`\\hat c`, whose variance is :math:`\\sigma^2/n` (Hyndman & Athanasopoulos,
    *Forecasting: principles and practice*, section 5.5). The one implementation of the
    drift method: :class:`Drift` and :class:`kzmig.forecast.planning.population.NaturalIncreaseDrift`.
    """
    steps = np.arange(1, h + 1)
    return last + steps * drift, sigma * np.sqrt(steps * (1 + steps / n_diff))


class SummaryOfData:
    """Mixin of the local forecasters that are summaries of the data (no estimated parameter).

    Their update recomputes the summary from the newer series with the same specification:
    there is no parameter to keep.
    """

    update_rule = "recomputed from the new series (a summary of the data: no parameter to keep)"

    def _update_one(self, state, years, y, is_break):
        return self._fit_one(years, y, is_break)


def flat_empirical(point: float, mse: np.ndarray, h: int, levels) -> tuple[np.ndarray, dict]:
    """A flat forecast with normal bounds from in-sample mean squared errors by horizon.

    Parameters
    ----------
    point : float
        The forecast, carried flat for ``h`` years.
    mse : array of float
        Non-decreasing mean squared in-sample errors for horizons ``1 .. H``.
    h : int
        Years to forecast.
    levels : iterable of float

    Notes
    -----
    :math:`\\hat\\sigma_h^2 = \\text{mse}_h` for :math:`h \\le H` and
    :math:`\\text{mse}_H\\, h/H` beyond: the width never shrinks with the horizon. Shared by
    :class:`WindowMean` and :class:`HistoricMean`.
    """
    H = len(mse)
    steps = np.arange(1, h + 1)
    var = np.where(steps <= H, mse[np.minimum(steps, H) - 1], mse[-1] * steps / H)
    pts = np.full(h, point)
    return pts, normal_bounds(pts, np.sqrt(var), levels)


@register("naive", pools=False)
class Naive(SummaryOfData, LocalForecaster):
    """Random-walk forecast: the last observed value.

    Parameters
    ----------
    name : str, optional
        Model name written into the forecast table (default ``"naive"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        Treatment of flagged break years (``"dummy"`` bridges: the model takes no regressor).

    Notes
    -----
    :math:`\\hat y_{T+h} = y_T`, :math:`\\hat\\sigma_h = \\hat\\sigma\\sqrt h` with
    :math:`\\hat\\sigma^2 = \\frac{1}{T-1}\\sum_{t=2}^T (y_t - y_{t-1})^2`.
    """

    min_length = 2

    def __init__(self, *, name: str | None = None, breaks: str = "bridge"):
        self.name = name
        self.breaks = breaks

    def _fallback(self):
        return None

    def _fit_one(self, years, y, is_break):
        d = np.diff(y)
        return {"last": float(y[-1]), "sigma": float(np.sqrt(np.mean(d**2)))}

    def _forecast_one(self, s, h, levels):
        steps = np.arange(1, h + 1)
        point = np.full(h, s["last"])
        return point, normal_bounds(point, s["sigma"] * np.sqrt(steps), levels)


@register("drift", pools=False)
class Drift(SummaryOfData, LocalForecaster):
    """Random walk with drift: the line through the first and last observations.

    Parameters
    ----------
    name : str, optional
        Model name (default ``"drift"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"

    Notes
    -----
    :math:`\\hat c = (y_T - y_1)/(T-1)`, :math:`\\hat y_{T+h} = y_T + h\\hat c`,
    :math:`\\hat\\sigma^2 = \\frac{1}{T-2}\\sum_{t=2}^T (y_t - y_{t-1} - \\hat c)^2` and
    :math:`\\hat\\sigma_h = \\hat\\sigma\\sqrt{h\\,(1 + h/(T-1))}`: ``h`` innovations plus the
    error of :math:`\\hat c`, whose variance is :math:`\\sigma^2/(T-1)`
    (:func:`fit_drift`, :func:`drift_path`).
    """

    min_length = 3

    def __init__(self, *, name: str | None = None, breaks: str = "bridge"):
        self.name = name
        self.breaks = breaks

    def _fit_one(self, years, y, is_break):
        return fit_drift(y)

    def _forecast_one(self, s, h, levels):
        point, sigma = drift_path(s["last"], s["drift"], s["sigma"], s["n_diff"], h)
        return point, normal_bounds(point, sigma, levels)


@register("window_mean", pools=False)
class WindowMean(SummaryOfData, LocalForecaster):
    """Mean of the last ``k`` years, carried flat.

    Parameters
    ----------
    k : int, default 3
        Window length in years.
    name : str, optional
        Model name (default ``"windowmean"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"

    Notes
    -----
    :math:`\\hat y_{T+h} = \\frac1k\\sum_{j=0}^{k-1} y_{T-j}`. The interval is empirical:
    :math:`\\hat\\sigma_h^2` is the mean squared in-sample error of the same rule ``h`` years
    ahead, :math:`e_{t,h} = y_{t+h} - \\frac1k\\sum_{j<k} y_{t-j}`, made non-decreasing in ``h``
    by a running maximum and extended beyond the longest horizon the sample allows by
    :math:`\\hat\\sigma_h = \\hat\\sigma_{H}\\sqrt{h/H}`. The width therefore never shrinks
    with the horizon.
    """

    def __init__(self, k: int = 3, *, name: str | None = None, breaks: str = "bridge"):
        self.k = k
        self.name = name
        self.breaks = breaks

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """A window of ``k`` years plus one to measure an error."""
        return int(self.k) + 1

    def _prepare(self, df):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"WindowMean: k={self.k!r} must be an integer >= 1 (years in the window).")
        return super()._prepare(df)

    def _fit_one(self, years, y, is_break):
        k, n = int(self.k), len(y)
        means = np.convolve(y, np.ones(k) / k, mode="valid")  # means[i] = mean(y[i:i+k]), ends at i+k-1
        mse = []
        for h in range(1, n - k + 1):
            err = y[k - 1 + h :] - means[: n - k + 1 - h]
            mse.append(float(np.mean(err**2)))
        return {"point": float(means[-1]), "mse": np.maximum.accumulate(np.asarray(mse))}

    def _forecast_one(self, s, h, levels):
        return flat_empirical(s["point"], s["mse"], h, levels)


def expanding_mean_mse(y: np.ndarray) -> np.ndarray:
    """Mean squared error of the expanding mean ``h`` years ahead, for ``h = 1 .. n-1``.

    Parameters
    ----------
    y : array of float
        One series in time order, at least two values.

    Returns
    -------
    array of float
        Element ``h - 1`` is :math:`\\frac{1}{n-h}\\sum_{t=1}^{n-h} (y_{t+h} - \\bar y_{1:t})^2`,
        :math:`\\bar y_{1:t}` the mean of the first ``t`` values: every forecast the rule
        "mean of all years so far" could have made inside the sample, scored ``h`` years on.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    means = np.cumsum(y) / np.arange(1, n + 1)  # means[i] = mean(y[:i+1]), made at year i
    return np.asarray([float(np.mean((y[h:] - means[: n - h]) ** 2)) for h in range(1, n)])


@register("historic_mean", pools=False)
class HistoricMean(SummaryOfData, LocalForecaster):
    """Mean of every observed year of a series, carried flat (the "historic average").

    Parameters
    ----------
    name : str, optional
        Model name (default ``"historicmean"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        Treatment of flagged break years (``"dummy"`` bridges: the model takes no regressor).

    Notes
    -----
    :math:`\\hat y_{T+h} = \\bar y = \\frac1T\\sum_{t=1}^{T} y_t`. The interval is empirical,
    as :class:`WindowMean`'s: :math:`\\hat\\sigma_h^2` is the mean squared in-sample error of the
    same rule ``h`` years ahead, :math:`e_{t,h} = y_{t+h} - \\bar y_{1:t}` for
    :math:`t = 1 .. T-h` (:func:`expanding_mean_mse`), made non-decreasing in ``h`` by a running
    maximum and extended beyond the longest horizon the sample allows (:math:`H = T - 1`) by
    :math:`\\hat\\sigma_h = \\hat\\sigma_{H}\\sqrt{h/H}`. The width never shrinks with the horizon.
    """

    min_length = 2

    def __init__(self, *, name: str | None = None, breaks: str = "bridge"):
        self.name = name
        self.breaks = breaks

    def _fallback(self):
        return None

    def _fit_one(self, years, y, is_break):
        return {"point": float(np.mean(y)), "mse": np.maximum.accumulate(expanding_mean_mse(y))}

    def _forecast_one(self, s, h, levels):
        return flat_empirical(s["point"], s["mse"], h, levels)
