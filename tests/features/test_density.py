"""features/builders/density.py: hand values, missing areas, border-aware areas, leakage."""
import logging

import numpy as np
import pandas as pd
import pytest

from kzmig.features.builders.density import build_density
from kzmig.core.errors import PanelContractError


@pytest.fixture
def panel():
    df = pd.DataFrame({"region": ["akmola"] * 3 + ["astana"] * 3, "year": [2015, 2016, 2017] * 2,
                       "population": [740e3, 738e3, 736e3, 870e3, 950e3, 1030e3],
                       "area_km2": [146219.0] * 3 + [np.nan, 797.33, 797.33]})
    return df.astype({"region": "string", "year": "int64"})


def test_density_hand_and_missing_area_is_missing(panel, caplog):
    with caplog.at_level(logging.WARNING, logger="kzmig.features.builders.density"):
        out = build_density(panel)
    np.testing.assert_allclose(out["pop_density_km2"].iloc[:3], np.array([740e3, 738e3, 736e3]) / 146219)
    assert np.isnan(out["pop_density_km2"].iloc[3])  # never 0
    assert out["pop_density_km2"].iloc[4] == pytest.approx(950e3 / 797.33)
    assert "area unknown for 1 row(s)" in caplog.text and "astana" in caplog.text


def test_areas_table_with_validity_years(panel):
    areas = pd.DataFrame({"region": ["astana", "astana", "akmola"], "area_km2": [710.0, 797.33, 146219.0],
                          "valid_from_year": [np.nan, 2017, np.nan], "valid_to_year": [2016, np.nan, np.nan]})
    out = build_density(panel.drop(columns="area_km2"), areas, lags=(1,))
    a = out.loc[out["region"] == "astana"]
    np.testing.assert_allclose(a["pop_density_km2"], [870e3 / 710, 950e3 / 710, 1030e3 / 797.33])
    assert a["pop_density_km2_lag1"].iloc[2] == pytest.approx(950e3 / 710)


def test_overlapping_area_validity_is_an_error(panel):
    areas = pd.DataFrame({"region": ["astana", "astana"], "area_km2": [710.0, 797.33],
                          "valid_from_year": [np.nan, 2016], "valid_to_year": [2016, np.nan]})
    with pytest.raises(PanelContractError, match=r"overlapping validity for \(region='astana', year=2016\)"):
        build_density(panel.drop(columns="area_km2"), areas)


def test_leakage(panel):
    full = build_density(panel, lags=(1,), changes=(1,))
    cut = build_density(panel.loc[panel["year"] <= 2016], lags=(1,), changes=(1,))
    pd.testing.assert_frame_equal(full.loc[full["year"] <= 2016].reset_index(drop=True), cut.reset_index(drop=True))


def test_areas_table_without_area_column(panel):
    with pytest.raises(PanelContractError, match=r"areas table lacks \['area_km2'\]"):
        build_density(panel.drop(columns="area_km2"), pd.DataFrame({"region": ["astana"], "km2": [1.0]}))
