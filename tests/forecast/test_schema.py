"""The forecast table and series-input contracts: every error names what is wrong."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.arima.model import ARIMA

from kzmig.core.errors import PanelContractError
from kzmig.forecast.engine.adapters import from_nixtla, from_statsmodels
from kzmig.models.forecasters.schema import (alpha_to_level, check_horizon, check_level, check_levels, check_nested_levels,
                                 level_to_alpha, validate_forecast, validate_series)


def _table(**over) -> pd.DataFrame:
    df = pd.DataFrame({"model": ["m", "m"], "region": ["A", "A"], "origin_year": [2020, 2020], "year": [2021, 2022],
                       "point": [1.0, 2.0], "lower": [0.0, 1.0], "upper": [2.0, 3.0], "level": [0.8, 0.8]})
    for k, v in over.items():
        df[k] = v
    return df.astype({"origin_year": "int64", "year": "int64"})


def test_valid_table_passes():
    assert validate_forecast(_table()) is not None


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"lower": [1.5, 1.0]}, r"lower <= point <= upper is violated.*region='A', origin_year=2020, year=2021"),
        ({"year": [2021, 2021]}, r"duplicate key"),
        ({"year": [2020, 2022]}, r"year is not after origin_year.*year=2020"),
        ({"level": [80.0, 80.0]}, r"level is not a fraction"),
        ({"lower": [np.nan, 1.0]}, r"only partly missing"),
    ],
)
def test_bad_tables_are_named(over, match):
    with pytest.raises(PanelContractError, match=match):
        validate_forecast(_table(**over))


def test_missing_column_is_named():
    with pytest.raises(PanelContractError, match=r"missing column\(s\) \['level'\]"):
        validate_forecast(_table().drop(columns="level"))


def test_short_series_names_region_and_length(series):
    short = series.loc[~((series["region"] == "B") & (series["year"] > 2008))]
    with pytest.raises(PanelContractError, match=r"shorter than the 6 years needed by AutoARIMA: region='B' has 3 years"):
        validate_series(short, min_length=6, model="AutoARIMA")


def test_gap_names_the_years(series):
    gappy = series.loc[~((series["region"] == "C") & series["year"].isin([2010, 2011]))]
    with pytest.raises(PanelContractError, match=r"region='C' has gaps.*\[2010, 2011\]"):
        validate_series(gappy)


def test_missing_target_value_named(series):
    bad = series.copy()
    bad.loc[3, "y"] = np.nan
    with pytest.raises(PanelContractError, match=r"'y' has 1 missing.*region='A', year=2009"):
        validate_series(bad)


@pytest.mark.parametrize("h", [0, -1, 1.5, True])
def test_horizon_below_one(h):
    with pytest.raises(ValueError, match=r"horizon h=.* must be an integer >= 1"):
        check_horizon(h)


def test_levels_in_percent_rejected():
    with pytest.raises(ValueError, match=r"not fractions"):
        check_levels([80, 95])


def _level_checks():
    """Every library entry point that takes an interval level, called with ``level``."""
    from kzmig.forecast.engine.distribution import z_value
    from kzmig.forecast.engine.evaluate import score
    from kzmig.forecast.planning.population import project_population
    from kzmig.models.forecasters.baselines import Naive
    from kzmig.models.panel.bootstrap import wild_cluster_bootstrap
    from kzmig.models.panel.results import PanelResult

    series = pd.DataFrame({"region": "A", "year": range(2000, 2006), "y": [1.0, 3, 2, 4, 3, 5]})
    res = PanelResult(params=pd.Series({"x": 1.0}), std_errors=pd.Series({"x": 0.5}), pvalues=pd.Series({"x": 0.1}),
                      cov_type="robust", nobs=10, n_regions=2, years=(2000, 2004), r2_within=0.5, r2_between=0.5,
                      r2_overall=0.5, effects="none")
    return {
        "check_level": check_level,
        "check_levels": lambda lv: check_levels([0.8, lv]),
        "level_to_alpha": level_to_alpha,
        "z_value": z_value,
        "predict": lambda lv: Naive().fit(series).predict(1, levels=[lv]),
        "score": lambda lv: score(_table().assign(actual=1.0, scale=1.0), levels=[lv]),
        "conf_int": res.conf_int,
        "bootstrap": lambda lv: wild_cluster_bootstrap(object(), level=lv),
        "population": lambda lv: project_population(pd.DataFrame(), _table(), levels=[lv]),
    }


@pytest.mark.parametrize("name", list(_level_checks()))
@pytest.mark.parametrize("bad", [80, 0.0, 1.0, -0.5, float("nan")])
def test_one_level_check_everywhere(name, bad):
    if name == "z_value" and np.isnan(bad):
        assert np.isnan(_level_checks()[name](bad))  # a row without an interval
        return
    with pytest.raises(ValueError, match=r"interval level\(s\) \[.*\] are not fractions in \(0, 1\); write 0\.8"):
        _level_checks()[name](bad)


def test_one_level_check_accepts_fractions():
    assert check_level(np.float64(0.95)) == 0.95 and check_levels([0.95, 0.8, 0.8]) == (0.8, 0.95)


def test_from_statsmodels_matches_conf_int():
    y = np.random.default_rng(1).normal(size=20).cumsum()
    res = ARIMA(y, order=(1, 0, 0)).fit()
    fc = res.get_forecast(3)
    out = from_statsmodels(fc.summary_frame(alpha=0.2), alpha=0.2, model="ar1", region="A", origin_year=2020)
    ci = fc.conf_int(alpha=0.2)
    np.testing.assert_allclose(out["lower"], ci[:, 0], rtol=1e-12)
    np.testing.assert_allclose(out["upper"], ci[:, 1], rtol=1e-12)
    assert out["year"].tolist() == [2021, 2022, 2023] and set(out["level"]) == {0.8}
    validate_forecast(out)


def test_alpha_level_round_trip():
    assert alpha_to_level(0.05) == 0.95 and level_to_alpha(0.8) == 0.2
    with pytest.raises(ValueError, match="fraction"):
        level_to_alpha(95)


def test_from_nixtla_percent_to_fraction():
    wide = pd.DataFrame({"unique_id": ["A", "A"], "ds": [2021, 2022], "M": [1.0, 2.0],
                         "M-lo-95": [0.0, 0.5], "M-hi-95": [2.0, 3.5]})
    out = from_nixtla(wide, models=["M"], levels=[95])
    assert out["level"].tolist() == [0.95, 0.95] and out["origin_year"].tolist() == [2020, 2020]


def test_nested_levels():
    t80 = _table()
    t95 = _table(lower=[-1.0, 0.5], upper=[3.0, 3.5], level=[0.95, 0.95])
    check_nested_levels(pd.concat([t80, t95], ignore_index=True))
    bad = _table(lower=[0.5, 0.5], upper=[3.0, 3.5], level=[0.95, 0.95])
    with pytest.raises(PanelContractError, match=r"the 0.95 interval does not contain the 0.8 one in 1 row.*year=2021"):
        check_nested_levels(pd.concat([t80, bad], ignore_index=True))
