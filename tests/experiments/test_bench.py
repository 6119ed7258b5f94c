"""The benchmark scripts run from any folder with kzmig installed (no path of one machine, no sys.path edits)."""
from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.honest import honest_tables
from kzmig.forecast.engine.steps import backtest_metrics

BENCH = Path(__file__).resolve().parents[2] / "experiments" / "bench"


@pytest.mark.parametrize("script", ["bench_scale.py", "bench_statsforecast.py", "bench_wild_bootstrap.py", "bench_ideas.py",
                                    "bench_main_job.py",
                                    "accuracy_table.py"])
def test_help_from_another_folder(script, tmp_path):
    res = subprocess.run([sys.executable, str(BENCH / script), "--help"], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert res.stdout.startswith("usage:")


def test_bench_scale_tiny_run_writes_under_the_current_folder(tmp_path):
    subprocess.run([sys.executable, str(BENCH / "bench_scale.py"), "--sizes", "3", "--models", "naive",
                    "--origins", "2021"], cwd=tmp_path, capture_output=True, text=True, check=True)
    table = pd.read_csv(tmp_path / "runs" / "bench_scale" / "bench_scale.csv")
    assert table[["model", "n_series"]].values.tolist() == [["naive", 3]] and table["seconds"].notna().all()


def test_statsforecast_bench_names_a_missing_interpreter(tmp_path):
    res = subprocess.run([sys.executable, str(BENCH / "bench_statsforecast.py"), "--sf-python", "nowhere/python"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 2 and "--sf-python nowhere/python: no such interpreter" in res.stderr


def test_accuracy_table_reads_the_run_tables(tmp_path):
    """The README's table from a run folder's accuracy_honest.csv and backtest_metrics.csv (SYNTHETIC backtest)."""
    rng = np.random.default_rng(0)
    rows = [(m, f"R{r}", o, o + h, 100.0 + rng.normal(scale=sd), 100.0, 1.0, o + h == 2014)
            for m, sd in (("naive", 2.0), ("mean3", 1.5), ("hist_mean", 3.0), ("theta", 1.0))
            for r in range(4) for o in range(2010, 2015) for h in (1, 2)]
    preds = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual", "scale",
                                        "is_break"]).astype({"model": "string", "region": "string"})
    preds = preds.assign(lower=np.nan, upper=np.nan, level=np.nan)
    run = tmp_path / "forecast" / "tiny"
    run.mkdir(parents=True)
    acc, _, _ = honest_tables(preds, "y", by="mase", baselines={"naive": "naive", "mean": "mean3",
                                                                "historic": "hist_mean"}, selected="theta")
    acc.to_csv(run / "accuracy_honest.csv", index=False)
    backtest_metrics(preds, "y", ()).to_csv(run / "backtest_metrics.csv", index=False)
    res = subprocess.run([sys.executable, str(BENCH / "accuracy_table.py"), str(tmp_path), "--format", "csv"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    table = pd.read_csv(StringIO(res.stdout), dtype=str).iloc[0]
    nested = acc.loc[(acc["aggregate"] == "all_regions") & (acc["model"] == "nested_selection")].iloc[0]
    every = acc.loc[acc["aggregate"] == "all_regions"].set_index("model")
    best = every.loc[["naive", "mean3", "hist_mean"], "mase"].idxmin()
    role = every.loc[best, "role"]
    assert table["selected (study)"] == "theta" and table["nested-selection MASE"] == f"{nested['mase']:.3f}"
    assert table["nested / best baseline [90 % CI]"].startswith(
        f"{nested[f'ratio_{role}']:.3f} [{nested[f'ratio_{role}_lo']:.3f}, {nested[f'ratio_{role}_hi']:.3f}] vs {best}")
    assert table["cells"] == "32 (4 series x 4 origins; 1 left out)"
    assert table["coverage 80/95 all years"] == "n/a / n/a (32 cells)"  # no intervals in this backtest
    assert table["coverage 80/95 no break years"].startswith("n/a / n/a (24 cells")


def test_statsforecast_bench_table_ratios_by_hand():
    """The benchmark's table on a SYNTHETIC frame: best bridged model, ratios without break years, counts."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_sf", BENCH / "bench_statsforecast.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    errors = {"nested_selection": 1.0, "sf_naive_bridged": 2.0, "sf_autoets_bridged": 4.0, "sf_naive": 8.0}
    rows = [(m, f"R{r}", o, o + 1, 100.0 + e * (r + 1), 100.0, 1.0, o == 2015)
            for m, e in errors.items() for r in range(3) for o in range(2013, 2017)]
    frame = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual", "scale",
                                        "is_break"]).astype({"model": "string", "region": "string"})
    frame = frame.assign(lower=np.nan, upper=np.nan, level=np.nan,
                         side=np.where(frame["model"].str.startswith("sf_"), "statsforecast", "kzmig"),
                         input=np.where(frame["model"].str.endswith("_bridged"), "bridged", "published"))
    t = mod.table_for(frame, "y", "regional").set_index("model")
    assert set(t["best_bridged"]) == {"sf_naive_bridged"}
    assert t.loc["nested_selection", "cells"] == 12 and t.loc["nested_selection", "cells_no_breaks"] == 9
    # errors 1, 2, 3 (x model factor) in every cell: MASE = 2 x factor; ratios to the naive's
    np.testing.assert_allclose(t.loc[list(errors), "ratio_no_breaks"], [0.5, 1.0, 2.0, 4.0])
    lo, hi = t.loc["nested_selection", ["ci_regions_lo", "ci_regions_hi"]]
    assert lo == hi == 0.5  # the same ratio in every region: a degenerate interval
