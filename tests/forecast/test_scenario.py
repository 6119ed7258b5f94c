"""Scenarios through the panel model, checked on SYNTHETIC data with a planted linear effect.

The panel is y_rt = a_r + B * x_{r,t-1} + e_rt with B known (no file, no network); the
fixed-effects model is fitted on it and a shift of x is pushed through. References are
computed independently here: the model's own ``predict`` on the two paths, plain loops,
the analytic normal quantiles of the coefficient draws, and the balancing equation by hand.
"""
from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.base import BaseEstimator

from kzmig.forecast.planning.population import project_population
from kzmig.forecast.engine.reconcile import reconcile
from kzmig.forecast.planning.scenario import (
    ScenarioError, apply_shifts, average_population, baseline_feature_path, effect_in_persons, reconcile_scenario,
    scenario_effect, scenario_forecast, scenario_population, scenario_table,
)
from kzmig.models.panel import FixedEffectsMigration

B = 0.5                      # the planted coefficient of x_{t-1}
NAT = "kazakhstan"
REGIONS = [f"r{i:02d}" for i in range(10)]
ORIGIN, LAST = 2024, 2029
YEARS = list(range(ORIGIN + 1, LAST + 1))
N_DRAWS = 20_000


def synthetic_panel(seed: int = 7, b: float = B, noise: float = 2.0) -> pd.DataFrame:
    """SYNTHETIC: 10 regions x 2006-2024, y_rt = a_r + b x_{r,t-1} + N(0, noise^2); w (unused) tracks x."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in REGIONS:
        a = rng.normal(0, 5)
        x = 8 + rng.normal(0, 1, size=19).cumsum() * 0.5 + rng.normal(0, 1, size=19)
        for t, year in enumerate(range(2006, 2025)):
            y = a + b * x[t - 1] + rng.normal(0, noise) if t else np.nan
            rows.append((r, year, float(x[t]), float(y), float(0.7 * x[t] + rng.normal(0, 0.7))))
    df = pd.DataFrame(rows, columns=["region", "year", "x", "net_migration_rate_per_1000", "w"])
    return df.astype({"region": "string", "year": "int64"})


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel()


@pytest.fixture(scope="module")
def model(panel) -> FixedEffectsMigration:
    return FixedEffectsMigration("net_migration_rate_per_1000", ("x",), effects="region").fit(panel)


@pytest.fixture(scope="module")
def path(panel) -> pd.DataFrame:
    return baseline_feature_path(panel, ["x", "w"], origin_year=ORIGIN, until=LAST)


def shift(feature="x", regions="all", from_year=2026, to_year=None, kind="absolute", value=1.5) -> dict:
    return {"feature": feature, "regions": regions, "from_year": from_year, "to_year": to_year, "kind": kind,
            "value": value}


def baseline_forecast(sd: float = 1.0, regions=REGIONS, national=True, offset=7.0) -> pd.DataFrame:
    """SYNTHETIC long forecast table, normal intervals of sd * h; the national row is off the regional sum."""
    rows = []
    for y in YEARS:
        h = y - ORIGIN
        pts = {r: 3.0 * i - 10.0 + 0.5 * h for i, r in enumerate(regions)}
        if national:
            pts[NAT] = sum(pts.values()) + offset
        for r, p in pts.items():
            for lv in (0.8, 0.95):
                half = norm.ppf((1 + lv) / 2) * sd * h
                rows.append(("base", r, ORIGIN, y, p, p - half, p + half, lv))
    df = pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level"])
    return df.astype({"model": "string", "region": "string"})


def effect_of(model, path, shifts, **kw) -> pd.DataFrame:
    shifted = apply_shifts(path, shifts, regions_all=REGIONS)
    return scenario_effect(model, path, shifted, years=YEARS, n_draws=kw.pop("n_draws", N_DRAWS),
                           seed=kw.pop("seed", 11), **kw)


# -- the point effect ---------------------------------------------------------------

def test_effect_is_fitted_coefficient_times_shift(model, path):
    delta = 1.5
    eff = effect_of(model, path, [shift(value=delta)]).set_index(["region", "year"])
    b_hat, se = model.result_.params["x_lag1"], model.result_.std_errors["x_lag1"]
    moved = eff.loc[eff.index.get_level_values("year") >= 2027, "effect_point"]
    np.testing.assert_allclose(moved, b_hat * delta, rtol=1e-12)
    assert abs(b_hat * delta - B * delta) < 4 * se * delta  # the planted effect, within 4 standard errors
    assert abs(b_hat - B) < 0.1                             # and close in absolute terms on this sample


def test_effect_matches_the_models_own_predictions(model, path):
    shifted = apply_shifts(path, [shift(regions=["r01", "r04"], kind="relative", value=0.2)], regions_all=REGIONS)
    eff = scenario_effect(model, path, shifted, years=YEARS, n_draws=2000, seed=1)
    diff = (model.predict(shifted).set_index(["region", "year"])["point"]
            - model.predict(path).set_index(["region", "year"])["point"])
    got = eff.set_index(["region", "year"])["effect_point"]
    np.testing.assert_allclose(got, diff.loc[got.index], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lag", [1, 2])
def test_effect_starts_lag_years_after_the_shifted_feature(panel, path, lag):
    m = FixedEffectsMigration("net_migration_rate_per_1000", ("x",), effects="region", lag=lag).fit(panel)
    eff = effect_of(m, path, [shift(from_year=2026)], n_draws=2000)
    first = eff.loc[eff["effect_point"] != 0, "year"].min()
    assert first == 2026 + lag
    assert (eff.loc[eff["year"] < 2026 + lag, "effect_point"] == 0).all()
    assert (eff["feature_year"] == eff["year"] - lag).all()


def test_shift_window_is_inclusive(model, path):
    eff = effect_of(model, path, [shift(from_year=2026, to_year=2027)], n_draws=2000)
    moved = sorted(eff.loc[eff["effect_point"] != 0, "year"].unique())
    assert moved == [2027, 2028]


# -- uncertainty ----------------------------------------------------------------------

def test_effect_interval_is_the_coefficient_uncertainty(model, path):
    delta = 1.5
    eff = effect_of(model, path, [shift(value=delta)])
    row = eff.loc[eff["year"] == 2028].iloc[0]
    se = model.result_.std_errors["x_lag1"]
    half = (row["effect_upper_95"] - row["effect_lower_95"]) / 2
    # 20,000 normal draws: each 2.5 % quantile has a Monte Carlo sd of about 1.4 % of 1.96 sd
    np.testing.assert_allclose(half, 1.96 * se * delta, rtol=0.05)
    np.testing.assert_allclose((row["effect_upper_80"] - row["effect_lower_80"]) / 2,
                               norm.ppf(0.9) * se * delta, rtol=0.05)
    np.testing.assert_allclose(row["effect_sd"], se * delta, rtol=0.03)
    np.testing.assert_allclose(np.median(row["draws"]), row["effect_point"], atol=0.05 * se * delta)


def test_two_features_use_the_full_covariance(panel, path):
    m = FixedEffectsMigration("net_migration_rate_per_1000", ("x", "w"), effects="region").fit(panel)
    eff = effect_of(m, path, [shift("x", value=1.0), shift("w", value=-2.0)])
    d = np.array([1.0, -2.0])
    v = m.lm_result_.cov.loc[["x_lag1", "w_lag1"], ["x_lag1", "w_lag1"]].to_numpy()
    row = eff.loc[eff["year"] == 2028].iloc[0]
    np.testing.assert_allclose(row["effect_point"], d @ m.result_.params[["x_lag1", "w_lag1"]].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(row["effect_sd"], np.sqrt(d @ v @ d), rtol=0.03)
    assert abs(np.sqrt(d @ v @ d) / np.sqrt(d**2 @ np.diag(v)) - 1) > 0.15  # the correlation matters here


def test_without_a_covariance_the_standard_errors_are_used_with_a_warning(model, path, caplog):
    bare = copy.copy(model)
    bare.lm_result_ = None          # a loaded model whose backend could not be refitted
    with caplog.at_level(logging.WARNING):
        eff = effect_of(bare, path, [shift(value=1.5)])
    assert "no coefficient covariance available" in caplog.text
    np.testing.assert_allclose(eff.loc[eff["year"] == 2028, "effect_sd"], 1.5 * model.result_.std_errors["x_lag1"],
                               rtol=0.03)
    with pytest.raises(ValueError, match=r"n_draws=10 must be an integer >= 1000"):
        effect_of(model, path, [shift()], n_draws=10)


def test_given_bootstrap_draws_are_used_as_they_are(model, path):
    rng = np.random.default_rng(3)
    draws = pd.DataFrame({"x_lag1": rng.normal(0.4, 0.2, size=1500)})
    eff = effect_of(model, path, [shift(value=2.0)], draws=draws)
    row = eff.loc[eff["year"] == 2028].iloc[0]
    np.testing.assert_allclose(row["draws"], 2.0 * draws["x_lag1"].to_numpy(), rtol=1e-15)
    assert row["effect_point"] == pytest.approx(2.0 * model.result_.params["x_lag1"], rel=1e-12)
    with pytest.raises(ScenarioError, match=r"lack column\(s\) \['x_lag1'\]"):
        effect_of(model, path, [shift()], draws=draws.rename(columns={"x_lag1": "x"}))


def test_scenario_interval_adds_the_effect_uncertainty(model, path):
    delta, sd = 1.5, 0.1
    eff = effect_of(model, path, [shift(regions=["r02"], value=delta)])
    base = baseline_forecast(sd=sd)
    scen = scenario_forecast(base, eff, name="x_up", seed=5)
    key = ["region", "year", "level"]
    s, b = scen.set_index(key), base.set_index(key)
    se = model.result_.std_errors["x_lag1"]
    for y in (2027, 2029):
        for lv in (0.8, 0.95):
            z, h = norm.ppf((1 + lv) / 2), y - ORIGIN
            got = (s.loc[("r02", y, lv), "upper"] - s.loc[("r02", y, lv), "lower"]) / 2
            base_half = z * sd * h
            # independent normals: half-widths add in quadrature (Monte Carlo error ~1-2 %)
            np.testing.assert_allclose(got, z * np.hypot(sd * h, se * delta), rtol=0.03)
            assert got > base_half * 1.02
    np.testing.assert_allclose(s.loc[("r02", 2028, 0.95), "point"],
                               b.loc[("r02", 2028, 0.95), "point"] + model.result_.params["x_lag1"] * delta, rtol=1e-12)
    # rows the shift does not reach keep the baseline interval exactly
    same = s.index.get_level_values("region") != "r02"
    same &= s.index.get_level_values("region") != NAT
    for col in ("point", "lower", "upper"):
        np.testing.assert_array_equal(s.loc[same, col], b.loc[s.index[same], col])
    early = ("r02", 2026, 0.95)                            # before the lagged shift arrives
    assert (s.loc[early, "lower"], s.loc[early, "upper"]) == (b.loc[early, "lower"], b.loc[early, "upper"])
    assert {"scenario", "effect_point", "effect_lower_80", "effect_upper_95"} <= set(scen.columns)
    with pytest.raises(ScenarioError, match=r"unit of \['net_migration_rate_per_1000'\].*"
                                            r"forecasts \['net_migration'\]"):
        scenario_forecast(base.assign(target="net_migration"), eff)
    assert (scen["scenario"] == "x_up").all()


def test_zero_shift_gives_the_baseline_exactly(model, path):
    eff = effect_of(model, path, [shift(value=0.0)])
    base = baseline_forecast()
    scen = scenario_forecast(base, eff, seed=5)
    pd.testing.assert_frame_equal(scen[list(base.columns)].reset_index(drop=True),
                                  base.sort_values(["model", "region", "origin_year", "year", "level"])
                                  .reset_index(drop=True), check_exact=True)
    assert (scen["effect_point"] == 0).all() and (scen["effect_upper_95"] == 0).all()


def test_same_seed_same_output_and_another_seed_differs(model, path):
    base = baseline_forecast()
    runs = []
    for seed in (11, 11, 12):
        eff = effect_of(model, path, [shift(value=1.0)], seed=seed)
        runs.append((eff, scenario_forecast(base, eff, seed=seed)))
    (e1, s1), (e2, s2), (e3, s3) = runs
    pd.testing.assert_frame_equal(e1.drop(columns="draws"), e2.drop(columns="draws"), check_exact=True)
    assert all(np.array_equal(a, b) for a, b in zip(e1["draws"], e2["draws"]))
    pd.testing.assert_frame_equal(s1, s2, check_exact=True)
    assert not np.allclose(s1["upper"], s3["upper"], rtol=0, atol=0)


# -- shifts and feature paths -------------------------------------------------------

def test_baseline_path_holds_the_last_observed_value(panel):
    p = panel.copy()
    p.loc[(p["region"] == "r03") & (p["year"] >= 2023), "x"] = np.nan  # r03's x ends in 2022
    out = baseline_feature_path(p, ["x"], origin_year=ORIGIN, until=LAST).set_index(["region", "year"])["x"]
    for r in REGIONS:  # plain-loop oracle
        obs = p.loc[(p["region"] == r) & p["x"].notna()].sort_values("year")
        last_year, last = int(obs["year"].iloc[-1]), float(obs["x"].iloc[-1])
        for y in range(2006, LAST + 1):
            want = last if y > last_year else float(obs.set_index("year").loc[y, "x"])
            assert out.loc[(r, y)] == want
    assert len(out) == len(REGIONS) * (LAST - 2006 + 1)


def test_baseline_path_ignores_values_after_the_origin(panel):
    p = panel.loc[panel["year"] <= 2022]
    later = panel.loc[panel["year"] > 2022].assign(x=999.0)
    out = baseline_feature_path(pd.concat([p, later]), ["x"], origin_year=2022, until=2026)
    held = out.loc[out["year"] > 2022].merge(p.loc[p["year"] == 2022, ["region", "x"]], on="region")
    np.testing.assert_array_equal(held["x_x"], held["x_y"])


def test_relative_and_absolute_shifts_on_region_subsets(path):
    shifts = [shift("x", regions=["r01", "r02"], from_year=2026, to_year=2027, kind="relative", value=0.1),
              shift("w", regions="all", from_year=2027, kind="absolute", value=-1.0),
              shift("x", regions=["r02"], from_year=2027, kind="absolute", value=2.0)]
    out = apply_shifts(path, shifts, regions_all=REGIONS)
    for (r, y), row in path.set_index(["region", "year"]).iterrows():  # plain-loop oracle, in order
        x, w = row["x"], row["w"]
        if r in ("r01", "r02") and 2026 <= y <= 2027:
            x = x * 1.1
        if y >= 2027:
            w = w - 1.0
        if r == "r02" and y >= 2027:
            x = x + 2.0
        got = out.loc[(out["region"] == r) & (out["year"] == y)].iloc[0]
        assert got["x"] == pytest.approx(x, rel=1e-15) and got["w"] == pytest.approx(w, rel=1e-15)
    assert path["x"].notna().all()  # the input is not modified
    pd.testing.assert_frame_equal(path, baseline_feature_path(synthetic_panel(), ["x", "w"], origin_year=ORIGIN,
                                                              until=LAST))


def test_all_means_regions_all_not_the_national_row(path):
    nat = path.loc[path["region"] == "r00"].assign(region="kazakhstan").astype({"region": "string"})
    p = pd.concat([path, nat], ignore_index=True)
    out = apply_shifts(p, [shift(value=1.0)], regions_all=REGIONS)
    np.testing.assert_array_equal(out.loc[out["region"] == NAT, "x"], p.loc[p["region"] == NAT, "x"])


def test_unknown_feature_is_named_with_a_close_match(path):
    p = path.rename(columns={"x": "unemployment_rate_pct"})
    with pytest.raises(ScenarioError, match=r"shifts\[0\]: feature 'unemployment_rate' is not in the feature panel\. "
                                            r"Did you mean 'unemployment_rate_pct'\? Features: \["):
        apply_shifts(p, [shift("unemployment_rate")], regions_all=REGIONS)
    with pytest.raises(ScenarioError, match=r"feature 'wages' is not a column.*Features: \['x', 'w'\]"):
        baseline_feature_path(path, ["wages"], origin_year=ORIGIN, until=LAST)


def test_unknown_region_is_named(path):
    with pytest.raises(ScenarioError, match=r"shifts\[1\]: region 'r1' is not one of the scenario's regions\. "
                                            r"Did you mean .*Regions: \['r00'"):
        apply_shifts(path, [shift(), shift(regions=["r01", "r1"])], regions_all=REGIONS)
    with pytest.raises(ScenarioError, match=r"\['astana'\] given that the panel lacks"):
        apply_shifts(path, [shift()], regions_all=[*REGIONS, "astana"])


@pytest.mark.parametrize("bad, match", [
    ({"kind": "percent"}, r"kind='percent'; choose one of \['relative', 'absolute'\]"),
    ({"kind": "relative", "value": -1.0}, r"must be > -1, found -1.0"),
    ({"to_year": 2025}, r"to_year=2025 is before from_year=2026"),
    ({"regions": "north"}, r"regions='north'; give \"all\" or a list"),
    ({"years": 2026}, r"unknown key\(s\) \['years'\]"),
])
def test_malformed_shifts_are_named(path, bad, match):
    with pytest.raises(ScenarioError, match=match):
        apply_shifts(path, [shift() | bad], regions_all=REGIONS)


def test_paths_must_reach_the_lagged_years(model, path):
    short = path.loc[path["year"] <= 2027]
    with pytest.raises(ScenarioError, match=r"no feature row for \(region='r00', year=2028\).*year 2029"):
        scenario_effect(model, short, apply_shifts(short, [shift()], regions_all=REGIONS), years=YEARS,
                        n_draws=1000, seed=1)


def test_shifting_a_feature_the_model_does_not_use_warns(model, path, caplog):
    with caplog.at_level(logging.WARNING):
        eff = effect_of(model, path, [shift("w", value=3.0)], n_draws=1000)
    assert (eff["effect_point"] == 0).all()
    assert "shift(s) of ['w'] have no effect" in caplog.text


# -- persons, reconciliation, population, tables -----------------------------------------

def persons_effect(model, path, regions=("r01", "r02", "r03")) -> pd.DataFrame:
    eff = effect_of(model, path, [shift(regions=list(regions), value=2.0)])
    pop = pd.DataFrame([(r, y, 100_000.0 * (1 + i)) for i, r in enumerate(REGIONS) for y in YEARS],
                       columns=["region", "year", "population_avg"])
    return effect_in_persons(eff, pop)


def test_effect_in_persons_uses_the_average_population(model, path):
    eff = effect_of(model, path, [shift(regions=["r01"], value=2.0)])
    out = persons_effect(model, path, regions=("r01",)).set_index(["region", "year"])
    rate = eff.set_index(["region", "year"])
    for c in ("effect_point", "effect_lower_95", "effect_upper_95"):
        np.testing.assert_allclose(out.loc[("r01", 2028), c], rate.loc[("r01", 2028), c] * 200_000 / 1000, rtol=1e-12)
    assert (out["unit"] == "persons").all()
    with pytest.raises(ValueError, match=r"cannot tell the rate base of target 'y'; pass per=1000"):
        effect_in_persons(eff.assign(target="y"), pd.DataFrame({"region": ["r01"], "year": [2028],
                                                                 "population_avg": [1.0]}))


def test_reconciled_scenario_adds_up_and_keeps_the_effect(model, path):
    eff = persons_effect(model, path)
    base = baseline_forecast(sd=50.0, offset=300.0)        # national row 300 off the regional sum
    scen = scenario_forecast(base, eff, name="north", seed=2)
    rec, report = reconcile_scenario(scen, method="ols")
    for (y, lv), g in rec.groupby(["year", "level"]):
        regional = g.loc[g["region"] != NAT, "point"].sum()
        assert regional == pytest.approx(float(g.loc[g["region"] == NAT, "point"].iloc[0]), rel=1e-12)
    assert report["incoherence_reconciled"].max() < 1e-8 and (report["scenario"] == "north").all()
    # reconciled scenario = reconciled baseline + the model's effect (the projection leaves a coherent change alone)
    base_rec, _ = reconcile(base, method="ols")
    got = rec.set_index(["region", "year", "level"])["point"]
    want = base_rec.set_index(["region", "year", "level"])["point"]
    e = eff.set_index(["region", "year"])["effect_point"]
    nat_e = e.groupby(level="year").sum()
    add = [nat_e[y] if r == NAT else e[(r, y)] for r, y, _ in got.index]
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy() + add, rtol=1e-10)
    # with a coherent baseline the reconciliation moves nothing
    rec2, _ = reconcile_scenario(scenario_forecast(base_rec, eff, seed=2))
    np.testing.assert_allclose(rec2["reconciliation_adjustment"], 0.0, atol=1e-8)


def test_national_effect_is_the_sum_of_regional_draws(model, path):
    eff = persons_effect(model, path)
    scen = scenario_forecast(baseline_forecast(sd=50.0), eff, seed=2)
    nat = scen.loc[(scen["region"] == NAT) & (scen["year"] == 2028) & (scen["level"] == 0.95)].iloc[0]
    total = np.sum([d for d, y in zip(eff["draws"], eff["year"]) if y == 2028], axis=0)
    assert nat["effect_point"] == pytest.approx(eff.loc[eff["year"] == 2028, "effect_point"].sum(), rel=1e-12)
    np.testing.assert_allclose([nat["effect_lower_95"], nat["effect_upper_95"]],
                               np.quantile(total, [0.025, 0.975]), rtol=1e-12)


class ConstantRate(BaseEstimator):
    """Natural increase at a constant 10 per 1,000 with no error (a hand-checkable stub)."""

    def fit(self, panel):
        self.regions_ = tuple(sorted(panel["region"].unique()))
        self.params_ = pd.DataFrame({"region": self.regions_, "origin_year": int(panel["year"].max())})
        return self

    def predict(self, h, levels=(0.8,)):
        rows = [("ni", r, o, o + k, 10.0, 10.0, 10.0, lv) for r, o in zip(self.regions_, self.params_["origin_year"])
                for k in range(1, h + 1) for lv in levels]
        cols = ["model", "region", "origin_year", "year", "point", "lower", "upper", "level"]
        return pd.DataFrame(rows, columns=cols)


def test_population_follows_through_the_balancing_equation(model, path):
    base = baseline_forecast(sd=50.0, offset=0.0)
    pop_panel = pd.DataFrame([(r, y, 100_000.0 * (1 + i), 1_000.0, 0.0) for i, r in enumerate([*REGIONS, NAT])
                              for y in range(2015, ORIGIN + 2)],
                             columns=["region", "year", "population", "natural_increase", "net_migration"])
    pop_panel = pop_panel.astype({"region": "string", "year": "int64"})
    base_pop = project_population(pop_panel, base, natural_increase=ConstantRate())
    avg = average_population(base_pop)
    eff = effect_in_persons(effect_of(model, path, [shift(regions=["r01"], value=2.0)]), avg)
    scen = scenario_forecast(base, eff, name="s", seed=4)
    pops = scenario_population(pop_panel, scen, natural_increase=ConstantRate())
    assert (pops["scenario"] == "s").all()
    s = pops.loc[pops["level"] == 0.95].set_index(["region", "year"])["point"]
    b = base_pop.loc[base_pop["level"] == 0.95].set_index(["region", "year"])["point"]
    e = eff.set_index(["region", "year"])["effect_point"]
    gap = 0.0  # by hand: D_{t+1} = D_t (1 + 10/1000) + effect_t
    for y in YEARS:
        gap = gap * 1.01 + e[("r01", y)]
        assert s[("r01", y + 1)] - b[("r01", y + 1)] == pytest.approx(gap, rel=1e-9)
    np.testing.assert_allclose(s.loc["r00"].to_numpy(), b.loc["r00"].to_numpy(), rtol=1e-12)


def test_scenario_table_puts_scenarios_beside_the_baseline(model, path):
    base = baseline_forecast()
    a = scenario_forecast(base, effect_of(model, path, [shift(value=1.0)], n_draws=2000), name="up", seed=1)
    z = scenario_forecast(base, effect_of(model, path, [shift(value=0.0)], n_draws=2000), name="flat", seed=1)
    tab = scenario_table(base, pd.concat([a, z]))
    assert len(tab) == len(base)
    assert {"baseline_point", "up_point", "up_lower", "up_upper", "up_change", "flat_change"} <= set(tab.columns)
    m = tab.merge(a[["region", "year", "level", "effect_point"]], on=["region", "year", "level"])
    np.testing.assert_allclose(m["up_change"], m["effect_point"], rtol=1e-9, atol=1e-12)
    assert (tab["flat_change"] == 0).all()
    pd.testing.assert_frame_equal(tab, scenario_table(base, {"up": a, "flat": z}))


def test_between_regions_sums_to_zero_each_year_and_draw():
    """Hand-built effect (SYNTHETIC): two regions, one year; weights 3:1."""
    from kzmig.forecast.planning.scenario import between_regions

    eff = pd.DataFrame({"region": ["a", "b"], "year": [2027, 2027], "unit": "persons",
                        "population_avg": [300.0, 100.0], "effect_point": [40.0, 0.0],
                        "draws": [np.array([30.0, 50.0]), np.array([0.0, 0.0])]})
    out = between_regions(eff, levels=(0.8,))
    # a keeps 40 - 0.75 * 40 = 10, b gets -0.25 * 40 = -10
    np.testing.assert_allclose(out["effect_point"], [10.0, -10.0])
    np.testing.assert_allclose(np.vstack(out["draws"]).sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out["draws"].iloc[0], [7.5, 12.5])
