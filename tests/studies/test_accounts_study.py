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
    assert set(tables) == {"consistency", "forecasts_coherent"} and tables["consistency"]["holds"].all()
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
