"""Coherent forecasts: projection reconciliation of the long forecast table.

Two linear constraints hold in the data and must hold in the forecasts:

* ``"national_total"``: regional net migration adds up to the national row
  (region ``"kazakhstan"``) in every year;
* ``"zero_sum"``: interregional net migration sums to zero across regions in every year
  (a move out of one region is a move into another).

Base forecasts made region by region break both. :func:`reconcile` projects them onto the
coherent subspace with the trace-minimising (MinT) family of projections of Wickramasuriya,
Athanasopoulos and Hyndman (2019): ordinary least squares, weighted least squares with
backtest error variances, and MinT with the Schäfer-Strimmer shrinkage covariance.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, DataError, StudyError
from kzmig.core.options import check_option
from kzmig.features.data.regions import NATIONAL
from kzmig.models.forecasters.schema import validate_forecast

logger = logging.getLogger(__name__)

METHODS = ("ols", "wls", "mint_shrink")
CONSTRAINTS = ("national_total", "zero_sum")
_GROUP = ["model", "origin_year", "year", "level"]


def constraint_matrix(series: list[str], constraint: str, national: str = NATIONAL) -> np.ndarray:
    """Return the constraint matrix ``C`` with ``C @ y = 0`` for coherent ``y``.

    Parameters
    ----------
    series : list of str
        Region codes in the order of ``y``; ``national`` (if present) is the aggregate.
    constraint : {"national_total", "zero_sum"}
    national : str, default "kazakhstan"

    Returns
    -------
    ndarray of shape (k, len(series))
        ``national_total``: one row, +1 on the national series and -1 on every region.
        ``zero_sum``: one row of ones on the regions; if the national series is present a
        second row pins it to zero as well (the national interregional balance is zero).
    """
    check_option("constraint", constraint, CONSTRAINTS, owner="reconcile")
    is_nat = np.array([s == national for s in series])
    if constraint == "national_total":
        if not is_nat.any():
            raise DataError(
                f"constraint='national_total' needs a national row (region={national!r}); "
                f"found only {sorted(series)}."
            )
        return np.where(is_nat, 1.0, -1.0)[None, :]
    rows = [np.where(is_nat, 0.0, 1.0)]
    if is_nat.any():
        rows.append(is_nat.astype(float))
    return np.vstack(rows)


def shrinkage_intensity(errors: np.ndarray) -> float:
    """Schäfer-Strimmer shrinkage intensity towards the diagonal of the covariance.

    Parameters
    ----------
    errors : ndarray of shape (T, n)
        Forecast errors, one row per time point, one column per series (no NaN).

    Returns
    -------
    float
        ``lambda`` in [0, 1].

    Notes
    -----
    With ``z`` the centred errors divided by their standard deviations (``ddof=1``) and
    ``w_tij = z_ti z_tj``, Schäfer & Strimmer (2005, target D) give

    .. math::

        \\hat r_{ij} = \\frac{T}{T-1} \\bar w_{ij}, \\qquad
        \\widehat{\\mathrm{Var}}(\\hat r_{ij}) = \\frac{T}{(T-1)^3} \\sum_t (w_{tij} - \\bar w_{ij})^2,
        \\qquad
        \\lambda = \\frac{\\sum_{i \\ne j} \\widehat{\\mathrm{Var}}(\\hat r_{ij})}
                       {\\sum_{i \\ne j} \\hat r_{ij}^2},

    clipped to [0, 1]. This is the estimator used by MinT(shrink) in R ``hts`` and Nixtla's
    ``hierarchicalforecast`` (which centre the errors the same way up to the ridge term).
    """
    t, n = errors.shape
    if t < 3:
        raise StudyError(f"shrinkage needs at least 3 error vectors, got {t}.")
    x = errors - errors.mean(axis=0)
    z = x / x.std(axis=0, ddof=1)
    w = z[:, :, None] * z[:, None, :]
    w_bar = w.mean(axis=0)
    r = t / (t - 1) * w_bar
    var_r = t / (t - 1) ** 3 * ((w - w_bar) ** 2).sum(axis=0)
    off = ~np.eye(n, dtype=bool)
    denom = float((r[off] ** 2).sum())
    if denom == 0.0:
        return 1.0
    return float(np.clip(var_r[off].sum() / denom, 0.0, 1.0))


MIN_WLS_VECTORS = 5


def error_covariance(errors: np.ndarray, method: str) -> tuple[np.ndarray, float]:
    """Return the weight matrix ``W`` of a reconciliation method and the shrinkage used.

    ``"ols"``: identity. ``"wls"``: diagonal of sample error variances (``ddof=1``).
    ``"mint_shrink"``: ``lambda * diag(S) + (1 - lambda) * S`` with ``S`` the sample
    covariance (``ddof=1``) and ``lambda`` from :func:`shrinkage_intensity`.

    WLS needs at least :data:`MIN_WLS_VECTORS` complete error vectors and MinT at least as
    many as there are series: with fewer, the weights rest on a handful of errors (on the
    shipped data, 3 vectors of one origin for 18 series) and move the forecasts more than
    the data can support, so the caller falls back to OLS and says why.
    """
    check_option("method", method, METHODS, owner="reconcile")
    n = errors.shape[1]
    if method == "ols":
        return np.eye(n), float("nan")
    need = n if method == "mint_shrink" else MIN_WLS_VECTORS
    if errors.shape[0] < max(need, 2):
        raise StudyError(f"method={method!r} needs at least {max(need, 2)} complete error vectors for {n} "
                         f"series, got {errors.shape[0]}.")
    cov = np.atleast_2d(np.cov(errors, rowvar=False, ddof=1))
    if method == "wls":
        return np.diag(np.diag(cov)), float("nan")
    lam = shrinkage_intensity(errors)
    return lam * np.diag(np.diag(cov)) + (1.0 - lam) * cov, lam


def project(y: np.ndarray, constraints: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Project base forecasts ``y`` onto ``{y : C y = 0}`` in the ``W^-1`` metric.

    Notes
    -----
    .. math:: \\tilde y = \\hat y - W C' (C W C')^{-1} C \\hat y

    which equals the summing-matrix form :math:`S (S' W^{-1} S)^{-1} S' W^{-1} \\hat y`
    when ``W`` is invertible and the columns of ``S`` span the null space of ``C``, but
    needs only ``C W C'`` to be invertible (so a singular sample covariance is usable).
    """
    cwc = constraints @ weights @ constraints.T
    if np.linalg.matrix_rank(cwc) < cwc.shape[0]:
        raise StudyError(
            "the weighted constraint matrix C W C' is singular (all error variances zero?); "
            "use method='ols'."
        )
    return y - weights @ constraints.T @ np.linalg.solve(cwc, constraints @ y)


def _error_frame(residuals: pd.DataFrame) -> pd.DataFrame:
    """Backtest errors ``actual - point`` (or a given ``residual``), one per model-region-origin-year."""
    if "residual" in residuals.columns:
        err = residuals["residual"]
    elif {"actual", "point"}.issubset(residuals.columns):
        err = residuals["actual"] - residuals["point"]
    else:
        raise DataError(
            "residuals: need a 'residual' column or both 'actual' and 'point'; "
            f"found {list(residuals.columns)}."
        )
    need = [c for c in ("region", "origin_year", "year") if c not in residuals.columns]
    if need:
        raise DataError(f"residuals: missing column(s) {need}.")
    out = residuals.assign(error=err.to_numpy(dtype=float))
    if "model" not in out.columns:
        out = out.assign(model="*")
    keys = ["model", "region", "origin_year", "year"]
    return out.drop_duplicates(keys)[keys + ["error"]].dropna(subset=["error"])


def _errors_for(errors: pd.DataFrame, model: str, series: list[str]) -> np.ndarray:
    """Complete-case error matrix (T, n) for ``model`` over ``series`` (time = origin-year pairs)."""
    sub = errors.loc[errors["model"].isin([model, "*"])]
    if sub.empty:
        known = sorted(set(errors["model"]))
        raise DataError(f"residuals: no backtest errors for model={model!r}; models with errors: {known}.")
    wide = sub.pivot_table(index=["origin_year", "year"], columns="region", values="error", aggfunc="first")
    absent = [s for s in series if s not in wide.columns]
    if absent:
        raise DataError(
            f"residuals: model={model!r} has no backtest errors for region(s) {absent}; "
            "WLS and MinT need errors for every series of the hierarchy."
        )
    wide = wide[series]
    complete = wide.dropna()
    if len(complete) < len(wide):
        logger.info(
            "model=%r: %d of %d error vectors dropped as incomplete (a region without a backtest error).",
            model, len(wide) - len(complete), len(wide),
        )
    zero = [s for s in series if complete[s].std(ddof=1) == 0] if len(complete) > 1 else []
    if zero:
        raise StudyError(
            f"residuals: model={model!r} has zero error variance for region(s) {zero}; "
            "their weight is undefined, use method='ols'."
        )
    return complete.to_numpy(dtype=float)


def reconcile(
    forecasts: pd.DataFrame,
    *,
    method: str = "ols",
    residuals: pd.DataFrame | None = None,
    constraint: str = "national_total",
    national: str = NATIONAL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reconcile a long forecast table so that every year satisfies a linear constraint.

    Parameters
    ----------
    forecasts : DataFrame
        Long forecast table with columns ``model``, ``region``, ``origin_year``, ``year``,
        ``point``, ``lower``, ``upper``, ``level`` (several levels may be stacked; ``lower``,
        ``upper`` and ``level`` may be NaN). Each (model, origin_year, year, level) group is
        one cross-section to reconcile; the regions present in it are taken to partition
        the country.
    method : {"ols", "wls", "mint_shrink"}, default "ols"
        Weight matrix ``W`` of the projection (see Notes).
    residuals : DataFrame, optional
        Backtest errors, needed for ``"wls"`` and ``"mint_shrink"``: columns ``region``,
        ``origin_year``, ``year`` and either ``residual`` or ``actual`` and ``point``
        (errors are ``actual - point``), plus ``model`` (without it the same errors serve
        every model). A backtest table with stacked levels is fine (deduplicated).
    constraint : {"national_total", "zero_sum"}, default "national_total"
        ``national_total``: the regions add up to the ``national`` row.
        ``zero_sum``: the regions add up to zero (interregional net migration); a national
        row, if present, is set to zero.
    national : str, default "kazakhstan"

    Returns
    -------
    reconciled : DataFrame
        ``forecasts`` with ``point``, ``lower`` and ``upper`` adjusted, same rows and order.
    report : DataFrame
        One row per model, origin_year and year: ``n_series``, ``total_base``/``total_reconciled``
        (the national row, or 0 under ``zero_sum``), ``sum_regions_base``/``sum_regions_reconciled``,
        ``incoherence_base``/``incoherence_reconciled`` (largest absolute constraint violation,
        in the units of the forecasts), ``max_abs_adjustment`` and ``shrinkage`` (MinT's lambda).

    Raises
    ------
    PanelContractError
        The forecast table breaks the contract of :func:`kzmig.models.forecasters.schema.validate_forecast`.
    ValueError
        A missing national row under
        ``national_total``, missing or degenerate residuals, or an unknown method/constraint.

    Notes
    -----
    With base forecasts :math:`\\hat y` of one cross-section and constraints :math:`C y = 0`,

    .. math:: \\tilde y = \\hat y - W C' (C W C')^{-1} C \\hat y
              = S (S' W^{-1} S)^{-1} S' W^{-1} \\hat y,

    the MinT projection (Wickramasuriya et al., 2019) with :math:`S` a summing matrix whose
    columns span :math:`\\{y : C y = 0\\}`. ``W`` is the identity (OLS), the diagonal of
    backtest error variances (WLS) or the Schäfer-Strimmer shrinkage of the backtest error
    covariance towards its diagonal (MinT shrink). Errors of all horizons are pooled, each
    (origin_year, year) pair being one error vector; only complete vectors are used.

    Interval bounds are shifted by the same adjustment as the point
    (:math:`\\tilde l = l + \\tilde y - \\hat y`), so widths and the ordering
    ``lower <= point <= upper`` are kept. This is the "reconcile the centre, keep the
    spread" choice: bounds of an aggregate are not sums of regional bounds, and MinT's
    variance reduction is not claimed, so reconciled intervals are if anything conservative.
    """
    check_option("method", method, METHODS, owner="reconcile")
    check_option("constraint", constraint, CONSTRAINTS, owner="reconcile")
    validate_forecast(forecasts, source="reconcile: forecast table")
    if method != "ols" and residuals is None:
        raise ConfigError(f"method={method!r} needs residuals (backtest errors); pass residuals= or use method='ols'.")
    errors = _error_frame(residuals) if method != "ols" else None
    point = forecasts["point"].to_numpy(dtype=float)
    adjust = np.zeros(len(forecasts))
    regions = forecasts["region"].astype(str).to_numpy()
    cache: dict[tuple, tuple[np.ndarray, float]] = {}
    reports, seen = [], set()
    groups = forecasts.groupby(_GROUP, dropna=False, sort=True).indices
    for (model, origin, year, _level), pos in groups.items():
        pos = pos[np.lexsort((regions[pos], regions[pos] != national))]
        series = regions[pos].tolist()
        try:
            c = constraint_matrix(series, constraint, national)
        except ValueError as exc:
            raise StudyError(f"model={model!r}, origin_year={int(origin)}, year={int(year)}: {exc}") from None
        key = (model, tuple(series))
        if key not in cache:
            if errors is None:
                cache[key] = error_covariance(np.empty((0, len(series))), "ols")
            else:
                try:
                    cache[key] = error_covariance(_errors_for(errors, model, series), method)
                except ValueError as exc:
                    if str(exc).startswith("residuals:"):
                        raise
                    raise StudyError(f"residuals: model={model!r}: {exc}") from None
        w, lam = cache[key]
        y = point[pos]
        y_rec = project(y, c, w)
        adjust[pos] = y_rec - y
        if (model, origin, year) in seen:
            continue
        seen.add((model, origin, year))
        reports.append(_report_row(model, origin, year, series, y, y_rec, c, constraint, national, method, lam))
    out = forecasts.copy()
    for col in ("point", "lower", "upper"):
        out[col] = forecasts[col].to_numpy(dtype=float) + adjust
    validate_forecast(out, source="reconcile: reconciled table")
    report = pd.DataFrame(reports)
    logger.info(
        "reconciled %d cross-sections (%s, %s): largest incoherence %.6g before, %.3g after.",
        len(report), constraint, method, report["incoherence_base"].max(), report["incoherence_reconciled"].max(),
    )
    return out, report


def _report_row(model, origin, year, series, y, y_rec, c, constraint, national, method, lam) -> dict:
    is_nat = np.array([s == national for s in series])
    has_nat = constraint == "national_total"
    return {
        "model": model,
        "origin_year": int(origin),
        "year": int(year),
        "constraint": constraint,
        "method": method,
        "n_series": int((~is_nat).sum()),
        "total_base": float(y[is_nat][0]) if has_nat else 0.0,
        "total_reconciled": float(y_rec[is_nat][0]) if has_nat else 0.0,
        "sum_regions_base": float(y[~is_nat].sum()),
        "sum_regions_reconciled": float(y_rec[~is_nat].sum()),
        "incoherence_base": float(np.abs(c @ y).max()),
        "incoherence_reconciled": float(np.abs(c @ y_rec).max()),
        "max_abs_adjustment": float(np.abs(y_rec - y).max()),
        "shrinkage": lam,
    }
