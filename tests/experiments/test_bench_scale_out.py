"""The scaling benchmark runs from any folder and writes its table (SYNTHETIC series; no timing asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parents[2] / "experiments" / "bench" / "bench_scale_out.py"


def test_tiny_run_writes_one_row_per_backend_and_size_with_identical_tables(tmp_path):
    res = subprocess.run([sys.executable, str(BENCH), "--sizes", "3", "6", "--backends", "local1", "local2",
                          "--models", "naive", "--origins", "2021", "--reference", "3"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    table = pd.read_csv(tmp_path / "runs" / "bench_scale_out" / "bench_scale_out.csv")
    assert table[["backend", "n_series"]].values.tolist() == [["local1", 3], ["local1", 6], ["local2", 3], ["local2", 6]]
    assert (table["data"] == "synthetic").all()
    # naive, origin 2021, horizons 1-3 with a published value (2022-2024), 2 levels, per series
    assert (table["rows"] == table["n_series"] * 3 * 2).all()
    assert table.groupby("n_series")["sha256"].nunique().eq(1).all()
    assert (table["rss_peak_mib"] >= table["rss_before_mib"]).all() and (table["seconds"] > 0).all()
    assert "tables identical across backends at every size: True" in res.stdout
    assert "scaling exponent (slope of log wall time on log series)" in res.stdout
