"""Files as Kazakhstani analysts have them (issue 22): Russian-locale numbers, BNS tab exports,
the ambiguous cases, and every problem of a file reported in one pass.

Each locale file is checked against its plain-CSV twin (decimal point, no thousands separator),
written by hand, not against the reader's own earlier output.
"""
import pandas as pd
import pytest

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.data.io import read_user_table

ISSUE_FILE = ("region;year;variable;value\n"
              "Северо-Казахстанская область;2023;population;530 100\n"
              "Акмолинская область;2023;unemployment_rate_pct;4,7\n")
ISSUE_TWIN = ("region,year,variable,value\n"
              "north_kazakhstan,2023,population,530100\n"
              "akmola,2023,unemployment_rate_pct,4.7\n")
KEY = ["region", "year", "variable"]


def _values(df: pd.DataFrame) -> list:
    return df.sort_values(KEY)[[*KEY, "value"]].astype({"region": str, "variable": str}).values.tolist()


def test_the_issue_file_reads_as_its_plain_twin(user_file):
    got = read_user_table(user_file(ISSUE_FILE, "ru.csv"))
    assert _values(got) == _values(read_user_table(user_file(ISSUE_TWIN, "plain.csv")))
    assert _values(got) == [["akmola", 2023, "unemployment_rate_pct", 4.7],
                            ["north_kazakhstan", 2023, "population", 530100.0]]
    assert got.attrs["read_as"] == {"separator": "semicolon", "decimal": "comma", "thousands": "space"}


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", " "], ids=["nbsp", "narrow_nbsp", "space"])
def test_non_breaking_spaces_between_thousands(user_file, space):
    body = ("region;year;variable;value\n"
            f"pavlodar;2022;population;1{space}234{space}567\n"
            f"pavlodar;2023;population;753{space}800\n"
            f"pavlodar;2023;avg_wage_kzt;312{space}456,5\n")
    df = read_user_table(user_file(body))
    assert _values(df) == [["pavlodar", 2022, "population", 1234567.0], ["pavlodar", 2023, "avg_wage_kzt", 312456.5],
                           ["pavlodar", 2023, "population", 753800.0]]


def test_tab_separated_bns_export_with_bom_and_nbsp(tmp_path):
    # BNS exports: tab-separated despite the .csv name, UTF-8 with a BOM, NBSP thousands, decimal commas
    p = tmp_path / "bns_export.csv"
    p.write_bytes(("\ufeffregion\tyear\tvariable\tvalue\n"
                   "СКО\t2022\tpopulation\t536\u00a0200\n"
                   "Северо-Казахстанская обл.\t2023\tpopulation\t530\u00a0100\n"
                   "СКО\t2023\tunemployment_rate_pct\t4,6\n").encode("utf-8"))
    df = read_user_table(p)
    assert _values(df) == [["north_kazakhstan", 2022, "population", 536200.0],
                           ["north_kazakhstan", 2023, "population", 530100.0],
                           ["north_kazakhstan", 2023, "unemployment_rate_pct", 4.6]]
    assert df.attrs["read_as"]["separator"] == "tab"


def test_wide_semicolon_file_with_decimal_commas(user_file):
    df = read_user_table(user_file("region;variable;2021;2022\nakmola;unemployment_rate_pct;4,9;4,8\n"))
    assert df.sort_values("year")["value"].tolist() == [4.9, 4.8]


@pytest.mark.parametrize(("body", "name"), [
    ("region\tyear\tvariable\tvalue\nakmola\t2023\tbirths\t1,234\n", "tab.csv"),
    ('region,year,variable,value\nakmola,2023,births,"1,234"\n', "comma.csv"),
], ids=["tab_separated", "quoted_in_comma_separated"])
def test_ambiguous_comma_is_an_error_naming_column_and_options(rejects, user_file, body, name):
    rejects(body, PanelContractError, r"column 'value' holds numbers such as '1,234'.*row 2 \(region='akmola', "
            r"year=2023\): '1,234'.*decimal=',' \(--decimal ,\).*thousands=',' \(--thousands ,\)", name=name)
    p = user_file(body, name)
    assert read_user_table(p, decimal=",")["value"].tolist() == [1.234]
    assert read_user_table(p, thousands=",")["value"].tolist() == [1234.0]
    assert read_user_table(p, thousands=",").attrs["read_as"]["thousands"] == "comma"


def test_the_same_cell_in_a_semicolon_file_is_a_decimal_comma(user_file):
    p = user_file("region;year;variable;value\nakmola;2023;unemployment_rate_pct;1,234\n")
    assert read_user_table(p)["value"].tolist() == [1.234]


def test_decimal_commas_beside_decimal_points_are_ambiguous(rejects):
    rejects("region\tyear\tvariable\tvalue\nakmola\t2022\tunemployment_rate_pct\t4,7\n"
            "akmola\t2023\tunemployment_rate_pct\t4.6\n", PanelContractError,
            r"mixes decimal commas and decimal points, e.g. row 2 .*'4,7'.*row 3 .*'4.6'")


def test_a_point_in_a_file_read_with_decimal_commas_is_reported(rejects, user_file):
    body = "region;year;variable;value\nakmola;2022;population;1 234\nakmola;2023;population;1.234\n"
    rejects(body, PanelContractError, r"read with a decimal comma, but 1 cell\(s\) hold a point: row 3 "
            r"\(region='akmola', year=2023\): '1.234'", decimal=",")


def test_comma_thousands_with_decimal_points(user_file):
    p = user_file('region,year,variable,value\nakmola,2022,population,"1,234,567"\nakmola,2023,population,"736,100.0"\n')
    assert read_user_table(p).sort_values("year")["value"].tolist() == [1234567.0, 736100.0]


def test_explicit_options_override_the_guess(user_file):
    p = user_file("region;year;variable;value\nakmola;2023;population;530 100\n")
    assert read_user_table(p, decimal=",", thousands=" ")["value"].tolist() == [530100.0]
    with pytest.raises(PanelContractError, match=r"'530 100' looks like a number"):
        read_user_table(p, thousands="")


@pytest.mark.parametrize(("kwargs", "match"), [({"decimal": ";"}, r"decimal=';'"),
                                              ({"thousands": "x"}, r"thousands='x'"),
                                              ({"decimal": ",", "thousands": ","}, "must differ")])
def test_bad_options_are_config_errors(user_file, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        read_user_table(user_file(ISSUE_TWIN), **kwargs)


def test_xlsx_text_cells_in_russian_format(tmp_path):
    p = tmp_path / "ru.xlsx"
    pd.DataFrame({"region": ["СКО", "ВКО"], "year": [2023, 2023], "variable": ["population", "population"],
                  "value": ["530\u00a0100", 1350000]}).to_excel(p, index=False)
    df = read_user_table(p)
    assert _values(df) == [["east_kazakhstan", 2023, "population", 1350000.0],
                           ["north_kazakhstan", 2023, "population", 530100.0]]
    assert df.attrs["read_as"] == {"separator": "none (workbook cells)", "decimal": "point", "thousands": "space"}


def test_three_kinds_of_problem_in_one_pass(user_file):
    body = ("region,year,variable,value\n"
            "Новая область,2020,population,1000\n"        # unknown region
            "akmola,2020,population,n/a\n"                # non-numeric value
            "kostanay,2020,births,-5\n"                   # negative count
            "atyrau,20x1,population,1\n")                 # not a year
    with pytest.raises(PanelContractError) as exc:
        read_user_table(user_file(body, "three.csv"))
    msg = str(exc.value)
    assert "4 kinds of problem" in msg
    assert "unknown regions: column 'region' has 1 unknown region name(s): 'Новая область' (row 2, year 2020)" in msg
    assert "non-numeric values: column 'value' has 1 non-numeric cell(s): row 3: (region='akmola', year=2020" in msg
    assert "negative counts: 1 negative count(s): row 4: (region='kostanay', year=2020, variable='births'" in msg
    assert "bad years: column 'year' has 1 value(s) that are not whole years: row 5 (region='atyrau'): '20x1'" in msg
    assert "kzmig data regions" in msg and "data/regions.csv" not in msg and "region_aliases" not in msg


def test_each_kind_is_capped_with_a_count_of_the_rest(user_file):
    body = "region,year,variable,value\n" + "".join(f"akmola,{y},births,-{y}\n" for y in range(2000, 2012))
    with pytest.raises(PanelContractError, match=r"12 negative count\(s\): .*; \.\.\. and 4 more") as exc:
        read_user_table(user_file(body))
    assert str(exc.value).count("region='akmola'") == 8
