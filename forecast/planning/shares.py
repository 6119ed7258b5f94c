"""A forecast total times an observed share, with the uncertainty of both (Monte Carlo).

Used where a series is too short to forecast alone but is a share of one that is not:
departures of specialists (:mod:`forecast.composition`) and regional interregional flows
(:mod:`forecast.regional`).

**The share's distribution** (one per key: a specialty, an education level, a region). With
observed shares :math:`p_1..p_k` (one per calendar year) the share of a future year is
logit-normal,

.. math::

    \\operatorname{logit} S \\sim N\\big(\\operatorname{logit} \\bar p,\\; s^2\\big), \\qquad
    \\bar p = \\frac1k \\sum_i p_i,

    s = \\max\\Big(s_{\\min},\\; \\operatorname{sd}\\big(\\operatorname{logit} p_i\\big)
        \\sqrt{1 + 1/k}\\Big) \\quad (k \\ge 2), \\qquad
    s = s_1 = \\max\\big(0.30,\\; \\max_{c:\\,k_c \\ge 2} s_c\\big) \\quad (k = 1),

so the median share is the mean observed share :math:`\\bar p`; ``sd`` has ``k - 1`` degrees of
freedom and :math:`\\sqrt{1 + 1/k}` makes it predictive (a new year, around an estimated
centre). Defaults: floor :math:`s_{\\min} = 0.15` on the logit scale (about +-15 % of a small
share per standard deviation: the spread of the shipped specialty shares of departures pooled
over technical, economic and pedagogical 2017-2023 is 0.156, so two or three years never claim
less); where only one year exists, :math:`s_1` is the widest spread of the keys observed in
several years in the same table, and at least 0.30 (twice the floor): one year says nothing
about the spread, so it is widened beyond every key that shows one (0.30 for departures by
specialty, whose widest is 0.21; 0.40 for arrivals, whose legal and construction shares have
spreads of 0.38-0.40). Both are parameters (``single_year_sd`` may be a fixed number).

**The total** is the median-preserving split normal that reproduces the forecast row's stored
bounds (:mod:`forecast.distribution`): :math:`T = \\text{point} + \\sigma_\\pm Z`, with
:math:`\\sigma_-` below the point and :math:`\\sigma_+` above it; draws below zero are set to
zero (a flow count) and counted in the log.

**The product** :math:`X = T S`, with ``T`` and ``S`` independent, is simulated with an explicit
seed: ``point`` = total point x :math:`\\bar p`, and the bounds at level ``L`` are the
:math:`(1 \\mp L)/2` quantiles of the draws. One share draw serves every year (a share is
persistent); the total is drawn afresh per forecast row. A check on the result, by the union
bound, without independence and for positive bounds: the level-``L`` interval lies inside
:math:`[T_{lo}' S_{lo}',\\, T_{hi}' S_{hi}']`, the product of the two level-:math:`L'` bounds with
:math:`L' = 1 - (1 - L)/2` (each factor misses its bound with probability at most
:math:`(1-L)/4`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from kzmig.core.errors import ConfigError, DataError
from kzmig.forecast.engine.distribution import row_scales
from kzmig.models.forecasters.schema import check_levels, validate_forecast

logger = logging.getLogger(__name__)

FLOOR_SD = 0.15
SINGLE_YEAR_SD = "widest"
SINGLE_YEAR_MIN = 0.30
N_DRAWS = 20_000
DEFAULT_SEED = 20261122
DIST_COLUMNS = ("n_share_years", "share_years", "share", "share_sd_logit", "sd_rule", "share_flags")


def pooled_sd(observed: pd.DataFrame, key: str) -> float:
    """Within-key standard deviation of the logit shares pooled over the keys with two or more years.

    .. math:: s_{\\text{pool}}^2 = \\frac{\\sum_c \\sum_i (\\operatorname{logit} p_{ci} - \\bar l_c)^2}{\\sum_c (k_c - 1)}

    Raises
    ------
    ValueError
        When no key has two observed years.
    """
    lg = observed.assign(_l=logit(observed["share"].to_numpy(dtype=float)))
    dev = lg["_l"] - lg.groupby(key)["_l"].transform("mean")
    dof = int((lg.groupby(key).size() - 1).sum())
    if dof < 1:
        raise DataError(f"floor_sd='pooled' needs a {key} observed in two years or more; none is.")
    return float(np.sqrt((dev**2).sum() / dof))


def share_distribution(observed: pd.DataFrame, *, key: str = "category", floor_sd: float | str = FLOOR_SD,
                       single_year_sd: float | str = SINGLE_YEAR_SD) -> pd.DataFrame:
    """The logit-normal distribution of each key's share (rule in the module notes).

    Parameters
    ----------
    observed : DataFrame
        One row per key and calendar year: ``key``, ``year``, ``share`` (a fraction strictly
        between 0 and 1), optionally ``period`` (label such as ``"2022 Jan-Jun"``, default the
        year) and ``flag`` (source flags of the figures).
    key : str
        Column naming the share (``category``, ``region`` ...).
    floor_sd : float or "pooled"
        Smallest logit spread for two or more years; ``"pooled"``: the within-key spread pooled
        over all keys (:func:`pooled_sd`) times :math:`\\sqrt{1 + 1/k}`, so that a key's own
        two or three years cannot claim less spread than the keys show together.
    single_year_sd : float or "widest", default "widest"
        The spread of a key observed in a single year: a number, or the widest spread of the
        keys with two or more years, at least :data:`SINGLE_YEAR_MIN` (0.30).

    Returns
    -------
    DataFrame
        One row per key: ``n_share_years``, ``share_years`` (``"2017, 2022, 2023 Jan-Sep"``),
        ``share`` (mean observed share = median of the distribution), ``share_sd_logit``,
        ``sd_rule`` and ``share_flags`` (the flag tokens of the figures used).

    Raises
    ------
    ValueError
        A share outside (0, 1), naming key and year; a key observed twice in one year; a
        negative spread parameter.
    """
    pooled, widest = floor_sd == "pooled", single_year_sd == "widest"
    if not pooled and not (isinstance(floor_sd, (int, float)) and floor_sd >= 0):
        raise ConfigError(f"floor_sd={floor_sd!r} must be a number >= 0 or 'pooled'.")
    if not widest and not (isinstance(single_year_sd, (int, float)) and single_year_sd >= 0):
        raise ConfigError(f"single_year_sd={single_year_sd!r} must be a number >= 0 or 'widest'.")
    obs = observed.copy()
    bad = ~((obs["share"] > 0) & (obs["share"] < 1))
    if bad.any():
        r = obs.loc[bad].iloc[0]
        raise DataError(f"share of {key}={r[key]!r} in year {int(r['year'])} is {r['share']}; a share must lie "
                         "strictly between 0 and 1 (its logit is used).")
    twice = obs.duplicated([key, "year"], keep=False)
    if twice.any():
        r = obs.loc[twice].iloc[0]
        raise DataError(f"{key}={r[key]!r} has {int(twice.sum())} shares for year {int(r['year'])}; keep one "
                         "period per calendar year (features.composition.observed_shares(prefer='longest')).")
    if "period" not in obs:
        obs["period"] = obs["year"].astype(int).astype(str)
    s_pool = pooled_sd(obs, key) if pooled else np.nan
    rows = []
    for k, g in obs.sort_values([key, "year"], kind="mergesort").groupby(key, sort=True):
        p = g["share"].to_numpy(dtype=float)
        n = len(p)
        if n == 1:
            sd, rule = np.nan, "single year"
        else:
            spread = float(np.std(logit(p), ddof=1) * np.sqrt(1.0 + 1.0 / n))
            floor = s_pool * np.sqrt(1.0 + 1.0 / n) if pooled else float(floor_sd)
            name = f"pooled floor {floor:.3f}" if pooled else f"floor {floor:g}"
            sd, rule = (spread, "observed spread x sqrt(1 + 1/k)") if spread >= floor else (
                float(floor), f"{name} (observed {spread:.3f})")
        flags = sorted({t for f in g.get("flag", pd.Series("", index=g.index)) for t in str(f).split(";") if t})
        rows.append({key: k, "n_share_years": n, "share_years": ", ".join(g["period"].astype(str)),
                     "share": float(p.mean()), "share_sd_logit": sd, "sd_rule": rule, "share_flags": ";".join(flags)})
    out = pd.DataFrame(rows, columns=[key, *DIST_COLUMNS])
    single = out["n_share_years"] == 1
    if single.any():
        multi = out.loc[~single, "share_sd_logit"]
        sd1 = max(SINGLE_YEAR_MIN, float(multi.max()) if len(multi) else 0.0) if widest else float(single_year_sd)
        how = ("the widest multi-year spread, at least " + f"{SINGLE_YEAR_MIN:g}") if widest else "fixed"
        out.loc[single, "share_sd_logit"] = sd1
        out.loc[single, "sd_rule"] = f"single year: widened to {sd1:.3f} ({how})"
    return out


def _total_draws(point: float, sd_lo: float, sd_hi: float, z: np.ndarray) -> np.ndarray:
    """Draws of the median-preserving split normal through standard normals ``z``."""
    return point + np.where(z < 0, sd_lo, sd_hi) * z


def product_forecast(forecast: pd.DataFrame, dist: pd.DataFrame, *, key: str = "category",
                     levels=None, n_draws: int = N_DRAWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Forecast total x share for every key of ``dist`` and every row of ``forecast``.

    Parameters
    ----------
    forecast : DataFrame
        Long forecast table of the total (``model, region, origin_year, year, point, lower,
        upper, level``), levels stacked; rows without an interval give a point only.
    dist : DataFrame
        :func:`share_distribution` output.
    levels : iterable of float, optional
        Interval levels of the output; default those of ``forecast``.
    n_draws : int, default 20,000
    seed : int
        Seed of the generator (``numpy.random.default_rng``); the same seed gives the same numbers.

    Returns
    -------
    DataFrame
        ``key``, ``model``, ``total_region``, ``origin_year``, ``year``, ``point``, ``lower``,
        ``upper``, ``level``, ``total_point`` and the columns of ``dist``.
    """
    validate_forecast(forecast, source="product_forecast: forecast of the total")
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1000:
        raise ConfigError(f"n_draws={n_draws!r} must be an integer >= 1000.")
    have = sorted(forecast["level"].dropna().unique().tolist())
    levels = check_levels(levels) if levels is not None else tuple(have)
    scales = row_scales(forecast)
    d = dist.sort_values(key, kind="mergesort").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    shares = expit(logit(d["share"].to_numpy())[:, None] + d["share_sd_logit"].to_numpy()[:, None]
                   * rng.standard_normal((len(d), n_draws)))
    rows, clipped, outside = [], 0, 0
    for r in scales.itertuples(index=False):
        z = rng.standard_normal(n_draws)
        no_interval = not (np.isfinite(r.sd_lower) and np.isfinite(r.sd_upper))
        total = np.full(n_draws, r.point) if no_interval else _total_draws(r.point, r.sd_lower, r.sd_upper, z)
        clipped += int((total < 0).sum())
        total = np.maximum(total, 0.0)
        base = {"model": r.model, "total_region": r.region, "origin_year": int(r.origin_year), "year": int(r.year),
                "total_point": float(r.point)}
        for i, s in enumerate(d.itertuples(index=False)):
            point = float(r.point) * s.share
            meta = {key: getattr(s, key), **{c: getattr(s, c) for c in DIST_COLUMNS}}
            if no_interval or not levels:
                rows.append({**base, **meta, "point": point, "lower": np.nan, "upper": np.nan, "level": np.nan})
                continue
            x = total * shares[i]
            for lv in levels:
                lo, hi = np.quantile(x, [(1 - lv) / 2, (1 + lv) / 2])
                outside += int(not lo <= point <= hi)
                rows.append({**base, **meta, "point": point, "lower": min(lo, point), "upper": max(hi, point),
                             "level": float(lv)})
    if clipped:
        logger.info("product_forecast: %d of %d draws of the total were below zero and set to zero.",
                    clipped, n_draws * len(scales))
    if outside:  # only at very low levels, where the simulated median of the product is off the point
        logger.warning("product_forecast: %d intervals did not contain the point and were extended to it.", outside)
    if scales[["sd_lower", "sd_upper"]].isna().any().any():
        logger.warning("product_forecast: %d forecast rows have no interval; their products carry a point only.",
                       int(scales["sd_lower"].isna().sum()))
    cols = [key, "model", "total_region", "origin_year", "year", "point", "lower", "upper", "level", "total_point",
            *DIST_COLUMNS]
    out = pd.DataFrame(rows, columns=cols)
    return out.astype({"origin_year": "int64", "year": "int64", "point": "float64", "lower": "float64",
                       "upper": "float64", "level": "float64"})
