"""The migration account checked against hand-worked numbers, a root finder, closed forms and
Nixtla's hierarchicalforecast, on synthetic panels whose identities are known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from kzmig.forecast.planning import accounts as acc
from kzmig.forecast.planning.accounts import (
    ARRIVALS, ARRIVALS_CIS, ARRIVALS_NON_CIS, DEPARTURES, DEPARTURES_CIS, DEPARTURES_NON_CIS, EXTERNAL, INTERNAL,
    NATURAL, NET, constraint_matrix, consistency_table, linear_identities, map_interval_bounds, persons_from_rate,
    rate_from_persons, reconcile_account, regional_views, split_conformal_halfwidth,
)

NAT = "kazakhstan"
REGIONS = ["a", "b", "c"]


# ------------------------------------------------------------------ persons <-> rate
def test_persons_from_rate_hand_worked():
    # P = 1000, N = 10, m = 20 per 1,000: M = 20 * 2010 / 1980
    m, p = persons_from_rate([20.0], 1000.0, [10.0])
    assert m[0] == pytest.approx(40200 / 1980, rel=1e-14)
    assert p[1] == pytest.approx(1010 + 40200 / 1980, rel=1e-14)
    # the rate of that M on its own mean population is 20 again
    assert 1000 * m[0] / ((p[0] + p[1]) / 2) == pytest.approx(20.0, rel=1e-13)


def test_persons_from_rate_matches_root_finder_over_years():
    rng = np.random.default_rng(0)
    rate, ni = rng.normal(-5, 8, 6), rng.normal(2000, 500, 6)
    got, pop = persons_from_rate(rate, 250_000.0, ni)
    p = 250_000.0
    for t in range(6):  # independent: solve 1000 M / ((2P + N + M) / 2) = m for M numerically
        want = brentq(lambda x, t=t, p=p: 1000 * x / ((2 * p + ni[t] + x) / 2) - rate[t], -1e5, 1e5, xtol=1e-12)
        assert got[t] == pytest.approx(want, abs=1e-6)
        p = p + ni[t] + want
        assert pop[t + 1] == pytest.approx(p, abs=1e-6)


def test_round_trip_on_sample_paths():
    rng = np.random.default_rng(1)
    persons = rng.normal(-800, 2000, (50, 7))
    ni = rng.normal(3000, 300, 7)
    p0 = rng.uniform(4e5, 6e5, 50)
    rate, pop_r = rate_from_persons(persons, p0, ni)
    back, pop_p = persons_from_rate(rate, p0, ni)
    np.testing.assert_allclose(back, persons, rtol=1e-11, atol=1e-7)
    np.testing.assert_allclose(pop_r, pop_p, rtol=1e-13)
    assert rate.shape == persons.shape and pop_r.shape == (50, 8)


def test_interval_bounds_are_mapped_monotonically_along_the_point_path():
    rng = np.random.default_rng(2)
    point = rng.normal(-3, 4, 5)
    lower, upper = point - 2.5, point + 3.0
    ni = np.full(5, 1500.0)
    pts, pop = persons_from_rate(point, 300_000.0, ni)
    lo = map_interval_bounds(lower, "persons", 300_000.0, ni, point)
    hi = map_interval_bounds(upper, "persons", 300_000.0, ni, point)
    assert (lo < pts).all() and (pts < hi).all()
    # mapping the point itself reproduces the point's persons exactly
    np.testing.assert_allclose(map_interval_bounds(point, "persons", 300_000.0, ni, point), pts, rtol=1e-12)
    # each year's bound is that year's map with the point path's population (hand formula)
    want = lower * (2 * pop[:-1] + ni) / (2000 - lower)
    np.testing.assert_allclose(lo, want, rtol=1e-13)
    # and back: persons bounds to rate bounds invert the map
    back = map_interval_bounds(lo, "rate", 300_000.0, ni, pts)
    np.testing.assert_allclose(back, lower, rtol=1e-10)


def test_impossible_rate_is_refused():
    with pytest.raises(ValueError, match="2,000 per 1,000"):
        persons_from_rate([2500.0], 1000.0, [0.0])


# ------------------------------------------------------------------ constraint matrix and projection
def _frame(values: dict, origin=2024, year=2025) -> pd.DataFrame:
    return pd.DataFrame([(v, r, origin, year, x) for (v, r), x in values.items()],
                        columns=["variable", "region", "origin_year", "year", "point"])


def test_hand_worked_three_series_ols_and_wls():
    """T - A - B = 0 with y = (10, 3, 4): C y = 3.
    OLS: C C' = 3, y~ = y - C' = (9, 4, 5).
    WLS, W = diag(1, 2, 3): C W C' = 6, W C' = (1, -2, -3), y~ = y - (1, -2, -3) / 2 = (9.5, 4, 5.5)."""
    f = _frame({(NET, NAT): 10.0, (NET, "a"): 3.0, (NET, "b"): 4.0})
    ols = reconcile_account(f).reconciled.set_index("region")["point"]
    np.testing.assert_allclose(ols[[NAT, "a", "b"]], [9, 4, 5], atol=1e-12)
    err = pd.DataFrame([(NET, r, 2000 + i, 2001 + i, e) for r, sd in ((NAT, 1), ("a", 2), ("b", 3))
                        for i, e in enumerate(np.sqrt(sd) * np.array([1.0, -1.0]) / np.sqrt(2))],
                       columns=["variable", "region", "origin_year", "year", "error"])
    # variance (ddof=1) of (s, -s) / sqrt(2) is s^2: the weights are 1, 2, 3
    wls = reconcile_account(f, method="wls", errors=err).reconciled.set_index("region")["point"]
    np.testing.assert_allclose(wls[[NAT, "a", "b"]], [9.5, 4, 5.5], atol=1e-12)


def test_signed_identity_national_is_arrivals_minus_departures():
    """T = A - D with y = (T, A, D) = (1, 10, 6): C = (1, -1, 1), C y = -3, C C' = 3,
    y~ = y + C' = (2, 9, 7): 2 = 9 - 7."""
    f = _frame({(NET, NAT): 1.0, (ARRIVALS, NAT): 10.0, (DEPARTURES, NAT): 6.0})
    res = reconcile_account(f)
    got = res.reconciled.set_index("variable")["point"]
    np.testing.assert_allclose(got[[NET, ARRIVALS, DEPARTURES]], [2, 9, 7], atol=1e-12)
    assert any("arrivals_are_cis_plus_non_cis" in s for s in res.skipped)


def test_fixed_observed_series_stay_put():
    """Arrivals and departures observed (fixed), the national forecast is not: T = A - D pins T = 4,
    then the regions share the gap: y = (T, a, b, A, D) = (1, 3, 4, 10, 6) -> a + b = 4 with the least
    squares change a = 3 - 1.5, b = 4 - 1.5."""
    f = _frame({(NET, NAT): 1.0, (NET, "a"): 3.0, (NET, "b"): 4.0, (ARRIVALS, NAT): 10.0, (DEPARTURES, NAT): 6.0})
    f["fixed"] = f["variable"].isin([ARRIVALS, DEPARTURES])
    got = reconcile_account(f).reconciled.set_index(["variable", "region"])["point"]
    np.testing.assert_allclose(got[[(NET, NAT), (NET, "a"), (NET, "b"), (ARRIVALS, NAT), (DEPARTURES, NAT)]],
                               [4, 1.5, 2.5, 10, 6], atol=1e-12)
    f["fixed"] = True
    with pytest.raises(ValueError, match=r"observed values break .*national_is_arrivals_minus_departures"):
        reconcile_account(f)


def test_constraint_matrix_signs():
    keys = [(NET, NAT), (NET, "a"), (NET, "b"), (ARRIVALS, NAT), (DEPARTURES, NAT)]
    ids, skipped = linear_identities(keys)
    c = constraint_matrix(keys, ids)
    np.testing.assert_array_equal(c, [[1, -1, -1, 0, 0], [1, 0, 0, -1, 1]])
    assert [i.name for i in ids] == ["regions_sum_to_national", "national_is_arrivals_minus_departures"]
    assert len(skipped) == 2  # the CIS / non-CIS splits


# ------------------------------------------------------------------ a synthetic account
def _truth(seed: int, years=(2025, 2026, 2027), origin=2024, regions=("a", "b", "c", "d"), internal=True):
    """A coherent account: every identity holds by construction."""
    rng = np.random.default_rng(seed)
    rows = []
    for y in years:
        ac, an, dc, dn = rng.uniform(5e3, 3e4, 4)
        arr, dep = ac + an, dc + dn
        ext = rng.normal(0, 1, len(regions))
        ext = ext - ext.mean() + (arr - dep) / len(regions)
        inner = rng.normal(0, 2e3, len(regions))
        inner -= inner.mean()
        ni = rng.uniform(1e3, 2e4, len(regions))
        vals = {(ARRIVALS, NAT): arr, (DEPARTURES, NAT): dep, (ARRIVALS_CIS, NAT): ac,
                (ARRIVALS_NON_CIS, NAT): an, (DEPARTURES_CIS, NAT): dc, (DEPARTURES_NON_CIS, NAT): dn,
                (NET, NAT): arr - dep, (NATURAL, NAT): ni.sum()}
        for r, e, i, n in zip(regions, ext, inner, ni):
            vals[(NET, r)], vals[(NATURAL, r)] = e + i, n
            if internal:
                vals[(INTERNAL, r)], vals[(EXTERNAL, r)] = i, e
        rows += [(v, r, origin, y, x) for (v, r), x in vals.items()]
    return pd.DataFrame(rows, columns=["variable", "region", "origin_year", "year", "point"])


def _noisy(truth: pd.DataFrame, seed: int, sd=500.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return truth.assign(point=truth["point"] + rng.normal(0, sd, len(truth)))


def _linear_holds(table):
    lin = table.loc[table["unit"] == "persons"]
    return bool(lin["holds"].all())


def test_truth_is_coherent_noisy_is_not_reconciled_is():
    truth = _truth(3)
    assert _linear_holds(consistency_table(truth))
    base = _noisy(truth, 4)
    assert not _linear_holds(consistency_table(base))
    res = reconcile_account(base)
    table = consistency_table(res.reconciled)
    assert _linear_holds(table)
    names = set(table["identity"])
    assert {"regions_sum_to_national", "national_is_arrivals_minus_departures", "arrivals_are_cis_plus_non_cis",
            "departures_are_cis_plus_non_cis", "natural_increase_regions_sum_to_national", "internal_sums_to_zero",
            "internal_plus_external"} <= names
    assert (table.loc[table["identity"] == "internal_plus_external", "region"].nunique()) == 4
    assert res.skipped == []
    assert res.report["incoherence_reconciled"].max() < 1e-8 < res.report["incoherence_base"].min()


def test_ols_projection_moves_base_towards_truth():
    """The truth lies in the coherent subspace, so the OLS projection is never farther from it."""
    truth = _truth(5)
    for seed in range(6, 16):
        base = _noisy(truth, seed)
        rec = reconcile_account(base).reconciled
        assert np.linalg.norm(rec["point"] - truth["point"]) <= np.linalg.norm(base["point"] - truth["point"]) + 1e-9


def _errors(truth, seed, n=40, scale=None):
    rng = np.random.default_rng(seed)
    keys = truth.drop_duplicates(["variable", "region"])[["variable", "region"]].to_numpy()
    scale = scale if scale is not None else rng.uniform(100, 2000, len(keys))
    rows = [(v, r, 2000 + t, 2001 + t, rng.normal(0, s)) for t in range(n) for (v, r), s in zip(keys, scale)]
    return pd.DataFrame(rows, columns=["variable", "region", "origin_year", "year", "error"])


def _summing_form(y, C, W):
    """Independent closed form: S spans the null space of C, y~ = S (S' W^-1 S)^-1 S' W^-1 y."""
    _, s, vt = np.linalg.svd(C)
    S = vt[(s > 1e-10).sum():].T
    Wi = np.linalg.inv(W)
    return S @ np.linalg.solve(S.T @ Wi @ S, S.T @ Wi @ y)


@pytest.mark.parametrize("method", ["ols", "wls", "mint_shrink"])
def test_whole_account_matches_summing_matrix_form(method):
    truth = _truth(7, years=(2025,))
    base = _noisy(truth, 8)
    err = _errors(truth, 9)
    rec = reconcile_account(base, method=method, errors=err).reconciled
    keys = list(zip(base["variable"], base["region"]))
    C = constraint_matrix(keys, linear_identities(keys)[0])
    W, _ = acc.account_weights(keys, method, err)
    want = _summing_form(base["point"].to_numpy(), C, W)
    np.testing.assert_allclose(rec["point"], want, rtol=1e-9, atol=1e-6)
    if method == "wls":  # W holds the sample variances, not their inverses
        wide = err.pivot_table(index="origin_year", columns=["variable", "region"], values="error")
        np.testing.assert_allclose(np.diag(W), [wide[k].var(ddof=1) for k in keys], rtol=1e-12)


def test_sample_paths_reconcile_linearly():
    truth = _truth(10, years=(2025,))
    paths = pd.concat([_noisy(truth, 100 + i).assign(path=i) for i in range(30)], ignore_index=True)
    rec = reconcile_account(paths, by=("path", "origin_year", "year")).reconciled
    assert _linear_holds(consistency_table(rec, by=("origin_year", "path")))
    mean_rec = rec.groupby(["variable", "region"])["point"].mean()
    mean_base = paths.groupby(["variable", "region"])["point"].mean().reset_index().assign(origin_year=2024,
                                                                                        year=2025)
    rec_mean = reconcile_account(mean_base).reconciled.set_index(["variable", "region"])["point"]
    np.testing.assert_allclose(mean_rec.loc[rec_mean.index], rec_mean, rtol=1e-10, atol=1e-6)


def test_missing_series_is_reported_not_dropped():
    truth = _truth(11, internal=False)
    base = _noisy(truth, 12)
    base = base.loc[base["variable"] != ARRIVALS_NON_CIS]
    res = reconcile_account(base)
    assert res.skipped == [f"arrivals_are_cis_plus_non_cis ({NAT}): not enforced, no forecast of "
                           f"{ARRIVALS_NON_CIS}[{NAT}]"]
    table = consistency_table(res.reconciled)
    assert "arrivals_are_cis_plus_non_cis" not in set(table["identity"])
    assert _linear_holds(table)


def test_wls_without_errors_names_the_fix():
    with pytest.raises(ValueError, match="needs backtest errors"):
        reconcile_account(_truth(1), method="wls")


# ------------------------------------------------------------------ regional views and consistency
def _regional_inputs(seed=20):
    rng = np.random.default_rng(seed)
    regions = ["a", "b", "c"]
    years = range(2025, 2031)
    persons = pd.DataFrame([(2024, r, y, rng.normal(0, 3000)) for r in regions for y in years],
                           columns=["origin_year", "region", "year", "point"])
    ni = pd.DataFrame([(2024, r, y, rng.uniform(1e3, 1e4)) for r in regions for y in years],
                      columns=["origin_year", "region", "year", "natural_increase"])
    p0 = pd.Series(rng.uniform(5e5, 2e6, 3), index=pd.MultiIndex.from_product([[2024], regions],
                                                                                names=["origin_year", "region"]))
    return persons, ni, p0


def test_regional_views_hold_every_regional_identity():
    persons, ni, p0 = _regional_inputs()
    views = regional_views(persons, p0, ni)
    table = consistency_table(persons.assign(variable=NET).iloc[:0], views)
    assert set(table["identity"]) == {"population_balance", "persons_from_rate", "rate_from_persons",
                                      "mean_population", "population_continuity"}
    assert table["holds"].all()
    assert (table.loc[table["unit"] == "per_1000", "identity"] == "rate_from_persons").all()
    # independent check with a plain loop over rows
    for (r, g) in views.groupby("region"):
        p = p0.loc[(2024, r)]
        for row in g.sort_values("year").itertuples():
            assert row.population_start == pytest.approx(p, rel=1e-14)
            p = p + row.natural_increase + row.net_migration
            assert row.net_migration_rate_per_1000 == pytest.approx(
                1000 * row.net_migration / ((row.population_start + p) / 2), rel=1e-12)


def test_consistency_table_flags_a_planted_error():
    persons, ni, p0 = _regional_inputs()
    views = regional_views(persons, p0, ni)
    bad = views.copy()
    hit = (bad["region"] == "b") & (bad["year"] == 2027)
    bad.loc[hit, "net_migration_rate_per_1000"] += 1e-4
    table = consistency_table(persons.assign(variable=NET).iloc[:0], bad)
    failed = table.loc[~table["holds"]]
    # 1e-4 per 1,000 breaks the rate tolerance (1e-6); in persons it is 1e-4 * mean population / 1,000,
    # about 0.05-0.2 persons here, inside the 0.5-person tolerance
    assert set(zip(failed["identity"], failed["region"], failed["year"])) == {("rate_from_persons", "b", 2027)}


# ------------------------------------------------------------------ calibration
def test_split_conformal_rank():
    e = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.8) = 16
    assert split_conformal_halfwidth(e, 0.8) == 16.0
    assert split_conformal_halfwidth(-e, 0.95) == 19.0
    assert np.isnan(split_conformal_halfwidth(e[:5], 0.95))


# ------------------------------------------------------------------ against hierarchicalforecast
def _hf_case(seed):
    """Two aggregation trees, an S matrix exists: national = a + b + c; arrivals = CIS + non-CIS."""
    names = [(NET, NAT), (ARRIVALS, NAT), (NET, "a"), (NET, "b"), (NET, "c"), (ARRIVALS_CIS, NAT),
             (ARRIVALS_NON_CIS, NAT)]  # aggregates first, bottom last (hierarchicalforecast's layout)
    uid = [f"{v}|{r}" for v, r in names]
    bottom = [2, 3, 4, 5, 6]
    S = np.vstack([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1], np.eye(5)])
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 3000, 7)
    a = rng.normal(size=(7, 7))
    e = rng.multivariate_normal(np.zeros(7), (a @ a.T + np.eye(7)) * 1e5, size=30)
    return names, uid, bottom, S, y, e


@pytest.mark.parametrize("method", ["ols", "wls", "mint_shrink"])
def test_matches_hierarchicalforecast(method):
    hf = pytest.importorskip("hierarchicalforecast.core")
    from hierarchicalforecast.methods import MinTrace

    names, uid, bottom, S, y, e = _hf_case(30)
    # hierarchicalforecast's WLS weighs by the mean square of the residuals (not centred, / n), ours by the
    # variance (centred, / (n - 1)): with errors centred up to 1e-3 (exactly centred ones trip its
    # zero-residual guard) the two differ by the common factor n / (n - 1), to which WLS is invariant
    e = e - e.mean(axis=0) + 1e-3
    t = np.arange(len(e))
    y_df = pd.DataFrame({"unique_id": np.repeat(uid, len(e)), "ds": np.tile(t, 7), "y": e.T.ravel(), "m": 0.0})
    yh = pd.DataFrame({"unique_id": uid, "ds": len(e), "m": y})
    s_df = pd.DataFrame(S, columns=[uid[i] for i in bottom]).assign(unique_id=uid)
    s_df = s_df[["unique_id", *[uid[i] for i in bottom]]]
    tags = {"net": np.array([uid[0]]), "arr": np.array([uid[1]]), "net/region": np.array(uid[2:5]),
            "arr/part": np.array(uid[5:])}
    hf_method = {"ols": "ols", "wls": "wls_var", "mint_shrink": "mint_shrink"}[method]
    kw = {"mint_shr_ridge": 0.0} if method == "mint_shrink" else {}
    theirs = hf.HierarchicalReconciliation([MinTrace(method=hf_method, **kw)]).reconcile(
        Y_hat_df=yh, Y_df=y_df, S_df=s_df, tags=tags)
    col = next(c for c in theirs.columns if c.startswith("m/MinTrace"))
    theirs = theirs.set_index("unique_id").loc[uid, col].to_numpy()
    frame = pd.DataFrame({"variable": [v for v, _ in names], "region": [r for _, r in names],
                          "origin_year": 2024, "year": 2025, "point": y})
    err = pd.DataFrame([(v, r, 2000 + i, 2001 + i, e[i, j]) for i in range(len(e))
                        for j, (v, r) in enumerate(names)],
                       columns=["variable", "region", "origin_year", "year", "error"])
    ours = reconcile_account(frame, method=method, errors=err).reconciled["point"].to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-4)
