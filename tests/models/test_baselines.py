"""Baselines against hand-worked examples, and the interval properties (hypothesis)."""
from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzmig.core.errors import PanelContractError
from kzmig.models.forecasters.schema import validate_forecast
from kzmig.models.forecasters.baselines import Drift, HistoricMean, Naive, WindowMean
from kzmig.models.forecasters.forecast_base import bridge_breaks


def _one(values, region="A", start=2000) -> pd.DataFrame:
    return pd.DataFrame({"region": region, "year": np.arange(start, start + len(values)), "y": np.asarray(values, float)}
                        ).astype({"region": "string", "year": "int64"})


Z80 = NormalDist().inv_cdf(0.9)


def test_naive_hand_example():
    # diffs 1, 2, -1 -> sigma^2 = (1 + 4 + 1) / 3 = 2
    fc = Naive().fit(_one([1.0, 2.0, 4.0, 3.0])).predict(2, levels=(0.8,))
    assert fc["point"].tolist() == [3.0, 3.0]
    np.testing.assert_allclose(fc["upper"] - fc["point"], Z80 * np.sqrt(2.0) * np.sqrt([1, 2]), rtol=1e-12)
    assert fc["origin_year"].tolist() == [2003, 2003] and fc["year"].tolist() == [2004, 2005]


def test_drift_hand_example():
    # y = 1, 2, 4, 5: c = 4/3; residuals -1/3, 2/3, -1/3 -> sigma^2 = (6/9) / 2 = 1/3
    fc = Drift().fit(_one([1.0, 2.0, 4.0, 5.0])).predict(2, levels=(0.8,))
    np.testing.assert_allclose(fc["point"], [5 + 4 / 3, 5 + 8 / 3], rtol=1e-12)
    h = np.array([1.0, 2.0])
    np.testing.assert_allclose(fc["upper"] - fc["point"], Z80 * np.sqrt(1 / 3 * h * (1 + h / 3)), rtol=1e-12)


def test_window_mean_hand_example():
    # k = 2, y = 1, 3, 2, 6: point = 4; 1-step errors 2-2=0, 6-2.5=3.5 -> mse 6.125;
    # 2-step error 6-2 = 4 -> mse 16; extended h=3: 16 * 3/2 = 24
    fc = WindowMean(k=2).fit(_one([1.0, 3.0, 2.0, 6.0])).predict(3, levels=(0.8,))
    assert fc["point"].tolist() == [4.0, 4.0, 4.0]
    np.testing.assert_allclose(fc["upper"] - fc["point"], Z80 * np.sqrt([6.125, 16.0, 24.0]), rtol=1e-12)


def test_historic_mean_hand_example():
    # y = 1, 3, 2, 6: point = 3; expanding means made at each year 1, 2, 2 (3 at the end);
    # 1-step errors 3-1, 2-2, 6-2 -> mse 20/3; 2-step 2-1, 6-2 -> 17/2; 3-step 6-1 -> 25;
    # extended h=4: 25 * 4/3
    fc = HistoricMean().fit(_one([1.0, 3.0, 2.0, 6.0])).predict(4, levels=(0.8,))
    assert fc["point"].tolist() == [3.0] * 4
    np.testing.assert_allclose(fc["upper"] - fc["point"], Z80 * np.sqrt([20 / 3, 17 / 2, 25.0, 100 / 3]), rtol=1e-12)
    np.testing.assert_allclose(fc["point"] - fc["lower"], fc["upper"] - fc["point"], rtol=1e-12)


def test_historic_mean_interval_never_narrows():
    # y = 0, 2, 0, 2: expanding means 0, 1, 2/3; 1-step errors 2, -1, 4/3 -> mse 61/27;
    # 2-step errors 0, 1 -> 1/2, lifted to 61/27 by the running maximum; 3-step 2 -> 4
    fc = HistoricMean().fit(_one([0.0, 2.0, 0.0, 2.0])).predict(3, levels=(0.8,))
    assert fc["point"].tolist() == [1.0] * 3
    np.testing.assert_allclose(fc["upper"] - fc["point"], Z80 * np.sqrt([61 / 27, 61 / 27, 4.0]), rtol=1e-12)


def test_historic_mean_bridges_break_years():
    # 2002 is flagged: bridged to (3 + 6) / 2 = 4.5 before averaging; "keep" averages the 99
    df = _one([1.0, 3.0, 99.0, 6.0]).assign(is_break=[False, False, True, False])
    bridged = HistoricMean().fit(df).predict(2, levels=(0.8, 0.95))
    by_hand = HistoricMean().fit(_one([1.0, 3.0, 4.5, 6.0])).predict(2, levels=(0.8, 0.95))
    pd.testing.assert_frame_equal(bridged, by_hand, check_exact=False, rtol=1e-12)
    assert bridged["point"].iloc[0] == 14.5 / 4
    assert HistoricMean(breaks="keep").fit(df).predict(1)["point"].iloc[0] == 109.0 / 4


def test_window_mean_bad_k():
    with pytest.raises(ValueError, match=r"k=0 must be an integer >= 1"):
        WindowMean(k=0).fit(_one([1.0, 2.0, 3.0]))


def test_short_series_named():
    df = pd.concat([_one(np.arange(6.0)), _one([1.0, 2.0], region="B")])
    with pytest.raises(PanelContractError, match=r"region='B' has 2 years"):
        WindowMean(k=3).fit(df)


def test_unknown_break_treatment():
    with pytest.raises(ValueError, match=r"breaks='drop'.*'bridge', 'dummy', 'keep'"):
        Naive(breaks="drop").fit(_one([1.0, 2.0]))


def test_bridge_matches_linear_interpolation():
    years = np.array([2000, 2001, 2002, 2003, 2004])
    y = np.array([0.0, 10.0, 99.0, 30.0, -50.0])
    brk = np.array([False, False, True, False, True])
    # 2002 between 10 (2001) and 30 (2003) -> 20; 2004 at the end -> held at 30
    np.testing.assert_allclose(bridge_breaks(years, y, brk), [0, 10, 20, 30, 30])


def test_bridged_fit_ignores_break_value_but_keep_does_not():
    df = _one([1.0, 2.0, 500.0, 4.0, 5.0]).assign(is_break=[False, False, True, False, False])
    bridged = Drift().fit(df).predict(1)
    kept = Drift(breaks="keep").fit(df).predict(1)
    # drift uses only the end points, so both agree on the point but not on sigma
    assert bridged["point"].iloc[0] == kept["point"].iloc[0] == 6.0
    assert (bridged["upper"] - bridged["point"]).iloc[0] < (kept["upper"] - kept["point"]).iloc[0] / 10


series_values = st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=6, max_size=20)


@settings(max_examples=40, deadline=None)
@given(values=series_values, h=st.integers(1, 8), which=st.sampled_from(["naive", "drift", "mean", "hist"]))
def test_intervals_ordered_and_widening(values, h, which):
    est = {"naive": Naive(), "drift": Drift(), "mean": WindowMean(k=3), "hist": HistoricMean()}[which]
    fc = validate_forecast(est.fit(_one(values)).predict(h, levels=(0.8, 0.95)))
    lo = fc.pivot(index="year", columns="level", values="lower")
    hi = fc.pivot(index="year", columns="level", values="upper")
    pt = fc.loc[fc["level"] == 0.8].set_index("year")["point"]
    tol = 1e-9 * (1 + np.abs(pt))
    assert (lo[0.95] <= lo[0.8] + tol).all() and (lo[0.8] <= pt + tol).all()
    assert (pt <= hi[0.8] + tol).all() and (hi[0.8] <= hi[0.95] + tol).all()
    width = (hi[0.95] - lo[0.95]).to_numpy()
    assert (np.diff(width) >= -1e-9 * (1 + width[:-1])).all()
