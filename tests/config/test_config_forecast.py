"""ForecastStudyConfig: every key of a study file reads as written (checked against ``tomllib``'s
own reading of the file); each defect reported against the old hand-written parser is now an
error naming the file and the key path."""
from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from kzmig.config import ForecastStudyConfig, load_config
from kzmig.core.errors import ConfigError

BLOCKS = ("data", "targets", "backtest", "forecast", "reconciliation", "population")


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


def _assert_reads_as_written(new, path):
    """Every key the file sets has that value in the config (arrays as tuples)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert new.name == raw["study"]["name"]
    assert new.breaks == raw.get("breaks", {}).get("treatment", new.breaks)
    for block in BLOCKS:
        for key, value in raw.get(block, {}).items():
            got = getattr(getattr(new, block), key)
            if key == "origins" and isinstance(value, dict):
                value = list(range(value["from"], value["to"] + 1))
            if isinstance(value, list) and key in ("origins", "levels"):
                value = sorted(value)
            assert got == _plain(value), (block, key)
    specs = {m.name: m for m in new.models}
    assert set(specs) == set(raw["models"])
    for name, table in raw["models"].items():
        m = specs[name]
        assert m.kind == table["kind"]
        assert {k: _plain(v) for k, v in dict(m.params).items()} == {k: _plain(v) for k, v in table.get("params", {}).items()}
        assert tuple(m.members) == tuple(table.get("members", ()))
    assert str(new.path) == str(path)


def test_shipped_study_reads_as_written(forecast_toml):
    new = load_config(forecast_toml)
    assert isinstance(new, ForecastStudyConfig)
    _assert_reads_as_written(new, forecast_toml)
    assert new.forecast.levels == (0.8, 0.95) and new.backtest.origins == tuple(range(2012, 2022))


@pytest.mark.parametrize("extra", [
    "",
    "[data]\nfirst_year = 2005\nlast_year = 2020\nnational = false\nborders = 2022\n",
    "[targets]\nnames = [\"net_migration\", \"net_migration_rate_per_1000\"]\nadditive = []\nexog = [\"x\"]\n",
    "[breaks]\ntreatment = \"dummy\"\n",
    "[forecast]\nto_year = 2028\nlevels = [0.9]\nconformal = \"none\"\nselect_by = \"rmse\"\n",
    "[reconciliation]\nmethods = [\"ols\", \"wls\"]\nuse = \"wls\"\n",
    "[population]\nenabled = true\nmodel = \"naive\"\n",
    "[models.w]\nkind = \"window_mean\"\nparams = { k = 5 }\n[models.b]\nkind = \"boosting\"\n"
    "params = { lags = 2, exog = [\"x\"], learning_rate = 0.1, region_feature = false }\n",
])
def test_every_key_reads_as_written(write, minimal_forecast, extra):
    path = write(minimal_forecast + extra)
    _assert_reads_as_written(load_config(path), path)


def test_current_view_has_no_borders(write, minimal_forecast, refused):
    cfg = load_config(write(minimal_forecast + "[data]\nview = \"current\"\n"))
    assert cfg.data.view == "current" and cfg.data.borders is None
    refused(minimal_forecast + "[data]\nview = \"current\"\nborders = 2018\n", "data.borders", "harmonised")


@pytest.mark.parametrize(("section", "line", "key", "allowed"), [
    ("backtest", "horizon = \"3\"", "backtest.horizon", "expected an integer from 1 to 30"),
    ("backtest", "horizon = 31", "backtest.horizon", "expected an integer from 1 to 30"),
    ("forecast", "levels = 0.8", "forecast.levels", "each item a number > 0 and < 1"),
    ("forecast", "levels = [0.8, 1.0]", "forecast.levels[1]", "expected a number > 0 and < 1"),
    ("forecast", "to_year = \"2030\"", "forecast.to_year", "expected an integer from 1990 to 2100"),
    ("forecast", "conformal = \"some\"", "forecast.conformal", 'one of "missing", "all", "none"'),
    ("forecast", "select_by = \"mape\"", "forecast.select_by", 'one of "mase", "mae", "rmse"'),
    ("data", "national = \"no\"", "data.national", "expected true or false"),
    ("data", "borders = 2019", "data.borders", "one of 2017, 2018, 2022"),
    ("data", "first_year = 2020\nlast_year = 2010", "data.last_year", "after first_year"),
    ("reconciliation", "methods = [\"ols\"]\nuse = \"wls\"", "reconciliation.use", "one of methods"),
    ("breaks", "treatment = \"drop\"", "breaks.treatment", 'one of "bridge", "dummy", "keep"'),
    ("targets", "additive = [\"rate\"]", "targets.additive[0]", "must be one of names"),
    ("population", "enabled = true\nmigration_target = \"x\"", "population.migration_target", "[targets] names"),
    ("population", "model = \"ghost\"", "population.model", '"selected" or a model of the study'),
])
def test_bad_values_name_file_key_and_allowed(section, line, key, allowed, refused):
    refused(f"[study]\nname = \"t\"\n[models.naive]\nkind = \"naive\"\n[{section}]\n{line}\n", key, allowed)


@pytest.mark.parametrize("name", ["../../x", "/abs/path", "a/b", ".hidden", "a..b", "", "x" * 65])
def test_study_name_cannot_leave_runs(name, refused):
    refused(f"[study]\nname = \"{name}\"\n[models.naive]\nkind = \"naive\"\n", "study.name")


def test_data_keys_a_forecast_does_not_read_are_refused(minimal_forecast, refused):
    refused(minimal_forecast + "[data]\nbreaks = \"keep\"\n", "data.breaks",
            "the forecast study does not read data.breaks", "[breaks] treatment")
    refused(minimal_forecast + "[data]\nfirst_year = 2010\nlast_year = 2010\n", "data.last_year",
            "must be after first_year = 2010")


def test_manifest_dump_holds_the_keys_the_study_reads(write, minimal_forecast):
    from kzmig.config import from_resolved, load_config

    cfg = load_config(write(minimal_forecast + "[data]\nfirst_year = 2000\n"))
    dump = cfg.model_dump(mode="json")
    assert dump["data"] == {"view": "harmonised", "borders": 2018, "first_year": 2000, "last_year": None,
                            "national": True}
    assert "loaded_from" not in dump
    back = from_resolved(dump, "forecast", source="m.json", path=cfg.path, sha256=cfg.sha256)
    assert back.data == cfg.data and back.sha256 == cfg.sha256 and back.path == cfg.path


def test_model_names_are_folder_names(refused):
    refused("[study]\nname = \"t\"\n[models.\"../up\"]\nkind = \"naive\"\n", 'models."../up" (the table name)')


def test_ensemble_before_members_loads_and_members_come_first(write, minimal_forecast):
    cfg = load_config(write("""
[study]
name = "t"
[models.ens]
kind = "ensemble"
members = ["theta", "inner"]
combine = "median"
[models.inner]
kind = "ensemble"
members = ["naive", "theta"]
[models.naive]
kind = "naive"
[models.theta]
kind = "theta"
"""))
    assert [m.name for m in cfg.models] == ["naive", "theta", "inner", "ens"]
    assert cfg.models[-1].members == ("theta", "inner") and cfg.models[-1].combine == "median"
    from kzmig.studies.forecast import build_models  # the study wires members by name, in order

    models = build_models(cfg, horizon=3)
    assert [n for n, _ in models["ens"].members] == ["theta", "inner"]


@pytest.mark.parametrize(("models", "key", "text"), [
    ('[models.e]\nkind = "ensemble"\nmembers = ["naive", "ghost"]', "models.e.members[1]", "another model"),
    ('[models.e]\nkind = "ensemble"\nmembers = ["e"]', "models.e.members[0]", "another model"),
    ('[models.e]\nkind = "ensemble"\nmembers = ["f"]\n[models.f]\nkind = "ensemble"\nmembers = ["e"]',
     "models.e.members", "a cycle"),
    ('[models.e]\nkind = "ensemble"', "models.e.members", "missing"),
    ('[models.e]\nkind = "naive"\nmembers = ["naive"]', "models.e.members", "unknown key"),
    ('[models.e]\nkind = "ensemble"\nmembers = ["naive"]\ncombine = "max"', "models.e.combine", '"mean", "median"'),
    ('[models.e]\nkind = "arima"', "models.e.kind", '"auto_arima"'),
    ('[models.e]\nparams = {}', "models.e.kind", "missing"),
    ('[models.gbm]\nkind = "boosting"\nparams = { lags = "3" }', "models.gbm.params.lags", "an integer"),
    ('[models.gbm]\nkind = "boosting"\nparams = { lag = 3 }', "models.gbm.params.lag", "did you mean lags?"),
    ('[models.gbm]\nkind = "boosting"\nparams = { transform = "log" }', "models.gbm.params.transform",
     '"level", "diff"'),
    ('[models.gbm]\nkind = "boosting"\nparams = { breaks = "keep" }', "models.gbm.params.breaks",
     "[breaks] treatment"),
    ('[models.th]\nkind = "theta"\nparams = { theta = true }', "models.th.params.theta", "a number"),
    ('[models.parms]\nkind = "naive"\nparms = {}', "models.parms.parms", "unknown key"),
])
def test_model_tables_are_checked(minimal_forecast, models, key, text, refused):
    refused(minimal_forecast + models + "\n", key, text)


def test_unknown_table_and_key_suggest_the_close_one(write, minimal_forecast, at):
    path = write(minimal_forecast + "[forecast]\nto_yaer = 2030\n[plots]\nx = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.match(at(path, "forecast.to_yaer", "unknown key", "did you mean to_year?"))
    assert err.match(at(path, "plots", "unknown key", "the top level takes study, data"))
    assert "2 problems" in str(err.value)


def test_at_least_one_model(refused):
    refused("[study]\nname = \"t\"\n", "models", "missing")


def test_frozen(write, minimal_forecast):
    cfg = load_config(write(minimal_forecast + "[models.w]\nkind = \"window_mean\"\nparams = { k = 4 }\n"))
    with pytest.raises(ValidationError, match="frozen"):
        cfg.backtest.horizon = 5
    with pytest.raises(ValidationError, match="frozen"):
        cfg.study = None
    with pytest.raises(TypeError):
        cfg.models[1].params["k"] = 2  # read-only mapping
    assert isinstance(cfg.models, tuple) and isinstance(cfg.targets.names, tuple)


def test_stacked_members_are_models_of_the_study(tmp_path):
    """A stacked model names its members like an ensemble; an unknown member is an error naming the key."""
    from kzmig.config import validate_config
    from kzmig.studies.forecast import build_models

    base = {"study": {"name": "s"}, "models": {"naive": {"kind": "naive"}, "mr": {"kind": "mean_reversion"},
                                                 "st": {"kind": "stacked", "members": ["naive", "mr"],
                                                        "params": {"step": 0.25}}}}
    cfg = validate_config(base, "forecast")
    st = build_models(cfg, 3)["st"]
    assert [n for n, _ in st.members] == ["naive", "mr"] and st.step == 0.25
    bad = {**base, "models": {**base["models"], "st": {"kind": "stacked", "members": ["nope"]}}}
    with pytest.raises(Exception, match=r"models.st.members"):
        validate_config(bad, "forecast")
