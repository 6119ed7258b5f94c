"""State targets in the planning outputs: the workbook sheet read back, the report section, the charts."""
from __future__ import annotations

import math
import re

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from kzmig.features.data.dataset import read_observations
from kzmig.forecast.planning.targets import read_targets, shipped_targets_path
from kzmig.reporting.planning_workbook import _Formats
from kzmig.reporting.report import build_report
from kzmig.reporting.state_targets import SECTION, SHEET, report_blocks, target_charts, write_state_targets_sheet
from kzmig.studies.targets import PRESS_BASES, state_targets


@pytest.fixture(scope="module")
def state():
    t = read_targets(shipped_targets_path())
    return state_targets(t.loc[t["indicator"].isin(PRESS_BASES)], read_observations())


def test_every_state_target_has_latest_growth_probability_or_reason_and_verdict(state):
    f = state["feasibility"]
    got = set(zip(f["indicator"], f["target"]))
    assert {("foreign_students_mnvo", 150000), ("foreign_students_bns", 150000), ("foreign_students_mnvo", 100000),
            ("foreign_students_bns", 100000), ("kz_citizens_left_for_work_abroad", 140521),
            ("foreign_workers_leb_permits", 16500), ("kandas_resettled_in_quota_regions", 2309)} <= got
    assert f["latest"].notna().all() and f["verdict"].ne("").all() and f["definition"].ne("").all()
    has_p = f["probability"].notna()
    assert (has_p ^ f["no_probability_reason"].ne("")).all()  # a probability or the reason, never both or none
    bns = f.loc[(f["indicator"] == "foreign_students_bns") & (f["target"] == 150000)].iloc[0]
    assert bns["n_points"] == 3 and 0 < bns["probability_lower"] <= bns["probability"] <= bns["probability_upper"] < 1
    assert bns["verdict"] == "needs faster growth than ever observed"
    workers = f.loc[f["indicator"] == "foreign_workers_leb_permits"].iloc[0]
    assert workers["latest"] == 14103 and workers["verdict"] == "met"  # 1 Dec 2025 stock under the 16,500 quota
    models = state["series_models"].set_index("series")
    assert models.loc["kandas_status_granted", "years"] == "[2019, 2020, 2022, 2023, 2025]"  # 2021 suspect left out
    assert "need a regular annual series" in models.loc["kandas_status_granted", "why"]
    use = state["quota_use"].set_index(["outcome", "year"])
    # by hand: the 1 Dec 2025 stock against the 2025 quota as revised in March; the 1 Nov 2021 stock against 29,300
    assert use.loc[("foreign_workers_leb_permits", 2025), "use_pct"] == pytest.approx(100 * 14103 / 16500)
    assert use.loc[("foreign_workers_leb_permits", 2021), "use_pct"] == pytest.approx(100 * 16059 / 29300)
    assert use.loc[("kandas_resettled_in_quota_regions", 2023), "use_pct"] == pytest.approx(100 * 2337 / 1925)
    fc = state["series_forecasts"]
    assert set(fc["series"]) == {"kandas_status_granted", "foreign_workers_leb_permits"}
    assert (fc["lower"] < fc["point"]).all() and (fc["point"] < fc["upper"]).all()


def test_workbook_sheet_reads_back(tmp_path, state):
    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    write_state_targets_sheet(wb, _Formats(wb), state, "run-1")
    wb.close()
    ws = openpyxl.load_workbook(path)[SHEET]
    assert ws.cell(1, 1).value == SECTION
    header = [c.value for c in ws[4]]
    assert header[0].startswith("Показатель") and "Вывод / verdict" in header
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5, max_row=4 + len(state["feasibility"]))]
    col = {h: i for i, h in enumerate(header)}
    feas = state["feasibility"].reset_index(drop=True)
    for i, r in enumerate(rows):
        assert r[col["Показатель / indicator"]] == feas.loc[i, "indicator"]
        assert r[col["Последнее значение / latest"]] == pytest.approx(feas.loc[i, "latest"])
        p = feas.loc[i, "probability"]
        assert (r[col["Вероятность / probability"]] is None) if math.isnan(p) else \
            r[col["Вероятность / probability"]] == pytest.approx(p)
    cells = [c.value for r in ws.iter_rows() for c in r]
    assert "Исполнение квоты / outcome against quota" in cells
    assert pytest.approx(100 * 14103 / 16500) in [v for v in cells if isinstance(v, float)]
    # the target year is shown as a year (format "0"), never with a thousands separator
    year_cells = [c for r in ws.iter_rows() for c in r if c.value == 2029]
    assert year_cells and all(c.number_format == "0" for c in year_cells)


def test_report_section_and_charts(state):
    figs = target_charts(state)
    assert len(figs) == len(state["feasibility"])
    html = build_report([(SECTION, report_blocks(state, figs))], title="t", meta={})
    assert SECTION in html and "too few points to say" in html and "needs faster growth than ever observed" in html
    assert html.count("<img") == len(figs)
    # counts whole, the date of the latest point without a thousands separator (not "2,025.00")
    table = html[html.index("feasibility on the published points"):]
    assert "150,000</td>" in table and "150,000.00" not in table
    assert re.search(r">20\d\d\.\d\d</td>", table) and not re.search(r">2,0\d\d\.\d\d</td>", table)
