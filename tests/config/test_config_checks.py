"""Checks of a config against the data: origins, to_year, feature columns."""
from __future__ import annotations

import logging

import pytest

from kzmig.config import check_columns, check_origins, check_to_year
from kzmig.core.errors import ConfigError


def test_origins_inside_the_data_are_kept_and_the_others_reported(caplog):
    with caplog.at_level(logging.WARNING, logger="kzmig.config.checks"):
        kept, dropped = check_origins((2010, 2011, 2015, 2020, 2021), [2011, 2012, 2016, 2020, 2020],
                                      series="net_migration", source="s.toml")
    assert kept == (2015,) and dropped == (2010, 2011, 2020, 2021)  # 2011 and 2020 are the data's ends
    assert "s.toml: backtest.origins [2010, 2011, 2020, 2021] lie outside the data years 2011-2020 of " \
           "'net_migration'" in caplog.text


def test_no_origin_inside_the_data_is_an_error():
    with pytest.raises(ConfigError, match=r"^s\.toml: backtest\.origins: none of \[2012, 2021\] lies inside the "
                                          r"data years 2022-2024 of 'external_net'.*from 2023 to 2023"):
        check_origins([2012, 2021], range(2022, 2025), series="external_net", source="s.toml")
    with pytest.raises(ConfigError, match="no observed years"):
        check_origins([2012], [])


def test_to_year_within_limits():
    assert check_to_year(2030, 2024, 30) == 6
    assert check_to_year(2054, 2024, 30) == 30
    with pytest.raises(ConfigError, match=r"^s\.toml: forecast\.to_year = 2024 is not after the last observed year "
                                          r"2024 of 'net_migration'; choose a to_year of at least 2025"):
        check_to_year(2024, 2024, 30, series="net_migration", source="s.toml")
    with pytest.raises(ConfigError, match=r"forecast\.to_year = 2060 is 36 years after .* more than "
                                          r"forecast\.max_years_ahead = 30; choose a to_year up to 2054"):
        check_to_year(2060, 2024, 30)


def test_missing_columns_are_named_with_a_suggestion():
    available = ["region", "year", "unemployment_rate_pct", "income_rel_national_pct", "pop_density_km2"]
    check_columns(["unemployment_rate_pct", "pop_density_km2"], available)
    with pytest.raises(ConfigError) as err:
        check_columns(["unemployment_rate_pct", "income_rel_nat_pct", "doctors"], available, source="r.toml")
    msg = str(err.value)
    assert msg.startswith('r.toml: features.columns[1] = "income_rel_nat_pct" is not a column of the data '
                          '(did you mean "income_rel_national_pct"?); features.columns[2] = "doctors" is not')
    assert msg.endswith("available: income_rel_national_pct, pop_density_km2, unemployment_rate_pct.")
    with pytest.raises(ConfigError, match=r"discrete\.columns\[0\] = \"x\""):
        check_columns(["x"], available, key="discrete.columns")


def test_long_column_lists_are_shortened():
    cols = [f"c{i:03d}" for i in range(100)]
    with pytest.raises(ConfigError, match=r"c039, \.\.\. \(60 more\)\.$"):
        check_columns(["zzz"], cols)
