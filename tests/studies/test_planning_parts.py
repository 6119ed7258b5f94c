"""Planning checks of a run, on hand-built forecast and accuracy tables (SYNTHETIC numbers)."""
from __future__ import annotations

import pandas as pd
from kzmig.studies.planning import coverage_caveats, national_consistency


def _rows(target, points, region="kazakhstan", model="m"):
    return [{"target": target, "model": model, "region": region, "year": y, "point": v, "level": lv,
             "selected": True} for y, v in points.items() for lv in (0.8, 0.95)]


def test_national_consistency_compares_net_with_arrivals_minus_departures():
    fc = pd.DataFrame(_rows("net_migration", {2026: 100.0, 2027: -50.0})
                      + _rows("external_arrivals", {2026: 700.0, 2027: 650.0})
                      + _rows("external_departures", {2026: 400.0, 2027: 500.0})
                      + _rows("net_migration", {2026: 9.0}, region="astana"))
    out = national_consistency(fc).set_index("year")
    assert out.loc[2026, "arrivals_minus_departures"] == 300.0 and out.loc[2026, "difference"] == -200.0
    assert out.loc[2027, "arrivals_minus_departures"] == 150.0 and out.loc[2027, "difference"] == -200.0
    assert national_consistency(fc.loc[fc["target"] != "external_arrivals"]).empty  # nothing to compare


def test_coverage_caveat_only_below_the_threshold():
    targets = pd.DataFrame({"target": ["a", "b"], "model": ["x", "y"]})
    acc = pd.DataFrame({"target": ["a", "a", "b", "b", "b"], "model": ["x", "x", "y", "y", "z"],
                        "region": ["all_series", "all_series", "all_regions", "all_regions", "all_regions"],
                        "horizon": [1, 2, 1, 2, 1], "coverage_80": [0.2, 0.4, 0.7, 0.9, 0.0]})
    out = coverage_caveats(targets, acc)
    assert set(out) == {"a"} and "only 30% of outcomes" in out["a"]  # (0.2 + 0.4) / 2; b's selected y is fine
    assert coverage_caveats(targets, acc.assign(coverage_80=0.95)) == {}


def test_horizon_zero_rows_are_not_averaged():
    targets = pd.DataFrame({"target": ["a"], "model": ["x"]})
    acc = pd.DataFrame({"target": ["a", "a"], "model": ["x", "x"], "region": ["all_series", "all_series"],
                        "horizon": [0, 1], "coverage_80": [0.0, 0.9]})
    assert coverage_caveats(targets, acc) == {}  # the per-region summary row (horizon 0) is left out
