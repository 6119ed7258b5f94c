"""National-only series (a user's table of foreign students, labour emigrants ...) through the
forecasting study: backtest, selection, intervals, no reconciliation, target probabilities.

The data file is SYNTHETIC (invented numbers, labelled so in its ``source`` column).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from kzmig.config import load_config
from kzmig.forecast.engine.steps import conformal_fallback
from kzmig.forecast.planning.targets import target_probability
from kzmig.studies import forecast

DATA = Path(__file__).resolve().parents[1] / "data" / "national_only_synthetic.csv"

CONFIG = """
[study]
name = "national_only"

[data]
view = "current"
national = true

[targets]
names = ["foreign_students", "labour_emigrants"]
additive = ["foreign_students"]   # nothing to reconcile it to: skipped, and said so

[backtest]
origins = { from = 2014, to = 2021 }
horizon = 3

[forecast]
to_year = 2030
levels = [0.8, 0.95]
conformal = "all"                 # 8 residuals per horizon: enough for 80 %, not for 95 %

[population]
enabled = false

[models.naive]
kind = "naive"

[models.drift]
kind = "drift"

[models.mean3]
kind = "window_mean"
params = { k = 3 }

[models.arima]
kind = "auto_arima"

[models.theta]
kind = "theta"
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("national_only") / "national_only.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return forecast(load_config(cfg), data=DATA)


def test_data_file_is_labelled_synthetic():
    raw = pd.read_csv(DATA)
    assert set(raw["region"]) == {"kazakhstan"} and set(raw["unit"]) == {"persons"}
    assert raw["source"].str.startswith("SYNTHETIC").all()


def test_backtest_metrics_and_selection_on_the_national_series(result):
    m = result.tables["backtest_metrics"]
    assert not m["region"].str.startswith("all_regions").any()
    for target in ("foreign_students", "labour_emigrants"):
        every = m.loc[(m["target"] == target) & (m["region"] == "all_series")]
        # the headline rows: the nested-selected forecast, 7 origins with a choice (the first has none)
        nested = every.loc[every["model"] == "nested_selection"].set_index("horizon")
        assert nested.index.tolist() == [0, 1, 2, 3] and (nested["origins"] == 7).all()
        assert nested["n"].tolist() == [21, 7, 7, 7] and (nested["cells_mase"] == nested["n"]).all()
        agg = every.loc[every["model"] != "nested_selection"]
        assert sorted(agg["horizon"].unique()) == [1, 2, 3]
        assert np.isfinite(agg["mase"]).all() and (agg["n"] == 8).all()  # 8 origins, one series
        best = agg.groupby("model")["mase"].mean().sort_values(kind="mergesort")
        assert result.metadata["targets"][target]["selected"] == best.index[0]
        assert result.metadata["targets"][target]["n_series"] == 1


def test_honest_accuracy_resamples_origins_of_the_one_series(result):
    acc = result.tables["accuracy_honest"]
    for target in ("foreign_students", "labour_emigrants"):
        a = acc.loc[(acc["target"] == target) & (acc["aggregate"] == "all_series")]
        assert a["resampled"].eq("origins (one series)").all() and a["series"].eq(1).all()
        # 8 origins, the first without a known error: 7 origins x 3 horizons on the same cells
        assert a["cells"].eq(21).all() and a["origins_left_out"].eq(1).all() and a["clusters"].eq(7).all()
        row = a.set_index("model").loc["nested_selection"]
        assert row["ratio_naive_lo"] <= row["ratio_naive"] <= row["ratio_naive_hi"]
    nested = result.tables["selection_nested"]
    assert nested.groupby("target")["model"].count().tolist() == [7, 7]


def test_forecast_to_2030_has_both_intervals_and_is_not_reconciled(result):
    fc = result.tables["forecasts"]
    for target in ("foreign_students", "labour_emigrants"):
        sel = fc.loc[(fc["target"] == target) & fc["selected"]]
        assert set(sel["region"]) == {"kazakhstan"} and sorted(sel["year"].unique()) == list(range(2025, 2031))
        assert all(sorted(g) == [0.8, 0.95] for _, g in sel.groupby("year")["level"])
        assert (sel["lower"] < sel["point"]).all() and (sel["point"] < sel["upper"]).all()
    # conformal calibration is too short for 95 %: every model falls back to its own intervals, saying so
    assert set(fc.loc[fc["target"] != "population", "interval"]) == {"model"}
    assert set(result.metadata["targets"]["foreign_students"]["intervals"].values()) == {"model"}
    assert ("foreign_students: too few backtest residuals for conformal 95 % intervals (8 at horizon 1, 1 series): "
            "naive, drift, mean3, arima, theta use their model-based intervals instead") in result.warnings
    assert set(fc.loc[fc["target"] == "foreign_students", "reconciled"]) == {"none: national series only"}
    assert any("foreign_students: not reconciled: only the national series" in n for n in result.metadata["notes"])
    assert result.tables["reconciliation"].empty


def test_target_probability_on_the_right_series(result):
    fc = result.tables["forecasts"]
    model = result.metadata["targets"]["foreign_students"]["selected"]
    target = pd.DataFrame([{"indicator": "foreign_students", "region": "kazakhstan", "year": 2029,
                            "value": 150000.0, "direction": "at_least", "measure": "level",
                            "model": model, "source": "test"}])
    out = target_probability(fc, target)
    assert len(out) == 1
    p = out["probability"].iloc[0]
    assert 0.0 < p < 1.0
    # independent: the split normal read from the stored bounds of the foreign-students rows
    rows = fc.loc[(fc["target"] == "foreign_students") & (fc["model"] == model) & (fc["year"] == 2029)]
    z = norm.ppf((1 + rows["level"]) / 2)
    point = rows["point"].iloc[0]
    sd_lo = ((point - rows["lower"]) / z).mean()
    sd_hi = ((rows["upper"] - point) / z).mean()
    sd = sd_hi if 150000.0 >= point else sd_lo
    assert p == pytest.approx(1 - norm.cdf((150000.0 - point) / sd), abs=1e-12)
    assert out["point"].iloc[0] == point
    other = fc.loc[(fc["target"] == "labour_emigrants") & (fc["model"] == model) & (fc["year"] == 2029), "point"]
    assert not np.isclose(other.iloc[0], point)  # the same keys exist for the other series


def test_conformal_fallback_keeps_conformal_without_model_intervals():
    """A model without intervals of its own keeps the conformal levels it can get and says which are missing."""
    class NoIntervals:
        has_intervals = False

    years = range(2015, 2023)
    preds = pd.DataFrame({"model": "m", "region": "kazakhstan", "origin_year": list(years),
                          "year": [y + 1 for y in years], "point": 0.0, "actual": np.arange(8.0), "scale": 1.0})
    source, notes = conformal_fallback(preds, {"m": "conformal"}, {"m": NoIntervals()}, (0.8, 0.95), "t")
    assert source == {"m": "conformal"}
    assert notes == ["t: too few backtest residuals for conformal 95 % intervals (8 at horizon 1, 1 series): "
                     "m have no intervals of their own, so those levels are missing"]
    both, none = conformal_fallback(preds, {"m": "conformal"}, {"m": NoIntervals()}, (0.8,), "t")
    assert both == {"m": "conformal"} and none == []
