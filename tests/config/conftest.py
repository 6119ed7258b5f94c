"""Fixtures of the config tests: shipped configs, minimal valid ones, a file writer, an
error matcher (file name, then the key path as an item of the message) and the check that
a written config is refused."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzmig.config import load_config
from kzmig.core.errors import ConfigError
from kzmig.core.resources import experiments_dir

MINIMAL_FORECAST = """
[study]
name = "t"
[backtest]
origins = {from = 2010, to = 2012}
horizon = 2
[models.naive]
kind = "naive"
"""

MINIMAL_REGRESS = """
[data]
borders = 2018
[features]
columns = ["unemployment_rate_pct", "income_rel_national_pct"]
[[models]]
name = "fe"
kind = "fixed_effects"
"""


@pytest.fixture
def forecast_toml() -> Path:
    return experiments_dir() / "net_migration.toml"


@pytest.fixture
def regress_toml() -> Path:
    return experiments_dir() / "migration_factors.toml"


@pytest.fixture
def minimal_forecast() -> str:
    return MINIMAL_FORECAST


@pytest.fixture
def minimal_regress() -> str:
    return MINIMAL_REGRESS


@pytest.fixture
def write(tmp_path):
    """``write(text, name="study.toml") -> path`` of a new file in ``tmp_path``."""
    def _write(text: str, name: str = "study.toml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p
    return _write


@pytest.fixture
def at():
    """``at(path, key, *more)``: a ``match=`` pattern for the file name, then the key path as
    an item of the message (``  - key: ...``), then more text of that item."""
    def _at(path: Path, key: str, *more: str) -> str:
        tail = "".join(rf"[^\n]*{re.escape(m)}" for m in more)
        return "(?s)^" + re.escape(str(path)) + r": .*\n  - " + re.escape(key) + r"[: (]" + tail
    return _at


@pytest.fixture
def refused(write, at):
    """``refused(text, key, *more, name="study.toml", **load_kwargs)``: ``text`` is written to
    ``name`` and :func:`load_config` raises a ``ConfigError`` matching ``at(path, key, *more)``."""
    def _refused(text: str, key: str, *more: str, name: str = "study.toml", **load_kwargs) -> Path:
        path = write(text, name)
        with pytest.raises(ConfigError, match=at(path, key, *more)):
            load_config(path, **load_kwargs)
        return path
    return _refused
