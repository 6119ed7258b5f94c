"""features/builders/housing.py: hand values, skipped features, leakage."""
import numpy as np
import pandas as pd
import pytest

from kzmig.features.builders.housing import build_housing


@pytest.fixture
def panel():
    df = pd.DataFrame({"region": ["akmola", "akmola", "astana", "astana"], "year": [2020, 2021] * 2,
                       "population": [740e3, 736e3, 1.1e6, 1.2e6],
                       "housing_commissioned_m2": [500e3, np.nan, 3e6, 3.3e6],
                       "price_new_housing_kzt_m2": [250e3, 270e3, 400e3, 500e3],
                       "money_income_per_capita_kzt": [100e3, 110e3, 160e3, 0.0],
                       "rent_kzt_m2": [2000.0, 2200.0, 3000.0, 3300.0],
                       "avg_wage_kzt": [200e3, np.nan, 320e3, 400e3]})
    return df.astype({"region": "string", "year": "int64"})


def test_housing_hand(panel):
    out = build_housing(panel)
    np.testing.assert_allclose(out["new_housing_m2_per_1000"], [1000 * 500e3 / 740e3, np.nan, 1000 * 3e6 / 1.1e6, 1000 * 3.3e6 / 1.2e6])
    assert out.loc[0, "price_new_m2_to_monthly_income"] == pytest.approx(2.5)
    assert out.loc[2, "rent_m2_to_monthly_income_pct"] == pytest.approx(100 * 3000 / 160e3)
    assert np.isnan(out.loc[3, "price_new_m2_to_monthly_income"])  # zero income: missing, not inf
    assert "price_resale_m2_to_monthly_income" not in out  # its source column is absent
    # months of the average wage per m2: 250e3 / 200e3; a missing wage stays missing
    np.testing.assert_allclose(out["price_new_m2_to_monthly_wage"], [1.25, np.nan, 1.25, 1.25])


def test_leakage(panel):
    full = build_housing(panel, lags=(1,), changes=(1,))
    cut = build_housing(panel.loc[panel["year"] <= 2020], lags=(1,), changes=(1,))
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2020].reset_index(drop=True), cut.reset_index(drop=True))
