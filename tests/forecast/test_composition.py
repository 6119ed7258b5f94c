"""Specialist departures: forecast total x composition share (hand-worked), and the direct path.

Every table built here is SYNTHETIC unless it is the shipped dataset (``load_long()``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from scipy.stats import norm

from kzmig.features.data.dataset import load_long
from kzmig.forecast.planning.composition import composition_forecast, specialist_forecast
from kzmig.forecast.planning.shares import share_distribution
from kzmig.models.forecasters.baselines import Drift, Naive
from kzmig.models.forecasters.schema import validate_forecast

POINT, LO95, HI95 = 20_000.0, 16_000.0, 26_000.0
SD_LO, SD_HI = (POINT - LO95) / norm.ppf(0.975), (HI95 - POINT) / norm.ppf(0.975)


def departures_forecast(years=(2025,)) -> pd.DataFrame:
    """SYNTHETIC national departures forecast: point 20,000, 95 % [16,000, 26,000] (a split normal;
    the 80 % bounds are its quantiles, so both levels imply the same two scales)."""
    rows = []
    for y in years:
        for lv in (0.8, 0.95):
            z = norm.ppf((1 + lv) / 2)
            rows.append({"model": "given", "region": "kazakhstan", "origin_year": 2024, "year": y, "point": POINT,
                         "lower": POINT - z * SD_LO, "upper": POINT + z * SD_HI, "level": lv})
    return pd.DataFrame(rows).astype({"model": "string", "region": "string"})


def synthetic_long() -> pd.DataFrame:
    """SYNTHETIC composition: medical observed once (2020: 10 %), legal twice (2020: 10 %, 2021: 12 %)."""
    rows = [(2020, "external_departures", 1000.0, ""), (2021, "external_departures", 1000.0, ""),
            (2020, "external_departures_specialty_medical", 100.0, "secondary:press"),
            (2020, "external_departures_specialty_legal", 100.0, "cited"),
            (2021, "external_departures_specialty_legal", 120.0, "cited")]
    df = pd.DataFrame(rows, columns=["year", "variable", "value", "flag"]).assign(region="kazakhstan")
    return df.astype({"region": "string", "year": "int64", "flag": "string"})


def hand_two_year_sd() -> float:
    return abs(logit(0.12) - logit(0.10)) / np.sqrt(2) * np.sqrt(1 + 1 / 2)


@pytest.fixture(scope="module")
def comp():
    return composition_forecast(departures_forecast(), synthetic_long(), seed=7).set_index(["target", "level"])


def test_point_is_the_product_and_the_share_rule_is_as_documented(comp):
    med = comp.loc[("external_departures_specialty_medical", 0.95)]
    legal = comp.loc[("external_departures_specialty_legal", 0.95)]
    assert med["point"] == POINT * 0.10 and legal["point"] == pytest.approx(POINT * 0.11, rel=1e-15)
    assert legal["share_sd_logit"] == pytest.approx(hand_two_year_sd(), rel=1e-12)  # 0.177 > floor 0.15
    assert med["share_sd_logit"] == 0.30  # single year: the widest multi-year spread (0.177), at least 0.30
    assert (med["n_share_years"], med["share_years"]) == (1, "2020")
    assert (legal["n_share_years"], legal["share_years"]) == (2, "2020, 2021")
    assert set(comp["method"]) == {"composition"}
    assert med["caveat"].startswith("composition-based estimate: forecast external departures x share observed in 2020")
    assert "secondary:press" in med["caveat"] and "secondary:press" not in legal["caveat"]
    validate_forecast(comp.reset_index().loc[lambda d: d["target"].str.endswith("legal")])


@pytest.mark.parametrize("target, share, sd", [("external_departures_specialty_medical", 0.10, 0.30),
                                               ("external_departures_specialty_legal", 0.11, None)])
def test_interval_inside_the_union_bound_bracket_and_wider_than_departures_alone(comp, target, share, sd):
    """Documented check (forecast/planning/shares.py): the level-L interval lies inside the product of the
    two level-L' bounds, L' = 1 - (1 - L)/2; and the share's uncertainty widens it beyond
    share x the departures interval."""
    sd = hand_two_year_sd() if sd is None else sd
    for level in (0.8, 0.95):
        row = comp.loc[(target, level)]
        z2 = norm.ppf(1 - (1 - level) / 4)  # quantile of the level-L' central interval
        bracket = ((POINT - z2 * SD_LO) * expit(logit(share) - z2 * sd), (POINT + z2 * SD_HI) * expit(logit(share) + z2 * sd))
        assert bracket[0] < row["lower"] < row["point"] < row["upper"] < bracket[1]
        z = norm.ppf((1 + level) / 2)
        assert row["lower"] < share * (POINT - z * SD_LO) and row["upper"] > share * (POINT + z * SD_HI)


def test_single_year_share_is_widened(comp):
    width = {t: (comp.loc[(t, 0.95), "upper"] - comp.loc[(t, 0.95), "lower"]) / comp.loc[(t, 0.95), "point"]
             for t in ("external_departures_specialty_medical", "external_departures_specialty_legal")}
    assert width["external_departures_specialty_medical"] > width["external_departures_specialty_legal"]


def test_reproducible_with_the_seed():
    a = composition_forecast(departures_forecast(), synthetic_long(), seed=7)
    b = composition_forecast(departures_forecast(), synthetic_long(), seed=7)
    c = composition_forecast(departures_forecast(), synthetic_long(), seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["lower"], c["lower"])
    np.testing.assert_allclose(a["lower"], c["lower"], rtol=0.02)  # Monte Carlo error of 20,000 draws


def test_without_share_uncertainty_the_bounds_are_the_stored_ones():
    """floor 0 and a single-year spread 0: the share is fixed, so the simulated bounds are the
    split normal's quantiles, i.e. share x the stored bounds (to the Monte Carlo error)."""
    out = composition_forecast(departures_forecast(), synthetic_long(), floor_sd=0.0, single_year_sd=0.0,
                               categories=["medical"], seed=3)
    stored = departures_forecast().set_index("level")
    for r in out.itertuples(index=False):
        assert r.lower == pytest.approx(0.10 * stored.loc[r.level, "lower"], rel=0.01)
        assert r.upper == pytest.approx(0.10 * stored.loc[r.level, "upper"], rel=0.01)


def test_shipped_composition_years_and_flags():
    long = load_long()
    spec = composition_forecast(departures_forecast(), long).drop_duplicates("target").set_index("target")
    assert spec.loc["external_departures_specialty_technical", "share_years"] == "2017, 2022, 2023 Jan-Sep"
    assert spec.loc["external_departures_specialty_pedagogical", "share_years"] == "2017, 2022"
    assert spec.loc["external_departures_specialty_medical", "share_years"] == "2022"
    assert "secondary:press" in spec.loc["external_departures_specialty_technical", "share_flags"]
    assert "SECONDARY" in spec.loc["external_departures_specialty_technical", "caveat"]
    edu = composition_forecast(departures_forecast(), long, dimension="education").drop_duplicates("target")
    assert set(edu["share_years"]) == {"2022 Jan-Jun"} and len(edu) == 4
    assert (edu["share"] == [964 / 12344, 2013 / 12344, 3340 / 12344, 3091 / 12344]).all()  # sorted by category


def synthetic_user() -> pd.DataFrame:
    """SYNTHETIC user table: medical departures 2010-2024 on an exact line (500 + 10 per year);
    legal only 2023-2024 (too short)."""
    years = np.arange(2010, 2025)
    rows = [("kazakhstan", int(y), "external_departures_specialty_medical", 500.0 + 10.0 * (y - 2010)) for y in years]
    rows += [("kazakhstan", 2023, "external_departures_specialty_legal", 300.0),
             ("kazakhstan", 2024, "external_departures_specialty_legal", 330.0),
             ("kazakhstan", 2023, "external_departures", 10_000.0), ("kazakhstan", 2024, "external_departures", 11_000.0)]
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value"]).astype({"region": "string", "year": "int64"})


def test_direct_path_and_fallback():
    long = synthetic_long()
    models = {"naive": Naive(), "drift": Drift()}
    fc, report = specialist_forecast(departures_forecast((2025, 2026)), long, synthetic_user(), models=models)
    rep = report.set_index("category")
    assert rep.loc["medical", "method"] == "direct" and rep.loc["medical", "selected_model"] == "drift"
    assert rep.loc["medical", "required"] == 3 + 3  # drift's min_length 3 + 3 origins - 1 + horizon 1
    assert rep.loc["legal", "method"] == "composition" and rep.loc["legal", "n_years"] == 2
    assert "2 years (2023-2024); needs 6" in rep.loc["legal", "reason"]
    assert rep.loc["technical", "method"] == "none"  # no share observed anywhere: nothing invented
    med = fc[fc["target"] == "external_departures_specialty_medical"]
    assert set(med["method"]) == {"direct"} and set(med["model"]) == {"naive", "drift"}
    drift = med[(med["model"] == "drift") & (med["level"] == 0.95)].set_index("year")
    assert drift.loc[2025, "point"] == pytest.approx(650.0) and drift.loc[2026, "point"] == pytest.approx(660.0)
    assert med.groupby(["year", "level"])["selected"].sum().eq(1).all()
    # legal falls back to the composition, its two user years joining the shipped-style share of 2020
    legal = fc[fc["target"] == "external_departures_specialty_legal"]
    assert set(legal["method"]) == {"composition"} and set(legal["share_years"]) == {"2020, 2021, 2023, 2024"}
    assert legal["share"].iloc[0] == pytest.approx(np.mean([0.10, 0.12, 0.03, 0.03]))
    assert "technical" not in set(fc["target"].str.rsplit("_", n=1).str[-1])


def test_min_years_below_what_the_backtest_needs_raises():
    with pytest.raises(ValueError, match="min_years=3 is below the 6"):
        specialist_forecast(departures_forecast(), synthetic_long(), synthetic_user(),
                            models={"naive": Naive(), "drift": Drift()}, min_years=3)


def test_share_outside_unit_interval_is_named():
    bad = pd.DataFrame({"category": ["x"], "year": [2020], "share": [1.0]})
    with pytest.raises(ValueError, match=r"category='x' in year 2020"):
        share_distribution(bad)


def test_min_years_above_the_threshold_sends_a_series_back_to_the_composition():
    fc, report = specialist_forecast(departures_forecast(), synthetic_long(), synthetic_user(),
                                     models={"naive": Naive(), "drift": Drift()}, min_years=20)
    med = report.set_index("category").loc["medical"]
    assert med["method"] == "composition" and med["reason"] == "too short: 15 consecutive years 2010-2024, min_years=20"
    assert set(fc.loc[fc["target"] == "external_departures_specialty_medical", "method"]) == {"composition"}
