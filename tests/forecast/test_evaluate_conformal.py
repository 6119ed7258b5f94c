"""Metrics on hand-worked tables; conformal quantiles by rank and without look-ahead.

The hand-worked cases use series of different naive scales and errors that are not equal to
their scales, so that the rules that matter can fail: MASE is the mean of scaled errors (not
mean error / mean scale), and a conformal residual is divided by its own series' scale before
the pooled quantile is taken.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.conformal import apply_conformal, conformal_quantiles, conformalize_backtest
from kzmig.forecast.engine.evaluate import score, winkler
from kzmig.models.forecasters.scale import naive_scale


def _bt() -> pd.DataFrame:
    return pd.DataFrame({
        "model": "m", "region": ["A", "A", "B", "B"], "origin_year": 2010, "year": [2011, 2012, 2011, 2012],
        "point": [1.0, 2.0, 10.0, 10.0], "lower": [0.0, 1.5, 9.0, 8.0], "upper": [2.0, 3.0, 11.0, 12.0],
        "level": 0.8, "actual": [1.5, 4.0, 8.0, 10.0], "scale": [0.5, 0.5, 2.0, 2.0],
    }).astype({"origin_year": "int64", "year": "int64"})


def test_metrics_by_hand():
    out = score(_bt(), by=("model", "horizon"), levels=(0.8,)).set_index("horizon")
    # h=1: errors -0.5, 2 -> MAE 1.25, RMSE sqrt((0.25+4)/2), MASE (1 + 1)/2, bias 0.75
    np.testing.assert_allclose(out.loc[1, ["mae", "rmse", "mase", "bias"]].astype(float),
                               [1.25, math.sqrt(2.125), 1.0, 0.75])
    # h=1 coverage: A inside, B below 9 -> 0.5; Winkler A: 2; B: 2 + 2/0.2 * 1 = 12
    assert out.loc[1, "coverage_80"] == 0.5
    np.testing.assert_allclose(out.loc[1, "winkler_80"], (2 + 12) / 2)
    # h=2: A above 3 by 1 -> 1.5 + 10 = 11.5; B inside, width 4
    np.testing.assert_allclose(out.loc[2, "winkler_80"], (11.5 + 4) / 2)


def test_winkler_and_scale():
    np.testing.assert_allclose(winkler([0.0], [1.0], [3.0], 0.95), [1 + 2 / 0.05 * 2])
    assert naive_scale(np.array([1.0, 3.0, 2.0])) == 1.5 and np.isnan(naive_scale(np.array([2.0, 2.0])))


def test_score_needs_actual():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['actual'\]"):
        score(_bt().drop(columns="actual"))


def test_conformal_quantile_is_the_finite_sample_rank():
    r = pd.DataFrame({"horizon": 1, "point": 0.0, "actual": np.arange(1.0, 20.0), "scale": 1.0})
    q = conformal_quantiles(r, (0.8, 0.95)).set_index("level")["q"]
    # n = 19: ranks ceil(20 * 0.8) = 16 and ceil(20 * 0.95) = 19
    assert q[0.8] == 16.0 and q[0.95] == 19.0
    few = conformal_quantiles(r.iloc[:10], (0.95,))
    assert np.isnan(few["q"].iloc[0])  # rank 11 > 10: no interval


def test_apply_conformal_scales_by_region_and_extends_horizon():
    q = pd.DataFrame({"horizon": [1, 2], "level": [0.8, 0.8], "q": [1.0, 2.0], "n": [30, 30]})
    fc = pd.DataFrame({"model": "m", "region": ["A", "A", "A"], "origin_year": 2020, "year": [2021, 2022, 2024],
                       "point": 0.0, "lower": np.nan, "upper": np.nan, "level": np.nan})
    out = apply_conformal(fc, q, pd.Series({"A": 3.0}), (0.8,))
    np.testing.assert_allclose(out["upper"], [3.0, 6.0, 3 * 2 * math.sqrt(4 / 2)])


def test_conformal_backtest_uses_no_future_residual():
    rng = np.random.default_rng(0)
    rows = [("m", f"R{r}", o, o + h, 0.0, rng.normal(), 1.0) for o in range(2010, 2016) for h in (1, 2) for r in range(15)]
    bt = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual", "scale"])
    bt = bt.assign(lower=np.nan, upper=np.nan, level=np.nan).astype({"origin_year": "int64", "year": "int64"})
    a = conformalize_backtest(bt, (0.8,))
    planted = bt.copy()
    planted.loc[planted["year"] == 2016, "actual"] = 1e6  # only visible from origin 2016 on
    b = conformalize_backtest(planted, (0.8,))
    early = lambda d: d.loc[d["origin_year"] <= 2015, ["lower", "upper"]].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(early(a), early(b))
    assert a.loc[a["origin_year"] == 2010, "level"].isna().all()  # nothing observed yet
    assert a.loc[a["origin_year"] == 2014, "level"].notna().all()


def test_break_years_are_left_out_of_calibration_and_quantiles_never_shrink():
    import math

    import pandas as pd

    from kzmig.forecast.engine.conformal import conformal_quantiles

    # 19 residuals at h=1 with |error| = 1..19 (scale 1), plus one huge break-year residual
    rows = [{"horizon": 1, "point": 0.0, "actual": float(e), "scale": 1.0, "is_break": False} for e in range(1, 20)]
    rows.append({"horizon": 1, "point": 0.0, "actual": 1e6, "scale": 1.0, "is_break": True})
    # at h=2 smaller errors, 0.5..9.5, which would give a narrower interval than h=1
    rows += [{"horizon": 2, "point": 0.0, "actual": e / 2, "scale": 1.0, "is_break": False} for e in range(1, 20)]
    q = conformal_quantiles(pd.DataFrame(rows), [0.8]).set_index("horizon")
    k = math.ceil((19 + 1) * 0.8)  # 16th smallest of 19
    assert q.loc[1, "q"] == 16.0 and q.loc[1, "n"] == 19 and k == 16
    assert q.loc[2, "q"] == 16.0  # running maximum: 8.0 at h=2 is raised to h=1's 16.0


def test_mase_scale_bridges_break_years():
    import pandas as pd

    from kzmig.forecast.engine.evaluate import series_scales

    # y = 0, 1, 2, 100 (break), 4, 5: bridged to 0..5, naive MAE 1; published differences average 39.2
    df = pd.DataFrame({"region": "A", "year": range(2000, 2006), "y": [0.0, 1, 2, 100, 4, 5],
                       "is_break": [False, False, False, True, False, False]})
    assert series_scales(df)["A"] == 1.0
    assert series_scales(df.drop(columns="is_break"))["A"] == (1 + 1 + 98 + 96 + 1) / 5


def test_every_metric_row_carries_its_cell_counts():
    bt = _bt()
    bt.loc[3, ["lower", "upper"]] = np.nan  # B 2012 has no interval
    bt.loc[bt["region"] == "B", "scale"] = np.nan  # B has no naive scale (a flat series)
    out = score(bt, by=("model",), levels=(0.8, 0.95)).iloc[0]
    assert out["n"] == 4 and out["cells_mase"] == 2 and out["cells_80"] == 3 and out["cells_95"] == 0
    # MASE over A's two cells only, counted: (0.5 + 2) / 0.5 / 2; MAE over all four
    np.testing.assert_allclose([out["mase"], out["mae"]], [2.5, (0.5 + 2 + 2 + 0) / 4])
    np.testing.assert_allclose(out["coverage_80"], 1 / 3)  # A 2011 inside, A 2012 above, B 2011 below
    assert np.isnan(out["coverage_95"])


def test_models_on_different_cells_cannot_be_compared():
    from kzmig.forecast.engine.evaluate import CellMismatch

    two = pd.concat([_bt(), _bt().assign(model="k")], ignore_index=True)
    score(two, by=("model", "horizon"), levels=())  # the same cells: fine
    fewer = two.drop(index=two.index[(two["model"] == "k") & (two["region"] == "B") & (two["year"] == 2012)])
    with pytest.raises(CellMismatch, match=r"models 'k' and 'm' are scored on different forecasts \(\{'horizon': 2\}\)"):
        score(fewer, by=("model", "horizon"), levels=())
    nan_point = two.copy()
    nan_point.loc[(nan_point["model"] == "m") & (nan_point["region"] == "A"), "point"] = np.nan
    with pytest.raises(CellMismatch, match=r"2 against 1, e.g. \(region, origin_year, year\) \[\(.A., 2010, 2011\)\]"):
        score(nan_point, by=("model", "horizon"), levels=())


# --- MASE: the mean of scaled errors ---------------------------------------------------------


def _unequal() -> pd.DataFrame:
    """Two regions, two horizons; errors and scales unequal (hand-worked below)."""
    return pd.DataFrame({
        "model": "m", "region": ["A", "A", "B", "B"], "origin_year": 2010, "year": [2011, 2012, 2011, 2012],
        # errors point - actual: A: +1, -3 (scale 0.5); B: -6, +2 (scale 4)
        "point": [2.0, 1.0, 4.0, 12.0], "actual": [1.0, 4.0, 10.0, 10.0], "scale": [0.5, 0.5, 4.0, 4.0],
    }).astype({"origin_year": "int64", "year": "int64"})


def test_mase_is_the_mean_of_scaled_errors_not_mean_error_over_mean_scale():
    out = score(_unequal(), by=("model",), levels=()).iloc[0]
    # scaled errors |e| / s: 1/0.5 = 2, 3/0.5 = 6, 6/4 = 1.5, 2/4 = 0.5 -> mean 10 / 4 = 2.5
    # (the ratio of means would be mean|e| / mean s = 3 / 2.25 = 1.333...)
    assert out["mase"] == pytest.approx(2.5, rel=1e-12), \
        "MASE must be the mean of the scaled errors |e|/s (Hyndman & Koehler 2006), not mean|e| / mean s"
    assert out["mae"] == pytest.approx(3.0) and out["bias"] == pytest.approx((1 - 3 - 6 + 2) / 4)
    assert out["rmse"] == pytest.approx(math.sqrt((1 + 9 + 36 + 4) / 4))
    by_h = score(_unequal(), by=("model", "horizon"), levels=()).set_index("horizon")["mase"]
    # h=1: (2 + 1.5) / 2; h=2: (6 + 0.5) / 2; ratio of means would give 3.5/2.25 and 2.5/2.25
    np.testing.assert_allclose(by_h.to_numpy(), [1.75, 3.25], rtol=1e-12,
                               err_msg="MASE per horizon must average the scaled errors of the horizon")


def test_mase_by_region_matches_a_plain_loop_over_rows():
    rng = np.random.default_rng(7)
    rows = []
    for r, s in zip("ABCDE", (0.3, 1.0, 2.5, 40.0, 900.0)):
        for o in (2010, 2011, 2012):
            for h in (1, 2, 3):
                rows.append(("m", r, o, o + h, rng.normal(scale=s), rng.normal(scale=3 * s), s))
    bt = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual", "scale"])
    got = score(bt, by=("model",), levels=()).iloc[0]
    total, count = 0.0, 0
    for _, _, _, _, p, a, s in rows:  # plain loop: sum of |error| / own scale
        total += abs(p - a) / s
        count += 1
    assert got["mase"] == pytest.approx(total / count, rel=1e-12)
    assert got["cells_mase"] == count
    per_region = score(bt, by=("model", "region"), levels=()).set_index("region")["mase"]
    for r in "ABCDE":
        mine = [abs(p - a) / s for _, rr, _, _, p, a, s in rows if rr == r]
        assert per_region[r] == pytest.approx(sum(mine) / len(mine), rel=1e-12)


def test_mase_skips_cells_without_scale_and_coverage_counts_the_bounds_inclusive():
    bt = _unequal().assign(scale=[0.5, 0.0, 4.0, np.nan], level=0.8)
    # bounds: A 2011 [1, 3] holds 1 on its lower bound, B 2012 [8, 10] holds 10 on its upper bound
    bt = bt.assign(lower=[1.0, 0.0, 0.0, 8.0], upper=[3.0, 2.0, 9.0, 10.0])
    out = score(bt, by=("model",), levels=(0.8,)).iloc[0]
    assert out["cells_mase"] == 2 and out["mase"] == pytest.approx((2 + 1.5) / 2)
    # A 2011 inside (on the bound), A 2012 above (4 > 2), B 2011 above (10 > 9), B 2012 inside
    assert out["coverage_80"] == pytest.approx(0.5)
    w = [2.0, 2 + 10 * 2, 9 + 10 * 1, 2.0]  # width + 2/0.2 * miss
    assert out["winkler_80"] == pytest.approx(np.mean(w))


def test_winkler_score_below_above_and_inside_by_hand():
    np.testing.assert_allclose(winkler([0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [-1.0, 1.0, 5.0], 0.8),
                               [2 + 10 * 1, 2.0, 2 + 10 * 3], rtol=1e-12)


# --- conformal: residuals divided by each series' own naive scale ------------------------------


def _calibration() -> pd.DataFrame:
    """Nine horizon-1 residuals of three series of scales 1, 10 and 100 (signs mixed)."""
    rows = []
    resid = {"A": (1.0, [0.5, -1.0, 2.0]), "B": (10.0, [-3.0, 12.0, -25.0]), "C": (100.0, [40.0, -150.0, 80.0])}
    for r, (s, errs) in resid.items():
        for o, e in zip((2010, 2011, 2012), errs):
            rows.append({"model": "m", "region": r, "origin_year": o, "year": o + 1, "point": 7.0,
                         "actual": 7.0 + e, "scale": s})
    return pd.DataFrame(rows).astype({"origin_year": "int64", "year": "int64"})


def test_conformal_residuals_are_divided_by_each_series_scale():
    q = conformal_quantiles(_calibration(), (0.5, 0.8)).set_index("level")
    # |e| / s sorted: 0.3 0.4 0.5 0.8 1.0 1.2 1.5 2.0 2.5 (n = 9)
    # level 0.5: rank ceil(10 * 0.5) = 5 -> 1.0; level 0.8: rank ceil(10 * 0.8) = 8 -> 2.0
    # (unscaled |e| sorted 0.5 1 2 3 12 25 40 80 150 would give 12 and 80)
    assert q.loc[0.5, "n"] == 9
    assert (q.loc[0.5, "q"], q.loc[0.8, "q"]) == (1.0, 2.0), \
        "conformal scores must be |actual - point| / the series' own naive scale before pooling"


def test_conformal_interval_width_scales_with_each_series_by_hand():
    q = conformal_quantiles(_calibration(), (0.8,))
    fc = pd.DataFrame({"model": "m", "region": ["A", "B", "C"], "origin_year": 2020, "year": 2021,
                       "point": [5.0, -5.0, 100.0], "lower": np.nan, "upper": np.nan, "level": np.nan})
    out = apply_conformal(fc, q, pd.Series({"A": 1.0, "B": 10.0, "C": 100.0}), (0.8,)).set_index("region")
    # q = 2.0: half-widths 2, 20, 200 around each point
    np.testing.assert_allclose(out.loc[["A", "B", "C"], "lower"], [3.0, -25.0, -100.0], rtol=1e-12)
    np.testing.assert_allclose(out.loc[["A", "B", "C"], "upper"], [7.0, 15.0, 300.0], rtol=1e-12,
                               err_msg="conformal half-width must be q (pooled scaled quantile) times the series' scale")


def test_conformal_backtest_with_unequal_scales_by_hand():
    cal = _calibration()
    later = pd.DataFrame({"model": "m", "region": ["A", "B", "C"], "origin_year": 2013, "year": 2014,
                          "point": 0.0, "actual": 0.0, "scale": [2.0, 20.0, 50.0]})
    bt = pd.concat([cal, later], ignore_index=True).astype({"origin_year": "int64", "year": "int64"})
    bt = bt.assign(lower=np.nan, upper=np.nan, level=np.nan)
    out = conformalize_backtest(bt, (0.8,))
    o = out.loc[out["origin_year"] == 2013].set_index("region")
    # calibrated on the nine residuals with year <= 2013: q = 2.0, times each row's own scale
    np.testing.assert_allclose(o.loc[["A", "B", "C"], "upper"], [4.0, 40.0, 100.0], rtol=1e-12)
    # origin 2012 sees the six residuals of years 2011-2012: rank ceil(7 * 0.8) = 6 of 6
    o12 = out.loc[out["origin_year"] == 2012].set_index("region")
    # |e|/s of years 2011, 2012: A 0.5, 1.0; B 0.3, 1.2; C 0.4, 1.5 -> 6th smallest 1.5
    np.testing.assert_allclose(o12.loc["C", "upper"], 7.0 + 1.5 * 100.0, rtol=1e-12)


def test_conformal_coverage_holds_for_every_scale_on_exchangeable_residuals():
    """Residuals e = s_r * z with z i.i.d.: pooled scaled intervals cover ~level in every region."""
    rng = np.random.default_rng(3)
    scales = {"S": 0.1, "M": 1.0, "L": 50.0}
    cal = pd.DataFrame([{"horizon": 1, "point": 0.0, "actual": s * rng.standard_t(5), "scale": s}
                        for _ in range(400) for s in scales.values()])
    q = conformal_quantiles(cal, (0.8,))["q"].iloc[0]
    for r, s in scales.items():
        z = s * rng.standard_t(5, size=4000)
        cover = np.mean(np.abs(z) <= q * s)
        assert 0.76 < cover < 0.84, (r, cover)


def test_conformal_quantiles_run_up_over_horizons_in_horizon_order_whatever_the_row_order():
    # horizon 2 rows first: its quantile (8.0) must still be raised to horizon 1's (16.0)
    h2 = [{"horizon": 2, "point": 0.0, "actual": e / 2, "scale": 1.0} for e in range(1, 20)]
    h1 = [{"horizon": 1, "point": 0.0, "actual": float(e), "scale": 1.0} for e in range(1, 20)]
    q = conformal_quantiles(pd.DataFrame(h2 + h1), [0.8])
    assert q["horizon"].tolist() == [1, 2] and q["q"].tolist() == [16.0, 16.0]


def test_apply_conformal_one_row_per_key_and_level_with_scales_looked_up_by_region():
    q = conformal_quantiles(_calibration(), (0.8, 0.95))  # n = 9: rank 10 > 9, no 95 % interval
    assert np.isnan(q.set_index("level").loc[0.95, "q"])
    # the forecast carries a model's own intervals at two levels (two rows per key)
    fc = pd.DataFrame({"model": "m", "region": ["A", "A", "B", "B"], "origin_year": 2020, "year": 2021,
                       "point": [5.0, 5.0, -5.0, -5.0], "lower": [0.0, -1.0, -9.0, -10.0],
                       "upper": [9.0, 10.0, 0.0, 1.0], "level": [0.8, 0.95, 0.8, 0.95], "target": "t"})
    scales = pd.Series({"Z": 7.0, "B": 10.0, "C": 100.0, "A": 1.0})  # other order, an extra region
    out = apply_conformal(fc, q, scales, (0.8, 0.95))
    from kzmig.models.forecasters.schema import FORECAST_COLUMNS
    assert list(out.columns) == [*FORECAST_COLUMNS, "target"]
    # one 80 % row per key (no 95 % interval: too few residuals), no extra NA row
    assert len(out) == 2 and (out["level"] == 0.8).all() and out.index.tolist() == [0, 1]
    o = out.set_index("region")
    np.testing.assert_allclose(o.loc[["A", "B"], "upper"], [5.0 + 2.0, -5.0 + 20.0], rtol=1e-12)
    np.testing.assert_allclose(o.loc[["A", "B"], "lower"], [5.0 - 2.0, -5.0 - 20.0], rtol=1e-12)
    # a region without a scale keeps one row with NA bounds and level
    none = apply_conformal(fc.assign(region="Q"), q, scales, (0.8,))
    assert len(none) == 1 and none[["lower", "upper", "level"]].isna().all(axis=None)


def test_conformal_backtest_counts_each_residual_once_across_levels_and_horizons():
    cal = _calibration()
    later = pd.DataFrame({"model": "m", "region": ["A", "B", "C"] * 2, "origin_year": 2013,
                          "year": [2014] * 3 + [2015] * 3, "point": 0.0, "actual": 0.0,
                          "scale": [2.0, 20.0, 50.0] * 2})
    one = pd.concat([cal, later], ignore_index=True).astype({"origin_year": "int64", "year": "int64"})
    # every backtest cell with the model's own 80 % bounds, B's also with 95 % bounds (counted
    # twice, B's scaled residuals 0.3, 1.2, 2.5 would move the 80 % rank from 2.0 to 2.5)
    bt = pd.concat([one.assign(level=0.8, lower=-1.0, upper=1.0),
                    one.loc[one["region"] == "B"].assign(level=0.95, lower=-2.0, upper=2.0)], ignore_index=True)
    out = conformalize_backtest(bt, (0.8,))
    o = out.loc[out["origin_year"] == 2013]
    assert len(o) == 6 and (o["level"] == 0.8).all()
    # still the nine residuals (n = 9, rank 8 -> q = 2.0), each region its own scale, both horizons
    # (h = 2 beyond the calibrated h = 1: q * sqrt(2 / 1))
    o = o.set_index(["region", "year"])["upper"]
    np.testing.assert_allclose([o[("A", 2014)], o[("B", 2014)], o[("C", 2014)]], [4.0, 40.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(o[("C", 2015)], 2.0 * math.sqrt(2) * 50.0, rtol=1e-12)
    assert out.index.tolist() == list(range(len(out)))


# --- the rest of score()'s contract (each test kills mutants that survived the ones above) ----


def test_naive_scale_of_two_points_is_their_absolute_difference():
    assert naive_scale(np.array([1.0, 4.0])) == 3.0  # one naive error, n - 1 = 1
    assert naive_scale([5, 2, 2]) == 1.5  # a list of integers
    assert np.isnan(naive_scale(np.array([3.0]))) and np.isnan(naive_scale(np.array([1.0, np.inf])))


def test_series_scales_is_a_float_series_named_scale_per_region():
    from kzmig.forecast.engine.evaluate import series_scales

    df = pd.DataFrame({"region": ["B", "A", "B", "A", "B"], "year": [2001, 2001, 2000, 2000, 2002],
                       "y": [3.0, 1.0, 0.0, 5.0, 9.0]})
    s = series_scales(df)
    assert s.name == "scale" and s.dtype == "float64" and s.index.tolist() == ["A", "B"]
    np.testing.assert_allclose(s.to_numpy(), [4.0, 4.5])  # A: |1 - 5|; B: (|3 - 0| + |9 - 3|) / 2
    empty = series_scales(df.iloc[:0])
    assert empty.dtype == "float64" and empty.name == "scale" and len(empty) == 0


def test_score_counts_each_cell_once_across_levels_and_keeps_a_given_horizon():
    two = pd.concat([_bt(), _bt().assign(level=0.95, lower=_bt()["lower"] - 1, upper=_bt()["upper"] + 1)],
                    ignore_index=True)
    out = score(two, by=("model",), levels=(0.8, 0.95)).iloc[0]
    assert out["n"] == 4 and out["cells_mase"] == 4 and out["cells_80"] == 4 and out["cells_95"] == 4
    assert out["mae"] == pytest.approx((0.5 + 2 + 2 + 0) / 4)
    # a horizon column given by the caller is used as it is (here: all one step)
    given = score(_bt().assign(horizon=1), by=("model", "horizon"), levels=())
    assert given["horizon"].tolist() == [1] and given["n"].tolist() == [4]


def test_score_columns_dtypes_and_groups_without_intervals():
    bt = _bt()
    bt.loc[bt["year"] == 2012, ["lower", "upper", "level"]] = np.nan  # horizon 2 has no interval at all
    out = score(bt, by=("model", "horizon"), levels=(0.8, 0.95))
    assert list(out.columns) == ["model", "horizon", "n", "mae", "rmse", "mase", "cells_mase", "bias",
                                 "coverage_80", "winkler_80", "cells_80", "coverage_95", "winkler_95", "cells_95"]
    for c in ("n", "cells_mase", "cells_80", "cells_95"):
        assert out[c].dtype == "int64", c
    o = out.set_index("horizon")
    assert o.loc[1, "cells_80"] == 2 and o.loc[2, "cells_80"] == 0 and np.isnan(o.loc[2, "coverage_80"])
    assert o.loc[1, "coverage_80"] == 0.5 and (o["cells_95"] == 0).all()
    # intervals only at the second level asked for: its columns are still filled
    only95 = score(_bt().assign(level=0.95), by=("model",), levels=(0.8, 0.95)).iloc[0]
    assert only95["cells_80"] == 0 and only95["cells_95"] == 4 and only95["coverage_95"] == pytest.approx(0.5)
    # a table without interval columns, or with a level but no bounds: no coverage, no error
    for t in (_unequal(), _unequal().assign(level=0.8)):
        r = score(t, by=("model",), levels=(0.8,)).iloc[0]
        assert np.isnan(r["coverage_80"]) and r["cells_80"] == 0


def test_score_sorts_groups_whatever_the_row_order():
    two = pd.concat([_bt().assign(model="z"), _bt().assign(model="a", point=_bt()["point"] + 1)], ignore_index=True)
    out = score(two.iloc[::-1], by=("model", "horizon"), levels=(0.8,))
    assert out[["model", "horizon"]].values.tolist() == [["a", 1], ["a", 2], ["z", 1], ["z", 2]]
    np.testing.assert_allclose(out["mae"], [(0.5 + 3) / 2, (1 + 1) / 2, 1.25, (2 + 0) / 2])


def test_score_logs_how_many_forecasts_have_no_naive_scale(caplog):
    bt = _unequal().assign(scale=[0.5, 0.0, 4.0, 0.75])  # one cell without a scale, three with
    with caplog.at_level("WARNING", logger="kzmig.forecast.engine.evaluate"):
        out = score(bt, by=("model",), levels=()).iloc[0]
    assert ("score: 1 forecast(s) of series without a naive scale (flat or one-point up to the origin) are "
            "counted out of MASE (cells_mase < n).") in caplog.text
    assert out["cells_mase"] == 3 and out["mase"] == pytest.approx((1 / 0.5 + 6 / 4 + 2 / 0.75) / 3)
    caplog.clear()
    with caplog.at_level("WARNING", logger="kzmig.forecast.engine.evaluate"):
        score(_unequal(), by=("model",), levels=())
    assert "without a naive scale" not in caplog.text


def test_models_with_naive_scales_on_different_cells_cannot_be_compared():
    from kzmig.forecast.engine.evaluate import CellMismatch, check_same_cells

    two = pd.concat([_unequal(), _unequal().assign(model="k")], ignore_index=True)
    score(two, by=("model",), levels=())  # the same cells and scales: fine
    bad = two.copy()
    bad.loc[(bad["model"] == "k") & (bad["region"] == "A"), "scale"] = np.nan  # k has no scale for A
    with pytest.raises(CellMismatch) as err:
        score(bad, by=("model",), levels=())
    msg = str(err.value)
    assert msg.startswith("score: models 'k' and 'm' are scored on different cells with a naive scale (MASE): "
                          "2 against 4, e.g. (region, origin_year, year) [('A', 2010, 2011), ('A', 2010, 2012)]; "
                          "restrict the backtest table to the cells every model forecasts before comparing them.")
    # a scale of 0.5 is a scale (not only scales above 1); 0 is none, as NaN
    small = two.assign(scale=0.5)
    small.loc[(small["model"] == "k") & (small["region"] == "A"), "scale"] = 0.0
    with pytest.raises(CellMismatch, match="cells with a naive scale"):
        score(small, by=("model",), levels=())
    zero_vs_nan = two.copy()
    zero_vs_nan.loc[(zero_vs_nan["model"] == "k") & (zero_vs_nan["region"] == "A"), "scale"] = 0.0
    zero_vs_nan.loc[(zero_vs_nan["model"] == "m") & (zero_vs_nan["region"] == "A"), "scale"] = np.nan
    score(zero_vs_nan, by=("model",), levels=())  # neither has a scale there: the same cells
    # a cell neither model forecasts (NaN point) has no scale to compare, whatever its scale column
    gap = two.copy()
    gap.loc[gap["region"] == "B", "point"] = np.nan
    gap.loc[(gap["model"] == "k") & (gap["region"] == "B"), "scale"] = np.nan
    score(gap, by=("model",), levels=())
    # the example lists at most three cells; no model column, or one model: nothing to compare
    many = pd.concat([_unequal(), _unequal().assign(model="k", point=np.nan)], ignore_index=True)
    with pytest.raises(CellMismatch) as err:
        check_same_cells(many)
    assert str(err.value).count("', 2010, 20") == 3 and "different forecasts: 0 against 4, e.g." in str(err.value)
    check_same_cells(_unequal().drop(columns="model"))
    check_same_cells(_unequal())


def test_the_same_cells_check_agrees_with_comparing_sets_of_cells():
    """check_same_cells counts models per cell; a plain comparison of each model's set of cells decides alike
    (random tables: dropped rows, NaN points, NaN / zero scales, a model with no finite point at all; grouped
    by horizon, by region or not at all)."""
    from kzmig.forecast.engine.evaluate import CellMismatch, check_same_cells

    rng = np.random.default_rng(7)
    cells = [(r, o, o + h) for r in ("A", "B", "C") for o in (2010, 2011) for h in (1, 2)]
    outcomes = set()
    for _ in range(200):
        rows = []
        same = rng.random() < 0.5  # every model the same pattern (the usual case), or each its own
        seed = int(rng.integers(1 << 30))
        for m in ("m", "k", "j")[: rng.integers(2, 4)]:
            draw = np.random.default_rng(seed) if same else rng
            for r, o, y in cells:
                if draw.random() < 0.08:
                    continue
                point = np.nan if draw.random() < 0.08 else 1.0
                scale = draw.choice([1.0, 0.0, np.nan], p=[0.9, 0.05, 0.05])
                rows.append((m, r, o, y, point, scale, y - o))
        pts = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "scale", "horizon"])
        if rng.random() < 0.1:
            pts.loc[pts["model"] == "k", "point"] = np.nan
        by = [("model", "horizon"), ("model",), ("model", "region")][int(rng.integers(3))]  # region: also a cell column
        expected = False
        for _, g in (pts.groupby(list(by[1:])) if by[1:] else [((), pts)]):
            for ok in (np.isfinite(g["point"]), np.isfinite(g["point"]) & np.isfinite(g["scale"]) & (g["scale"] > 0)):
                sets = [{tuple(c) for c in part.loc[ok[part.index], ["region", "origin_year", "year"]].to_numpy()}
                        for _, part in g.groupby("model")]
                expected |= any(s != sets[0] for s in sets)
        try:
            check_same_cells(pts, by=by)
            raised = False
        except CellMismatch:
            raised = True
        assert raised == expected
        outcomes.add(raised)
    assert outcomes == {True, False}


def test_point_metrics_of_every_group_equal_numpy_on_that_group_s_rows_exactly():
    """score slices groups from whole-table arrays: each metric must be the float numpy gives on
    the group's own rows (in table order), for shuffled rows, several models and horizons and
    series without a naive scale."""
    rng = np.random.default_rng(11)
    rows = [(m, r, o, o + h, rng.normal(scale=50), rng.normal(scale=80), s)
            for m in ("naive", "ets", "arima") for r, s in zip("ABCD", (0.7, np.nan, 3.0, 0.0))
            for o in (2010, 2011, 2012, 2013) for h in (1, 2, 3)]
    bt = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual", "scale"])
    bt = bt.sample(frac=1.0, random_state=3).reset_index(drop=True)
    bt["horizon"] = bt["year"] - bt["origin_year"]
    got = score(bt, by=("model", "horizon"), levels=())
    assert list(zip(got["model"], got["horizon"])) == sorted({(m, h) for m, _, o, y, *_ in rows for h in [y - o]})
    for _, row in got.iterrows():
        g = bt.loc[(bt["model"] == row["model"]) & (bt["horizon"] == row["horizon"])]
        err = g["point"].to_numpy() - g["actual"].to_numpy()
        sc = g["scale"].to_numpy()
        ok = np.isfinite(sc) & (sc > 0)
        assert row["n"] == len(g) and row["cells_mase"] == ok.sum() == len(g) // 2
        assert row["mae"] == np.mean(np.abs(err)) and row["bias"] == np.mean(err)
        assert row["rmse"] == np.sqrt(np.mean(err ** 2))
        assert row["mase"] == np.mean(np.abs(err[ok]) / sc[ok])
    one = score(bt, by=("model",), levels=()).set_index("model")
    for m, g in bt.groupby("model"):
        assert one.at[m, "mae"] == np.mean(np.abs(g["point"].to_numpy() - g["actual"].to_numpy()))


def test_conformal_backtest_is_the_single_origin_functions_at_every_model_and_origin():
    """conformalize_backtest scales each model's residuals once: the same frame as calibrating with
    conformal_quantiles on the cells known at each origin and applying apply_conformal there (random
    backtests: two levels per cell, break years, NaN and zero scales, early origins without residuals,
    horizons beyond the calibrated ones, with and without a horizon column)."""
    from kzmig.models.forecasters.schema import coerce_forecast

    rng = np.random.default_rng(5)
    for trial in range(12):
        rows = []
        for m in ("naive", "ets", "theta")[: 1 + trial % 3]:
            for r in ("A", "B", "C", "D"):
                for o in range(2010, 2017):
                    scale = rng.choice([1.0, 7.5, 0.0, np.nan], p=[0.45, 0.45, 0.05, 0.05])
                    for h in range(1, 2 + (o + trial) % 3):
                        point, actual = rng.normal(scale=5), rng.normal(scale=5)
                        brk = bool(rng.random() < 0.1)
                        for lv in (0.8, 0.95):
                            rows.append((m, r, o, o + h, point, point - 1, point + 1, lv, actual, scale, brk, "x"))
        bt = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level",
                                         "actual", "scale", "is_break", "spec"])
        bt = bt.astype({"model": "string", "region": "string"})
        if trial % 2:
            bt["horizon"] = bt["year"] - bt["origin_year"]
        levels = (0.5, 0.8) if trial % 4 == 3 else (0.8, 0.95)
        want = []
        for _, rows_m in bt.groupby("model", sort=True):
            for origin, g in rows_m.groupby("origin_year", sort=True):
                calib = rows_m.loc[rows_m["year"] <= origin].drop_duplicates(["region", "origin_year", "year"])
                q = conformal_quantiles(calib, levels)
                scales = g.drop_duplicates(["region", "origin_year"]).set_index(["region", "origin_year"])["scale"]
                want.append(apply_conformal(g, q, scales, levels))
        want = coerce_forecast(pd.concat(want, ignore_index=True))
        got = conformalize_backtest(bt, levels)
        pd.testing.assert_frame_equal(got, want)
        assert got["level"].notna().any() and got["level"].isna().any()  # both kinds of rows occur
