"""Nested selection against a hand-built backtest: the choices, the cells, the ratios, the bootstrap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.honest import (
    NESTED,
    NoKnownErrors,
    honest_tables,
    nested_choices,
    nested_selection,
    selected_procedure,
)

#: absolute one-year-ahead error of each model at origins 2010-2013 (region A; B doubles them)
ERRORS = {
    #           2010 2011 2012 2013
    "x":         [0, 10, 0, 1],
    "naive":     [2, 1, 5, 2],
    "mean3":     [3, 3, 1, 6],
    "hist_mean": [4, 4, 4, 3],
}
# known at 2011: origin 2010 -> x (0); at 2012: 2010-2011 -> naive (1.5 < 3 < 4 < 5);
# at 2013: 2010-2012 -> mean3 (7/3 < naive 8/3 < x 10/3 < hist 4)
CHOICES = {2011: "x", 2012: "naive", 2013: "mean3"}
BASELINES = {"naive": "naive", "mean": "mean3", "historic": "hist_mean"}


def _rows(errors: dict, regions: dict, origins, *, horizon: int = 1, scale: float = 1.0) -> pd.DataFrame:
    """Backtest rows: point = actual + error (sign alternating by year), one row per level (0.8)."""
    rows = []
    for region, factor in regions.items():
        for model, errs in errors.items():
            for i, origin in enumerate(origins):
                for h in range(1, horizon + 1):
                    year = origin + h
                    e = factor * errs[i] * (-1) ** year
                    actual = 100.0 + year
                    rows.append((model, region, origin, year, actual + e, actual + e - 3.0, actual + e + 3.0,
                                 0.8, actual, scale, False))
    df = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level",
                                     "actual", "scale", "is_break"])
    return df.astype({"model": "string", "region": "string", "origin_year": "int64", "year": "int64"})


@pytest.fixture
def preds() -> pd.DataFrame:
    regional = _rows(ERRORS, {"A": 1.0, "B": 2.0}, [2010, 2011, 2012, 2013])
    # the national series' errors would reverse every choice; it is not a region and is left out
    flipped = {m: [50 - e for e in errs] for m, errs in ERRORS.items()}
    national = _rows(flipped, {"kazakhstan": 10.0}, [2010, 2011, 2012, 2013])
    return pd.concat([regional, national], ignore_index=True)


def test_choices_change_between_origins_and_first_origin_is_left_out(preds):
    choices, scores = nested_selection(preds, baselines=BASELINES, n_boot=200)
    assert choices["origin_year"].tolist() == [2010, 2011, 2012, 2013]
    assert pd.isna(choices["model"].iloc[0]) and choices["status"].iloc[0].startswith("left out")
    assert dict(zip(choices["origin_year"].iloc[1:], choices["model"].iloc[1:])) == CHOICES
    assert choices["cells_known"].tolist() == [0, 2, 4, 6] and choices["origins_known"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(choices["score"].iloc[1:], [0.0, 1.5 * 1.5, 7 / 3 * 1.5], rtol=1e-12)
    # every model on the same cells: 2 regions x origins 2011-2013, the 2010 origin counted as left out
    assert (scores["cells"] == 6).all() and (scores["origins_left_out"] == 1).all()
    assert (scores["origins"] == 3).all() and (scores["series"] == 2).all()
    assert scores["model"].iloc[0] == NESTED and scores["role"].iloc[0] == "selected (nested)"
    assert dict(zip(scores["model"], scores["role"]))["mean3"] == "mean"


def test_selected_procedure_cells_are_the_chosen_models(preds):
    regional = preds.loc[preds["region"] != "kazakhstan"]
    choices = nested_choices(regional)
    got = selected_procedure(regional, choices).sort_values(["region", "origin_year"]).reset_index(drop=True)
    want = pd.concat([regional.loc[(regional["origin_year"] == o) & (regional["model"] == m)]
                      for o, m in CHOICES.items()]).sort_values(["region", "origin_year"]).reset_index(drop=True)
    assert (got["model"] == NESTED).all() and got["chosen"].tolist() == want["model"].tolist()
    pd.testing.assert_frame_equal(got.drop(columns=["model", "chosen"]), want.drop(columns="model"))
    _, scores = nested_selection(preds, baselines=BASELINES, n_boot=200)
    row = scores.set_index("model").loc[NESTED]
    # chosen errors 10 (x at 2011), 5 (naive at 2012), 6 (mean3 at 2013); region B doubles them
    assert row["mae"] == pytest.approx((10 + 5 + 6) * 3 / 6, rel=1e-12)


def test_ratios_equal_a_direct_computation(preds):
    _, scores = nested_selection(preds, baselines=BASELINES, n_boot=200)
    s = scores.set_index("model")
    regional = preds.loc[(preds["region"] != "kazakhstan") & (preds["origin_year"] > 2010)]
    direct = {m: float(np.mean(np.abs(g["point"] - g["actual"]) / g["scale"])) for m, g in regional.groupby("model")}
    nested = (10 + 5 + 6) * 3 / 6
    assert s.loc["naive", "mase"] == pytest.approx(direct["naive"], rel=1e-12)
    for role, base in BASELINES.items():
        assert s.loc[NESTED, f"ratio_{role}"] == pytest.approx(nested / direct[base], rel=1e-12)
        assert s.loc["x", f"ratio_{role}"] == pytest.approx(direct["x"] / direct[base], rel=1e-12)
        assert s.loc[base, f"ratio_{role}"] == 1.0
    # every region has the same ratios here, so the bootstrap cannot move them
    np.testing.assert_allclose(s.loc[NESTED, ["ratio_naive_lo", "ratio_naive_hi"]], nested / direct["naive"], rtol=1e-12)


@pytest.fixture
def noisy() -> pd.DataFrame:
    """Eight regions with seeded random errors of two models and a baseline, horizon 2."""
    rng = np.random.default_rng(3)
    parts = []
    for r in range(8):
        errs = {m: list(rng.gamma(2.0, sd, size=6)) for m, sd in (("a", 1.0), ("b", 1.3), ("naive", 1.5))}
        parts.append(_rows(errs, {f"R{r}": 1.0}, range(2010, 2016), horizon=2, scale=1.0 + r))
    return pd.concat(parts, ignore_index=True)


def test_bootstrap_interval_reproducible_and_contains_the_ratio(noisy):
    base = {"naive": "naive", "mean": None, "historic": None}
    _, one = nested_selection(noisy, baselines=base, n_boot=2000, seed=5)
    _, two = nested_selection(noisy, baselines=base, n_boot=2000, seed=5)
    _, other = nested_selection(noisy, baselines=base, n_boot=2000, seed=6)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    cols = ["ratio_naive_lo", "ratio_naive_hi"]
    assert not np.array_equal(one[cols].to_numpy(), other[cols].to_numpy())
    for _, row in one.loc[one["model"] != "naive"].iterrows():
        assert row["ratio_naive_lo"] < row["ratio_naive"] < row["ratio_naive_hi"], row["model"]
    assert one["resampled"].eq("regions").all() and one["clusters"].eq(8).all() and one["seed"].eq(5).all()
    assert one["ratio_mean"].isna().all() and one["ratio_historic_lo"].isna().all()


def test_bootstrap_resamples_clusters_by_hand(noisy):
    """The interval is the percentile interval of ratios over regions drawn with replacement."""
    _, scores = nested_selection(noisy, baselines={"naive": "naive"}, n_boot=500, seed=1, level=0.9)
    cells = noisy.loc[noisy["origin_year"] > 2010].drop_duplicates(["model", "region", "origin_year", "year"])
    scaled = (cells["point"] - cells["actual"]).abs() / cells["scale"]
    sums = scaled.groupby([cells["region"], cells["model"]]).sum().unstack()
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(500):
        drawn = sums.iloc[rng.integers(0, len(sums), size=len(sums))].sum()
        ratios.append(drawn["a"] / drawn["naive"])
    row = scores.set_index("model").loc["a"]
    np.testing.assert_allclose([row["ratio_naive_lo"], row["ratio_naive_hi"]], np.quantile(ratios, [0.05, 0.95]),
                               rtol=1e-12)


def test_national_only_target_resamples_origins():
    preds = _rows(ERRORS, {"kazakhstan": 1.0}, [2010, 2011, 2012, 2013])
    choices, scores = nested_selection(preds, baselines=BASELINES, n_boot=200)
    assert dict(zip(choices["origin_year"].iloc[1:], choices["model"].iloc[1:])) == CHOICES
    assert scores["aggregate"].eq("all_series").all() and scores["resampled"].eq("origins (one series)").all()
    assert scores["clusters"].eq(3).all() and scores["cells"].eq(3).all()


def test_break_years_left_out_of_scores_not_of_choices(preds):
    flagged = preds.assign(is_break=preds["year"] == 2013)
    choices, every = nested_selection(flagged, baselines=BASELINES, n_boot=200)
    choices_nb, clean = nested_selection(flagged, aggregate="all_regions_no_breaks", baselines=BASELINES, n_boot=200)
    pd.testing.assert_frame_equal(choices, choices_nb)
    assert every["cells"].eq(6).all() and clean["cells"].eq(4).all() and clean["aggregate"].eq("all_regions_no_breaks").all()
    # 2013, the target year of the 2012 origin (naive's 5), is left out: x's 10 and mean3's 6 remain
    assert clean.set_index("model").loc[NESTED, "mae"] == pytest.approx((10 + 6) * 3 / 4, rel=1e-12)


def test_errors_are_named(preds):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['scale'\]"):
        nested_selection(preds.drop(columns="scale"))
    with pytest.raises(ValueError, match=r"aggregate='all_series' does not fit this backtest"):
        nested_selection(preds, aggregate="all_series")
    with pytest.raises(NoKnownErrors, match=r"no backtest origin of \[2010\] has a known error"):
        nested_selection(preds.loc[preds["origin_year"] == 2010])
    with pytest.raises(ValueError, match=r"by='smape' is not supported by nested_selection; choose one of 'mae', 'mase', 'rmse'"):
        nested_selection(preds, by="smape")
    with pytest.raises(ValueError, match=r"level=1.5 must lie in \(0, 1\) and n_boot=0"):
        nested_selection(preds, level=1.5, n_boot=0)


def test_single_origin_gives_empty_tables_and_a_note(preds):
    scores, choices, note = honest_tables(preds.loc[preds["origin_year"] == 2010], "y", by="mase",
                                          baselines=BASELINES, selected="x")
    assert scores.empty and choices.empty and note.startswith("y: no honest accuracy (accuracy_honest.csv)")


def test_nested_metrics_are_the_chosen_models_errors_with_counts(preds):
    from kzmig.forecast.engine.honest import nested_metrics

    choices, _ = nested_selection(preds, baselines=BASELINES, n_boot=50)
    rows = nested_metrics(preds, choices, "y", (0.8,))
    assert set(rows["model"]) == {NESTED} and set(rows["region"]) == {"all_regions", "all_regions_no_breaks"}
    every = rows.loc[(rows["region"] == "all_regions") & (rows["horizon"] == 0)].iloc[0]
    # origins 2011-2013 chose x, naive, mean3: errors 10, 5, 6 in A and twice that in B (scale 1)
    mae = np.mean([10, 5, 6, 20, 10, 12])
    assert every["n"] == 6 and every["cells_mase"] == 6 and every["cells_80"] == 6 and every["origins"] == 3
    np.testing.assert_allclose([every["mae"], every["mase"]], [mae, mae])
    assert rows.loc[rows["region"] == "all_regions", "horizon"].tolist() == [0, 1]


def test_choices_given_by_the_caller_are_used_as_they_are(preds):
    """honest_tables passes the first call's choices to the second (no breaks): the same table as
    computing them again, and choices that differ give the scores of those choices."""
    preds = preds.assign(is_break=preds["year"] == 2013)
    choices, _ = nested_selection(preds, baselines=BASELINES, n_boot=200)
    _, again = nested_selection(preds, aggregate="all_regions_no_breaks", baselines=BASELINES, n_boot=200)
    _, reused = nested_selection(preds, aggregate="all_regions_no_breaks", baselines=BASELINES, n_boot=200,
                                 choices=choices)
    pd.testing.assert_frame_equal(reused, again)
    other = choices.assign(model=choices["model"].where(choices["model"].isna(), "hist_mean"))
    _, forced = nested_selection(preds, baselines=BASELINES, n_boot=200, choices=other)
    s = forced.set_index("model")
    assert s.at[NESTED, "mae"] == pytest.approx(s.at["hist_mean", "mae"], rel=1e-12)
