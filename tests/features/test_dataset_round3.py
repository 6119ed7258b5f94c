"""Round 3/3b official data in the shipped dataset: national external flows (BNS and CIS Stat),
flows by CIS partner, annual regional employment and unemployment (BNS 102798/102790) and the
SECONDARY kandas figures.

Reference values come from plain loops over the raw CSVs (csv module), never from the build code.
"""
from __future__ import annotations

import pandas as pd
import pytest
from kzmig.features.data.dataset import read_observations
from kzmig.features.data.regions import DATA_DIR, resolve_region
from kzmig.features.data.variables import CIS_PARTNERS, VARIABLES
from raw_helpers import raw_rows

MAKENERZHAN = "makenerzhan-gif/kazakhstan-economic-data"
XLSX = "open-data-kazakhstan/city-unemployment-rate"
PARTNERS = ("ARM", "AZE", "BLR", "KGZ", "MDA", "RUS", "TJK", "TKM", "UKR", "UZB")


def ROUND6(row) -> bool:  # noqa: N802
    """A row of the Round-6 press series (features/ingest/build_press_series.py), tested on its own."""
    return "_press_secondary.csv row " in row["note"] and "period: " in row["note"]


@pytest.fixture(scope="module")
def shipped(shipped_rows):
    return shipped_rows


def as_stored(text):
    """A raw number as observations.csv stores it (10 significant digits, ``%.10g``)."""
    return float(format(float(text), ".10g"))


def value(shipped, region, year, variable):
    return float(shipped[(region, year, variable)]["value"])


def partner_variable(raw_variable):
    """'external_arrivals_from:RUS:Russia' -> 'external_arrivals_from_rus' (by hand)."""
    stem, iso, _name = raw_variable.split(":")
    return f"{stem}_{iso.lower()}"


def tokens(flag):
    return set(flag.split(";")) if flag else set()


# --- national external flows -------------------------------------------------------------------

def test_external_national_rows_equal_raw(raw_dir, shipped):
    rows = raw_rows(raw_dir, "migration_external_national_annual.csv")
    assert len(rows) == 90
    for r in rows:
        got = shipped[(r["region_key"], int(r["year"]), r["variable"])]
        assert float(got["value"]) == float(r["value"]), r
        assert got["unit"] == "persons"
        assert got["source"] == f"{r['source_repo']}:{r['source_path']}"
        cis_stat = "CIS Stat" in r["original_source"] or "Interstate Statistical" in r["original_source"]
        assert ("source:cisstat" in tokens(got["flag"])) == cis_stat, r
    shipped_vars = {k for k in shipped if k[2] in {"external_arrivals", "external_departures",
                                                   "external_arrivals_from_cis", "external_arrivals_from_non_cis"}}
    assert len(shipped_vars) == 90  # nothing added beyond the raw rows


def test_cisstat_years_are_flagged_and_bns_years_are_not(shipped):
    for var in ("external_arrivals", "external_departures"):
        for year in range(1991, 2026):
            flagged = "source:cisstat" in tokens(shipped[("kazakhstan", year, var)]["flag"])
            assert flagged == (year <= 1999), (var, year)


def test_arrivals_minus_departures_equals_official_net(raw_dir, shipped):
    official = {int(r["year"]): float(r["value"]) for r in raw_rows(raw_dir, "migration_net_bns.csv")
                if r["region_key"] == "kazakhstan" and r["variable"] == "net_migration_all_flows"}
    for year in range(2000, 2025):
        net = value(shipped, "kazakhstan", year, "external_arrivals") - value(shipped, "kazakhstan", year,
                                                                              "external_departures")
        assert net == official[year], year
        assert net == value(shipped, "kazakhstan", year, "net_migration"), year


def test_cis_plus_non_cis_equals_total(shipped):
    for year in range(2016, 2026):
        for total, parts in (("external_arrivals", ("external_arrivals_from_cis", "external_arrivals_from_non_cis")),
                             ("external_departures", ("external_departures_to_cis", "external_departures_to_non_cis"))):
            assert sum(value(shipped, "kazakhstan", year, p) for p in parts) == value(
                shipped, "kazakhstan", year, total), (total, year)


def test_cisstat_2008_figures_recorded_as_disagreement():
    d = pd.read_csv(DATA_DIR / "processed" / "vintage_disagreements.csv", keep_default_na=False)
    ext = d[d["variable"].isin(["external_arrivals", "external_departures"])].set_index("variable")
    assert len(ext) == 2 and (ext["year"] == 2008).all()
    assert ext.loc["external_arrivals", ["chosen", "other"]].tolist() == [46113, 46404]
    assert ext.loc["external_departures", ["chosen", "other"]].tolist() == [44813, 45287]
    assert (ext["other_flag"] == "source:cisstat").all()


# --- flows by CIS partner ----------------------------------------------------------------------

def test_partner_rows_equal_raw(raw_dir, shipped):
    rows = raw_rows(raw_dir, "migration_by_country_national.csv")
    assert len(rows) == 220
    for r in rows:
        var = partner_variable(r["variable"]) if ":" in r["variable"] else r["variable"]
        got = shipped[(r["region_key"], int(r["year"]), var)]
        assert float(got["value"]) == float(r["value"]), r
        assert got["source"] == f"{r['source_repo']}:{r['source_path']}"
        assert "source:cisstat" in tokens(got["flag"])
    partner_vars = {k[2] for k in shipped if k[2].startswith(("external_arrivals_from_", "external_departures_to_"))
                    and k[2].rsplit("_", 1)[1] in {p.lower() for p in PARTNERS}}
    assert len(partner_vars) == 20


def test_partner_sums_equal_cis_totals(shipped):
    for year in range(2016, 2026):
        for stem, total in (("external_arrivals_from", "external_arrivals_from_cis"),
                            ("external_departures_to", "external_departures_to_cis")):
            s = sum(value(shipped, "kazakhstan", year, f"{stem}_{p.lower()}") for p in PARTNERS)
            assert s == value(shipped, "kazakhstan", year, total), (stem, year)


def test_partner_variables_registered_with_names():
    assert set(CIS_PARTNERS) == {p.lower() for p in PARTNERS}
    for iso, name in CIS_PARTNERS.items():
        for stem in ("external_arrivals_from", "external_departures_to"):
            v = VARIABLES[f"{stem}_{iso}"]
            assert v.unit == "persons" and v.aggregate == "none" and name in v.description


# --- annual regional labour (BNS 102798 / 102790) ---------------------------------------------

def test_employed_rows_equal_raw(raw_dir, shipped):
    rows = [r for r in raw_rows(raw_dir, "labour_regional_annual_bns.csv") if r["variable"] == "employed_population"]
    assert len(rows) == 435
    for r in rows:
        got = shipped[(r["region_key"], int(r["year"]), "employed_population")]
        assert float(got["value"]) == float(r["value"]), r
        assert got["unit"] == "thousand persons"
    assert len([k for k in shipped if k[2] == "employed_population"]) == 435
    assert not [k for k in shipped if k[2] == "employed_population" and k[1] == 2015]
    assert VARIABLES["employed_population"].unit == "thousand persons"


def test_unemployment_is_xlsx_first_then_bns(raw_dir, shipped):
    xlsx, bns = {}, {}
    for r in raw_rows(raw_dir, "labour.csv"):
        if r["variable"] == "unemployment_rate" and r["year"] and r["source_repo"] == XLSX:
            xlsx[(r["region_key"], int(r["year"]))] = r
    for r in raw_rows(raw_dir, "labour_regional_annual_bns.csv"):
        if r["variable"] == "unemployment_rate":
            bns[(r["region_key"], int(r["year"]))] = r
    keys = set(xlsx) | set(bns)
    got = {k[:2]: v for k, v in shipped.items() if k[2] == "unemployment_rate_pct"}
    assert set(got) == keys  # no year added or dropped
    for k in keys:
        src = xlsx.get(k) or bns[k]
        assert float(got[k]["value"]) == as_stored(src["value"]), k
        assert got[k]["source"] == f"{src['source_repo']}:{src['source_path']}"
    # years only BNS 102790 has: 2023-2025 and South Kazakhstan 2010-2017 as printed (no 2015)
    assert {y for r, y in keys - set(xlsx) if r == "south_kazakhstan"} == {2010, 2011, 2012, 2013, 2014, 2016, 2017}
    assert {y for r, y in keys - set(xlsx) if r != "south_kazakhstan"} == {2023, 2024, 2025}


def test_unemployment_coverage_of_split_regions_as_printed(shipped):
    def years(region, var="unemployment_rate_pct"):
        return sorted(k[1] for k in shipped if k[0] == region and k[2] == var)

    assert years("south_kazakhstan") == [*range(2001, 2015), 2016, 2017]
    assert years("turkestan") == list(range(2010, 2026))  # 2010-2017 the xlsx's estimates from SKO data
    assert years("shymkent") == list(range(2010, 2026))
    assert years("south_kazakhstan", "employed_population") == list(range(2001, 2010))
    assert years("turkestan", "employed_population") == [*range(2010, 2015), *range(2016, 2026)]
    for y in range(2010, 2018):
        assert "estimate" in tokens(shipped[("turkestan", y, "unemployment_rate_pct")]["flag"])


def test_unemployment_vintage_disagreements_and_suspect_flags(shipped):
    d = pd.read_csv(DATA_DIR / "processed" / "vintage_disagreements.csv", keep_default_na=False)
    u = d[d["variable"] == "unemployment_rate_pct"]
    assert len(u) == 28
    suspect = u[u["other_flag"].str.contains("suspect")]
    got = {(r.region, r.year): (r.chosen, r.other) for r in suspect.itertuples()}
    assert got == {("kazakhstan", 2019): (4.8, 3.6), ("pavlodar", 2018): (4.8, 4.4),
                   ("north_kazakhstan", 2016): (5.0, 5.1), ("zhambyl", 2022): (5.0, 4.8)}
    rounding = u[~u["other_flag"].str.contains("suspect")]
    assert set(rounding["year"]) == {2007, 2008} and (rounding["difference"].abs() < 0.05).all()
    for (region, year), (chosen, _other) in got.items():
        row = shipped[(region, year, "unemployment_rate_pct")]
        assert float(row["value"]) == chosen and row["source"].startswith(XLSX)
    # the fifth SUSPECT value exists only in BNS 102790 and stays in the panel, flagged
    eko = shipped[("east_kazakhstan", 2023, "unemployment_rate_pct")]
    assert float(eko["value"]) == 3.4 and "suspect" in tokens(eko["flag"]) and "SUSPECT" in eko["note"]
    flagged = {k for k, r in shipped.items() if "suspect" in tokens(r["flag"]) and not ROUND6(r)}
    assert flagged == {("east_kazakhstan", 2023, "unemployment_rate_pct")}


# --- SECONDARY kandas figures ------------------------------------------------------------------

def test_kandas_rows_equal_raw_and_all_flagged_secondary(raw_dir, shipped):
    rows = raw_rows(raw_dir, "kandas_resettlement_press_secondary.csv")
    assert len(rows) == 29
    names = {r["variable"] for r in rows}
    for r in rows:
        got = shipped[(r["region_key"], int(r["year"]), r["variable"])]
        assert float(got["value"]) == float(r["value"])
        assert "secondary:press" in tokens(got["flag"])
        assert got["source"] == f"{r['source_repo']}:{r['source_path']}"
        assert VARIABLES[r["variable"]].unit == r["unit"] == got["unit"]
    assert len([k for k, r in shipped.items() if k[2] in names and not ROUND6(r)]) == 29
    for k, r in shipped.items():  # no web-page figure anywhere without a secondary flag
        if r["source"].startswith("(web page") and k[2] in names:
            assert "secondary:press" in tokens(r["flag"])


def test_kandas_partial_periods_are_in_the_names(shipped):
    partial = {k[2] for k, r in shipped.items() if k[2].startswith("kandas_") and not ROUND6(r)}
    assert partial and all(v.endswith(("_jan_sep", "_jan_feb", "_ytd")) for v in partial)


def test_resettlement_regions_sum_to_national(shipped):
    reg = [value(shipped, k[0], 2025, k[2]) for k in shipped
           if k[2] == "resettled_persons_regional_program" and k[0] != "kazakhstan"]
    assert len(reg) == 9 and sum(reg) == value(shipped, "kazakhstan", 2025, "resettled_persons_regional_program")


@pytest.mark.parametrize("label, code", [
    ("Павлодарскую область", "pavlodar"), ("Алматинской", "almaty_region"), ("городе Шымкент", "shymkent"),
    ("область Абай", "abai"), ("Кызылординской области", "kyzylorda"), ("области Улытау", "ulytau"),
    ("Северо-Казахстанскую область", "north_kazakhstan"), ("города Астана", "astana"),
])
def test_russian_case_forms_resolve(label, code):
    assert resolve_region(label) == code


# --- validation -------------------------------------------------------------------------------

def test_shipped_dataset_validates():
    from kzmig.features.data.panel import validate_panel

    obs = validate_panel(read_observations(), source="observations.csv")
    # 140 variables / 8,900 rows as of Round 3/3b, plus the SECONDARY press composition figures
    # (28 new variables, 40 rows; tests/features/test_dataset_press_composition.py); Round 4:
    # avg_wage_kzt is the BNS 5676/56545 series (265 rows) instead of the 17 hand-collected ones
    # Round 6: 117 variables, 211 rows of the national series behind the state's targets
    # (tests/features/test_dataset_press_series.py)
    assert obs["variable"].nunique() == 140 + 28 + 117 and len(obs) == 8900 + 40 - 17 + 265 + 211
