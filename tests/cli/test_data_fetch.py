"""`kzmig data fetch`, `kzmig data diff` and `kzmig run --data DIR` through the command line.

No test reaches the network: the offline case replaces httpx's network transport with one that
fails to connect (as DNS does on a machine without network); the others replay the project-made
recordings of tests/data/fetch."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from cli_helpers import run_kzmig

from kzmig.core.provenance import sha256_file
from kzmig.features.data.dataset import OBSERVATIONS
from kzmig.features.data.regions import DATA_DIR

REC = Path(__file__).resolve().parents[1] / "data" / "fetch"
SERIES = [a for s in ("population", "grp_per_capita", "avg_wage", "self_employed", "poverty_share")
          for a in ("--series", s)]


@pytest.fixture(scope="module")
def fetched(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fetch") / "v1"
    res = run_kzmig("data", "fetch", "--replay", REC, *SERIES, "--out", out)
    assert res.code == 0, res.text
    assert "16 added" in res.text and "9 revised" in res.text and f"--data {out}" in res.text
    return out


def test_offline_fails_fast_with_a_clear_message_and_writes_nothing(monkeypatch, tmp_path):
    calls = []

    def no_network(self, request):
        calls.append(str(request.url))
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_network)
    versions = sorted((DATA_DIR / "versions").glob("*")) if (DATA_DIR / "versions").exists() else []
    before = sha256_file(OBSERVATIONS)
    res = run_kzmig("data", "fetch", "--out", tmp_path / "v")
    assert res.code == 2
    assert "cannot connect to stat.gov.kz" in res.text and "no network" in res.text and "nothing was written" in res.text
    assert "Traceback" not in res.text
    assert len(calls) == 1  # the first request, not retried
    assert not (tmp_path / "v").exists() and list(tmp_path.iterdir()) == []
    assert sha256_file(OBSERVATIONS) == before
    now = sorted((DATA_DIR / "versions").glob("*")) if (DATA_DIR / "versions").exists() else []
    assert now == versions


def test_data_check_accepts_the_version(fetched):
    res = run_kzmig("data", "check", fetched)
    assert res.code == 0, res.text
    shipped = pd.read_csv(OBSERVATIONS)
    # the shipped rows plus the 16 added values; self-employment is the one new variable
    rows, variables = len(shipped) + 16, shipped["variable"].nunique() + 1
    assert f"ok: {rows} rows, {variables} variables" in res.text


def test_diff_reports_the_planted_revisions(fetched, tmp_path):
    res = run_kzmig("data", "diff", DATA_DIR, fetched, "--out", tmp_path / "c.csv")
    assert res.code == 0, res.text
    assert "9 revised, 16 added, 0 removed; 1 of the revisions only within the rounding of OLD" in res.text
    ch = pd.read_csv(tmp_path / "c.csv")
    revised = {(v, r, y, o, n) for v, r, y, o, n in
               ch.loc[ch["change"] == "revised", ["variable", "region", "year", "old", "new"]].itertuples(index=False)}
    assert revised == {("population", "akmola", 2022, 785708, 786208), ("population", "akmola", 2024, 787976, 788976),
                       ("population", "kazakhstan", 2024, 20033842, 20034842),
                       ("net_migration", "akmola", 2021, 46759, 47259), ("net_migration", "akmola", 2022, -2095, -2595),
                       ("grp_per_capita_thousand_kzt", "aktobe", 2022, 4788.2, 4790.0),
                       ("avg_wage_kzt", "almaty_city", 2020, 247951, 248500), ("avg_wage_kzt", "abai", 2023, 299142, 300142),
                       ("avg_wage_kzt", "kazakhstan", 2015, 126021, 126020.76)}
    assert ch.loc[ch["within_rounding"], ["region", "year"]].values.tolist() == [["kazakhstan", 2015]]
    back = run_kzmig("data", "diff", fetched, DATA_DIR)  # the other way round: added become removed
    # the other way round, 126020.76 -> 126021 is not within a rounding (the old value is not whole)
    assert back.code == 0 and "9 revised, 0 added, 16 removed" in back.text and "rounding" not in back.text
    same = run_kzmig("data", "diff", fetched, fetched)
    assert same.code == 0 and "no differences" in same.text


def test_diff_of_a_missing_folder_is_a_user_error(tmp_path):
    res = run_kzmig("data", "diff", DATA_DIR, tmp_path / "nowhere")
    assert res.code == 2 and "no such file or folder" in res.text


def test_diff_names_old_or_new_for_a_folder_that_is_not_a_version(fetched):
    tests_dir = Path(__file__).resolve().parents[1]
    res = run_kzmig("data", "diff", DATA_DIR, tests_dir)
    assert res.code == 2 and f"error: NEW {tests_dir}: a folder must be a dataset version" in res.text, res.text
    res = run_kzmig("data", "diff", tests_dir, fetched)
    assert res.code == 2 and f"error: OLD {tests_dir}: a folder must be a dataset version" in res.text, res.text
    res = run_kzmig("data", "diff", fetched, tests_dir / "nowhere")
    assert res.code == 2 and "NEW " in res.text and "no such file or folder" in res.text
    assert "--data" not in res.text


@pytest.mark.parametrize("case", ["parent_is_a_file", "out_is_a_folder"])
def test_diff_with_a_bad_out_is_a_user_error_before_the_diff(fetched, tmp_path, case):
    (tmp_path / "plain.txt").write_text("x")
    out = tmp_path / "plain.txt" / "c.csv" if case == "parent_is_a_file" else tmp_path
    res = run_kzmig("data", "diff", DATA_DIR, fetched, "--out", out)
    assert res.code == 2, res.text
    assert f"error: --out {out}:" in res.text and "Traceback" not in res.text
    assert ("plain.txt is a file" if case == "parent_is_a_file" else "is a folder") in res.text
    assert "revised" not in res.text  # checked before the diff runs and prints
    assert (tmp_path / "plain.txt").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt"]


def test_diff_os_error_on_writing_out_is_a_user_error_naming_the_path(fetched, tmp_path, monkeypatch):
    import kzmig.core.atomic

    def refuse(df, path, **kw):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(kzmig.core.atomic, "atomic_write_csv", refuse)
    res = run_kzmig("data", "diff", DATA_DIR, fetched, "--out", tmp_path / "c.csv")
    assert res.code == 2, res.text
    assert f"error: --out {tmp_path / 'c.csv'}: cannot write the changes there (Permission denied)" in res.text


def test_fetch_refuses_the_shipped_folder_and_an_unknown_series(tmp_path):
    before = sha256_file(OBSERVATIONS)
    res = run_kzmig("data", "fetch", "--replay", REC, "--series", "population", "--out", DATA_DIR)
    assert res.code == 2 and "over the shipped dataset" in res.text
    assert sha256_file(OBSERVATIONS) == before
    res = run_kzmig("data", "fetch", "--replay", REC, "--series", "wages", "--out", tmp_path / "v")
    assert res.code == 2 and "not in the catalogue" in res.text and "avg_wage" in res.text


def test_http_error_of_a_table_not_recorded_is_a_user_error(tmp_path):
    res = run_kzmig("data", "fetch", "--replay", REC, "--series", "births", "--out", tmp_path / "v")
    assert res.code == 2 and "6548/csv/file/ru/: HTTP 404" in res.text
    assert not (tmp_path / "v").exists()


TINY = """
[study]
name = "tiny"
[data]
view = "harmonised"
borders = 2018
[targets]
names = ["net_migration"]
additive = ["net_migration"]
[backtest]
origins = {from = 2016, to = 2020}
horizon = 2
[forecast]
to_year = 2027
levels = [0.8]
[reconciliation]
methods = ["ols"]
use = "ols"
[models.naive]
kind = "naive"
[models.pooled_ar]
kind = "pooled_ar"
"""


def test_run_with_data_dir_records_the_dataset_version(fetched, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY, encoding="utf-8")
    res = run_kzmig("run", cfg, "--data", fetched, "--out", tmp_path / "run")
    assert res.code == 0, res.text
    data = json.loads((tmp_path / "run" / "manifest.json").read_text())["data"]
    assert data["version"] == json.loads((fetched / "version.json").read_text())["version"]
    assert data["sha256"] == sha256_file(fetched / "processed" / "observations.csv")
    assert data["vintage"]["population"] == 2026 and data["vintage"]["self_employed_thousand_persons"] == 2023
