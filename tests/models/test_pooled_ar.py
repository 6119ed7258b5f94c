"""Pooled AR(1): per-region OLS, DerSimonian-Laird shrinkage and the forecast, by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.models.forecasters.pooled_ar import PooledAR


def _panel(seed=11, n=15, phis=(0.2, 0.5, 0.8, 0.6)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, phi in enumerate(phis):
        y = 5.0 * i
        for t in range(n):
            y = 5.0 * i + phi * (y - 5.0 * i) + rng.normal()
            rows.append((f"R{i}", 2000 + t, y))
    return pd.DataFrame(rows, columns=["region", "year", "y"]).astype({"region": "string", "year": "int64"})


def test_shrinkage_and_forecast_by_hand():
    df = _panel()
    est = PooledAR().fit(df)
    phi_hat, var, mus, lasts, sig = [], [], [], [], []
    for _, g in df.groupby("region", sort=True):
        y = g["y"].to_numpy()
        mu = y.mean()
        x0, x1 = y[:-1] - mu, y[1:] - mu
        b = np.linalg.lstsq(x0[:, None], x1, rcond=None)[0][0]
        r = x1 - b * x0
        s2 = r @ r / (len(r) - 1)
        phi_hat.append(b), var.append(s2 / (x0 @ x0)), mus.append(mu), lasts.append(y[-1]), sig.append(np.sqrt(s2))
    phi_hat, var = np.array(phi_hat), np.array(var)
    w = 1 / var
    fe = w @ phi_hat / w.sum()
    q = w @ (phi_hat - fe) ** 2
    tau2 = max(0.0, (q - (len(w) - 1)) / (w.sum() - (w**2).sum() / w.sum()))  # DerSimonian-Laird
    wr = 1 / (var + tau2)
    pooled = wr @ phi_hat / wr.sum()
    b = var / (var + tau2)
    shrunk = b * pooled + (1 - b) * phi_hat
    np.testing.assert_allclose(est.tau2_, tau2, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(est.params_.sort_index()["phi"], np.clip(shrunk, -0.98, 0.98), rtol=1e-8)
    fc = est.predict(3, levels=(0.8,))
    a = fc.loc[fc["region"] == "R0"]
    h = np.arange(1, 4)
    np.testing.assert_allclose(a["point"], mus[0] + shrunk[0] ** h * (lasts[0] - mus[0]), rtol=1e-8)
    var_h = sig[0] ** 2 * np.cumsum(shrunk[0] ** (2 * (h - 1)))
    np.testing.assert_allclose(a["upper"] - a["point"], 1.2815515655446004 * np.sqrt(var_h), rtol=1e-8)
    # shrinkage pulls every estimate towards the pooled value
    assert (np.abs(shrunk - pooled) <= np.abs(phi_hat - pooled) + 1e-12).all()


def test_bad_mean_window():
    with pytest.raises(ValueError, match=r"mean_window=1 must be None or an integer >= 2"):
        PooledAR(mean_window=1).fit(_panel())
