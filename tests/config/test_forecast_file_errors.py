"""Study configs: the shipped one parses; unknown keys name the key and the file."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from kzmig.core.errors import ConfigError
from kzmig.config import load_config
from kzmig.core.resources import experiments_dir

def test_shipped_config_parses():
    cfg = load_config(experiments_dir() / "net_migration.toml")
    assert cfg.backtest.origins == tuple(range(2012, 2022)) and cfg.backtest.horizon == 3
    assert cfg.forecast.to_year == 2030 and cfg.forecast.levels == (0.8, 0.95)
    assert "ensemble" in [m.name for m in cfg.models] and cfg.breaks == "bridge"
    assert len(cfg.sha256) == 64


def test_origin_range_and_frozen(write, minimal_forecast):
    cfg = load_config(write(minimal_forecast))
    assert cfg.backtest.origins == (2010, 2011, 2012)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.study.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("[forecast]\nto_yaer = 2030\n", r"study.toml: 1 problem .*\n  - forecast\.to_yaer: unknown key; \[forecast\] takes to_year, .*\(did you mean to_year\?\)"),
        ("[models.m]\nkind = \"naive\"\nparms = {}\n", r"models\.m\.parms: unknown key; \[models\.m\] takes first_year, log, kind, params \(did you mean params\?\)"),
        ("[plots]\nx = 1\n", r"  - plots: unknown key; the top level takes study, data"),
        ("[breaks]\ntreatment = \"drop\"\n", r'breaks\.treatment: found "drop" \(a string\); expected one of "bridge", "dummy", "keep"'),
        ("[models.e]\nkind = \"ensemble\"\nmembers = [\"naive\", \"ghost\"]\n", r'models\.e\.members\[1\]: found "ghost"; a member must be another model of the study'),
    ],
)
def test_bad_configs_are_named(write, minimal_forecast, extra, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(minimal_forecast + extra))


def test_missing_file_and_bad_toml(tmp_path, write):
    with pytest.raises(ConfigError, match=r"config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(write("[study\nname="))
