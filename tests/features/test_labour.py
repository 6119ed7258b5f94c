"""features/builders/labour.py: hand-worked values, national fallback, leakage, errors."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.builders.labour import build_labour


@pytest.fixture
def panel():
    df = pd.DataFrame({
        "region": ["kazakhstan", "akmola", "aktobe"] * 3,
        "year": [2010] * 3 + [2011] * 3 + [2012] * 3,
        "unemployment_rate_pct": [5.0, 6.0, 4.0, np.nan, 5.0, 7.0, 5.0, 5.0, 4.5],
        "labour_force_persons": [np.nan, 400.0, 600.0, np.nan, 420.0, 580.0, np.nan, 410.0, 600.0],
        "population": [np.nan, 800.0, 1000.0, np.nan, 810.0, 1000.0, np.nan, 820.0, 1010.0],
    })
    return df.astype({"region": "string", "year": "int64"})


def test_labour_hand(panel):
    out = build_labour(panel).set_index(["region", "year"])
    assert out.loc[("akmola", 2010), "unemployment_gap_pp"] == pytest.approx(1.0)
    assert out.loc[("akmola", 2010), "labour_surplus"] == 1.0
    assert out.loc[("aktobe", 2010), "labour_surplus"] == 0.0
    # 2011: no national row value -> labour-force-weighted mean (5*420 + 7*580) / 1000 = 6.16
    assert out.loc[("akmola", 2011), "unemployment_gap_pp"] == pytest.approx(5.0 - 6.16)
    assert out.loc[("aktobe", 2011), "labour_surplus"] == 1.0
    # equal to the national rate is not a surplus
    assert out.loc[("akmola", 2012), "labour_surplus"] == 0.0
    assert out.loc[("akmola", 2011), "labour_force_growth_pct"] == pytest.approx(5.0)
    assert np.isnan(out.loc[("akmola", 2010), "labour_force_growth_pct"])
    assert out.loc[("aktobe", 2012), "labour_force_share_pct"] == pytest.approx(100 * 600 / 1010)


def test_thousands_column_is_converted(panel):
    alt = panel.rename(columns={"labour_force_persons": "labour_force_thousand"})
    alt["labour_force_thousand"] /= 1000
    a, b = build_labour(panel), build_labour(alt)
    np.testing.assert_allclose(a["labour_force_persons"], b["labour_force_persons"], equal_nan=True)
    np.testing.assert_allclose(a["labour_force_growth_pct"], b["labour_force_growth_pct"], equal_nan=True)


def test_leakage(panel):
    full = build_labour(panel, lags=(1,))
    cut = build_labour(panel.loc[panel["year"] <= 2011], lags=(1,))
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2011].reset_index(drop=True), cut.reset_index(drop=True))


def test_missing_labour_force_column(panel):
    with pytest.raises(PanelContractError, match="labour_force_persons"):
        build_labour(panel.drop(columns="labour_force_persons"))
