"""Ensembles combine members row by row; selection picks the lowest mean score."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.models.forecasters.schema import validate_forecast
from kzmig.models.forecasters.baselines import Drift, Naive, WindowMean
from kzmig.models.forecasters.ensemble import Ensemble, combine_forecasts, select_best


def _df() -> pd.DataFrame:
    y = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
    return pd.DataFrame({"region": ["A"] * 6 + ["B"] * 6, "year": list(range(2000, 2006)) * 2,
                         "y": y + [v * 2 for v in y]}).astype({"region": "string", "year": "int64"})


def test_median_and_mean_match_members():
    members = [("naive", Naive()), ("drift", Drift()), ("mean2", WindowMean(k=2))]
    df = _df()
    fcs = [m.fit(df).predict(2) for _, m in members]
    med = Ensemble(members, combine="median").fit(df).predict(2)
    mean = Ensemble(members, combine="mean").fit(df).predict(2)
    validate_forecast(med)
    a = med.loc[(med["region"] == "A") & (med["level"] == 0.8)]
    # A: naive 6; drift 6 + h; mean of last two 5
    assert a["point"].tolist() == [6.0, 6.0]
    b = mean.loc[(mean["region"] == "A") & (mean["level"] == 0.8)]
    np.testing.assert_allclose(b["point"], [(6 + 7 + 5) / 3, (6 + 8 + 5) / 3])
    lows = np.column_stack([f.loc[(f["region"] == "A") & (f["level"] == 0.8), "lower"] for f in fcs])
    np.testing.assert_allclose(a["lower"], np.median(lows, axis=1))


def test_no_interval_when_a_member_has_none():
    f1 = Naive().fit(_df()).predict(1)
    f2 = f1.drop_duplicates(["region", "year"]).assign(lower=np.nan, upper=np.nan, level=np.nan)
    out = combine_forecasts([f1, f2], name="e")
    assert out["level"].isna().all() and len(out) == 2


def test_mismatched_members_named():
    f1 = Naive(name="n").fit(_df()).predict(2)
    with pytest.raises(ValueError, match=r"member 'n' covers 2 .* the first member 4"):
        combine_forecasts([f1, f1.loc[f1["region"] == "A"]], name="e")


def test_select_best_lowest_mean_then_name():
    m = pd.DataFrame({"model": ["a", "a", "b", "b", "c", "c"], "horizon": [1, 2] * 3,
                      "mase": [1.0, 2.0, 0.5, 2.5, 1.2, 1.8]})
    assert select_best(m) == "a"  # a and c tie at 1.5, b is 1.5 too: name order
    assert select_best(m, candidates=["b", "c"]) == "b"
    with pytest.raises(ValueError, match=r"metric 'smape' is not a column"):
        select_best(m, by="smape")
