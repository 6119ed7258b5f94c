"""Every option of every command: it sets a config key that exists, or it is one of the few options
that are not config keys; and each one is called here, with its effect checked.

The studies are replaced by a stand-in that records what it was given (config, data, to_year)
and returns an empty result, so each call takes a fraction of a second; the option is shown to
reach the study as the key it names. ``kzmig assess --k 1`` runs the real assessment once.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from cli_helpers import run_kzmig, synthetic_panel
from pydantic import BaseModel

from kzmig.cli import app
from kzmig.config.load import ASSESS_OPTIONS, EXECUTION_OPTIONS, FILE_MODELS
from kzmig.core.errors import StudyError
from kzmig.core.resources import experiments_dir
from kzmig.studies.base import StudyResult

EXPERIMENTS = experiments_dir()
FORECAST_TOML = EXPERIMENTS / "net_migration.toml"
REGRESS_TOML = EXPERIMENTS / "migration_factors.toml"

#: (command, option) -> (config kind, key path) of the config key the option sets
CONFIG_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    **{("assess", opt): ("assess", f"assess.{key}") for opt, key in ASSESS_OPTIONS.items()},
    **{(cmd, opt): (cmd, f"execution.{key}") for cmd in ("forecast", "run") for key, opt in EXECUTION_OPTIONS.items()},
    ("predict", "--to-year"): ("forecast", "forecast.to_year"),
    ("run", "--lang"): ("run", "run.lang"),
    ("run", "--charts"): ("run", "run.charts"),
}
#: options that are not config keys: what they are
NOT_CONFIG = {
    "--verbose/-v": "logging", "--debug": "logging", "--config": "the config file itself",
    "--data": "the data the study reads", "--out": "the output folder or file", "--overwrite": "the output folder",
    "--example": "a shipped config file", "--raw": "the raw statistics folder", "--series": "what to download",
    "--since": "what to download", "--replay": "recorded responses instead of the network",
    "--timeout": "network", "--limit": "rows printed", "--markdown": "the output format of config schema",
    "--decimal": "how a user file's numbers are written", "--thousands": "how a user file's numbers are written",
}


def _options():
    """(command, option spelling) of every option of the app, as the user types them."""
    def walk(cmd, path):
        for p in cmd.params:
            if p.param_type_name == "option":
                yield " ".join(path), "/".join(p.opts + p.secondary_opts)
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])
    return sorted(set(walk(typer.main.get_command(app), [])))


OPTIONS = _options()


def _key_exists(kind: str, path: str) -> bool:
    model: object = FILE_MODELS[kind]
    for part in path.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return False
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return False
        model = _model_of(field.annotation)
    return True


def _model_of(annotation):
    """The pydantic model inside ``X | None`` (or the annotation itself)."""
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def test_the_walk_sees_every_command():
    commands = {c for c, _ in OPTIONS}
    assert {"", "assess", "forecast", "run", "predict", "regress", "data fetch", "data diff", "data build"} <= commands
    assert ("assess", "--k") in OPTIONS and ("", "--verbose/-v") in OPTIONS


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_every_option_maps_to_a_config_key_that_exists(command, option):
    if (command, option) in CONFIG_KEYS:
        kind, key = CONFIG_KEYS[command, option]
        assert _key_exists(kind, key), f"kzmig {command} {option} sets {key}, which a {kind} config does not have"
    else:
        assert option in NOT_CONFIG, f"kzmig {command} {option}: neither a config key nor a known non-config option"


def test_key_walk_can_fail():
    assert _key_exists("assess", "assess.smooth_k") and _key_exists("forecast", "execution.address")
    assert not _key_exists("assess", "assess.k") and not _key_exists("assess", "assess.data.years")


# -- calling each option -------------------------------------------------------------------------
@pytest.fixture
def seen(monkeypatch):
    """Replace the studies by a stand-in; returns the list of ``(config, data, kwargs)`` it got."""
    import importlib

    import kzmig.studies

    calls: list = []

    def stand_in(config, data=None, **kwargs):
        calls.append((config, data, kwargs))
        return StudyResult(study="stand-in", name="stand-in", metadata={"convention": "stand-in"},
                           tables={"population_change": pd.DataFrame({"group": [1]}), "sensitivity": pd.DataFrame()})

    monkeypatch.setattr(importlib.import_module("kzmig.studies.assess"), "assess", stand_in)
    for kind in ("forecast", "regress", "run", "assess"):
        monkeypatch.setitem(kzmig.studies.STUDIES, kind, stand_in)

    def predict_stand_in(run_dir, **kwargs):
        calls.append((run_dir, kwargs.get("data"), kwargs))
        raise StudyError("stand-in: predict stops here")

    predict_module = importlib.import_module("kzmig.studies.predict")
    monkeypatch.setattr(predict_module, "predict", predict_stand_in)
    monkeypatch.setattr(predict_module, "predict_name", lambda run_dir: "stand-in")
    return calls


def _ok(res):
    assert res.code == 0, res.text
    return res


ASSESS_VALUES = {
    "--start": (["--start", "2010"], lambda c: c.data.first_year == 2010),
    "--end": (["--end", "2020"], lambda c: c.data.last_year == 2020),
    "--borders": (["--borders", "2022"], lambda c: c.data.borders == 2022),
    "--skip-breaks/--keep-breaks": (["--keep-breaks"], lambda c: c.data.breaks == "keep"),
    "--method": (["--method", "paper"], lambda c: c.method == "paper"),
    "--k": (["--k", "1"], lambda c: c.smooth_k == 1),
    "--rel-tol": (["--rel-tol", "0.3"], lambda c: c.rel_tol == 0.3),
    "--abs-tol": (["--abs-tol", "0.7"], lambda c: c.abs_tol == 0.7),
    "--region": (["--region", "astana", "--region", "akmola"], lambda c: c.regions == ("astana", "akmola")),
    "--geojson": (["--geojson", "{geojson}"], lambda c: Path(c.geojson).name == "r.geojson"),
    "--targets": (["--targets", "{targets}"], lambda c: Path(c.targets).name == "t.csv"),
}


@pytest.mark.parametrize("option", sorted(ASSESS_OPTIONS))
def test_each_assess_option_reaches_the_study_as_its_key(option, seen, tmp_path):
    (tmp_path / "r.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    (tmp_path / "t.csv").write_text("indicator,region,year,target\n", encoding="utf-8")
    args, check = ASSESS_VALUES[option]
    args = [a.format(geojson=tmp_path / "r.geojson", targets=tmp_path / "t.csv") for a in args]
    _ok(run_kzmig("assess", *args, "--out", tmp_path / "o"))
    (cfg, _, _), = seen
    assert check(cfg), (option, cfg)


def test_skip_breaks_and_config_file(seen, tmp_path):
    cfg_file = tmp_path / "a.toml"
    cfg_file.write_text('[assess]\nsmooth_k = 2\n[assess.data]\nbreaks = "keep"\n', encoding="utf-8")
    _ok(run_kzmig("assess", "--config", cfg_file, "--out", tmp_path / "o"))
    _ok(run_kzmig("assess", "--config", cfg_file, "--skip-breaks", "--out", tmp_path / "p"))
    (first, _, _), (second, _, _) = seen
    assert (first.smooth_k, first.data.breaks, first.path) == (2, "keep", cfg_file)
    assert (second.smooth_k, second.data.breaks) == (2, "drop")  # the option overrides the file


@pytest.mark.parametrize("command", ["forecast", "run"])
def test_execution_options_reach_the_study(command, seen, tmp_path):
    _ok(run_kzmig(command, FORECAST_TOML, "--backend", "local", "--workers", "3", "--out", tmp_path / "a"))
    _ok(run_kzmig(command, FORECAST_TOML, "--scheduler", "tcp://10.0.0.5:8786", "--out", tmp_path / "b"))
    (local, _, _), (dask, _, _) = seen
    assert (local.execution.backend, local.execution.workers, local.execution.address) == ("local", 3, None)
    assert (dask.execution.backend, dask.execution.address) == ("dask", "tcp://10.0.0.5:8786")


@pytest.mark.parametrize("command", ["regress", "forecast", "run", "assess"])
def test_data_out_and_overwrite(command, seen, tmp_path):
    config = {"regress": [REGRESS_TOML], "forecast": [FORECAST_TOML], "run": [FORECAST_TOML], "assess": []}[command]
    data = tmp_path / "d.csv"
    data.write_text("region,year,variable,value\n", encoding="utf-8")
    out = tmp_path / "o"
    _ok(run_kzmig(command, *config, "--data", data, "--out", out))
    assert (out / "manifest.json").is_file() and seen[0][1] == data
    again = run_kzmig(command, *config, "--out", out)
    assert again.code == 2 and "--overwrite" in again.text
    _ok(run_kzmig(command, *config, "--out", out, "--overwrite"))


def test_run_example(seen, tmp_path):
    _ok(run_kzmig("run", "--example", "net_migration", "--out", tmp_path / "o"))
    assert seen[0][0].name == "net_migration"


def test_run_lang_and_charts_reach_the_run_config(seen, tmp_path):
    baseline = EXPERIMENTS / "baseline.toml"
    _ok(run_kzmig("run", baseline, "--charts", "report", "--lang", "en", "--out", tmp_path / "a"))
    _ok(run_kzmig("run", baseline, "--out", tmp_path / "b"))
    (given, _, _), (default, _, _) = seen
    assert (given.run.charts, given.run.lang) == ("report", "en")
    assert (default.run.charts, default.run.lang) == ("all", "ru")
    bad = run_kzmig("run", baseline, "--charts", "none", "--out", tmp_path / "c")
    assert bad.code == 2 and "--charts 'none'" in bad.text and "all, report" in bad.text
    study = run_kzmig("run", FORECAST_TOML, "--charts", "report", "--out", tmp_path / "d")
    assert study.code == 2 and "--charts: only a planning run" in study.text
    assert len(seen) == 2 and not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_predict_options(seen, tmp_path):
    data = tmp_path / "d.csv"
    res = run_kzmig("predict", tmp_path / "run", "--to-year", "2040", "--data", data, "--out", tmp_path / "o",
                    "--overwrite")
    assert res.code == 2 and "stand-in: predict stops here" in res.text and "Traceback" not in res.text
    (_, got_data, kwargs), = seen
    assert kwargs["to_year"] == 2040 and got_data == data


def test_root_options(tmp_path):
    quiet = _ok(run_kzmig("config", "check", FORECAST_TOML))
    loud = _ok(run_kzmig("-v", "config", "check", FORECAST_TOML))
    assert "ok:" in quiet.text and "ok:" in loud.text
    assert _ok(run_kzmig("--verbose", "config", "check", FORECAST_TOML)).text == loud.text
    bad = tmp_path / "bad.toml"
    bad.write_text("[study]\nname = 1\n", encoding="utf-8")
    res = run_kzmig("--debug", "config", "check", bad)
    assert res.code == 2 and "study.name" in res.text


def test_config_check_takes_several_files_and_stops_at_the_first_bad_one(tmp_path):
    ok = _ok(run_kzmig("config", "check", FORECAST_TOML, FORECAST_TOML))
    assert ok.out.count("ok: ") == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[study]\nname = 1\n", encoding="utf-8")
    res = run_kzmig("config", "check", FORECAST_TOML, bad, FORECAST_TOML)
    assert res.code == 2 and str(bad) in res.text and "study.name" in res.text
    assert res.out.count("ok: ") == 1  # the file after the bad one is not reported as checked


def test_config_schema_markdown():
    from kzmig.config.reference import markdown

    res = _ok(run_kzmig("config", "schema", "regress", "--markdown"))
    assert res.out.strip() == markdown("regress").strip()
    assert res.out.startswith("### regress config") and "#### features" in res.out


def test_data_build_options(monkeypatch, tmp_path):
    import kzmig.features.ingest.build

    got = {}

    def stand_in(raw, out):
        got.update(raw=raw, out=out)
        return {"observations": out / "observations.csv"}

    monkeypatch.setattr(kzmig.features.ingest.build, "build", stand_in)
    _ok(run_kzmig("data", "build", "--raw", tmp_path / "raw", "--out", tmp_path / "data"))
    assert got == {"raw": tmp_path / "raw", "out": tmp_path / "data"}


def test_data_fetch_options(monkeypatch, tmp_path):
    import kzmig.studies.data

    got = {}

    def stand_in(series, since, *, transport=None, timeout=30.0):
        got.update(series=series, since=since, transport=transport, timeout=timeout)
        raise StudyError("stand-in: fetch stops here")

    monkeypatch.setattr(kzmig.studies.data, "fetch", stand_in)
    res = run_kzmig("data", "fetch", "--series", "population", "--since", "2015", "--timeout", "5",
                    "--replay", Path(__file__).parents[1] / "data" / "fetch", "--out", tmp_path / "v")
    assert res.code == 2 and "fetch stops here" in res.text
    assert got["series"] == ["population"] and got["since"] == 2015 and got["timeout"] == 5.0
    assert got["transport"] is not None


def test_data_diff_limit_and_out(tmp_path):
    old = tmp_path / "old.csv"
    new = tmp_path / "new.csv"
    rows = [("akmola", y, "population", 700000.0 + y) for y in range(2010, 2014)]
    pd.DataFrame(rows, columns=["region", "year", "variable", "value"]).to_csv(old, index=False)
    changed = [(r, y, v, x + (1000.0 if y >= 2012 else 0.0)) for r, y, v, x in rows]
    pd.DataFrame(changed, columns=["region", "year", "variable", "value"]).to_csv(new, index=False)
    res = _ok(run_kzmig("data", "diff", old, new, "--limit", "1", "--out", tmp_path / "c.csv"))
    assert "first 1 of 2 changes" in res.text
    assert len(pd.read_csv(tmp_path / "c.csv")) == 2


def test_assess_k_1_runs_the_assessment(tmp_path):
    """The bug of issue 21: ``--k`` was passed as key ``k``, so ``kzmig assess --k 1`` always failed.

    On a SYNTHETIC table (real region codes, made-up values), to keep the run short."""
    data = tmp_path / "synthetic.csv"
    synthetic_panel(2004, 2017).to_csv(data, index=False)
    res = run_kzmig("assess", "--k", "1", "--start", "2005", "--end", "2016", "--data", data, "--out", tmp_path / "o")
    assert res.code == 0, res.text
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert '"smooth_k": 1' in json.dumps(manifest)
    rules = pd.read_csv(tmp_path / "o" / "rules.csv").set_index("item")["rule"]
    assert "means of the first and last 1 years (configured 1" in rules["smoothing"]


def test_the_command_line_starts_without_the_numeric_libraries():
    """``import kzmig.cli`` (what ``kzmig --help`` and every command pay first) imports none of pandas,
    numpy, scipy, statsmodels, scikit-learn, matplotlib or pydantic: a command imports what it uses
    when it runs (kzmig.cli's import took 4.5 s when the config command's annotation pulled in every
    config model and forecaster, 0.6 s without)."""
    import subprocess
    import sys

    heavy = ("pandas", "numpy", "scipy", "statsmodels", "sklearn", "matplotlib", "pydantic")
    code = f"import sys, kzmig.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == []


def test_help_shows_the_config_keys_in_brackets():
    """Option help is rich markup: an unescaped ``[run]`` vanished from ``kzmig run --help``."""
    res = _ok(run_kzmig("run", "--help"))
    assert res.text.count("[run]") == 2  # --lang and --charts name [run] lang and [run] charts
