"""features/builders/wages.py: concepts named in the columns, relative level, growth, splits, leakage."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.builders.wages import build_wages, choose_proxy, split_years


@pytest.fixture
def panel():
    df = pd.DataFrame({
        "region": ["kazakhstan", "akmola", "aktobe"] * 2, "year": [2019] * 3 + [2020] * 3,
        "population": [np.nan, 700.0, 900.0, np.nan, 700.0, 900.0],
        "employed_population": [np.nan, 300.0, 500.0, np.nan, 300.0, 500.0],
        "money_income_per_capita_kzt": [100.0, 80.0, 110.0, np.nan, 88.0, 121.0],
        "avg_wage_kzt": [np.nan, np.nan, np.nan, 250_000.0, 200_000.0, 300_000.0],
    })
    return df.astype({"region": "string", "year": "int64"})


def test_auto_uses_income_when_wages_incomplete(panel):
    assert choose_proxy(panel) == "income"
    assert choose_proxy(panel.loc[panel["year"] == 2020]) == "wage"


def test_income_relative_and_growth_hand(panel):
    out = build_wages(panel, proxy="income", cpi=pd.Series({2020: 105.0})).set_index(["region", "year"])
    assert {"income_rel_national_pct", "income_nominal_growth_pct", "income_real_growth_pct"} <= set(out.columns)
    assert out.loc[("akmola", 2019), "income_rel_national_pct"] == pytest.approx(80.0)
    # 2020 national missing -> population-weighted mean (88*700 + 121*900) / 1600
    nat = (88 * 700 + 121 * 900) / 1600
    assert out.loc[("aktobe", 2020), "income_rel_national_pct"] == pytest.approx(100 * 121 / nat)
    assert out.loc[("akmola", 2020), "income_nominal_growth_pct"] == pytest.approx(10.0)
    assert out.loc[("akmola", 2020), "income_real_growth_pct"] == pytest.approx(100 * (1.10 / 1.05 - 1))


def test_both_concepts_each_under_its_own_name(panel):
    out = build_wages(panel).set_index(["region", "year"])
    assert {"wage_rel_national_pct", "wage_nominal_growth_pct", "income_rel_national_pct"} <= set(out.columns)
    assert not any(c.endswith("real_growth_pct") for c in out.columns)  # no CPI: growth is nominal and says so
    assert out.loc[("akmola", 2020), "wage_rel_national_pct"] == pytest.approx(80.0)
    # the wage is missing in 2019: its columns stay missing there, never filled from income
    assert np.isnan(out.loc[("akmola", 2019), "wage_rel_national_pct"])
    assert out.loc[("akmola", 2019), "income_rel_national_pct"] == pytest.approx(80.0)


def test_wage_national_fallback_is_employment_weighted(panel):
    p = panel.copy()
    p.loc[p["region"] == "kazakhstan", "avg_wage_kzt"] = np.nan
    out = build_wages(p, proxy="wage").set_index(["region", "year"])
    nat = (200_000 * 300 + 300_000 * 500) / 800  # per employee: weighted by employed persons
    assert out.loc[("aktobe", 2020), "wage_rel_national_pct"] == pytest.approx(100 * 300_000 / nat)


def test_wage_growth_hand_and_missing_in_split_year():
    rows = []
    for year, kar, uly in ((2020, 100.0, None), (2021, 110.0, None), (2022, 132.0, 150.0), (2023, 145.2, 160.0)):
        rows += [("kazakhstan", year, 120.0), ("karaganda", year, kar)] + ([("ulytau", year, uly)] if uly else [])
    p = pd.DataFrame(rows, columns=["region", "year", "avg_wage_kzt"]).assign(population=1.0)
    p = p.astype({"region": "string", "year": "int64"})
    assert split_years(p).tolist() == [(r, y) == ("karaganda", 2022) for r, y in zip(p["region"], p["year"])]
    out = build_wages(p, proxy="wage").set_index(["region", "year"])["wage_nominal_growth_pct"]
    assert out[("karaganda", 2021)] == pytest.approx(10.0)
    assert np.isnan(out[("karaganda", 2022)])  # 2022 Karaganda lost Ulytau: not a growth rate
    assert out[("karaganda", 2023)] == pytest.approx(10.0)
    # without Ulytau in the panel (a fixed-border view) 2022 is an ordinary year
    merged = p.loc[p["region"] != "ulytau"]
    assert build_wages(merged, proxy="wage").set_index(["region", "year"]).loc[
        ("karaganda", 2022), "wage_nominal_growth_pct"] == pytest.approx(20.0)


def test_wage_proxy_names_columns(panel):
    out = build_wages(panel, proxy="wage")
    assert "wage_rel_national_pct" in out and "income_rel_national_pct" not in out
    assert out.loc[4, "wage_rel_national_pct"] == pytest.approx(80.0)


def test_errors(panel):
    with pytest.raises(ValueError, match="proxy='salary'.*'auto', 'both', 'income', 'wage'"):
        build_wages(panel, proxy="salary")
    with pytest.raises(PanelContractError, match="avg_wage_kzt"):
        build_wages(panel.drop(columns="avg_wage_kzt"), proxy="wage")
    with pytest.raises(PanelContractError, match="neither 'avg_wage_kzt' nor 'money_income_per_capita_kzt'"):
        build_wages(panel.drop(columns=["avg_wage_kzt", "money_income_per_capita_kzt"]))


def test_leakage(panel):
    full = build_wages(panel, lags=(1,))
    cut = build_wages(panel.loc[panel["year"] <= 2019], lags=(1,))
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2019].reset_index(drop=True), cut.reset_index(drop=True))


def test_no_wage_or_income_column_auto(panel):
    with pytest.raises(PanelContractError, match="neither 'avg_wage_kzt' .* nor 'money_income_per_capita_kzt'"):
        build_wages(panel.drop(columns=["money_income_per_capita_kzt"]), proxy="auto")
