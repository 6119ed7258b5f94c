"""The run-level account: coherent tables from a synthetic run whose forecasts contradict each other."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.planning.accounts import (ARRIVALS, ARRIVALS_CIS, ARRIVALS_NON_CIS, DEPARTURES, DEPARTURES_CIS,
                                     DEPARTURES_NON_CIS, NET, RATE)
from kzmig.studies.accounts import coherent_forecasts

NAT = "kazakhstan"
REGIONS = ["a", "b", "c"]
YEARS = [2025, 2026, 2027]


def _run(seed=0):
    rng = np.random.default_rng(seed)
    rows, pop = [], []
    p0 = {"a": 1.2e6, "b": 8e5, "c": 2.5e6}
    for r in REGIONS:
        p = p0[r]
        for y in YEARS:
            n = rng.uniform(5e3, 3e4)
            pop.append(("m_pop", r, y, p, n))
            p += n
            rows.append(("population", "m_pop", r, 2024, y + 1, p, p - 1e4, p + 1e4, 0.8, True))
            rate = rng.normal(0, 6)
            for t, x, half in ((RATE, rate, 2.0), (NET, rng.normal(0, 5000), 3000.0)):
                for lv, k in ((0.8, 1.0), (0.95, 1.5)):
                    rows.append((t, "m", r, 2024, y, x, x - k * half, x + k * half, lv, True))
    for y in YEARS:
        nat = rng.normal(-5000, 3000)
        flows = {ARRIVALS: 30000 + rng.normal(0, 2000), DEPARTURES: 20000 + rng.normal(0, 2000),
                 ARRIVALS_CIS: 20000.0, ARRIVALS_NON_CIS: 9000.0, DEPARTURES_CIS: 15000.0, DEPARTURES_NON_CIS: 4000.0}
        rows.append((NET, "m", NAT, 2024, y, nat, nat - 9000, nat + 9000, 0.8, True))
        if y > YEARS[0]:
            rows += [(t, "e", NAT, 2025, y, v, v * 0.8, v * 1.2, 0.8, True) for t, v in flows.items()]
    fc = pd.DataFrame(rows, columns=["target", "model", "region", "origin_year", "year", "point", "lower", "upper",
                                     "level", "selected"])
    fc = pd.concat([fc, fc.assign(model="other", selected=False, point=fc["point"] + 1e4)], ignore_index=True)
    popt = pd.DataFrame(pop, columns=["model", "region", "flow_year", "population_start", "natural_increase"])
    hist = pd.DataFrame({"region": [NAT], "year": [2025], ARRIVALS: [31000.0], DEPARTURES: [24000.0],
                         ARRIVALS_CIS: [21000.0], ARRIVALS_NON_CIS: [10000.0], DEPARTURES_CIS: [18000.0],
                         DEPARTURES_NON_CIS: [6000.0]})
    return fc, popt, hist


def test_every_identity_holds_and_views_agree():
    fc, popt, hist = _run()
    res = coherent_forecasts(fc, popt, hist)
    c = res.consistency
    assert c["holds"].all(), c.loc[~c["holds"]]
    assert {"regions_sum_to_national", "national_is_arrivals_minus_departures", "arrivals_are_cis_plus_non_cis",
            "departures_are_cis_plus_non_cis", "natural_increase_regions_sum_to_national", "population_balance",
            "rate_from_persons", "persons_from_rate"} <= set(c["identity"])
    out = res.forecasts.loc[res.forecasts["selected"]]
    pts = out.drop_duplicates(["target", "region", "year"]).pivot_table(index=["region", "year"], columns="target",
                                                                         values="point")
    # independent check: a plain loop over the output rows, population from the published start
    for r in REGIONS:
        p = popt.loc[(popt.region == r) & (popt.flow_year == 2025), "population_start"].item()
        for y in YEARS:
            n = popt.loc[(popt.region == r) & (popt.flow_year == y), "natural_increase"].item()
            m, rate = pts.loc[(r, y), NET], pts.loc[(r, y), RATE]
            p1 = p + n + m
            assert m == pytest.approx(rate * (p + p1) / 2 / 1000, abs=1e-6)
            assert pts.loc[(r, y + 1), "population"] == pytest.approx(p1, rel=1e-12)
            p = p1
    for y in YEARS:
        nat = pts.loc[(NAT, y), NET]
        assert nat == pytest.approx(sum(pts.loc[(r, y), NET] for r in REGIONS), abs=1e-6)
    # observed flows of 2025 stay as published and pin the national balance
    assert pts.loc[(NAT, 2025), NET] == pytest.approx(31000 - 24000, abs=1e-6)
    for y in YEARS[1:]:
        assert pts.loc[(NAT, y), NET] == pytest.approx(pts.loc[(NAT, y), ARRIVALS] - pts.loc[(NAT, y), DEPARTURES])
    # unselected models are untouched, bounds still bracket the points
    assert (res.forecasts.loc[~res.forecasts["selected"]].reset_index(drop=True)
            .equals(fc.loc[~fc["selected"]].reset_index(drop=True)))
    ok = out["level"].notna()
    assert ((out.loc[ok, "lower"] <= out.loc[ok, "point"] + 1e-9) & (out.loc[ok, "point"] <= out.loc[ok, "upper"]
                                                                      + 1e-9)).all()


def test_rate_bounds_are_persons_bounds_mapped():
    fc, popt, hist = _run(1)
    res = coherent_forecasts(fc, popt, hist)
    out = res.forecasts.loc[res.forecasts["selected"] & (res.forecasts["region"] == "b")]
    views = res.regional.set_index(["region", "year"])
    for y in YEARS:
        v = views.loc[("b", y)]
        per = out.loc[(out.target == NET) & (out.year == y) & (out.level == 0.8)].iloc[0]
        rat = out.loc[(out.target == RATE) & (out.year == y) & (out.level == 0.8)].iloc[0]
        for c in ("lower", "upper"):
            assert rat[c] == pytest.approx(1000 * per[c] / ((2 * v.population_start + v.natural_increase
                                                             + per[c]) / 2), rel=1e-12)


def test_a_missing_flow_is_named_not_dropped():
    fc, popt, hist = _run(2)
    fc = fc.loc[fc["target"] != DEPARTURES_NON_CIS]
    hist = hist.drop(columns=[DEPARTURES_NON_CIS])
    res = coherent_forecasts(fc, popt, hist)
    assert any("departures_are_cis_plus_non_cis" in n and DEPARTURES_NON_CIS in n for n in res.notes)
    assert res.consistency["holds"].all()


def test_run_hook_returns_tables_or_says_why_not():
    from kzmig.studies.accounts import run_account
    from kzmig.studies.base import StudyResult

    fc, popt, hist = _run(3)
    parts = {"forecast/net_migration": StudyResult(study="forecast", name="x", tables={"population_forecasts": popt})}
    out, tables, notes = run_account(parts, fc, hist)
    assert {"consistency", "forecasts_coherent", "account_weights", "account_regional"} <= set(tables)
    assert tables["consistency"]["holds"].all()
    # no backtest in these parts: WLS has no variances, the run says so and reconciles by OLS
    assert any("WLS reconciliation was not possible" in n for n in notes)
    assert tables["forecasts_coherent"]["selected"].all()
    assert not out.equals(fc)
    same, none, why = run_account(parts, fc.loc[fc["target"] != RATE], hist)
    assert none == {} and same.equals(fc.loc[fc["target"] != RATE]) and "not reconciled" in why[0]


def test_coherent_input_comes_back_unchanged_with_persons_from_the_rate():
    """A run whose only incoherence is the persons model: the account derives persons from the rate
    (independent loop here), which already add up, so the rate is returned as forecast."""
    fc, popt, hist = _run(4)
    sel = fc["selected"]
    persons = {}
    for r in REGIONS:
        p = popt.loc[(popt.region == r) & (popt.flow_year == YEARS[0]), "population_start"].item()
        for y in YEARS:
            n = popt.loc[(popt.region == r) & (popt.flow_year == y), "natural_increase"].item()
            m = fc.loc[sel & (fc.target == RATE) & (fc.region == r) & (fc.year == y), "point"].iloc[0]
            x = m * (2 * p + n) / (2000 - m)  # M = m (P + P + N + M) / 2000, solved for M
            persons[(r, y)] = x
            p = p + n + x
    for y in YEARS:
        nat = sum(persons[(r, y)] for r in REGIONS)
        fc.loc[sel & (fc.target == NET) & (fc.region == NAT) & (fc.year == y), "point"] = nat
        if y == YEARS[0]:
            continue
        flows = {ARRIVALS: 40000.0 + nat, DEPARTURES: 40000.0, ARRIVALS_CIS: 25000.0,
                 ARRIVALS_NON_CIS: 15000.0 + nat, DEPARTURES_CIS: 30000.0, DEPARTURES_NON_CIS: 10000.0}
        for t, v in flows.items():
            fc.loc[sel & (fc.target == t) & (fc.year == y), "point"] = v
    hist = None  # no observed year: 2025 has no flows at all, its flow identities are reported as skipped
    res = coherent_forecasts(fc, popt, hist)
    out = res.forecasts.loc[res.forecasts["selected"]]
    for r in REGIONS:
        for y in YEARS:
            got = out.loc[(out.target == NET) & (out.region == r) & (out.year == y), "point"].iloc[0]
            rate_in = fc.loc[sel & (fc.target == RATE) & (fc.region == r) & (fc.year == y), "point"].iloc[0]
            rate_out = out.loc[(out.target == RATE) & (out.region == r) & (out.year == y), "point"].iloc[0]
            assert got == pytest.approx(persons[(r, y)], abs=1e-6)
            assert rate_out == pytest.approx(rate_in, abs=1e-9)
    assert any("national_is_arrivals_minus_departures" in n for n in res.notes)


def test_wls_moves_each_series_by_its_share_of_the_variance():
    """One identity, national = arrivals - departures, gap d: WLS moves each series by
    v_i d / sum(v) (closed form of the projection with a single constraint row)."""
    import math

    from kzmig.forecast.planning.accounts import reconcile_account

    frame = pd.DataFrame({"variable": [NET, ARRIVALS, DEPARTURES], "region": NAT, "year": 2030,
                          "point": [-5000.0, 18000.0, 6000.0]})
    v = pd.Series({(NET, NAT): 9e6, (ARRIVALS, NAT): 4e6, (DEPARTURES, NAT): 1e6})
    out = reconcile_account(frame, method="wls", by=("year",), variances=v).reconciled.set_index("variable")["point"]
    d = -5000.0 - (18000.0 - 6000.0)
    total = 14e6
    assert out[NET] == pytest.approx(-5000 - 9e6 * d / total)
    assert out[ARRIVALS] == pytest.approx(18000 + 4e6 * d / total)
    assert out[DEPARTURES] == pytest.approx(6000 - 1e6 * d / total)
    assert math.isclose(out[NET], out[ARRIVALS] - out[DEPARTURES], abs_tol=1e-6)
    # the least variable series moves least; a missing variance is an error, not a silent OLS
    assert abs(out[DEPARTURES] - 6000) < abs(out[ARRIVALS] - 18000) < abs(out[NET] + 5000)
    with pytest.raises(ValueError, match="variance"):
        reconcile_account(frame, method="wls", by=("year",), variances=v.drop((DEPARTURES, NAT)))


def test_backtest_variances_by_hand():
    from kzmig.studies.accounts import backtest_variances

    rows = [  # target, model, region, origin, year, point, actual, is_break
        (NET, "m", NAT, 2020, 2021, 0.0, 100.0, False), (NET, "m", NAT, 2020, 2022, 0.0, -300.0, False),
        (NET, "m", NAT, 2021, 2022, 0.0, 5000.0, True),  # a break year: left out
        (NET, "other", NAT, 2020, 2021, 0.0, 1e6, False),  # not the selected model
        (RATE, "r", "a", 2020, 2021, 1.0, 3.0, False), (RATE, "r", "a", 2020, 2022, 1.0, 0.0, False),
        (ARRIVALS, "e", NAT, 2020, 2021, 10.0, 13.0, False), (ARRIVALS, "e", NAT, 2020, 2022, 10.0, 6.0, False),
    ]
    bt = pd.DataFrame(rows, columns=["target", "model", "region", "origin_year", "year", "point", "actual",
                                     "is_break"])
    fc = pd.DataFrame({"target": [NET, RATE, ARRIVALS], "model": ["m", "r", "e"], "selected": True})
    pop = pd.DataFrame({"region": ["a"], "flow_year": [2025], "population_start": [2e6], "natural_increase": [2e4]})
    v = backtest_variances(bt, fc, pop, min_errors=2).set_index(["variable", "region"])
    assert v.loc[(NET, NAT), "variance"] == pytest.approx((100 ** 2 + 300 ** 2) / 2)
    assert v.loc[(ARRIVALS, NAT), "variance"] == pytest.approx((3 ** 2 + 4 ** 2) / 2)
    scale = (2e6 + 1e4) / 1000  # mean population of the first forecast year / 1,000
    assert v.loc[(NET, "a"), "variance"] == pytest.approx(((2 * scale) ** 2 + scale ** 2) / 2)
    assert v.loc[(NET, "a"), "n"] == 2


def test_interval_calibration_matches_the_conformal_quantile():
    """Intervals half as wide as they should be: the factor is the ceil((n+1) 0.8)-th smallest scaled
    error (computed here by hand) and the calibrated interval covers about 80 % leaving each origin out."""
    from kzmig.studies.accounts import calibrate_intervals, interval_coverage

    rng = np.random.default_rng(5)
    origins, regions = range(2010, 2020), [f"r{i}" for i in range(8)]
    rows = []
    for o in origins:
        for r in regions:
            for h in (1, 2):
                e = rng.normal(0, 100)
                rows.append((RATE, "m", r, o, o + h, 0.0, e, -64.0, 64.0, 0.8, False))
    bt = pd.DataFrame(rows, columns=["target", "model", "region", "origin_year", "year", "point", "actual", "lower",
                                     "upper", "level", "is_break"])
    fc = pd.DataFrame({"target": [RATE], "model": ["m"], "region": ["r0"], "origin_year": [2024], "year": [2025],
                       "point": [10.0], "lower": [0.0], "upper": [30.0], "level": [0.8], "selected": [True]})
    cov = interval_coverage(bt, {RATE: "m"})
    r = cov.iloc[0]
    scores = np.sort(np.abs(bt["actual"].to_numpy()) / 64.0)
    k = scores[int(np.ceil((len(scores) + 1) * 0.8)) - 1]
    assert r["status"] == "calibrated" and r["cells"] == 160
    assert r["coverage"] == pytest.approx((np.abs(bt["actual"]) <= 64).mean())
    assert r["factor"] == pytest.approx(k)
    assert 0.72 < r["coverage_calibrated"] < 0.88
    out = calibrate_intervals(fc, cov).iloc[0]  # a rate: its lower bound may go below zero
    assert out["lower"] == pytest.approx(10 - k * 10) and out["upper"] == pytest.approx(10 + k * 20)
    few = interval_coverage(bt.loc[bt["origin_year"] < 2011], {RATE: "m"})
    assert few["status"].iloc[0] == "uncalibrated"
