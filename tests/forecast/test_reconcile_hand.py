"""Reconciliation on hand-worked cross-sections: WLS in closed form, the report's numbers, and
the Schäfer-Strimmer shrinkage intensity by plain loops (cases mutation testing found untested)."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.reconcile import error_covariance, reconcile, shrinkage_intensity

NAT = "kazakhstan"


def _lambda_by_loops(errors: np.ndarray) -> float:
    """Schäfer & Strimmer (2005, target D), unclipped, with plain loops and the statistics module."""
    t, n = errors.shape
    cols = [[float(errors[k, i]) for k in range(t)] for i in range(n)]
    z = []
    for c in cols:
        m, sd = statistics.fmean(c), statistics.stdev(c)
        z.append([(v - m) / sd for v in c])
    num = den = 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            w = [z[i][k] * z[j][k] for k in range(t)]
            w_bar = sum(w) / t
            num += t / (t - 1) ** 3 * sum((x - w_bar) ** 2 for x in w)
            den += (t / (t - 1) * w_bar) ** 2
    return num / den


@pytest.mark.parametrize("t, n, seed", [(3, 3, 0), (4, 3, 1), (6, 4, 2), (40, 5, 3)])
def test_shrinkage_intensity_matches_the_formula_by_loops_clipped_to_one(t, n, seed):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(t, 1))
    errors = rng.normal(size=(t, n)) + 0.8 * common * np.arange(1, n + 1)
    raw = _lambda_by_loops(errors)
    assert shrinkage_intensity(errors) == pytest.approx(min(raw, 1.0), rel=1e-10)


def test_shrinkage_intensity_above_one_is_clipped_and_uncorrelated_errors_shrink_fully():
    # two series whose correlation is tiny but noisy: the unclipped estimate exceeds 1
    errors = np.array([[1.0, 0.9], [-1.0, 1.1], [0.5, -1.0], [-0.5, -1.0]])
    assert _lambda_by_loops(errors) > 1.0 and shrinkage_intensity(errors) == 1.0
    # centred columns with exactly zero correlation: nothing to estimate off the diagonal
    orth = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert shrinkage_intensity(orth) == 1.0
    with pytest.raises(ValueError, match="shrinkage needs at least 3 error vectors, got 2"):
        shrinkage_intensity(orth[:2])


def test_error_covariance_minimum_vectors():
    rng = np.random.default_rng(5)
    e = rng.normal(size=(5, 7))  # WLS needs 5 vectors, whatever the number of series
    w, lam = error_covariance(e, "wls")
    want = [statistics.variance(e[:, i].tolist()) for i in range(7)]
    np.testing.assert_allclose(np.diag(w), want, rtol=1e-12)
    assert np.count_nonzero(w - np.diag(np.diag(w))) == 0 and math.isnan(lam)
    with pytest.raises(ValueError, match=r"method='wls' needs at least 5 complete error vectors for 7 series, got 4"):
        error_covariance(e[:4], "wls")
    with pytest.raises(ValueError, match=r"method='mint_shrink' needs at least 7 complete error vectors"):
        error_covariance(e, "mint_shrink")
    with pytest.raises(ValueError, match=r"method='mint_shrink' needs at least 2 complete error vectors for 1 series, got 1"):
        error_covariance(e[:1, :1], "mint_shrink")


def _cross_section(points: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"model": "m", "region": list(points), "origin_year": 2022, "year": 2023,
                         "point": list(points.values()), "lower": np.nan, "upper": np.nan, "level": np.nan})


def test_wls_reconciliation_in_closed_form_from_actual_minus_point():
    """national_total, W = diag(v): each series moves by its share v_i / sum(v) of the incoherence."""
    errs = {NAT: [1.0, -1.0, 1.0, -1.0, 0.0], "A": [2.0, -2.0, 2.0, -2.0, 0.0], "B": [0.0, 0.0, 0.0, 3.0, -3.0]}
    rows = []
    for region, e in errs.items():
        for k, err in enumerate(e):
            point = 10.0 * (k + 1)  # errors given as actual - point, points not constant
            rows.append({"region": region, "origin_year": 2010 + k, "year": 2011 + k, "point": point,
                         "actual": point + err})
    resid = pd.DataFrame(rows)  # no model column: the same errors for every model
    v = {r: statistics.variance(e) for r, e in errs.items()}  # 1, 4, 4.5
    base = {NAT: 100.0, "A": 70.0, "B": 20.0}  # incoherence d = 100 - 90 = 10
    out, report = reconcile(_cross_section(base), method="wls", residuals=resid)
    d, total_v = 10.0, sum(v.values())
    want = {NAT: 100.0 - v[NAT] * d / total_v, "A": 70.0 + v["A"] * d / total_v, "B": 20.0 + v["B"] * d / total_v}
    got = out.set_index("region")["point"]
    for r in base:
        assert got[r] == pytest.approx(want[r], rel=1e-12), r
    rep = report.iloc[0]
    assert (rep["method"], rep["constraint"], rep["n_series"]) == ("wls", "national_total", 2)
    np.testing.assert_allclose(
        rep[["total_base", "total_reconciled", "sum_regions_base", "sum_regions_reconciled", "incoherence_base",
             "max_abs_adjustment"]].astype(float),
        [100.0, want[NAT], 90.0, want["A"] + want["B"], 10.0, v["B"] * d / total_v], rtol=1e-12)
    assert rep["incoherence_reconciled"] < 1e-9


def test_zero_sum_report_without_national_row():
    out, report = reconcile(_cross_section({"A": 5.0, "B": -2.0, "C": 0.0}), constraint="zero_sum")
    # OLS: each region moves by -3 / 3 = -1
    np.testing.assert_allclose(out["point"], [4.0, -3.0, -1.0], rtol=1e-12)
    rep = report.iloc[0]
    assert (rep["n_series"], rep["total_base"], rep["total_reconciled"]) == (3, 0.0, 0.0)
    assert rep["sum_regions_base"] == pytest.approx(3.0) and rep["sum_regions_reconciled"] == pytest.approx(0.0, abs=1e-12)
    assert rep["max_abs_adjustment"] == pytest.approx(1.0) and rep["method"] == "ols"


def test_residuals_without_region_columns_are_named():
    resid = pd.DataFrame({"residual": [1.0], "origin_year": [2010], "year": [2011]})
    with pytest.raises(ValueError, match=r"residuals: missing column\(s\) \['region'\]"):
        reconcile(_cross_section({NAT: 1.0, "A": 1.0}), method="wls", residuals=resid)


def test_option_and_residual_errors_name_what_is_wrong_once():
    from kzmig.core.errors import PanelContractError
    from kzmig.forecast.engine.reconcile import constraint_matrix

    fc = _cross_section({NAT: 3.0, "A": 1.0, "B": 1.0})
    with pytest.raises(ValueError, match=r"^method='bad' is not supported by reconcile; choose one of "):
        reconcile(fc, method="bad")
    with pytest.raises(ValueError, match=r"^constraint='bad' is not supported by reconcile; choose one of "):
        reconcile(fc, constraint="bad")
    with pytest.raises(ValueError, match=r"^constraint='bad' is not supported by reconcile"):
        constraint_matrix(["A"], "bad")
    with pytest.raises(ValueError, match=r"^method='bad' is not supported by reconcile"):
        error_covariance(np.ones((5, 2)), "bad")
    with pytest.raises(PanelContractError, match=r"^reconcile: forecast table: missing column\(s\) \['level'\]"):
        reconcile(fc.drop(columns="level"))
    resid = pd.DataFrame({"model": "m", "region": [NAT, "A"] * 5, "origin_year": np.repeat(range(2010, 2015), 2),
                          "year": np.repeat(range(2011, 2016), 2), "residual": np.arange(10.0)})
    # a region without errors: the message of _errors_for, prefixed once
    with pytest.raises(ValueError, match=r"^residuals: model='m' has no backtest errors for region\(s\) \['B'\]; WLS "
                                         r"and MinT need errors for every series of the hierarchy\.$"):
        reconcile(fc, method="wls", residuals=resid)
    # too few vectors: error_covariance's message, prefixed with the model
    two = _cross_section({NAT: 3.0, "A": 1.0})
    with pytest.raises(ValueError, match=r"^residuals: model='m': method='wls' needs at least 5 complete error "
                                         r"vectors for 2 series, got 4\.$"):
        reconcile(two, method="wls", residuals=resid.iloc[:8])
    with pytest.raises(ValueError, match=r"^residuals: no backtest errors for model='m'; models with errors: \['k'\]"):
        reconcile(two, method="wls", residuals=resid.assign(model="k"))


def test_report_columns_custom_national_and_unusable_weights():
    from kzmig.forecast.engine.reconcile import project

    fc = _cross_section({"KZ": 12.0, "A": 4.0, "B": 5.0})
    out, report = reconcile(fc, national="KZ")
    assert list(report.columns) == ["model", "origin_year", "year", "constraint", "method", "n_series", "total_base",
                                    "total_reconciled", "sum_regions_base", "sum_regions_reconciled",
                                    "incoherence_base", "incoherence_reconciled", "max_abs_adjustment", "shrinkage"]
    # OLS, national_total: incoherence 3 spread over three series, -1 / +1 / +1
    np.testing.assert_allclose(out["point"], [11.0, 5.0, 6.0], rtol=1e-12)
    assert report.iloc[0]["origin_year"] == 2022 and report.iloc[0]["n_series"] == 2
    with pytest.raises(ValueError, match=r"^the weighted constraint matrix C W C' is singular \(all error variances "
                                         r"zero\?\); use method='ols'\.$"):
        project(np.ones(3), np.array([[1.0, -1.0, -1.0]]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"^residuals: need a 'residual' column or both 'actual' and 'point'; found "):
        reconcile(fc, method="wls", residuals=pd.DataFrame({"region": ["A"], "origin_year": [1], "year": [2]}))
    flat = pd.DataFrame({"region": ["KZ", "A", "B"] * 5, "origin_year": np.repeat(range(2010, 2015), 3),
                         "year": np.repeat(range(2011, 2016), 3), "residual": [1.0, 2.0, 5.0] * 4 + [2.0, 0.0, 5.0]})
    with pytest.raises(ValueError, match=r"their weight is undefined, use method='ols'\.$"):
        reconcile(fc, method="wls", residuals=flat, national="KZ")  # B's errors are all 5: zero variance
