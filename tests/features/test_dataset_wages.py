"""Round 4 official wages in the shipped dataset (BNS element 5676, national 56545) and their
employment-weighted merge in the fixed-border views.

Reference values come from plain loops over the raw CSVs (csv module), never from the build code.
"""
from __future__ import annotations

import pandas as pd
import pytest
from kzmig.features.data.dataset import harmonise, load_long
from kzmig.features.data.regions import DATA_DIR
from kzmig.features.data.variables import VARIABLES
from raw_helpers import raw_rows

WAGES = "wages_regional_annual_bns.csv"


@pytest.fixture(scope="module")
def shipped(shipped_rows):
    return shipped_rows


def test_wage_rows_equal_raw_file_exactly(raw_dir, shipped):
    """Every raw row is shipped as avg_wage_kzt with its value, unit and source, and nothing else is."""
    expected = {}
    for r in raw_rows(raw_dir, WAGES):
        assert r["variable"] == "avg_monthly_nominal_wage" and r["unit"] == "KZT"
        expected[(r["region_key"], int(r["year"]))] = (float(r["value"]), f"{r['source_repo']}:{r['source_path']}")
    got = {(k[0], k[1]): (float(v["value"]), v["source"]) for k, v in shipped.items() if k[2] == "avg_wage_kzt"}
    assert got == expected
    assert len(got) == 265
    units = {v["unit"] for k, v in shipped.items() if k[2] == "avg_wage_kzt"}
    assert units == {"KZT per month"}
    # coverage as SOURCES.md states it: regions 2011-2024, national from 2000
    years = sorted(y for (r, y) in got if r == "kazakhstan")
    assert years == list(range(2000, 2025))
    assert sorted(y for (r, y) in got if r == "pavlodar") == list(range(2011, 2025))
    assert got[("kazakhstan", 2010)][0] == 77610.5  # not rounded in element 56545


def test_wage_2020_equals_earlier_taldau_file(raw_dir, shipped):
    """The 2020 values, in thousand KZT rounded to 0.1, equal the earlier Taldau 702972 file for all 18 rows."""
    taldau = {r["region_key"]: float(r["value"]) for r in raw_rows(raw_dir, "wages_regional_taldau.csv")
              if r["variable"] == "avg_monthly_nominal_wage" and r["year"] == "2020"}
    assert len(taldau) == 18
    for region, thousand in taldau.items():
        kzt = float(shipped[(region, 2020, "avg_wage_kzt")]["value"])
        assert round(kzt / 1000, 1) == pytest.approx(thousand, abs=1e-9), region


def test_hand_collected_and_preliminary_wages_only_as_disagreements(raw_dir):
    dis = pd.read_csv(DATA_DIR / "processed" / "vintage_disagreements.csv", keep_default_na=False)
    w = dis[dis["variable"] == "avg_wage_kzt"]
    prelim = w[w["other_flag"] == "preliminary"]
    secondary = {r["region_key"]: float(r["value"]) for r in raw_rows(raw_dir, "wages_regional_annual_secondary.csv")}
    final = {r["region_key"]: float(r["value"]) for r in raw_rows(raw_dir, WAGES) if r["year"] == "2022"}
    differing = {k for k in secondary if abs(secondary[k] - final[k]) > 1.0}
    assert set(prelim["region"]) == differing and (prelim["year"] == 2022).all()
    row = prelim.set_index("region").loc["kazakhstan"]
    assert (row["chosen"], row["other"]) == (309697, 308033)
    hand = w[w["other_flag"] == "suspect"].set_index("year")
    assert len(hand) == 17 and (hand["region"] == "kazakhstan").all()
    assert hand.loc[2019, "other"] == 168489 and hand.loc[2019, "chosen"] == 186815
    assert (hand["difference"] < 0).all()  # below the BNS annual wage in every year


def _employed(raw_dir):
    return {(r["region_key"], int(r["year"])): float(r["value"])
            for r in raw_rows(raw_dir, "labour_regional_annual_bns.csv") if r["variable"] == "employed_population"}


def _wage(raw_dir):
    return {(r["region_key"], int(r["year"])): float(r["value"]) for r in raw_rows(raw_dir, WAGES)}


@pytest.mark.parametrize("borders, unit, members, year", [
    (2018, "karaganda", ("karaganda", "ulytau"), 2023),
    (2017, "south_kazakhstan", ("shymkent", "turkestan"), 2019),
])
def test_merged_wage_is_employment_weighted(raw_dir, borders, unit, members, year):
    """Hand-worked weighted mean for one merged unit and year, and its flag."""
    emp, wage = _employed(raw_dir), _wage(raw_dir)
    num = sum(wage[(m, year)] * emp[(m, year)] for m in members)
    den = sum(emp[(m, year)] for m in members)
    long = load_long("harmonised", borders=borders)
    row = long[(long["variable"] == "avg_wage_kzt") & (long["region"] == unit) & (long["year"] == year)]
    assert len(row) == 1
    assert row["value"].iloc[0] == pytest.approx(num / den, rel=1e-12)
    assert "derived:weighted_employed" in row["flag"].iloc[0].split(";")
    unweighted = sum(wage[(m, year)] for m in members) / len(members)
    assert abs(row["value"].iloc[0] - unweighted) > 100  # the weights matter here


def test_merged_wage_missing_without_weights():
    """A member without employed persons leaves the merged unit missing (no unweighted mean)."""
    rows = [("karaganda", 2023, "avg_wage_kzt", 400_000.0), ("ulytau", 2023, "avg_wage_kzt", 600_000.0),
            ("karaganda", 2023, "employed_population", 500.0),
            ("karaganda", 2024, "avg_wage_kzt", 420_000.0), ("ulytau", 2024, "avg_wage_kzt", 630_000.0),
            ("karaganda", 2024, "employed_population", 500.0), ("ulytau", 2024, "employed_population", 100.0)]
    long = pd.DataFrame(rows, columns=["region", "year", "variable", "value"]).assign(
        unit="", source="test", flag="")
    out = harmonise(long, 2018)
    w = out[(out["variable"] == "avg_wage_kzt") & (out["region"] == "karaganda")].set_index("year")
    assert 2023 not in w.index
    assert w.loc[2024, "value"] == pytest.approx((420_000 * 500 + 630_000 * 100) / 600)
    assert w.loc[2024, "flag"] == "derived:weighted_employed"


def test_wage_range_is_checked():
    v = VARIABLES["avg_wage_kzt"]
    assert v.aggregate == "wmean:employed_population" and v.lo > 0 and v.hi < 1e8
