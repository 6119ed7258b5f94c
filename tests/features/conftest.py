"""Fixtures of the feature tests: user files written to a temporary folder, and the check that one is refused."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kzmig.features.io import read_user_table


@pytest.fixture
def user_file(tmp_path: Path) -> Callable[..., Path]:
    """``user_file(text, name="user.csv")``: ``text`` written as UTF-8 bytes to ``tmp_path / name``."""
    def write(text: str, name: str = "user.csv") -> Path:
        p = tmp_path / name
        p.write_bytes(text.encode("utf-8"))
        return p
    return write


@pytest.fixture
def rejects(user_file) -> Callable[..., Path]:
    """``rejects(text_or_path, error, match, name=..., **read_kwargs)``: reading raises ``error`` matching ``match``.

    A string is first written with :func:`user_file` (as ``name``); the path is returned.
    """
    def check(source: str | Path, error: type[Exception], match: str, *, name: str = "user.csv", **kwargs) -> Path:
        path = source if isinstance(source, Path) else user_file(source, name)
        with pytest.raises(error, match=match):
            read_user_table(path, **kwargs)
        return path
    return check
