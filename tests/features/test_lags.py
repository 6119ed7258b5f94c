"""features/builders/lags.py against a plain loop, with gaps, leakage and error paths."""
import numpy as np
import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.features.builders.lags import add_lags, difference, growth_factor


@pytest.fixture
def panel():
    rng = np.random.default_rng(3)
    rows = [(r, y) for r in ("akmola", "aktobe", "astana") for y in range(2005, 2013)]
    df = pd.DataFrame(rows, columns=["region", "year"]).astype({"region": "string", "year": "int64"})
    df["x"] = rng.normal(size=len(df))
    # a gap inside aktobe: 2008 missing
    return df.loc[~((df["region"] == "aktobe") & (df["year"] == 2008))].reset_index(drop=True)


def _loop_lag(df, col, k):
    look = {(r, y): v for r, y, v in zip(df["region"], df["year"], df[col])}
    return np.array([look.get((r, y - k), np.nan) for r, y in zip(df["region"], df["year"])])


def test_lags_and_changes_match_plain_loop(panel):
    out = add_lags(panel, ["x"], lags=(1, 2), changes=(1,))
    for k in (1, 2):
        np.testing.assert_allclose(out[f"x_lag{k}"], _loop_lag(panel, "x", k), rtol=0, atol=0, equal_nan=True)
    np.testing.assert_allclose(out["x_diff1"], panel["x"] - _loop_lag(panel, "x", 1), equal_nan=True)


def test_lag_over_a_gap_is_missing_not_the_previous_row(panel):
    out = add_lags(panel, ["x"], lags=(1,))
    row = out.loc[(out["region"] == "aktobe") & (out["year"] == 2009)]
    assert np.isnan(row["x_lag1"].iloc[0])
    first = out.sort_values(["region", "year"]).groupby("region").head(1)["x_lag1"]
    assert len(first) == 3 and first.isna().all()  # never borrowed from another region


def test_input_not_mutated(panel):
    before = panel.copy()
    add_lags(panel, ["x"], lags=(1,))
    pd.testing.assert_frame_equal(panel, before)


def test_leakage_identical_when_panel_ends_at_t(panel):
    full = add_lags(panel, ["x"], lags=(1, 2), changes=(1,))
    for t in (2008, 2010):
        cut = add_lags(panel.loc[panel["year"] <= t], ["x"], lags=(1, 2), changes=(1,))
        a = full.loc[full["year"] <= t].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, cut.reset_index(drop=True))


def test_bad_lag_and_missing_column(panel):
    with pytest.raises(ValueError, match=r"lags must be positive integers.*\[0\]"):
        add_lags(panel, ["x"], lags=(0,))
    with pytest.raises(PanelContractError, match=r"'nope'"):
        add_lags(panel, ["nope"], lags=(1,))


def test_one_differencing_over_consecutive_years(panel):
    """difference() is the only differencing: feature changes, FD designs and the FD bootstrap use it."""
    from kzmig.models.panel.bootstrap import design_from_model
    from kzmig.models.panel.design import transformed_design
    from kzmig.models.panel import FirstDifferenceMigration

    expected = panel["x"].to_numpy() - _loop_lag(panel, "x", 1)  # NaN after aktobe's gap
    d = difference(panel, ["x"])
    np.testing.assert_array_equal(d["x"].to_numpy(), expected)
    assert d.index.equals(panel.index) and d["region"].equals(panel["region"])
    kept = difference(panel, ["x"], drop_first=True)
    assert len(kept) == len(panel) - 3 - 1  # three first years and aktobe 2009
    np.testing.assert_array_equal(kept["x"].to_numpy(), expected[~np.isnan(expected)])
    np.testing.assert_array_equal(add_lags(panel, ["x"], lags=(), changes=(1,))["x_diff1"].to_numpy(), expected)
    np.testing.assert_array_equal(transformed_design(panel, ["x"], "difference")[:, 0], kept["x"].to_numpy())
    p = panel.assign(y=2.0 * panel["x"] + np.cos(np.arange(len(panel))))
    fd = FirstDifferenceMigration("y", ["x"], lag=0, cov_type="unadjusted").fit(p)
    assert fd.result_.nobs == len(kept)
    np.testing.assert_array_equal(design_from_model(fd).x[:, 0], kept["x"].to_numpy())


def test_growth_factor_over_consecutive_years(panel):
    p = panel.assign(x=np.exp(panel["x"]))
    np.testing.assert_array_equal(growth_factor(p, "x"), p["x"].to_numpy() / _loop_lag(p, "x", 1))
