"""State targets in the planning outputs: the workbook sheet «Государственные цели», the report
section "Государственные цели / State targets" and one chart per target.

Input: the ``feasibility``, ``feasibility_points``, ``series_forecasts`` and ``series_models``
tables of the run's targets part (:func:`kzmig.studies.targets.state_targets`). Rendering only:
every number is computed by :mod:`kzmig.forecast.planning.feasibility`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SHEET = "Государственные цели"
SECTION = "Государственные цели / State targets"
#: columns of the sheet and the report table: (column of ``feasibility``, Russian / English header)
COLUMNS = (
    ("indicator", "Показатель / indicator"), ("definition", "Определение / definition read against"),
    ("year", "Год цели / target year"), ("target", "Цель / target"), ("direction", "Направление / direction"),
    ("latest", "Последнее значение / latest"), ("latest_t", "Дата (доля года) / at"),
    ("n_points", "Точек / points"), ("required_growth", "Нужный рост в год / required growth"),
    ("observed_growth_mean", "Наблюдаемый рост, средний / observed mean"),
    ("observed_growth_sd", "Разброс / spread (s.d.)"), ("observed_spans", "Рост по отрезкам / growth by span"),
    ("probability", "Вероятность / probability"), ("probability_lower", "90 %: от / from"),
    ("probability_upper", "90 %: до / to"), ("no_probability_reason", "Почему нет вероятности / why none"),
    ("verdict", "Вывод / verdict"), ("source", "Источник цели / source"),
)
PERCENT = ("required_growth", "observed_growth_mean", "observed_growth_sd", "probability", "probability_lower",
           "probability_upper")
#: the report's number formats besides the percentages: counts whole, the date of the latest point as a
#: year with its fraction (2025.92 = 1 December 2025), never with a thousands separator
FORMATS = {"target": "{:,.0f}", "latest": "{:,.0f}", "latest_t": "{:.2f}", "year": "{:.0f}", "n_points": "{:.0f}"}
NOTE = ("Sparse national series published by ministries and the BNS and quoted by the press (SOURCES.md, Round 6). "
        "Required growth g = (T / latest)^(1 / (year - date of latest)) - 1; observed growth between consecutive "
        "published points of the same definition; probability from a log-linear trend fitted to the points "
        "(slope and residual uncertainty, Student t), with a 90 % parametric-bootstrap interval, only with three "
        "points or more. Definitions are never chained, year-to-date figures are never read as a year.")


def state_target_table(feas: pd.DataFrame) -> pd.DataFrame:
    """The feasibility table with the sheet's bilingual headers, in the sheet's column order."""
    cols = [c for c, _ in COLUMNS if c in feas.columns]
    return feas[cols].rename(columns=dict(COLUMNS))


def write_state_targets_sheet(wb, fm, tables: Mapping[str, pd.DataFrame], run_id: str) -> None:
    """Add the sheet «Государственные цели» to an open xlsxwriter workbook (``fm``: its formats):
    the feasibility table, then the outcome against quota by year and the series forecasts' models."""
    feas = tables["feasibility"]
    ws = wb.add_worksheet(SHEET)
    ws.write(0, 0, SECTION, fm.title)
    ws.write(1, 0, NOTE, fm.note)
    table = state_target_table(feas)
    pct = wb.add_format({"num_format": "0.0%", "border": 1})
    num = wb.add_format({"num_format": "#,##0", "border": 1})
    dec = wb.add_format({"num_format": "0.00", "border": 1})
    whole = wb.add_format({"num_format": "0", "border": 1})  # a year: 2029, never "2,029"
    head = 3
    for j, (col, label) in enumerate((c, lab) for c, lab in COLUMNS if c in feas.columns):
        ws.write(head, j, label, fm.header)
        width = 40 if col in ("definition", "observed_spans", "no_probability_reason", "source") else 14
        ws.set_column(j, j, width)
        for i, v in enumerate(feas[col].tolist()):
            if isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
                if isinstance(v, float) and math.isnan(v):
                    ws.write_blank(head + 1 + i, j, None, fm.field)
                else:
                    fmt = pct if col in PERCENT else dec if col == "latest_t" else whole if col == "year" else num
                    ws.write_number(head + 1 + i, j, float(v), fmt)
            else:
                ws.write_string(head + 1 + i, j, str(v), fm.field)
    row = head + len(table) + 3
    for key, title in (("quota_use", "Исполнение квоты / outcome against quota"),
                       ("series_models", "Прогнозы рядов / series forecasts: what was fitted and why")):
        extra = tables.get(key)
        if extra is None or not len(extra):
            continue
        ws.write(row, 0, title, fm.bold)
        for j, c in enumerate(extra.columns):
            ws.write(row + 1, j, c, fm.header)
            for i, v in enumerate(extra[c].tolist()):
                if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                    ws.write_number(row + 2 + i, j, float(v), dec if key == "quota_use" and c == "use_pct" else num)
                else:
                    ws.write_string(row + 2 + i, j, str(v), fm.field)
        row += len(extra) + 4
    ws.freeze_panes(head + 1, 1)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_footer(f"&Lrun {run_id}&Rpage &P of &N")


def report_blocks(tables: Mapping[str, pd.DataFrame], figures: Mapping[str, Figure]) -> list:
    """Blocks of the report section (text, tables, figures) for :func:`kzmig.reporting.report.write_report`."""
    from kzmig.reporting.report import FigureBlock, TableBlock

    feas = tables["feasibility"]
    lines = [NOTE]
    for r in feas.itertuples(index=False):
        prob = ("no probability: " + r.no_probability_reason if r.no_probability_reason else
                f"probability {r.probability:.1%} (90 % interval {r.probability_lower:.1%} to {r.probability_upper:.1%})")
        req = "" if pd.isna(r.required_growth) else f", needs {r.required_growth:+.1%} a year"
        obs = "" if pd.isna(r.observed_growth_mean) else f" against {r.observed_growth_mean:+.1%} observed on average"
        lines.append(f"{r.indicator} {'≥' if r.direction == 'at_least' else '≤'} {r.target:,.0f} in {r.year} "
                     f"(read against: {r.definition}): latest {r.latest:,.0f}{req}{obs}; {prob}. "
                     f"Verdict: {r.verdict}.")
    blocks: list = [lines, TableBlock(state_target_table(feas), caption="State targets: feasibility on the "
                                      "published points", names=False,
                                      formats={lab: "{:.1%}" if c in PERCENT else FORMATS[c]
                                               for c, lab in COLUMNS if c in PERCENT or c in FORMATS})]
    if "quota_use" in tables and len(tables["quota_use"]):
        blocks.append(TableBlock(tables["quota_use"], caption="Outcome against quota, every year both are published "
                                 "(use_pct = 100 x outcome / quota)", names=False, formats={"use_pct": "{:.1f}"}))
    if "series_models" in tables and len(tables["series_models"]):
        blocks.append(TableBlock(tables["series_models"], caption="Series forecasts: what was fitted and why",
                                 names=False))
    blocks += [FigureBlock(f, alt=k) for k, f in figures.items()]
    return blocks


def target_charts(tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """One chart per target: published points, the required path from the latest point to the
    target, and the projected 80 % range of the log-linear trend (where there is one)."""
    from kzmig.forecast.planning.feasibility import loglinear_path

    feas, pts = tables["feasibility"], tables["feasibility_points"]
    out = {}
    for r in feas.itertuples(index=False):
        p = pts.loc[pts["indicator"] == r.indicator].sort_values("t")
        fig = Figure(figsize=(7, 4))
        ax = fig.subplots()
        ax.plot(p["t"], p["value"], "o-", color="#1f4e79", label="published points")
        if r.year > r.latest_t:
            tt = np.linspace(r.latest_t, r.year, 25)  # constant growth g_req from the latest point
            ax.plot(tt, r.latest * (r.target / r.latest) ** ((tt - r.latest_t) / (r.year - r.latest_t)), "--",
                    color="#c00000", label="required path (constant growth)")
            if len(p) >= 3:
                path = loglinear_path(p, range(int(math.floor(r.latest_t)) + 1, int(r.year) + 1), 0.8)
                ax.fill_between(path["year"], path["lower"], path["upper"], color="#9dc3e6", alpha=0.5,
                                label="projected 80 % range (log-linear trend)")
                ax.plot(path["year"], path["point"], ":", color="#1f4e79")
        ax.axhline(r.target, color="#c00000", lw=0.8)
        ax.scatter([r.year], [r.target], marker="*", s=120, color="#c00000", zorder=3, label=f"target {r.target:,.0f}")
        ax.set_title(f"{r.indicator}: {r.target:,.0f} by {r.year} ({r.verdict})", fontsize=9)
        ax.set_xlabel("year")
        ax.legend(fontsize=7, loc="best")
        out[f"state_target_{r.indicator}_{r.year}_{int(r.target)}"] = fig
    return out
