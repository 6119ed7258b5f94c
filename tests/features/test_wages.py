"""features/wages.py: proxy choice named in the columns, relative level, growth, leakage."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.wages import build_wages, choose_proxy


@pytest.fixture
def panel():
    df = pd.DataFrame({
        "region": ["kazakhstan", "akmola", "aktobe"] * 2, "year": [2019] * 3 + [2020] * 3,
        "population": [np.nan, 700.0, 900.0, np.nan, 700.0, 900.0],
        "money_income_per_capita_kzt": [100.0, 80.0, 110.0, np.nan, 88.0, 121.0],
        "avg_wage_thousand_kzt": [np.nan, np.nan, np.nan, 250.0, 200.0, 300.0],
    })
    return df.astype({"region": "string", "year": "int64"})


def test_auto_uses_income_when_wages_incomplete(panel):
    assert choose_proxy(panel) == "income"
    assert choose_proxy(panel.loc[panel["year"] == 2020]) == "wage"


def test_income_relative_and_growth_hand(panel):
    out = build_wages(panel, cpi=pd.Series({2020: 105.0})).set_index(["region", "year"])
    assert {"income_rel_national_pct", "income_nominal_growth_pct", "income_real_growth_pct"} <= set(out.columns)
    assert out.loc[("akmola", 2019), "income_rel_national_pct"] == pytest.approx(80.0)
    # 2020 national missing -> population-weighted mean (88*700 + 121*900) / 1600
    nat = (88 * 700 + 121 * 900) / 1600
    assert out.loc[("aktobe", 2020), "income_rel_national_pct"] == pytest.approx(100 * 121 / nat)
    assert out.loc[("akmola", 2020), "income_nominal_growth_pct"] == pytest.approx(10.0)
    assert out.loc[("akmola", 2020), "income_real_growth_pct"] == pytest.approx(100 * (1.10 / 1.05 - 1))


def test_wage_proxy_names_columns(panel):
    out = build_wages(panel, proxy="wage")
    assert "wage_rel_national_pct" in out and "income_rel_national_pct" not in out
    assert out.loc[4, "wage_rel_national_pct"] == pytest.approx(80.0)


def test_errors(panel):
    with pytest.raises(ValueError, match="proxy='salary'.*'auto', 'income', 'wage'"):
        build_wages(panel, proxy="salary")
    with pytest.raises(PanelContractError, match="avg_wage_thousand_kzt"):
        build_wages(panel.drop(columns="avg_wage_thousand_kzt"), proxy="wage")


def test_leakage(panel):
    full = build_wages(panel, proxy="income", lags=(1,))
    cut = build_wages(panel.loc[panel["year"] <= 2019], proxy="income", lags=(1,))
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2019].reset_index(drop=True), cut.reset_index(drop=True))


def test_no_wage_or_income_column(panel):
    with pytest.raises(PanelContractError, match="neither 'avg_wage_thousand_kzt' .* nor 'money_income_per_capita_kzt'"):
        build_wages(panel.drop(columns=["money_income_per_capita_kzt"]))
