"""The brief's facts and the data statements, on hand-worked SYNTHETIC tables and the shipped dataset."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kzmig.reporting.brief import brief_sentences, coverage_statements
from kzmig.reporting.i18n import using
from kzmig.studies.base import StudyResult
from kzmig.studies.brief import TOP_REGIONS, brief_table, factor_table, spans_zero
from kzmig.studies.planning import data_coverage

REGIONS = ("astana", "almaty_city", "shymkent", "akmola", "kostanay", "pavlodar", "north_kazakhstan", "turkestan")


def _forecasts() -> pd.DataFrame:
    """Net migration of eight regions in 2025-2027, each region a constant path (points are hand-set)."""
    level = {"astana": 30000, "almaty_city": 20000, "shymkent": 5000, "akmola": 100, "kostanay": -3000,
             "pavlodar": -4000, "north_kazakhstan": -6000, "turkestan": -8000}
    rows = []
    for region, v in level.items():
        for year in (2025, 2026, 2027):
            for lv, half in ((0.8, 1000.0), (0.95, 2000.0)):
                rows.append({"target": "net_migration", "model": "m", "region": region, "origin_year": 2024,
                             "year": year, "point": float(v + (year - 2025) * 10), "lower": v - half,
                             "upper": v + half, "level": lv, "selected": True})
    for target, v in (("net_migration", 5000.0), ("external_arrivals", 20000.0), ("external_departures", 15000.0),
                      ("population", 20_500_000.0)):
        for year in (2025, 2026, 2027):
            for lv, half in ((0.8, 3000.0), (0.95, 6000.0)):
                rows.append({"target": target, "model": "m", "region": "kazakhstan", "origin_year": 2024, "year": year,
                             "point": v, "lower": v - half, "upper": v + half, "level": lv, "selected": True})
    return pd.DataFrame(rows)


def _parts() -> dict:
    eff = pd.DataFrame({"scenario": ["north", "north", "north"], "region": ["pavlodar", "kostanay", "astana"],
                        "year": [2027, 2027, 2027], "effect_point": [-1078.0, -1034.0, 500.0],
                        "effect_lower_95": [-2400.0, -2300.0, 100.0], "effect_upper_95": [250.0, 240.0, 900.0]})
    coef = pd.DataFrame({"target": ["y"] * 3, "model": ["fe"] * 3, "requested_cov": ["clustered"] * 3,
                         "term": ["income_rel_national_pct_lag1", "unemployment_rate_pct_lag1", "const"],
                         "estimate": [-0.155, -0.5, 1.0], "std_error": [0.1, 0.1, 0.1]})
    boot = pd.DataFrame({"target": ["y"], "model": ["fe"], "term": ["income_rel_national_pct_lag1"],
                         "conf_low": [-0.35], "conf_high": [0.04]})
    feas = pd.DataFrame({"indicator": ["foreign_students_bns"], "year": [2029], "target": [150000.0],
                         "direction": ["at_least"], "latest": [30000.0], "latest_t": [2024.9],
                         "probability": [np.nan], "probability_lower": [np.nan], "probability_upper": [np.nan],
                         "verdict": ["needs faster growth than ever observed"],
                         "no_probability_reason": ["too few points to say: 2 published point(s) of this definition"]})
    return {"scenarios": StudyResult(study="scenarios", name="t", tables={"scenario_effects": eff}),
            "regression": StudyResult(study="regress", name="t", tables={"coefficients": coef, "wild_bootstrap": boot}),
            "targets": StudyResult(study="targets", name="t", tables={"feasibility": feas})}


@pytest.fixture
def brief() -> pd.DataFrame:
    history = pd.DataFrame({"region": ["kazakhstan"] * 2, "year": [2023, 2024], "population": [20e6, 20.2e6]})
    return brief_table(_parts(), _forecasts(), history, shifted={"north": ["pavlodar", "kostanay"]},
                       scenario_model=("y", "fe"))


def test_regions_ranked_by_the_sum_over_the_forecast_years(brief):
    gain = brief.loc[brief["topic"] == "region_gain"].sort_values("rank")
    loss = brief.loc[brief["topic"] == "region_loss"].sort_values("rank")
    assert TOP_REGIONS == 3
    assert list(gain["subject"]) == ["astana", "almaty_city", "shymkent"]
    assert list(loss["subject"]) == ["turkestan", "north_kazakhstan", "pavlodar"]
    a = gain.iloc[0]  # 30000 + 30010 + 30020; the 2027 value 30020 with 95 % bounds 28000 .. 32000
    assert a["total"] == 90030 and a["value"] == 30020 and (a["lower"], a["upper"]) == (28000, 32000)
    assert a["first_year"] == 2025 and a["year"] == 2027


def test_national_population_scenarios_factors_and_targets(brief):
    row = brief.set_index("topic")
    assert row.loc["national_net", "value"] == 5000 and row.loc["national_net", "lower"] == -1000
    assert bool(row.loc["national_net", "spans_zero"])
    assert row.loc["population", "base"] == 20.2e6 and row.loc["population", "total"] == pytest.approx(300_000)
    sc = brief.loc[brief["topic"] == "scenario"]
    assert list(sc["subject"]) == ["pavlodar", "kostanay"]  # the shifted regions, in the shifts' order
    assert sc["spans_zero"].all()
    f = brief.loc[brief["topic"] == "factor"].set_index("subject")
    assert "const" not in f.index
    inc = f.loc["income_rel_national_pct_lag1"]
    assert (inc["lower"], inc["upper"], inc["note"]) == (-0.35, 0.04, "wild cluster bootstrap")
    assert bool(inc["spans_zero"]) and bool(inc["against_expected"])
    un = f.loc["unemployment_rate_pct_lag1"]  # -0.5 +/- 1.96 x 0.1: excludes zero, sign as expected (-)
    assert un["upper"] == pytest.approx(-0.5 + 1.959964 * 0.1, abs=1e-6)
    assert not bool(un["spans_zero"]) and not bool(un["against_expected"])
    assert row.loc["state_target", "verdict"] == "needs faster growth than ever observed"


def test_sentences_state_the_numbers_and_flag_what_spans_zero(brief):
    with using("ru"):
        text = brief_sentences(brief, descriptions={"north": "доходы +10 %"})
    joined = "\n".join(text)
    assert text[0].startswith("Наибольший миграционный прирост до 2027 г.: г. Астана")
    assert "+90\u202f030 за 2025–2027 гг." in text[0] and "+30\u202f020 (95 %: от +28\u202f000 до +32\u202f000)" in text[0]
    assert "Туркестанская" in text[1] and "−23\u202f970" in text[1]  # -8000 - 7990 - 7980
    scen = next(t for t in text if t.startswith("Сценарий «доходы +10 %»"))
    assert "−1\u202f078 (95 %: от −2\u202f400 до +250)" in scen and "не отличим от нуля" in scen
    assert "Денежные доходы на душу населения, % к республике (t−1) −0,155" in joined
    assert "знак противоположен ожидаемому" in joined
    assert "требуется рост быстрее когда-либо наблюдавшегося" in joined
    with using("en"):
        en = brief_sentences(brief, descriptions={"north": "income +10 %"})
    assert en[0].startswith("Regions gaining most by net migration to 2027: Astana") and "+90,030" in en[0]


def test_spans_zero():
    assert spans_zero(-1.0, 2.0) and spans_zero(0.0, 1.0) and not spans_zero(0.1, 1.0)
    assert spans_zero(math.nan, 1.0)


def test_factor_table_without_bootstrap_uses_the_normal_bounds():
    coef = _parts()["regression"].tables["coefficients"]
    f = factor_table(coef, None, target="y", model="fe").set_index("term")
    assert f.loc["income_rel_national_pct_lag1", "lower"] == pytest.approx(-0.155 - 1.959964 * 0.1, abs=1e-6)
    assert f.loc["income_rel_national_pct_lag1", "source"] == "normal"


def test_data_statements_follow_the_dataset():
    """Remove regional wages but 2020 and the statement says one year; remove the series and it says so."""
    from kzmig.features.data.dataset import load_long

    obs = load_long(view="current")
    full = data_coverage(obs).set_index("name")
    wages = full.loc["regional_wages"]
    years = obs.loc[(obs["variable"] == "avg_wage_kzt") & (obs["region"] != "kazakhstan") & obs["value"].notna(),
                    "year"]
    assert (wages["first_year"], wages["last_year"], wages["n_years"]) == (years.min(), years.max(), years.nunique())
    only_2020 = obs.loc[~((obs["variable"] == "avg_wage_kzt") & (obs["year"] != 2020))]
    cut = data_coverage(only_2020).set_index("name").loc["regional_wages"]
    assert (cut["first_year"], cut["last_year"], cut["n_years"], bool(cut["short"])) == (2020, 2020, 1, True)
    with using("en"):
        before = coverage_statements(data_coverage(obs))
        after = coverage_statements(data_coverage(only_2020))
        gone = coverage_statements(data_coverage(obs.loc[obs["variable"] != "avg_wage_kzt"]))
    w_before = next(s for s in before if s.startswith("Regional average wages"))
    w_after = next(s for s in after if s.startswith("Regional average wages"))
    assert f"{years.min()}–{years.max()}" in w_before and "proxy" not in w_before
    assert w_after.startswith("Regional average wages: one year, 2020") and "proxy" in w_after
    assert "Regional average wages: not in the data of this run." in gone


def test_national_sentence_says_one_account_when_arrivals_minus_departures_is_the_balance():
    from kzmig.reporting.brief import _national

    def rows(net: float) -> pd.DataFrame:
        return pd.DataFrame({"topic": ["national_net", "national_arrivals", "national_departures"],
                             "year": [2030, 2030, 2030], "value": [net, 18855.4, 9346.6],
                             "lower": [-39315.0, 0.0, 5370.0], "upper": [58333.0, 93536.0, 21223.0],
                             "spans_zero": [True, False, False]})

    with using("ru"):
        coherent, separate = _national(rows(9508.8)), _national(rows(-5066.0))
    assert "это прибывшие из-за рубежа 18\u202f855" in coherent and "минус выбывшие за рубеж 9\u202f347" in coherent
    assert "единый баланс" in coherent and "не обязана" not in coherent
    assert "не обязана совпадать с сальдо" in separate and "единый баланс" not in separate
