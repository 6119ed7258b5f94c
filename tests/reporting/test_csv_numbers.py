"""The number policy of a run's CSVs and report tables: decimals by unit, hand-checked values.

Frames made by hand with known units (persons, per-1,000 rates, percentages, thousands, a
statistic) are written with the one CSV writer and read back as text and as numbers.
"""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from kzmig.features.data.variables import DERIVED, VARIABLES, known_variables, unit_of
from kzmig.reporting.planning import write_planning_csv
from kzmig.reporting.results import write_study
from kzmig.reporting.tables import (
    SIGNIFICANT,
    UNIT_DECIMALS,
    column_decimals,
    format_number,
    write_csv,
)
from kzmig.studies.base import StudyResult


def _rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_every_unit_of_the_registry_has_its_decimals():
    """A new unit must be decided: no variable falls back to the statistic rule by accident."""
    units = {v.unit for v in (*VARIABLES.values(), *DERIVED.values())} | {unit_of(n) for n in known_variables()}
    assert units <= set(UNIT_DECIMALS), sorted(units - set(UNIT_DECIMALS))


def test_wide_table_columns_take_their_variable_s_unit(tmp_path):
    df = pd.DataFrame({
        "region": ["astana", "akmola"],
        "year": [2024, 2024],
        "net_migration": [19429.00000000001, -0.4],                 # persons: whole
        "net_migration_rate_per_1000": [12.345678, -0.004],         # rate: 2 decimals
        "unemployment_rate_pct": [4.849999, 5.05],                  # %: 1 decimal (BNS)
        "employed_population": [612.34, np.nan],                    # thousand persons: 1 decimal
        "p_value": [0.000123456789, 0.5],                            # statistic: 6 significant digits
        "estimate": [64386.98443407912, -1.5e-9],
    })
    path = write_csv(df, tmp_path / "t.csv")
    rows = _rows(path)
    assert rows[0] == list(df.columns)
    assert rows[1] == ["astana", "2024", "19429", "12.35", "4.8", "612.3", "0.000123457", "64387"]
    # -0.4 persons is 0, not -0; -0.004 per 1,000 is 0.00; NaN is empty; a tiny statistic keeps its exponent
    assert rows[2] == ["akmola", "2024", "0", "0.00", "5.0", "", "0.5", "-1.5e-09"]
    back = pd.read_csv(path)
    assert back["net_migration"].tolist() == [19429, 0]
    assert back["net_migration_rate_per_1000"].tolist() == [12.35, 0.0]
    assert back["employed_population"].isna().tolist() == [False, True]
    # at most half a unit of the last decimal away from the value written
    assert abs(back["unemployment_rate_pct"] - df["unemployment_rate_pct"]).max() <= 0.05 + 1e-12


def test_long_table_value_columns_take_their_row_s_unit(tmp_path):
    df = pd.DataFrame({
        "target": ["net_migration", "net_migration_rate_per_1000", "no_such_series"],
        "year": [2030, 2030, 2030],
        "point": [-1078.4999, 2.71828, 3.14159265],
        "lower": [-2500.5, -0.123456, np.nan],
        "level": [0.8, 0.95, 0.8],                   # a statistic, not a count: never rounded to 1
        "mase": [0.912345678, 1.0, 1.23456789],
    })
    dec = column_decimals(df)
    assert dec["level"] is None and dec["mase"] is None
    assert dec["point"].tolist()[:2] == [0, 2]
    rows = _rows(write_csv(df, tmp_path / "long.csv"))
    assert rows[1] == ["net_migration", "2030", "-1078", "-2500", "0.8", "0.912346"]  # -2500.5 -> -2500 (half to even)
    assert rows[2] == ["net_migration_rate_per_1000", "2030", "2.72", "-0.12", "0.95", "1"]
    assert rows[3] == ["no_such_series", "2030", "3.14159", "", "0.8", "1.23457"]  # unknown unit: significant digits


def test_a_unit_column_wins_and_year_columns_are_values(tmp_path):
    wide = pd.DataFrame({"target": ["net_migration", "x_rate"], "variant": ["point", "point"],
                         "unit": ["persons", "per 1,000 population"], 2029: [1234.56, 1.23456], 2030: [np.nan, 7.0]})
    rows = _rows(write_planning_csv(wide, tmp_path / "w.csv"))
    assert (tmp_path / "w.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert rows[1:] == [["net_migration", "point", "persons", "1235", ""], ["x_rate", "point", "per 1,000 population",
                                                                           "1.23", "7.00"]]


@pytest.mark.parametrize("value, decimals, text", [
    (1234567.891, None, "1234568"),         # the integer part is never rounded away
    (0.1 + 0.2, None, "0.3"),
    (-0.0, 0, "0"), (-0.004, 2, "0.00"), (-0.006, 2, "-0.01"),
    (9653.0, 0, "9653"), (float("inf"), 0, "inf"), (np.nan, 0, ""),
    (1e-7, None, "1e-07"), (123.456, None, "123.456"), (2.5, 0, "2"), (3.5, 0, "4"),
])
def test_format_number_by_hand(value, decimals, text):
    assert format_number(value, decimals) == text
    assert SIGNIFICANT == 6


def test_people_get_thousands_separators_the_csv_never():
    assert format_number(9653.0, 0, thousands=True) == "9,653"
    assert format_number(1234567.25, 2, thousands=True) == "1,234,567.25"
    assert format_number(float("nan"), 0, missing="–") == "–"


def test_same_table_same_bytes_and_backtests_keep_every_digit(tmp_path):
    bt = pd.DataFrame({"target": ["net_migration"], "point": [19429.00000000001]})
    table = pd.DataFrame({"target": ["net_migration"], "point": [19429.00000000001]})
    res = StudyResult(study="forecast", name="t", tables={"backtest_predictions": bt, "forecasts": table})
    write_study(res, tmp_path / "a")
    write_study(res, tmp_path / "b")
    for name in ("backtest_predictions.csv", "forecasts.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert _rows(tmp_path / "a" / "forecasts.csv")[1] == ["net_migration", "19429"]
    # read back bit for bit by kzmig predict (kzmig.studies.saved_run.read_backtest)
    assert pd.read_csv(tmp_path / "a" / "backtest_predictions.csv")["point"].iloc[0] == 19429.00000000001


def test_report_tables_show_counts_whole_and_rates_with_their_decimals():
    """The report's tables (kzmig.reporting.report, through table_cells): no "9,653.00"."""
    from kzmig.reporting.report import TableBlock, build_report

    df = pd.DataFrame({"region": ["astana"], "net_migration": [9653.0], "net_migration_rate_per_1000": [7.4567],
                       "estimate": [-0.15512], "p_value": [0.10498], "growth_index": [np.nan]})
    page = build_report([("h", [TableBlock(df, names=False)])], title="t", meta={})
    assert re.findall(r"<td[^>]*>(.*?)</td>", page) == ["astana", "9,653", "7.46", "-0.155", "0.105", "–"]
    assert "9,653.00" not in page
    long = pd.DataFrame({"target": ["net_migration", "net_migration_rate_per_1000"], "point": [-1078.4, 2.345]})
    page = build_report([("h", [TableBlock(long, names=False)])], title="t", meta={})
    assert '<td class="num">-1,078</td>' in page and '<td class="num">2.35</td>' in page  # 2.345 is 2.3450000000000002 in binary


def test_workbooks_keep_every_digit_and_show_the_unit_s_decimals(tmp_path, accuracy, forecasts):
    import openpyxl

    from kzmig.reporting.planning import planning_tables, planning_targets
    from kzmig.reporting.planning_workbook import write_planning_workbook
    from kzmig.reporting.tables import write_workbook

    df = pd.DataFrame({"region": ["astana"], "net_migration": [9653.25], "net_migration_rate_per_1000": [7.4567],
                       "growth_index": [101.234]})
    ws = openpyxl.load_workbook(write_workbook({"t": df}, tmp_path / "a.xlsx"))["t"]
    head = [c.value for c in ws[1]]
    cell = {h: ws.cell(2, head.index(h) + 1) for h in ("net_migration", "net_migration_rate_per_1000", "growth_index")}
    assert cell["net_migration"].value == 9653.25 and cell["net_migration"].number_format == "#,##0"
    assert cell["net_migration_rate_per_1000"].number_format == "#,##0.00"
    assert cell["growth_index"].number_format == "General"  # a statistic: as Excel shows it
    # the accuracy sheet: mae of a count target in whole persons, mase with two decimals
    path = write_planning_workbook(tmp_path / "p.xlsx", tables=planning_tables(forecasts), accuracy=accuracy,
                                   meta={"run_id": "r"}, notes=[], targets=planning_targets(forecasts))
    ws = openpyxl.load_workbook(path)["accuracy"]
    rows = list(ws.iter_rows(min_row=4))
    head = [c.value for c in rows[0]]
    body = [r for r in rows[1:] if r[head.index("target")].value == "net_migration"]
    assert body and {r[head.index("mae")].number_format for r in body} == {"#,##0"}
    assert {r[head.index("mase")].number_format for r in body} == {"0.00"}
