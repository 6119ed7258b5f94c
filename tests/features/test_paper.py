"""features/assessment/paper.py and features/assessment/sensitivity.py: the source's conventions, checked by hand.

The toy panel (SYNTHETIC, 4 regions, flows 2000-2005, population at 1 Jan 2000-2006) is built
so that every class below can be worked out on paper:

* akmola: +10 in 2000, then out-migration: the single-year start rate is >= 0 (paper: group 2,
  emerging outflow) but the 3-year mean is < 0 (default: group 3, weakening outflow);
* aktobe: steady in-migration with a burst in 2001-2002: the 3-year start mean is high
  (default: weakening inflow), the single year 2000 is not (paper: stable inflow); group 1 in both;
* almaty_city: grows to 1 Jan 2005, then -200 in 2005: the paper's index (to 1 Jan 2005) grows,
  the default's (to 1 Jan 2006) declines: group 2 vs group 4;
* astana: decline and out-migration everywhere: group 4, intensifying outflow in both.
"""
import inspect

import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.assessment import typology as ty
from kzmig.features.assessment.paper import (PAPER_ABS_TOL, SENSITIVITY_COLUMNS, method_sensitivity, paper_population_groups,
                                  paper_trend_types)

P0 = 10000.0
FLOWS = {  # region -> (natural increase 2000-2005, net migration 2000-2005)
    "akmola": ([50] * 6, [10, -60, -60, -30, -30, -30]),
    "aktobe": ([50] * 6, [90, 300, 300, 80, 80, 85]),
    "almaty_city": ([10] * 6, [5, -10, -10, -10, -10, -200]),
    "astana": ([-5] * 6, [-50] * 6),
}


@pytest.fixture
def panel(flow_panel):
    return flow_panel(FLOWS, P0)


def test_paper_groups_by_hand(panel):
    out = paper_population_groups(panel, 2000, 2005).set_index("region")
    # populations at 1 Jan 2005 (flows 2000-2004 only): akmola 10000 + 5*50 + (10-60-60-30-30)
    assert out.loc["akmola", "population_end"] == 10000 + 250 - 170
    assert out.loc["akmola", "growth_index"] == pytest.approx(100 * 10080 / 10000)
    assert out.loc["almaty_city", "population_end"] == 10000 + 50 + (5 - 40)  # 10015: still growing
    assert out.loc["akmola", "net_migration"] == -170 and out.loc["akmola", "flow_years"] == "2000-2004"
    np.testing.assert_allclose(out["balancing_residual"], 0.0)
    # single-year rates per 10,000 of average population: akmola 2000 avg (10000 + 10060) / 2
    assert out.loc["akmola", "migration_rate_start"] == pytest.approx(10000 * 10 / 10030)
    # akmola 1 Jan 2005 = 10080, 1 Jan 2006 = 10100
    assert out.loc["akmola", "migration_rate_end"] == pytest.approx(10000 * -30 / 10090)
    assert out.loc["akmola", "rate_start_years"] == "2000" and out.loc["akmola", "rate_end_years"] == "2005"
    assert out["skipped_years"].eq("").all() and out["rate_unit"].eq("per 10,000").all()
    assert out["group"].to_dict() == {"akmola": 2, "aktobe": 1, "almaty_city": 2, "astana": 4}
    assert bool(out.loc["astana", "natural_decrease"]) and "natural decrease" in out.loc["astana", "group_label"]
    assert out["reason"].eq("").all()
    assert out["convention"].str.contains("1 Jan 2000 -> 1 Jan 2005").all()
    assert (out["index_start"].tolist(), out["index_end"].unique().tolist()) == ([2000] * 4, [2005])
    # same layout as the default table, plus the extras
    default = ty.population_change_groups(panel, 2000, 2005)
    assert list(out.reset_index().columns[:len(default.columns)]) == list(default.columns)


def test_paper_types_by_hand(panel):
    out = paper_trend_types(panel, 2000, 2005)
    tot = out.loc[out["flow"] == "total"].set_index("region")
    # aktobe: 2000 avg (10000 + 10140) / 2 = 10070; 2005: 1 Jan 11100 -> 11235, avg 11167.5
    s, e = 10000 * 90 / 10070, 10000 * 85 / 11167.5
    assert (tot.loc["aktobe", "start_rate"], tot.loc["aktobe", "end_rate"]) == (pytest.approx(s), pytest.approx(e))
    assert e >= s - max(0.2 * s, 5.0)  # not clearly lower: stable
    assert tot["type"].to_dict() == {"akmola": "emerging outflow", "aktobe": "stable inflow",
                                     "almaty_city": "emerging outflow", "astana": "intensifying outflow"}
    assert list(out.columns[:len(ty.TYPE_COLUMNS)]) == ty.TYPE_COLUMNS and out["rate_unit"].eq("per 10,000").all()
    internal = out.loc[out["flow"] == "internal"]
    assert internal["type"].isna().all() and internal["reason"].str.contains("absent").all()


def test_tolerance_scales_with_the_unit():
    rng = np.random.default_rng(7)
    s, e = rng.normal(2, 4, 500), rng.normal(1, 4, 500)
    per1000 = ty.classify_trend(s, e)
    per10000 = ty.classify_trend(10 * s, 10 * e, abs_tol=PAPER_ABS_TOL)
    assert PAPER_ABS_TOL == 10 * ty.DEFAULT_ABS_TOL
    assert list(per1000) == list(per10000)


def test_default_classes_differ_as_designed(panel):
    g = ty.population_change_groups(panel, 2000, 2005).set_index("region")
    assert g["group"].to_dict() == {"akmola": 3, "aktobe": 1, "almaty_city": 4, "astana": 4}
    t = ty.migration_trend_types(panel, 2000, 2005).query("flow == 'total'").set_index("region")
    assert t["type"].to_dict() == {"akmola": "weakening outflow", "aktobe": "weakening inflow",
                                   "almaty_city": "intensifying outflow", "astana": "intensifying outflow"}


def test_sensitivity_lists_the_differences_with_why(panel):
    dg, dt = ty.population_change_groups(panel, 2000, 2005), ty.migration_trend_types(panel, 2000, 2005)
    pg, pt = paper_population_groups(panel, 2000, 2005), paper_trend_types(panel, 2000, 2005)
    out = method_sensitivity(dg, pg, dt, pt)
    assert list(out.columns) == SENSITIVITY_COLUMNS
    assert list(zip(out["stage"], out["region"])) == [("group", "akmola"), ("group", "almaty_city"),
                                                     ("type", "akmola"), ("type", "aktobe"), ("type", "almaty_city")]
    why = out.set_index(["stage", "region"])["why"]
    # akmola: the 2000 rate alone is +9.97 per 10,000; the default's mean of 2000-2002 is < 0
    assert why[("group", "akmola")].startswith("start rate < 0 in default, >= 0 in paper")
    assert f"{10000 * 10 / 10030:+.1f} per 10,000 (= {1000 * 10 / 10030:+.2f} per 1,000), 2000 alone" in why[("group", "akmola")]
    assert "mean of 2000,2001,2002" in why[("group", "akmola")]
    # almaty_city: 1 Jan 2006 = 10015 + 10 - 200 = 9825 (default), 1 Jan 2005 = 10015 (paper)
    assert why[("group", "almaty_city")].startswith("population declines in default (-175, index 98.2, "
                                                    "1 Jan 2000 -> 1 Jan 2006) but grows in paper (+15")
    assert why[("group", "almaty_city")].endswith("the default's index also covers 1 Jan 2005 -> 1 Jan 2006 (-190)")
    assert why[("type", "aktobe")].startswith("same signs, end/start ratio differs")
    assert why[("type", "almaty_city")].startswith("start rate < 0 in default, > 0 in paper")
    row = out.set_index(["stage", "region"]).loc[("type", "aktobe")]
    assert (row["default_rate_unit"], row["paper_rate_unit"]) == ("per 1,000", "per 10,000")
    assert (row["default_class"], row["paper_class"]) == ("weakening inflow", "stable inflow")


def test_emerging_inflow_is_a_stated_departure(flow_panel):
    flows = dict(FLOWS, astana=([50] * 6, [-20, 0, 0, 0, 0, 10]))
    panel = flow_panel(flows, P0)
    out = paper_population_groups(panel, 2000, 2005).set_index("region")
    assert pd.isna(out.loc["astana", "group"]) and pd.isna(out.loc["astana", "group_label"])
    assert "none of the source's four groups" in out.loc["astana", "reason"]
    as1 = paper_population_groups(panel, 2000, 2005, emerging_inflow="group1").set_index("region")
    assert as1.loc["astana", "group"] == 1 and "emerging" in as1.loc["astana", "group_label"]
    sens = method_sensitivity(ty.population_change_groups(panel, 2000, 2005), out.reset_index(),
                              ty.migration_trend_types(panel, 2000, 2005), paper_trend_types(panel, 2000, 2005))
    row = sens.set_index(["stage", "region"]).loc[("group", "astana")]
    assert (row["default_class"], row["paper_class"]) == ("group 3", "unclassified")
    assert row["why"].startswith("paper leaves it unclassified: rate turned from -20.0 (2000)")
    with pytest.raises(ValueError, match="emerging_inflow='group 1' is not supported by paper_population_groups"):
        paper_population_groups(panel, 2000, 2005, emerging_inflow="group 1")


def test_why_names_cumulative_net_migration_when_it_decides(flow_panel):
    # aktobe with -5 in 2005: the default reads group 1 from cumulative net migration 90+300+300+80+80-5 = +845,
    # the paper reads group 2 from the single 2005 rate < 0
    panel = flow_panel(dict(FLOWS, aktobe=([50] * 6, [90, 300, 300, 80, 80, -5])), P0)
    sens = method_sensitivity(ty.population_change_groups(panel, 2000, 2005), paper_population_groups(panel, 2000, 2005),
                              ty.migration_trend_types(panel, 2000, 2005), paper_trend_types(panel, 2000, 2005))
    row = sens.set_index(["stage", "region"]).loc[("group", "aktobe")]
    assert (row["default_class"], row["paper_class"]) == ("group 1", "group 2")
    assert row["why"].startswith("default reads the migration side from cumulative net migration +845 over 2000-2005 (>= 0)")
    # 1 Jan 2003-2006: 10840, 10970, 11100, 11145
    end = 1000 * (80 / 10905 + 80 / 11035 - 5 / 11122.5) / 3
    assert f"; end rate >= 0 in default, < 0 in paper: default {end:+.2f} per 1,000, mean of 2003,2004,2005" in row["why"]
    assert row["why"].endswith(f"paper {10000 * -5 / 11122.5:+.1f} per 10,000 (= {-5 / 11.1225:+.2f} per 1,000), 2005 alone")


def test_errors_name_what_is_wrong(panel):
    with pytest.raises(ValueError, match="end=2000 must be after start=2000"):
        paper_population_groups(panel, 2000, 2000)
    with pytest.raises(ValueError, match="flow='net' is not supported by paper_trend_types"):
        paper_trend_types(panel, 2000, 2005, flows=("net",))
    dg = ty.population_change_groups(panel, 2000, 2005).drop(columns="growth_index")
    with pytest.raises(PanelContractError, match=r"default_groups lacks column\(s\) \['growth_index'\]"):
        method_sensitivity(dg, paper_population_groups(panel, 2000, 2005), ty.migration_trend_types(panel, 2000, 2005),
                           paper_trend_types(panel, 2000, 2005))


def test_default_thresholds_live_in_one_place():
    assert (ty.DEFAULT_K, ty.DEFAULT_REL_TOL, ty.DEFAULT_ABS_TOL, ty.DEFAULT_ROLL_WINDOW, ty.DEFAULT_ROLL_K) == (3, 0.2, 0.5, 5, 2)
    sig = {f: inspect.signature(getattr(ty, f)).parameters for f in
           ("smoothed_ends", "classify_trend", "migration_trend_types", "rolling_trend_panel", "population_change_groups")}
    assert sig["rolling_trend_panel"]["window"].default == ty.DEFAULT_ROLL_WINDOW
    assert sig["rolling_trend_panel"]["k"].default == ty.DEFAULT_ROLL_K
    for f in ("smoothed_ends", "migration_trend_types", "population_change_groups"):
        assert sig[f]["k"].default == ty.DEFAULT_K
    for f in ("classify_trend", "migration_trend_types", "rolling_trend_panel"):
        assert (sig[f]["rel_tol"].default, sig[f]["abs_tol"].default) == (ty.DEFAULT_REL_TOL, ty.DEFAULT_ABS_TOL)
    assert inspect.signature(paper_trend_types).parameters["rel_tol"].default == ty.DEFAULT_REL_TOL


# --- the shipped data, 2006-2022 in 2018 borders -------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    from kzmig.features.data.dataset import load_long, to_wide

    long = load_long("harmonised", 2018)
    panel = to_wide(long)
    skip = ty.break_years(long)
    return {"panel": panel,
            "dg": ty.population_change_groups(panel, 2006, 2022, skip=skip),
            "dt": ty.migration_trend_types(panel, 2006, 2022, skip=skip),
            "pg": paper_population_groups(panel, 2006, 2022),
            "pt": paper_trend_types(panel, 2006, 2022)}


def test_shipped_growth_index_stops_at_1_january_of_the_end_year(shipped):
    panel, pg = shipped["panel"], shipped["pg"].set_index("region")
    for region in pg.index:
        if region in ("shymkent", "turkestan"):
            continue
        p06 = p22 = None
        for rec in panel.itertuples():
            if rec.region == region and rec.year == 2006:
                p06 = rec.population
            if rec.region == region and rec.year == 2022:
                p22 = rec.population
        assert pg.loc[region, "growth_index"] == pytest.approx(p22 / p06 * 100, rel=1e-12)
        assert pg.loc[region, "index_end"] == 2022 and pg.loc[region, "rate_end_years"] == "2022"


def test_shipped_split_units_have_a_reason_and_no_class(shipped):
    pg, pt = shipped["pg"].set_index("region"), shipped["pt"]
    for region in ("shymkent", "turkestan"):
        assert pd.isna(pg.loc[region, "group"]) and pd.isna(pg.loc[region, "group_label"])
        assert "the data give it from 2017" in pg.loc[region, "reason"]
        assert pg.loc[region, "index_start"] == 2017 and pg.loc[region, "rate_start_years"] == "2017"
        rows = pt.loc[pt["region"] == region]
        assert rows["type"].isna().all() and rows["reason"].str.contains("unit formed after 2006").all()
    assert pg.drop(["shymkent", "turkestan"])["group"].notna().all()


def test_shipped_sensitivity_rows_are_exactly_the_differences(shipped):
    dg, pg, dt, pt = (shipped[k] for k in ("dg", "pg", "dt", "pt"))
    out = method_sensitivity(dg, pg, dt, pt)
    g = dg[["region", "group"]].merge(pg[["region", "group"]], on="region", suffixes=("_d", "_p"))
    g_diff = g.loc[g["group_d"].fillna(0).astype(int) != g["group_p"].fillna(0).astype(int), "region"]
    t = dt[["region", "flow", "type"]].merge(pt[["region", "flow", "type"]], on=["region", "flow"], suffixes=("_d", "_p"))
    t_diff = t.loc[t["type_d"].fillna("-").astype(str) != t["type_p"].fillna("-").astype(str), ["region", "flow"]]
    want = {("group", r, "total") for r in g_diff} | {("type", r, f) for r, f in zip(t_diff["region"], t_diff["flow"])}
    assert set(zip(out["stage"], out["region"], out["flow"])) == want and len(out) == len(want)
    assert out["why"].str.len().gt(0).all()
