"""Seeded synthetic annual series for the forecasting tests (SYNTHETIC: no file, no network).

A module of its own, not the conftest: ``from conftest import ...`` finds whichever test folder's
conftest comes first on ``sys.path`` (tests/models has one too).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def synth_series(n_regions: int = 5, n_years: int = 14, *, seed: int = 0, start: int = 2006,
                 exog: bool = False) -> pd.DataFrame:
    """``region, year, y[, x]``: AR(1) around region means of different sizes (codes 'A', 'B' ...)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_regions):
        mu, size, y = rng.normal(scale=3.0), 1.0 + i, 0.0
        for t in range(n_years):
            y = mu + 0.6 * (y - mu) + rng.normal(scale=size)
            rows.append((chr(65 + i), start + t, y, rng.normal()))
    df = pd.DataFrame(rows, columns=["region", "year", "y", "x"])
    df = df.astype({"region": "string", "year": "int64"})
    return df if exog else df.drop(columns="x")
