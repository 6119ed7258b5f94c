"""Regional arrivals and departures as shares of the national flow.

Interregional arrivals and departures by region exist for 2022-2024 only (2022-2023 annual,
2024 the sum of 12 monthly figures, flagged ``derived:sum_of_months;preliminary``): far
shorter than any model plus a backtest needs (:func:`forecast.readiness.series_readiness`
says so per series). :func:`regional_share_forecast` therefore forecasts

.. math:: \\hat X_{r,t} = \\hat N_t \\times S_r,

a forecast of the national flow :math:`\\hat N_t` (any forecaster's long table: the national
interregional total itself is only three years long, so a naive or drift forecast, or a
longer user-supplied national series, is what exists) times the region's share :math:`S_r`
of the national flow in the observed years, with the share's spread and the Monte Carlo
combination of :mod:`forecast.shares`. When every region is observed in every year (as in
the shipped 2022-2024 data) the mean shares add up to one, so the regional points add up to
the national point.
"""
from __future__ import annotations

import logging

import pandas as pd

from kzmig.core.errors import DataError
from kzmig.core.options import check_option
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.readiness import series_readiness
from kzmig.forecast.planning.shares import DEFAULT_SEED, N_DRAWS, SINGLE_YEAR_SD, product_forecast, share_distribution
from kzmig.models.forecasters.schema import validate_forecast

logger = logging.getLogger(__name__)

NATIONAL_SOURCES = ("sum", "row")
OUTPUT_COLUMNS = ("target", "model", "region", "origin_year", "year", "point", "lower", "upper", "level", "method",
                  "share", "share_sd_logit", "n_share_years", "share_years", "share_flags", "national_point",
                  "alone", "caveat")


def regional_shares(long: pd.DataFrame, variable: str, *, national: str = "sum", regions=None) -> pd.DataFrame:
    """Each region's share of the national flow per year.

    Parameters
    ----------
    long : DataFrame
        Long table ``region, year, variable, value[, flag]``.
    variable : str
        E.g. ``"interregional_arrivals"``.
    national : {"sum", "row"}, default "sum"
        The national flow: the sum over the regions observed that year (for interregional
        flows, nationally arrivals = departures = that sum), or the national row of ``variable``.
    regions : iterable of str, optional
        Regions to return (the national flow is still the full sum).

    Returns
    -------
    DataFrame
        ``region, year, value, national, share, flag``.
    """
    check_option("national", national, NATIONAL_SOURCES, owner="regional_shares")
    validate_panel(long, source="regional_shares")
    rows = long.loc[(long["variable"] == variable) & long["value"].notna()]
    reg = rows.loc[rows["region"] != NATIONAL]
    if reg.empty:
        raise DataError(f"regional_shares: no regional rows of {variable!r}; found variables such as "
                         f"{sorted(long['variable'].unique())[:5]}.")
    if national == "sum":
        nat = reg.groupby("year")["value"].sum()
    else:
        nat = rows.loc[rows["region"] == NATIONAL].set_index("year")["value"]
        if nat.empty:
            raise DataError(f"regional_shares: national='row' but {variable!r} has no national row; use national='sum'.")
    out = pd.DataFrame({"region": reg["region"].astype(str), "year": reg["year"].astype("int64"),
                        "value": reg["value"].astype(float)})
    out["national"] = out["year"].map(nat).astype(float)
    out["share"] = out["value"] / out["national"]
    out["flag"] = reg["flag"].fillna("").astype(str).to_numpy() if "flag" in reg else ""
    out = out.loc[out["national"].notna()]
    if regions is not None:
        out = out.loc[out["region"].isin(list(regions))]
    return out.sort_values(["region", "year"], kind="mergesort").reset_index(drop=True)


def regional_share_forecast(long: pd.DataFrame, national_forecast: pd.DataFrame, *,
                            variable: str = "interregional_arrivals", national: str = "sum", regions=None,
                            floor_sd: float | str = "pooled", single_year_sd: float | str = SINGLE_YEAR_SD, levels=None,
                            n_draws: int = N_DRAWS, seed: int = DEFAULT_SEED, models=None, n_origins: int = 3,
                            horizon: int = 1) -> pd.DataFrame:
    """A region's arrivals or departures = forecast national flow x the region's observed share.

    Parameters
    ----------
    long : DataFrame
        Long table with the regional rows of ``variable``.
    national_forecast : DataFrame
        Long forecast table of the national flow (rows of region ``kazakhstan``, or of a single
        region key), levels stacked.
    variable : str, default "interregional_arrivals"
    national : {"sum", "row"}
        See :func:`regional_shares`.
    regions : iterable of str, optional
        Default: every region with a share.
    floor_sd : float or "pooled", default "pooled"
        Floor of a region's logit spread (:func:`forecast.shares.share_distribution`). Pooled
        over the regions by default: regional shares of the national interregional flow move
        much less than specialty shares (within-region spread pooled over the 20 regions 0.065
        for arrivals and 0.064 for departures 2022-2024, against the specialty floor of 0.15),
        but most regions' own three years show even less (0.015 for Abai's arrivals), too few
        years to trust alone.
    single_year_sd, levels, n_draws, seed
        As in :func:`forecast.shares.share_distribution` and :func:`forecast.shares.product_forecast`
        (explicit seed).
    models, n_origins, horizon
        Used only to say, per region, whether its own series would be long enough to forecast
        alone (column ``alone``; :func:`forecast.readiness.series_readiness`).

    Returns
    -------
    DataFrame
        :data:`OUTPUT_COLUMNS`: ``target`` = ``variable``, ``region`` = the region,
        ``method = "regional_share"``, the share's mean, spread, years and flags,
        ``national_point``, ``alone`` (readiness of the region's own series) and ``caveat``.
    """
    validate_forecast(national_forecast, source="regional_share_forecast: national forecast")
    keys = national_forecast["region"].astype(str).unique().tolist()
    if NATIONAL in keys:
        national_forecast = national_forecast.loc[national_forecast["region"] == NATIONAL]
    elif len(keys) != 1:
        raise DataError(f"regional_share_forecast: the national forecast holds regions {keys}; give the rows "
                         f"of {NATIONAL!r} (or of a single key).")
    shares = regional_shares(long, variable, national=national, regions=regions)
    dist = share_distribution(shares.assign(period=shares["year"].astype(str)), key="region",
                              floor_sd=floor_sd, single_year_sd=single_year_sd)
    out = product_forecast(national_forecast, dist, key="region", levels=levels, n_draws=n_draws, seed=seed)
    ready = series_readiness(long.loc[(long["variable"] == variable) & (long["region"] != NATIONAL)],
                             models=models, n_origins=n_origins, horizon=horizon).set_index("region")
    out["alone"] = out["region"].map(ready["reason"])
    out["caveat"] = [
        f"share-based estimate: forecast national {variable} x the region's share observed in {r.share_years} "
        f"(logit-normal, sd {r.share_sd_logit:.3f}: {r.sd_rule}); the region's own series is too short to "
        f"forecast alone ({r.alone})" if not ready.loc[r.region, "long_enough"] else
        f"share-based estimate: forecast national {variable} x the region's share observed in {r.share_years}; "
        f"its own series could also be forecast alone ({r.alone})"
        for r in out.itertuples(index=False)]
    out = out.rename(columns={"total_point": "national_point"}).assign(target=variable, method="regional_share")
    logger.info("regional_share_forecast: %d regions x %d national forecast rows (%s).", len(dist),
                out[["model", "origin_year", "year"]].drop_duplicates().shape[0], variable)
    return out[list(OUTPUT_COLUMNS)].reset_index(drop=True)
