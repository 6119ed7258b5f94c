"""Mean reversion, direct fixed effects and stacking: closed forms, plain loops, a second library, no look-ahead."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from kzmig.forecast.engine.backtest import backtest
from kzmig.models.forecasters.fe_direct import DirectFE, exog_features
from kzmig.models.forecasters.mean_reversion import MeanReversion
from kzmig.models.registry import make_model
from kzmig.models.forecasters.stacking import Stacked, simplex_grid


def _panel(n_regions: int = 5, years: range = range(2000, 2020), seed: int = 3) -> pd.DataFrame:
    """SYNTHETIC: AR(1) around region means plus an exogenous driver; one flagged break year."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_regions):
        mu, y = 5.0 * i, 5.0 * i
        for t in years:
            x = rng.normal() + 0.2 * i
            y = mu + 0.7 * (y - mu) + 0.8 * x + rng.normal(scale=1.0 + 0.3 * i)
            rows.append((f"R{i}", t, y + (40.0 if (i == 1 and t == 2010) else 0.0), i == 1 and t == 2010, x,
                         100.0 + 10 * i + rng.normal()))
    return pd.DataFrame(rows, columns=["region", "year", "y", "is_break", "x", "inc"]).astype(
        {"region": "string", "year": "int64"})


def test_mean_reversion_forecast_is_the_closed_form():
    df = _panel()
    est = MeanReversion(phis=(0.8,), weights=(0.5,), windows=(3,)).fit(df)
    fc = est.predict(3, ()).set_index(["region", "year"])["point"]
    g = df.loc[df["region"] == "R3", "y"].to_numpy()
    m, anchor = g.mean(), 0.5 * g[-1] + 0.5 * g[-3:].mean()
    np.testing.assert_allclose([fc[("R3", 2019 + h)] for h in (1, 2, 3)], [m + 0.8**h * (anchor - m) for h in (1, 2, 3)],
                               rtol=1e-12)


def test_mean_reversion_tuning_equals_a_plain_loop():
    df = _panel()
    est = MeanReversion(phis=(0.3, 0.9), weights=(0.0, 1.0), windows=(3,), min_train=8).fit(df)
    # the same pseudo-origin errors by hand: bridged values, scale = mean |first difference| up to the last year
    err = {}
    for phi in (0.3, 0.9):
        for w in (0.0, 1.0):
            total, n = 0.0, 0
            for _, g in df.groupby("region"):
                y = g["y"].to_numpy(dtype=float).copy()
                brk = g["is_break"].to_numpy()
                if brk.any():
                    yrs = g["year"].to_numpy()
                    y[brk] = np.interp(yrs[brk], yrs[~brk], y[~brk])
                scale = np.mean(np.abs(np.diff(y)))
                for i in range(7, len(y) - 1):  # pseudo-origins with >= 8 years up to them
                    past = y[: i + 1]
                    m, a = past.mean(), (1 - w) * past[-1] + w * past[-3:].mean()
                    for h in (1, 2, 3):
                        if i + h < len(y):
                            total += abs(m + phi**h * (a - m) - y[i + h]) / scale
                            n += 1
            err[(phi, w)] = total / n
    tuning = est.tuning_.set_index(["phi", "weight"])["error"]
    for key, value in err.items():
        np.testing.assert_allclose(tuning[key], value, rtol=1e-10)
    assert (est.phi_, est.weight_) == min(err, key=err.get)
    assert est.tuning_["cells"].iloc[0] == 5 * sum(min(3, 19 - i) for i in range(7, 19))


def test_exog_features_are_logs_and_gaps_of_the_same_year():
    df = _panel().assign(region=lambda d: d["region"].replace({"R4": "kazakhstan"}))
    f = exog_features(df, ["inc", "x"], log=["inc"], relative=["inc"])
    year = df.loc[df["year"] == 2005]
    regional = year.loc[year["region"] != "kazakhstan"]
    want = np.log(year["inc"]) - np.log(regional["inc"]).mean()  # national row left out of the mean
    np.testing.assert_allclose(f.loc[year.index, "inc"], want, rtol=1e-12)
    np.testing.assert_allclose(f["x"], df["x"])
    with pytest.raises(ValueError, match=r"column 'x' has a value <= 0 \(region R\d, year \d{4}\)"):
        exog_features(df, ["x"], log=["x"])


def test_direct_fe_equals_statsmodels_dummy_ols():
    df = _panel()
    est = DirectFE(exog=("x",), scaled=False, max_horizon=2).fit(df)
    bridged = df.copy()
    bridged.loc[bridged["is_break"], "y"] = np.nan
    bridged["y"] = bridged.groupby("region")["y"].transform(lambda s: s.interpolate())
    rows = bridged.assign(target=bridged.groupby("region")["y"].shift(-2)).dropna(subset=["target"])
    X = pd.get_dummies(rows["region"].astype(str), dtype=float).assign(z=rows["y"], x=rows["x"])
    ols = sm.OLS(rows["target"], X).fit()
    np.testing.assert_allclose(est.coef_.loc[2, ["rho", "x"]].astype(float), ols.params[["z", "x"]], rtol=1e-8)
    np.testing.assert_allclose(est.intercepts_[2].to_numpy(), ols.params[[f"R{i}" for i in range(5)]], rtol=1e-8)
    last = df.loc[df["year"] == 2019].set_index("region")
    want = ols.params["R2"] + ols.params["z"] * last.loc["R2", "y"] + ols.params["x"] * last.loc["R2", "x"]
    got = est.predict(2, ()).set_index(["region", "year"]).loc[("R2", 2021), "point"]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_stacked_weights_equal_a_plain_loop_and_combine_the_members():
    df = _panel()
    a, b = make_model("naive"), make_model("historic_mean")
    est = Stacked([("naive", a), ("hist", b)], step=0.25, min_train=10, n_origins=5).fit(df)
    grid = simplex_grid(2, 0.25)
    errs = np.zeros(len(grid))
    n = 0
    for _, g in df.groupby("region"):
        y = g["y"].to_numpy(dtype=float).copy()
        brk = g["is_break"].to_numpy()
        if brk.any():
            yrs = g["year"].to_numpy()
            y[brk] = np.interp(yrs[brk], yrs[~brk], y[~brk])
        scale = np.mean(np.abs(np.diff(y)))
        for i in range(14, 19):  # the 5 latest pseudo-origins 2014-2018
            naive, hist = y[i], y[: i + 1].mean()
            for h in (1, 2, 3):
                if i + h < len(y):
                    errs += np.abs(grid @ [naive, hist] - y[i + h]) / scale
                    n += 1
    best = grid[int(np.argmin(np.round(errs / n, 12)))]
    np.testing.assert_allclose(est.weights_.to_numpy(), best)
    assert est.tuning_["cells"].iloc[0] == n and est.tuning_["origins"].iloc[0] == 5
    fc = est.predict(2, ()).set_index(["region", "year"])["point"]
    pa = a.fit(df).predict(2, ()).set_index(["region", "year"])["point"]
    pb = b.fit(df).predict(2, ()).set_index(["region", "year"])["point"]
    np.testing.assert_allclose(fc.to_numpy(), (best[0] * pa + best[1] * pb).reindex(fc.index).to_numpy(), rtol=1e-12)


def _honest_models() -> dict:
    mr = make_model("mean_reversion", {"min_train": 6, "exog": ["x", "inc"], "log": ["inc"], "relative": ["inc"]})
    fe = make_model("fe_direct", {"exog": ["x", "inc"], "log": ["inc"], "relative": ["inc"], "max_horizon": 3})
    return {"mr": mr, "fe": fe, "stack": make_model("stacked", {"members": [("mr", mr), ("fe", fe)], "min_train": 6,
                                                               "step": 0.25, "n_origins": 4})}


@pytest.mark.parametrize("origin", [2010, 2015])
def test_planted_future_changes_no_forecast_of_the_new_models(origin):
    """Every value after the origin (target and features) replaced: the backtest at that origin is unchanged."""
    df = _panel()
    later = df["year"] > origin
    planted = df.assign(y=df["y"].where(~later, 1e4), x=df["x"].where(~later, -50.0),
                        inc=df["inc"].where(~later, 1e6))
    a = backtest(df, _honest_models(), origins=[origin], horizon=3)
    b = backtest(planted, _honest_models(), origins=[origin], horizon=3)
    cols = ["model", "region", "origin_year", "year", "point", "lower", "upper", "level", "scale"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert set(a["model"]) == {"mr", "fe", "stack"} and np.isfinite(a["point"]).all()


def test_updates_keep_the_estimates_and_start_from_the_new_last_year():
    df = _panel()
    short = df.loc[df["year"] <= 2017]
    for est in (MeanReversion(min_train=6), DirectFE(exog=("x",), max_horizon=2)):
        est.fit(short)
        before = (est.phi_, est.weight_) if isinstance(est, MeanReversion) else est.coef_.copy()
        est.update(df)
        fc = est.predict(2, ())
        assert fc["year"].min() == 2020
        if isinstance(est, MeanReversion):
            assert (est.phi_, est.weight_) == before
            g = df.loc[df["region"] == "R0", "y"].to_numpy()
            m, a = g.mean(), (1 - est.weight_) * g[-1] + est.weight_ * g[-est.window_:].mean()
            np.testing.assert_allclose(fc.loc[fc["region"] == "R0", "point"].iloc[0], m + est.phi_ * (a - m))
        else:
            pd.testing.assert_frame_equal(est.coef_, before)
            s = est.state_.loc["R0"]
            want = est.intercepts_.loc["R0", 1] + est.coef_.loc[1, "rho"] * s["z"] + est.coef_.loc[1, "x"] * s["x"]
            np.testing.assert_allclose(fc.loc[fc["region"] == "R0", "point"].iloc[0], want * s["scale"])
            np.testing.assert_allclose(s["z"] * s["scale"], df.loc[(df["region"] == "R0") & (df["year"] == 2019), "y"])


def test_relative_features_of_a_national_only_table_are_zero_gaps():
    df = _panel(n_regions=1).assign(region="kazakhstan")
    f = exog_features(df, ["inc"], log=["inc"], relative=["inc"])
    assert np.isfinite(f["inc"]).all() and (f["inc"] == 0).all()


def test_memoised_pseudo_origin_fits_give_the_backtest_of_fresh_fits(monkeypatch):
    """The stacked model's member fits at pseudo-origins are memoised per process (a backtest's
    origins share most of them); the backtest equals the one with every fit made afresh."""
    from kzmig.models.forecasters import stacking

    df = _panel()
    origins = [2012, 2013, 2014, 2016]
    stacking._PSEUDO_CACHE.clear()
    memo = backtest(df, _honest_models(), origins=origins, horizon=3)
    assert len(stacking._PSEUDO_CACHE) > 0
    monkeypatch.setattr(stacking, "_PSEUDO_CACHE_SIZE", 0)  # every entry evicted at once: no hit
    stacking._PSEUDO_CACHE.clear()
    fresh = backtest(df, _honest_models(), origins=origins, horizon=3)
    assert len(stacking._PSEUDO_CACHE) == 0
    pd.testing.assert_frame_equal(memo, fresh)
    # the same training years with other values are another entry, not a hit
    stacking._PSEUDO_CACHE.clear()
    monkeypatch.setattr(stacking, "_PSEUDO_CACHE_SIZE", 4096)
    backtest(df, _honest_models(), origins=[2014], horizon=3)
    shifted = backtest(df.assign(y=df["y"] + 7.0), _honest_models(), origins=[2014], horizon=3)
    again = backtest(df, _honest_models(), origins=[2014], horizon=3)
    stacked = shifted["model"] == "stack"
    assert not np.allclose(shifted.loc[stacked, "point"], again.loc[again["model"] == "stack", "point"])
