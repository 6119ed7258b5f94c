"""Every forecaster: save -> load -> predict gives the same forecast table, which passes the schema."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.models.registry import make_model
from kzmig.models.schema import validate_forecast
from kzmig.models.ensemble import Ensemble
from kzmig.models.persistence import load_model, read_metadata, save_model
from kzmig.core.errors import PanelContractError


def _df() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = [(r, 2000 + t, float(rng.normal(scale=1 + i)), float(rng.normal()))
            for i, r in enumerate(["A", "B", "C"]) for t in range(12)]
    return pd.DataFrame(rows, columns=["region", "year", "y", "x"]).astype({"region": "string", "year": "int64"})


KINDS = [("naive", {}), ("drift", {}), ("window_mean", {"k": 3}), ("auto_arima", {}), ("ets", {}), ("theta", {}),
         ("pooled_ar", {}), ("boosting", {"max_horizon": 2, "max_iter": 20, "exog": ["x"]})]


@pytest.mark.parametrize(("kind", "params"), KINDS)
def test_save_load_predict_round_trip(kind, params, tmp_path):
    est = make_model(kind, params, name=kind).fit(_df())
    before = validate_forecast(est.predict(2))
    save_model(est, tmp_path / kind, {"origin_year": 2011})
    loaded = load_model(tmp_path / kind, feature_names=list(est.feature_names_))
    assert read_metadata(tmp_path / kind)["origin_year"] == 2011
    pd.testing.assert_frame_equal(loaded.predict(2), before)
    assert loaded.regions_ == ("A", "B", "C") and loaded.years_[-1] == 2011
    assert set(before["model"]) == {kind} and (before["origin_year"] == 2011).all()


def test_load_refuses_other_features(tmp_path):
    est = make_model("boosting", {"max_horizon": 1, "max_iter": 10, "exog": ["x"]}, name="gbm").fit(_df())
    save_model(est, tmp_path / "gbm")
    with pytest.raises(PanelContractError, match="x"):
        load_model(tmp_path / "gbm", feature_names=["wage"])


def test_ensemble_round_trip(tmp_path):
    members = [("naive", make_model("naive", name="naive")), ("theta", make_model("theta", name="theta"))]
    est = Ensemble(members, name="ens").fit(_df())
    save_model(est, tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    pd.testing.assert_frame_equal(loaded.predict(3), est.predict(3))
