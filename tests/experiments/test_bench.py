"""The benchmark scripts run from any folder with kzmig installed (no path of one machine, no sys.path edits)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "experiments" / "bench"


@pytest.mark.parametrize("script", ["bench_scale.py", "bench_statsforecast.py", "bench_wild_bootstrap.py"])
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
