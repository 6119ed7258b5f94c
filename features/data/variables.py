"""Registry of the shipped variables: unit, kind, how to aggregate across merged units, plausible range.

``kind`` drives validation: ``count`` must be >= 0 (``signed_count`` may be negative),
``rate``/``share``/``index``/``level`` must lie in ``[lo, hi]``.
``aggregate`` says how a unit formed from several regions (fixed-border views) gets its value:
``sum`` for additive stocks and net flows; ``wmean:<variable>`` for a weighted mean (flagged
``derived:weighted_mean``, or the weight's own token in :data:`WEIGHT_FLAGS`: an average wage
weighted by employed persons is ``derived:weighted_employed``); ``none`` where no defensible aggregate exists (gross interregional
flows, city prices): the merged unit is then missing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kzmig.features.ingest.build_press_series import press_variables


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

#: weight variable of a ``wmean:`` rule -> flag token of the merged value (default ``derived:weighted_mean``)
WEIGHT_FLAGS: dict[str, str] = {"employed_population": "derived:weighted_employed"}
DEFAULT_WEIGHT_FLAG = "derived:weighted_mean"
_V = Variable

#: CIS / former-USSR partners of the CIS Stat country breakdown: ISO 3166 alpha-3 code in
#: lower case (as it appears in variable names) -> English name. Only these partners are
#: published; non-CIS countries exist only as the ``*_non_cis`` aggregate.
CIS_PARTNERS: dict[str, str] = {
    "arm": "Armenia", "aze": "Azerbaijan", "blr": "Belarus", "kgz": "Kyrgyzstan", "mda": "Moldova",
    "rus": "Russia", "tjk": "Tajikistan", "tkm": "Turkmenistan", "ukr": "Ukraine", "uzb": "Uzbekistan",
}

#: SECONDARY kandas (ethnic Kazakh returnees) and resettlement figures quoted by the press:
#: (name, unit, kind, aggregate, lo, hi, description). Partial-year or cumulative figures
#: carry their period in the name (``_jan_sep``, ``_jan_feb``, ``_ytd``, ``_cumulative_since_1991``).
KANDAS: tuple[tuple[str, str, str, str, float, float, str], ...] = (
    ("kandas_status_granted_jan_sep", "persons", "count", "none", 0, 1e6,
     "persons granted kandas status, January-September (as of 1 October)"),
    ("kandas_status_granted_jan_feb", "persons", "count", "none", 0, 1e6,
     "persons granted kandas status, January-February (as of 1 March)"),
    ("kandas_registered_ytd", "persons", "count", "none", 0, 1e6,
     "persons registered as kandas since 1 January; cut-off date not stated"),
    ("kandas_arrived_ytd", "persons", "count", "none", 0, 1e6,
     "kandas arrived since 1 January, to the date of the page"),
    ("ethnic_kazakhs_returned_cumulative_since_1991", "thousand persons", "count", "none", 0, 1e4,
     "ethnic Kazakhs returned since 1991, cumulative to the date of the page"),
    ("kandas_settlement_share_jan_sep", "percent of kandas arrived since 1 Jan", "share", "none", 0, 100,
     "share of the year's kandas settling in the region, January-September (leader list)"),
    ("kandas_settlement_share_jan_feb", "percent of kandas arrived since 1 Jan", "share", "none", 0, 100,
     "share of the year's kandas settling in the region, January-February (leader list)"),
    ("resettled_persons_regional_program", "persons", "count", "sum", 0, 1e6,
     "persons resettled under the regional resettlement programme (incl. kandas), by region of settlement"),
    ("resettled_persons_regional_program_kandas", "persons", "count", "none", 0, 1e6,
     "kandas among the persons resettled under the regional resettlement programme"),
)
#: composition of migrants (METHOD.md section 2): education levels and specialty groups as the
#: BNS tables (quoted by the article of 2022 and the press) print them
EDUCATION_LEVELS = ("higher", "secondary_vocational", "general_secondary", "basic_secondary")
SPECIALTIES = ("technical", "pedagogical", "medical", "economic", "legal", "agricultural",
               "architecture_construction", "other")
#: period suffix of a partial-year figure (raw files' convention) -> words; "" = calendar year
COMPOSITION_PERIODS = {"": "", "_jan_jun": "January-June", "_jan_sep": "January-September"}


def _composition() -> list[Variable]:
    """Migration by education level and specialty: the article's 2022 tables (flag ``cited``),
    the SECONDARY press figures (flag ``secondary:press``, period suffix in the name) and the
    annual names a user table may use for a series downloaded from Taldau (not shipped)."""
    out = []
    for d in ("arrivals", "departures"):
        for sfx, words in COMPOSITION_PERIODS.items():
            when = f", {words}" if words else ""
            out += [_V(f"external_{d}_specialty_{s}{sfx}", "persons", "count", "none", 0, 1e6,
                       f"external {d} of persons aged 15+ with a {s.replace('_', ' ')} specialty{when}, national")
                    for s in SPECIALTIES]
            if sfx:
                out.append(_V(f"external_{d}{sfx}", "persons", "count", "none", 0, 1e6,
                              f"external {d}, all migrants, {words} (period total of the composition figures), national"))
        out += [_V(f"external_{d}_education_{e}", "persons", "count", "none", 0, 1e6,
                   f"external {d} of persons aged 15+ with {e.replace('_', ' ')} education, calendar year "
                   "(name for a user-supplied annual series; not shipped)") for e in EDUCATION_LEVELS]
        out.append(_V(f"external_{d}_qualified_specialists", "persons", "count", "none", 0, 1e6,
                      f"external {d} of persons with a specialty (all specialty groups), national"))
        out += [_V(f"internal_{d}_specialty_{s}", "persons", "count", "none", 0, 1e7,
                   f"interregional {d} of persons with a {s.replace('_', ' ')} specialty, national (= each other)")
                for s in SPECIALTIES]
        out += [_V(f"migration_all_flows_{d}_education_{e}", "persons", "count", "none", 0, 1e7,
                   f"{d} of persons aged 15+ with {e.replace('_', ' ')} education, all flows (internal + "
                   "external), national") for e in EDUCATION_LEVELS]
    out += [_V(f"migration_all_flows_net_education_{e}", "persons", "signed_count", "none", -1e6, 1e6,
               f"net migration of persons aged 15+ with {e.replace('_', ' ')} education, all flows: nationally "
               "the external net (internal moves cancel)") for e in EDUCATION_LEVELS]
    out += [_V(f"external_departures_15plus_education_{e}_jan_jun", "persons", "count", "none", 0, 1e6,
               f"external departures of persons aged 15+ with {e.replace('_', ' ')} education, January-June, national")
            for e in EDUCATION_LEVELS]
    for flow, where in (("arrivals_from", "from"), ("departures_to", "to")):
        for grp in ("cis", "other_countries"):
            out += [_V(f"external_{flow}_{grp}_specialty_{s}", "persons", "count", "none", 0, 1e6,
                       f"external {flow.split('_')[0]} {where} {grp.replace('_', ' ')} of persons with a "
                       f"{s.replace('_', ' ')} specialty, national") for s in SPECIALTIES]
    return out


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
        _V("avg_wage_kzt", "KZT per month", "level", "wmean:employed_population", 5e3, 3e6,
           "average monthly nominal wage per employee, annual (BNS element 5676: regions 2011-2024; "
           "national 2000-2024); merged units: mean weighted by employed population"),
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
        _V("employed_population", "thousand persons", "count", "sum", 0, 2e4,
           "employed population aged 15+, annual labour force survey (BNS 102798)"),
        _V("self_employed_thousand_persons", "thousand persons", "count", "sum", 0, 2e4,
           "self-employed aged 15+, annual labour force survey (Taldau 702935; only from kzmig data fetch)"),
        # national external (international) migration, all flows; national rows only, so no
        # regional aggregate is defined (aggregate "none")
        _V("external_arrivals", "persons", "count", "none", 0, 1e6,
           "arrivals from abroad (international immigration), national"),
        _V("external_departures", "persons", "count", "none", 0, 1e6,
           "departures abroad (international emigration), national"),
        _V("external_arrivals_from_cis", "persons", "count", "none", 0, 1e6,
           "arrivals from CIS countries, national"),
        _V("external_arrivals_from_non_cis", "persons", "count", "none", 0, 1e6,
           "arrivals from countries outside the CIS, national"),
        _V("external_departures_to_cis", "persons", "count", "none", 0, 1e6,
           "departures to CIS countries, national"),
        _V("external_departures_to_non_cis", "persons", "count", "none", 0, 1e6,
           "departures to countries outside the CIS, national"),
        *(_V(f"external_{flow}_{iso}", "persons", "count", "none", 0, 1e6, f"{what} {name}, national")
          for iso, name in CIS_PARTNERS.items()
          for flow, what in (("arrivals_from", "arrivals from"), ("departures_to", "departures to"))),
        # SECONDARY press figures (Ministry of Labour via news pages); period in the name
        *(_V(name, unit, kind, agg, lo, hi, desc) for name, unit, kind, agg, lo, hi, desc in KANDAS),
        *_composition(),
        # SECONDARY national series behind the state's targets (SOURCES.md Round 6; features/ingest/build_press_series.py)
        *(_V(*spec) for spec in press_variables() if spec[0] not in {k[0] for k in KANDAS}),
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
