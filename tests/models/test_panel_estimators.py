"""Panel estimators against closed forms, linearmodels itself and hand-written sandwiches."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS
from sklearn.base import clone

from kzmig.core.errors import PanelContractError
from kzmig.models.panel import (
    BetweenMigration,
    FirstDifferenceMigration,
    FixedEffectsMigration,
    PooledOLSMigration,
    RandomEffectsMigration,
)

FEATURES = ("x1", "x2")


def _dummies(panel: pd.DataFrame, effects: str) -> np.ndarray:
    cols = []
    if effects in ("region", "both"):
        cols.append(pd.get_dummies(panel["region"].astype(str), dtype=float))
    if effects in ("year", "both"):
        yd = pd.get_dummies(panel["year"].astype(str), dtype=float)
        cols.append(yd.iloc[:, 1:] if effects == "both" else yd)  # drop one year if both
    return np.column_stack(cols)


@pytest.mark.parametrize("effects", ["region", "year", "both"])
def test_fixed_effects_equal_dummy_ols_and_linearmodels(panel, effects):
    res = FixedEffectsMigration("y", FEATURES, effects=effects, lag=0).fit(panel).result_
    X = np.column_stack([panel[list(FEATURES)].to_numpy(), _dummies(panel, effects)])
    beta = np.linalg.lstsq(X, panel["y"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(res.params[list(FEATURES)], beta[:2], rtol=0, atol=1e-8)
    lm = PanelOLS(panel.set_index(["region", "year"])["y"],
                  panel.set_index(["region", "year"])[list(FEATURES)],
                  entity_effects=effects != "year", time_effects=effects != "region").fit()
    np.testing.assert_allclose(res.params.to_numpy(), lm.params.to_numpy(), rtol=0, atol=1e-8)


def _sandwich(xw: np.ndarray, e: np.ndarray, groups: np.ndarray, k: int, extra_df: int):
    """Cluster-robust covariance written out, with linearmodels' small-sample factors.

    ``debiased=True`` scales by n / (n - extra_df - k); ``group_debias=True`` by
    G/(G-1) (n-1)/n. Together (extra_df = 0): G/(G-1) (n-1)/(n-k), Stata's xtreg fe.
    """
    n = len(e)
    bread = np.linalg.inv(xw.T @ xw)
    meat = np.zeros((k, k))
    ids = np.unique(groups)
    for g in ids:
        s = xw[groups == g].T @ e[groups == g]
        meat += np.outer(s, s)
    G = len(ids)
    return bread @ meat @ bread * n / (n - extra_df - k) * G / (G - 1) * (n - 1) / n


@pytest.mark.parametrize(("effects", "extra_df"), [("region", 0), ("both", None)])
def test_clustered_errors_match_hand_sandwich(panel, effects, extra_df):
    res = FixedEffectsMigration("y", FEATURES, effects=effects, lag=0,
                                cov_type="clustered").fit(panel).result_
    D = _dummies(panel, effects)
    X = panel[list(FEATURES)].to_numpy()
    M = np.eye(len(X)) - D @ np.linalg.solve(D.T @ D, D.T)  # annihilator of the effects
    xw, yw = M @ X, M @ panel["y"].to_numpy()
    b = np.linalg.solve(xw.T @ xw, xw.T @ yw)
    e = yw - xw @ b
    # Region effects are nested in region clusters: not counted (extra_df = 0).
    # Two-way: every effect column is counted (R + T - 1).
    extra = D.shape[1] if extra_df is None else extra_df
    V = _sandwich(xw, e, panel["region"].to_numpy(), 2, extra)
    np.testing.assert_allclose(res.std_errors.to_numpy(), np.sqrt(np.diag(V)), rtol=0, atol=1e-8)


def test_pooled_ols_matches_normal_equations(panel):
    res = PooledOLSMigration("y", FEATURES, lag=0, cov_type="unadjusted").fit(panel).result_
    X = np.column_stack([np.ones(len(panel)), panel[list(FEATURES)]])
    y = panel["y"].to_numpy()
    b = np.linalg.solve(X.T @ X, X.T @ y)
    s2 = ((y - X @ b) ** 2).sum() / (len(y) - 3)
    np.testing.assert_allclose(res.params.to_numpy(), b, atol=1e-10)
    np.testing.assert_allclose(res.std_errors.to_numpy(),
                               np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X))), atol=1e-10)


def test_between_and_first_difference_closed_forms(panel):
    bet = BetweenMigration("y", FEATURES, lag=0).fit(panel).result_
    m = panel.groupby("region")[["y", *FEATURES]].mean()
    Xb = np.column_stack([np.ones(len(m)), m[list(FEATURES)]])
    np.testing.assert_allclose(bet.params.to_numpy(),
                               np.linalg.lstsq(Xb, m["y"].to_numpy(), rcond=None)[0], atol=1e-10)
    fd = FirstDifferenceMigration("y", FEATURES, lag=0).fit(panel).result_
    d = panel.groupby("region")[["y", *FEATURES]].diff().dropna()
    np.testing.assert_allclose(
        fd.params.to_numpy(),
        np.linalg.lstsq(d[list(FEATURES)].to_numpy(), d["y"].to_numpy(), rcond=None)[0],
        atol=1e-10)


def test_lag_is_within_region_and_named(panel):
    est = FixedEffectsMigration("y", FEATURES, effects="region", lag=1).fit(panel)
    assert est.feature_names_ == ("x1_lag1", "x2_lag1")
    s = est.sample_
    row = s[(s.region == "r03") & (s.year == 2010)].iloc[0]
    src = panel[(panel.region == "r03") & (panel.year == 2009)].iloc[0]
    assert row["x1_lag1"] == src["x1"]
    assert s["year"].min() == 2007 and len(s) == 12 * 9  # first year of each region lost
    # a gap year is not bridged: 2009 missing -> 2010 has no lag
    gap = panel[~((panel.region == "r00") & (panel.year == 2009))]
    s2 = FixedEffectsMigration("y", FEATURES, lag=1, missing="drop").fit(gap).sample_
    assert not ((s2.region == "r00") & (s2.year == 2010)).any()


def test_random_effects_between_pooled_and_fe(panel):
    """RE is a matrix-weighted average: its x1 lies between FE and between estimates."""
    re_ = RandomEffectsMigration("y", FEATURES, lag=0).fit(panel).result_.params["x1"]
    fe = FixedEffectsMigration("y", FEATURES, effects="region", lag=0).fit(panel).result_.params
    be = BetweenMigration("y", FEATURES, lag=0).fit(panel).result_.params
    assert min(fe["x1"], be["x1"]) <= re_ <= max(fe["x1"], be["x1"])


def test_driscoll_kraay_options_reach_linearmodels(panel):
    a = FixedEffectsMigration("y", FEATURES, lag=0, cov_type="driscoll-kraay",
                              bandwidth=1).fit(panel).result_
    b = FixedEffectsMigration("y", FEATURES, lag=0, cov_type="driscoll-kraay",
                              bandwidth=3, kernel="parzen").fit(panel).result_
    lm = PanelOLS(panel.set_index(["region", "year"])["y"],
                  panel.set_index(["region", "year"])[list(FEATURES)],
                  entity_effects=True, time_effects=True).fit(cov_type="kernel", bandwidth=3,
                                                              kernel="parzen")
    np.testing.assert_allclose(b.std_errors.to_numpy(), lm.std_errors.to_numpy(), atol=1e-12)
    assert not np.allclose(a.std_errors, b.std_errors)


def test_result_helpers(panel):
    est = FixedEffectsMigration("y", FEATURES, lag=0).fit(panel)
    res = est.result_
    tidy = res.tidy()
    assert list(tidy["term"]) == ["x1", "x2"]
    ci = res.conf_int(0.9)
    from scipy import stats
    c = stats.t.ppf(0.95, res.df_resid)
    np.testing.assert_allclose(ci["upper"] - res.params, c * res.std_errors)
    sd = panel[["y", "x1"]].std()
    np.testing.assert_allclose(res.standardised()["x1"], res.params["x1"] * sd["x1"] / sd["y"])
    mean = panel[["y", "x2"]].mean()
    np.testing.assert_allclose(res.elasticities()["x2"],
                               res.params["x2"] * mean["x2"] / mean["y"])
    assert "R2 within" in res.summary()
    pred = est.predict(panel)
    np.testing.assert_allclose(pred["point"], panel[["x1", "x2"]].to_numpy() @ res.params.to_numpy())
    assert clone(est).get_params()["effects"] == "both"
    with pytest.raises(ValueError, match=r"level\(s\) \[1\.5\] are not fractions in \(0, 1\)"):
        res.conf_int(1.5)


# --- bad input ---------------------------------------------------------------------

def test_collinear_features_are_named(panel):
    p = panel.assign(x3=2.0 * panel["x1"] - panel["x2"])
    with pytest.raises(PanelContractError, match=r"\['x1', 'x2', 'x3'\] are perfectly collinear"):
        PooledOLSMigration("y", ("x1", "x2", "x3"), lag=0).fit(p)


def test_feature_constant_within_region_is_named_under_fe(panel):
    area = panel["region"].map({r: float(i) for i, r in enumerate(sorted(panel.region.unique()))})
    p = panel.assign(area_km2=area)
    with pytest.raises(PanelContractError, match=r"\['area_km2'\] are constant within every region"):
        FixedEffectsMigration("y", ("x1", "area_km2"), effects="region", lag=0).fit(p)
    with pytest.raises(PanelContractError, match=r"\['area_km2_lag1'\] are explained entirely"):
        FixedEffectsMigration("y", ("x1", "area_km2"), effects="both").fit(p)
    with pytest.raises(PanelContractError, match="first differences remove it"):
        FirstDifferenceMigration("y", ("x1", "area_km2"), lag=0).fit(p)


def test_small_scale_features_are_not_mistaken_for_absorbed(panel):
    p = panel.assign(x1=panel["x1"] * 1e-9, x2=panel["x2"] * 1e3)
    res = FixedEffectsMigration("y", FEATURES, lag=0).fit(p).result_
    ref = FixedEffectsMigration("y", FEATURES, lag=0).fit(panel).result_
    np.testing.assert_allclose(res.params.to_numpy() * [1e-9, 1e3], ref.params.to_numpy(),
                               rtol=1e-6)
    extreme = panel.assign(x1=panel["x1"] * 1e-9, x2=panel["x2"] * 1e9)
    with pytest.raises(PanelContractError, match=r"linearmodels refused the design of "
                                                 r"\['x1', 'x2'\].*Rescale"):
        FixedEffectsMigration("y", FEATURES, lag=0).fit(extreme)


def test_feature_constant_within_year_is_named_under_year_effects(panel):
    p = panel.assign(trend=panel["year"].astype(float))
    with pytest.raises(PanelContractError, match=r"\['trend'\] are constant within every year"):
        FixedEffectsMigration("y", ("x1", "trend"), effects="year", lag=0).fit(p)
    with pytest.raises(PanelContractError, match=r"\['const', 'ones'\] are perfectly"):
        PooledOLSMigration("y", ("x1", "ones"), lag=0).fit(p.assign(ones=1.0))


def test_too_few_regions_or_years(panel):
    two = panel[panel.region.isin(["r00", "r01", "r02"])]
    with pytest.raises(PanelContractError,
                       match=r"RandomEffectsMigration needs at least 4 regions .* has 3 region"):
        RandomEffectsMigration("y", FEATURES, lag=0).fit(two)
    with pytest.raises(PanelContractError, match=r"needs at least 2 regions and 2 years.*1 year"):
        FixedEffectsMigration("y", FEATURES, lag=0).fit(panel[panel.year == 2006])
    with pytest.raises(PanelContractError, match=r"needs at least 2 regions and 3 years"):
        FirstDifferenceMigration("y", FEATURES, lag=0).fit(panel[panel.year < 2008])


def test_all_missing_feature_names_feature_and_years(panel):
    p = panel.assign(wage=np.where(panel["year"] == 2020, 1.0, np.nan))
    with pytest.raises(PanelContractError,
                       match=r"feature 'wage_lag1' is missing in every row .*years 2007-2015.*"
                             r"'wage' is observed in no years"):
        FixedEffectsMigration("y", ("x1", "wage")).fit(p)
    p2 = panel.assign(wage=np.where(panel["year"] == 2015, 1.0, np.nan))
    with pytest.raises(PanelContractError, match=r"observed in 2015"):
        FixedEffectsMigration("y", ("x1", "wage")).fit(p2)


def test_missing_values_raise_by_default_and_drop_on_request(panel):
    p = panel.copy()
    p.loc[(p.region == "r02") & (p.year == 2011), "x1"] = np.nan
    with pytest.raises(PanelContractError, match=r"'x1' has 1 missing values.*region='r02', year=2011"):
        FixedEffectsMigration("y", FEATURES, lag=0).fit(p)
    res = FixedEffectsMigration("y", FEATURES, lag=0, missing="drop").fit(p).result_
    assert res.nobs == len(panel) - 1


def test_bad_options_list_valid_choices(panel):
    with pytest.raises(ValueError, match=r"cov_type='cluster' is not supported by "
                                         r"FixedEffectsMigration; choose one of 'clustered'"):
        FixedEffectsMigration("y", FEATURES, cov_type="cluster").fit(panel)
    with pytest.raises(ValueError, match=r"effects='entity'.*'both', 'region', 'year'"):
        FixedEffectsMigration("y", FEATURES, effects="entity").fit(panel)
    with pytest.raises(ValueError, match=r"kernel='gauss'.*'bartlett'"):
        PooledOLSMigration("y", FEATURES, cov_type="driscoll-kraay", kernel="gauss").fit(panel)
    with pytest.raises(ValueError, match=r"cov_type='clustered' is not supported by Between"):
        BetweenMigration("y", FEATURES, cov_type="clustered").fit(panel)
    with pytest.raises(PanelContractError, match=r"required column\(s\) \['x9'\] are absent"):
        PooledOLSMigration("y", ("x9",)).fit(panel)


def test_fewer_observations_than_coefficients(panel_factory):
    p = panel_factory(n_regions=2, n_years=3, seed=1)
    for i in range(3, 6):
        p[f"z{i}"] = np.random.default_rng(i).normal(size=len(p))
    with pytest.raises(PanelContractError, match=r"6 usable observations for 6 coefficients "
                                                 r"and 0 fixed effects .* more than 6"):
        PooledOLSMigration("y", ("x1", "x2", "z3", "z4", "z5"), lag=0).fit(p)
