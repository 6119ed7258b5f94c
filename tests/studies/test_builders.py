"""One registry of feature builders, read by the regression (factor panel) and the assessment (stage 4)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import ConfigError
from kzmig.features import BUILDER_NAMES
from kzmig.features.builders import registry as reg
from kzmig.features.builders.attractiveness import AttractivenessIndex
from kzmig.features.builders.factors import add_features

PANEL = pd.DataFrame({"region": ["akmola", "akmola", "astana", "astana"], "year": [2020, 2021, 2020, 2021],
                      "population": [700_000.0, 710_000.0, 1_200_000.0, 1_300_000.0]})


def _per_1000(panel: pd.DataFrame) -> pd.DataFrame:
    return panel[["region", "year"]].assign(toy_thousands=panel["population"] / 1000.0)


@pytest.fixture
def toy():
    yield reg.register_builder(reg.FeatureBuilder("toy", _per_1000, "population in thousands"))
    reg.BUILDERS.pop("toy")  # registered for this test only


def test_builder_names_are_the_registry_s():
    assert BUILDER_NAMES == ("density", "labour", "housing", "wages", "attractiveness") == tuple(reg.BUILDERS)
    assert set(reg.ASSESSMENT_BUILDERS) <= set(BUILDER_NAMES)


def test_a_registered_builder_reaches_the_regression_panel(toy):
    out = add_features(PANEL, ["toy"])
    assert out["toy_thousands"].tolist() == [700.0, 710.0, 1200.0, 1300.0]  # by hand
    with pytest.raises(ValueError, match="registered already"):
        reg.register_builder(reg.FeatureBuilder("toy", _per_1000))


def test_unknown_builders_are_config_errors_naming_the_choices():
    with pytest.raises(ConfigError, match=r"features.builders: \['densityx'\] unknown; choose from \['attractiveness', "):
        add_features(PANEL, ["densityx"])
    with pytest.raises(ConfigError, match=r"features.builders: \['nope'\] unknown"):
        reg.get_builder("nope")


def test_a_builder_must_return_the_keys():
    with pytest.raises(ValueError, match=r"returned no \['year'\] column"):
        reg.FeatureBuilder("bad", lambda p: p[["region", "population"]]).build(PANEL)


def test_attractiveness_is_one_builder_for_both_studies(shipped_panel):
    """The regression's columns and the assessment's diagnostics come from the same fit, equal to the
    index fitted directly."""
    win = shipped_panel.loc[shipped_panel["year"].between(2010, 2020)].reset_index(drop=True)
    direct = AttractivenessIndex().fit(win)
    expected = direct.transform(win)
    built = reg.get_builder("attractiveness").build(win)
    got = built.columns.set_index(["region", "year"])
    want = expected.set_index(["region", "year"])[["attractiveness_equal", "attractiveness_pc1"]]
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy(), equal_nan=True)
    assert set(built.tables) == {"attractiveness", "attractiveness_loadings", "attractiveness_missing"}
    np.testing.assert_allclose(built.tables["attractiveness_loadings"]["explained_variance_ratio_pc1"],
                               direct.explained_variance_ratio_)
    panel = add_features(win, ["attractiveness"]).set_index(["region", "year"])
    np.testing.assert_allclose(panel.loc[got.index, ["attractiveness_equal", "attractiveness_pc1"]].to_numpy(),
                               got.to_numpy(), equal_nan=True)


@pytest.fixture(scope="module")
def shipped_panel() -> pd.DataFrame:
    from kzmig.features.data.dataset import load_panel

    return load_panel(view="harmonised", borders=2018)


def test_a_bad_geojson_fails_when_the_assessment_runs_not_when_it_is_saved(tmp_path):
    from kzmig.core.errors import DataFileError
    from kzmig.studies.assess import read_geojson

    (tmp_path / "junk.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"junk.geojson: not a readable GeoJSON FeatureCollection"):
        read_geojson(tmp_path / "junk.geojson")
    (tmp_path / "list.geojson").write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"no 'features' list"):
        read_geojson(tmp_path / "list.geojson")
    (tmp_path / "ok.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert read_geojson(tmp_path / "ok.geojson") == {"type": "FeatureCollection", "features": []}
