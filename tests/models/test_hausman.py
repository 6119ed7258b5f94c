"""Hausman tests against R plm's published value and an independent statsmodels Wald test."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.datasets import grunfeld

from kzmig.core.errors import PanelContractError
from kzmig.models.panel.hausman import classical_statistic, hausman
from kzmig.models.panel import FixedEffectsMigration


@pytest.fixture(scope="module")
def grunfeld_panel() -> pd.DataFrame:
    """Grunfeld (1958) as in R plm: the 10 firms without American Steel, 1935-1954.

    Years are shifted by +70 only because the panel contract accepts 1990-2100; no
    estimate depends on the year labels.
    """
    d = grunfeld.load_pandas().data
    d = d[d["firm"] != "American Steel"].rename(columns={"firm": "region"})
    d["region"] = d["region"].astype("string")
    d["year"] = d["year"].astype("int64") + 70
    return d.reset_index(drop=True)


def test_classical_hausman_matches_plm_phtest(grunfeld_panel):
    """R plm documents (?phtest, example on Grunfeld):

        gi <- plm(inv ~ value + capital, data = Grunfeld, model = "within")
        gr <- plm(inv ~ value + capital, data = Grunfeld, model = "random")
        phtest(gi, gr)
        #  chisq = 2.3304, df = 2, p-value = 0.3119

    plm's random model uses Swamy-Arora variance components, as linearmodels does.
    """
    res = hausman(grunfeld_panel, "invest", ["value", "capital"], lag=0, method="classical")
    assert res.method == "classical" and res.df == 2 and not res.fell_back
    assert round(res.statistic, 4) == 2.3304
    assert round(res.pvalue, 4) == 0.3119
    assert res.nobs == 200 and res.n_regions == 10


def test_robust_hausman_equals_statsmodels_cluster_wald(grunfeld_panel):
    d = grunfeld_panel
    res = hausman(d, "invest", ["value", "capital"], lag=0, method="robust")
    X = d[["value", "capital"]].copy()
    for c in ["value", "capital"]:
        X[f"m_{c}"] = d.groupby("region")[c].transform("mean")
    ols = sm.OLS(d["invest"], sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["region"])[0]})
    wald = ols.wald_test("m_value = 0, m_capital = 0", scalar=True, use_f=False)
    np.testing.assert_allclose(res.statistic, float(wald.statistic), rtol=1e-8)
    np.testing.assert_allclose(res.pvalue, float(wald.pvalue), rtol=1e-8)
    assert res.df == 2 and res.method == "robust"


def test_mundlak_regression_reproduces_fe(panel):
    """The auxiliary regression's feature coefficients equal the within estimates."""
    fe = FixedEffectsMigration("y", ["x1", "x2"], effects="region", lag=0).fit(panel).result_
    X = panel[["x1", "x2"]].copy()
    for c in ["x1", "x2"]:
        X[f"m_{c}"] = panel.groupby("region")[c].transform("mean")
    b = sm.OLS(panel["y"], sm.add_constant(X)).fit().params
    np.testing.assert_allclose(b[["x1", "x2"]].to_numpy(), fe.params.to_numpy(), atol=1e-8)


def test_not_positive_definite_difference_falls_back_and_says_so(panel_factory, caplog):
    p = panel_factory(n_regions=6, n_years=4, seed=0)  # V_FE - V_RE is indefinite here
    with caplog.at_level(logging.WARNING, logger="kzmig.models.panel.hausman"):
        res = hausman(p, "y", ["x1", "x2"], lag=0)
    assert res.fell_back and res.method == "robust"
    assert "not positive definite" in res.reason and "Falling back" in res.reason
    assert "not positive definite" in caplog.text
    robust = hausman(p, "y", ["x1", "x2"], lag=0, method="robust")
    assert res.statistic == robust.statistic and np.isfinite(res.statistic)
    with pytest.raises(PanelContractError, match=r"not positive definite.*Use method='robust'"):
        hausman(p, "y", ["x1", "x2"], lag=0, method="classical")


def test_singular_difference_is_named():
    with pytest.raises(np.linalg.LinAlgError, match=r"\['a', 'b'\] is singular"):
        classical_statistic(np.array([1.0, 2.0]), np.array([[1.0, 1.0], [1.0, 1.0]]), ["a", "b"])
    stat, df, p = classical_statistic(np.array([1.0, 2.0]), np.diag([1.0, 4.0]), ["a", "b"])
    assert (stat, df) == (2.0, 2) and p == pytest.approx(np.exp(-1.0))  # chi2(2) sf = e^{-x/2}


def test_hausman_time_effects_and_bad_method(panel):
    res = hausman(panel, "y", ["x1", "x2"], lag=1, time_effects=True, method="robust")
    assert res.terms == ("x1_lag1", "x2_lag1") and 0 <= res.pvalue <= 1
    with pytest.raises(ValueError, match=r"method='wu'.*'auto', 'classical', 'robust'"):
        hausman(panel, "y", ["x1"], method="wu")
    with pytest.raises(PanelContractError, match=r"hausman needs at least 4 regions"):
        hausman(panel[panel.region.isin(["r00", "r01", "r02"])], "y", ["x1", "x2"], lag=0)


def test_common_sigma_form_is_defined_and_matches_hand_formula(panel_factory):
    """With both covariances on the FE error variance, V_FE - V_RE = s2 [(X~'X~)^-1 - (X*'X*)^-1]
    (X~ within-demeaned, X* quasi-demeaned with the RE theta, slopes block) is PSD."""
    from linearmodels import RandomEffects

    p = panel_factory(n_regions=6, n_years=4, seed=0)  # separate-sigma form is undefined here
    res = hausman(p, "y", ["x1", "x2"], lag=0, method="classical", sigma="fe")
    assert res.method == "classical (sigma=fe)" and res.statistic > 0
    idx = p.set_index(["region", "year"])
    re_ = RandomEffects(idx["y"], idx[["x1", "x2"]].assign(const=1.0)).fit()
    theta = p["region"].map(re_.theta.iloc[:, 0]).to_numpy(dtype=float)  # per region
    X = p[["x1", "x2"]].to_numpy()
    y = p["y"].to_numpy()
    means = p.groupby("region")[["x1", "x2", "y"]].transform("mean").to_numpy()
    xw, yw = X - means[:, :2], y - means[:, 2]
    b_fe = np.linalg.solve(xw.T @ xw, xw.T @ yw)
    e = yw - xw @ b_fe
    s2 = e @ e / (len(y) - 2 - 6)
    xs = np.column_stack([X - theta[:, None] * means[:, :2], 1 - theta])
    ys = y - theta * means[:, 2]
    b_re = np.linalg.solve(xs.T @ xs, xs.T @ ys)[:2]
    v = s2 * (np.linalg.inv(xw.T @ xw) - np.linalg.inv(xs.T @ xs)[:2, :2])
    d = b_fe - b_re
    np.testing.assert_allclose(res.statistic, d @ np.linalg.solve(v, d), rtol=1e-8)
    with pytest.raises(ValueError, match=r"sigma='re'.*'fe', 'separate'"):
        hausman(p, "y", ["x1"], lag=0, sigma="re")
