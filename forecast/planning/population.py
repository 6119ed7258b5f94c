"""Population per region projected through the balancing equation.

.. math:: P(t+1) = P(t) + N(t) + M(t)

with ``P`` the population on 1 January, ``N`` the natural increase and ``M`` the net
migration of year ``t``. The migration forecast comes from the engine (any model's long
forecast table); the natural increase comes from a rate forecaster such as
:class:`NaturalIncreaseDrift`, applied to the projected population, so that population,
natural increase and migration stay consistent year by year.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from kzmig.core.errors import ConfigError, DataError
from kzmig.features.data.panel import validate_panel
from kzmig.forecast.engine.distribution import row_scales, sd_of_sum, z_value
from kzmig.models.forecasters.baselines import drift_path, fit_drift
from kzmig.models.forecasters.schema import check_horizon, check_levels, coerce_forecast, validate_forecast

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS = (
    "model", "region", "origin_year", "year", "point", "lower", "upper", "level",
    "flow_year", "population_start", "natural_increase", "net_migration",
)


class NaturalIncreaseDrift(BaseEstimator):
    """Random walk with drift for the natural-increase rate per 1,000 population.

    Parameters
    ----------
    window : int, default 10
        Number of most recent yearly changes used for the drift and its error variance.
    min_years : int, default 5
        Fewest consecutive observed years a region needs; shorter series raise.

    Attributes
    ----------
    params_ : DataFrame
        One row per region: ``origin_year`` (its last observed year), ``last_rate``,
        ``drift``, ``sigma`` and ``n_changes``.
    regions_ : tuple of str

    Notes
    -----
    With the rate :math:`r_t = 1000\\,N_t / P_t` (``P_t`` on 1 January, so that the
    projection stays recursive) and the last :math:`n` changes of a region,

    .. math::

        \\hat d = \\frac{r_T - r_{T-n}}{n}, \\qquad
        \\hat\\sigma^2 = \\frac{1}{n-1} \\sum_{t} (\\Delta r_t - \\hat d)^2, \\qquad
        \\hat r_{T+h} = r_T + h \\hat d, \\qquad
        \\mathrm{Var}(\\hat r_{T+h}) = \\hat\\sigma^2 h \\left(1 + \\frac{h}{n}\\right),

    the drift method of Hyndman & Athanasopoulos (*Forecasting: principles and practice*,
    section 5.5), intervals normal; the arithmetic is that of the ``drift`` kind (:mod:`kzmig.models.forecasters.baselines`)
    (:func:`kzmig.models.forecasters.baselines.fit_drift` on the last ``window`` changes,
    :func:`kzmig.models.forecasters.baselines.drift_path`).
    """

    def __init__(self, window: int = 10, min_years: int = 5):
        self.window = window
        self.min_years = min_years

    def fit(self, panel: pd.DataFrame) -> "NaturalIncreaseDrift":
        """Estimate drift and error scale per region from ``population`` and ``natural_increase``."""
        if not (isinstance(self.window, int) and self.window >= 2):
            raise ConfigError(f"window={self.window!r} must be an integer >= 2.")
        if not (isinstance(self.min_years, int) and self.min_years >= 3):
            raise ConfigError(f"min_years={self.min_years!r} must be an integer >= 3.")
        regions = sorted(panel["region"].astype(str).unique())
        validate_panel(
            panel, required=("population", "natural_increase"), missing="keep",
            source="natural-increase panel", regions=regions, allow_gaps=True,
        )
        observed = panel[["population", "natural_increase"]].notna().all(axis=1)
        logger.info("natural increase: %d region-years without population or natural_increase "
                    "left out (gaps inside a region's span raise).", int((~observed).sum()))
        panel = panel.loc[observed]
        rows = [self._fit_region(region, g) for region, g in panel.groupby("region", sort=True)]
        self.params_ = pd.DataFrame(rows)
        self.regions_ = tuple(self.params_["region"])
        return self

    def _fit_region(self, region: str, g: pd.DataFrame) -> dict:
        g = g.sort_values("year")
        years = g["year"].to_numpy()
        if (np.diff(years) > 1).any():
            holes = sorted(set(range(years[0], years[-1] + 1)) - set(years.tolist()))
            raise DataError(
                f"natural increase: region={region!r} has no population or natural_increase in "
                f"years {holes} inside {years[0]}-{years[-1]}; the drift needs consecutive years."
            )
        if len(years) < self.min_years:
            raise DataError(
                f"natural increase: region={region!r} has {len(years)} observed years "
                f"({years[0]}-{years[-1]}), fewer than min_years={self.min_years}."
            )
        pop = g["population"].to_numpy(dtype=float)
        if (pop <= 0).any():
            raise DataError(f"natural increase: region={region!r} has a non-positive population "
                             f"in year {int(years[pop <= 0][0])}.")
        rate = 1000.0 * g["natural_increase"].to_numpy(dtype=float) / pop
        d = fit_drift(rate, window=self.window)
        return {"region": region, "origin_year": int(years[-1]), "last_rate": d["last"],
                "drift": d["drift"], "sigma": d["sigma"], "n_changes": d["n_diff"]}

    def predict(self, h: int, levels=(0.8, 0.95)) -> pd.DataFrame:
        """Long forecast table of the natural-increase rate per 1,000 for horizons 1..h."""
        check_is_fitted(self, "params_")
        h, levels = check_horizon(h), check_levels(levels)
        frames = []
        steps = np.arange(1, h + 1)
        for p in self.params_.itertuples(index=False):
            point, sd = drift_path(p.last_rate, p.drift, p.sigma, p.n_changes, h)
            for level in levels:
                z = float(z_value(level))
                frames.append(pd.DataFrame({
                    "model": "natural_increase_rate_drift", "region": p.region,
                    "origin_year": p.origin_year, "year": p.origin_year + steps,
                    "point": point, "lower": point - z * sd, "upper": point + z * sd, "level": float(level),
                }))
        out = pd.concat(frames, ignore_index=True)
        return out.astype({"region": "string", "model": "string", "origin_year": "int64", "year": "int64"})


def _start_population(panel: pd.DataFrame, region: str, origin: int) -> float:
    """Population on 1 January of ``origin + 1``: observed, else balanced from year ``origin``."""
    rows = panel.loc[panel["region"] == region].set_index("year")
    if origin + 1 in rows.index and pd.notna(rows.at[origin + 1, "population"]):
        return float(rows.at[origin + 1, "population"])
    if origin in rows.index:
        parts = rows.loc[origin, ["population", "natural_increase", "net_migration"]]
        if parts.notna().all():
            logger.info("region=%r: population on 1 Jan %d balanced from %d components.", region, origin + 1, origin)
            return float(parts.sum())
    raise DataError(
        f"population: region={region!r} has neither population in year {origin + 1} nor population, "
        f"natural_increase and net_migration in year {origin} (the forecast origin)."
    )


def _migration_path(scales: pd.DataFrame, model, region, origin) -> pd.DataFrame:
    path = scales.sort_values("year")
    expected = list(range(origin + 1, origin + 1 + len(path)))
    if path["year"].tolist() != expected:
        holes = sorted(set(range(origin + 1, int(path["year"].max()) + 1)) - set(path["year"]))
        raise DataError(
            f"population: migration forecast (model={model!r}, region={region!r}, origin_year={origin}) "
            f"must cover consecutive years from {origin + 1}; missing {holes}."
        )
    return path


def project_population(
    panel: pd.DataFrame,
    migration: pd.DataFrame,
    *,
    natural_increase: BaseEstimator | None = None,
    levels=(0.8, 0.95),
    rho_migration: float = 1.0,
    rho_natural: float = 1.0,
) -> pd.DataFrame:
    """Project population per region from a net-migration forecast and a natural-increase model.

    Parameters
    ----------
    panel : DataFrame
        Wide region-year panel with ``population`` (1 January, persons), ``natural_increase``
        and ``net_migration`` (persons, float64). For each origin only years ``<= origin_year``
        are used to fit the natural-increase model (and year ``origin_year + 1`` for the
        starting population, which the flows of the origin year determine).
    migration : DataFrame
        Long forecast table of net migration in persons (``model``, ``region``,
        ``origin_year``, ``year``, ``point``, ``lower``, ``upper``, ``level``), one or several
        models and origins, consecutive years from ``origin_year + 1``.
    natural_increase : estimator, optional
        Forecaster of the natural-increase **rate per 1,000** with ``fit(panel)`` and
        ``predict(h, levels)``; default :class:`NaturalIncreaseDrift`. Cloned per origin.
    levels : sequence of float, default (0.8, 0.95)
        Interval levels of the output.
    rho_migration, rho_natural : float in [0, 1], default 1.0
        Correlation assumed between the forecast errors of different years (see Notes).

    Returns
    -------
    DataFrame
        Long forecast table with ``point`` = population on 1 January of ``year``
        (``year = flow_year + 1``), plus the components ``flow_year``, ``population_start``
        (1 January of ``flow_year``), ``natural_increase`` and ``net_migration`` (persons,
        point forecasts), so that ``point == population_start + natural_increase +
        net_migration`` row by row and ``population_start`` of a year is the ``point`` of the
        year before. ``model`` is the migration model's name.

    Notes
    -----
    Points follow the balancing equation exactly:
    :math:`\\hat N_t = \\hat r_t \\hat P_t / 1000`,
    :math:`\\hat P_{t+1} = \\hat P_t + \\hat N_t + \\hat M_t`.

    Intervals: normal approximation, first order. The error of :math:`\\hat P_{T+1+k}`
    is the sum of the migration errors and natural-increase errors of years
    :math:`T+1..T+k`; migration and natural increase are taken as independent, and within
    each the errors of different years have common correlation ``rho``
    (:func:`kzmig.forecast.engine.distribution.sd_of_sum`). The default ``rho = 1`` adds standard
    deviations: multi-year forecast errors of one origin are strongly positively
    correlated (for a random walk, :math:`\\mathrm{corr}(e_h, e_{h+1}) = \\sqrt{h/(h+1)}`),
    so adding variances would understate the spread. Yearly scales come from the stored
    intervals (mean of the two half-widths over :math:`z`, see
    :mod:`kzmig.forecast.engine.distribution`); natural-increase rate scales are turned into persons
    with the projected population. Error in the population that multiplies the rate is a
    second-order term (about 1 % of the population error) and is ignored. If the migration
    forecast has no interval the output has none either (``level`` NaN).
    """
    levels = check_levels(levels)
    model_ni = natural_increase if natural_increase is not None else NaturalIncreaseDrift()
    validate_panel(panel, required=("population",), missing="keep", source="population panel",
                   regions=sorted(panel["region"].astype(str).unique()), allow_gaps=True)
    validate_forecast(migration, source="population: migration forecast")
    scales = row_scales(migration)
    frames = []
    for origin, by_origin in scales.groupby("origin_year", sort=True):
        origin = int(origin)
        h = int(by_origin["year"].max()) - origin
        ni = clone(model_ni).fit(panel.loc[panel["year"] <= origin])
        rates = row_scales(ni.predict(h + origin - int(ni.params_["origin_year"].min()), levels=levels))
        for (model, region), path in by_origin.groupby(["model", "region"], sort=True):
            path = _migration_path(path, model, region, origin)
            r = rates.loc[rates["region"] == region].set_index("year").reindex(path["year"])
            if r["point"].isna().any():
                raise DataError(
                    f"population: no natural-increase forecast for region={region!r} in years "
                    f"{path['year'][r['point'].isna().to_numpy()].tolist()}; fitted regions: {list(ni.regions_)}."
                )
            start = _start_population(panel, region, origin)
            frames.append(_project_one(path, r, start, model, region, origin, levels, rho_migration, rho_natural))
    out = coerce_forecast(pd.concat(frames, ignore_index=True)[list(OUTPUT_COLUMNS)])
    return validate_forecast(out, source="population projection")


def _project_one(path, rates, start, model, region, origin, levels, rho_m, rho_n) -> pd.DataFrame:
    m = path["point"].to_numpy(dtype=float)
    sd_m = (path["sd_lower"].to_numpy(dtype=float) + path["sd_upper"].to_numpy(dtype=float)) / 2
    rate = rates["point"].to_numpy(dtype=float)
    sd_rate = (rates["sd_lower"].to_numpy(dtype=float) + rates["sd_upper"].to_numpy(dtype=float)) / 2
    k = len(m)
    pop = np.empty(k + 1)
    pop[0] = start
    n = np.empty(k)
    for i in range(k):
        n[i] = rate[i] * pop[i] / 1000.0
        pop[i + 1] = pop[i] + n[i] + m[i]
    sd_n = sd_rate * pop[:-1] / 1000.0
    sd = np.array([np.hypot(sd_of_sum(sd_m[: i + 1], rho_m), sd_of_sum(sd_n[: i + 1], rho_n)) for i in range(k)])
    flow_years = path["year"].to_numpy(dtype=np.int64)
    base = {"model": model, "region": region, "origin_year": origin, "year": flow_years + 1,
            "point": pop[1:], "flow_year": flow_years, "population_start": pop[:-1],
            "natural_increase": n, "net_migration": m}
    if np.isnan(sd).any():
        return pd.DataFrame(base | {"lower": np.nan, "upper": np.nan, "level": np.nan})
    out = []
    for level in levels:
        z = float(z_value(level))
        out.append(pd.DataFrame(base | {"lower": pop[1:] - z * sd, "upper": pop[1:] + z * sd, "level": float(level)}))
    return pd.concat(out, ignore_index=True)
