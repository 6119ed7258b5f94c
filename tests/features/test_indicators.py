"""features/assessment/indicators.py against hand-worked examples."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.assessment.indicators import (balancing_residual, components_of_change, migration_rates,
                                 national_reference, same_sign_ratio, target_achievement)


@pytest.fixture
def toy():
    """Two regions, flows 2000-2003, population to 1 Jan 2004 (hand-checkable)."""
    rows = []
    pops = {"akmola": [1000, 1010, 1025, 1030, 1040], "aktobe": [500, 495, 490, 480, 470]}
    nat = {"akmola": [12, 10, 8, 9], "aktobe": [1, 1, 0, -1]}
    mig = {"akmola": [-2, 5, -3, 3], "aktobe": [-6, -6, -10, -9]}
    for r in pops:
        for i, y in enumerate(range(2000, 2005)):
            rows.append({"region": r, "year": y, "population": pops[r][i],
                         "natural_increase": nat[r][i] if i < 4 else np.nan,
                         "net_migration": mig[r][i] if i < 4 else np.nan})
    df = pd.DataFrame(rows).astype({"region": "string", "year": "int64", "population": "float64",
                                    "natural_increase": "float64", "net_migration": "float64"})
    df["population_avg"] = df.groupby("region")["population"].transform(lambda s: (s + s.shift(-1)) / 2)
    return df


def test_same_sign_ratio_cases():
    r, why = same_sign_ratio([2, -3, 4, 0, np.nan], [4, -6, -2, 5, 1], what="x")
    np.testing.assert_allclose(r[:2], [0.5, 0.5])
    assert np.isnan(r[2:]).all()
    assert "opposite signs" in why[2] and "zero" in why[3] and "missing" in why[4] and why[0] == ""


def test_balancing_residual_hand(toy):
    out = balancing_residual(toy)
    a = out.loc[out["region"] == "akmola"].set_index("year")["balancing_residual"]
    # 1040 - 1030 - 9 - 3 = -2 in 2003; zero before
    np.testing.assert_allclose(a.loc[2000:2003].to_numpy(), [0, 0, 0, -2])
    assert np.isnan(a.loc[2004])


def test_components_of_change_hand(toy):
    out = components_of_change(toy, 2000, 2003).set_index("region")
    a, b = out.loc["akmola"], out.loc["aktobe"]
    assert (a["population_start"], a["population_end"], a["natural_increase"], a["net_migration"]) == (1000, 1040, 39, 3)
    assert a["growth_index"] == pytest.approx(104.0)
    assert a["balancing_residual"] == pytest.approx(-2.0)
    assert a["share_natural_increase_pct"] == pytest.approx(97.5)
    assert a["share_net_migration_pct"] == pytest.approx(7.5)
    # decline: natural increase +1 against a change of -30 -> no share, with the reason
    assert b["population_change"] == -30 and b["balancing_residual"] == 0
    assert np.isnan(b["share_natural_increase_pct"]) and "opposite signs" in b["share_reason"]
    assert b["share_net_migration_pct"] == pytest.approx(100 * 31 / 30)


@pytest.mark.parametrize("start, end", [(2000, 2000), (2001, 2002), (2000, 2003), (2002, 2003)])
def test_components_of_change_match_a_plain_loop_over_the_rows(toy, start, end):
    """Each component from the raw rows: P at 1 Jan start and 1 Jan end + 1, N and M summed over
    start..end, the residual what the balancing equation leaves (not the module's identity)."""
    pop, nat, mig = {}, {}, {}
    for r, y, p, n, m in toy[["region", "year", "population", "natural_increase", "net_migration"]].itertuples(index=False):
        pop[(r, y)], nat[(r, y)], mig[(r, y)] = p, n, m
    out = components_of_change(toy, start, end).set_index("region")
    for r in ("akmola", "aktobe"):
        p0, p1 = pop[(r, start)], pop[(r, end + 1)]
        n = sum(nat[(r, y)] for y in range(start, end + 1))
        m = sum(mig[(r, y)] for y in range(start, end + 1))
        resid = sum(pop[(r, y + 1)] - pop[(r, y)] - nat[(r, y)] - mig[(r, y)] for y in range(start, end + 1))
        got = out.loc[r]
        np.testing.assert_allclose(
            got[["population_start", "population_end", "natural_increase", "net_migration", "balancing_residual",
                 "growth_index"]].astype(float), [p0, p1, n, m, resid, 100 * p1 / p0], rtol=1e-12, err_msg=r)


def test_components_missing_start_gives_reason_not_failure(toy):
    out = components_of_change(toy, 1999, 2002, regions=["akmola", "astana"]).set_index("region")
    assert "no population at 1 Jan 1999" in out.loc["akmola", "reason"]
    assert "natural_increase missing in 1999" in out.loc["akmola", "reason"]
    assert np.isnan(out.loc["akmola", "growth_index"])
    assert "not in the panel" in out.loc["astana", "reason"]


def test_components_end_before_start(toy):
    with pytest.raises(ValueError, match="end=2001 is before start=2003"):
        components_of_change(toy, 2003, 2001)


def test_migration_rates_hand(toy):
    df = toy.assign(interregional_arrivals=100.0, interregional_departures=80.0, interregional_net=20.0,
                    external_net=toy["net_migration"] - 20.0)
    out = migration_rates(df).set_index(["region", "year"])
    r = out.loc[("akmola", 2000)]
    assert r["net_migration_rate_per_1000"] == pytest.approx(-2 / 1005 * 1000)
    assert r["net_migration_rate_per_10000"] == pytest.approx(-2 / 1005 * 10000)
    assert r["gross_internal_rate_per_1000"] == pytest.approx(180 / 1005 * 1000)
    assert r["internal_net_rate_per_1000"] == pytest.approx(20 / 1005 * 1000)
    assert r["external_net_rate_per_1000"] == pytest.approx(-22 / 1005 * 1000)
    assert r["effectiveness_index_internal"] == pytest.approx(100 * 20 / 180)


def test_migration_rates_skips_absent_flows_and_checks_options(toy):
    out = migration_rates(toy, per=(1000,))
    assert "effectiveness_index_internal" not in out and "internal_net_rate_per_1000" not in out
    with pytest.raises(ValueError, match="denominator='mid'.*'population', 'population_avg'"):
        migration_rates(toy, denominator="mid")
    bad = toy.copy()
    bad.loc[1, "population_avg"] = 0.0
    with pytest.raises(PanelContractError, match=r"non-positive.*region='akmola', year=2001"):
        migration_rates(bad)


def test_national_reference_row_then_weighted_mean():
    df = pd.DataFrame({"region": ["kazakhstan", "akmola", "aktobe"] * 2, "year": [2000] * 3 + [2001] * 3,
                       "x": [5.0, 1.0, 2.0, np.nan, 10.0, 20.0],
                       "population": [np.nan, 1.0, 1.0, np.nan, 1000.0, 500.0]})
    df = df.astype({"region": "string", "year": "int64"})
    ref = national_reference(df, "x")
    assert ref.loc[2000] == 5.0  # the national row wins
    assert ref.loc[2001] == pytest.approx((10 * 1000 + 20 * 500) / 1500)
    assert np.isnan(national_reference(df, "x", weight=None).loc[2001])


def test_target_achievement(toy):
    targets = pd.DataFrame({"indicator": ["net_migration", "net_migration"], "region": ["akmola", "akmola"],
                            "year": [2001, 2002], "target": [10.0, 6.0]})
    out = target_achievement(toy, targets)
    assert out.loc[0, "achievement_pct"] == pytest.approx(50.0)
    assert np.isnan(out.loc[1, "achievement_pct"]) and "opposite signs" in out.loc[1, "reason"]
    with pytest.raises(PanelContractError, match=r"indicator\(s\) \['wages'\]"):
        target_achievement(toy, targets.assign(indicator="wages"))
    with pytest.raises(PanelContractError, match=r"lacks column\(s\) \['target'\]"):
        target_achievement(toy, targets.drop(columns="target"))


def _rate_panel():
    return pd.DataFrame({"region": ["north_kazakhstan"] * 2, "year": [2023, 2024], "rate": [-8.66, 2.0],
                         "emigrants": [40000.0, 20000.0]}).astype({"region": "string", "year": "int64"})


def test_target_achievement_reads_the_direction():
    """The defect: -8.66 against a target of -5 scored 173 % (actual / target) although the outflow
    is worse than the one allowed. ``at_least -5`` (net outflow at most 5 per 1,000) now scores
    100 x -5 / -8.66 < 100 %; ``at_most`` targets divide the other way for positive values."""
    targets = pd.DataFrame({
        "indicator": ["rate", "rate", "rate", "emigrants", "emigrants", "rate"],
        "region": ["north_kazakhstan"] * 6, "year": [2023, 2023, 2024, 2023, 2024, 2023],
        "value": [-5.0, -5.0, -5.0, 30000.0, 30000.0, -5.0],
        "direction": ["at_least", "at_most", "at_least", "at_most", "at_most", "at_least"],
        "measure": ["level"] * 5 + ["cumulative"], "source": ["test"] * 6})
    out = target_achievement(_rate_panel(), targets)
    assert out.loc[0, "achievement_pct"] == pytest.approx(100 * 5 / 8.66) and out.loc[0, "achievement_pct"] < 100
    assert out.loc[0, "gap"] == pytest.approx(-3.66) and not out.loc[0, "met"]
    # at_most -5: -8.66 is below the ceiling, so better than the target in its direction
    assert out.loc[1, "achievement_pct"] == pytest.approx(173.2) and out.loc[1, "met"]
    # opposite signs: no ratio, but the target is met and the gap says by how much
    assert np.isnan(out.loc[2, "achievement_pct"]) and "opposite signs" in out.loc[2, "reason"]
    assert out.loc[2, "gap"] == pytest.approx(7.0) and out.loc[2, "met"]
    assert out.loc[3, "achievement_pct"] == pytest.approx(75.0) and not out.loc[3, "met"]
    assert out.loc[4, "achievement_pct"] == pytest.approx(150.0) and out.loc[4, "gap"] == pytest.approx(10000.0)
    assert np.isnan(out.loc[5, "achievement_pct"]) and "cumulative" in out.loc[5, "reason"] and pd.isna(out.loc[5, "met"])
    assert out["source"].eq("test").all()  # the table's other columns are kept
    # exactly on target: 100 % in either direction
    on = target_achievement(_rate_panel(), targets.iloc[[0, 1]].assign(value=-8.66))
    np.testing.assert_allclose(on["achievement_pct"], [100.0, 100.0])
    assert on["met"].all()


def test_target_achievement_rejects_unknown_direction_and_measure():
    targets = pd.DataFrame({"indicator": ["rate"], "region": ["north_kazakhstan"], "year": [2023], "value": [-5.0],
                            "direction": ["above"]})
    with pytest.raises(PanelContractError, match=r"direction='above' is not supported by target_achievement: "
                                                 r"target row 0 \('rate', 'north_kazakhstan'\)"):
        target_achievement(_rate_panel(), targets)
    with pytest.raises(PanelContractError, match=r"measure='total'.*'cumulative', 'level'"):
        target_achievement(_rate_panel(), targets.assign(direction="at_least", measure="total"))


def test_national_reference_without_weight_column():
    df = pd.DataFrame({"region": ["kazakhstan", "akmola"], "year": [2000, 2000], "x": [np.nan, 1.0]})
    with pytest.raises(PanelContractError, match="column 'population' \\(weight of the fallback for 'x'\\) is absent"):
        national_reference(df.astype({"region": "string", "year": "int64"}), "x")
