"""Fixtures of the command-line tests."""
from __future__ import annotations

import pytest
from cli_helpers import run_kzmig


@pytest.fixture
def kzmig():
    """Call ``kzmig`` in-process: ``kzmig("forecast", cfg, "--out", out)`` -> Result(code, out, err)."""
    return run_kzmig
