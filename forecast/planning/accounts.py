"""One system of migration accounts: persons, rates, population and external flows that add up.

METHOD.md section 10. Every published number comes from one forecast and obeys the identities
the data obey:

* **two views of a regional balance**: net migration in persons ``M(r, t)`` and the rate per
  1,000 ``m(r, t) = 1000 M / ((P(t) + P(t+1)) / 2)``, with ``P(t+1) = P(t) + N(t) + M(t)``
  (``P`` on 1 January, ``N`` the natural increase). One view is modelled, the other derived
  here (:func:`persons_from_rate`, :func:`rate_from_persons`);
* **linear identities across studies** (:func:`linear_identities`): the regions sum to the
  national balance, the national balance is external arrivals - departures, arrivals and
  departures are each their CIS + non-CIS parts, regional natural increase sums to the national
  one, and (where the interregional flows exist) a region's balance is its internal + external
  part with the internal parts summing to zero;
* **reconciliation of all of them at once** (:func:`reconcile_account`): the projection
  ``y~ = y^ - W C' (C W C')^-1 C y^`` with a signed constraint matrix ``C``
  (:func:`constraint_matrix`) and ``W`` the identity (OLS), the backtest error variances (WLS)
  or their Schäfer-Strimmer shrinkage covariance (MinT, Wickramasuriya, Athanasopoulos &
  Hyndman 2019);
* **a consistency table** (:func:`consistency_table`): every identity, year and region with
  its largest absolute deviation, persons and rates separately.

Frames are long: one row per ``variable, region, origin_year, year`` (plus ``model`` or
``path`` keys where given) with the value in ``point``. Everything here is pure: no I/O.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kzmig.core.options import check_option
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.reconcile import error_covariance, project

logger = logging.getLogger(__name__)

NET = "net_migration"
RATE = "net_migration_rate_per_1000"
NATURAL = "natural_increase"
POPULATION = "population"
ARRIVALS = "external_arrivals"
DEPARTURES = "external_departures"
ARRIVALS_CIS = "external_arrivals_from_cis"
ARRIVALS_NON_CIS = "external_arrivals_from_non_cis"
DEPARTURES_CIS = "external_departures_to_cis"
DEPARTURES_NON_CIS = "external_departures_to_non_cis"
INTERNAL = "interregional_net"
EXTERNAL = "external_net"

METHODS = ("ols", "wls", "mint_shrink")
#: tolerances of the consistency table (issue 18): persons, and rates per 1,000
TOLERANCE = {"persons": 0.5, "per_1000": 1e-6}


# --------------------------------------------------------------------- persons <-> rate
def _as_paths(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name}: expected a 1-d path (years) or a 2-d array (paths x years), got shape {a.shape}.")
    return a


def persons_from_rate(rate, population_start, natural_increase) -> tuple[np.ndarray, np.ndarray]:
    """Net migration in persons from a rate per 1,000 of the mean population, year by year.

    Parameters
    ----------
    rate : array_like, shape (T,) or (n_paths, T)
        Net migration per 1,000 mean population, years in order (one path or sample paths).
    population_start : float or array_like of shape (n_paths,)
        Population on 1 January of the first year.
    natural_increase : array_like, shape (T,) or (n_paths, T)
        Natural increase in persons per year (broadcast against ``rate``).

    Returns
    -------
    persons : ndarray, shape of ``rate``
        ``M(t) = m(t) (2 P(t) + N(t)) / (2000 - m(t))``.
    population : ndarray, shape ``rate`` with one more year
        ``P(t)`` on 1 January, ``P(t+1) = P(t) + N(t) + M(t)``.

    Notes
    -----
    The mean population ``(P(t) + P(t+1)) / 2`` contains ``M(t)`` itself, so
    ``M = m (2 P + N + M) / 2000`` is solved for ``M`` (METHOD.md 10). For fixed ``P(t)`` and
    ``N(t)`` with ``2 P + N > 0`` the map is strictly increasing in ``m`` on ``m < 2000``
    (derivative ``2000 (2P + N) / (2000 - m)^2``), so a quantile of the rate maps to the same
    quantile of persons *given the population path*; :func:`map_interval_bounds` uses that.
    """
    m = _as_paths(rate, "rate")
    n = np.broadcast_to(_as_paths(natural_increase, "natural_increase"), m.shape)
    if np.any(m >= 2000):
        raise ValueError("rate: a net migration rate of 2,000 per 1,000 or more has no mean population.")
    p0 = np.asarray(population_start, dtype=float)
    lead = m.shape[:-1]
    p = np.empty(lead + (m.shape[-1] + 1,))
    p[..., 0] = np.broadcast_to(p0, lead)
    out = np.empty_like(m)
    for t in range(m.shape[-1]):
        out[..., t] = m[..., t] * (2.0 * p[..., t] + n[..., t]) / (2000.0 - m[..., t])
        p[..., t + 1] = p[..., t] + n[..., t] + out[..., t]
    if np.any(p <= 0):
        raise ValueError("population: the projection reaches a non-positive population; the rate path is "
                         "not demographically possible.")
    return out, p


def rate_from_persons(persons, population_start, natural_increase) -> tuple[np.ndarray, np.ndarray]:
    """Rate per 1,000 mean population from net migration in persons, year by year.

    Parameters
    ----------
    persons : array_like, shape (T,) or (n_paths, T)
    population_start : float or array_like of shape (n_paths,)
    natural_increase : array_like, broadcast against ``persons``

    Returns
    -------
    rate : ndarray
        ``m(t) = 1000 M(t) / ((P(t) + P(t+1)) / 2)``.
    population : ndarray, one more year than ``persons``

    Notes
    -----
    The inverse of :func:`persons_from_rate`; for fixed ``P(t)``, ``N(t)`` the rate
    ``2000 M / (2P + N + M)`` is strictly increasing in ``M`` where the mean population is positive.
    """
    mm = _as_paths(persons, "persons")
    n = np.broadcast_to(_as_paths(natural_increase, "natural_increase"), mm.shape)
    p0 = np.asarray(population_start, dtype=float)
    lead = mm.shape[:-1]
    p = np.empty(lead + (mm.shape[-1] + 1,))
    p[..., 0] = np.broadcast_to(p0, lead)
    for t in range(mm.shape[-1]):
        p[..., t + 1] = p[..., t] + n[..., t] + mm[..., t]
    if np.any(p <= 0):
        raise ValueError("population: the projection reaches a non-positive population.")
    mean = (p[..., :-1] + p[..., 1:]) / 2.0
    return 1000.0 * mm / mean, p


def map_interval_bounds(bound, to: str, population_start, natural_increase, point) -> np.ndarray:
    """Map an interval bound of one view into the other, along the point forecast's population.

    Parameters
    ----------
    bound : array_like, shape (T,)
        Lower or upper bound per year (rate per 1,000 if ``to="persons"``, persons if ``to="rate"``).
    to : {"persons", "rate"}
    population_start, natural_increase :
        As in :func:`persons_from_rate`.
    point : array_like, shape (T,)
        The point forecast in the view of ``bound``; it fixes the population path ``P(t)``.

    Returns
    -------
    ndarray
        The bound in the other view.

    Notes
    -----
    Given ``P(t)`` and ``N(t)`` each year's map is strictly increasing (see
    :func:`persons_from_rate`), so the bound of a level-``a`` interval of one view is the bound
    of a level-``a`` interval of the other, *conditional on the point's population path*: the
    year-``t`` bound does not feed the year-``t+1`` population (it is one year's quantile,
    not a path). Sample paths, where they exist, are mapped through their own population.
    """
    check_option("to", to, ("persons", "rate"), owner="map_interval_bounds")
    b = np.asarray(bound, dtype=float)
    n = np.asarray(natural_increase, dtype=float)
    along = persons_from_rate if to == "persons" else rate_from_persons  # point is in the view of bound
    _, p = along(point, population_start, n)
    p_t = p[..., :-1]
    if to == "persons":
        return b * (2.0 * p_t + n) / (2000.0 - b)
    return 2000.0 * b / (2.0 * p_t + n + b)


# --------------------------------------------------------------------- linear identities
@dataclass(frozen=True)
class Identity:
    """One linear identity ``sum(sign * value) = 0`` over (variable, region) terms of one year.

    Attributes
    ----------
    name : str
    region : str
        The region the identity is about (the national code for national identities).
    terms : tuple of (variable, region, sign)
    """

    name: str
    region: str
    terms: tuple[tuple[str, str, float], ...]


def linear_identities(keys: Iterable[tuple[str, str]], national: str = NATIONAL
                      ) -> tuple[list[Identity], list[str]]:
    """The identities of METHOD.md 10 that the available series allow.

    Parameters
    ----------
    keys : iterable of (variable, region)
        The series of one cross-section (one year).
    national : str, default "kazakhstan"

    Returns
    -------
    identities : list of Identity
        In a fixed order: ``regions_sum_to_national`` (net migration),
        ``national_is_arrivals_minus_departures``, ``arrivals_are_cis_plus_non_cis``,
        ``departures_are_cis_plus_non_cis``, ``natural_increase_regions_sum_to_national``,
        ``internal_sums_to_zero`` and one ``internal_plus_external`` per region.
    skipped : list of str
        One sentence per identity that could not be formed, naming the missing series.
    """
    keys = set(keys)
    regions = sorted({r for v, r in keys if v == NET and r != national})
    out, skipped = [], []

    def need(name: str, region: str, terms: list[tuple[str, str, float]]) -> None:
        missing = [f"{v}[{r}]" for v, r, _ in terms if (v, r) not in keys]
        if missing:
            skipped.append(f"{name} ({region}): not enforced, no forecast of {', '.join(missing)}")
        else:
            out.append(Identity(name, region, tuple(terms)))

    if regions:
        need("regions_sum_to_national", national,
             [(NET, national, 1.0)] + [(NET, r, -1.0) for r in regions])
    need("national_is_arrivals_minus_departures", national,
         [(NET, national, 1.0), (ARRIVALS, national, -1.0), (DEPARTURES, national, 1.0)])
    need("arrivals_are_cis_plus_non_cis", national,
         [(ARRIVALS, national, 1.0), (ARRIVALS_CIS, national, -1.0), (ARRIVALS_NON_CIS, national, -1.0)])
    need("departures_are_cis_plus_non_cis", national,
         [(DEPARTURES, national, 1.0), (DEPARTURES_CIS, national, -1.0), (DEPARTURES_NON_CIS, national, -1.0)])
    ni_regions = sorted({r for v, r in keys if v == NATURAL and r != national})
    if ni_regions:
        need("natural_increase_regions_sum_to_national", national,
             [(NATURAL, national, 1.0)] + [(NATURAL, r, -1.0) for r in ni_regions])
    internal = sorted({r for v, r in keys if v == INTERNAL and r != national})
    if internal:
        need("internal_sums_to_zero", national, [(INTERNAL, r, 1.0) for r in internal])
        for r in internal:
            need("internal_plus_external", r, [(NET, r, 1.0), (INTERNAL, r, -1.0), (EXTERNAL, r, -1.0)])
    return out, skipped


def constraint_matrix(keys: Sequence[tuple[str, str]], identities: Sequence[Identity]) -> np.ndarray:
    """Signed constraint matrix ``C`` with ``C y = 0`` for a coherent vector ``y``.

    Parameters
    ----------
    keys : sequence of (variable, region)
        The order of ``y``.
    identities : sequence of Identity

    Returns
    -------
    ndarray of shape (len(identities), len(keys))
        Row ``i`` holds the signs of identity ``i`` in the columns of its terms.
    """
    col = {k: j for j, k in enumerate(keys)}
    if len(col) != len(keys):
        raise ValueError("keys: duplicate (variable, region) pairs in one cross-section.")
    c = np.zeros((len(identities), len(keys)))
    for i, ident in enumerate(identities):
        for v, r, s in ident.terms:
            if (v, r) not in col:
                raise ValueError(f"identity {ident.name!r}: series {v}[{r}] is not in the cross-section.")
            c[i, col[(v, r)]] += s
    return c


def error_variances(errors: pd.DataFrame, min_errors: int = 1) -> pd.Series:
    """Mean squared backtest error of each series, on the cells that series has.

    Parameters
    ----------
    errors : DataFrame
        ``variable, region, error`` (``actual - point``), one row per backtest cell; each
        series may have its own cells (a diagonal ``W`` needs no common cells).
    min_errors : int, default 1
        Series with fewer finite errors are left out.

    Returns
    -------
    Series
        Indexed by ``(variable, region)``: ``mean(error^2)`` (uncentred, so a biased series
        counts its bias as error, as in the MinT literature's ``wls_var`` on residuals).
    """
    e = errors.loc[np.isfinite(errors["error"].to_numpy(dtype=float))]
    g = e.assign(sq=e["error"].astype(float) ** 2).groupby(["variable", "region"])["sq"]
    out = g.mean()[g.size() >= min_errors]
    return out.rename("variance")


def account_weights(keys: Sequence[tuple[str, str]], method: str, errors: pd.DataFrame | None = None
                    ) -> tuple[np.ndarray, float]:
    """Weight matrix ``W`` of the projection for the series ``keys``.

    Parameters
    ----------
    keys : sequence of (variable, region)
    method : {"ols", "wls", "mint_shrink"}
        ``"ols"``: identity. ``"wls"``: diagonal of each series' backtest error variance
        (``ddof=1``, on all of that series' errors, so a series with a short backtest still
        weighs in). ``"mint_shrink"``: Schäfer-Strimmer shrinkage of the covariance of the
        complete error vectors (:func:`kzmig.forecast.engine.reconcile.error_covariance`).
    errors : DataFrame, optional
        ``variable, region, origin_year, year, error`` (``actual - point``); needed unless OLS.

    Returns
    -------
    W : ndarray (n, n)
    shrinkage : float
        MinT's lambda (NaN otherwise).
    """
    check_option("method", method, METHODS, owner="reconcile_account")
    n = len(keys)
    if method == "ols":
        return np.eye(n), float("nan")
    if errors is None:
        raise ValueError(f"method={method!r} needs backtest errors; pass errors= or use method='ols'.")
    e = errors.assign(_k=list(zip(errors["variable"], errors["region"])))
    wide = e.pivot_table(index=["origin_year", "year"], columns="_k", values="error", aggfunc="first")
    absent = [f"{v}[{r}]" for v, r in keys if (v, r) not in wide.columns]
    if absent:
        raise ValueError(f"errors: no backtest errors for {absent}; {method} needs errors for every series.")
    wide = wide[list(keys)]
    if method == "wls":
        var = wide.var(ddof=1).to_numpy(dtype=float)
        bad = [f"{v}[{r}]" for (v, r), x in zip(keys, var) if not (np.isfinite(x) and x > 0)]
        if bad:
            raise ValueError(f"errors: fewer than 2 errors or zero variance for {bad}; use method='ols'.")
        return np.diag(var), float("nan")
    return error_covariance(wide.dropna().to_numpy(dtype=float), "mint_shrink")


@dataclass
class AccountResult:
    """Result of :func:`reconcile_account`.

    Attributes
    ----------
    reconciled : DataFrame
        The input frame with ``point`` replaced by the coherent values and ``base`` holding
        the input points.
    report : DataFrame
        One row per cross-section: ``n_series``, ``n_identities``, ``incoherence_base``,
        ``incoherence_reconciled``, ``max_abs_adjustment``, ``shrinkage``.
    skipped : list of str
        Identities that could not be enforced, with the missing series.
    """

    reconciled: pd.DataFrame
    report: pd.DataFrame
    skipped: list[str]


def reconcile_account(frame: pd.DataFrame, *, method: str = "ols", errors: pd.DataFrame | None = None,
                      by: Sequence[str] = ("origin_year", "year"), national: str = NATIONAL,
                      variances: pd.Series | None = None, log_skipped: bool = True) -> AccountResult:
    """Reconcile every linear identity of the account at once, cross-section by cross-section.

    Parameters
    ----------
    frame : DataFrame
        Long: ``variable, region, point`` and the columns of ``by``; one row per series and
        cross-section. Sample paths: put the path id into ``by``.
    method : {"ols", "wls", "mint_shrink"}, default "ols"
    errors : DataFrame, optional
        Backtest errors for WLS / MinT (see :func:`account_weights`).
    by : sequence of str, default ("origin_year", "year")
        Columns that define one cross-section (e.g. add ``"model"`` or ``"path"``).
    national : str, default "kazakhstan"
    variances : Series, optional
        With ``method="wls"``: the diagonal of ``W`` given directly, indexed by
        ``(variable, region)`` (:func:`error_variances`), instead of computing it from
        ``errors``. A series of a cross-section without a variance must be ``fixed``.
    log_skipped : bool, default True
        Log a warning per identity that could not be formed; a caller that reconciles many
        frames (the account's backtest) passes False and reports them once itself.

    Returns
    -------
    AccountResult

    Raises
    ------
    ValueError
        Missing columns, duplicate or non-finite rows, or an identity whose series are all
        ``fixed``.

    Notes
    -----
    .. math:: \\tilde y = \\hat y - W C' (C W C')^{-1} C \\hat y

    (:func:`kzmig.forecast.engine.reconcile.project`), the MinT projection of Wickramasuriya et al.
    (2019) written with a constraint matrix, which handles signed identities (arrivals -
    departures) that a non-negative summing matrix cannot.

    A boolean column ``fixed`` marks observed values inside a forecast year (e.g. external flows
    published for a year the regional series still forecasts): their rows and columns of ``W``
    are zero, so the projection leaves them unchanged and moves only the forecasts. The rate view is not linear in the
    persons, so it is not reconciled here: derive it afterwards from the reconciled persons
    and the population (:func:`rate_from_persons`), which makes it exact.
    """
    check_option("method", method, METHODS, owner="reconcile_account")
    by = list(by)
    need = [c for c in ("variable", "region", "point", *by) if c not in frame.columns]
    if need:
        raise ValueError(f"reconcile_account: missing column(s) {need}; found {list(frame.columns)}.")
    if not np.isfinite(frame["point"].to_numpy(dtype=float)).all():
        bad = frame.loc[~np.isfinite(frame["point"].to_numpy(dtype=float)), ["variable", "region", *by]].head(3)
        raise ValueError(f"reconcile_account: non-finite point forecasts, e.g. {bad.to_dict('records')}.")
    dup = frame.duplicated([*by, "variable", "region"])
    if dup.any():
        raise ValueError("reconcile_account: duplicate rows, e.g. "
                         f"{frame.loc[dup, ['variable', 'region', *by]].head(3).to_dict('records')}.")
    point = frame["point"].to_numpy(dtype=float)
    new = point.copy()
    keys_all = list(zip(frame["variable"].astype(str), frame["region"].astype(str)))
    cache: dict[tuple, tuple] = {}
    rows, skipped_all = [], []
    for cell, pos in frame.groupby(by, sort=True).indices.items():
        cell = cell if isinstance(cell, tuple) else (cell,)
        keys = tuple(keys_all[i] for i in pos)
        fixed = (frame["fixed"].to_numpy(dtype=bool)[pos] if "fixed" in frame.columns
                 else np.zeros(len(pos), dtype=bool))
        if (keys, fixed.tobytes()) not in cache:
            ids, skipped = linear_identities(keys, national)
            c = constraint_matrix(keys, ids)
            if method == "wls" and variances is not None:
                var = np.array([variances.get(k, np.nan) for k in keys], dtype=float)
                bad = [f"{v}[{r}]" for (v, r), x, f in zip(keys, var, fixed) if not f and not (np.isfinite(x) and x > 0)]
                if bad:
                    raise ValueError(f"reconcile_account: no positive backtest variance for {bad}; use method='ols'.")
                w, lam = np.diag(np.where(fixed, 1.0, var)), float("nan")
            else:
                w, lam = account_weights(keys, method, errors)
            cache[(keys, fixed.tobytes())] = (c, w, lam, skipped)
        c, w, lam, skipped = cache[(keys, fixed.tobytes())]
        if fixed.any():
            w = w.copy()
            w[fixed, :] = 0.0
            w[:, fixed] = 0.0
            # an identity among observed values only is the data's own: check it, do not enforce it
            only = ~(np.abs(c[:, ~fixed]) > 0).any(axis=1)
            dev = np.abs(c[only] @ point[pos])
            if (dev > TOLERANCE["persons"]).any():
                ids, _ = linear_identities(keys, national)
                bad = [i.name for i, o in zip(ids, only) if o]
                raise ValueError(f"reconcile_account: {dict(zip(by, cell))}: observed values break "
                                 f"{bad} by up to {dev.max():,.1f}; the data do not add up.")
            c = c[~only]
        for s in skipped:
            if s not in skipped_all:
                skipped_all.append(s)
        y = point[pos]
        try:
            y_rec = project(y, c, w) if len(c) else y.copy()
        except ValueError:
            raise ValueError(f"reconcile_account: {dict(zip(by, cell))}: an identity has only fixed (observed) "
                             "series, nothing to adjust.") from None
        new[pos] = y_rec
        rows.append({**dict(zip(by, cell)), "n_series": len(keys), "n_identities": len(c),
                     "incoherence_base": float(np.abs(c @ y).max()) if len(c) else 0.0,
                     "incoherence_reconciled": float(np.abs(c @ y_rec).max()) if len(c) else 0.0,
                     "max_abs_adjustment": float(np.abs(y_rec - y).max()), "shrinkage": lam})
    for s in skipped_all if log_skipped else ():
        logger.warning("account: %s.", s)
    out = frame.assign(base=point, point=new)
    return AccountResult(out, pd.DataFrame(rows), skipped_all)


# --------------------------------------------------------------------- regional two views
def regional_views(persons: pd.DataFrame, population_start: pd.Series, natural_increase: pd.DataFrame,
                   by: Sequence[str] = ("origin_year",)) -> pd.DataFrame:
    """Persons, rate and population of every region from coherent persons, exact by construction.

    Parameters
    ----------
    persons : DataFrame
        ``region, year, point`` (net migration in persons) plus the columns of ``by``.
    population_start : Series
        Population on 1 January of each path's first forecast year, indexed like
        ``[*by, "region"]`` (a MultiIndex; plain ``region`` index when ``by`` is empty).
    natural_increase : DataFrame
        ``region, year, natural_increase`` plus ``by`` (persons).
    by : sequence of str, default ("origin_year",)

    Returns
    -------
    DataFrame
        ``[*by, region, year, net_migration, net_migration_rate_per_1000, natural_increase,
        population_start, population_end, mean_population]``.
    """
    by = list(by)
    d = persons.merge(natural_increase, on=[*by, "region", "year"], how="left", validate="1:1")
    if d["natural_increase"].isna().any():
        miss = d.loc[d["natural_increase"].isna(), [*by, "region", "year"]].head(3).to_dict("records")
        raise ValueError(f"regional_views: no natural increase for {miss}.")
    out = []
    for key, g in d.sort_values("year").groupby([*by, "region"], sort=True):
        g = g.sort_values("year")
        years = g["year"].to_numpy()
        if (np.diff(years) != 1).any():
            raise ValueError(f"regional_views: {dict(zip([*by, 'region'], key))}: years {years.tolist()} "
                             "are not consecutive.")
        idx = key if len(key) > 1 else key[0]
        if idx not in population_start.index:
            raise ValueError(f"regional_views: no starting population for {dict(zip([*by, 'region'], key))}.")
        p0 = float(population_start.loc[idx])
        rate, p = rate_from_persons(g["point"].to_numpy(float), p0, g["natural_increase"].to_numpy(float))
        out.append(g[[*by, "region", "year"]].assign(
            net_migration=g["point"].to_numpy(float), net_migration_rate_per_1000=rate,
            natural_increase=g["natural_increase"].to_numpy(float), population_start=p[:-1],
            population_end=p[1:], mean_population=(p[:-1] + p[1:]) / 2.0))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------- calibration
def split_conformal_halfwidth(errors: np.ndarray, level: float) -> float:
    """Split-conformal half-width from calibration errors: the ``ceil((n+1) level)``-th smallest ``|e|``.

    Returns NaN when ``n`` is too small for the level (Lei et al. 2018).
    """
    a = np.sort(np.abs(np.asarray(errors, dtype=float)[np.isfinite(errors)]))
    k = math.ceil((len(a) + 1) * level)
    return float(a[k - 1]) if 1 <= k <= len(a) else float("nan")


def coverage(actual, lower, upper) -> float:
    """Share of ``actual`` inside ``[lower, upper]`` over the rows with an interval (NaN if none)."""
    a, lo, hi = (np.asarray(x, dtype=float) for x in (actual, lower, upper))
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(a)
    return float(((a[ok] >= lo[ok]) & (a[ok] <= hi[ok])).mean()) if ok.any() else float("nan")


# --------------------------------------------------------------------- consistency table
def consistency_table(linear: pd.DataFrame, regional: pd.DataFrame | None = None, *,
                      by: Sequence[str] = ("origin_year",), national: str = NATIONAL) -> pd.DataFrame:
    """Every identity of the account, year and region, with its largest absolute deviation.

    Parameters
    ----------
    linear : DataFrame
        ``variable, region, year, point`` plus ``by`` (the account's linear series).
    regional : DataFrame, optional
        From :func:`regional_views` (or the same columns from a run): checks
        ``population_balance`` (``P(t+1) - P(t) - N - M``, persons), ``persons_from_rate``
        (``M - m * mean P / 1000``, persons), ``rate_from_persons`` (``m - 1000 M / mean P``,
        per 1,000), ``population_continuity`` (end of year ``t`` = start of ``t+1``) and
        ``regional_population_sums_to_national``.
    by : sequence of str
        Columns other than ``year`` over which the deviation is maximised (origins, models, paths).

    Returns
    -------
    DataFrame
        ``identity, region, year, unit, max_abs_deviation, tolerance, holds, n``; sorted.
    """
    by = list(by)
    parts = []
    for (yr, *rest), g in linear.groupby(["year", *by], sort=True):
        ids, _ = linear_identities(zip(g["variable"], g["region"]), national)
        val = dict(zip(zip(g["variable"], g["region"]), g["point"].to_numpy(float)))
        for ident in ids:
            dev = sum(s * val[(v, r)] for v, r, s in ident.terms)
            parts.append((ident.name, ident.region, int(yr), "persons", abs(dev)))
    if regional is not None and len(regional):
        r = regional
        checks = {
            "population_balance": ("persons", r["population_end"] - r["population_start"]
                                   - r["natural_increase"] - r["net_migration"]),
            "persons_from_rate": ("persons", r["net_migration"]
                                  - r["net_migration_rate_per_1000"] * r["mean_population"] / 1000.0),
            "rate_from_persons": ("per_1000", r["net_migration_rate_per_1000"]
                                  - 1000.0 * r["net_migration"] / r["mean_population"]),
            "mean_population": ("persons", r["mean_population"] - (r["population_start"] + r["population_end"]) / 2),
        }
        for name, (unit, dev) in checks.items():
            parts += [(name, reg, int(yr), unit, abs(float(x)))
                      for reg, yr, x in zip(r["region"], r["year"], dev.to_numpy(float))]
        s = r.sort_values([*by, "region", "year"])
        nxt = s.groupby([*by, "region"])["population_start"].shift(-1)
        gap = (nxt - s["population_end"]).to_numpy(float)
        parts += [("population_continuity", reg, int(yr), "persons", abs(x))
                  for reg, yr, x in zip(s["region"], s["year"], gap) if np.isfinite(x)]
        if (r["region"] == national).any():
            for col in ("population_start", "net_migration", "natural_increase"):
                nat = r.loc[r["region"] == national].set_index([*by, "year"])[col]
                reg = r.loc[r["region"] != national].groupby([*by, "year"])[col].sum()
                dev = (nat - reg.reindex(nat.index)).dropna()
                yrs = dev.index.get_level_values("year")
                parts += [(f"regions_sum_to_national_{col}", national, int(yr), "persons", abs(float(x)))
                          for yr, x in zip(yrs, dev.to_numpy(float))]
    t = pd.DataFrame(parts, columns=["identity", "region", "year", "unit", "deviation"])
    if t.empty:
        return pd.DataFrame(columns=["identity", "region", "year", "unit", "max_abs_deviation", "tolerance",
                                     "holds", "n"])
    out = (t.groupby(["identity", "region", "year", "unit"], sort=True)["deviation"]
           .agg(max_abs_deviation="max", n="size").reset_index())
    out["tolerance"] = out["unit"].map(TOLERANCE)
    out["holds"] = out["max_abs_deviation"] < out["tolerance"]
    return out[["identity", "region", "year", "unit", "max_abs_deviation", "tolerance", "holds", "n"]]
