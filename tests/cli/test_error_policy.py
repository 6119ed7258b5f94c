"""The error policy at the study boundary, command by command: a user error (any ``KzmigError``)
exits 2 with a message naming the culprit (file, key, region or year) and no traceback; anything
else exits 1 with one line that names the log holding the traceback (``run.log`` of the failed run
folder when there is one).

Data files here are SYNTHETIC (real region codes, made-up values) unless they are the shipped data.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from cli_helpers import run_kzmig, synthetic_panel

from kzmig.core.errors import (ConfigError, DataError, KzmigError, ModelVersionError, StateError, StudyError,
                               study_boundary)
from kzmig.core.resources import experiments_dir

FORECAST = """
[study]
name = "t"
[backtest]
origins = {{from = 2011, to = 2013}}
horizon = 2
[forecast]
to_year = {to_year}
[models.naive]
kind = "naive"
{extra}
"""


def _user_error(res, *culprits):
    assert res.code == 2, res.text
    assert "Traceback" not in res.text and "internal error" not in res.text, res.text
    assert res.text.startswith("error: ") or "\nerror: " in res.out + res.err, res.text
    for c in culprits:
        assert str(c) in res.text, (c, res.text)


def _data(tmp_path, **kw):
    path = tmp_path / "synthetic.csv"
    synthetic_panel(**kw).to_csv(path, index=False)
    return path


def _forecast_cfg(tmp_path, to_year=2019, extra=""):
    path = tmp_path / "study.toml"
    path.write_text(FORECAST.format(to_year=to_year, extra=extra), encoding="utf-8")
    return path


# -- the family ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [ConfigError, DataError, StudyError, StateError, ModelVersionError])
def test_every_user_error_is_in_the_family(cls):
    assert issubclass(cls, KzmigError) and issubclass(cls, ValueError)
    assert issubclass(ModelVersionError, RuntimeError)  # as it was before it joined


def test_the_models_module_raises_the_family_classes():
    from kzmig.models import persistence
    from kzmig.models.persistence import state

    assert state.StateError is StateError and persistence.ModelVersionError is ModelVersionError


def test_boundary_names_where_once_and_lets_other_errors_pass():
    with pytest.raises(StudyError, match=r"^run\.toml: target 'x' is empty$"):
        with study_boundary("run.toml"):
            raise StudyError("target 'x' is empty")
    with pytest.raises(ConfigError, match=r"^run\.toml: key$"):  # already named: not twice
        with study_boundary("run.toml"):
            raise ConfigError("run.toml: key")
    with pytest.raises(KeyError):
        with study_boundary("run.toml"):
            raise KeyError("internal")


# -- a user error exits 2, naming the culprit --------------------------------------------------
def test_assess_bad_data_exits_2_naming_the_file_and_variable(tmp_path):
    data = tmp_path / "no_births.csv"
    frame = synthetic_panel()
    frame.loc[frame["variable"] != "natural_increase"].to_csv(data, index=False)
    res = run_kzmig("assess", "--data", data, "--start", "2005", "--end", "2016", "--out", tmp_path / "o")
    _user_error(res, data, "natural_increase")


def test_regress_unknown_builder_exits_2_at_load_and_in_config_check(tmp_path):
    text = (experiments_dir() / "migration_factors.toml").read_text(encoding="utf-8")
    bad = tmp_path / "regress.toml"
    bad.write_text(text.replace('builders = ["density",', 'builders = ["densityx",', 1), encoding="utf-8")
    assert bad.read_text() != text
    for res in (run_kzmig("config", "check", bad), run_kzmig("regress", bad, "--out", tmp_path / "o")):
        _user_error(res, bad, "features.builders[0]", '"densityx"')


def test_forecast_to_year_before_the_data_exits_2_naming_key_and_year(tmp_path):
    cfg = _forecast_cfg(tmp_path, to_year=2012)
    res = run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o")
    _user_error(res, cfg, "forecast.to_year", "2017")


def test_run_missing_data_file_exits_2_naming_it(tmp_path):
    res = run_kzmig("run", experiments_dir() / "baseline.toml", "--data", tmp_path / "nowhere.csv",
                    "--out", tmp_path / "o")
    _user_error(res, "nowhere.csv")


def test_data_check_bad_file_exits_2_naming_it(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("region,year,variable,value\nakmola,20x5,population,1\n", encoding="utf-8")
    _user_error(run_kzmig("data", "check", bad), bad)


def test_predict_past_a_saved_direct_models_horizon_exits_2_naming_the_model_and_limit(tmp_path):
    """Issue 21: ``kzmig predict RUN --to-year`` past a saved ``fe_direct``'s horizon ended in
    "internal error: ValueError: DirectFE: fitted for horizons 1..8" (exit 1)."""
    cfg = _forecast_cfg(tmp_path, to_year=2019, extra="[models.direct]\nkind = \"fe_direct\"\n"
                                                         "params = { max_horizon = 2 }\n")
    run = tmp_path / "run"
    first = run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", run)
    assert first.code == 0, first.text
    res = run_kzmig("predict", run, "--to-year", "2040", "--out", tmp_path / "p")
    _user_error(res, run, "model 'direct'", "up to 2019", "max_horizon")


def test_predict_of_a_folder_that_is_no_run_exits_2(tmp_path):
    _user_error(run_kzmig("predict", tmp_path, "--out", tmp_path / "p"), tmp_path, "manifest.json")


# -- anything else exits 1 with one line, the traceback in the log -----------------------------
def _internal(res):
    assert res.code == 1, res.text
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("internal error: RuntimeError: planted"), res.err
    assert "Traceback" not in res.text
    log = Path(re.search(r"traceback in (\S+)\)", lines[0]).group(1))
    assert "RuntimeError: planted" in log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")
    return log


def _planted(*args, **kwargs):
    raise RuntimeError("planted bug")


@pytest.mark.parametrize("command", ["assess", "regress", "forecast", "run"])
def test_an_internal_error_of_a_study_exits_1_with_the_traceback_in_run_log(command, monkeypatch, tmp_path):
    import kzmig.studies

    for kind in ("assess", "regress", "forecast", "run"):
        monkeypatch.setitem(kzmig.studies.STUDIES, kind, _planted)
    monkeypatch.setattr(importlib.import_module("kzmig.studies.assess"), "assess", _planted)
    config = {"assess": [], "regress": [experiments_dir() / "migration_factors.toml"],
              "forecast": [experiments_dir() / "net_migration.toml"],
              "run": [experiments_dir() / "net_migration.toml"]}[command]
    log = _internal(run_kzmig(command, *config, "--out", tmp_path / "o"))
    assert log.name == "run.log" and log.parent.name.startswith("o.failed-")  # the failed run folder keeps it; no complete folder
    assert not (tmp_path / "o").exists()


def test_an_internal_error_of_predict_exits_1(monkeypatch, tmp_path):
    module = importlib.import_module("kzmig.studies.predict")
    monkeypatch.setattr(module, "predict", _planted)
    monkeypatch.setattr(module, "predict_name", lambda run_dir: "p")
    assert _internal(run_kzmig("predict", tmp_path, "--out", tmp_path / "o")).name == "run.log"


def test_an_internal_error_of_data_check_exits_1(monkeypatch):
    monkeypatch.setattr(importlib.import_module("kzmig.studies.data"), "open_data", _planted)
    assert _internal(run_kzmig("data", "check")).name.startswith("kzmig-error-")  # no run folder: a log of its own
