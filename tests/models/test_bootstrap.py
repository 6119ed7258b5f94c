"""Wild cluster bootstrap against a draw-by-draw refit with statsmodels (explicit dummies)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from kzmig.models.panel.bootstrap import design_from_model, draw_weights, wcr_tstats, wild_cluster_bootstrap
from kzmig.models.panel import FirstDifferenceMigration, FixedEffectsMigration, PooledOLSMigration


def _loop_tstats(panel, effects, k_name, b0, v):
    """Independent WCR: explicit dummies, restricted fit by statsmodels, one refit per draw."""
    X = panel[["x1", "x2"]].copy()
    if effects in ("region", "both"):
        X = X.join(pd.get_dummies(panel["region"].astype(str), prefix="r", dtype=float))
    if effects in ("year", "both"):
        yd = pd.get_dummies(panel["year"].astype(str), prefix="y", dtype=float)
        X = X.join(yd.iloc[:, 1:] if effects == "both" else yd)
    y = panel["y"].to_numpy()
    groups = pd.factorize(panel["region"], sort=True)[0]
    full = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    t = (full.params[k_name] - b0) / full.bse[k_name]
    restricted = sm.OLS(y - b0 * X[k_name], X.drop(columns=k_name)).fit()
    fit_r = restricted.fittedvalues.to_numpy() + b0 * X[k_name].to_numpy()
    u_r = y - fit_r
    tstar = []
    for b in range(v.shape[1]):
        ystar = fit_r + u_r * v[groups, b]
        r = sm.OLS(ystar, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
        tstar.append((r.params[k_name] - b0) / r.bse[k_name])
    return t, np.array(tstar)


def _fe_design(panel, effects, B, seed):
    """The transformed design of a fixed-effects fit of y on x1, x2, and B Webb draws."""
    design = design_from_model(FixedEffectsMigration("y", ["x1", "x2"], effects=effects, lag=0).fit(panel))
    return design, draw_weights("webb", design.n_clusters, B, seed=seed)


@pytest.mark.parametrize("effects", ["region", "both"])
def test_wcr_draws_match_statsmodels_refits(panel_factory, effects):
    panel = panel_factory(n_regions=8, n_years=6, seed=5)
    design, v = _fe_design(panel, effects, 40, 11)
    t, tstar = wcr_tstats(design, 0, 1.2, v)
    t_ref, tstar_ref = _loop_tstats(panel, effects, "x1", 1.2, v)
    # statsmodels scales the cluster variance by G/(G-1) (N-1)/(N-K) with K counting the
    # dummies, we by G/(G-1): the t statistics differ by one constant factor, which
    # cancels in the bootstrap comparison |t*| >= |t|.
    ratio = tstar / tstar_ref
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-8)
    np.testing.assert_allclose(t / t_ref, ratio[0], rtol=1e-8)
    assert np.mean(np.abs(tstar) >= abs(t)) == np.mean(np.abs(tstar_ref) >= abs(t_ref))


def test_pooled_and_first_difference_designs(panel_factory):
    panel = panel_factory(n_regions=8, n_years=6, seed=2)
    pooled = PooledOLSMigration("y", ["x1", "x2"], lag=0).fit(panel)
    d = design_from_model(pooled)
    assert d.terms == ["const", "x1", "x2"] and d.x.shape == (48, 3)
    fd = FirstDifferenceMigration("y", ["x1", "x2"], lag=0).fit(panel)
    dd = design_from_model(fd)
    np.testing.assert_allclose(np.linalg.solve(dd.x.T @ dd.x, dd.x.T @ dd.y),
                               fd.result_.params.to_numpy(), atol=1e-10)


def test_pvalue_and_interval_are_consistent_and_seeded(panel_factory):
    panel = panel_factory(n_regions=10, n_years=6, seed=7, beta=(0.15, 0.0))
    model = FixedEffectsMigration("y", ["x1", "x2"], effects="region", lag=0).fit(panel)
    out = wild_cluster_bootstrap(model, B=199, weights="rademacher", seed=3, level=0.9)
    again = wild_cluster_bootstrap(model, B=199, weights="rademacher", seed=3, level=0.9)
    pd.testing.assert_frame_equal(out, again)
    design = design_from_model(model)
    v = draw_weights("rademacher", design.n_clusters, 199, seed=3)
    for k, row in out.iterrows():
        np.testing.assert_allclose(row["estimate"], model.result_.params.iloc[k], atol=1e-10)
        assert row["conf_low"] < row["estimate"] < row["conf_high"]
        # test inversion: just inside each bound the null is not rejected at 10 %, just
        # outside it is (the p-value is a step function of b0; the bound is its first
        # crossing of 0.10 going outward from the estimate)
        se = abs(row["estimate"] / row["t_stat"])
        eps = 1e-7 * se  # the bisection brackets each bound to 2e-8 SE
        for b0, rejected in [(row["conf_low"] + eps, False), (row["conf_high"] - eps, False),
                             (row["conf_low"] - eps, True), (row["conf_high"] + eps, True),
                             (row["estimate"], False)]:
            t, ts = wcr_tstats(design, k, b0, v)
            assert bool(np.mean(np.abs(ts) >= abs(t)) < 0.1) == rejected
        t0, ts0 = wcr_tstats(design, k, 0.0, v)
        assert row["p_value"] == np.mean(np.abs(ts0) >= abs(t0))
    other = wild_cluster_bootstrap(model, B=199, weights="webb", seed=4)
    assert not np.allclose(other["conf_low"], out["conf_low"])


def test_weights_have_the_right_moments():
    r = draw_weights("rademacher", 50, 2000, seed=0)
    w = draw_weights("webb", 50, 2000, seed=0)
    assert set(np.unique(r)) == {-1.0, 1.0} and len(np.unique(w)) == 6
    for a in (r, w):  # E v = 0, E v^2 = 1 (Webb: (1.5 + 1 + 0.5) * 2 / 6 = 1)
        assert abs(a.mean()) < 0.02 and abs((a**2).mean() - 1) < 0.02


def test_bad_bootstrap_options(panel):
    from kzmig.models.panel import RandomEffectsMigration
    model = FixedEffectsMigration("y", ["x1", "x2"], lag=0).fit(panel)
    with pytest.raises(ValueError, match=r"weights='mammen'.*'rademacher', 'webb'"):
        wild_cluster_bootstrap(model, weights="mammen")
    with pytest.raises(ValueError, match=r"terms \['x3'\] are not in the model"):
        wild_cluster_bootstrap(model, terms=["x3"], B=99)
    with pytest.raises(ValueError, match=r"B=10 must be an integer >= 99"):
        wild_cluster_bootstrap(model, B=10)
    re_ = RandomEffectsMigration("y", ["x1", "x2"], lag=0).fit(panel)
    with pytest.raises(ValueError, match=r"estimator='random_effects'.*'first_difference'"):
        wild_cluster_bootstrap(re_, B=99)


@pytest.mark.parametrize("effects", ["region", "both"])
def test_fast_path_equals_direct_computation(panel_factory, effects):
    from kzmig.models.panel.bootstrap import _WCRPath
    design, v = _fe_design(panel_factory(n_regions=9, n_years=7, seed=8), effects, 50, 1)
    for k in (0, 1):
        path = _WCRPath(design, k, v)
        for b0 in (-1.0, 0.0, 0.37, 2.5):
            t, ts = wcr_tstats(design, k, b0, v)
            t_fast, ts_fast = path.tstats(b0)
            np.testing.assert_allclose(t_fast, t, rtol=1e-9)
            np.testing.assert_allclose(ts_fast, ts, rtol=1e-8, atol=1e-10)


def test_full_enumeration_matches_wildboottest_package(panel_factory):
    """Against ``wildboottest`` 0.3.2 (PyPI), stored in tests/reference/wildboottest/.

    Same seeded panel, region fixed effects (dummies there, within transformation here),
    WCR11 with all 2**8 Rademacher sign vectors. wildboottest scales the cluster variance
    by G/(G-1) (N-1)/(N-K) with K = 10 columns, we by G/(G-1): every t and t* differs by
    sqrt((N-1)/(N-K)). Its p-value counts |t*| > |t|; ours counts >= (the identity draw
    reproduces t exactly, so ours is 1/256 larger when that is the only tie).
    """
    import itertools
    from pathlib import Path

    ref = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "wildboottest"
                      / "enumeration.csv")
    panel = panel_factory(n_regions=8, n_years=6, seed=21, beta=(0.2, 0.0))
    model = FixedEffectsMigration("y", ["x1", "x2"], effects="region", lag=0).fit(panel)
    design = design_from_model(model)
    v = np.array(list(itertools.product([-1.0, 1.0], repeat=8))).T
    scale = np.sqrt((48 - 1) / (48 - 10))
    for k, term in enumerate(["x1", "x2"]):
        r = ref[ref["term"] == term]
        t, tstar = wcr_tstats(design, k, 0.0, v)
        np.testing.assert_allclose(t, scale * r["t_stat"].iloc[0], rtol=1e-9)
        np.testing.assert_allclose(np.sort(np.abs(tstar)), scale * r["abs_tstar_sorted"],
                                   rtol=1e-8)
        assert np.mean(np.abs(tstar) > abs(t)) == r["p_value"].iloc[0]
