"""Every class of bad input named in the data contract, each with the region/year/column in the message."""
import pandas as pd
import pytest

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.features.data.io import read_user_table

HEADER = "region,year,variable,value,unit\n"


def test_good_long_file_maps_aliases_to_codes(user_file):
    p = user_file(HEADER + "Павлодарская область,2015,population,750000,persons\nNur-Sultan,2020,population,1136008,persons\n")
    df = read_user_table(p)
    assert df["region"].tolist() == ["pavlodar", "astana"]
    assert df["value"].dtype == "float64" and df["year"].dtype == "int64"


def test_wide_by_year_csv_is_melted(user_file):
    p = user_file("region,variable,unit,2015,2016\nakmola,unemployment_rate_pct,%,4.9,4.8\n")
    df = read_user_table(p).sort_values("year")
    assert df[["year", "value"]].to_numpy().tolist() == [[2015, 4.9], [2016, 4.8]]


def test_wide_xlsx_is_read(tmp_path):
    p = tmp_path / "wide.xlsx"
    pd.DataFrame({"region": ["Астана"], "variable": ["population"], "unit": ["persons"], "2021": [1184469]}).to_excel(
        p, index=False)
    assert read_user_table(p)["region"].tolist() == ["astana"]


@pytest.mark.parametrize(("body", "match"), [
    pytest.param("akmola,2015,population,1,persons\nakmola,2015,population,2,persons\n",
                 r"repeat a \(region, year, variable\) key.*row 2: \(region='akmola', year=2015", id="duplicate_rows"),
    pytest.param("Павлодарскя обл,2015,population,1,persons\n",
                 r"unknown region name.*'Павлодарскя обл' \(row 2, year 2015\) -> closest known: 'pavlodar'",
                 id="unknown_region_suggests_alias"),
    pytest.param('akmola,2015,population,"1 23,5",persons\n',
                 r"row 2: \(region='akmola', year=2015, variable='population', '1 23,5' is not a number",
                 id="irregular_space_grouping"),
    pytest.param("akmola,2015,population,n/a,persons\n", r"non-numeric.*'n/a' is not a number", id="text_value"),
    pytest.param("kostanay,2016,births,-5,persons\n",
                 r"negative count.*region='kostanay', year=2016, variable='births'", id="negative_count"),
    pytest.param("atyrau,2019,unemployment_rate_pct,85,%\n",
                 r"outside the plausible range.*region='atyrau', year=2019.*not in \[0, 60\]", id="rate_out_of_range"),
    pytest.param("akmola,2015,population,750000,persons\naktobe,2015,population,800,thousand persons\n"
                 "atyrau,2015,population,600000,persons\n",
                 r"'population' mixes units.*row 3: \(region='aktobe', year=2015.*unit='thousand persons'",
                 id="mixed_units"),
    pytest.param("akmola,1985,population,750000,persons\n", r"'year'.*row\(s\).*region='akmola', year=1985",
                 id="year_out_of_range"),
    pytest.param("".join(f"zhambyl,{y},grp_per_capita_thousand_kzt,{v},thousand KZT\n"
                         for y, v in [(2000, 58.7), (2001, 71200), (2002, 84.7), (2003, 99.1)]),
                 r"~1000x off.*row 3: \(region='zhambyl', year=2001", id="thousandfold_slip"),
])
def test_bad_rows_are_named(rejects, body, match):
    rejects(HEADER + body, PanelContractError, match)


def test_empty_file(rejects):
    rejects("", DataFileError, r"empty.csv: the file is empty", name="empty.csv")


def test_header_only(rejects):
    rejects(HEADER, DataFileError, "header but no data rows")


def test_truncated_file(rejects):
    rejects(HEADER + "akmola,2015,population,750000,persons\naktobe,2015,popul", DataFileError,
            r"cut.csv: truncated.*row\(s\) \[3\]", name="cut.csv")


def test_not_utf8(tmp_path, rejects):
    p = tmp_path / "cp1251.csv"
    p.write_bytes((HEADER + "Акмолинская,2015,population,1,persons\n").encode("cp1251"))
    rejects(p, DataFileError, r"cp1251.csv: not valid UTF-8 .* line 2")


def test_unknown_layout(rejects):
    rejects("foo,bar\na,b\n", DataFileError, "unrecognised layout")
