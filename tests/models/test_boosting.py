"""Global boosting: leakage guards, missing exogenous features, determinism."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.evaluate import score
from kzmig.models.forecasters.boosting import GradientBoosting, design_matrix


def _panel(seed=0, n_regions=6, n_years=16) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_regions):
        y = 0.0
        for t in range(n_years):
            y = 0.7 * y + rng.normal(scale=1 + i)
            rows.append((f"R{i}", 2000 + t, y, rng.normal()))
    df = pd.DataFrame(rows, columns=["region", "year", "y", "x"]).astype({"region": "string", "year": "int64"})
    df["y_fit"] = df["y"]
    return df


@pytest.mark.parametrize("origin", [2006, 2010, 2013])
def test_features_at_origin_same_from_cut_or_full_panel(origin):
    full = _panel()
    cut = full.loc[full["year"] <= origin]
    for h in (1, 2, 3):
        a = design_matrix(full, origin, h, lags=3, exog=("x",), exog_lag=1, transform="diff")
        b = design_matrix(cut, origin, h, lags=3, exog=("x",), exog_lag=1, transform="diff")
        pd.testing.assert_frame_equal(a[0], b[0])
        pd.testing.assert_frame_equal(a[1], b[1])
        assert (a[0]["year"] + h <= origin).all()  # every training target is observed by the origin


def test_training_rows_match_a_plain_loop():
    df = _panel()
    train, _ = design_matrix(df, 2010, 2, lags=2, transform="level")
    g = df.loc[(df["region"] == "R1") & (df["year"] <= 2010)]
    y = g["y"].to_numpy()
    scale = np.mean(np.abs(np.diff(y)))
    row = train.loc[(train["region"] == "R1") & (train["year"] == 2005)].iloc[0]
    i = 5  # year 2005
    np.testing.assert_allclose([row["y_lag0"], row["y_lag1"], row["target"]],
                               [y[i] / scale, y[i - 1] / scale, y[i + 2] / scale], rtol=1e-12)


def test_planted_future_feature_changes_no_backtest_score():
    df = _panel().drop(columns="y_fit")
    leak = df.groupby("region")["y"].shift(-1)  # encodes next year's target
    for origin in (2009, 2012):
        a = df.assign(leak=leak)
        b = df.assign(leak=leak.where(df["year"] < origin, 123.0))  # future part replaced
        est = {"gbm": GradientBoosting(exog=("leak",), max_horizon=2, max_iter=30)}
        sa = score(backtest(a, est, origins=[origin], horizon=2), levels=())
        sb = score(backtest(b, est, origins=[origin], horizon=2), levels=())
        pd.testing.assert_frame_equal(sa, sb)


def test_all_missing_exogenous_at_origin_is_named():
    df = _panel().drop(columns="y_fit")
    df["wage"] = np.where(df["year"] >= 2012, 1.0, np.nan)
    with pytest.raises(ValueError, match=r"column 'wage' is missing for every region in all years up to 2009 \(origin 2010\)"):
        backtest(df, {"gbm": GradientBoosting(exog=("wage",), max_horizon=1)}, origins=[2010], horizon=1)


def test_same_seed_same_forecast_and_horizon_guard():
    df = _panel().drop(columns="y_fit")
    a = GradientBoosting(max_horizon=3, random_state=1).fit(df).predict(3)
    b = GradientBoosting(max_horizon=3, random_state=1).fit(df).predict(3)
    pd.testing.assert_frame_equal(a, b)
    assert a["lower"].isna().all() and a["level"].isna().all()
    with pytest.raises(ValueError, match=r"horizons 1..3; refit with max_horizon >= 5"):
        GradientBoosting(max_horizon=3).fit(df).predict(5)


def _rate_panel(pops) -> pd.DataFrame:
    df = _panel(n_regions=len(pops)).drop(columns="y_fit")
    df["pop"] = df["region"].map(dict(zip(sorted(df["region"].unique()), pops))).astype(float)
    return df


def test_rate_forecasts_are_multiplied_back_by_the_denominator_value_by_value():
    """A plain computation with the fitted trees: rate = y / (pop / 1000), scaled by the rate's
    naive scale; the forecast is (tree output) * scale * (origin-year pop / 1000)."""
    df = _rate_panel([250_000.0, 1_500_000.0, 40_000.0, 800_000.0, 3_000.0, 2_000_000.0])
    df["pop"] *= 1 + 0.01 * (df["year"] - 2000)  # a growing population: the origin year's value is used
    est = GradientBoosting(denominator="pop", max_horizon=2, lags=2, max_iter=20, transform="level").fit(df)
    fc = est.predict(2).set_index(["region", "year"])["point"]
    for code, (region, g) in enumerate(df.sort_values("year").groupby("region", sort=True)):
        d = g["pop"].to_numpy() / 1000.0
        rate = g["y"].to_numpy() / d
        s = np.mean(np.abs(np.diff(rate)))  # naive scale of the rate series
        x = np.array([[code, rate[-1] / s, rate[-2] / s]])  # region_code, y_lag0, y_lag1
        for h in (1, 2):
            want = est.models_[h].predict(x)[0] * s * d[-1]
            assert fc[(region, 2015 + h)] == pytest.approx(want, rel=1e-10), \
                f"{region} h={h}: a rate forecast must be multiplied back by the denominator (pop / 1000)"


def test_rate_model_with_constant_population_equals_the_count_model():
    """Closed form: with a constant population P_r per region, the scaled rates y / (P_r/1000) / s_rate
    equal the scaled counts y / s_y, so the trees are the same and the rate forecast turned back
    into counts must equal the count model's forecast, whatever P_r."""
    df = _rate_panel([250_000.0, 1_500_000.0, 40_000.0, 800_000.0, 3_000.0, 2_000_000.0])
    for transform in ("level", "diff"):
        rate = GradientBoosting(denominator="pop", max_horizon=2, max_iter=30, transform=transform).fit(df).predict(2)
        count = GradientBoosting(max_horizon=2, max_iter=30, transform=transform).fit(df.drop(columns="pop")).predict(2)
        np.testing.assert_allclose(rate["point"], count["point"], rtol=1e-9, err_msg=(
            f"transform={transform}: rate forecasts must be multiplied back by the denominator to counts"))
        assert rate["region"].tolist() == count["region"].tolist()


def test_bad_transform_lists_choices():
    with pytest.raises(ValueError, match=r"transform='log'.*'diff', 'level'"):
        GradientBoosting(transform="log").fit(_panel().drop(columns="y_fit"))


def test_more_regions_than_sklearn_categories_is_a_clear_error():
    df = _panel(n_regions=256, n_years=8)[["region", "year", "y"]]
    with pytest.raises(ValueError, match=r"at most 255 regions .* got 256\. Pass region_feature=False"):
        GradientBoosting(max_horizon=1, max_iter=5).fit(df)
    GradientBoosting(max_horizon=1, max_iter=5, region_feature=False).fit(df)  # runs


def test_leaf_size_cap_is_recorded_and_logged(caplog):
    df = _panel(n_regions=3, n_years=10).drop(columns="y_fit")  # 3 x (10 - 3 + 1 - h) training rows
    with caplog.at_level("INFO", logger="kzmig.models.forecasters.boosting"):
        est = GradientBoosting(max_horizon=2, max_iter=5, min_samples_leaf=10).fit(df)
    assert est.min_samples_leaf_ == {1: 5, 2: 4}  # 21 // 4 and 18 // 4 rows
    assert "min_samples_leaf=10 capped" in caplog.text and "horizon(s) [1, 2]" in caplog.text
    assert [m.get_params()["min_samples_leaf"] for m in est.models_.values()] == [5, 4]
    caplog.clear()
    with caplog.at_level("INFO", logger="kzmig.models.forecasters.boosting"):
        est = GradientBoosting(max_horizon=1, max_iter=5, min_samples_leaf=3).fit(df)
    assert est.min_samples_leaf_ == {1: 3} and "capped" not in caplog.text
    with pytest.raises(ValueError, match=r"min_samples_leaf=0 must be an integer >= 1"):
        GradientBoosting(min_samples_leaf=0).fit(df)
