"""One error policy for every command: a user error exits 2 naming the file, key, column,
region or year; an internal error exits 1 with one line and the traceback in a log; no
traceback reaches the user without --debug; an empty or degenerate result is an error.

Each case below was reported against an earlier version (issue "One installable package").
Data files here are SYNTHETIC (real region codes, made-up values) unless they are the shipped data.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_helpers import run_kzmig, synthetic_panel

FORECAST = """
[study]
name = "{name}"
[targets]
names = ["net_migration"]
additive = ["net_migration"]
[backtest]
origins = {origins}
horizon = 2
[forecast]
to_year = {to_year}
{extra_forecast}
[population]
enabled = {population}
[models.naive]
kind = "naive"
[models.mean2]
kind = "window_mean"
params = {{ k = 2 }}
"""


def _forecast_cfg(tmp_path, *, name="t", origins="{from = 2012, to = 2014}", to_year=2020, population="false",
                  extra_forecast="", file="study.toml"):
    path = tmp_path / file
    path.write_text(FORECAST.format(name=name, origins=origins, to_year=to_year, population=population,
                                    extra_forecast=extra_forecast), encoding="utf-8")
    return path


def _data(tmp_path, **kw):
    path = tmp_path / "synthetic.csv"
    synthetic_panel(**kw).to_csv(path, index=False)
    return path


def _user_error(res, *fragments):
    assert res.code == 2, res.text
    assert "Traceback" not in res.text
    for f in fragments:
        assert f in res.text, (f, res.text)


# -- configs: values checked before anything is loaded or written ------------------------------
@pytest.mark.parametrize(("old", "new", "key"), [
    ("horizon = 2", 'horizon = "3"', 'backtest.horizon: found "3" (a string)'),
    ("to_year = 2020", "to_year = \"2030\"", 'forecast.to_year: found "2030" (a string)'),
    ("[population]\nenabled = false", "[population]\nenabled = \"no\"", 'population.enabled: found "no" (a string)'),
    ("[forecast]\n", "[forecast]\nlevels = 0.8\n", "forecast.levels: found 0.8 (a number)"),
    ('name = "t"', 'name = "../../x"', "study.name: found \"../../x\""),
    ('name = "t"', 'name = "/abs/path"', "study.name: found \"/abs/path\""),
    ("origins = {from = 2012, to = 2014}", "origins = {from = 2014, to = 2012}", "backtest.origins"),
])
def test_bad_forecast_config_values_exit_2_naming_the_key(tmp_path, old, new, key):
    cfg = _forecast_cfg(tmp_path)
    text = cfg.read_text().replace(old, new, 1)
    assert text != cfg.read_text()
    cfg.write_text(text)
    res = run_kzmig("forecast", cfg, "--out", tmp_path / "out", "--data", _data(tmp_path))
    _user_error(res, str(cfg), key)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("out.*"))


def test_unknown_regress_key_exits_2_without_traceback(tmp_path):
    from kzmig.core.resources import experiments_dir

    cfg = tmp_path / "r.toml"
    cfg.write_text((experiments_dir() / "migration_factors.toml").read_text().replace("lag = 1", "lag = 1\nlagg = 2", 1))
    _user_error(run_kzmig("regress", cfg, "--out", tmp_path / "o"), "features.lagg: unknown key")


# -- data files -----------------------------------------------------------------------------
def test_data_check_exits_2_on_a_wide_file_with_an_odd_variable_name(tmp_path):
    bad = tmp_path / "wide.csv"
    bad.write_text("region,variable,2015,2016\nakmola,3:2000,1,2\n", encoding="utf-8")
    _user_error(run_kzmig("data", "check", bad), "wide.csv", "'3:2000'", "row 2")


def test_nul_byte_in_a_region_name_exits_2(tmp_path):
    bad = tmp_path / "nul.csv"
    bad.write_bytes(b"region,year,variable,value\nakm\x00ola,2015,births,3\n")
    _user_error(run_kzmig("assess", "--data", bad, "--out", tmp_path / "o"), "nul.csv", "row 2", "'region'", "NUL")


def test_assess_on_a_table_without_what_it_needs_names_it(tmp_path):
    pop_only = tmp_path / "pop.csv"
    synthetic_panel().query("variable == 'population'").to_csv(pop_only, index=False)
    _user_error(run_kzmig("assess", "--data", pop_only, "--out", tmp_path / "o"),
                "pop.csv", "natural increase", "'natural_increase'")


def test_assess_derives_net_migration_when_the_table_has_none(tmp_path):
    """Population and natural increase are enough: net migration comes from the balancing equation."""
    no_mig = tmp_path / "nomig.csv"
    synthetic_panel().query("variable != 'net_migration'").to_csv(no_mig, index=False)
    res = run_kzmig("assess", "--data", no_mig, "--start", "2006", "--end", "2015", "--out", tmp_path / "o")
    assert res.code == 0, res.text
    assert pd.read_csv(tmp_path / "o" / "population_change.csv")["group"].notna().all()


# -- output folders --------------------------------------------------------------------------
def test_out_pointing_to_a_file_or_below_a_file_exits_2(tmp_path):
    f = tmp_path / "taken.txt"
    f.write_text("x")
    _user_error(run_kzmig("assess", "--out", f), "taken.txt: is a file")
    _user_error(run_kzmig("assess", "--out", f / "sub"), "cannot create the folder")
    assert f.read_text() == "x"


def test_default_run_folder_is_under_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_kzmig("assess", "--start", "2015", "--end", "2020")
    assert res.code == 0, res.text
    (run,) = (tmp_path / "runs" / "assess").iterdir()
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"


# -- degenerate forecasts are errors, not exit 0 with header-only tables ----------------------
def test_origins_outside_the_data_exit_2(tmp_path):
    cfg = _forecast_cfg(tmp_path, origins="[1995, 1996]")
    _user_error(run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o"),
                "no target could be forecast", "net_migration", "no backtest origin of [1995, 1996]")
    assert not (tmp_path / "o").exists()
    (failed,) = tmp_path.glob("o.failed-*")  # the error is kept, in a folder nobody can take for a result
    assert json.loads((failed / "manifest.json").read_text())["status"] == "failed"
    assert not list(failed.glob("*.csv"))


def test_every_series_too_short_exits_2(tmp_path):
    cfg = _forecast_cfg(tmp_path, origins="[2016]")
    short = tmp_path / "short.csv"
    synthetic_panel().query("year >= 2016").to_csv(short, index=False)
    _user_error(run_kzmig("forecast", cfg, "--data", short, "--out", tmp_path / "o"),
                "no target could be forecast", "no series has the 3 years the models need")


def test_to_year_far_beyond_the_data_needs_an_explicit_limit(tmp_path):
    cfg = _forecast_cfg(tmp_path, to_year=2300)
    _user_error(run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o"),
                "forecast.to_year: found 2300 (an integer); expected an integer from 1990 to 2100")
    cfg = _forecast_cfg(tmp_path, to_year=2090)
    _user_error(run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o"),
                "forecast.to_year = 2090 is 73 years after the last observed year 2017",
                "forecast.max_years_ahead = 30", "up to 2047")


def test_population_falling_below_zero_is_an_error(tmp_path):
    data = synthetic_panel()
    # a steady outflow of 60,000 a year from a region of 500,000: the naive forecast empties it by 2026
    data.loc[(data["variable"] == "net_migration") & (data["region"] == "akmola"), "value"] = -60_000.0
    nat = data.loc[data["variable"] == "net_migration"].groupby("year")["value"].sum()
    ismig = (data["variable"] == "net_migration") & (data["region"] == "kazakhstan")
    data.loc[ismig, "value"] = data.loc[ismig, "year"].map(nat - data.loc[ismig].set_index("year")["value"]).to_numpy()
    path = tmp_path / "outflow.csv"
    data.to_csv(path, index=False)
    cfg = _forecast_cfg(tmp_path, to_year=2060, population="true", extra_forecast="max_years_ahead = 50")
    _user_error(run_kzmig("forecast", cfg, "--data", path, "--out", tmp_path / "o"),
                "projected population of akmola falls to", "choose an earlier forecast.to_year")


def test_a_missing_member_is_not_reconciled_into_a_total_that_includes_it(tmp_path):
    """Pavlodar has two years: it cannot be forecast, so the others are not forced to a national
    total that includes it; the run says so."""
    cfg = _forecast_cfg(tmp_path)
    res = run_kzmig("forecast", cfg, "--data", _data(tmp_path, short={"pavlodar": 2016}), "--out", tmp_path / "o")
    assert res.code == 0, res.text
    assert "not reconciled, because ['pavlodar'] are too short" in res.text
    fc = pd.read_csv(tmp_path / "o" / "forecasts.csv")
    base = pd.read_csv(tmp_path / "o" / "forecasts_base.csv")
    assert "pavlodar" not in set(fc["region"])
    key = ["model", "region", "year", "level"]
    merged = fc.merge(base, on=key, suffixes=("", "_base"))
    assert len(merged) == len(fc) and (merged["point"] == merged["point_base"]).all()  # left as forecast
    assert set(fc["reconciled"]) == {"none: series missing from the hierarchy"}
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert any("pavlodar" in n for n in manifest["notes"])


# -- internal errors: exit 1, one line, the traceback in the log -------------------------------
def test_internal_error_exits_1_with_the_traceback_in_the_run_log(tmp_path, monkeypatch):
    import importlib

    study = importlib.import_module("kzmig.studies.assess")  # the module (the package exports the function)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(study, "assessment_tables", broken)
    res = run_kzmig("assess", "--out", tmp_path / "o")
    assert res.code == 1
    assert "internal error: RuntimeError: a bug (traceback in" in res.text and "Traceback" not in res.text
    assert "second line" not in res.text
    (failed,) = tmp_path.glob("o.failed-*")
    log = (failed / "run.log").read_text()
    assert "Traceback" in log and "RuntimeError: a bug" in log
    assert json.loads((failed / "manifest.json").read_text())["error"]["type"] == "RuntimeError"
    debug = run_kzmig("--debug", "assess", "--out", tmp_path / "o2")
    assert debug.code == 1 and "Traceback" in debug.err


def test_usage_errors_exit_2():
    res = run_kzmig("assess", "--borders", "x")
    assert res.code == 2 and "Invalid value for '--borders'" in res.text
    assert run_kzmig("no-such-command").code == 2


def test_origins_too_early_for_the_models_exit_2(tmp_path):
    cfg = _forecast_cfg(tmp_path, origins="[2005]")  # 2 years of data by then, the models need 3
    _user_error(run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o"),
                "target 'net_migration': the backtest (backtest.origins, backtest.horizon) cannot run")


def test_horizon_beyond_what_boosting_can_train_exits_2(tmp_path):
    cfg = _forecast_cfg(tmp_path)
    cfg.write_text(cfg.read_text().replace("horizon = 2", "horizon = 12") + "[models.gbm]\nkind = \"boosting\"\n")
    _user_error(run_kzmig("forecast", cfg, "--data", _data(tmp_path), "--out", tmp_path / "o"),
                "target 'net_migration'", "cannot run")
