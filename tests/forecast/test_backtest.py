"""Rolling-origin backtest: refit per origin, published actuals, bad origins and model names."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.backtest import backtest
from kzmig.models.registry import FORECAST_KINDS, make_model
from kzmig.models.forecasters.baselines import Naive, WindowMean
from kzmig.models.forecasters.ensemble import Ensemble


def test_naive_backtest_equals_value_at_each_origin(series):
    bt = backtest(series, {"naive": Naive()}, origins=[2010, 2012], horizon=2, levels=(0.8,))
    y = series.set_index(["region", "year"])["y"]
    for _, r in bt.iterrows():
        assert r["point"] == y[(r["region"], r["origin_year"])]
        assert r["actual"] == y[(r["region"], r["year"])]
    assert sorted(bt["horizon"].unique()) == [1, 2]
    # scale: naive MAE of the published series up to the origin
    a = series.loc[(series["region"] == "A") & (series["year"] <= 2010), "y"].to_numpy()
    assert bt.loc[(bt["region"] == "A") & (bt["origin_year"] == 2010), "scale"].iloc[0] == pytest.approx(
        np.mean(np.abs(np.diff(a))), rel=1e-12)


def test_breaks_are_bridged_in_training_but_scored_against_published(series):
    df = series.assign(is_break=series["year"] == 2011)
    df.loc[df["year"] == 2011, "y"] += 1000.0
    bt = backtest(df, {"m": WindowMean(k=2)}, origins=[2011, 2012], horizon=1, levels=(0.8,))
    row = bt.loc[(bt["region"] == "A") & (bt["origin_year"] == 2012)].iloc[0]
    a = df.loc[df["region"] == "A"].set_index("year")["y"]
    bridged_2011 = (a[2010] + a[2012]) / 2
    assert row["point"] == pytest.approx((bridged_2011 + a[2012]) / 2, rel=1e-12)
    # the forecast from 2010 onto the break year is scored against the published (broken) value
    bt2 = backtest(df, {"m": WindowMean(k=2)}, origins=[2010], horizon=1, levels=(0.8,))
    scored = bt2.loc[bt2["region"] == "A"].iloc[0]
    assert scored["year"] == 2011 and scored["actual"] == a[2011]


def test_ensemble_in_backtest_equals_refitted_ensemble(series):
    members = [("naive", Naive()), ("mean2", WindowMean(k=2))]
    models = {**dict(members), "ens": Ensemble(members, combine="mean", name="ens")}
    fast = backtest(series, models, origins=[2012], horizon=2)
    slow = backtest(series, {"ens": Ensemble(members, combine="mean", name="ens")}, origins=[2012], horizon=2)
    a = fast.loc[fast["model"] == "ens"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a[slow.columns], slow, check_dtype=False)


@pytest.mark.parametrize("origin", [2006, 2019, 2030])
def test_origin_outside_data(series, origin):
    with pytest.raises(ValueError, match=rf"origin\(s\) \[{origin}\] are outside the data, which covers 2006-2019"):
        backtest(series, {"naive": Naive()}, origins=[origin], horizon=1)


def test_horizon_below_one(series):
    with pytest.raises(ValueError, match=r"horizon h=0 must be an integer >= 1"):
        backtest(series, {"naive": Naive()}, origins=[2012], horizon=0)


def test_unknown_model_kind_lists_known():
    with pytest.raises(ValueError, match=r"kind='prophet' is not supported by models.registry; choose one of 'auto_arima', 'between', 'boosting'"):
        make_model("prophet", name="p")
    with pytest.raises(ValueError, match=r"WindowMean \('window_mean'\) takes no parameter\(s\) \['kk'\]; valid: "):
        make_model("window_mean", {"kk": 3}, name="m")
    assert set(FORECAST_KINDS) >= {"naive", "drift", "window_mean", "auto_arima", "ets", "theta", "pooled_ar", "boosting"}


def test_parallel_origins_give_the_same_table(series):
    models = {"naive": Naive(), "mean3": WindowMean(k=3)}
    a = backtest(series, models, origins=[2010, 2011, 2012], horizon=2, n_jobs=1)
    b = backtest(series, models, origins=[2010, 2011, 2012], horizon=2, n_jobs=2)
    pd.testing.assert_frame_equal(a, b)
