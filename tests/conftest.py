"""Shared fixtures: a hand-checkable toy panel and paths to the shipped and raw data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"


@pytest.fixture
def toy_panel() -> pd.DataFrame:
    """3 regions x 6 years from 2000 (SYNTHETIC): y = 2 x + region effect, values checkable by hand."""
    regions = ["A", "B", "C"]
    rows = []
    for i, r in enumerate(regions):
        for t in range(6):
            x = float(t + i)
            rows.append({"region": r, "year": 2000 + t, "x": x, "y": 2.0 * x + 10.0 * i})
    df = pd.DataFrame(rows)
    df["region"] = df["region"].astype("string")
    df["year"] = df["year"].astype("int64")
    return df


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    if not RAW.exists():
        pytest.skip(f"raw statistics not present at {RAW}")
    return RAW
