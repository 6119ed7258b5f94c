"""SECONDARY press figures on migrants by education level and specialty in the shipped dataset.

Reference values come from plain loops over the raw CSVs (csv module), never from the build code.
"""
from __future__ import annotations

import csv
import re

import pytest
from kzmig.features.data.variables import VARIABLES

PRESS = ("migration_press_quotes_secondary.csv", "press_quotes_secondary_2.csv")
COMPOSITION = re.compile(r"^external_(arrivals|departures)(_specialty:|_15plus_education:|_qualified_specialists)")


@pytest.fixture(scope="module")
def shipped(shipped_rows):
    return shipped_rows


def press_rows(raw_dir):
    rows = []
    for name in PRESS:
        with open(raw_dir / name, encoding="utf-8", newline="") as fh:
            rows += [dict(r, file=name) for r in csv.DictReader(fh)]
    return rows


def by_hand(variable):
    """Raw name -> shipped name, written out: ':' -> '_', secondary_professional -> secondary_vocational."""
    return variable.replace(":", "_").replace("secondary_professional", "secondary_vocational")


def persons(value, unit):
    return {"persons": 1, "thousand persons": 1000}[unit] * float(value)


def test_every_dated_national_composition_row_is_shipped_flagged(raw_dir, shipped):
    n = 0
    for r in press_rows(raw_dir):
        if r["region_key"] != "kazakhstan" or not r["year"] or not COMPOSITION.match(r["variable"]):
            continue
        got = shipped[("kazakhstan", int(r["year"]), by_hand(r["variable"]))]
        assert float(got["value"]) == pytest.approx(persons(r["value"], r["unit"]), rel=1e-12)
        flags = set(got["flag"].split(";"))
        assert "secondary:press" in flags
        assert ("rounded" in flags) == (r["unit"] == "thousand persons")
        assert got["unit"] == "persons" == VARIABLES[by_hand(r["variable"])].unit
        assert got["source"] == f"{r['source_repo']}:{r['source_path']}"
        n += 1
    assert n == 36  # 2015, 2017 (full year and Jan-Sep), Jan-Jun 2022, Jan-Sep 2023


def test_period_totals_only_for_composition_periods(raw_dir, shipped):
    totals = {k for k in shipped if re.fullmatch(r"external_(arrivals|departures)_(jan_jun|jan_sep)", k[2])}
    assert totals == {("kazakhstan", 2022, "external_departures_jan_jun"), ("kazakhstan", 2022, "external_arrivals_jan_jun"),
                      ("kazakhstan", 2023, "external_departures_jan_sep"), ("kazakhstan", 2023, "external_arrivals_jan_sep")}
    assert float(shipped[("kazakhstan", 2022, "external_departures_jan_jun")]["value"]) == 12344
    assert float(shipped[("kazakhstan", 2023, "external_departures_jan_sep")]["value"]) == 12700  # printed 12.7 thousand


def test_undated_and_regional_press_rows_are_not_shipped(raw_dir, shipped):
    undated = [r for r in press_rows(raw_dir) if not r["year"] and "specialty" in r["variable"]]
    assert len(undated) == 4  # the ratel.kz list, year and period not stated
    assert not any(k[2].endswith("_ytd") and "specialty" in k[2] for k in shipped)
    secondary = [k for k, r in shipped.items() if k[2].startswith("external_") and "secondary:press" in r["flag"]]
    assert secondary and all(k[0] == "kazakhstan" for k in secondary)


def test_rows_from_press_pages_always_carry_the_secondary_flag(raw_dir, shipped):
    pages = {f"{r['source_repo']}:{r['source_path']}" for r in press_rows(raw_dir)}
    from_press = [r for r in shipped.values() if r["source"] in pages]
    assert len(from_press) == 40
    assert all("secondary:press" in r["flag"].split(";") for r in from_press)


def test_full_year_press_and_article_share_one_variable_with_their_flags(shipped):
    tech = {y: shipped[("kazakhstan", y, "external_departures_specialty_technical")] for y in (2017, 2022)}
    assert float(tech[2017]["value"]) == 6600 and "secondary:press" in tech[2017]["flag"]
    assert float(tech[2022]["value"]) == 4175 and tech[2022]["flag"] == "cited"
    # the article is the full year: about twice the January-June press figure for every group
    for s in ("technical", "economic", "pedagogical", "medical", "legal", "agricultural",
              "architecture_construction", "other"):
        full = float(shipped[("kazakhstan", 2022, f"external_departures_specialty_{s}")]["value"])
        half = float(shipped[("kazakhstan", 2022, f"external_departures_specialty_{s}_jan_jun")]["value"])
        assert 1.4 < full / half < 2.6, s


def test_partial_periods_are_in_the_names(shipped):
    partial = {k[2] for k, r in shipped.items()
               if k[2].startswith("external_") and "secondary:press" in r["flag"] and k[1] in (2022, 2023)}
    assert partial and all(v.endswith(("_jan_jun", "_jan_sep")) for v in partial)
