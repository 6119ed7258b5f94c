"""Registry of the shipped variables: unit, kind, how to aggregate across merged units, plausible range.

``kind`` drives validation: ``count`` must be >= 0 (``signed_count`` may be negative),
``rate``/``share``/``index``/``level`` must lie in ``[lo, hi]``.
``aggregate`` says how a unit formed from several regions (fixed-border views) gets its value:
``sum`` for additive stocks and net flows; ``wmean:<variable>`` for a weighted mean (flagged
``derived:weighted_mean``); ``none`` where no defensible aggregate exists (gross interregional
flows, city prices): the merged unit is then missing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Variable:
    name: str
    unit: str
    kind: str
    aggregate: str
    lo: float
    hi: float
    description: str


_INF = np.inf
_V = Variable
VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in [
        _V("population", "persons", "count", "sum", 0, 5e7, "resident population at 1 January"),
        _V("births", "persons", "count", "sum", 0, 1e6, "live births in the year"),
        _V("deaths", "persons", "count", "sum", 0, 1e6, "deaths in the year"),
        _V("natural_increase", "persons", "signed_count", "sum", -1e6, 1e6, "births minus deaths"),
        _V("net_migration", "persons", "signed_count", "sum", -1e6, 1e6,
           "net migration, all flows (interregional + international)"),
        _V("interregional_arrivals", "persons", "count", "none", 0, 1e7,
           "arrivals from other regions (gross: not summable across a merge)"),
        _V("interregional_departures", "persons", "count", "none", 0, 1e7,
           "departures to other regions (gross: not summable across a merge)"),
        _V("interregional_net", "persons", "signed_count", "sum", -1e6, 1e6, "interregional net migration"),
        _V("unemployment_rate_pct", "%", "rate", "wmean:labour_force_persons", 0, 60,
           "unemployment rate, labour force survey (19th ICLS from 2015)"),
        _V("labour_force_persons", "persons", "count", "sum", 0, 2e7, "labour force, annual LFS"),
        _V("employment_applicants_persons", "persons", "count", "sum", 0, 5e6,
           "persons who applied to employment authorities"),
        _V("money_income_per_capita_kzt", "KZT per month", "level", "wmean:population", 0, 1e7,
           "nominal money income per capita"),
        _V("household_expenditure_per_capita_kzt", "KZT per month", "level", "wmean:population", 0, 1e7,
           "household money expenditure per capita"),
        _V("avg_wage_kzt", "KZT per month", "level", "none", 0, 1e8,
           "average monthly nominal wage (national series)"),
        _V("avg_wage_thousand_kzt", "thousand KZT per month", "level", "none", 0, 1e5,
           "average monthly nominal wage (Taldau 702972, rounded to 0.1 thousand)"),
        _V("real_wage_index_pct", "% of previous year", "index", "none", 20, 300,
           "real wage index, previous year = 100"),
        _V("grp_per_capita_thousand_kzt", "thousand KZT", "level", "wmean:population", 0, 1e6,
           "gross regional product per capita"),
        _V("housing_commissioned_m2", "m2 of total floor area", "count", "sum", 0, 1e8,
           "new housing commissioned"),
        _V("price_new_housing_kzt_m2", "KZT per m2", "level", "none", 0, 1e7,
           "price of new housing in the region's main city, end of period"),
        _V("price_resale_housing_kzt_m2", "KZT per m2", "level", "none", 0, 1e7,
           "price of resale apartments in the region's main city, end of period"),
        _V("rent_kzt_m2", "KZT per m2 per month", "level", "none", 0, 1e6,
           "rent per m2 in the region's main city, end of period"),
        _V("doctors", "persons", "count", "sum", 0, 1e6, "doctors of all specialties"),
        _V("hospitals", "units", "count", "sum", 0, 1e5, "number of hospitals"),
        _V("life_expectancy_years", "years", "level", "wmean:population", 30, 100,
           "life expectancy at birth"),
        _V("air_emissions_thousand_t", "thousand tonnes", "count", "sum", 0, 1e5,
           "air pollutant emissions from stationary sources"),
        _V("poverty_share_pct", "%", "share", "wmean:population", 0, 100,
           "share of population with income below the subsistence minimum"),
        _V("higher_education_share_pct", "% of population aged 10+", "share", "none", 0, 100,
           "share with higher education, 2021 census"),
        _V("area_km2", "km2", "count", "sum", 0, 3e6, "territory of the region within the year's borders"),
    ]
}

#: Variables computed at load time from the stored counts (never stored by hand).
DERIVED: dict[str, Variable] = {
    v.name: v
    for v in [
        _V("population_avg", "persons", "count", "none", 0, 5e7,
           "average annual population, (P(1 Jan t) + P(1 Jan t+1)) / 2"),
        _V("external_net", "persons", "signed_count", "none", -1e6, 1e6,
           "external (international) net migration = net_migration - interregional_net"),
    ]
}
RATE_BASES = {"per_1000": 1_000, "per_10000": 10_000}
RATE_OF = ("net_migration", "natural_increase", "interregional_net", "external_net",
           "interregional_arrivals", "interregional_departures", "births", "deaths")


def unit_of(name: str) -> str:
    """Unit of a stored, derived or rate variable."""
    if name in VARIABLES:
        return VARIABLES[name].unit
    if name in DERIVED:
        return DERIVED[name].unit
    for suffix in RATE_BASES:
        if name.endswith("_rate_" + suffix):
            return suffix.replace("_", " ") + " average population"
    raise KeyError(name)


def known_variables() -> tuple[str, ...]:
    """Every variable name the loader knows: shipped, derived and rates, sorted.

    Rates are ``<variable>_rate_per_1000`` and ``<variable>_rate_per_10000`` for each
    variable of ``RATE_OF``; the loader computes them, like ``DERIVED``, from the stored counts.
    """
    rates = [f"{v}_rate_{suffix}" for v in RATE_OF for suffix in RATE_BASES]
    return tuple(sorted({*VARIABLES, *DERIVED, *rates}))
