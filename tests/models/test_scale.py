"""One naive scale: the MASE denominator and the divisor that pools series in boosting."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.evaluate import score, series_scales
from kzmig.models.forecasters.boosting import GradientBoosting, design_matrix
from kzmig.models.forecasters.scale import naive_scale


@pytest.mark.parametrize("y", [[2.0, 2.0, 2.0], [5.0], [], [1.0, np.nan, 2.0], [0.0, np.inf]])
def test_flat_short_or_broken_series_have_no_scale(y):
    assert np.isnan(naive_scale(np.array(y)))


def test_scale_is_the_mean_absolute_one_step_change():
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
    assert naive_scale(y) == pytest.approx((2 + 3 + 3 + 4) / 4, rel=1e-15)


def _with_flat_region() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    rows = [(r, 2000 + t, float(v)) for r in ("A", "B") for t, v in enumerate(rng.normal(size=12).cumsum())]
    rows += [("F", 2000 + t, 7.0) for t in range(12)]  # flat: every naive error is zero
    return pd.DataFrame(rows, columns=["region", "year", "y"]).astype({"region": "string", "year": "int64"})


def test_evaluation_and_boosting_read_the_same_scale():
    df = _with_flat_region()
    scales = series_scales(df)
    assert np.isnan(scales["F"])
    _, pred = design_matrix(df.assign(y_fit=df["y"]), 2011, 1, lags=2)
    got = pred.set_index("region")["scale"]
    np.testing.assert_allclose(got[["A", "B"]], scales[["A", "B"]], rtol=1e-15)
    assert got["F"] == 1.0  # boosting does not rescale a series without a scale
    fc = GradientBoosting(max_horizon=1, max_iter=10).fit(df).predict(1)
    assert np.isfinite(fc["point"]).all()


def test_mase_leaves_out_series_without_a_scale_and_says_so(caplog):
    bt = pd.DataFrame({"model": "m", "region": ["A", "F"], "origin_year": 2010, "year": 2011,
                       "point": [1.0, 7.0], "lower": np.nan, "upper": np.nan, "level": np.nan,
                       "actual": [3.0, 8.0], "scale": [2.0, np.nan]})
    with caplog.at_level(logging.INFO, logger="kzmig.forecast.engine.evaluate"):
        out = score(bt, levels=())
    assert out.loc[0, "mase"] == 1.0 and out.loc[0, "mae"] == 1.5  # MAE counts both, MASE only A
    assert "1 forecast(s) of series without a naive scale" in caplog.text
