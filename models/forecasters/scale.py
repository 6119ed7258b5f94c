"""The naive scale of a series: the MASE denominator, and the divisor that pools series.

One definition serves the evaluation (:func:`kzmig.forecast.engine.evaluate.series_scales`, MASE and
the conformal intervals scaled by it) and the models that put series of different sizes
on one footing (the ``boosting`` kind, :mod:`kzmig.models.forecasters.boosting`).
"""
from __future__ import annotations

import numpy as np


def naive_scale(y: np.ndarray) -> float:
    """In-sample mean absolute one-step naive error of ``y``; NaN where it is zero or undefined.

    Parameters
    ----------
    y : array of float
        One series in time order, consecutive years (callers check the years).

    Returns
    -------
    float
        :math:`s = \\frac{1}{n-1}\\sum_{t=2}^{n} |y_t - y_{t-1}|` when it is finite and
        positive; NaN when ``y`` has fewer than two values, holds a NaN or an infinity, or is
        flat (every naive error is zero).

    Notes
    -----
    A flat series has no naive error to scale by: a scaled error :math:`|e| / s` would be
    infinite (Hyndman & Koehler 2006), so the scale is NaN, never a stand-in such as 1.
    What NaN means for each user is decided there, once:

    * MASE (:func:`kzmig.forecast.engine.evaluate.score`) leaves such rows out of the mean, and counts
      them in a log message;
    * conformal intervals (:mod:`kzmig.forecast.engine.conformal`) leave their residuals out of the
      calibration and give their forecasts no interval;
    * the ``boosting`` kind (:mod:`kzmig.models.forecasters.boosting`) does not rescale such a series (divisor 1,
      a debug message): it has no variation to put on the common footing.

    Examples
    --------
    >>> naive_scale(np.array([1.0, 3.0, 2.0]))
    1.5
    >>> naive_scale(np.array([2.0, 2.0]))
    nan
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return np.nan
    s = float(np.mean(np.abs(np.diff(y))))
    return s if 0.0 < s < np.inf else np.nan
