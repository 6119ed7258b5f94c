"""Study configs: the shipped one parses; unknown keys name the key and the file."""
from __future__ import annotations

from pathlib import Path

import pytest

from kzmig.core.errors import ConfigError
from kzmig.forecast.config import load_config

ROOT = Path(__file__).resolve().parents[2]

BASE = """
[study]
name = "t"
[backtest]
origins = {from = 2010, to = 2012}
horizon = 2
[models.naive]
kind = "naive"
"""


def _write(tmp_path, text) -> Path:
    p = tmp_path / "study.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_parses():
    cfg = load_config(ROOT / "experiments" / "net_migration.toml")
    assert cfg.backtest.origins == tuple(range(2012, 2022)) and cfg.backtest.horizon == 3
    assert cfg.forecast.to_year == 2030 and cfg.forecast.levels == (0.8, 0.95)
    assert "ensemble" in [m.name for m in cfg.models] and cfg.breaks == "bridge"
    assert len(cfg.sha256) == 64


def test_origin_range_and_frozen(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    assert cfg.backtest.origins == (2010, 2011, 2012)
    with pytest.raises(AttributeError):
        cfg.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("[forecast]\nto_yaer = 2030\n", r"study.toml: unknown key\(s\) \['to_yaer'\] in \[forecast\]; known keys are"),
        ("[models.m]\nkind = \"naive\"\nparms = {}\n", r"unknown key\(s\) \['parms'\] in \[models.m\]"),
        ("[plots]\nx = 1\n", r"unknown table\(s\) \['plots'\]"),
        ("[breaks]\ntreatment = \"drop\"\n", r"breaks.treatment='drop' is not supported; choose one of 'bridge'"),
        ("[models.e]\nkind = \"ensemble\"\nmembers = [\"naive\", \"ghost\"]\n", r"members \['ghost'\] are not other models"),
    ],
)
def test_bad_configs_are_named(tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, BASE + extra))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(_write(tmp_path, "[study\nname="))
