"""features/assessment/typology.py: the classification tables of METHOD.md checked case by case."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.assessment.problems import problem_counts, problem_flags, tercile_crosstab
from kzmig.features.assessment.typology import (TREND_TYPES, break_years, classify_trend, migration_trend_types,
                                     population_change_groups, rolling_trend_panel, smoothed_ends)

YEARS = list(range(2000, 2008))
FLOWS = {  # region -> (natural increase per year, net migration per year), population 1000 at 1 Jan 2000
    "akmola": ([10] * 8, [5] * 8),                                  # group 1
    "aktobe": ([20] * 8, [2, 2, 2, -1, -3, -4, -4, -4]),            # group 2
    "astana": ([20] * 8, [-1, -1, -1, -2, -3, -5, -5, -5]),         # group 3, intensifying
    "atyrau": ([-2] * 8, [-10] * 8),                                # group 4 with natural decrease
}


@pytest.fixture
def panel(flow_panel):
    return flow_panel(FLOWS, 1000.0)


def test_classify_trend_table():
    cases = [(10, 8.5, "stable inflow"), (10, 12, "stable inflow"), (10, 7.9, "weakening inflow"),
             (1, 0.6, "stable inflow"), (1, 0.4, "weakening inflow"),  # absolute floor 0.5
             (0, 3, "emerging inflow"), (-2, 3, "emerging inflow"), (0, -1, "emerging outflow"),
             (2, -1, "emerging outflow"), (-4, -3, "weakening outflow"), (-4, -5, "intensifying outflow"),
             (-4, -4, "intensifying outflow"), (3, 0, None), (np.nan, 1, None)]
    s, e, want = zip(*cases)
    assert list(classify_trend(s, e, rel_tol=0.2, abs_tol=0.5)) == list(want)
    assert classify_trend([10], [7.9], rel_tol=0.3)[0] == "stable inflow"  # tolerance is configurable


def test_trend_tolerance_is_taken_from_the_start_rate_at_its_boundary():
    """delta = max(rel_tol * |start|, abs_tol): an end exactly delta below the start is still stable."""
    # start 10: delta 2 -> end 8 is on the boundary (stable), 7.99 below it (weakening);
    # a margin from the end rate (0.2 * 8 = 1.6) would call 8 weakening
    got = classify_trend([10, 10, 10, 20], [8.0, 7.99, 8.4, 16.0], rel_tol=0.2, abs_tol=0.5)
    assert list(got) == ["stable inflow", "weakening inflow", "stable inflow", "stable inflow"], \
        "the trend-type tolerance must be rel_tol times the START rate (METHOD.md section 3)"
    # rel_tol 0.3: start 10 -> delta 3, end 7 stable (end-based: 2.1, weakening)
    assert classify_trend([10], [7.0], rel_tol=0.3)[0] == "stable inflow"
    assert classify_trend([10], [6.99], rel_tol=0.3)[0] == "weakening inflow"
    # absolute floor at its boundary: start 1.5 -> max(0.3, 0.5) = 0.5; end 1.0 stable, 0.99 weakening
    assert list(classify_trend([1.5, 1.5], [1.0, 0.99])) == ["stable inflow", "weakening inflow"]
    # a rise is never weakening, however small the start
    assert classify_trend([0.1], [50.0])[0] == "stable inflow"


def test_smoothed_ends_hand_and_skip(panel):
    rates = panel.assign(r=panel["net_migration"])
    out = smoothed_ends(rates, "r", 2000, 2007, k=3).set_index("region")
    assert out.loc["aktobe", "start_rate"] == pytest.approx(2.0)
    assert out.loc["aktobe", "end_rate"] == pytest.approx(-4.0)
    skip = pd.DataFrame({"region": ["aktobe"], "year": [2001]})
    out = smoothed_ends(rates, "r", 2000, 2007, k=3, skip=skip).set_index("region")
    assert out.loc["aktobe", "start_years"] == "2000,2002,2003"
    assert out.loc["aktobe", "start_rate"] == pytest.approx((2 + 2 - 1) / 3)
    assert out.loc["aktobe", "skipped_years"] == "2001"
    skip = pd.DataFrame({"region": ["aktobe"] * 2, "year": [2001, 2002]})
    out = smoothed_ends(rates, "r", 2000, 2007, k=4, skip=skip).set_index("region")
    assert np.isnan(out.loc["aktobe", "start_rate"]) and "share year(s) [2004, 2005]" in out.loc["aktobe", "reason"]
    assert out.loc["akmola", "start_rate"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="smoothing k=5 must be between 1 and half the period length, 4"):
        smoothed_ends(rates, "r", 2000, 2007, k=5)


def test_population_change_groups(panel):
    out = population_change_groups(panel, 2000, 2007, k=3).set_index("region")
    assert out["group"].to_dict() == {"akmola": 1, "aktobe": 2, "astana": 3, "atyrau": 4}
    assert out.loc["astana", "group_label"].endswith("intensifying")
    assert bool(out.loc["atyrau", "natural_decrease"]) and "natural decrease" in out.loc["atyrau", "group_label"]
    assert out.loc["akmola", "growth_index"] == pytest.approx(100 * (1000 + 120) / 1000)
    assert out.loc["aktobe", "net_migration"] == -10
    np.testing.assert_allclose(out["balancing_residual"], 0.0)
    # inputs next to the class: smoothed rates per 1,000 average population
    a = panel.loc[panel["region"] == "akmola"].set_index("year")
    want = np.mean(1000 * a.loc[2000:2002, "net_migration"] / a.loc[2000:2002, "population_avg"])
    assert out.loc["akmola", "migration_rate_start"] == pytest.approx(want)


def test_region_without_start_gets_reason(panel):
    late = panel.loc[~((panel["region"] == "atyrau") & (panel["year"] < 2003))]
    out = population_change_groups(late, 2000, 2007).set_index("region")
    assert pd.isna(out.loc["atyrau", "group"]) and "no population at 1 Jan 2000" in out.loc["atyrau", "reason"]
    assert out.loc["akmola", "group"] == 1


def test_migration_trend_types_and_absent_flows(panel):
    out = migration_trend_types(panel, 2000, 2007, k=3)
    tot = out.loc[out["flow"] == "total"].set_index("region")
    # akmola: +5 a year on a growing population, the rate slips by < 20 %: stable; atyrau: -10 on a
    # shrinking population, the outflow rate grows in magnitude: intensifying
    assert tot["type"].to_dict() == {"akmola": "stable inflow", "aktobe": "emerging outflow",
                                     "astana": "intensifying outflow", "atyrau": "intensifying outflow"}
    assert tot.loc["aktobe", "type_code"] == TREND_TYPES.index("emerging outflow") + 1
    internal = out.loc[out["flow"] == "internal"]
    assert internal["type"].isna().all() and internal["reason"].str.contains("absent").all()
    with pytest.raises(ValueError, match="flow='net'"):
        migration_trend_types(panel, 2000, 2007, flows=("net",))


def test_rolling_panel_matches_loop(panel):
    out = rolling_trend_panel(panel, window=4, k=2)
    assert sorted(out["end"].unique()) == [2003, 2004, 2005, 2006, 2007]
    assert (out["year"] == out["end"]).all() and not out.duplicated(["region", "year"]).any()
    for rec in out.itertuples():
        g = panel.loc[panel["region"] == rec.region].set_index("year")
        rate = 1000 * g["net_migration"] / g["population_avg"]
        s = rate.loc[rec.start:rec.start + 1].mean()
        e = rate.loc[rec.end - 1:rec.end].mean()
        assert rec.start == rec.end - 3
        assert rec.start_rate == pytest.approx(s) and rec.end_rate == pytest.approx(e)
        assert rec.type == classify_trend([s], [e])[0]
    with pytest.raises(PanelContractError, match="window=20 is longer"):
        rolling_trend_panel(panel, window=20)


def test_break_years_from_flags():
    long = pd.DataFrame({"region": ["akmola", "akmola", "aktobe"], "year": [2008, 2009, 2021],
                         "variable": ["net_migration", "net_migration", "population"], "value": [1.0, 2.0, 3.0],
                         "flag": ["derived:balancing;break:census_2009", "derived:balancing", "break:x"]})
    out = break_years(long.astype({"region": "string", "year": "int64"}))
    assert out.to_dict("records") == [{"region": "akmola", "year": 2008, "flag": "break:census_2009"}]


def test_problem_flags_counts_and_terciles():
    feats = pd.DataFrame({
        "region": ["kazakhstan", "akmola", "aktobe", "astana"] * 2, "year": [2020] * 4 + [2021] * 4,
        "population": [np.nan, 100.0, 300.0, 600.0] * 2,
        "unemployment_gap_pp": [0.0, 0.5, -0.2, 0.0, 0.0, 0.1, 0.3, np.nan],
        "new_housing_m2_per_1000": [np.nan, 500.0, 700.0, 900.0, np.nan, 100.0, 200.0, 300.0],
    }).astype({"region": "string", "year": "int64"})
    flags = problem_flags(feats)
    assert set(flags["problem"]) == {"labour_surplus", "housing"}  # the others have no indicator
    h = flags.loc[(flags["problem"] == "housing") & (flags["year"] == 2020)].set_index("region")
    nat = (500 * 100 + 700 * 300 + 900 * 600) / 1000  # population-weighted = national per 1,000
    assert h["benchmark"].iloc[0] == pytest.approx(nat)
    assert h["flag"].to_dict() == {"akmola": 1.0, "aktobe": 1.0, "astana": 0.0}
    counts = problem_counts(flags).set_index(["year", "problem"])
    assert counts.loc[(2021, "labour_surplus"), "n_regions"] == 2
    assert counts.loc[(2021, "labour_surplus"), "n_with_data"] == 2
    types = pd.DataFrame({"region": ["akmola", "aktobe", "astana"], "flow": "total",
                          "type": ["stable inflow", "intensifying outflow", "intensifying outflow"]})
    ct = tercile_crosstab(feats, types, ["new_housing_m2_per_1000"], start=2020, end=2021)
    nz = ct.loc[ct["n"] > 0, ["tercile", "type", "n"]].astype({"tercile": str, "type": str}).to_dict("records")
    assert nz == [{"tercile": "low", "type": "stable inflow", "n": 1},
                  {"tercile": "middle", "type": "intensifying outflow", "n": 1},
                  {"tercile": "high", "type": "intensifying outflow", "n": 1}]
    assert len(ct) == 3 * len(TREND_TYPES)
    with pytest.raises(PanelContractError, match=r"factor column\(s\) \['wage'\] absent"):
        tercile_crosstab(feats, types, ["wage"], start=2020, end=2021)
    with pytest.raises(ValueError, match="op='=' is not supported by problem_flags\\[x\\]"):
        problem_flags(feats, rules={"x": (("unemployment_gap_pp",), "=", 0.0)})


def test_rolling_and_flags_option_errors(panel):
    with pytest.raises(ValueError, match="need window >= 2 and 1 <= k <= window // 2; got window=4, k=3"):
        rolling_trend_panel(panel, window=4, k=3)
    with pytest.raises(PanelContractError, match="no indicator of any rule is present"):
        problem_flags(panel)


def test_rolling_panel_leakage(panel):
    full = rolling_trend_panel(panel, window=4, k=2)
    cut = rolling_trend_panel(panel.loc[panel["year"] <= 2005], window=4, k=2)
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2005].reset_index(drop=True), cut.reset_index(drop=True))


def test_problem_counts_are_na_where_no_region_has_the_indicator():
    from kzmig.features.assessment.problems import problem_counts

    flags = pd.DataFrame({"region": ["a", "b", "a", "b"], "year": [2020, 2020, 2021, 2021],
                          "problem": "housing", "flag": [True, False, np.nan, np.nan]})
    out = problem_counts(flags).set_index("year")
    assert out.loc[2020, "n_regions"] == 1 and out.loc[2020, "n_with_data"] == 2
    assert pd.isna(out.loc[2021, "n_regions"]) and out.loc[2021, "n_with_data"] == 0


def test_classify_trend_zero_and_small_rates_at_the_edges_of_the_table():
    """An end rate of exactly 0 is in no type; a small positive end after a non-positive start is an
    emerging inflow; a small positive start that falls to 0 is not 'stable' even within the margin."""
    cases = [(0.4, 0.0, None), (-2.0, 0.0, None), (0.0, 0.0, None), (-1.0, 0.5, "emerging inflow"),
             (0.0, 0.5, "emerging inflow"), (0.4, -0.1, "emerging outflow"), (-0.5, -0.5, "intensifying outflow"),
             (-0.5, -0.49, "weakening outflow")]
    s, e, want = zip(*cases)
    assert list(classify_trend(s, e)) == list(want)
    # missing inputs given as None (an object column) are missing, not an error
    assert list(classify_trend([None, 1.0], [1.0, None])) == [None, None]


def test_population_change_groups_at_exactly_zero(flow_panel):
    """The group boundaries of METHOD.md stage 1 at a change, a net migration or a start rate of exactly 0."""
    flows = {
        "akmola": ([5] * 8, [-5] * 8),                         # dP = 0 (not a decline), M < 0 throughout: 3
        "aktobe": ([10] * 8, [1, -1] * 4),                     # dP > 0, M = 0 exactly: 1
        "astana": ([20] * 8, [0, 0, 0, -1, -2, -3, -3, -3]),   # start rate exactly 0, end < 0: 2
        "atyrau": ([1] * 8, [-2] * 8),                         # dP < 0: 4
        "almaty_city": ([-5] * 8, [5] * 8),                    # dP = 0, M > 0: 1
        "kostanay": ([0, 0, 0, 1, 2, 3, 3, 3], [0, 0, 0, -1, -2, -3, -3, -3]),  # dP = 0, start rate 0, end < 0: 2
    }
    out = population_change_groups(flow_panel(flows, 1000.0), 2000, 2007, k=3).set_index("region")
    assert out.loc["akmola", "population_change"] == 0 and out.loc["aktobe", "net_migration_excl_skipped"] == 0
    assert out.loc["astana", "migration_rate_start"] == 0
    assert out.loc[["almaty_city", "kostanay"], "population_change"].tolist() == [0, 0]
    assert out["group"].to_dict() == {"akmola": 3, "aktobe": 1, "astana": 2, "atyrau": 4, "almaty_city": 1,
                                      "kostanay": 2}
    only = population_change_groups(flow_panel(flows, 1000.0), 2000, 2007, k=3, regions=["aktobe"])
    assert only["region"].tolist() == ["aktobe"] and only["group"].tolist() == [1]
