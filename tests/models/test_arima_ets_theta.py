"""AutoARIMA, ETS and Theta against separate statsmodels computations."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.forecasting.theta import ThetaModel

from kzmig.models.forecasters.schema import validate_forecast
from kzmig.models.forecasters.arima import AutoARIMA
from kzmig.models.forecasters.ets import ETS
from kzmig.models.forecasters.theta import Theta


def _ar1(n=18, phi=0.7, seed=3, region="A") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + rng.normal()
    return pd.DataFrame({"region": region, "year": np.arange(2000, 2000 + n), "y": 10 + y}).astype(
        {"region": "string", "year": "int64"})


def test_grid_arima_picks_min_aicc_of_independent_sarimax_fits():
    df = _ar1()
    est = AutoARIMA(stepwise=False, max_d=0).fit(df)
    y = df["y"].to_numpy()
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in range(3):
            for q in range(3):
                for trend in ("c", "n"):
                    k = p + q + (trend == "c") + 1
                    if len(y) - k - 1 <= 0:
                        continue
                    r = SARIMAX(y, order=(p, 0, q), trend=trend).fit(disp=False)
                    if best is None or r.aicc < best[0]:
                        best = (r.aicc, (p, 0, q), trend, r)
    chosen = est.states_["A"]
    assert chosen["order"] == best[1] and chosen["trend"] == best[2]
    np.testing.assert_allclose(chosen["res"].aicc, best[0], rtol=1e-3)  # optimiser tolerance
    fc = est.predict(2, levels=(0.95,))
    ref = best[3].get_forecast(2)
    np.testing.assert_allclose(fc["point"], ref.predicted_mean, rtol=1e-3)
    np.testing.assert_allclose(fc["lower"], ref.conf_int(alpha=0.05)[:, 0], rtol=1e-3)


def test_arima_falls_back_and_says_why(monkeypatch):
    def boom(self, y, exog, d):
        raise ValueError("no ARIMA candidate could be fitted (planted)")

    monkeypatch.setattr(AutoARIMA, "_search", boom)
    est = AutoARIMA().fit(_ar1())
    rep = est.fit_report_.iloc[0]
    assert rep["spec"] == "Naive" and "planted" in rep["fallback_reason"]
    fc = est.predict(2)
    assert np.allclose(fc["point"], _ar1()["y"].iloc[-1])


def test_arima_break_dummy_is_used():
    df = _ar1().assign(is_break=False)
    df.loc[8, "is_break"] = True
    df.loc[8, "y"] += 50.0
    est = AutoARIMA(breaks="dummy").fit(df)
    assert est.fit_report_["spec"].iloc[0].endswith("+ break dummy")
    validate_forecast(est.predict(3))


def test_arima_short_series_named():
    with pytest.raises(ValueError, match=r"region='A' has 4 years"):
        AutoARIMA().fit(_ar1(n=4))


def test_ets_picks_min_aicc_of_independent_fits():
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(loc=0.5, size=16))
    df = pd.DataFrame({"region": "A", "year": np.arange(2000, 2016), "y": y}).astype({"region": "string", "year": "int64"})
    est = ETS().fit(df)
    s = pd.Series(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {lab: ETSModel(s, error="add", trend=t, damped_trend=d).fit(disp=False)
                for lab, (t, d) in {"ANN": (None, False), "AAN": ("add", False), "AAdN": ("add", True)}.items()}
    best = min(fits, key=lambda k: fits[k].aicc)
    assert est.states_["A"]["label"] == best
    ref = fits[best].get_prediction(start=16, end=18).summary_frame(alpha=0.2)
    fc = est.predict(3, levels=(0.8,))
    np.testing.assert_allclose(fc["point"], ref["mean"], rtol=1e-6)
    np.testing.assert_allclose(fc["upper"], ref["pi_upper"], rtol=1e-6)


def test_theta_matches_statsmodels_and_widens():
    df = _ar1(seed=9)
    fc = Theta().fit(df).predict(4, levels=(0.8,))
    ref = ThetaModel(pd.Series(df["y"].to_numpy()), period=1, deseasonalize=False).fit()
    np.testing.assert_allclose(fc["point"], ref.forecast(4), rtol=1e-8)
    width = (fc["upper"] - fc["lower"]).to_numpy()
    assert (np.diff(width) > 0).all()


def test_theta_bad_parameter():
    with pytest.raises(ValueError, match=r"theta=0.5 must be a finite number >= 1"):
        Theta(theta=0.5).fit(_ar1())
