"""Planning tables, CSV and workbook, on the SYNTHETIC run of conftest.py (read back with openpyxl)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kzmig.core.errors import DataError
from kzmig.reporting.planning import (
    planning_notes,
    planning_tables,
    planning_targets,
    region_order,
    vintage_text,
    write_planning_csv,
)
from kzmig.reporting.planning_workbook import CONTACT_FIELDS, sheet_names, write_planning_workbook

from planning_data import CAVEAT, SPECIALIST

META = {"run_id": "20250301T100000Z-abc1234-x1", "created_at": "2025-03-01T10:00:00Z",
        "vintage": {"population": 2025, "net_migration": 2024, "arrivals": 2024},
        "method": "Each target is forecast by the model with the lowest backtest error. Intervals are "
                  "conformal where the model has none."}


# --- the wide table -------------------------------------------------------------------------------

def test_wide_table_columns_variants_and_values(forecasts):
    wide = planning_tables(forecasts)
    assert list(wide.columns) == ["target", "variant", "region", "region_name_ru", "region_name_en", 2025, 2026, 2027]
    assert list(dict.fromkeys(wide["target"])) == ["net_migration", "net_migration_rate_per_1000", SPECIALIST,
                                                   "population"]
    nm = wide.loc[wide["target"] == "net_migration"]
    assert list(dict.fromkeys(nm["variant"])) == ["point", "low_80", "high_80", "low_95", "high_95"]
    # every cell equals the selected model's row of the long table (an independent lookup)
    sel = forecasts.loc[forecasts["selected"]]
    col = {"point": "point", "low": "lower", "high": "upper"}
    for rec in wide.itertuples(index=False):
        kind, _, tag = rec.variant.partition("_")
        for year in (2025, 2026, 2027):
            rows = sel.loc[(sel["target"] == rec.target) & (sel["region"] == rec.region) & (sel["year"] == year)]
            if tag:
                rows = rows.loc[np.isclose(rows["level"], int(tag) / 100)]
            assert getattr(rec, f"_{year - 2025 + 5}") == rows[col[kind]].iloc[0]
    assert (wide.loc[wide["target"] == "net_migration", "region"] != "naive").all()


def test_regions_in_registry_order_national_last_with_names(forecasts):
    wide = planning_tables(forecasts)
    for (_, _), g in wide.groupby(["target", "variant"], sort=False):
        regions = list(g["region"])
        assert regions == [r for r in region_order() if r in regions]
        assert regions[-1] == "kazakhstan"
    names = wide.drop_duplicates("region").set_index("region")
    assert names.at["astana", "region_name_ru"] == "г. Астана"
    assert names.at["kazakhstan", "region_name_en"] == "Republic of Kazakhstan"


def test_targets_order_puts_named_targets_first(forecasts):
    wide = planning_tables(forecasts, targets_order=["population"])
    assert list(dict.fromkeys(wide["target"]))[:2] == ["population", "net_migration"]
    with pytest.raises(DataError, match="'births'"):
        planning_tables(forecasts, targets_order=["births"])


def test_target_without_selected_model_is_named(forecasts):
    f = forecasts.copy()
    f.loc[f["target"] == "net_migration_rate_per_1000", "selected"] = False
    with pytest.raises(DataError, match=r"target 'net_migration_rate_per_1000' has no selected model"):
        planning_tables(f)


def test_two_selected_models_or_duplicate_rows_are_errors(forecasts):
    f = forecasts.copy()
    f.loc[f["target"] == "net_migration", "selected"] = True
    with pytest.raises(DataError, match=r"'net_migration' has 2 selected models \['arima', 'naive'\]"):
        planning_tables(f)
    dup = pd.concat([forecasts, forecasts.iloc[[0]].assign(origin_year=2023)], ignore_index=True)
    with pytest.raises(DataError, match=r"region='astana', year=2025"):
        planning_tables(dup)


def test_unknown_region_is_named(forecasts):
    f = forecasts.copy()
    f.loc[f["region"] == "akmola", "region"] = "akmolla"
    with pytest.raises(DataError, match="akmolla"):
        planning_tables(f)


def test_point_only_target_gives_point_variant(forecasts):
    f = forecasts.loc[forecasts["target"] == "net_migration"].copy()
    f = f.loc[np.isclose(f["level"], 0.8)].assign(level=np.nan, lower=np.nan, upper=np.nan)
    assert set(planning_tables(f)["variant"]) == {"point"}


def test_targets_summary_unit_caveat_and_notes(forecasts, accuracy):
    t = planning_targets(forecasts).set_index("target")
    assert t.at["net_migration", "model"] == "arima"
    assert t.at["net_migration_rate_per_1000", "rate"] and not t.at["population", "rate"]
    assert t.at[SPECIALIST, "caveat"] == CAVEAT and t.at["net_migration", "caveat"] == ""
    assert t.at["net_migration", "levels"] == "80, 95"
    notes = dict(planning_notes(planning_targets(forecasts), accuracy, breaks="2009: census re-basing",
                                gaps=["No 2021 flows by specialty."]))
    assert "80 % interval held the outcome in 77\u00a0%" in notes["Target net_migration"]
    assert "conformal" in notes["Target net_migration"] and CAVEAT in notes[f"Target {SPECIALIST}"]
    assert notes["Break years"] == "2009: census re-basing" and "2021" in notes["Data gaps"]


def test_vintage_is_compact():
    assert vintage_text({"population": 2025, "net_migration": 2024, "arrivals": 2024}) == \
        "population to 2025; net migration, arrivals to 2024"
    assert vintage_text(None) == "not recorded"


def test_csv_has_bom_cyrillic_and_round_trips(forecasts, tmp_path):
    wide = planning_tables(forecasts)
    out = write_planning_csv(wide, tmp_path / "planning.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "г. Астана".encode() in raw and b"\r\n" not in raw
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert list(back.columns[:5]) == ["target", "variant", "region", "region_name_ru", "region_name_en"]
    # written with the decimals of the row's unit: persons whole, per-1,000 rates two decimals
    half = np.where(back["target"].str.contains("_rate_per_1000"), 0.005, 0.5)[:, None]
    got, want = back[["2025", "2026", "2027"]].to_numpy(), wide[[2025, 2026, 2027]].to_numpy()
    assert (np.isnan(got) == np.isnan(want)).all()
    assert (np.abs(got - want)[~np.isnan(want)] <= (half + 1e-9 * np.abs(want))[~np.isnan(want)]).all()
    persons = ~back["target"].str.contains("_rate_per_1000").to_numpy()
    assert (np.nan_to_num(got[persons]) == np.round(np.nan_to_num(got[persons]))).all()  # whole persons
    assert [p.name for p in tmp_path.iterdir()] == ["planning.csv"]


# --- the workbook ---------------------------------------------------------------------------------

def _write(forecasts, accuracy, path, **kw):
    targets = planning_targets(forecasts)
    return write_planning_workbook(path, tables=planning_tables(forecasts), accuracy=accuracy, meta=META,
                                   notes=planning_notes(targets, accuracy), targets=targets, **kw)


@pytest.fixture
def book(forecasts, accuracy, tmp_path):
    return openpyxl.load_workbook(_write(forecasts, accuracy, tmp_path / "planning.xlsx"))


TARGET_SHEETS = ["net_migration", "net_migration 95%", "net_migration_rate_per_1000",
                 "net_migration_rate_per_1000 95%", "dep spec medical",
                 "dep spec medical 95%", "population", "population 95%"]


def test_sheet_names(book):
    assert book.sheetnames == ["cover", "notes", *TARGET_SHEETS, "accuracy"]
    assert all(len(n) <= 31 for n in book.sheetnames)


def test_sheet_names_are_cut_uniquely():
    names = sheet_names(["a" * 40, "a" * 40 + "b", "A" * 35], suffixes=["", "", " 95%"])
    assert names == ["a" * 31, "a" * 29 + "~2", "A" * 27 + " 95%"]
    assert sheet_names(["cover", "x/y"]) == ["cover~2", "x_y"]


def _blocks(ws):
    """(column -> (variant, year)) from the block-title row 4 and the year row 5."""
    out, variant = {}, None
    for c in range(4, ws.max_column + 1):
        title = ws.cell(4, c).value
        if title:
            variant = "point" if title.startswith("Point") else \
                ("low_" if ": low" in title else "high_") + title.split(" ")[0]
        if ws.cell(5, c).value is not None:
            out[c] = (variant, ws.cell(5, c).value)
    return out


def test_every_number_equals_the_long_table(book, forecasts):
    sel = forecasts.loc[forecasts["selected"]]
    expected = set()
    for r in sel.itertuples(index=False):
        tag = f"{round(r.level * 100)}"
        expected |= {(r.target, "point", r.region, r.year), (r.target, f"low_{tag}", r.region, r.year),
                     (r.target, f"high_{tag}", r.region, r.year)}
    seen = set()
    col = {"point": "point", "low": "lower", "high": "upper"}
    for name in TARGET_SHEETS:
        ws = book[name]
        target = ws["A1"].value.split(":")[0]
        assert [ws.cell(5, c).value for c in (1, 2, 3)] == ["region", "Регион", "Region"]
        for c, (variant, year) in _blocks(ws).items():
            kind, _, tag = variant.partition("_")
            for r in range(6, ws.max_row + 1):
                region = ws.cell(r, 1).value
                rows = sel.loc[(sel["target"] == target) & (sel["region"] == region) & (sel["year"] == year)]
                if tag:
                    rows = rows.loc[np.isclose(rows["level"], int(tag) / 100)]
                # xlsxwriter stores 16 significant digits (Excel shows 15), hence rtol 1e-15, not equality
                assert ws.cell(r, c).value == pytest.approx(rows[col[kind]].iloc[0], rel=1e-15, abs=0), \
                    (name, region, variant, year)
                seen.add((target, variant, region, year))
    assert seen == expected  # every value of the selected models is somewhere, and nothing else


def test_header_names_national_last_and_caveat(book):
    ws = book["net_migration"]
    assert [ws.cell(5, c).value for c in range(1, 7)] == ["region", "Регион", "Region", 2025, 2026, 2027]
    rows = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(6, ws.max_row + 1)}
    assert rows["astana"] == "г. Астана" and list(rows)[-1] == "kazakhstan"
    assert ws.cell(ws.max_row, 1).font.b  # the national row is bold
    for name in TARGET_SHEETS:
        caveat = book[name]["A2"].value
        if name.startswith(("external_departures", "dep spec")):
            assert CAVEAT in caveat
        else:
            assert caveat is None


def test_frozen_panes_print_setup_and_number_formats(book):
    for name in TARGET_SHEETS:
        ws = book[name]
        assert ws.freeze_panes == "D6"
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$4:$5"
        assert META["run_id"] in ws.oddHeader.right.text and META["run_id"] in ws.oddFooter.left.text
        fmt = "#,##0.00" if name.startswith("net_migration_rate") else "#,##0"
        assert {ws.cell(r, c).number_format for r in range(6, ws.max_row + 1) for c in range(4, ws.max_column + 1)
                if ws.cell(r, c).value is not None} == {fmt}
        assert ws.column_dimensions["B"].width > 10
    assert book["accuracy"].freeze_panes == "C5"


def test_cover_notes_and_document_date(book):
    cover = {r[0]: r[1] for r in book["cover"].iter_rows(values_only=True) if r[0]}
    assert cover["Run id / Идентификатор расчёта"] == META["run_id"]
    assert cover["Data vintage / Данные"] == "population to 2025; net migration, arrivals to 2024"
    assert cover["Method / Метод"] == META["method"]
    assert "net_migration: arima" in cover["Selected models / Модели"]
    assert cover["dep spec medical"].startswith(SPECIALIST)  # the sheet list gives the full name
    ws = book["cover"]
    for label in CONTACT_FIELDS:
        r = next(c.row for c in ws["A"] if c.value == label)
        assert ws.cell(r, 2).value is None and ws.cell(r, 2).border.left.style == "thin"
    notes = {r[0]: r[1] for r in book["notes"].iter_rows(values_only=True) if r[0]}
    assert "Variants" in notes and "Target population" in notes
    assert book.properties.created == dt.datetime(2025, 3, 1, 10, 0)


def test_accuracy_sheet_marks_the_selected_model(book, accuracy):
    ws = book["accuracy"]
    header = [c.value for c in ws[4]]
    assert header[:11] == ["target", "model", "selected", "region", "horizon", "n", "mae", "rmse", "mase",
                           "coverage_80", "coverage_95"]
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=5, values_only=True)]
    assert len(rows) == int((accuracy["horizon"] > 0).sum())  # the per-region row is left out
    for r in rows:
        chosen = {"net_migration": "arima", "net_migration_rate_per_1000": "drift",
                  "population": "population_balance"}[r["target"]]
        assert (r["selected"] == "selected") == (r["model"] == chosen)
    first = rows[0]
    assert (first["target"], first["model"], first["region"], first["horizon"]) == ("net_migration", "arima",
                                                                                    "all_regions", 1)
    assert first["mase"] == pytest.approx(0.7) and ws.cell(5, 1).font.b


def test_two_writes_are_byte_identical(forecasts, accuracy, tmp_path):
    a = _write(forecasts, accuracy, tmp_path / "a.xlsx").read_bytes()
    b = _write(forecasts, accuracy, tmp_path / "b.xlsx").read_bytes()
    assert a == b
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "b.xlsx"]  # no temporary file left


def test_explicit_caveats_replace_the_table_ones(forecasts, accuracy, tmp_path):
    book = openpyxl.load_workbook(_write(forecasts, accuracy, tmp_path / "c.xlsx",
                                         caveats={"population": "provisional: 2021 census not yet included"}))
    assert "provisional" in book["population"]["A2"].value and "provisional" in book["population 95%"]["A2"].value
    assert book["dep spec medical"]["A2"].value is None


def test_missing_target_table_is_named(forecasts, accuracy, tmp_path):
    targets = planning_targets(forecasts)
    tables = planning_tables(forecasts)
    with pytest.raises(DataError, match="'population'"):
        write_planning_workbook(tmp_path / "x.xlsx", tables=tables.loc[tables["target"] != "population"],
                                accuracy=accuracy, meta=META, notes=[], targets=targets)
    assert not list(tmp_path.iterdir())
