"""Synthetic region-year panels for the model tests (no files, no network)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_panel(n_regions: int = 12, n_years: int = 10, *, seed: int = 0,
               beta: tuple[float, float] = (1.5, -0.8), start: int = 2006) -> pd.DataFrame:
    """A seeded panel with region and year effects correlated with the features.

    ``y = a_i + g_t + beta_1 x1 + beta_2 x2 + e`` with heteroskedastic, within-region
    correlated errors; ``x1``, ``x2`` are contemporaneous (tests pass ``lag=0`` when
    comparing with closed forms). Regions are ``'r00'``, ``'r01'`` ...
    """
    rng = np.random.default_rng(seed)
    regions = [f"r{i:02d}" for i in range(n_regions)]
    years = np.arange(start, start + n_years)
    a = rng.normal(scale=2.0, size=n_regions)
    g = rng.normal(scale=0.5, size=n_years)
    rows = []
    for i, r in enumerate(regions):
        shock = rng.normal(scale=0.5)
        for t, yr in enumerate(years):
            x1 = 0.7 * a[i] + rng.normal()
            x2 = rng.normal() + 0.3 * t
            e = rng.normal(scale=0.5 + 0.3 * abs(x1)) + shock
            rows.append((r, int(yr), a[i] + g[t] + beta[0] * x1 + beta[1] * x2 + e, x1, x2))
    df = pd.DataFrame(rows, columns=["region", "year", "y", "x1", "x2"])
    df["region"] = df["region"].astype("string")
    df["year"] = df["year"].astype("int64")
    return df


@pytest.fixture
def panel_factory():
    """The :func:`make_panel` generator, for tests that need several panels."""
    return make_panel


@pytest.fixture
def panel() -> pd.DataFrame:
    return make_panel()


def make_type_panel(n_regions: int = 20, n_years: int = 12, *, seed: int = 0,
                    beta: tuple[float, float] = (1.2, -0.7)) -> pd.DataFrame:
    """A seeded region-by-window panel of trend types from a latent ordered-logit index.

    ``latent = beta_1 x1 + beta_2 x2 + logistic noise`` cut at -2.5, -1, 0, 1, 2.5 into the
    six types of :data:`kzmig.models.panel.discrete.TREND_ORDER` (contemporaneous features; tests
    pass ``lag=0``).
    """
    from kzmig.models.panel.discrete import TREND_ORDER

    rng = np.random.default_rng(seed)
    n = n_regions * n_years
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    latent = beta[0] * x1 + beta[1] * x2 + rng.logistic(size=n)
    codes = np.searchsorted(np.array([-2.5, -1.0, 0.0, 1.0, 2.5]), latent)
    return pd.DataFrame({
        "region": pd.array(np.repeat([f"r{i:02d}" for i in range(n_regions)], n_years),
                           dtype="string"),
        "year": np.tile(np.arange(2010, 2010 + n_years), n_regions).astype("int64"),
        "type": np.array(TREND_ORDER, dtype=object)[codes], "x1": x1, "x2": x2,
    })


@pytest.fixture
def type_panel() -> pd.DataFrame:
    return make_type_panel()
