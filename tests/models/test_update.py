"""``update(df)``: a fitted forecaster conditioned on a newer vintage keeps its parameters.

The data are SYNTHETIC (seeded); the "newer vintage" is the same panel with one more year.
Each check is against a separate computation: the last value, a hand-written SES recursion,
the Theta formula, the AR(1) forecast, a statsmodels model built by hand with the kept
parameters, the trees applied to hand-built lag features.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.arima.model import ARIMA

from kzmig.core.errors import PanelContractError
from kzmig.models.forecasters.ensemble import Ensemble
from kzmig.models.registry import make_model
from kzmig.models.forecasters.scale import naive_scale
from kzmig.models.forecasters.since import Since


def _panel(last: int = 2017) -> pd.DataFrame:
    """SYNTHETIC: three regions 2000-``last`` (trend, AR(1), noise), the same draws whatever ``last``."""
    rng = np.random.default_rng(21)
    rows = []
    for i, r in enumerate(["A", "B", "C"]):
        y = 0.0
        for t, e in enumerate(rng.normal(size=30)):
            y = [0.5 * t + e, 0.7 * y + e, 3.0 * e][i]
            if 2000 + t <= last:
                rows.append((r, 2000 + t, float(y), float(np.sin(t + i))))
    return pd.DataFrame(rows, columns=["region", "year", "y", "x"]).astype({"region": "string", "year": "int64"})


OLD, NEW = _panel(2016), _panel(2017)  # NEW: one more (synthetic) year
KINDS = [("naive", {}), ("drift", {}), ("window_mean", {"k": 3}), ("auto_arima", {}), ("ets", {}), ("theta", {}),
         ("pooled_ar", {}), ("boosting", {"max_horizon": 3, "max_iter": 20, "lags": 2})]


@pytest.mark.parametrize(("kind", "params"), KINDS)
def test_update_on_the_same_data_changes_nothing(kind, params):
    est = make_model(kind, params).fit(NEW)
    before = est.predict(3)
    after = est.update(NEW).predict(3)
    # Theta's SES level is filtered again with the kept alpha: the same up to rounding
    pd.testing.assert_frame_equal(after, before, check_exact=kind != "theta", rtol=1e-12)


@pytest.mark.parametrize(("kind", "params"), KINDS)
def test_update_moves_the_origin(kind, params):
    fc = make_model(kind, params).fit(OLD).update(NEW).predict(2)
    assert set(fc["origin_year"]) == {2017} and set(fc["year"]) == {2018, 2019}


def test_naive_update_is_the_new_last_value():
    fc = make_model("naive").fit(OLD).update(NEW).predict(2)
    last = NEW.groupby("region")["y"].last()
    np.testing.assert_array_equal(fc["point"].to_numpy(), last.reindex(fc["region"]).to_numpy())


def test_arima_update_keeps_the_parameters_and_filters_the_new_data():
    est = make_model("auto_arima").fit(OLD)
    saved = {r: (s["order"], s["trend"], np.asarray(s["res"].params).copy()) for r, s in est.states_.items()}
    fc = est.update(NEW).predict(2, levels=(0.8,))
    for region, (order, trend, params) in saved.items():
        np.testing.assert_array_equal(np.asarray(est.states_[region]["res"].params), params)
        y = NEW.loc[NEW["region"] == region, "y"].to_numpy()
        ref = ARIMA(y, order=order, trend=trend, concentrate_scale=True).filter(params).get_forecast(2)
        got = fc.loc[fc["region"] == region]
        np.testing.assert_allclose(got["point"], ref.predicted_mean, rtol=1e-10)
        np.testing.assert_allclose(got["upper"] - got["point"], 1.2815515655446004 * ref.se_mean, rtol=1e-8)


def test_ets_update_keeps_the_parameters():
    est = make_model("ets").fit(OLD)
    params = {r: np.asarray(s["res"].params).copy() for r, s in est.states_.items()}
    est.update(NEW)
    for r, s in est.states_.items():
        np.testing.assert_array_equal(np.asarray(s["res"].params), params[r])
        assert s["n"] == len(NEW.loc[NEW["region"] == r])


def test_theta_update_is_the_ses_recursion_with_the_kept_alpha():
    est = make_model("theta").fit(OLD)
    kept = {r: (float(s["res"].params["alpha"]), float(s["res"].params["b0"])) for r, s in est.states_.items()}
    fc = est.update(NEW).predict(3, levels=(0.8,))
    for region, (alpha, b0) in kept.items():
        y = NEW.loc[NEW["region"] == region, "y"].to_numpy()
        level = y[0]
        for v in y:  # SES with the level started at y[0] (ThetaModel.fit)
            level = alpha * v + (1 - alpha) * level
        h = np.arange(1, 4)
        want = level + 0.5 * b0 * (h - 1 + 1 / alpha - (1 - alpha) ** len(y) / alpha)  # theta = 2
        np.testing.assert_allclose(fc.loc[fc["region"] == region, "point"], want, rtol=1e-10)


def test_pooled_ar_keeps_mean_and_persistence():
    est = make_model("pooled_ar").fit(OLD)
    p = est.params_.copy()
    fc = est.update(NEW).predict(2, levels=(0.8,))
    pd.testing.assert_frame_equal(est.params_.drop(columns=["last", "n"]), p.drop(columns=["last", "n"]))
    for region, r in p.iterrows():
        last = NEW.loc[NEW["region"] == region, "y"].iloc[-1]
        want = r["mu"] + r["phi"] ** np.arange(1, 3) * (last - r["mu"])
        np.testing.assert_allclose(fc.loc[fc["region"] == region, "point"], want, rtol=1e-12)


def test_boosting_keeps_its_trees_and_uses_the_new_lags():
    est = make_model("boosting", {"max_horizon": 2, "max_iter": 20, "lags": 2}).fit(OLD)
    trees = dict(est.models_)
    fc = est.update(NEW).predict(1)
    assert all(est.models_[h] is trees[h] for h in trees)
    for code, (region, g) in enumerate(NEW.groupby("region", sort=True)):
        y = g["y"].to_numpy()
        s = naive_scale(y)
        row = np.array([[code, y[-1] / s, y[-2] / s]])  # region code, y_t, y_{t-1} (scaled by the new data)
        want = trees[1].predict(row)[0] * s
        np.testing.assert_allclose(fc.loc[fc["region"] == region, "point"], [want], rtol=1e-12)


def test_ensemble_and_since_update_their_members():
    ens = Ensemble([("n", make_model("naive")), ("p", make_model("pooled_ar"))], combine="mean").fit(OLD).update(NEW)
    members = [est.predict(2, levels=(0.8,)) for _, est in ens.fitted_members_]
    np.testing.assert_allclose(ens.predict(2, levels=(0.8,))["point"],
                               (members[0]["point"] + members[1]["point"]) / 2, rtol=1e-12)
    assert "n: recomputed" in ens.update_rule and "p: regional means" in ens.update_rule
    since = Since(make_model("naive"), first_year=2005).fit(OLD).update(NEW)
    assert since.fitted_model_.years_[0] == 2005 and since.predict(1)["origin_year"].eq(2017).all()


def test_update_refuses_other_regions():
    est = make_model("naive").fit(OLD)
    with pytest.raises(PanelContractError, match=r"missing \['C'\], new \[\]"):
        est.update(NEW.loc[NEW["region"] != "C"])
