"""The wage in the migration-factors study: the entry table (each model refitted without the wage on
the same rows and on all rows) against two-way dummy-variable OLS built by hand from the shipped data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.config import load_config
from kzmig.core.errors import ConfigError
from kzmig.features.data.dataset import load_panel
from kzmig.studies.regress import regress

CONFIG = """
[data]
view = "harmonised"
borders = 2018
first_year = 2009
last_year = 2022
breaks = "keep"

[features]
builders = ["labour", "wages"]
columns = ["unemployment_rate_pct", "wage_rel_national_pct", "income_rel_national_pct"]
lag = 1
missing = "drop"
compare_without = ["wage_rel_national_pct"]

[[models]]
name = "fe_twoway"
kind = "fixed_effects"
params = { effects = "both" }

[covariance]
types = ["clustered"]

[discrete]
enabled = false
"""
Y = "net_migration_rate_per_1000"


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    path = tmp_path_factory.mktemp("entry") / "entry.toml"
    path.write_text(CONFIG)
    res = regress(load_config(path))
    return res.tables["entry"].set_index("term"), res.tables["coefficients"]


def _hand_sample() -> pd.DataFrame:
    """Outcome in t, features in t-1, computed here from the wide panel (not the builders)."""
    p = load_panel("harmonised", borders=2018)
    nat = p.loc[p["region"] == "kazakhstan"].set_index("year")
    p = p.loc[p["region"] != "kazakhstan"].copy()
    p["wage"] = 100 * p["avg_wage_kzt"] / p["year"].map(nat["avg_wage_kzt"])
    # national income per capita: the national row, else (2021-2024: no national row) the
    # population-weighted mean of the regions, which is exactly the national per-capita value
    inc = p["money_income_per_capita_kzt"]
    weighted = (inc * p["population"]).groupby(p["year"]).sum() / p["population"].groupby(p["year"]).sum()
    nat_income = nat["money_income_per_capita_kzt"].reindex(weighted.index).fillna(weighted)
    p["income"] = 100 * inc / p["year"].map(nat_income)
    p["unemp"] = p["unemployment_rate_pct"]
    lagged = p[["region", "year", "unemp", "wage", "income"]].assign(year=p["year"] + 1)
    s = p[["region", "year", Y]].merge(lagged, on=["region", "year"], how="inner")
    return s.loc[s["year"].between(2009, 2022)]


def _twoway_ols(s: pd.DataFrame, xs: list[str]) -> pd.Series:
    X = pd.concat([s[xs], pd.get_dummies(s["region"], drop_first=True, dtype=float),
                   pd.get_dummies(s["year"], drop_first=True, dtype=float)], axis=1).to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(s)), X])
    beta = np.linalg.lstsq(X, s[Y].to_numpy(dtype=float), rcond=None)[0]
    return pd.Series(beta[1:1 + len(xs)], index=xs)


def test_entry_same_rows_and_all_rows_equal_dummy_ols(entry):
    table, coefs = entry
    s = _hand_sample()
    with_wage = s.dropna(subset=[Y, "unemp", "wage", "income"])
    without = s.dropna(subset=[Y, "unemp", "income"])
    assert with_wage["year"].min() == 2012  # wages start in 2011, lagged one year
    b_with = _twoway_ols(with_wage, ["unemp", "wage", "income"])
    b_same = _twoway_ols(with_wage, ["unemp", "income"])
    b_all = _twoway_ols(without, ["unemp", "income"])
    for term, col in (("unemployment_rate_pct_lag1", "unemp"), ("income_rel_national_pct_lag1", "income")):
        row = table.loc[term]
        assert row["estimate_with"] == pytest.approx(b_with[col], rel=1e-8)
        assert row["estimate_same_rows"] == pytest.approx(b_same[col], rel=1e-8)
        assert row["estimate_all_rows"] == pytest.approx(b_all[col], rel=1e-8)
        assert row["change_same_rows"] == pytest.approx(b_with[col] - b_same[col], rel=1e-8)
        assert row["nobs_with"] == row["nobs_same_rows"] == len(with_wage)
        assert row["nobs_all_rows"] == len(without) > len(with_wage)
    wage = coefs.loc[coefs["term"] == "wage_rel_national_pct_lag1", "estimate"].iloc[0]
    assert wage == pytest.approx(b_with["wage"], rel=1e-8)
    assert "wage_rel_national_pct_lag1" not in table.index


def test_compare_without_must_be_a_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace('compare_without = ["wage_rel_national_pct"]', 'compare_without = ["wage"]'))
    with pytest.raises(ConfigError, match=r'features.compare_without\[0\]: found "wage"; expected one of columns'):
        load_config(path)


def test_a_scenario_can_shift_the_wage(tmp_path):
    """The shipped run's regression has the wage, so a [scenario] block may shift it (and only a real column)."""
    import shutil

    from kzmig.core.resources import experiments_dir

    for name in ("baseline.toml", "migration_factors.toml", "net_migration.toml", "external_flows.toml", "targets.csv"):
        shutil.copy(experiments_dir() / name, tmp_path / name)
    text = (tmp_path / "baseline.toml").read_text()
    assert 'feature = "income_rel_national_pct"' in text
    (tmp_path / "baseline.toml").write_text(text.replace('feature = "income_rel_national_pct"',
                                                         'feature = "wage_rel_national_pct"'))
    cfg = load_config(tmp_path / "baseline.toml")
    assert cfg.scenario["north_income"].shifts[0].feature == "wage_rel_national_pct"
    (tmp_path / "baseline.toml").write_text(text.replace('feature = "income_rel_national_pct"',
                                                         'feature = "avg_wage_kzt"'))
    with pytest.raises(ConfigError, match=r"scenario.north_income.shifts\[0\].feature.*wage_rel_national_pct"):
        load_config(tmp_path / "baseline.toml")


def test_housing_variant_is_the_main_study_plus_housing():
    from kzmig.core.resources import experiments_dir

    main = load_config(experiments_dir() / "migration_factors.toml")
    housing = load_config(experiments_dir() / "migration_factors_housing.toml")
    assert "wage_rel_national_pct" in main.features.columns
    assert main.features.compare_without == ("wage_rel_national_pct",)
    assert list(housing.features.columns) == [*main.features.columns, "price_new_m2_to_monthly_wage"]
    assert set(housing.features.builders) == set(main.features.builders) | {"housing"}
    for section in ("data", "outcomes", "covariance", "bootstrap", "discrete", "hausman"):
        assert getattr(housing, section) == getattr(main, section), section
