"""Coefficient draws of a fitted panel model and the effect summaries built from them.

Helpers of :mod:`forecast.scenario`: :func:`coefficient_draws` (multivariate normal of the
estimates with their estimated covariance, seeded, or caller-given draws such as a wild
bootstrap) and :func:`effect_columns` (point, standard deviation and central quantile
intervals of an effect from its draws).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.forecast.planning.shifts import ScenarioError

logger = logging.getLogger(__name__)

#: Fewest coefficient draws accepted (quantiles of fewer draws are too noisy for 95 % bounds).
MIN_DRAWS = 1000


def level_tag(level: float) -> str:
    """Column suffix of an interval level, in percent: 0.8 -> ``"80"``, 0.975 -> ``"97.5"``."""
    return f"{round(100.0 * float(level), 6):g}"


def coefficient_cov(model: Any, names: Sequence[str]) -> np.ndarray:
    """Estimated covariance of the coefficients ``names`` of a fitted panel model.

    Taken from ``result_.cov`` where the results object carries one, else from the
    linearmodels result ``lm_result_.cov`` (same ``cov_type``). A loaded model whose backend
    could not be refitted has neither: the diagonal of ``result_.std_errors`` squared is used
    and a warning says that correlations between coefficients are left out (exact for a
    scenario that shifts one feature).
    """
    res = model.result_
    cov = getattr(res, "cov", None)
    if cov is None:
        cov = getattr(getattr(model, "lm_result_", None), "cov", None)
    se = res.std_errors[list(names)].to_numpy(dtype=float)
    if cov is None:
        logger.warning("%s: no coefficient covariance available (backend not refitted); using the standard "
                       "errors only, so correlations between %s are left out.", type(model).__name__, list(names))
        return np.diag(se**2)
    v = pd.DataFrame(cov).loc[list(names), list(names)].to_numpy(dtype=float)
    if not np.allclose(np.sqrt(np.diag(v)), se, rtol=1e-6, atol=0):
        logger.warning("%s: standard errors from the covariance differ from result_.std_errors for %s.",
                       type(model).__name__, list(names))
    return (v + v.T) / 2


def coefficient_draws(model: Any, names: Sequence[str], *, n_draws: int, seed: int,
                      draws: pd.DataFrame | None = None) -> np.ndarray:
    """Coefficient draws, shape ``(n_draws, len(names))``.

    Parameters
    ----------
    model : fitted panel estimator
        With ``result_.params`` indexed by the lagged feature names.
    names : sequence of str
        Terms to draw, in order.
    n_draws : int
        Number of multivariate normal draws (at least :data:`MIN_DRAWS`).
    seed : int
        Seed of ``numpy.random.default_rng``.
    draws : DataFrame, optional
        Given draws (one row per draw, a column per term), used as they are.

    Raises
    ------
    ScenarioError
        Given draws without a column for a term, with missing values, or too few.
    ValueError
        ``n_draws`` below :data:`MIN_DRAWS`.
    """
    if draws is not None:
        absent = [n for n in names if n not in draws.columns]
        if absent:
            raise ScenarioError(f"scenario_effect: the given coefficient draws lack column(s) {absent}; "
                                f"found {list(draws.columns)}.")
        b = draws[list(names)].to_numpy(dtype=float)
        if not np.isfinite(b).all() or len(b) < MIN_DRAWS:
            raise ScenarioError(f"scenario_effect: the given coefficient draws must be finite and at least "
                                f"{MIN_DRAWS}; got {len(b)} rows, {int((~np.isfinite(b)).sum())} non-finite values.")
        logger.info("scenario_effect: %d given coefficient draws used (n_draws and seed ignored).", len(b))
        return b
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < MIN_DRAWS:
        raise ConfigError(f"n_draws={n_draws!r} must be an integer >= {MIN_DRAWS}.")
    coef = model.result_.params[list(names)].to_numpy(dtype=float)
    cov = coefficient_cov(model, names)
    return np.random.default_rng(seed).multivariate_normal(coef, cov, size=int(n_draws), method="eigh")


def effect_columns(point: np.ndarray, draws: np.ndarray, levels: Sequence[float]) -> pd.DataFrame:
    """``effect_point``, ``effect_sd`` and ``effect_lower_<lvl>``/``effect_upper_<lvl>`` per row.

    ``draws`` has one row per effect and one column per draw. Quantile bounds are widened to
    contain the point where draws are skewed (counted in the log).
    """
    out = {"effect_point": np.asarray(point, dtype=float), "effect_sd": draws.std(axis=1, ddof=1)}
    widened = 0
    for lv in levels:
        lo, hi = np.quantile(draws, [(1 - lv) / 2, (1 + lv) / 2], axis=1)
        widened += int(((lo > point) | (hi < point)).sum())
        out[f"effect_lower_{level_tag(lv)}"] = np.minimum(lo, point)
        out[f"effect_upper_{level_tag(lv)}"] = np.maximum(hi, point)
    if widened:
        logger.info("effect intervals: %d bounds widened to contain the point effect.", widened)
    return pd.DataFrame(out)
