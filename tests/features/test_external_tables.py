"""Stage 2 tables (features/assessment/external.py, features/assessment/composition.py) against plain loops over the long table."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kzmig.features.assessment.composition import brain_drain_table, composition_table, observed_shares, parse_variable
from kzmig.features.data.dataset import load_long
from kzmig.features.assessment.external import cis_split_table, external_flows_table, external_series, partner_table
from kzmig.features.data.variables import CIS_PARTNERS, SPECIALTIES


@pytest.fixture(scope="module")
def long():
    return load_long()


@pytest.fixture(scope="module")
def nat(long):
    """{(variable, year): (value, flag)} of the national rows, by a plain loop."""
    out = {}
    for r in long.itertuples(index=False):
        if r.region == "kazakhstan":
            out[(r.variable, int(r.year))] = (float(r.value), str(r.flag))
    return out


def synthetic(rows):
    """A SYNTHETIC long table: (year, variable, value, flag) national rows."""
    df = pd.DataFrame(rows, columns=["year", "variable", "value", "flag"]).assign(region="kazakhstan")
    return df.astype({"region": "string", "year": "int64", "value": "float64", "flag": "string"})


def test_external_flows_by_loop(nat):
    t = external_flows_table(load_long()).set_index("year")
    years = sorted({y for v, y in nat if v == "external_arrivals"})
    assert years == list(range(1991, 2026)) and list(t.index) == years
    for y in years:
        a, fa = nat[("external_arrivals", y)]
        d, fd = nat[("external_departures", y)]
        assert t.loc[y, "arrivals"] == a and t.loc[y, "departures"] == d and t.loc[y, "net"] == a - d
        cis = "source:cisstat" in fa.split(";") or "source:cisstat" in fd.split(";")
        assert t.loc[y, "publisher"] == ("CIS Stat" if cis else "BNS")
        if ("net_migration", y) in nat:
            assert t.loc[y, "net_migration_bns"] == nat[("net_migration", y)][0] == a - d
    assert (t["publisher"] == "CIS Stat").sum() == 9 and t.loc[1999, "publisher"] == "CIS Stat"
    assert t.loc[2000, "publisher"] == "BNS"


def test_cis_split_by_loop(nat):
    t = cis_split_table(load_long())
    n = 0
    for direction, (cis, non, total) in {
        "arrivals": ("external_arrivals_from_cis", "external_arrivals_from_non_cis", "external_arrivals"),
        "departures": ("external_departures_to_cis", "external_departures_to_non_cis", "external_departures"),
    }.items():
        for (v, y), (value, _flag) in nat.items():
            if v not in (cis, non):
                continue
            row = t[(t["year"] == y) & (t["direction"] == direction) & (t["group"] == ("cis" if v == cis else "non_cis"))]
            assert len(row) == 1
            tot = nat[(total, y)][0]
            assert row["value"].iloc[0] == value and row["share_pct"].iloc[0] == pytest.approx(100 * value / tot, rel=1e-12)
            assert row["sum_minus_total"].iloc[0] == nat[(cis, y)][0] + nat[(non, y)][0] - tot == 0
            n += 1
    assert n == len(t) == 40  # 2016-2025 x 2 directions x 2 groups


def test_partner_table_by_loop(nat):
    t = partner_table(load_long())
    assert len(t) == 200
    for iso, name in CIS_PARTNERS.items():
        for direction, stem, cis in (("arrivals", "external_arrivals_from", "external_arrivals_from_cis"),
                                     ("departures", "external_departures_to", "external_departures_to_cis")):
            for y in range(2016, 2026):
                row = t[(t["year"] == y) & (t["direction"] == direction) & (t["partner"] == iso.upper())].iloc[0]
                value = nat[(f"{stem}_{iso}", y)][0]
                assert row["partner_name"] == name and row["value"] == value
                assert row["share_of_cis_pct"] == pytest.approx(100 * value / nat[(cis, y)][0], rel=1e-12)
    # the partners' shares add up to 100 % of the CIS total in every year and direction
    sums = t.groupby(["year", "direction"])["share_of_cis_pct"].sum()
    assert sums.to_numpy() == pytest.approx(100.0, abs=1e-9)


def test_composition_table_by_loop(nat):
    t = composition_table(load_long())
    rows = 0
    for (v, y), (value, flag) in nat.items():
        meta = parse_variable(v)
        if meta is None:
            continue
        rows += 1
        r = t[(t["variable"] == v) & (t["year"] == y)]
        assert len(r) == 1 and r["value"].iloc[0] == value and r["flag"].iloc[0] == flag
        total = nat.get((f"external_{meta['direction']}{meta['suffix']}", y)) if meta["flow"] == "external" else None
        if total is None:
            assert math.isnan(r["share_of_flow_pct"].iloc[0])
        else:
            assert r["share_of_flow_pct"].iloc[0] == pytest.approx(100 * value / total[0], rel=1e-12)
    assert rows == len(t) == 64
    # period labels of the raw conventions
    assert set(t["period"]) == {"2015", "2017", "2017 Jan-Sep", "2022", "2022 Jan-Jun", "2023 Jan-Sep"}
    jun = t[(t["period"] == "2022 Jan-Jun") & (t["dimension"] == "specialty")]
    assert len(jun) == 8 and jun["groups_complete"].all()
    assert jun["share_of_groups_pct"].sum() == pytest.approx(100.0)
    assert jun.set_index("category").loc["technical", "share_of_groups_pct"] == pytest.approx(100 * 2217 / 6431)
    # a partial list of groups has no share of the groups (2017: 3 of 8 specialties)
    assert t[(t["period"] == "2017") & (t["dimension"] == "specialty")]["share_of_groups_pct"].isna().all()


def test_shares_missing_where_the_period_has_no_total():
    t = composition_table(synthetic([
        (2020, "external_departures_specialty_medical_jan_sep", 10.0, "secondary:press"),
        (2021, "external_departures_specialty_medical", 12.0, ""), (2021, "external_departures", 120.0, ""),
    ])).set_index("year")
    assert math.isnan(t.loc[2020, "share_of_flow_pct"]) and t.loc[2021, "share_of_flow_pct"] == 10.0
    assert t.loc[2020, "period"] == "2020 Jan-Sep" and t.loc[2020, "months"] == 9


def test_observed_shares_take_the_longest_period_per_year(nat):
    s = observed_shares(load_long(), direction="departures", dimension="specialty")
    tech = s[s["category"] == "technical"].set_index("year")
    assert list(tech.index) == [2017, 2022, 2023]
    assert list(tech["period"]) == ["2017", "2022", "2023 Jan-Sep"]  # 2022: the full year, not Jan-Jun
    assert tech.loc[2022, "share"] == 4175 / nat[("external_departures", 2022)][0]
    assert tech.loc[2023, "share"] == 1800 / 12700
    both = observed_shares(load_long(), dimension="specialty", prefer="all")
    assert set(both.loc[(both["category"] == "technical") & (both["year"] == 2022), "period"]) == {"2022", "2022 Jan-Jun"}
    edu = observed_shares(load_long(), dimension="education")
    assert list(edu["period"].unique()) == ["2022 Jan-Jun"] and len(edu) == 4


def test_brain_drain_view(nat):
    t = brain_drain_table(load_long())
    assert set(t["year"]) == set(range(1991, 2026))
    full = t[t["period"] == "2022"].iloc[0]
    hand = sum(nat[(f"migration_all_flows_net_education_{e}", 2022)][0] for e in ("higher", "secondary_vocational"))
    assert full["net_higher_vocational"] == hand == -2359 - 1569
    assert "all-flows" in full["net_basis"] and full["specialties_reported"] == 8
    half = t[t["period"] == "2022 Jan-Jun"].iloc[0]
    assert math.isnan(half["net_higher_vocational"]) and half["departures_higher_vocational"] == 3340 + 3091
    assert "no arrivals" in half["note"] and half["external_departures"] == 12344
    y17 = t[t["period"] == "2017"].iloc[0]
    assert y17["departures_qualified_specialists"] == 20400 and y17["specialties_reported"] == 3
    assert "medical" in y17["note"] and "secondary:press" in y17["flag"]
    for s in SPECIALTIES:  # the 2017 figures exactly where the long table has them, NaN elsewhere
        hand = nat.get((f"external_departures_specialty_{s}", 2017))
        assert (math.isnan(y17[f"departures_{s}"]) if hand is None else y17[f"departures_{s}"] == hand[0])
    empty = t[t["year"] == 2010].iloc[0]
    assert empty["note"] == "no figure by education or specialty for this year"
    assert empty["external_departures"] == nat[("external_departures", 2010)][0]


def test_brain_drain_net_from_external_education_where_supplied():
    """A user's (SYNTHETIC) external arrivals and departures by education give the net directly."""
    rows = [(2024, f"external_{d}_education_{e}", v, "") for d, e, v in (
        ("arrivals", "higher", 100.0), ("arrivals", "secondary_vocational", 50.0),
        ("departures", "higher", 300.0), ("departures", "secondary_vocational", 80.0))]
    t = brain_drain_table(synthetic(rows + [(2024, "external_departures", 1000.0, "")]))
    row = t[t["year"] == 2024].iloc[0]
    assert row["net_higher_vocational"] == 150 - 380 and row["net_basis"].startswith("external")


def test_external_series_carries_flags(long):
    series, _ = external_series(long)
    tech = series[series["series"] == "external_departures_specialty_technical"].set_index("year")
    assert tech.loc[2017, "flag"].startswith("secondary:press") and tech.loc[2022, "flag"] == "cited"
