"""Loading: file and TOML errors, kind detection, one ConfigError for every problem, JSON Schema."""
from __future__ import annotations

import pytest

from kzmig.config import (
    AssessStudyConfig,
    ForecastStudyConfig,
    RegressStudyConfig,
    RunConfig,
    detect_kind,
    json_schema,
    load_config,
    validate_config,
)
from kzmig.core.errors import ConfigError


def test_missing_unreadable_and_invalid_files(tmp_path, write):
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"cannot read"):
        load_config(tmp_path)  # a folder
    with pytest.raises(ConfigError, match=r"study\.toml: not valid TOML \(.*line 1"):
        load_config(write("[study\nname="))
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b'[study]\nname = "\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin\.toml: not UTF-8"):
        load_config(bad)


@pytest.mark.parametrize(("text", "kind", "cls"), [
    ("[run]\nname = \"r\"\n", "run", RunConfig),
    ("[features]\ncolumns = [\"x\"]\n[[models]]\nname = \"p\"\nkind = \"pooled_ols\"\n", "regress",
     RegressStudyConfig),
    ("[study]\nname = \"s\"\n[models.n]\nkind = \"naive\"\n", "forecast", ForecastStudyConfig),
    ("[assess]\nsmooth_k = 2\n", "assess", AssessStudyConfig),
])
def test_kind_is_detected_from_the_tables(write, text, kind, cls):
    path = write(text)
    assert detect_kind(__import__("tomllib").loads(text)) == kind
    assert type(load_config(path)) is cls and type(load_config(path, kind=kind)) is cls


def test_undetectable_or_unknown_kind(write):
    path = write("[foo]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"study\.toml: cannot tell which kind.*Pass kind="):
        load_config(path)
    with pytest.raises(ConfigError, match=r"kind='plan' is not a config kind; choose one of 'forecast'"):
        load_config(path, kind="plan")
    with pytest.raises(ConfigError, match=r"(?s)study\.toml: .*\n  - foo: unknown key; the top level takes run"):
        load_config(path, kind="run")


def test_a_forecast_read_as_regress_names_its_keys(minimal_forecast, refused):
    refused(minimal_forecast, "study", "unknown key", kind="regress")


def test_every_problem_is_listed_once(write, at):
    path = write('[study]\nname = "t"\n[backtest]\nhorizon = "3"\n[forecast]\nto_year = "2030"\nlevels = 0.8\n'
                 '[data]\nnational = "no"\n[models.gbm]\nkind = "boosting"\nparams = { lags = "3" }\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: 5 problems in this forecast config:")
    for key in ("backtest.horizon", "forecast.to_year", "forecast.levels", "data.national",
                "models.gbm.params.lags"):
        assert msg.count(f"\n  - {key}:") == 1, key
    assert "Traceback" not in msg and "pydantic" not in msg and "errors.pydantic.dev" not in msg


def test_validate_config_without_a_file():
    cfg = validate_config({"study": {"name": "s"}, "models": {"n": {"kind": "naive"}}}, "forecast")
    assert cfg.path is None and cfg.sha256 == ""
    with pytest.raises(ConfigError, match=r"^<config>: 1 problem in this forecast config:\n  - study: missing"):
        validate_config({"models": {"n": {"kind": "naive"}}}, "forecast")


def test_shipped_configs_detect_their_kind(forecast_toml, regress_toml):
    assert isinstance(load_config(forecast_toml), ForecastStudyConfig)
    assert isinstance(load_config(regress_toml), RegressStudyConfig)


def test_json_schema_lists_the_choices():
    fc = json_schema("forecast")
    defs = fc["$defs"]
    assert fc["title"] == "kzmig forecast config" and fc["additionalProperties"] is False
    assert defs["ForecastBlock"]["properties"]["conformal"]["enum"] == ["missing", "all", "none"]
    assert defs["BreaksBlock"]["properties"]["treatment"]["enum"] == ["bridge", "dummy", "keep"]
    spec = fc["properties"]["models"]["patternProperties"]
    kinds = set(next(iter(spec.values()))["discriminator"]["mapping"])
    assert kinds == {"naive", "drift", "window_mean", "historic_mean", "auto_arima", "ets", "theta", "pooled_ar", "boosting",
                     "ensemble", "mean_reversion", "fe_direct", "stacked"}
    boosting = defs["GradientBoostingParams"]["properties"]
    assert boosting["transform"]["enum"] == ["level", "diff"] and "breaks" not in boosting
    origins = defs["BacktestBlock"]["properties"]["origins"]["anyOf"]
    assert {o["type"] for o in origins} == {"array", "object"}
    rg = json_schema("regress")["$defs"]
    assert rg["CovarianceBlock"]["properties"]["types"]["items"]["enum"] == [
        "unadjusted", "robust", "clustered", "driscoll-kraay"]
    assert rg["BootstrapBlock"]["properties"]["weights"]["enum"] == ["rademacher", "webb"]
    assert json_schema("assess")["$defs"]["AssessStudyConfig"]["properties"]["method"]["enum"] == [
        "default", "paper"]
    assert set(json_schema("run")["properties"]) == {"run", "assess", "regress", "forecasts", "scenarios", "scenario", "specialists",
                                                     "execution"}
    assert defs["ExecutionBlock"]["properties"]["backend"]["enum"] == ["local", "dask"]
    with pytest.raises(ConfigError, match="not a config kind"):
        json_schema("plan")


def test_from_resolved_gives_back_the_config_a_manifest_recorded(forecast_toml):
    import json

    from kzmig.config import from_resolved

    cfg = load_config(forecast_toml)
    dumped = json.loads(json.dumps(cfg.model_dump(mode="json"), sort_keys=True))  # as manifest.json holds it
    order = [s.name for s in cfg.models]
    back = from_resolved(dumped, "forecast", source="m.json", path=cfg.path, sha256=cfg.sha256, models_order=order)
    assert back == cfg and [s.name for s in back.models] == order and back.sha256 == cfg.sha256
    unordered = [s.name for s in from_resolved(dumped, "forecast", source="m.json").models]
    assert unordered == sorted(set(order) - {"ensemble", "stacked"}) + ["ensemble", "stacked"]  # members first
    with pytest.raises(ConfigError, match=r"^m\.json: model order \['naive'\] does not name the models"):
        from_resolved(dumped, "forecast", source="m.json", models_order=["naive"])
    with pytest.raises(ConfigError, match=r"^m\.json: 1 problem in this forecast config:\n  - forecast\.to_year"):
        from_resolved({**dumped, "forecast": {**dumped["forecast"], "to_year": "soon"}}, "forecast", source="m.json")


def test_the_source_file_is_recorded_on_a_copy(minimal_forecast):
    import tomllib
    from pathlib import Path

    from kzmig.config.load import stamped, validate_config

    cfg = validate_config(tomllib.loads(minimal_forecast), "forecast")
    out = stamped(cfg, Path("x.toml"), "ab" * 32)
    assert out is not cfg and (out.path, out.sha256) == (Path("x.toml"), "ab" * 32)
    assert (cfg.path, cfg.sha256) == (None, "")  # the validated object is left as it was
    assert out.model_dump() == cfg.model_dump()


def test_run_studies_remember_their_own_files(write):
    study = write('[study]\nname = "net"\n[models.naive]\nkind = "naive"\n', name="net.toml")
    run = write('[run]\nname = "r"\n[forecasts.net]\nconfig = "net.toml"\n', name="run.toml")
    cfg = load_config(run)
    assert cfg.path == run and cfg.forecasts["net"].path == study
    assert cfg.references == {"forecasts.net": {"path": str(study), "sha256": cfg.forecasts["net"].sha256}}
    assert cfg.forecasts["net"].sha256 != cfg.sha256


def test_loaded_from_is_not_a_key(write, minimal_forecast, refused):
    refused('loaded_from = "x"\n' + minimal_forecast, "loaded_from", "unknown key", "the top level takes study")
