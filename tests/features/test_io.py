"""Every class of bad input named in the data contract, each with the region/year/column in the message."""
from pathlib import Path

import pandas as pd
import pytest

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.features.io import read_user_table

HEADER = "region,year,variable,value,unit\n"


def write(tmp_path: Path, body: str, name: str = "user.csv", header: str = HEADER) -> Path:
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def test_good_long_file_maps_aliases_to_codes(tmp_path):
    p = write(tmp_path, "Павлодарская область,2015,population,750000,persons\nNur-Sultan,2020,population,1136008,persons\n")
    df = read_user_table(p)
    assert df["region"].tolist() == ["pavlodar", "astana"]
    assert df["value"].dtype == "float64" and df["year"].dtype == "int64"


def test_wide_by_year_csv_is_melted(tmp_path):
    p = write(tmp_path, "akmola,unemployment_rate_pct,%,4.9,4.8\n", header="region,variable,unit,2015,2016\n")
    df = read_user_table(p).sort_values("year")
    assert df[["year", "value"]].to_numpy().tolist() == [[2015, 4.9], [2016, 4.8]]


def test_wide_xlsx_is_read(tmp_path):
    p = tmp_path / "wide.xlsx"
    pd.DataFrame({"region": ["Астана"], "variable": ["population"], "unit": ["persons"], "2021": [1184469]}).to_excel(
        p, index=False)
    assert read_user_table(p)["region"].tolist() == ["astana"]


def test_duplicate_rows(tmp_path):
    p = write(tmp_path, "akmola,2015,population,1,persons\nakmola,2015,population,2,persons\n")
    with pytest.raises(PanelContractError, match=r"repeat a \(region, year, variable\) key.*row 2: \(region='akmola', year=2015"):
        read_user_table(p)


def test_unknown_region_suggests_alias(tmp_path):
    p = write(tmp_path, "Павлодарская обл,2015,population,1,persons\n")
    with pytest.raises(PanelContractError, match=r"unknown region name.*'Павлодарская обл' \(row 2\) -> closest known: 'pavlodar'"):
        read_user_table(p)


def test_space_grouped_decimal_comma_is_explained(tmp_path):
    p = write(tmp_path, 'akmola,2015,population,"1 234,5",persons\n')
    with pytest.raises(PanelContractError, match=r"row 2: \(region='akmola', year=2015, variable='population', '1 234,5' looks like a number"):
        read_user_table(p)


def test_text_value(tmp_path):
    p = write(tmp_path, "akmola,2015,population,n/a,persons\n")
    with pytest.raises(PanelContractError, match=r"non-numeric.*'n/a' is not a number"):
        read_user_table(p)


def test_negative_count(tmp_path):
    p = write(tmp_path, "kostanay,2016,births,-5,persons\n")
    with pytest.raises(PanelContractError, match=r"negative count.*region='kostanay', year=2016, variable='births'"):
        read_user_table(p)


def test_rate_outside_plausible_range(tmp_path):
    p = write(tmp_path, "atyrau,2019,unemployment_rate_pct,85,%\n")
    with pytest.raises(PanelContractError, match=r"outside the plausible range.*region='atyrau', year=2019.*not in \[0, 60\]"):
        read_user_table(p)


def test_mixed_units(tmp_path):
    p = write(tmp_path, "akmola,2015,population,750000,persons\naktobe,2015,population,800,thousand persons\n"
                        "atyrau,2015,population,600000,persons\n")
    with pytest.raises(PanelContractError, match=r"'population' mixes units.*row 3: \(region='aktobe', year=2015.*unit='thousand persons'"):
        read_user_table(p)


def test_year_outside_range(tmp_path):
    p = write(tmp_path, "akmola,1985,population,750000,persons\n")
    with pytest.raises(PanelContractError, match=r"'year'.*row\(s\).*region='akmola', year=1985"):
        read_user_table(p)


def test_thousandfold_slip(tmp_path):
    rows = "".join(f"zhambyl,{y},grp_per_capita_thousand_kzt,{v},thousand KZT\n"
                   for y, v in [(2000, 58.7), (2001, 71200), (2002, 84.7), (2003, 99.1)])
    p = write(tmp_path, rows)
    with pytest.raises(PanelContractError, match=r"~1000x off.*row 3: \(region='zhambyl', year=2001"):
        read_user_table(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty.csv: the file is empty"):
        read_user_table(p)


def test_header_only(tmp_path):
    with pytest.raises(DataFileError, match="header but no data rows"):
        read_user_table(write(tmp_path, ""))


def test_truncated_file(tmp_path):
    p = tmp_path / "cut.csv"
    p.write_text(HEADER + "akmola,2015,population,750000,persons\naktobe,2015,popul", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"cut.csv: truncated.*row\(s\) \[3\]"):
        read_user_table(p)


def test_not_utf8(tmp_path):
    p = tmp_path / "cp1251.csv"
    p.write_bytes((HEADER + "Акмолинская,2015,population,1,persons\n").encode("cp1251"))
    with pytest.raises(DataFileError, match=r"cp1251.csv: not valid UTF-8 .* line 2"):
        read_user_table(p)


def test_unknown_layout(tmp_path):
    with pytest.raises(DataFileError, match="unrecognised layout"):
        read_user_table(write(tmp_path, "a,b\n", header="foo,bar\n"))
