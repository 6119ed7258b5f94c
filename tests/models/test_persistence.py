"""save_model / load_model round trips, metadata and the refusal paths."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.models import persistence
from kzmig.models.persistence import (
    ModelVersionError,
    ModelVersionWarning,
    load_model,
    read_metadata,
    save_model,
)
from kzmig.models.panel import FixedEffectsMigration


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
    assert meta["versions"] == persistence.versions()
    assert meta["model_class"] == "kzmig.models.panel.FixedEffectsMigration"
    assert meta["artifact_sha256"] == persistence.sha256_file(run / "model.joblib")
    assert len(meta["git_commit"] or "x" * 40) == 40
    assert sorted(p.name for p in run.iterdir()) == ["metadata.json", "model.joblib"]


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
    (run / "model.joblib").write_bytes(b"tampered")
    with pytest.raises(DataFileError, match="differs from the metadata's"):
        load_model(run)
    (run / "metadata.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_model(run)


def test_logit_round_trip_and_registry(type_panel, tmp_path):
    from kzmig.models.registry import REGISTRY, make_model

    est = make_model("ordered_logit", target="type", features=["x1", "x2"], lag=0).fit(type_panel)
    run = save_model(est, tmp_path / "ologit")
    loaded = load_model(run, feature_names=["x1", "x2"])
    meta = read_metadata(run)
    pd.testing.assert_frame_equal(loaded.predict_proba(type_panel), est.predict_proba(type_panel))
    assert meta["model_class"] == "kzmig.models.discrete.OrderedLogitMigration"
    assert set(REGISTRY) >= {"pooled_ols", "fixed_effects", "random_effects", "between",
                             "first_difference", "ordered_logit", "multinomial_logit"}
    with pytest.raises(ValueError, match=r"kind='fe' is not supported.*'fixed_effects'"):
        make_model("fe")
    with pytest.raises(ValueError, match=r"takes no parameter\(s\) \['effect'\]; valid: "):
        make_model("fixed_effects", target="y", features=["x1"], effect="region")
