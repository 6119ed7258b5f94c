"""Parsers of the statistics APIs on the project-made recorded responses (tests/data/fetch, see its README):
each parser, each documented defect, an unknown region and a changed column set."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kzmig.core.errors import DataError, DataFileError
from kzmig.features.ingest.fetch.catalog import SERIES
from kzmig.features.ingest.fetch.parse import (annual_year, fix_zero_groups, parse_cube, parse_number, parse_statgov_tsv,
                                        read_tsv)

REC = Path(__file__).resolve().parents[1] / "data" / "fetch"


def body(name: str) -> bytes:
    return (REC / name).read_bytes()


def values(parsed) -> dict[tuple[str, int], float]:
    return {(r, int(y)): v for r, y, v in parsed.rows[["region", "year", "value"]].itertuples(index=False)}


@pytest.mark.parametrize("text, expected", [
    ("785 343", 785343.0), ("1\u00a0234,5", 1234.5), ("1\u202f234\u202f567", 1234567.0), ("3 102,5", 3102.5),
    ("107224.3", 107224.3), ("-2 095", -2095.0), ("0", 0.0),
])
def test_number_with_space_separators_and_decimal_comma(text, expected):
    assert parse_number(text) == (expected, "")


@pytest.mark.parametrize("text, reason", [("x", "confidential"), ("X", "confidential"), ("х", "confidential"),
                                          ("", "missing"), ("-", "missing"), (" ", "missing")])
def test_confidential_and_blank_cells_are_not_numbers(text, reason):
    assert parse_number(text) == (None, reason)


def test_text_that_is_not_a_number_raises():
    with pytest.raises(ValueError):
        parse_number("12a")


@pytest.mark.parametrize("label, date, cumulative, year", [
    ("2020 год", None, False, 2020), ("2020", None, False, 2020), ("2017 г.", None, False, 2017),
    ("I квартал 2020 года", None, False, None), ("январь 2021", "31.01.2021", False, None),
    ("январь-декабрь 2021", "31.12.2021", True, 2021), ("январь-ноябрь 2021", "30.11.2021", True, None),
])
def test_period_labels(label, date, cumulative, year):
    assert annual_year(label, date, cumulative=cumulative) == year


def test_tsv_served_as_csv_with_bom_is_read_by_its_tab_delimiter():
    raw = body("population_6584.tsv")
    assert raw.startswith(b"\xef\xbb\xbf") and b"\t" in raw.splitlines()[0]  # the recording has both defects
    df = read_tsv(raw, "population")
    assert list(df.columns) == ["NAM", "DAT", "PERIOD", "КАТО", "LКАТО", "СПТМ", "LСПТМ", "VAL"]


def test_population_tsv_keeps_totals_of_regions_only():
    p = parse_statgov_tsv(body("population_6584.tsv"), SERIES["population"], "6584")
    got = values(p)
    # hand-written from the recording: 1 planted 2022 row + 3 regions x 4 years, totals only
    assert len(got) == 13
    assert got[("akmola", 2022)] == 786208 and got[("akmola", 2024)] == 788976
    assert got[("almaty_city", 2026)] == 2350000 and got[("abai", 2023)] == 610198
    skipped = p.skipped
    assert set(skipped["reason"]) == {"sub-regional"}
    assert sorted(set(skipped["label"])) == ["АККОЛЬСКИЙ РАЙОН", "Г.КОКШЕТАУ"] and len(skipped) == 8
    assert (p.rows["flag"] == "").all()


def test_spurious_zero_groups_are_divided_back_and_flagged():
    p = parse_statgov_tsv(body("grp_per_capita_5930.tsv"), SERIES["grp_per_capita"], "5930")
    got = values(p)
    assert got[("akmola", 2021)] == 3644.9  # printed "3 644 900 000.0"
    row = p.rows[(p.rows["region"] == "akmola") & (p.rows["year"] == 2021)].iloc[0]
    assert row["flag"] == "corrected:zero_groups" and "3 644 900 000.0" in row["note"]
    assert (p.rows["flag"] != "").sum() == 1
    assert got[("akmola", 2020)] == 3102.5 and got[("aktobe", 2022)] == 4790.0  # decimal comma
    assert ("aktobe", 2021) not in got  # "x"
    assert p.skipped.to_dict("records") == [{"label": "АКТЮБИНСКАЯ ОБЛАСТЬ", "year": 2021, "printed": "x",
                                             "reason": "confidential"}]


def test_zero_groups_example_of_sources_md():
    df = pd.DataFrame({"region": ["akmola"] * 4, "year": [2019, 2020, 2021, 2022],
                       "value": [900.0, 937_400_000.0, 950.0, 980.0],
                       "printed": ["900", "937 400 000.0", "950", "980"]})
    out = fix_zero_groups(df, "grp_per_capita_thousand_kzt")
    assert out["value"].tolist() == [900.0, 937.4, 950.0, 980.0]
    assert out["flag"].tolist() == ["", "corrected:zero_groups", "", ""]


def test_implausible_value_without_zero_groups_is_left_for_validation():
    df = pd.DataFrame({"region": ["akmola"] * 2, "year": [2020, 2021], "value": [900.0, 5e7],
                       "printed": ["900", "50000000"]})
    out = fix_zero_groups(df, "grp_per_capita_thousand_kzt")
    assert out["value"].tolist() == [900.0, 5e7] and out["flag"].tolist() == ["", ""]


def test_taldau_cube_keeps_total_terms_in_kzt_and_skips_x_and_districts():
    s = SERIES["avg_wage"]
    assert (s.variable, s.unit, s.scale) == ("avg_wage_kzt", "KZT per month", 1.0)  # the wage the models use
    p = parse_cube(body("avg_wage_702972.json"), s, "702972")
    got = values(p)
    assert got == {("kazakhstan", 2015): 126020.76, ("kazakhstan", 2020): 213003.0, ("kazakhstan", 2021): 250311.0,
                   ("kazakhstan", 2023): 364295.0, ("akmola", 2020): 168302.0, ("akmola", 2025): 361204.5,
                   ("almaty_city", 2020): 248500.0, ("almaty_city", 2021): 295985.0, ("abai", 2023): 300142.0,
                   ("abai", 2024): 339299.0, ("east_kazakhstan", 2023): 339854.0, ("east_kazakhstan", 2024): 380325.0}
    assert (p.rows["flag"] == "").all()  # all within avg_wage_kzt's range: no zero-group correction
    reasons = dict(zip(p.skipped["label"], p.skipped["reason"]))
    assert reasons == {"АКМОЛИНСКАЯ ОБЛАСТЬ": "confidential", "АККОЛЬСКИЙ РАЙОН": "sub-regional"}


def test_taldau_cube_new_series_and_a_two_dictionary_index():
    se = values(parse_cube(body("self_employed_702935.json"), SERIES["self_employed"], "702935"))
    assert len(se) == 8 and se[("kazakhstan", 2023)] == 2045.3 and ("akmola", 2023) not in se
    assert se[("akmola", 2021)] == 95.2  # not the urban breakdown 40.1
    pov = values(parse_cube(body("poverty_share_704498.json"), SERIES["poverty_share"], "704498"))
    assert pov == {("akmola", 2020): 5.9, ("akmola", 2021): 5.1, ("kazakhstan", 2020): 5.3, ("kazakhstan", 2021): 5.2}


def test_unknown_region_name_is_named_with_its_year():
    with pytest.raises(DataError, match=r"unknown region name 'НОВАЯ ОБЛАСТЬ' \(year 2023\)") as exc:
        parse_statgov_tsv(body("broken/population_unknown_region.tsv"), SERIES["population"], "element 6584")
    assert "element 6584" in str(exc.value)
    assert "closest known" not in str(exc.value)  # no far-fetched suggestion (it used to say 'atyrau')


@pytest.mark.parametrize("label, hint", [("АКМОЛИНСКАЯ ОБЛАСТ", "akmola"), ("ПАВЛАДАРСКАЯ ОБЛАСТЬ", "pavlodar"),
                                         ("ОБЛАСТЬ АБАИ", "abai"), ("НОВАЯ ОБЛАСТЬ", None),
                                         ("СЕВЕРНАЯ ОБЛАСТЬ", None), ("РЕСПУБЛИКА", None)])
def test_unknown_region_is_suggested_only_when_close(label, hint):
    from kzmig.features.ingest.fetch.parse import region_code
    from kzmig.features.data.regions import suggest_region

    assert suggest_region(label) == hint
    with pytest.raises(DataError, match=r"unknown region name") as exc:
        region_code(label, 2023, "element 6584")
    assert (f"closest known: {hint!r}" in str(exc.value)) if hint else ("closest known" not in str(exc.value))


def test_changed_column_set_names_the_missing_column():
    with pytest.raises(DataError, match=r"element 6584: the table has no column\(s\) \['VAL'\]") as exc:
        parse_statgov_tsv(body("broken/population_no_val.tsv"), SERIES["population"], "element 6584")
    assert "ЗНАЧЕНИЕ" in str(exc.value)  # the columns found are listed


def test_missing_key_of_a_cube_row_is_named():
    with pytest.raises(DataError, match=r"702972: row 1 has no key\(s\) \['periods'\]"):
        parse_cube(body("broken/avg_wage_no_periods.json"), SERIES["avg_wage"], "702972")


def test_wrong_number_of_dictionaries_is_a_layout_change():
    rows = [{"terms": [741880, 741917], "termNames": ["РЕСПУБЛИКА КАЗАХСТАН", "Всего"],
             "periods": [{"name": "2020 год", "date": "31.12.2020", "value": "1"}]}]
    with pytest.raises(DataError, match=r"2 term\(s\) .* for 5 dictionaries"):
        parse_cube(json.dumps(rows).encode(), SERIES["avg_wage"], "702972")


def test_two_totals_for_one_region_year_are_an_error():
    t = "NAM\tDAT\tКАТО(по каталогу)\tVAL\nx\t2020 год\tАКМОЛИНСКАЯ ОБЛАСТЬ\t1\nx\t2020 год\tАкмолинская область\t2\n"
    with pytest.raises(DataError, match=r"region='akmola', year=2020"):
        parse_statgov_tsv(t.encode(), SERIES["population"], "6584")


def test_value_that_is_not_a_number_names_region_and_year():
    t = "NAM\tDAT\tКАТО(по каталогу)\tVAL\nx\t2020 год\tАКМОЛИНСКАЯ ОБЛАСТЬ\t12a\n"
    with pytest.raises(DataError, match=r"region 'АКМОЛИНСКАЯ ОБЛАСТЬ', year 2020: value '12a'"):
        parse_statgov_tsv(t.encode(), SERIES["population"], "6584")


@pytest.mark.parametrize("raw, match", [(b"", "empty"), ("VAL\n1\n".encode("cp1251") + b"\xff\xfe", "not UTF-8"),
                                        (b"<html>oops", "not JSON")])
def test_unreadable_bodies(raw, match):
    with pytest.raises(DataFileError, match=match):
        (parse_cube if match == "not JSON" else parse_statgov_tsv)(raw, SERIES["population"], "6584")


def test_semicolon_and_comma_delimited_files_are_read_too():
    for sep in (";", ","):
        t = sep.join(["NAM", "DAT", "КАТО(по каталогу)", "VAL"]) + "\n" + sep.join(["x", "2020 год", "Г.АСТАНА", "1"])
        assert values(parse_statgov_tsv(t.encode(), SERIES["population"], "6584")) == {("astana", 2020): 1.0}


def test_recordings_are_what_their_script_makes(tmp_path):
    """The committed recordings are reproduced byte for byte by make_recordings.py (from the shipped data)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_recordings", REC / "make_recordings.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert made == sorted(["index.csv", "population_6584.tsv", "grp_per_capita_5930.tsv", "avg_wage_702972.json",
                           "self_employed_702935.json", "poverty_share_704498.json", "broken/population_no_val.tsv",
                           "broken/population_unknown_region.tsv", "broken/avg_wage_no_periods.json",
                           "housing_4289.tsv", "housing_taldau_701925.json"])
    for name in made:
        assert (tmp_path / name).read_bytes() == (REC / name).read_bytes(), name


def test_table_without_any_total_is_an_error():
    t = ("NAM\tDAT\tКАТО(по каталогу)\tСПТМ (по каталогу)\tVAL\n"
         "x\t2020 год\tАКМОЛИНСКАЯ ОБЛАСТЬ\tгородская местность\t1\n"
         "x\t2020 год\tАККОЛЬСКИЙ РАЙОН\tВсего\t2\n")
    with pytest.raises(DataError, match=r"6584: no regional total could be read from 2 row\(s\): 1 cell\(s\) left out "
                                        r"\{'sub-regional': 1\}"):
        parse_statgov_tsv(t.encode(), SERIES["population"], "6584")
