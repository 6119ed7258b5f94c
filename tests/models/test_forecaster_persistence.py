"""Every forecaster: save -> load -> predict gives the same forecast table, bit for bit."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.models.forecasters.arima import AutoARIMA
from kzmig.models.registry import FORECAST_KINDS, make_model
from kzmig.models.forecasters.ensemble import Ensemble
from kzmig.models.persistence import load_model, read_metadata, save_model
from kzmig.models.forecasters.schema import validate_forecast

LEVELS = (0.5, 0.8, 0.95)


def _df() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = [(r, 2000 + t, float(rng.normal(scale=1 + i)), float(rng.normal()))
            for i, r in enumerate(["A", "B", "C"]) for t in range(12)]
    return pd.DataFrame(rows, columns=["region", "year", "y", "x"]).astype({"region": "string", "year": "int64"})


def _varied() -> pd.DataFrame:
    """Trending, autocorrelated and noisy regions with a flagged break and a population column."""
    rng = np.random.default_rng(11)
    rows = []
    for i, r in enumerate(["A", "B", "C", "D"]):
        y = 0.0
        for t in range(16):
            y = [0.8 * y + rng.normal(), y + 0.7 + rng.normal(scale=0.3), rng.normal(scale=3.0),
                 -0.5 * t + rng.normal()][i]
            rows.append((r, 2003 + t, y + (25.0 if t == 9 else 0.0), t == 9, float(rng.normal()),
                         1000.0 + 50 * i + t))
    return pd.DataFrame(rows, columns=["region", "year", "y", "is_break", "x", "pop"]).astype(
        {"region": "string", "year": "int64"})


KINDS = [("naive", {}), ("drift", {}), ("window_mean", {"k": 3}), ("historic_mean", {}), ("auto_arima", {}), ("ets", {}), ("theta", {}),
         ("pooled_ar", {}), ("boosting", {"max_horizon": 2, "max_iter": 20, "exog": ["x"]}),
         ("mean_reversion", {"min_train": 6, "exog": ["x"], "relative": ["x"]}),
         ("fe_direct", {"exog": ["x"], "max_horizon": 3}),
         ("stacked", {"members": [("naive", make_model("naive")), ("mr", make_model("mean_reversion", {"min_train": 5}))],
                      "min_train": 6, "step": 0.25})]


def test_every_forecast_kind_is_round_tripped():
    """A kind added to the registry must be added here (the ensemble has its own tests below)."""
    assert {k for k, _ in KINDS} == set(FORECAST_KINDS) - {"ensemble"}


def _round_trip(est, folder, h=3, **meta):
    save_model(est, folder, meta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about on the same libraries
        loaded = load_model(folder, feature_names=list(est.feature_names_))
    pd.testing.assert_frame_equal(loaded.predict(h, LEVELS), est.predict(h, LEVELS), check_exact=True)
    assert type(loaded) is type(est) and loaded.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    for attr in ("regions_", "years_", "origin_years_", "feature_names_", "break_treatment_"):
        assert getattr(loaded, attr) == getattr(est, attr), attr
    if hasattr(est, "fit_report_"):
        pd.testing.assert_frame_equal(loaded.fit_report_, est.fit_report_, check_exact=True)
    return loaded


@pytest.mark.parametrize(("kind", "params"), KINDS)
def test_save_load_predict_round_trip(kind, params, tmp_path):
    est = make_model(kind, params, name=kind).fit(_df())
    before = validate_forecast(est.predict(2))
    save_model(est, tmp_path / kind, {"origin_year": 2011})
    loaded = load_model(tmp_path / kind, feature_names=list(est.feature_names_))
    assert read_metadata(tmp_path / kind)["origin_year"] == 2011
    pd.testing.assert_frame_equal(loaded.predict(2), before, check_exact=True)
    assert loaded.regions_ == ("A", "B", "C") and loaded.years_[-1] == 2011
    assert set(before["model"]) == {kind} and (before["origin_year"] == 2011).all()
    _round_trip(est, tmp_path / f"{kind}-levels", h=2)


VARIANTS = [
    ("auto_arima", {"breaks": "dummy"}), ("auto_arima", {"stepwise": False, "max_d": 0}),
    ("auto_arima", {"criterion": "bic", "breaks": "keep"}), ("ets", {}), ("ets", {"trends": ("AAdN",)}),
    ("theta", {"theta": 3.0}), ("window_mean", {"k": 5}), ("historic_mean", {}), ("historic_mean", {"breaks": "keep"}), ("pooled_ar", {"mean_window": 5}),
    ("boosting", {"max_horizon": 3, "max_iter": 15, "exog": ["x"], "transform": "diff", "denominator": "pop"}),
    ("boosting", {"max_horizon": 3, "max_iter": 15, "region_feature": False}),
    ("mean_reversion", {"mean_windows": (0, 8), "min_train": 6}), ("fe_direct", {"window": 8, "scaled": False}),
]


@pytest.mark.parametrize(("kind", "params"), VARIANTS)
def test_variants_round_trip_exactly(kind, params, tmp_path):
    est = make_model(kind, params, name=kind).fit(_varied())
    loaded = _round_trip(est, tmp_path / kind)
    if kind in ("auto_arima", "ets"):
        for region, state in est.states_.items():
            got = loaded.states_[region]
            np.testing.assert_array_equal(np.asarray(got["res"].params), np.asarray(state["res"].params))
            assert {k: v for k, v in got.items() if k not in ("res", "y", "x")} == {
                k: v for k, v in state.items() if k not in ("res", "y", "x")}
    if kind == "pooled_ar":
        pd.testing.assert_frame_equal(loaded.params_, est.params_, check_exact=True)
        assert (loaded.phi_pooled_, loaded.tau2_) == (est.phi_pooled_, est.tau2_)


def test_statsmodels_choices_are_covered():
    """The variants exercise trended ETS forms and ARIMA with drift and with the break dummy."""
    ets = make_model("ets", name="ets").fit(_varied())
    assert {s["label"] for s in ets.states_.values()} - {"ANN"}
    arima = make_model("auto_arima", {"breaks": "dummy"}, name="a").fit(_varied())
    assert any(s["exog"] for s in arima.states_.values())


@pytest.mark.parametrize("breaks", ["bridge", "dummy"])
def test_integrated_arima_with_drift_round_trips(breaks, tmp_path):
    rng = np.random.default_rng(2)
    rows = [(r, 2000 + t, v) for i, r in enumerate("ABCD")
            for t, v in enumerate(np.cumsum(1.5 + rng.normal(scale=1 + i, size=18)))]
    df = pd.DataFrame(rows, columns=["region", "year", "y"]).astype({"region": "string", "year": "int64"})
    est = AutoARIMA(breaks=breaks).fit(df.assign(is_break=df["year"] == 2008))
    assert {s["order"][1] for s in est.states_.values()} == {1} and "with drift" in " ".join(est.fit_report_["spec"])
    _round_trip(est, tmp_path / breaks, h=5)


def test_fallback_state_round_trips(tmp_path, monkeypatch):
    real = AutoARIMA._search

    def flaky(self, y, exog, d):
        if y[0] == _varied()["y"].iloc[16]:  # region B only
            raise ValueError("planted")
        return real(self, y, exog, d)

    monkeypatch.setattr(AutoARIMA, "_search", flaky)
    est = AutoARIMA(name="a").fit(_varied())
    assert est.states_["B"][0] == "fallback" and est.fit_report_["spec"].tolist()[1] == "Naive"
    loaded = _round_trip(est, tmp_path / "fb")
    assert loaded.states_["B"][0] == "fallback" and type(loaded.states_["B"][2]).__name__ == "Naive"
    assert loaded.states_["B"][1] == est.states_["B"][1]


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
    pd.testing.assert_frame_equal(loaded.predict(3), est.predict(3), check_exact=True)


def test_ensemble_of_every_kind_round_trips(tmp_path):
    members = [(k, make_model(k, p, name=k)) for k, p in KINDS if k not in ("boosting", "stacked")]
    members.append(("gbm", make_model("boosting", {"max_horizon": 3, "max_iter": 10}, name="gbm")))
    est = Ensemble(members, combine="median", name="ens", breaks="keep").fit(_varied())
    loaded = _round_trip(est, tmp_path / "ens")
    assert [n for n, _ in loaded.fitted_members_] == [n for n, _ in est.fitted_members_]
    assert [m.get_params() for _, m in loaded.members] == [m.get_params() for _, m in est.members]
    assert not hasattr(loaded.members[0][1], "regions_")  # the unfitted templates stay unfitted
    for (_, a), (_, b) in zip(loaded.fitted_members_, est.fitted_members_, strict=True):
        pd.testing.assert_frame_equal(a.predict(3), b.predict(3), check_exact=True)
    assert sorted(p.name for p in (tmp_path / "ens").iterdir()) == [
        "arrays.npz", "estimators.skops", "metadata.json", "model.json"]


def test_since_wrapper_fits_from_first_year_and_round_trips(tmp_path):
    from kzmig.models.forecasters.since import Since

    df = _df()
    first = int(df["year"].min()) + 3
    est = Since(make_model("drift", name="drift"), first_year=first, name="drift_late").fit(df)
    # independent: the drift of the series cut at first_year, fitted alone
    alone = make_model("drift", name="drift_late").fit(df.loc[df["year"] >= first])
    pd.testing.assert_frame_equal(est.predict(3, LEVELS), alone.predict(3, LEVELS))
    _round_trip(est, tmp_path / "since")


def test_log_wrapper_maps_bounds_by_exp_and_round_trips(tmp_path):
    from kzmig.models.forecasters.since import Log

    df = _df().assign(y=lambda d: d["y"].abs() + 100.0)  # a positive series
    est = Log(make_model("drift", name="drift"), name="drift_log").fit(df)
    # independent: drift fitted on the logs, mapped back by exp
    on_logs = make_model("drift", name="drift_log").fit(df.assign(y=np.log(df["y"])))
    want = on_logs.predict(3, LEVELS)
    for col in ("point", "lower", "upper"):
        want[col] = np.exp(want[col])
    pd.testing.assert_frame_equal(est.predict(3, LEVELS), want)
    assert (est.predict(3, LEVELS)["lower"] > 0).all()
    _round_trip(est, tmp_path / "log")
    with pytest.raises(ValueError, match=r"must be positive; \(region='A', year="):
        Log(make_model("naive", name="n")).fit(df.assign(y=df["y"] - df["y"].max()))
