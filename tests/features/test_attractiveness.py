"""features/builders/attractiveness.py against numpy z-scores and an eigen-decomposition."""
import numpy as np
import pandas as pd
import pytest

from kzmig.features.builders.attractiveness import AttractivenessIndex
from kzmig.core.errors import PanelContractError

REGIONS = ["akmola", "aktobe", "astana", "atyrau", "kostanay", "pavlodar"]
COMPS = ("income", "doctors_per_10000", "emissions_t_per_capita")


@pytest.fixture
def panel():
    rng = np.random.default_rng(11)
    rows = [(r, y) for y in (2018, 2019, 2020) for r in REGIONS]
    df = pd.DataFrame(rows, columns=["region", "year"]).astype({"region": "string", "year": "int64"})
    n = len(df)
    df["population"] = rng.uniform(5e5, 2e6, n)
    df["money_income_per_capita_kzt"] = rng.uniform(6e4, 2e5, n)
    df["doctors"] = df["population"] * rng.uniform(20, 60, n) / 1e4
    df["air_emissions_thousand_t"] = rng.uniform(10, 600, n)
    return df


def _manual_z(df):
    x = pd.DataFrame({"income": df["money_income_per_capita_kzt"],
                      "doctors_per_10000": 1e4 * df["doctors"] / df["population"],
                      "emissions_t_per_capita": 1e3 * df["air_emissions_thousand_t"] / df["population"]})
    z = np.empty_like(x.to_numpy())
    for y in df["year"].unique():
        m = (df["year"] == y).to_numpy()
        block = x.to_numpy()[m]
        z[m] = (block - block.mean(axis=0)) / block.std(axis=0)  # population sd (ddof=0)
    z[:, 2] *= -1  # emissions: higher is worse
    return z


def test_equal_weights_match_numpy(panel):
    out = AttractivenessIndex(components=COMPS).fit_transform(panel)
    z = _manual_z(panel)
    np.testing.assert_allclose(out[["z_income", "z_doctors_per_10000", "z_emissions_t_per_capita"]], z, rtol=1e-12)
    np.testing.assert_allclose(out["attractiveness_equal"], z.mean(axis=1), rtol=1e-12)


def test_pc1_matches_eigendecomposition(panel):
    model = AttractivenessIndex(components=COMPS).fit(panel)
    z = _manual_z(panel)
    vals, vecs = np.linalg.eigh(np.cov(z, rowvar=False))
    w = vecs[:, -1] * np.sign(vecs[:, -1].sum())
    np.testing.assert_allclose(model.loadings_["loading_pc1"], w, atol=1e-10)
    assert model.explained_variance_ratio_ == pytest.approx(vals[-1] / vals.sum(), rel=1e-10)
    out = model.transform(panel)
    np.testing.assert_allclose(out["attractiveness_pc1"], (z - z.mean(axis=0)) @ w, atol=1e-10)
    assert list(model.loadings_["direction"]) == [1, 1, -1]
    assert model.loadings_["weight_equal"].tolist() == pytest.approx([1 / 3] * 3)


def test_missing_component_reported_and_left_out_of_that_year(panel):
    df = panel.copy()
    df.loc[(df["year"] == 2019) & (df["region"] == "astana"), "doctors"] = np.nan
    model = AttractivenessIndex(components=COMPS).fit(df)
    miss = model.missing_components_
    assert miss.to_dict("records") == [{"year": 2019, "component": "doctors_per_10000", "n_missing": 1, "regions": "astana"}]
    out = model.transform(df)
    y19 = out["year"] == 2019
    np.testing.assert_allclose(out.loc[y19, "attractiveness_equal"],
                               out.loc[y19, ["z_income", "z_emissions_t_per_capita"]].mean(axis=1))
    assert (out.loc[y19, "n_components_equal"] == 2).all()
    assert out.loc[y19 & (out["region"] == "astana"), "attractiveness_pc1"].isna().all()
    assert model.n_complete_rows_ == len(df) - 1


def test_leakage_of_equal_weights(panel):
    full = AttractivenessIndex(components=COMPS).fit_transform(panel)
    cut = AttractivenessIndex(components=COMPS).fit_transform(panel.loc[panel["year"] <= 2019])
    a = full.loc[full["year"] <= 2019].reset_index(drop=True)
    pd.testing.assert_series_equal(a["attractiveness_equal"], cut["attractiveness_equal"])


def test_errors(panel):
    with pytest.raises(ValueError, match="component='crime' is not supported by AttractivenessIndex"):
        AttractivenessIndex(components=("income", "crime")).fit(panel)
    with pytest.raises(ValueError, match="at least 2 components"):
        AttractivenessIndex(components=("income",)).fit(panel)
    with pytest.raises(PanelContractError, match="life_expectancy_years"):
        AttractivenessIndex(components=("income", "life_expectancy")).fit(panel)
    few = panel.loc[panel["year"] == 2018].head(3)
    with pytest.raises(PanelContractError, match="only 3 region-years have all components"):
        AttractivenessIndex(components=COMPS).fit(few)
