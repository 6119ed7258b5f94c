"""The low-wage problem flag reads the wage, falling back to the income proxy only in years without any wage."""
import numpy as np
import pandas as pd
import pytest

from kzmig.features.assessment.problems import problem_counts, problem_flags


@pytest.fixture
def feats():
    # 2010: no wage anywhere (income fallback); 2011: wage for akmola and aktobe only (atyrau missing: no flag, no fallback)
    return pd.DataFrame({
        "region": ["kazakhstan", "akmola", "aktobe", "atyrau"] * 2, "year": [2010] * 4 + [2011] * 4,
        "population": [np.nan, 1.0, 1.0, 1.0] * 2,
        "wage_rel_national_pct": [np.nan] * 4 + [100.0, 90.0, 120.0, np.nan],
        "income_rel_national_pct": [100.0, 95.0, 105.0, 99.0, 100.0, 110.0, 80.0, 70.0],
    }).astype({"region": "string", "year": "int64"})


def test_low_wage_uses_wage_and_falls_back_by_year(feats):
    flags = problem_flags(feats)
    w = flags.loc[flags["problem"] == "low_wage"].set_index(["year", "region"])
    # by hand: 2010 income < 100 -> akmola, atyrau; 2011 wage < 100 -> akmola only; atyrau has no wage that year
    assert w.loc[2010, "indicator"].unique().tolist() == ["income_rel_national_pct"]
    assert w.loc[2010, "flag"].to_dict() == {"akmola": 1.0, "aktobe": 0.0, "atyrau": 1.0}
    assert w.loc[2011, "indicator"].unique().tolist() == ["wage_rel_national_pct"]
    assert w.loc[(2011, "akmola"), "flag"] == 1.0 and w.loc[(2011, "aktobe"), "flag"] == 0.0
    assert np.isnan(w.loc[(2011, "atyrau"), "flag"])
    # the income proxy stays available under its own name, in every year
    inc = flags.loc[flags["problem"] == "low_income"].set_index(["year", "region"])["flag"]
    assert inc[(2011, "atyrau")] == 1.0 and inc[(2011, "aktobe")] == 1.0 and inc[(2011, "akmola")] == 0.0
    counts = problem_counts(flags).set_index(["year", "problem"])
    assert counts.loc[(2010, "low_wage"), "indicator"] == "income_rel_national_pct"
    assert counts.loc[(2011, "low_wage"), "indicator"] == "wage_rel_national_pct"
    assert counts.loc[(2011, "low_wage"), "n_regions"] == 1 and counts.loc[(2011, "low_wage"), "n_with_data"] == 2


def test_assessment_rules_name_the_fallback_years(feats):
    from kzmig.studies.assess import _indicator_years

    flags = problem_flags(feats)
    rule = _indicator_years(flags, "low_wage", ("wage_rel_national_pct", "income_rel_national_pct"), "<", 100.0)
    assert rule == ("wage_rel_national_pct < 100.0 in 2011; income_rel_national_pct < 100.0 in 2010 "
                    "(fallback: no regional value of wage_rel_national_pct in those years)")
    empty = flags.assign(value=np.where(flags["year"] == 2010, np.nan, flags["value"]))
    rule = _indicator_years(empty, "low_income", ("income_rel_national_pct",), "<", 100.0)
    assert rule == "income_rel_national_pct < 100.0 in 2011; no value in 2010"
