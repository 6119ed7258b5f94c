"""Bad user files: each gives a DataError naming the file, row (sheet), column, region and year.

One test per reported defect of ``kzmig.features.data.io.read_user_table`` (wide files with odd variable
names, NUL bytes, extra XLSX sheets, unknown variables, cut files, delimiters), plus the
rules chosen for them (see the docstrings of ``kzmig.features.data.io`` and ``kzmig.features.data.io_read``).
"""
from pathlib import Path

import pandas as pd
import pytest

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.features.data.io import read_user_table

LONG = "region,year,variable,value,unit\n"
WIDE = "region,variable,unit,2015,2016\n"


def workbook(tmp_path: Path, sheets: dict[str, pd.DataFrame], name: str = "book.xlsx") -> Path:
    p = tmp_path / name
    with pd.ExcelWriter(p) as w:
        for title, df in sheets.items():
            df.to_excel(w, sheet_name=title, index=False)
    return p


def wide_frame(region: str, variable: str = "population", **years: float) -> pd.DataFrame:
    return pd.DataFrame({"region": [region], "variable": [variable], "unit": ["persons"],
                         **{y.lstrip("y"): [v] for y, v in years.items()}})


# 1. wide files: row and year are separate columns, never a "row:year" label -------------

def test_wide_odd_variable_names_row_region_year(rejects):
    rejects(WIDE + "akmola,3:2000,%,4.9,4.8\n", PanelContractError,
            r"wide.csv: column 'variable' has 1 unknown name\(s\): "
            r"'3:2000' \(row 2: region='akmola', year=2015; 2 row\(s\) in all\).*snake_case", name="wide.csv")


def test_wide_schema_failure_names_row_and_year(rejects):
    # allow_new lets the odd name through to the pandera schema, whose failure path used int("2:2015")
    rejects(WIDE + "akmola,3:2000,%,4.9,4.8\n", PanelContractError,
            r"wide.csv: column 'variable' fails .*row 2: \(region='akmola', year=2015, variable='3:2000'",
            name="wide.csv", allow_new=["3:2000"])


def test_wide_year_out_of_range_names_row_and_year(rejects):
    rejects("region,variable,unit,1985,1986\nakmola,population,persons,1,2\n", PanelContractError,
            r"old.csv: column 'year' .*row 2: \(region='akmola', year=1985", name="old.csv")


def test_wide_bad_cell_names_its_row_and_year_column(rejects):
    rejects(WIDE + "akmola,population,persons,750000,751000\naktobe,population,persons,800000,n/a\n",
            PanelContractError, r"row 3: \(region='aktobe', year=2016, variable='population', 'n/a' is not a number")


def test_wide_unknown_extra_column_is_not_dropped_silently(rejects):
    rejects("region,variable,unit,2015,2016г\nakmola,population,persons,1,2\n", DataFileError,
            r"extra.csv: column\(s\) \['2016г'\] are neither years", name="extra.csv")


# 2. NUL bytes and control characters --------------------------------------------------

@pytest.mark.parametrize("line, column", [
    ("akm\x00ola,2015,population,1,persons", "region"),
    ("akmola\x00,2015,population,1,persons", "region"),  # pandas' C parser cut the cell here
    ("akmola,2015,population,1,per\x00sons", "unit"),
    ("akmola,20\x0015,population,1,persons", "year"),
])
def test_nul_byte_names_row_and_column(rejects, line, column):
    rejects(LONG + line + "\n", DataFileError, rf"nul.csv: row 2, column '{column}': the cell .* holds a NUL byte",
            name="nul.csv")


def test_nul_byte_in_wide_region_and_header(rejects):
    rejects(WIDE + "akm\x00ola,population,persons,1,2\n", DataFileError,
            r"row 2, column 'region': the cell 'akm\\x00ola' holds a NUL byte")
    rejects("region,year,variable,value,un\x00it\nakmola,2015,population,1,persons\n", DataFileError,
            r"row 1 \(the header\), column 'un\\x00it'")


def test_other_control_character_and_utf16_without_bom(tmp_path, rejects):
    rejects(LONG + "akmola,2015,popu\x07lation,1,persons\n", DataFileError,
            r"row 2, column 'variable': .* holds the control character '\\x07'")
    p = tmp_path / "u16.csv"
    p.write_bytes((LONG + "akmola,2015,population,1,persons\n").encode("utf-16-le"))
    rejects(p, DataFileError, r"u16.csv: row 1 \(the header\).*looks like UTF-16")


# 3. every sheet of a workbook ---------------------------------------------------------

def test_all_sheets_with_one_layout_are_read(tmp_path):
    p = workbook(tmp_path, {"north": wide_frame("akmola", y2021=780000),
                            "west": wide_frame("aktobe", y2021=920000, y2022=930000),
                            "blank": pd.DataFrame()})
    df = read_user_table(p).sort_values(["region", "year"])
    assert df[["region", "year", "value"]].values.tolist() == [
        ["akmola", 2021, 780000.0], ["aktobe", 2021, 920000.0], ["aktobe", 2022, 930000.0]]


def test_sheet_is_named_in_messages(tmp_path, rejects):
    rejects(workbook(tmp_path, {"a": wide_frame("akmola", y2021=1), "b": wide_frame("akmola", y2021=2)}),
            PanelContractError, r"repeat a \(region, year, variable\) key; each must be unique: "
            r"sheet 'a' row 2: \(region='akmola', year=2021.*sheet 'b' row 2: \(region='akmola'")
    rejects(workbook(tmp_path, {"a": wide_frame("akmola", y2021=1), "b": wide_frame("atyrau", y2021=-5)}),
            PanelContractError, r"negative count.*sheet 'b' row 2: \(region='atyrau', year=2021")


def test_sheets_of_different_layouts_are_rejected_by_name(tmp_path, rejects):
    long = pd.DataFrame({"region": ["akmola"], "year": [2021], "variable": ["population"], "value": [1]})
    rejects(workbook(tmp_path, {"data": wide_frame("aktobe", y2021=2), "long": long}), DataFileError,
            r"book.xlsx: sheets \['long'\] are in the long layout and "
            r"sheets \['data'\] wide by year.*move the sheets of one layout to another file")


def test_extra_sheet_in_unknown_layout_or_header_only_is_rejected(tmp_path, rejects):
    notes = pd.DataFrame({"note": ["source: BNS"]})
    rejects(workbook(tmp_path, {"data": wide_frame("aktobe", y2021=2), "notes": notes}), DataFileError,
            r"book.xlsx: sheet 'notes': unrecognised layout; columns \['note'\]")
    empty_table = pd.DataFrame(columns=["region", "variable", "2021"])
    rejects(workbook(tmp_path, {"data": wide_frame("aktobe", y2021=2), "later": empty_table}), DataFileError,
            r"sheet 'later' has a header but no data rows; fill it, or delete")


def test_xlsx_row_numbers_are_excel_rows(tmp_path, rejects):
    p = tmp_path / "gap.xlsx"
    with pd.ExcelWriter(p) as w:  # header on Excel row 3, data on row 4
        pd.DataFrame({"region": ["abai"], "year": [2021], "variable": ["births"], "value": [-1]}).to_excel(
            w, sheet_name="s", index=False, startrow=2)
    rejects(p, PanelContractError, r"sheet 's' row 4: \(region='abai', year=2021")


def test_formula_without_computed_value_is_not_read_as_blank(tmp_path, rejects):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "calc"
    for row in (["region", "variable", "2021", "2022"], ["aktobe", "population", 920000, "=C2*1.01"]):
        ws.append(row)
    wb.save(tmp_path / "calc.xlsx")
    rejects(tmp_path / "calc.xlsx", DataFileError,
            r"calc.xlsx: sheet 'calc' row 2, column '2022': the formula '=C2\*1.01' has no computed value")


# 4. variable names --------------------------------------------------------------------

def test_misspelled_variable_suggests_known_name(rejects):
    rejects(LONG + "akmola,2015,population,1,persons\naktobe,2016,populaton,2,persons\n", PanelContractError,
            r"typo.csv: column 'variable' has 1 unknown name\(s\): 'populaton' "
            r"\(row 3: region='aktobe', year=2016; 1 row\(s\) in all\) -> closest known: 'population'", name="typo.csv")


def test_derived_and_rate_names_are_known(user_file):
    p = user_file(LONG + "akmola,2015,net_migration_rate_per_1000,-3.2,per 1000\n"
                               "akmola,2015,population_avg,740000,persons\n")
    assert set(read_user_table(p)["variable"]) == {"net_migration_rate_per_1000", "population_avg"}


def test_new_series_without_declaration_is_rejected(rejects):
    p = rejects(LONG + "kazakhstan,2015,doctoral_graduates,12000,students\n", PanelContractError,
                r"'doctoral_graduates' \(row 2: region='kazakhstan', year=2015.*"
                r"give it a 'unit' and a 'source' on each of its rows, or pass allow_new=", name="new.csv")
    assert read_user_table(p, allow_new=["doctoral_graduates"])["variable"].tolist() == ["doctoral_graduates"]
    assert len(read_user_table(p, allow_new=True)) == 1


def test_national_only_new_series_declared_in_file_loads(user_file):
    from kzmig.features.data.dataset import load_long, to_wide

    rows = "".join(f"kazakhstan,{y},foreign_students,{20000 + 100 * y % 7},students,MoE\n" for y in range(2012, 2023))
    p = user_file("region,year,variable,value,unit,source\n" + rows)
    wide = to_wide(load_long(path=p))
    assert wide["region"].unique().tolist() == ["kazakhstan"] and len(wide) == 11
    assert "foreign_students" in wide


def test_declared_near_miss_is_still_a_typo(rejects):
    p = rejects("region,year,variable,value,unit,source\nakmola,2015,birth,100,persons,BNS\n", PanelContractError,
                r"'birth' .* -> closest known: 'births' \(it has a unit and a source like a new series, but is too close")
    rejects(p, PanelContractError, r"'birth'", allow_new=True)
    assert read_user_table(p, allow_new=["birth"])["variable"].tolist() == ["birth"]


def test_derived_variable_with_its_inputs_is_rejected(rejects):
    rejects(LONG + "akmola,2015,population,700000,persons\nakmola,2016,population,701000,persons\n"
                   "akmola,2015,population_avg,700500,persons\n", PanelContractError,
            r"both.csv: variable 'population_avg' is computed by the loader "
            r"from 'population'.*row 4: \(region='akmola', year=2015", name="both.csv")


def test_blank_variable_and_region(rejects):
    rejects(LONG + "akmola,2015,population,1,persons\nakmola,2016,,2,persons\n", PanelContractError,
            r"column 'variable' is blank in 1 row\(s\): row 3: \(region='akmola', year=2016")
    rejects(LONG + " ,2015,population,1,persons\n", PanelContractError, r"column 'region' is blank in 1 row\(s\): row 2")


# 5. cut files -------------------------------------------------------------------------

def test_file_cut_in_a_number_is_rejected(rejects):
    rejects(LONG + "akmola,2015,population,750000,persons\nastana,2020,population,123", DataFileError,
            r"cut.csv: truncated.*row\(s\) \[3\]", name="cut.csv")  # fewer fields
    rejects("region,year,variable,value\nakmola,2015,population,750000\nastana,2020,population,123", DataFileError,
            r"cut.csv: the file does not end with a newline, so its last row "
            r"\(row 3: 'astana,2020,population,123'\) may be cut off.*add a newline after the last row", name="cut.csv")


def test_complete_file_without_final_newline_needs_one(user_file, rejects):
    body = "region,year,variable,value\nastana,2020,population,1136008"
    rejects(body, DataFileError, r"row 2: 'astana,2020,population,1136008'\) may be cut off")
    assert read_user_table(user_file(body + "\n"))["value"].tolist() == [1136008.0]
    assert read_user_table(user_file(body.replace("\n", "\r\n") + "\r\n  \n"))["value"].tolist() == [1136008.0]


# 6. delimiters ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["t.tsv", "t.tab", "t.csv", "t.txt"])
def test_tab_separated_files(tmp_path, name):
    p = tmp_path / name
    p.write_bytes("\ufeffregion\tyear\tvariable\tvalue\nАстана\t2021\tpopulation\t1184469\n".encode("utf-8"))
    assert read_user_table(p)[["region", "value"]].values.tolist() == [["astana", 1184469.0]]


def test_semicolon_separated_csv(user_file, rejects):
    p = user_file("region;year;variable;value\nakmola;2015;population;750000\n")
    assert read_user_table(p)["value"].tolist() == [750000.0]
    # Excel writes ';' exactly when the decimal mark is a comma (issue 22): '4,9' is 4.9
    p = user_file("region;year;variable;value\nakmola;2015;unemployment_rate_pct;4,9\n")
    assert read_user_table(p)["value"].tolist() == [4.9]


def test_unknown_header_is_split_on_its_delimiter(rejects):
    rejects("region;year;varible;value\nakmola;2015;population;1\n", DataFileError,
            r"unrecognised layout; columns \['region', 'year', 'varible', 'value'\]")
    rejects("NAM\tDAT\tPERIOD\tVAL\nНаселение\t2017 год\t201712\t18 157 337\n", DataFileError,
            r"raw BNS dynamic-table export", name="bns.csv")


# 7. more bad cells --------------------------------------------------------------------

@pytest.mark.parametrize("year", ["2020.5", "20x0", "1e20"])
def test_year_that_is_not_whole(rejects, year):
    rejects(LONG + f"akmola,{year},population,1,persons\n", PanelContractError,
            rf"y.csv: column 'year' has 1 value\(s\) that are not whole years: row 2 \(region='akmola'\): '{year}'",
            name="y.csv")


def test_infinite_value(rejects):
    rejects(LONG + "akmola,2015,population,inf,persons\n", PanelContractError,
            r"row 2: \(region='akmola', year=2015.*'inf' is infinite")


def test_header_problems(user_file, rejects):
    rejects("region,year,variable,value,value\nakmola,2015,population,1,2\n", DataFileError,
            r"the header names column 'value' twice \(columns 4 and 5\)")
    rejects("region,year,variable,value,\nakmola,2015,population,1,7\n", DataFileError,
            r"row 2: column 5 holds '7' but has no name in the header")
    ok = read_user_table(user_file("region,year,variable,value,\nakmola,2015,population,1,\n,,,,\n"))
    assert list(ok.columns) == ["region", "year", "variable", "value"]


def test_unsupported_and_missing_files(tmp_path, rejects):
    rejects("x", DataFileError, r"old.xls: unsupported file type '.xls'.*save an old .xls", name="old.xls")
    rejects(tmp_path / "nope.csv", DataFileError, r"nope.csv: no such file")
    rejects(tmp_path, DataFileError, r"is a folder")
    rejects("not a zip", DataFileError, r"broken.xlsx: cannot be read as XLSX", name="broken.xlsx")
