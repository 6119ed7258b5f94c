"""The guard of the data tests that need ``../shared/data/raw`` (used by the ``raw_dir`` fixture).

Absent raw folder: the test fails when the environment variable ``CI`` is set (CI has the folder
beside the clone, so its absence there is a broken set-up, not a reason to skip) and skips
elsewhere with a reason that says what goes unchecked. docs/development/testing.md lists the
claims these tests carry.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to anything but empty, ``0`` or ``false``."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


#: why a data test skips: what it would have checked (docs/development/testing.md lists the claims)
RAW_MISSING = (f"raw statistics not present at {RAW}: the dataset tests that compare the shipped data with "
               "the official raw files (byte-identical rebuild, arrivals - departures = official net, partners "
               "sum to the CIS totals, the 265 wage rows ...) cannot run; put the shared folder beside the "
               "checkout (../shared/data/raw) to run them")


def require_raw(raw: Path = RAW) -> Path:
    """``raw`` if it holds the raw statistics; else fail when CI is set (CI has the folder beside
    the clone) and skip elsewhere, with a reason saying what goes unchecked."""
    if not (raw / "SOURCES.md").exists():
        why = RAW_MISSING.replace(str(RAW), str(raw))
        if in_ci():
            pytest.fail(f"CI is set but {why}. In CI the raw folder must be there: the data card's claims "
                        "rest on these tests.", pytrace=False)
        pytest.skip(why)
    return raw


