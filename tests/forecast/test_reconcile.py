"""Reconciliation checked against the summing-matrix closed form, computed here independently."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.reconcile import error_covariance, reconcile, shrinkage_intensity

NAT = "kazakhstan"
REGIONS = ["A", "B", "C", "D"]


def _base(seed: int, *, regions=REGIONS, national=True, models=("m1", "m2"), years=(2023, 2024, 2025),
          levels=(0.8, 0.95)) -> pd.DataFrame:
    """Incoherent base forecasts: independent draws per region, national not their sum."""
    rng = np.random.default_rng(seed)
    rows = []
    names = ([NAT] if national else []) + list(regions)
    for m in models:
        for y in years:
            pts = rng.normal(0, 3000, len(names))
            for name, p in zip(names, pts):
                for lev in levels:
                    half = (500 if lev == 0.8 else 800) * (y - 2022)
                    rows.append((m, name, 2022, y, p, p - half, p + half, lev))
    return pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level"])


def _residuals(seed: int, names, models=("m1", "m2"), n_origins=8) -> pd.DataFrame:
    """Correlated backtest errors with unequal variances, in the backtest-table layout."""
    rng = np.random.default_rng(seed)
    k = len(names)
    a = rng.normal(size=(k, k))
    cov = a @ a.T + np.diag(np.linspace(1, 6, k))
    rows = []
    for m in models:
        for o in range(2010, 2010 + n_origins):
            for h in (1, 2, 3):
                e = rng.multivariate_normal(np.zeros(k), cov * 1e4)
                for name, err in zip(names, e):
                    rows.append((m, name, o, o + h, 100.0, 100.0 + err))
    return pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "actual"])


def _cross_section(df, model, year, level, names):
    sub = df[(df.model == model) & (df.year == year) & (df.level == level)].set_index("region")
    return sub.loc[names, "point"].to_numpy()


def _closed_form(y, S, W):
    Wi = np.linalg.inv(W)
    return S @ np.linalg.solve(S.T @ Wi @ S, S.T @ Wi @ y)


def _error_matrix(res, model, names):
    r = res[res.model == model]
    wide = r.assign(e=r.actual - r.point).pivot(index=["origin_year", "year"], columns="region", values="e")
    return wide[names].to_numpy()


def _loop_lambda(e):
    """Schäfer-Strimmer (2005) target D, written out with plain loops."""
    t, n = e.shape
    z = np.empty_like(e)
    for j in range(n):
        col = e[:, j] - e[:, j].mean()
        z[:, j] = col / np.sqrt((col**2).sum() / (t - 1))
    num = den = 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            w = [z[k, i] * z[k, j] for k in range(t)]
            wb = sum(w) / t
            num += t / (t - 1) ** 3 * sum((wk - wb) ** 2 for wk in w)
            den += (t / (t - 1) * wb) ** 2
    return min(max(num / den, 0.0), 1.0)


S_NAT = np.vstack([np.ones(len(REGIONS)), np.eye(len(REGIONS))])  # rows: national, A..D


def test_ols_matches_summing_matrix_closed_form():
    base = _base(1)
    rec, _ = reconcile(base, method="ols", constraint="national_total")
    names = [NAT, *REGIONS]
    for m in ("m1", "m2"):
        for y in (2023, 2024, 2025):
            want = _closed_form(_cross_section(base, m, y, 0.8, names), S_NAT, np.eye(5))
            np.testing.assert_allclose(_cross_section(rec, m, y, 0.8, names), want, rtol=1e-12, atol=1e-9)


def _against_closed_form(method, seed, year, level, weights):
    """Per model: its backtest errors ``e``, the reconciled points, the closed form with
    ``W = weights(e)`` and the report (base forecasts of ``seed``, errors of ``seed + 1``)."""
    names = [NAT, *REGIONS]
    base, res = _base(seed), _residuals(seed + 1, names)
    rec, report = reconcile(base, method=method, residuals=res)
    for m in ("m1", "m2"):
        e = _error_matrix(res, m, names)
        want = _closed_form(_cross_section(base, m, year, level, names), S_NAT, weights(e))
        yield m, e, _cross_section(rec, m, year, level, names), want, report


def test_wls_matches_closed_form_with_backtest_variances():
    for _, _, got, want, _ in _against_closed_form("wls", 2, 2024, 0.95, lambda e: np.diag(e.var(axis=0, ddof=1))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-8)


def _loop_shrunk_covariance(e):
    lam, cov = _loop_lambda(e), np.cov(e, rowvar=False)
    return lam * np.diag(np.diag(cov)) + (1 - lam) * cov


def test_mint_shrink_matches_closed_form_with_loop_shrinkage():
    for m, e, got, want, report in _against_closed_form("mint_shrink", 4, 2025, 0.8, _loop_shrunk_covariance):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(report.loc[report.model == m, "shrinkage"], _loop_lambda(e), rtol=1e-12)


def test_shrinkage_hand_worked_example():
    # e1 = [2, 0, -1, -1], e2 = [1, 1, -1, -1]: var1 = 2, var2 = 4/3, cov = 4/3, r^2 = 2/3;
    # w_t = e1 e2 sqrt(3/8) = [2, 0, 1, 1] c, sum (w - w_bar)^2 = 2 c^2 = 3/4,
    # Var(r) = 4/27 * 3/4 = 1/9, lambda = (2/9) / (2 * 2/3) = 1/6; W12 = (5/6)(4/3) = 10/9.
    e = np.array([[2.0, 1.0], [0.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]])
    assert shrinkage_intensity(e) == pytest.approx(1 / 6, rel=1e-12)
    W, lam = error_covariance(e, "mint_shrink")
    np.testing.assert_allclose(W, [[2.0, 10 / 9], [10 / 9, 4 / 3]], rtol=1e-12)
    assert lam == pytest.approx(1 / 6, rel=1e-12)


def test_zero_sum_ols_subtracts_the_mean_and_wls_matches_closed_form():
    base = _base(6, national=False)
    rec, report = reconcile(base, method="ols", constraint="zero_sum")
    y = _cross_section(base, "m1", 2023, 0.8, REGIONS)
    np.testing.assert_allclose(_cross_section(rec, "m1", 2023, 0.8, REGIONS), y - y.mean(), atol=1e-9)
    res = _residuals(7, REGIONS)
    rec_w, _ = reconcile(base, method="wls", residuals=res, constraint="zero_sum")
    S = np.vstack([np.eye(3), -np.ones(3)])  # D = -(A + B + C)
    W = np.diag(_error_matrix(res, "m2", REGIONS).var(axis=0, ddof=1))
    want = _closed_form(_cross_section(base, "m2", 2025, 0.95, REGIONS), S, W)
    np.testing.assert_allclose(_cross_section(rec_w, "m2", 2025, 0.95, REGIONS), want, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(report["incoherence_base"], np.abs(report["sum_regions_base"]), rtol=1e-12)


@pytest.mark.parametrize("constraint", ["national_total", "zero_sum"])
@pytest.mark.parametrize("method", ["ols", "wls", "mint_shrink"])
def test_coherent_in_every_year(method, constraint):
    national = constraint == "national_total"
    base = _base(8, national=national, years=tuple(range(2023, 2031)))
    names = ([NAT] if national else []) + REGIONS
    rec, report = reconcile(base, method=method, residuals=_residuals(9, names), constraint=constraint)
    regional = rec[rec.region != NAT].groupby(["model", "year", "level"])["point"].sum()
    target = rec[rec.region == NAT].set_index(["model", "year", "level"])["point"] if national else 0.0
    np.testing.assert_allclose(regional - target, 0.0, atol=1e-8)
    assert (report["incoherence_reconciled"] < 1e-8).all()
    assert (report["incoherence_base"] > 1.0).all()
    assert len(report) == 2 * 8


def test_report_measures_raw_incoherence():
    base = _base(10)
    _, report = reconcile(base)
    one = base[(base.model == "m1") & (base.year == 2024) & (base.level == 0.8)].set_index("region")["point"]
    gap = one[NAT] - one[REGIONS].sum()
    row = report[(report.model == "m1") & (report.year == 2024)].iloc[0]
    assert row["incoherence_base"] == pytest.approx(abs(gap), rel=1e-12)
    assert row["total_base"] == pytest.approx(one[NAT])


def test_bounds_shift_with_the_point_and_stay_ordered():
    base = _base(11)
    rec, _ = reconcile(base, method="ols")
    np.testing.assert_allclose(rec.upper - rec.lower, base.upper - base.lower, rtol=1e-12)
    np.testing.assert_allclose(rec.point - base.point, rec.lower - base.lower, atol=1e-9)
    assert ((rec.lower <= rec.point) & (rec.point <= rec.upper)).all()
    assert rec[["model", "region", "year", "level"]].equals(base[["model", "region", "year", "level"]])


def test_missing_level_rows_are_reconciled_too():
    base = _base(12, levels=(np.nan,))
    base[["lower", "upper"]] = np.nan
    rec, report = reconcile(base)
    assert rec["lower"].isna().all()
    assert (report["incoherence_reconciled"] < 1e-8).all() and len(report) == 6


def test_matches_hierarchicalforecast_mint_shrink():
    hf = pytest.importorskip("hierarchicalforecast.core")
    from hierarchicalforecast.methods import MinTrace

    names = [NAT, *REGIONS]
    base = _base(13, models=("m1",), levels=(0.8,))
    res = _residuals(14, names, models=("m1",))
    e = _error_matrix(res, "m1", names)
    ds = np.arange(len(e))
    y_df = pd.DataFrame({"unique_id": np.repeat(names, len(e)), "ds": np.tile(ds, len(names)),
                         "y": e.T.ravel(), "m1": 0.0})
    yh = base.rename(columns={"region": "unique_id", "year": "ds", "point": "m1"})[["unique_id", "ds", "m1"]]
    s_df = pd.DataFrame(S_NAT, columns=REGIONS).assign(unique_id=names)[["unique_id", *REGIONS]]
    tags = {"total": np.array([NAT]), "total/region": np.array(REGIONS)}
    theirs = hf.HierarchicalReconciliation([MinTrace(method="mint_shrink", mint_shr_ridge=0.0)]).reconcile(
        Y_hat_df=yh, Y_df=y_df, S_df=s_df, tags=tags)
    res_c = pd.DataFrame({"model": "m1", "region": np.repeat(names, len(e)),
                          "origin_year": np.tile(ds + 2000, len(names)), "year": np.tile(ds + 2001, len(names)),
                          "residual": e.T.ravel()})
    ours, _ = reconcile(base, method="mint_shrink", residuals=res_c)
    col = next(c for c in theirs.columns if c.startswith("m1/MinTrace"))
    merged = ours.merge(theirs, left_on=["region", "year"], right_on=["unique_id", "ds"])
    np.testing.assert_allclose(merged["point"], merged[col], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- error paths
def test_unknown_method_lists_choices():
    with pytest.raises(ValueError, match=r"method='mint'.*'mint_shrink', 'ols', 'wls'"):
        reconcile(_base(0), method="mint")


def test_unknown_constraint_lists_choices():
    with pytest.raises(ValueError, match=r"constraint='sum'.*'national_total', 'zero_sum'"):
        reconcile(_base(0), constraint="sum")


def test_missing_national_row_is_named():
    base = _base(0)
    base = base[~((base.region == NAT) & (base.year == 2024) & (base.model == "m2"))]
    with pytest.raises(ValueError, match=r"model='m2', origin_year=2022, year=2024.*region='kazakhstan'"):
        reconcile(base)


def test_wls_without_residuals():
    with pytest.raises(ValueError, match=r"method='wls' needs residuals"):
        reconcile(_base(0), method="wls")


def test_residuals_missing_a_region_are_named():
    res = _residuals(1, [NAT, "A", "B", "C"])
    with pytest.raises(ValueError, match=r"model='m1' has no backtest errors for region\(s\) \['D'\]"):
        reconcile(_base(0), method="mint_shrink", residuals=res)


def test_residuals_missing_a_model_are_named():
    res = _residuals(1, [NAT, *REGIONS], models=("m1",))
    with pytest.raises(ValueError, match=r"no backtest errors for model='m2'"):
        reconcile(_base(0), method="wls", residuals=res)


def test_zero_error_variance_is_named():
    res = _residuals(1, [NAT, *REGIONS])
    res.loc[res.region == "C", "actual"] = 100.0
    with pytest.raises(ValueError, match=r"zero error variance for region\(s\) \['C'\]"):
        reconcile(_base(0), method="wls", residuals=res)


def test_residuals_without_error_columns():
    with pytest.raises(ValueError, match=r"need a 'residual' column or both 'actual' and 'point'"):
        reconcile(_base(0), method="wls", residuals=pd.DataFrame({"region": ["A"], "origin_year": [1], "year": [2]}))


def test_duplicate_rows_are_named():
    base = _base(0)
    with pytest.raises(ValueError, match=r"duplicate key.*\(model='m1', region='kazakhstan', origin_year=2022, year=2023"):
        reconcile(pd.concat([base, base.iloc[[0]]]))


def test_missing_point_and_missing_column():
    base = _base(0)
    base.loc[3, "point"] = np.nan
    with pytest.raises(ValueError, match=r"point forecast is missing in 1 row\(s\), e.g. \(model='m1', region='A', origin_year=2022, year=2023"):
        reconcile(base)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['level'\]"):
        reconcile(_base(0).drop(columns="level"))


def test_too_few_complete_error_vectors_name_the_model():
    res = _residuals(1, [NAT, *REGIONS], n_origins=1)
    res = res[res.year < 2012]  # one error vector left
    with pytest.raises(ValueError, match=r"residuals: model='m1': method='wls' needs at least 5 complete error vectors for 5 series, got 1"):
        reconcile(_base(0), method="wls", residuals=res)


def test_too_few_error_vectors_for_shrinkage():
    with pytest.raises(ValueError, match="at least 3 error vectors, got 2"):
        shrinkage_intensity(np.ones((2, 3)))


# ---------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from kzmig.forecast.engine.reconcile import constraint_matrix, project  # noqa: E402

_vals = st.floats(-1e5, 1e5, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(y=arrays(float, st.integers(3, 12), elements=_vals), data=st.data(),
       constraint=st.sampled_from(["national_total", "zero_sum"]))
def test_projection_is_coherent_and_idempotent(y, data, constraint):
    names = [NAT] + [f"r{i}" for i in range(len(y) - 1)]
    w = data.draw(arrays(float, len(y), elements=st.floats(0.1, 10.0)))
    C = constraint_matrix(names, constraint)
    y1 = project(y, C, np.diag(w))
    np.testing.assert_allclose(C @ y1, 0.0, atol=1e-6)
    np.testing.assert_allclose(project(y1, C, np.diag(w)), y1, atol=1e-6)
    if constraint == "national_total":  # coherent input is left alone
        coherent = np.concatenate([[y[1:].sum()], y[1:]])
        np.testing.assert_allclose(project(coherent, C, np.diag(w)), coherent, atol=1e-6)


def test_mint_needs_as_many_error_vectors_as_series():
    from kzmig.forecast.engine.reconcile import error_covariance

    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match=r"method='mint_shrink' needs at least 6 complete error vectors for 6 series, got 5"):
        error_covariance(rng.normal(size=(5, 6)), "mint_shrink")
    w, lam = error_covariance(rng.normal(size=(6, 6)), "mint_shrink")
    assert w.shape == (6, 6) and 0 <= lam <= 1
