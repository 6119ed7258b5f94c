"""A forecast distribution read back from the long table's intervals.

The long forecast table stores a point and central intervals, not a distribution. Population
projections and target probabilities need one, so this module reads a **median-preserving
split normal** from each row: the point is the median, and the lower and upper halves are
normal with their own scales, chosen so that the stored bounds are exactly its quantiles:

.. math::

    \\sigma_- = \\frac{\\text{point} - \\text{lower}}{z}, \\qquad
    \\sigma_+ = \\frac{\\text{upper} - \\text{point}}{z}, \\qquad
    z = \\Phi^{-1}\\!\\left(\\tfrac{1 + \\text{level}}{2}\\right),

    F(x) = \\Phi\\!\\left(\\frac{x - \\text{point}}{\\sigma_-}\\right) \\; (x < \\text{point}), \\qquad
    F(x) = \\Phi\\!\\left(\\frac{x - \\text{point}}{\\sigma_+}\\right) \\; (x \\ge \\text{point}).

For a symmetric interval this is the normal distribution. With several levels stacked, each
side's scale is the mean of the scales implied by the levels (they agree for normal
intervals; for conformal or bootstrap intervals the mean is a compromise).
"""
from __future__ import annotations


import numpy as np
import pandas as pd
from scipy.stats import norm

from kzmig.core.errors import ConfigError, DataError
from kzmig.models.forecasters.schema import check_levels


KEY = ["model", "region", "origin_year", "year"]


def z_value(level: np.ndarray | float) -> np.ndarray:
    """Standard-normal quantile of a central interval of coverage ``level`` (a fraction; NaN gives NaN)."""
    lev = np.asarray(level, dtype=float)
    check_levels(lev[~np.isnan(lev)].ravel())  # NaN: a row without an interval, z is NaN
    return norm.ppf((1.0 + lev) / 2.0)


def row_scales(forecasts: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, region, origin_year, year) with ``point``, ``sd_lower`` and ``sd_upper``.

    Rows without an interval (``level`` NaN) give NaN scales. A bound on the wrong side of
    the point raises, naming the row.
    """
    f = forecasts
    wrong = (f["lower"] > f["point"]) | (f["upper"] < f["point"])
    if wrong.any():
        r = f.loc[wrong].iloc[0]
        raise DataError(
            f"forecast table: interval does not contain the point for (model={r['model']!r}, "
            f"region={r['region']!r}, year={int(r['year'])}): lower={r['lower']}, point={r['point']}, "
            f"upper={r['upper']}."
        )
    z = z_value(f["level"].to_numpy(dtype=float))
    out = f[KEY + ["point"]].assign(
        sd_lower=(f["point"] - f["lower"]).to_numpy(dtype=float) / z,
        sd_upper=(f["upper"] - f["point"]).to_numpy(dtype=float) / z,
    )
    return out.groupby(KEY, sort=True, as_index=False).agg(
        point=("point", "first"), sd_lower=("sd_lower", "mean"), sd_upper=("sd_upper", "mean")
    )


def split_normal_cdf(x, point, sd_lower, sd_upper) -> np.ndarray:
    """CDF of the median-preserving split normal at ``x`` (see the module notes)."""
    x, point = np.asarray(x, dtype=float), np.asarray(point, dtype=float)
    below = x < point
    sd = np.where(below, sd_lower, sd_upper)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (x - point) / sd
    return np.where(sd == 0, (x >= point).astype(float), norm.cdf(u))


def sd_of_sum(sds: np.ndarray, rho: float) -> float:
    """Standard deviation of a sum of errors with common pairwise correlation ``rho``.

    .. math:: \\mathrm{sd}\\Big(\\sum_k e_k\\Big) = \\sqrt{\\sum_k \\sigma_k^2 +
              \\rho \\Big[\\big(\\sum_k \\sigma_k\\big)^2 - \\sum_k \\sigma_k^2\\Big]}

    ``rho = 1`` adds the standard deviations (errors move together, the widest case);
    ``rho = 0`` adds the variances (independent errors).
    """
    if not 0.0 <= rho <= 1.0:
        raise ConfigError(f"rho={rho} must lie in [0, 1].")
    s = np.asarray(sds, dtype=float)
    ss = float((s**2).sum())
    return float(np.sqrt(ss + rho * (float(s.sum()) ** 2 - ss)))
