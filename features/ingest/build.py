"""Build the shipped dataset in ``data/`` from the official statistics in ``../shared/data/raw``.

Run with ``kzmig data build [--raw DIR]``. The build is deterministic: the same raw folder gives
byte-identical files (a test checks this). It writes

* ``data/regions.csv``: the region registry;
* ``data/region_aliases.csv``: every spelling of a region seen in the sources;
* ``data/sources.csv``: one row per source (repository, path, original publisher);
* ``data/processed/observations.csv``: the tidy long table
  ``region, year, variable, value, unit, source, flag, note``;
* ``data/processed/vintage_disagreements.csv``: values of the non-chosen vintage where it
  disagrees with the chosen one.

Vintage choices (one per variable) are in :data:`SELECT`: a region-year takes the first source
in the selection's order of preference that has it (for unemployment: the open-data xlsx, then
BNS element 102790 from another raw file). Flags come from the raw rows (``estimate``,
``truncated_decimals``, ``suspect`` from a ``SUSPECT:`` note, ``source:cisstat`` for figures
published by CIS Stat) and from the selection (``secondary:press``; the press composition figures of
:mod:`features.build_press` also carry ``rounded`` where printed in thousands). Nothing is interpolated; the only
arithmetic is (a) unit-free sums flagged ``derived:*`` (national population after 2022,
national natural increase, annual totals of monthly interregional flows) and (b) net migration
by the balancing equation, flagged ``derived:balancing`` plus the breaks it contains.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.core.atomic import atomic_write_csv
from kzmig.features.assessment.balance import derive_net_migration
from kzmig.features.ingest.build_press import press_composition
from kzmig.features.ingest.build_press_series import FILES as SERIES_FILES, press_series, press_series_disagreements
from kzmig.core.errors import DataFileError
from kzmig.features.data.regions import DATA_DIR, normalise_name
from kzmig.features.data.variables import CIS_PARTNERS, KANDAS, VARIABLES

logger = logging.getLogger(__name__)

#: the raw statistics beside a source checkout (``../shared/data/raw`` from the repository root)
RAW_DEFAULT = DATA_DIR.parent.parent / "shared" / "data" / "raw"
KAZDATA = "armanbostybayev-maker/kaz-Data"
XLSX_POP = "open-data-kazakhstan/population-projections-by-regions"
COLUMNS = ["region", "year", "variable", "value", "unit", "source", "flag", "note"]


@dataclass(frozen=True)
class Select:
    """Which raw rows make one shipped variable."""

    file: str
    raw_variable: str
    variable: str
    repos: tuple[str, ...]  # in order of preference; a region-year takes the first repo that has it
    why: str
    scale: float = 1.0
    # (region_key, region_name_source) rows to leave out, e.g. a second city of the same region
    exclude: tuple[tuple[str, str], ...] = ()
    # further (file, raw_variable) pairs read with ``file``: a vintage in another raw file; the
    # ranking by ``repos`` still decides which one a region-year takes
    more: tuple[tuple[str, str], ...] = ()
    # flag tokens put on every row (e.g. ``secondary:press``)
    flag: str = ""


_SEMEY = (("east_kazakhstan", "Семей"),)
MAKENERZHAN = "makenerzhan-gif/kazakhstan-economic-data"
UNEMPLOYMENT_XLSX = "open-data-kazakhstan/city-unemployment-rate"
PRESS = "(web page, search corpus)"
_EXTERNAL = "migration_external_national_annual.csv"
_BY_COUNTRY = "migration_by_country_national.csv"
_KANDAS = "kandas_resettlement_press_secondary.csv"
_WAGES = "wages_regional_annual_bns.csv"
WAGES_REPO = "nassipkaliv/speedtest-map"

SELECT: tuple[Select, ...] = (
    Select("population.csv", "population_start_of_year", "population", (KAZDATA, XLSX_POP),
           "kaz-Data CSV (BNS 6584, updated 2026-08-11) is the newer vintage and runs to 2025; the "
           "xlsx supplies South Kazakhstan, Turkestan/Shymkent 2017 and the national total to 2022; "
           "the two agree for 2000-2022"),
    Select("vital_statistics.csv", "births", "births", (KAZDATA,), "only regional source (BNS 6548)"),
    Select("vital_statistics.csv", "deaths", "deaths", (KAZDATA,), "only regional source (BNS 6550)"),
    Select("vital_statistics.csv", "natural_increase", "natural_increase", (KAZDATA,),
           "only regional source (BNS 6547)"),
    Select("vital_statistics_sko_national.csv", "births", "births",
           (KAZDATA, "makenerzhan-gif/kazakhstan-economic-data"), "SKO 2000-2016 and national"),
    Select("vital_statistics_sko_national.csv", "deaths", "deaths",
           (KAZDATA, "makenerzhan-gif/kazakhstan-economic-data"), "SKO 2000-2016 and national"),
    Select("vital_statistics_sko_national.csv", "natural_increase", "natural_increase", (KAZDATA,),
           "SKO 2000-2016"),
    Select("migration_net_bns.csv", "net_migration_all_flows", "net_migration", (KAZDATA,),
           "BNS 6567, the only published all-flows balance (national 2000-2024, regions 2023-2024)"),
    Select("migration_interregional.csv", "interregional_arrivals", "interregional_arrivals",
           ("kanatislambekov/internal-migration-flow-kz",), "only source; equals BNS press figures"),
    Select("migration_interregional.csv", "interregional_departures", "interregional_departures",
           ("kanatislambekov/internal-migration-flow-kz",), "only source"),
    Select("migration_interregional.csv", "interregional_net", "interregional_net",
           ("kanatislambekov/internal-migration-flow-kz",), "only source"),
    Select("labour.csv", "unemployment_rate", "unemployment_rate_pct", (UNEMPLOYMENT_XLSX, MAKENERZHAN),
           "the open-data xlsx (BNS LFS, 2001-2022, incl. 2015) wherever it has a value: where the two "
           "vintages differ, its 4 values are the ones consistent with labour force and employed (and, "
           "for national 2019, with BNS publications) and its 24 values for 2007/2008 are the unrounded "
           "ones; BNS element 102790 (publication 2026-03-30) adds 2023-2025 and South Kazakhstan "
           "2010-2017 as printed; the other vintage's differing values are in vintage_disagreements.csv",
           more=(("labour_regional_annual_bns.csv", "unemployment_rate"),)),
    Select("labour_regional_annual_bns.csv", "employed_population", "employed_population", (MAKENERZHAN,),
           "BNS element 102798, annual LFS, only regional series (2015 absent from the stored copy)"),
    Select("labour.csv", "labour_force", "labour_force_persons", (KAZDATA,), "BNS 102800"),
    Select("labour.csv", "persons_applied_to_employment_authorities", "employment_applicants_persons",
           ("open-data-kazakhstan/people-applied-employment-authorities",), "raw.xlsx, not the repo's data.csv"),
    Select("income_wages_spending.csv", "nominal_money_income_per_capita", "money_income_per_capita_kzt",
           (KAZDATA, "open-data-kazakhstan/average-per-capita-nominal-cash-income"),
           "kaz-Data (BNS 19298) for regions; the Taldau dump (704447, decimals truncated) only for the "
           "national total and South Kazakhstan, which kaz-Data lacks; the two agree within 1 KZT"),
    Select("income_wages_spending.csv", "household_money_expenditure_per_capita",
           "household_expenditure_per_capita_kzt", ("open-data-kazakhstan/city-cost-of-living-index",),
           "only source"),
    Select(_WAGES, "avg_monthly_nominal_wage", "avg_wage_kzt", (WAGES_REPO,),
           "BNS element 5676 (annual, form 1-T): national and every region 2011-2024 in each year's "
           "borders; national 2000-2010 from BNS element 56545. The hand-collected national series of "
           "income_wages_spending.csv mixes in first-quarter values and the preliminary 2022 bulletin "
           "differs from the final figures: both are kept only in vintage_disagreements.csv"),
    Select("wages_regional_taldau.csv", "avg_monthly_nominal_wage", "avg_wage_thousand_kzt",
           ("Cagey7/Macrobulletin_project",), "Taldau 702972, annual only for 2020"),
    Select("wages_regional_taldau.csv", "real_wage_index", "real_wage_index_pct",
           ("Cagey7/Macrobulletin_project",), "Taldau 702976, annual only for 2020"),
    Select("grp_per_capita.csv", "grp_per_capita", "grp_per_capita_thousand_kzt",
           ("open-data-kazakhstan/city-gdp-per-capita",),
           "the BNS xlsx is complete for 2008-2022 (national, all regions, SKO to 2017); the newer "
           "kaz-Data vintage has gaps (2010-2013, 2021), a scale defect and no SKO, so it is kept only "
           "where it disagrees"),
    Select("housing.csv", "housing_commissioned_total_area", "housing_commissioned_m2", (KAZDATA,), "BNS 4289"),
    Select("housing.csv", "price_new_housing_per_m2_city", "price_new_housing_kzt_m2",
           ("open-data-kazakhstan/city-cost-of-living-index",),
           "city prices, only source; the regional centre (Oskemen, not Semey, for East Kazakhstan to 2021)",
           exclude=_SEMEY),
    Select("housing.csv", "price_resale_apartment_per_m2_city", "price_resale_housing_kzt_m2",
           ("open-data-kazakhstan/city-cost-of-living-index",),
           "city prices, only source; the regional centre (Oskemen, not Semey, for East Kazakhstan to 2021)",
           exclude=_SEMEY),
    Select("housing.csv", "rent_per_m2_city", "rent_kzt_m2",
           ("open-data-kazakhstan/city-cost-of-living-index",),
           "city prices, only source; the regional centre (Oskemen, not Semey, for East Kazakhstan to 2021)",
           exclude=_SEMEY),
    Select("social_indicators.csv", "doctors_all_specialties", "doctors",
           ("open-data-kazakhstan/doctors-by-region",), "only source"),
    Select("social_indicators.csv", "hospitals_number", "hospitals",
           ("open-data-kazakhstan/city-hospitals-and-clinics",), "only source"),
    Select("social_indicators.csv", "life_expectancy_at_birth", "life_expectancy_years",
           ("open-data-kazakhstan/average-life-expectancy",), "only source"),
    Select("social_indicators.csv", "air_pollutant_emissions_stationary_sources", "air_emissions_thousand_t",
           ("open-data-kazakhstan/city-air-pullution-index",), "only source; unit not printed (usual BNS unit)"),
    Select("social_indicators.csv", "share_pop10plus_higher_education", "higher_education_share_pct",
           ("open-data-kazakhstan/city-percentage-of-population-with-higher-education-degrees",),
           "2021 census only"),
    Select("poverty_regional.csv", "share_pop_income_below_subsistence_minimum", "poverty_share_pct",
           ("Cagey7/Macrobulletin_project", "(web page, search corpus)"),
           "Taldau 704498 annual 2020; four 2022 figures from the BNS publication page"),
    Select(_EXTERNAL, "external_arrivals", "external_arrivals", (MAKENERZHAN,),
           "BNS Taldau 2929752 for 2000-2025; CIS Stat (flag source:cisstat) for 1991-1999, which BNS "
           "does not publish; arrivals - departures = BNS 6567 net migration exactly 2000-2024"),
    Select(_EXTERNAL, "external_departures", "external_departures", (MAKENERZHAN,),
           "BNS Taldau 2929753 for 2000-2025; CIS Stat (flag source:cisstat) for 1991-1999"),
    Select(_EXTERNAL, "external_arrivals_from_cis", "external_arrivals_from_cis", (MAKENERZHAN,),
           "CIS Stat 4650866, Kazakhstan as reporter, 2016-2025; CIS + non-CIS = BNS arrivals"),
    Select(_EXTERNAL, "external_arrivals_from_non_cis", "external_arrivals_from_non_cis", (MAKENERZHAN,),
           "CIS Stat 4650866, Kazakhstan as reporter, 2016-2025"),
    Select(_BY_COUNTRY, "external_departures_to_cis", "external_departures_to_cis", (MAKENERZHAN,),
           "CIS Stat 4679599, Kazakhstan as reporter, 2016-2025; CIS + non-CIS = BNS departures"),
    Select(_BY_COUNTRY, "external_departures_to_non_cis", "external_departures_to_non_cis", (MAKENERZHAN,),
           "CIS Stat 4679599, Kazakhstan as reporter, 2016-2025"),
    *(Select(_BY_COUNTRY, f"{raw}:{iso.upper()}:{name}", f"{var}_{iso}", (MAKENERZHAN,),
             f"CIS Stat 44243/44245, Kazakhstan's own record of flows with {name}, 2016-2025")
      for iso, name in CIS_PARTNERS.items()
      for raw, var in (("external_arrivals_from", "external_arrivals_from"),
                       ("external_departures_to", "external_departures_to"))),
    *(Select(_KANDAS, k[0], k[0], (PRESS,),
             "SECONDARY: Ministry of Labour figures quoted by news pages; targets and cross-checks only",
             flag="secondary:press") for k in KANDAS),
)

# Footnote notes in the raw files that mark a value as an estimate.
_ESTIMATE = re.compile(r"estimate", re.I)
_TRUNCATED = re.compile(r"truncated", re.I)
# SOURCES.md marks values it doubts with 'SUSPECT:' at the start of the note (upper case only)
_SUSPECT = re.compile(r"\bSUSPECT\b")
# rows published by the Interstate Statistical Committee of the CIS, not read from a BNS table
_CISSTAT = re.compile(r"CIS Stat\b|Interstate Statistical Committee")


def source_id(repo: str, path: str) -> str:
    """``repo:path``, or the path alone for sources that are not a repository (an article)."""
    return f"{repo}:{path}" if repo else path


def _article(raw: Path) -> pd.DataFrame:
    """National 2022 migration by education level and specialty (a published article's Tables 6-7).

    Variables keep the article's names with ``:`` as ``_`` (``external_departures_specialty_technical``,
    ``migration_all_flows_departures_education_higher`` ...); flag ``cited``: BNS figures as
    printed in the article, not read from a BNS table.
    """
    df = read_raw(raw, "migration_specialty_education_2022_article.csv")
    return pd.DataFrame({
        "region": df["region_key"], "year": df["year"].astype("int64"),
        "variable": df["variable"].str.replace(":", "_", regex=False),
        "value": pd.to_numeric(df["value"], errors="raise").astype("float64"), "unit": df["unit"],
        "source": [source_id(r, sp) for r, sp in zip(df["source_repo"], df["source_path"])],
        "flag": "cited", "note": df["note"],
    })


def read_raw(raw: Path, name: str) -> pd.DataFrame:
    """Read one raw long CSV with string dtypes (numbers parsed explicitly later)."""
    path = raw / name
    if not path.exists():
        raise DataFileError(f"{path}: raw file not found; pass --raw pointing at shared/data/raw.")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _flag_from_note(note: str, original_source: str = "", extra: str = "") -> str:
    """Flag tokens of one raw row: from its note (estimate, truncated decimals, SUSPECT), its
    original publisher (``source:cisstat``) and the selection's own tokens."""
    flags = []
    if _ESTIMATE.search(note):
        flags.append("estimate")
    if _TRUNCATED.search(note):
        flags.append("truncated_decimals")
    if _SUSPECT.search(note):
        flags.append("suspect")
    if _CISSTAT.search(original_source):
        flags.append("source:cisstat")
    flags += [t for t in extra.split(";") if t]
    return ";".join(flags)


def _select(raw: Path, sel: Select) -> pd.DataFrame:
    frames = [read_raw(raw, sel.file).assign(_raw_variable=sel.raw_variable)]
    frames += [read_raw(raw, f).assign(_raw_variable=v) for f, v in sel.more]
    df = pd.concat(frames, ignore_index=True)
    df = df[(df["variable"] == df["_raw_variable"]) & df["source_repo"].isin(sel.repos) & (df["year"] != "")]
    if df.empty:
        raise DataFileError(
            f"{sel.file}: no rows of variable {sel.raw_variable!r} from {list(sel.repos)}; the raw file "
            "changed or kzmig.features.ingest.build.SELECT names the variable wrongly."
        )
    df = df.assign(
        rank=df["source_repo"].map({r: i for i, r in enumerate(sel.repos)}),
        year=df["year"].astype("int64"),
        value=pd.to_numeric(df["value"], errors="raise") * sel.scale,
    )
    for region, label in sel.exclude:
        df = df[~((df["region_key"] == region) & (df["region_name_source"] == label))]
    twice = df.duplicated(["region_key", "year", "rank"], keep=False)
    if twice.any():
        r = df[twice].iloc[0]
        raise DataFileError(
            f"{sel.file}: variable {sel.raw_variable!r} has {int(twice.sum())} rows for one source and "
            f"region-year, e.g. (region={r['region_key']!r}, year={r['year']}) from {r['source_repo']}; "
            "add an explicit exclusion to kzmig.features.ingest.build.SELECT."
        )
    df = df.sort_values(["region_key", "year", "rank"], kind="stable")
    chosen = df.drop_duplicates(["region_key", "year"], keep="first")
    return pd.DataFrame(
        {
            "region": chosen["region_key"],
            "year": chosen["year"],
            "variable": sel.variable,
            "value": chosen["value"].astype("float64"),
            "unit": VARIABLES[sel.variable].unit,
            "source": [source_id(r, sp) for r, sp in zip(chosen["source_repo"], chosen["source_path"])],
            "flag": [_flag_from_note(n, o, sel.flag) for n, o in zip(chosen["note"], chosen["original_source"])],
            "note": chosen["note"],
        }
    )


@dataclass(frozen=True)
class _Vintages:
    """Two vintages of one shipped variable: the chosen one and the other (``file``, raw variable, repo)."""

    variable: str
    chosen: tuple[str, str, str]
    other: tuple[str, str, str]
    atol: float  # differences up to this are not disagreements (1 person/KZT; 0 for rates)
    other_flag: str = ""  # flag tokens of every value of the other vintage (besides those of its notes)
    note: str = ""  # replaces the raw note of the other vintage's rows when given


_VINTAGES = (
    _Vintages("population", ("population.csv", "population_start_of_year", KAZDATA),
              ("population.csv", "population_start_of_year", XLSX_POP), 1.0),
    _Vintages("grp_per_capita_thousand_kzt", ("grp_per_capita.csv", "grp_per_capita", "open-data-kazakhstan/city-gdp-per-capita"),
              ("grp_per_capita.csv", "grp_per_capita", KAZDATA), 1.0),
    _Vintages("money_income_per_capita_kzt", ("income_wages_spending.csv", "nominal_money_income_per_capita", KAZDATA),
              ("income_wages_spending.csv", "nominal_money_income_per_capita",
               "open-data-kazakhstan/average-per-capita-nominal-cash-income"), 1.0),
    # every difference counts for a rate in %: 4 real ones and 24 of rounding (2007/2008)
    _Vintages("unemployment_rate_pct", ("labour.csv", "unemployment_rate", UNEMPLOYMENT_XLSX),
              ("labour_regional_annual_bns.csv", "unemployment_rate", MAKENERZHAN), 0.0),
    # wages: the final BNS 5676 figures against the preliminary 2022 bulletin (whole tenge) ...
    _Vintages("avg_wage_kzt", (_WAGES, "avg_monthly_nominal_wage", WAGES_REPO),
              ("wages_regional_annual_secondary.csv", "avg_monthly_nominal_wage", "open-data-kazakhstan/city-avg-salary"),
              1.0, other_flag="preliminary",
              note="preliminary January-December 2022 of the BNS quarterly bulletin; the final annual figure is chosen"),
    # ... and against the hand-collected national series, which mixes in first-quarter averages
    _Vintages("avg_wage_kzt", (_WAGES, "avg_monthly_nominal_wage", WAGES_REPO),
              ("income_wages_spending.csv", "avg_monthly_nominal_wage",
               "open-data-kazakhstan/inflation-and-avg-salary-with-projections"),
              1.0, other_flag="suspect",
              note="hand-collected national series: below the BNS annual wage in every year; three values equal "
                   "first-quarter averages quoted by the press (SOURCES.md, Round 4)"),
)
# The BNS external-migration rows quote the CIS Stat figure where it differs (2008 only).
_CISSTAT_NOTE = re.compile(r"differs in CIS Stat \((\d+) arrivals / (\d+) departures\)")
DISAGREEMENT_COLUMNS = ["variable", "region", "year", "chosen", "other", "difference", "chosen_source",
                        "other_source", "other_flag", "note"]


def _vintage_rows(raw: Path, file: str, raw_var: str, repo: str) -> pd.DataFrame:
    df = read_raw(raw, file)
    df = df[(df["variable"] == raw_var) & (df["year"] != "") & (df["source_repo"] == repo)]
    return df.set_index(["region_key", "year"])


def _cisstat_external(raw: Path) -> pd.DataFrame:
    """National external arrivals/departures where CIS Stat differs from BNS (quoted in the BNS row's note)."""
    df = read_raw(raw, _EXTERNAL)
    out = []
    for r in df[df["note"].str.contains("differs in CIS Stat", regex=False)].itertuples(index=False):
        m = _CISSTAT_NOTE.search(r.note)
        if m is None:
            raise DataFileError(f"{_EXTERNAL}: cannot read the CIS Stat figures in note {r.note!r}")
        if r.variable not in ("external_arrivals", "external_departures"):
            continue
        other = float(m.group(1) if r.variable == "external_arrivals" else m.group(2))
        out.append({"variable": r.variable, "region": r.region_key, "year": int(r.year), "chosen": float(r.value),
                    "other": other, "chosen_source": r.source_repo,
                    "other_source": "CIS Stat 4650866/4679599 (figure quoted in the note of the BNS row)",
                    "other_flag": "source:cisstat", "note": r.note})
    return pd.DataFrame(out, columns=[c for c in DISAGREEMENT_COLUMNS if c != "difference"])


def _disagreements(raw: Path) -> pd.DataFrame:
    """Values of the other vintage where both exist and differ by more than ``atol``.

    Population, GRP per capita, money income, unemployment (the open-data xlsx against BNS
    element 102790) and the average wage (BNS 5676 against the preliminary 2022 bulletin and
    against the hand-collected national series), plus the CIS Stat national external flows of 2008. ``other_flag`` carries
    the flag tokens of the non-chosen value (``suspect`` where SOURCES.md doubts it).
    """
    out = []
    for v in _VINTAGES:
        a = _vintage_rows(raw, *v.chosen)
        b = _vintage_rows(raw, *v.other)
        both = a[["value"]].astype(float).rename(columns={"value": "chosen"}).join(
            b[["value", "note", "original_source"]].rename(columns={"value": "other"}), how="inner")
        both["other"] = both["other"].astype(float)
        diff = both[~np.isclose(both["chosen"], both["other"], rtol=0, atol=v.atol)]
        out.append(diff.reset_index().assign(
            variable=v.variable, chosen_source=v.chosen[2], other_source=v.other[2],
            other_flag=[_flag_from_note(n, o, v.other_flag) for n, o in zip(diff["note"], diff["original_source"])],
        ))
        if v.note:
            out[-1]["note"] = v.note
    out.append(_cisstat_external(raw).rename(columns={"region": "region_key"}))
    out.append(press_series_disagreements(raw, [c for c in DISAGREEMENT_COLUMNS if c != "difference"])
               .rename(columns={"region": "region_key"}))
    res = pd.concat(out, ignore_index=True).rename(columns={"region_key": "region"})
    res["year"] = res["year"].astype("int64")
    res["difference"] = res["other"] - res["chosen"]
    return res[DISAGREEMENT_COLUMNS]


def build_regions(raw: Path) -> pd.DataFrame:
    """The registry: raw ``regions.csv`` renamed to the project's columns."""
    r = read_raw(raw, "regions.csv")
    out = pd.DataFrame(
        {
            "region": r["region_key"],
            "type": r["type"],
            "name_en": r["name_en"],
            "name_ru": r["name_ru"],
            "name_kk": r["name_kk"],
            "kato": r["kato_2026"],
            "year_created": r["year_created"],
            "year_abolished": r["year_abolished"],
            "parent": r["parent"],
            "area_km2_current": r["area_km2"],
            "notes": r["notes"],
        }
    )
    return out.sort_values("region", kind="stable").reset_index(drop=True)


def _script(text: str) -> str:
    if re.search(r"[\u0400-\u04FF]", text):
        return "cyrillic"
    return "latin" if re.search(r"[A-Za-z]", text) else "other"


# Former names (general knowledge of the administrative history; see regions.csv notes).
OLD_NAMES = (
    ("Nur-Sultan", "astana"), ("Нур-Султан", "astana"), ("Нұр-Сұлтан", "astana"), ("Nursultan", "astana"),
    ("Целиноград", "astana"), ("Tselinograd", "astana"),
    ("Alma-Ata", "almaty_city"), ("Алма-Ата", "almaty_city"),
    ("Chimkent", "shymkent"), ("Чимкент", "shymkent"), ("Чимкентская область", "south_kazakhstan"),
    ("Ontustik Kazakhstan", "south_kazakhstan"), ("Оңтүстік Қазақстан облысы", "south_kazakhstan"),
    ("Гурьевская область", "atyrau"), ("Guryev Region", "atyrau"),
    ("Джамбулская область", "zhambyl"), ("Dzhambul Region", "zhambyl"), ("Jambyl Region", "zhambyl"),
    ("Кустанайская область", "kostanay"), ("Kustanai Region", "kostanay"),
    ("Актюбинская", "aktobe"), ("Aktyubinsk Region", "aktobe"),
    ("Мангышлакская область", "mangystau"), ("Mangyshlak Region", "mangystau"),
    ("Семипалатинская область", "east_kazakhstan"), ("Талды-Курганская область", "almaty_region"),
    ("Жезказганская область", "karaganda"),
)


def russian_case_forms(name_ru: str) -> list[str]:
    """Oblique Russian case forms of a nominative Russian region name, as press texts write them.

    ``Павлодарская область`` -> accusative ``Павлодарскую область``, genitive/dative/prepositional
    ``Павлодарской области`` and the bare adjectives ``Павлодарскую``, ``Павлодарской`` (as in
    «в Алматинской (28%)»); ``область Абай`` -> ``области Абай``; ``г. Шымкент`` -> ``город
    Шымкент``, ``города Шымкент``, ``городе Шымкент``; ``Республика Казахстан`` -> ``Республики``,
    ``Республике``, ``Республику Казахстан``. Other names give no forms.
    """
    m = re.fullmatch(r"(\S+)ая область", name_ru, flags=re.I)
    if m:
        stem = m.group(1)
        oblast = name_ru[len(stem) + 3:]  # 'область' / 'Область' as written
        oblasti = oblast[:-1] + "и"
        return [f"{stem}ую {oblast}", f"{stem}ой {oblasti}", f"{stem}ую", f"{stem}ой"]
    m = re.fullmatch(r"область (\S+)", name_ru, flags=re.I)
    if m:
        return [f"{name_ru[:6]}и {m.group(1)}"]
    m = re.fullmatch(r"г\. ?(\S+)", name_ru, flags=re.I)
    if m:
        return [f"{w} {m.group(1)}" for w in ("город", "города", "городе")]
    m = re.fullmatch(r"республика (\S+)", name_ru, flags=re.I)
    if m:
        return [f"{name_ru[:9]}{e} {m.group(1)}" for e in ("и", "е", "у")]
    return []


def build_aliases(raw: Path, regions: pd.DataFrame) -> pd.DataFrame:
    """Every spelling of a region: the raw crosswalk, the registry names, the labels in each raw
    file, and the Russian case forms of the registry names (:func:`russian_case_forms`).

    Labels seen in a source come before generated case forms, so an alias seen in a raw file
    keeps that file as ``seen_in``.
    """
    rows = []
    cw = read_raw(raw, "region_crosswalk.csv")
    for variant, key, note in cw[["variant_normalised", "region_key", "note"]].itertuples(index=False):
        alias = re.sub(r"\s*\[.*\]$", "", variant).strip()  # drop '[population xlsx, 2000-2016]'
        rows.append((alias, key, "region_crosswalk.csv", note))
    rows += [(name, key, "features/ingest/build.py", "former name") for name, key in OLD_NAMES]
    for col in ("region", "name_en", "name_ru", "name_kk"):
        rows += [(v, k, "regions.csv", col) for v, k in zip(regions[col], regions["region"]) if v]
    for path in sorted(raw.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.name == "housing.csv" or not {"region_key", "region_name_source"}.issubset(df.columns):
            continue  # housing labels are city names (Semey, Taldykorgan), not regions
        pairs = df[["region_name_source", "region_key"]].drop_duplicates()
        for label, key in pairs.itertuples(index=False):
            if label and not label.startswith(("KATO ", "(")) and key:
                rows.append((label, key, path.name, "label in source"))
    # case forms of every nominative Russian name collected so far (registry, crosswalk, labels)
    rows += [(form, key, "features/ingest/build.py", f"Russian case form of {alias!r} (generated)")
             for alias, key, _seen, _note in list(rows) for form in russian_case_forms(alias)]
    out = pd.DataFrame(rows, columns=["alias", "region", "seen_in", "note"])
    out["alias_normalised"] = out["alias"].map(normalise_name)
    out = out[out["alias_normalised"] != ""].drop_duplicates(["alias_normalised", "region"])
    # A footnoted label ('Туркестанская 1)') means South Kazakhstan in some years of some files
    # and Turkestan in others: the curated crosswalk (first in `rows`) decides; the rest is logged.
    clash = out.duplicated("alias_normalised", keep="first")
    for alias, region in out.loc[clash, ["alias", "region"]].itertuples(index=False):
        logger.info("alias %r -> %r dropped: the crosswalk maps it elsewhere", alias, region)
    out = out[~clash]
    out["script"] = out["alias"].map(_script)
    out = out.sort_values(["region", "alias_normalised"], kind="stable")
    return out[["alias", "alias_normalised", "region", "script", "seen_in", "note"]].reset_index(drop=True)


# Validity of area figures where the raw row leaves it open but its note is explicit.
_AREA_VALID_FROM = {("almaty_region", 223911.0): 2014}  # 'borders 2014-2021; pre-2014 area not found'


def build_area(raw: Path, population: pd.DataFrame) -> pd.DataFrame:
    """``area_km2`` per region-year, for the years a region has a population figure.

    Each figure applies within its validity years. A current figure with no stated start
    year is applied to every earlier year of the region and flagged ``assumed_constant``
    (small transfers such as Akmola -87 km2 in 2017 are within that assumption and listed in
    the data card). Boundary-transfer rows are not used. A region-year with no figure stays absent.
    """
    a = read_raw(raw, "region_area.csv")
    a = a[(a["kind"] == "area") & ((a["preferred_current"] == "yes") | (a["valid_to_year"] != ""))]
    out = []
    years = population[["region", "year"]]
    for row in a.itertuples(index=False):
        area = float(row.area_km2)
        start = _AREA_VALID_FROM.get((row.region_key, area))
        start = start if start is not None else (int(row.valid_from_year) if row.valid_from_year else None)
        end = int(row.valid_to_year) if row.valid_to_year else None
        ys = years[years["region"] == row.region_key]["year"]
        mask = pd.Series(True, index=ys.index)
        if start is not None:
            mask &= ys >= start
        if end is not None:
            mask &= ys <= end
        open_ended = not row.valid_from_year and start is None
        for y in ys[mask]:
            out.append((row.region_key, int(y), area, f"(web page):{row.source_path}",
                        "assumed_constant" if open_ended else "", row.original_source))
    df = pd.DataFrame(out, columns=["region", "year", "value", "source", "flag", "note"])
    dup = df.duplicated(["region", "year"], keep=False)
    if dup.any():
        raise DataFileError(f"region_area.csv: overlapping validity for {df[dup].head(4).to_dict('records')}")
    return df.assign(variable="area_km2", unit=VARIABLES["area_km2"].unit)


def _monthly_sums(raw: Path) -> pd.DataFrame:
    """Annual 2024 interregional flows as the sum of the 12 monthly figures (flagged)."""
    df = read_raw(raw, "migration_interregional.csv")
    m = df[df["variable"].str.contains("_month_")].copy()
    m["base"] = m["variable"].str.replace(r"_month_\d\d$", "", regex=True)
    m["value"] = pd.to_numeric(m["value"], errors="raise")
    g = m.groupby(["region_key", "year", "base"], sort=True)
    agg = g.agg(value=("value", "sum"), months=("value", "size"), source=("source_path", "first"),
                repo=("source_repo", "first")).reset_index()
    agg = agg[agg["months"] == 12]
    return pd.DataFrame(
        {
            "region": agg["region_key"], "year": agg["year"].astype("int64"), "variable": agg["base"],
            "value": agg["value"].astype("float64"), "unit": "persons",
            "source": agg["repo"] + ":" + agg["source"], "flag": "derived:sum_of_months;preliminary",
            "note": "sum of 12 monthly figures; BNS press totals differ by 1-2 persons",
        }
    )


def build_observations(raw: Path) -> pd.DataFrame:
    """The tidy long table of every shipped variable (sources chosen by :data:`SELECT`)."""
    parts = [_select(raw, s) for s in SELECT]
    obs = pd.concat(parts, ignore_index=True)
    # National population after 2022: the xlsx national 2023 belongs to the older vintage whose
    # regional figures were revised; use the sum of the chosen regional vintage instead.
    pop = obs[obs["variable"] == "population"]
    drop = pop.index[(pop["region"] == "kazakhstan") & (pop["year"] >= 2023)]
    obs = obs.drop(index=drop)
    regional = pop[(pop["region"] != "kazakhstan") & (pop["year"] >= 2023)]
    nat = regional.groupby("year", as_index=False)["value"].sum()
    n_units = regional.groupby("year")["region"].nunique()
    nat = nat[nat["year"].map(n_units) == 20]
    extra = [
        pd.DataFrame({"region": "kazakhstan", "year": nat["year"], "variable": "population", "value": nat["value"],
                      "unit": "persons", "source": f"{KAZDATA}:apps/frontend/public/data/demography/population.json",
                      "flag": "derived:sum_of_regions", "note": "sum of the 20 regions of the chosen vintage"}),
        _monthly_sums(raw),
        _article(raw),
        press_composition(raw),  # SECONDARY: migrants by education / specialty, partial years
    ]
    vit = obs[(obs["region"] == "kazakhstan") & obs["variable"].isin(["births", "deaths"])]
    w = vit.pivot(index="year", columns="variable", values="value").dropna()
    extra.append(pd.DataFrame({
        "region": "kazakhstan", "year": w.index.astype("int64"), "variable": "natural_increase",
        "value": (w["births"] - w["deaths"]).to_numpy(), "unit": "persons",
        "source": "makenerzhan-gif/kazakhstan-economic-data:data/processed/bns/{births,deaths}_total.csv",
        "flag": "derived:births_minus_deaths", "note": "national natural increase not transcribed; births - deaths",
    }))
    obs = pd.concat([obs, *extra], ignore_index=True)
    # SECONDARY national series behind the state's targets (Round 6): one variable per definition and period
    obs = pd.concat([obs, press_series(raw, existing=obs)], ignore_index=True)
    obs = pd.concat([obs, build_area(raw, obs[obs["variable"] == "population"])], ignore_index=True)
    obs = pd.concat([obs, derived_net_migration(obs)], ignore_index=True)
    obs["year"] = obs["year"].astype("int64")
    dup = obs.duplicated(["region", "year", "variable"], keep=False)
    if dup.any():
        raise DataFileError(f"build: duplicate region-year-variable rows {obs[dup].head(6).to_dict('records')}")
    return obs[COLUMNS].sort_values(["variable", "region", "year"], kind="stable").reset_index(drop=True)


def derived_net_migration(obs: pd.DataFrame) -> pd.DataFrame:
    """Balancing-equation net migration (current borders) where BNS publishes none."""
    wide = (
        obs[obs["variable"].isin(["population", "natural_increase"])]
        .pivot(index=["region", "year"], columns="variable", values="value")
        .reset_index()
    )
    wide = wide[wide["region"] != "kazakhstan"]
    der = derive_net_migration(wide, "current")
    official = obs.loc[obs["variable"] == "net_migration", ["region", "year"]]
    der = der.merge(official.assign(_o=1), on=["region", "year"], how="left")
    der = der[der["_o"].isna()].drop(columns="_o")
    return der.assign(
        variable="net_migration", unit="persons",
        source="kzmig:features/assessment/balance.py (population.csv, vital_statistics.csv)",
        note="P(t+1) - P(t) - natural_increase(t)",
    )


def build_sources(obs: pd.DataFrame, raw: Path) -> pd.DataFrame:
    """One row per source string used in ``observations.csv``, with its original publisher."""
    originals = {}
    for path in sorted(raw.glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if {"source_repo", "source_path", "original_source"}.issubset(df.columns):
            for repo, sp, orig in df[["source_repo", "source_path", "original_source"]].drop_duplicates().itertuples(
                index=False
            ):
                originals.setdefault(source_id(repo, sp), (orig, path.name))
    for name in SERIES_FILES:  # Round 6: the page's URL is the source; its title is the publisher
        df = pd.read_csv(raw / name, dtype=str, keep_default_na=False)
        for url, title in df[["source_url_or_repo_path", "source_title"]].drop_duplicates().itertuples(index=False):
            originals.setdefault(url, (title, name))
    used = obs.groupby("source", sort=True)["variable"].agg(lambda v: ", ".join(sorted(set(v)))).reset_index()
    used["original_source"] = used["source"].map(lambda s: originals.get(s, ("", ""))[0])
    used["raw_file"] = used["source"].map(lambda s: originals.get(s, ("", ""))[1])
    return used.rename(columns={"variable": "variables"})


def build(raw: Path = RAW_DEFAULT, out: Path = DATA_DIR) -> dict[str, Path]:
    """Build every shipped file from ``raw`` into ``out``; return the paths written.

    Files are written atomically, so a failure leaves the previous dataset intact.
    """
    raw, out = Path(raw), Path(out)
    logger.info("building dataset from %s", raw)
    regions = build_regions(raw)
    tables = {
        "regions.csv": regions,
        "region_aliases.csv": build_aliases(raw, regions),
        "processed/observations.csv": (obs := build_observations(raw)),
        "processed/vintage_disagreements.csv": _disagreements(raw),
        "sources.csv": build_sources(obs, raw),
    }
    written = {}
    for name, df in tables.items():
        written[name] = atomic_write_csv(df, out / name, float_format="%.10g")
        logger.info("wrote %s (%d rows)", out / name, len(df))
    return written
