"""`kzmig forecast` end to end on a tiny synthetic data file (SYNTHETIC values, real region codes),
through the command line (run folder, manifest) and the library study."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_kzmig

from kzmig.config import load_config
from kzmig.core.errors import ConfigError
from kzmig.models.persistence import load_model, read_metadata
from kzmig.reporting import save
from kzmig.studies import forecast

REGIONS = ["akmola", "aktobe", "atyrau", "pavlodar", "kostanay"]

CONFIG = """
[study]
name = "tiny"
[data]
view = "harmonised"
borders = 2018
[targets]
names = ["net_migration", "net_migration_rate_per_1000", "interregional_net"]
additive = ["net_migration"]
[backtest]
origins = {from = 2013, to = 2015}
horizon = 2
[forecast]
to_year = 2020
levels = [0.8, 0.95]
[reconciliation]
methods = ["ols", "wls", "mint_shrink"]
use = "wls"
[population]
enabled = true
[models.naive]
kind = "naive"
[models.mean2]
kind = "window_mean"
params = { k = 2 }
[models.pooled_ar]
kind = "pooled_ar"
[models.gbm]
kind = "boosting"
params = { lags = 2, max_iter = 20 }
[models.ens]
kind = "ensemble"
members = ["naive", "mean2"]
combine = "median"
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    """A long data file (regions summing to the national row) and a tiny config."""
    d = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(7)
    rows = []
    for yr in range(2004, 2018):
        total = 0.0
        for i, r in enumerate(REGIONS):
            v = float(np.round(rng.normal(scale=500.0 * (i + 1))))
            total += v
            flag = "break:census_2009" if (yr == 2008 and r == "akmola") else ""
            rows += [(r, yr, "net_migration", v, flag), (r, yr, "population", 5e5 + 100.0 * i + yr, ""),
                     (r, yr, "natural_increase", 3000.0 + 10 * yr - 20000, "")]
            if yr >= 2015:  # a target too short to forecast: reported, not forecast
                rows.append((r, yr, "interregional_net", float(100 * i - 200), ""))
        rows += [("kazakhstan", yr, "net_migration", total, ""), ("kazakhstan", yr, "population", 3e6 + yr, ""),
                 ("kazakhstan", yr, "natural_increase", 5 * (3000.0 + 10 * yr - 20000), "")]
    data = d / "data.csv"
    pd.DataFrame(rows, columns=["region", "year", "variable", "value", "flag"]).to_csv(data, index=False)
    cfg = d / "tiny.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg, data


@pytest.fixture(scope="module")
def run(study, tmp_path_factory) -> Path:
    cfg, data = study
    out = tmp_path_factory.mktemp("r") / "run"
    res = run_kzmig("forecast", cfg, "--out", out, "--data", data)
    assert res.code == 0, res.text
    return out


def test_run_writes_every_table(run):
    for f in ("forecasts.csv", "backtest_predictions.csv", "backtest_metrics.csv", "reconciliation.csv",
              "fit_report.csv", "manifest.json", "config.toml", "run.log"):
        assert (run / f).is_file(), f
    meta = json.loads((run / "manifest.json").read_text())
    assert meta["status"] == "complete" and meta["study"] == "tiny"
    assert set(meta["targets"]) == {"net_migration", "net_migration_rate_per_1000"}
    assert meta["targets"]["net_migration"]["intervals"]["gbm"] == "conformal"
    skip = meta["skipped_targets"]["interregional_net"]
    assert "no series has the 4 years" in skip["reason"]
    assert {"region": "akmola", "length": 3, "needed": 4, "target": "interregional_net"} in skip["series"]


def test_national_row_per_target_and_year_and_coherence(run):
    fc = pd.read_csv(run / "forecasts.csv")
    nat = fc.loc[fc["region"] == "kazakhstan"]
    for target in ("net_migration", "net_migration_rate_per_1000"):
        regional_years = set(fc.loc[(fc["target"] == target) & (fc["region"] != "kazakhstan"), "year"])
        assert set(nat.loc[nat["target"] == target, "year"]) == regional_years
        assert max(regional_years) == 2020
    # the rate needs population of t+1 (average population), so its series ends a year earlier
    assert nat.loc[nat["target"] == "net_migration_rate_per_1000", "origin_year"].unique().tolist() == [2016]
    counts = fc.loc[fc["target"] == "net_migration"]
    for _, g in counts.groupby(["model", "year", "level"], dropna=False):
        regional = g.loc[g["region"] != "kazakhstan", "point"].sum()
        national = g.loc[g["region"] == "kazakhstan", "point"].iloc[0]
        # coherent before the CSV's rounding to whole persons: each row moved by at most 0.5
        assert abs(regional - national) <= 0.5 * len(g) + 1e-9
    assert (fc.groupby("target")["selected"].sum() > 0).all()


def test_forecasts_say_which_model_each_region_got(run):
    fc = pd.read_csv(run / "forecasts.csv")
    naive = fc.loc[(fc["model"] == "naive") & (fc["target"] == "net_migration")]
    assert (naive["spec"] == "Naive").all()
    assert fc.loc[fc["model"] == "gbm", "spec"].isna().all()  # global model: no per-region spec


def test_reconciliation_reports(run):
    rep = pd.read_csv(run / "reconciliation.csv")
    assert set(rep["method"]) == {"ols", "wls", "mint_shrink"} and set(rep["target"]) == {"net_migration"}
    assert (rep["incoherence_reconciled"] <= 1e-6).all() and (rep["incoherence_base"] > 1e-3).any()
    acc = pd.read_csv(run / "reconciliation_backtest.csv")
    assert set(acc["stage"]) == {"base", "reconciled"} and acc["mase"].notna().all()


def test_population_through_balancing_equation(run):
    pop = pd.read_csv(run / "population_forecasts.csv")
    # whole persons in the CSV: the sum of three rounded terms is within 2 of the rounded point
    np.testing.assert_allclose(pop["point"], pop["population_start"] + pop["natural_increase"] + pop["net_migration"],
                               rtol=0, atol=2)
    fc = pd.read_csv(run / "forecasts.csv")
    mig = fc.loc[(fc["target"] == "net_migration") & fc["selected"]]
    merged = pop.merge(mig, left_on=["region", "flow_year", "level"], right_on=["region", "year", "level"])
    np.testing.assert_allclose(merged["net_migration"], merged["point_y"], rtol=1e-12)  # reconciled migration used
    assert {"population"} <= set(fc["target"]) and "kazakhstan" in set(pop["region"])


def test_saved_model_loads_and_predicts(run):
    model = load_model(run / "models" / "net_migration" / "pooled_ar")
    meta = read_metadata(run / "models" / "net_migration" / "pooled_ar")
    assert meta["origin_year"] == 2017 and meta["target"] == "net_migration"
    fc = model.predict(3)
    assert set(fc["year"]) == {2018, 2019, 2020}


def test_same_config_and_data_give_identical_bytes(study, run, tmp_path):
    cfg, data = study
    again = save(forecast(load_config(cfg), data), tmp_path / "again")  # the library, not the command line
    for f in ("forecasts.csv", "backtest_metrics.csv", "backtest_predictions.csv", "reconciliation.csv",
              "population_forecasts.csv", "forecast_net_migration.png", "accuracy_honest.csv", "selection_nested.csv"):
        assert (run / f).read_bytes() == (again / f).read_bytes(), f


def test_run_never_overwrites(study, run):
    cfg, data = study
    res = run_kzmig("forecast", cfg, "--out", run, "--data", data)
    assert res.code == 2 and "the folder exists and is not empty; a run never overwrites another" in res.text
    with pytest.raises(ConfigError, match=r"exists and is not empty"):
        save(forecast(load_config(cfg), data), run)


def test_cli_errors_exit_2_with_the_key(study, tmp_path):
    cfg, data = study
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace("[models.naive]\nkind = \"naive\"", "[models.naive]\nkind = \"nave\""), encoding="utf-8")
    res = run_kzmig("forecast", bad, "--out", tmp_path / "cli2", "--data", data)
    assert res.code == 2 and "models.naive.kind: found \"nave\"" in res.text and "Traceback" not in res.text
    assert not (tmp_path / "cli2").exists()  # config errors stop before any folder is made


def test_reconciled_column_names_the_method_actually_used(run):
    fc = pd.read_csv(run / "forecasts.csv")
    rep = pd.read_csv(run / "reconciliation.csv")
    for target, g in fc[fc["reconciled"] != "none"].groupby("target"):
        r = rep[rep["target"] == target]
        assert set(g["reconciled"]) <= set(r["method_used"])


def test_break_free_scores_are_reported(run):
    m = pd.read_csv(run / "backtest_metrics.csv")
    assert {"all_regions", "all_regions_no_breaks"} <= set(m["region"])


def _plain_nested_selection(path: Path, target: str) -> tuple[dict[int, str | None], dict[str, float]]:
    """The nested selection by plain loops over the rows of backtest_predictions.csv.

    At origin o a model's score is the mean over horizons of its MASE (mean of |point - actual|
    / scale) over the regional cells whose target year is <= o; the lowest wins. The honest
    MASE of each model, and of the procedure (at each origin the chosen model's cells), is the
    mean scaled error over the regional cells of the origins with a choice.
    """
    import csv

    cells: dict[tuple[str, str, int, int], tuple[float, float, float]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["target"] != target or row["region"] == "kazakhstan":
                continue
            key = (row["model"], row["region"], int(row["origin_year"]), int(row["year"]))
            cells[key] = (float(row["point"]), float(row["actual"]), float(row["scale"] or "nan"))
    models = sorted({k[0] for k in cells})
    origins = sorted({k[2] for k in cells})
    choice: dict[int, str | None] = {}
    for o in origins:
        best, best_score = None, math.inf
        for m in models:
            per_h: dict[int, list[float]] = {}
            for (mm, _, oo, yy), (p, a, sc) in cells.items():
                if mm == m and yy <= o and sc > 0:
                    per_h.setdefault(yy - oo, []).append(abs(p - a) / sc)
            if per_h:
                score_m = sum(sum(v) / len(v) for v in per_h.values()) / len(per_h)
                if score_m < best_score - 1e-12:
                    best, best_score = m, score_m
        choice[o] = best
    honest: dict[str, list[float]] = {}
    for (m, r, o, y), (p, a, sc) in cells.items():
        if choice[o] is None or not sc > 0:
            continue
        honest.setdefault(m, []).append(abs(p - a) / sc)
        if m == choice[o]:
            honest.setdefault("nested_selection", []).append(abs(p - a) / sc)
    return choice, {m: sum(v) / len(v) for m, v in honest.items()}


def test_honest_accuracy_matches_a_plain_loop_over_the_backtest(run):
    """accuracy_honest.csv and selection_nested.csv against the nested selection recomputed by
    plain loops over backtest_predictions.csv (not with kzmig.forecast.engine.honest)."""
    acc = pd.read_csv(run / "accuracy_honest.csv")
    nested = pd.read_csv(run / "selection_nested.csv")
    meta = json.loads((run / "manifest.json").read_text())
    for target in ("net_migration", "net_migration_rate_per_1000"):
        a = acc.loc[acc["target"] == target]
        assert set(a["aggregate"]) == {"all_regions", "all_regions_no_breaks"}
        for _, g in a.groupby("aggregate"):
            assert g["cells"].nunique() == 1 and g["model"].iloc[0] == "nested_selection"
            assert set(g["model"]) == {"nested_selection", "naive", "mean2", "pooled_ar", "gbm", "ens"}
            assert g.loc[g["study_selected"], "model"].tolist() == [meta["targets"][target]["selected"]]
            assert g.loc[g["model"] == "naive", "role"].item() == "naive"
            assert g.loc[g["model"] == "mean2", "role"].item() == "mean" and g["ratio_historic"].isna().all()
        n = nested.loc[nested["target"] == target]
        # origins 2013-2015: the first has no known error and is left out
        assert n["origin_year"].tolist() == [2013, 2014, 2015] and n["model"].isna().tolist() == [True, False, False]
        choice, mase = _plain_nested_selection(run / "backtest_predictions.csv", target)
        assert [choice[o] for o in (2014, 2015)] == n["model"].tolist()[1:] and choice[2013] is None
        got = a.loc[a["aggregate"] == "all_regions"].set_index("model")["mase"]
        assert set(got.index) == set(mase)
        for m, v in mase.items():
            # a statistic: written with 6 significant digits (kzmig.reporting.tables.SIGNIFICANT)
            assert got[m] == pytest.approx(v, rel=5e-6), f"{target}: honest MASE of {m} (mean of scaled errors)"
        r = a.loc[a["aggregate"] == "all_regions"].set_index("model")
        assert r.loc["nested_selection", "ratio_naive"] == pytest.approx(mase["nested_selection"] / mase["naive"], rel=5e-6)
