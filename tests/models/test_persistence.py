"""save_model / load_model round trips of the panel and discrete models, metadata, refusals."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.models import persistence
from kzmig.models.panel.bootstrap import wild_cluster_bootstrap
from kzmig.models.panel import FixedEffectsMigration
from kzmig.models.persistence import (
    ModelVersionError,
    ModelVersionWarning,
    load_model,
    read_metadata,
    save_model,
)
from kzmig.models.registry import make_model


@pytest.fixture
def saved(panel, tmp_path):
    model = FixedEffectsMigration("y", ["x1", "x2"]).fit(panel)
    run = save_model(model, tmp_path / "fe", {"run_id": "r1", "config_sha256": "abc",
                                              "data": {"path": "x.csv", "sha256": "def"}})
    return model, run


def test_round_trip_predicts_the_same(saved, panel):
    model, run = saved
    loaded = load_model(run, feature_names=["x1_lag1", "x2_lag1"])
    meta = read_metadata(run)
    np.testing.assert_array_equal(loaded.predict(panel)["point"], model.predict(panel)["point"])
    assert loaded.result_.params.equals(model.result_.params)
    assert meta["feature_names"] == ["x1_lag1", "x2_lag1"] and meta["run_id"] == "r1"
    assert meta["versions"] == persistence.versions() and "skops" in meta["versions"]
    assert meta["model_class"] == "kzmig.models.panel.FixedEffectsMigration"
    assert meta["format"] == "kzmig-model/1"
    assert meta["artifacts"] == {f: persistence.sha256_file(run / f) for f in ("model.json", "arrays.npz")}
    assert len(meta["git_commit"] or "x" * 40) == 40
    assert sorted(p.name for p in run.iterdir()) == ["arrays.npz", "metadata.json", "model.json"]
    doc = json.loads((run / "model.json").read_text())
    assert doc["model"]["class"] == meta["model_class"]
    assert doc["model"]["params"]["effects"] == "both" and doc["model"]["params"]["lag"] == 1


def _edit_versions(run, **changes):
    meta = json.loads((run / "metadata.json").read_text())
    meta["versions"].update(changes)
    (run / "metadata.json").write_text(json.dumps(meta))


def test_minor_version_mismatch_warns_with_both_versions(saved):
    _, run = saved
    installed = persistence.versions()["pandas"]
    major = installed.split(".")[0]
    _edit_versions(run, pandas=f"{major}.0.0rc9")
    with pytest.warns(ModelVersionWarning, match=rf"pandas: saved {major}\.0\.0rc9, "
                                                 rf"installed {installed}"):
        load_model(run)
    with pytest.raises(ModelVersionError, match=r"strict=True"):
        load_model(run, strict=True)


def test_major_version_mismatch_raises(saved):
    _, run = saved
    _edit_versions(run, numpy="1.26.4")
    with pytest.raises(ModelVersionError, match=r"numpy: saved 1\.26\.4.*major version differs "
                                                r"for \['numpy'\]"):
        load_model(run)


def test_feature_names_and_order_are_checked(saved):
    _, run = saved
    with pytest.raises(PanelContractError, match=r"feature order differs.*\['x1_lag1', 'x2_lag1'\]"):
        load_model(run, feature_names=["x2_lag1", "x1_lag1"])
    with pytest.raises(PanelContractError, match=r"missing \['x2_lag1'\], unexpected \['x3'\]"):
        load_model(run, feature_names=["x1_lag1", "x3"])


def test_missing_or_changed_files(saved, tmp_path):
    _, run = saved
    with pytest.raises(DataFileError, match="no metadata.json"):
        load_model(tmp_path / "nowhere")
    (run / "arrays.npz").unlink()
    with pytest.raises(DataFileError, match=r"arrays\.npz: missing"):
        load_model(run)
    (run / "model.json").write_bytes(b"tampered")
    with pytest.raises(DataFileError, match=r"model\.json: sha256 .* differs from the metadata's"):
        load_model(run)
    (run / "metadata.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_model(run)


def _assert_panel_equal(loaded, model, panel):
    pd.testing.assert_frame_equal(loaded.predict(panel), model.predict(panel), check_exact=True)
    a, b = loaded.result_, model.result_
    for field in ("params", "std_errors", "pvalues"):
        pd.testing.assert_series_equal(getattr(a, field), getattr(b, field), check_exact=True,
                                       check_index_type=True)
    pd.testing.assert_frame_equal(a.moments, b.moments, check_exact=True)
    pd.testing.assert_frame_equal(a.tidy(0.9), b.tidy(0.9), check_exact=True)
    assert a.summary() == b.summary()
    assert (a.cov_type, a.nobs, a.n_regions, a.years, a.effects, a.spec, a.df_resid, a.dist, a.name) == (
        b.cov_type, b.nobs, b.n_regions, b.years, b.effects, b.spec, b.df_resid, b.dist, b.name)
    for r2 in ("r2_within", "r2_between", "r2_overall"):
        np.testing.assert_array_equal(getattr(a, r2), getattr(b, r2))
    assert (loaded.regions_, loaded.years_, loaded.feature_names_) == (model.regions_, model.years_,
                                                                       model.feature_names_)
    pd.testing.assert_frame_equal(loaded.sample_, model.sample_, check_exact=True, check_index_type=True)
    pd.testing.assert_series_equal(loaded.lm_result_.params, model.lm_result_.params, check_exact=True)
    assert loaded.get_params() == model.get_params()


PANEL_CASES = [
    ("pooled_ols", {}), ("fixed_effects", {}), ("fixed_effects", {"effects": "region"}),
    ("fixed_effects", {"cov_type": "driscoll-kraay", "kernel": "parzen", "bandwidth": 2}),
    ("random_effects", {"cov_type": "robust"}), ("between", {}), ("first_difference", {"lag": 0}),
]


@pytest.mark.parametrize(("kind", "params"), PANEL_CASES)
def test_panel_round_trip_is_exact(kind, params, panel, tmp_path):
    model = make_model(kind, target="y", features=["x1", "x2"], **params).fit(panel)
    save_model(model, tmp_path / kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refitted lm_result_ agrees bit for bit: no warning
        loaded = load_model(tmp_path / kind)
    assert type(loaded) is type(model)
    _assert_panel_equal(loaded, model, panel)


def test_loaded_panel_model_bootstraps_like_the_original(panel, tmp_path):
    model = make_model("fixed_effects", target="y", features=["x1", "x2"]).fit(panel)
    loaded = load_model(save_model(model, tmp_path / "fe"))
    a = wild_cluster_bootstrap(loaded, B=99, seed=1, conf_int=False)
    b = wild_cluster_bootstrap(model, B=99, seed=1, conf_int=False)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_failed_refit_warns_and_keeps_saved_estimates(panel, tmp_path, monkeypatch):
    model = FixedEffectsMigration("y", ["x1", "x2"]).fit(panel)
    save_model(model, tmp_path / "fe")

    def boom(self, sample, names):
        raise ValueError("planted")

    monkeypatch.setattr(FixedEffectsMigration, "_estimate", boom)
    with pytest.warns(ModelVersionWarning, match=r"refitting lm_result_ on the saved sample failed \(planted\)"):
        loaded = load_model(tmp_path / "fe")
    assert loaded.lm_result_ is None
    pd.testing.assert_frame_equal(loaded.predict(panel), model.predict(panel), check_exact=True)


def test_refit_that_differs_warns(panel, tmp_path, monkeypatch):
    model = FixedEffectsMigration("y", ["x1", "x2"]).fit(panel)
    save_model(model, tmp_path / "fe")
    real = FixedEffectsMigration._estimate
    monkeypatch.setattr(FixedEffectsMigration, "_estimate",
                        lambda self, s, names: real(self, s.assign(y=s["y"] * 1.01), names))
    with pytest.warns(ModelVersionWarning, match=r"lm_result_ refitted on the saved sample differs"):
        loaded = load_model(tmp_path / "fe")
    pd.testing.assert_series_equal(loaded.result_.params, model.result_.params, check_exact=True)


@pytest.mark.parametrize("kind", ["ordered_logit", "multinomial_logit"])
def test_logit_round_trip_is_exact(kind, type_panel, tmp_path):
    est = make_model(kind, target="type", features=["x1", "x2"], lag=0).fit(type_panel)
    run = save_model(est, tmp_path / kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_model(run, feature_names=["x1", "x2"])
    pd.testing.assert_frame_equal(loaded.predict_proba(type_panel), est.predict_proba(type_panel),
                                  check_exact=True)
    a, b = loaded.result_, est.result_
    for field in ("params", "std_errors", "pvalues", "marginal_effects", "me_std_errors", "confusion"):
        pd.testing.assert_frame_equal(getattr(a, field), getattr(b, field), check_exact=True,
                                      check_index_type=True, check_column_type=True)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy(), check_exact=True)
    pd.testing.assert_frame_equal(a.tidy_marginal_effects(), b.tidy_marginal_effects(), check_exact=True)
    assert a.summary() == b.summary()
    assert (a.categories, a.nobs, a.n_regions, a.years, a.llf, a.pseudo_r2, a.spec, a.name) == (
        b.categories, b.nobs, b.n_regions, b.years, b.llf, b.pseudo_r2, b.spec, b.name)
    assert loaded.categories_ == est.categories_ and loaded.regions_ == est.regions_
    np.testing.assert_array_equal(loaded.sm_params_, est.sm_params_)
    np.testing.assert_array_equal(np.asarray(loaded.sm_result_.params), np.asarray(est.sm_result_.params))
    pd.testing.assert_frame_equal(loaded.sample_, est.sample_, check_exact=True)
    if kind == "multinomial_logit":  # predict_proba from sm_params_ is statsmodels' own prediction
        x = type_panel[["x1", "x2"]].to_numpy()
        np.testing.assert_array_equal(loaded._probs(x), est.sm_result_.predict(np.column_stack([np.ones(len(x)), x])))
    assert read_metadata(run)["model_class"] == f"kzmig.models.panel.discrete.{type(est).__name__}"


def test_logit_registry(type_panel, tmp_path):
    from kzmig.models.registry import REGISTRY

    assert set(REGISTRY) >= {"pooled_ols", "fixed_effects", "random_effects", "between",
                             "first_difference", "ordered_logit", "multinomial_logit"}
    with pytest.raises(ValueError, match=r"kind='fe' is not supported.*'fixed_effects'"):
        make_model("fe")
    with pytest.raises(ValueError, match=r"takes no parameter\(s\) \['effect'\]; valid: "):
        make_model("fixed_effects", target="y", features=["x1"], effect="region")


def test_unfitted_model_round_trips_its_parameters(tmp_path):
    model = FixedEffectsMigration("y", ["x1"], effects="region", cov_type="robust")
    loaded = load_model(save_model(model, tmp_path / "unfitted"))
    assert loaded.get_params() == model.get_params() and not hasattr(loaded, "result_")
    assert sorted(p.name for p in (tmp_path / "unfitted").iterdir()) == ["metadata.json", "model.json"]


def test_only_allow_listed_models_are_saved(tmp_path):
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match=r"LinearRegression has no safe file format"):
        save_model(LinearRegression(), tmp_path / "lr")


def test_saving_twice_gives_the_same_bytes_and_removes_stale_files(saved, tmp_path):
    model, run = saved
    (run / "model.joblib").write_bytes(b"an old pickle")
    again = save_model(model, tmp_path / "again")
    save_model(model, run)
    for name in ("model.json", "arrays.npz"):
        assert (run / name).read_bytes() == (again / name).read_bytes(), name
    assert not (run / "model.joblib").exists()
