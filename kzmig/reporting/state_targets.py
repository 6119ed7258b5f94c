"""State targets in the planning outputs: the workbook sheet «Государственные цели», the report
section "Государственные цели / State targets" and one chart per target.

Input: the ``feasibility``, ``feasibility_points``, ``series_forecasts`` and ``series_models``
tables of the run's targets part (:func:`kzmig.studies.targets.state_targets`). Rendering only:
every number is computed by :mod:`kzmig.forecast.planning.feasibility`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kzmig.reporting.i18n import N_, _, cell_text, current, label, number, number_text, percent, shown_name
from kzmig.reporting.tables import map_text

SHEET = "Государственные цели"
SECTION = N_("Государственные цели / State targets")
#: columns of the sheet and the report table: (column of ``feasibility``, Russian / English header)
COLUMNS = (
    ("indicator", N_("Показатель / indicator")), ("definition", N_("Определение / definition read against")),
    ("year", N_("Год цели / target year")), ("target", N_("Цель / target")),
    ("direction", N_("Направление / direction")),
    ("latest", N_("Последнее значение / latest")), ("latest_t", N_("Дата (доля года) / at")),
    ("n_points", N_("Точек / points")), ("required_growth", N_("Нужный рост в год / required growth")),
    ("observed_growth_mean", N_("Наблюдаемый рост, средний / observed mean")),
    ("observed_growth_sd", N_("Разброс / spread (s.d.)")), ("observed_spans", N_("Рост по отрезкам / growth by span")),
    ("probability", N_("Вероятность / probability")), ("probability_lower", N_("90 %: от / from")),
    ("probability_upper", N_("90 %: до / to")), ("no_probability_reason", N_("Почему нет вероятности / why none")),
    ("verdict", N_("Вывод / verdict")), ("source", N_("Источник цели / source")),
)
PERCENT = ("required_growth", "observed_growth_mean", "observed_growth_sd", "probability", "probability_lower",
           "probability_upper")
#: the report's number formats besides the percentages: counts whole, the date of the latest point as a
#: year with its fraction (2025.92 = 1 December 2025), never with a thousands separator
FORMATS = {"target": "{:,.0f}", "latest": "{:,.0f}", "latest_t": "{:.2f}", "year": "{:.0f}", "n_points": "{:.0f}"}
NOTE = N_("Sparse national series published by ministries and the BNS and quoted by the press (SOURCES.md, Round 6). "
        "Required growth g = (T / latest)^(1 / (year - date of latest)) - 1; observed growth between consecutive "
        "published points of the same definition; probability from a log-linear trend fitted to the points "
        "(slope and residual uncertainty, Student t), with a 90 % parametric-bootstrap interval, only with three "
        "points or more. Definitions are never chained, year-to-date figures are never read as a year.")


def reason_text(reason: str) -> str:
    """Why a target has no probability, in the current language (the feasibility study's reasons)."""
    if str(reason).startswith("too few points") and current() != "en":
        return _("too few published points")
    return _(str(reason))


def _localised(feas: pd.DataFrame) -> pd.DataFrame:
    """``feas`` with ``definition`` in the current language: the targets file's ``definition_ru`` in Russian
    where it is given (the file's ``definition`` otherwise), and in Russian the numbers of ``observed_spans``
    in the Russian convention; the ``definition_ru`` column dropped."""
    out = feas.drop(columns="definition_ru") if "definition_ru" in feas.columns else feas.copy()
    if current() == "ru":
        if "definition_ru" in feas.columns:
            ru = feas["definition_ru"].fillna("").astype(str)
            out["definition"] = ru.where(ru.str.strip() != "", feas["definition"])
        if "observed_spans" in out.columns:  # "2023.00-2024.00: +13.8%" -> "2023,00-2024,00: +13,8 %"
            out["observed_spans"] = out["observed_spans"].map(
                lambda v: _NUMBER.sub(lambda m: number_text(m.group(0)), v) if isinstance(v, str) else v)
    return out


#: a number inside a text (its sign only where no digit comes before it: the "-" of "2023-2024" is a dash)
_NUMBER = re.compile(r"(?<!\d)[+-]?\d+(?:\.\d+)?%?")


def state_target_table(feas: pd.DataFrame) -> pd.DataFrame:
    """The feasibility table with the sheet's bilingual headers, in the sheet's column order."""
    feas = _localised(feas)
    cols = [c for c, _h in COLUMNS if c in feas.columns]
    out = feas[cols].rename(columns={c: _(h) for c, h in COLUMNS})
    why = _(dict(COLUMNS)["no_probability_reason"])
    if why in out.columns:
        out[why] = out[why].map(lambda v: reason_text(v) if isinstance(v, str) and v else v)
    for c in ("verdict", "direction"):
        if _(dict(COLUMNS)[c]) in out.columns:
            out[_(dict(COLUMNS)[c])] = out[_(dict(COLUMNS)[c])].map(lambda v: _(v) if isinstance(v, str) else v)
    if _(dict(COLUMNS)["indicator"]) in out.columns:
        out[_(dict(COLUMNS)["indicator"])] = out[_(dict(COLUMNS)["indicator"])].map(label)
    return out


def write_state_targets_sheet(wb, fm, tables: Mapping[str, pd.DataFrame], run_id: str) -> None:
    """Add the sheet «Государственные цели» to an open xlsxwriter workbook (``fm``: its formats):
    the feasibility table, then the outcome against quota by year and the series forecasts' models."""
    feas = _localised(tables["feasibility"])
    ws = wb.add_worksheet(SHEET)
    ws.write(0, 0, _(SECTION), fm.title)
    ws.write(1, 0, _(NOTE), fm.note)
    table = state_target_table(feas)
    pct = wb.add_format({"num_format": "0.0%", "border": 1})
    num = wb.add_format({"num_format": "#,##0", "border": 1})
    dec = wb.add_format({"num_format": "0.00", "border": 1})
    whole = wb.add_format({"num_format": "0", "border": 1})  # a year: 2029, never "2,029"
    head = 3
    for j, (col, heading) in enumerate((c, lab) for c, lab in COLUMNS if c in feas.columns):
        ws.write(head, j, _(heading), fm.header)
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
                ws.write_string(head + 1 + i, j, _(str(v)) if col in ("verdict", "direction") else str(v), fm.field)
    row = head + len(table) + 3
    for key, title in (("quota_use", N_("Исполнение квоты / outcome against quota")),
                       ("series_models", N_("Прогнозы рядов / series forecasts: what was fitted and why"))):
        extra = tables.get(key)
        if extra is None or not len(extra):
            continue
        extra = _study_texts(extra)
        ws.write(row, 0, _(title), fm.bold)
        for j, c in enumerate(extra.columns):
            ws.write(row + 1, j, shown_name(c), fm.header)
            for i, v in enumerate(extra[c].tolist()):
                if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                    ws.write_number(row + 2 + i, j, float(v), dec if key == "quota_use" and c == "use_pct" else num)
                else:
                    ws.write_string(row + 2 + i, j, cell_text(str(v)), fm.field)
        row += len(extra) + 4
    ws.freeze_panes(head + 1, 1)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_footer("&L" + _("run {run_id}", run_id=run_id) + "&R" + _("page &P of &N"))


#: the targets study's reasons for a series model, with their numbers as placeholders (translated where shown)
WHY_TEXTS = (
    (re.compile(r"^log-linear trend with slope and residual uncertainty \(Student t predictive interval\); the "
                r"forecasting study's models \(naive, ETS, panel and direct models with a rolling-origin backtest\) "
                r"need a regular annual series without gaps and enough years to backtest, which these (?P<n>\d+) "
                r"points \((?P<years>[^)]*)\) are not$"),
     N_("log-linear trend with slope and residual uncertainty (Student t predictive interval); the forecasting "
        "study's models (naive, ETS, panel and direct models with a rolling-origin backtest) need a regular annual "
        "series without gaps and enough years to backtest, which these {n} points ({years}) are not")),
    (re.compile(r"^(?P<n>\d+) annual point\(s\): fewer than (?P<min>\d+)$"),
     N_("{n} annual point(s): fewer than {min}")),
)


def study_text(text: str) -> str:
    """A sentence of the targets study (what a series is, why a model) in the current language: a reason
    of :data:`WHY_TEXTS` with its numbers, or the catalogue's translation of the sentence, else as written."""
    for pattern, message in WHY_TEXTS:
        m = pattern.match(text)
        if m:
            return _(message, **m.groupdict())
    return _(text)


def _study_texts(frame: pd.DataFrame, columns=("what", "why")) -> pd.DataFrame:
    return map_text(frame, columns, study_text)


def report_blocks(tables: Mapping[str, pd.DataFrame], figures: Mapping[str, Figure]) -> list:
    """Blocks of the report section (text, tables, figures) for :func:`kzmig.reporting.report.write_report`."""
    from kzmig.reporting.report import FigureBlock, TableBlock

    feas = _localised(tables["feasibility"])
    lines = [_(NOTE)]
    for r in feas.itertuples(index=False):
        prob = (_("no probability: {reason}", reason=reason_text(r.no_probability_reason)) if r.no_probability_reason else
                _("probability {p} (90 % interval {lo} to {hi})", p=percent(r.probability, 1), lo=percent(r.probability_lower, 1),
                  hi=percent(r.probability_upper, 1)))
        req = "" if pd.isna(r.required_growth) else _(", needs {g} a year", g=percent(r.required_growth, 1, sign=True))
        obs = "" if pd.isna(r.observed_growth_mean) else _(" against {g} observed on average",
                                                           g=percent(r.observed_growth_mean, 1, sign=True))
        lines.append(_("{indicator} {sign} {target} in {year} (read against: {definition}): latest {latest}{req}{obs}; "
                       "{prob}. Verdict: {verdict}.", indicator=label(r.indicator),
                       sign="≥" if r.direction == "at_least" else "≤", target=number(r.target), year=r.year,
                       definition=r.definition, latest=number(r.latest), req=req, obs=obs, prob=prob,
                       verdict=_(r.verdict)))
    formats = {_(lab): "{:.1%}" if c in PERCENT else FORMATS[c] for c, lab in COLUMNS if c in PERCENT or c in FORMATS}
    blocks: list = [lines, TableBlock(state_target_table(feas), caption=_("State targets: feasibility on the "
                                      "published points"), names=False, formats=formats)]
    if "quota_use" in tables and len(tables["quota_use"]):
        blocks.append(TableBlock(_study_texts(tables["quota_use"]), caption=_("Outcome against quota, every year both are published "
                                 "(use_pct = 100 x outcome / quota)"), names=False, formats={"use_pct": "{:.1f}"},
                                 labels=True))
    if "series_models" in tables and len(tables["series_models"]):
        blocks.append(TableBlock(_study_texts(tables["series_models"]), caption=_("Series forecasts: what was fitted and why"),
                                 names=False, labels=True))
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
        ax.plot(p["t"], p["value"], "o-", color="#1f4e79", label=_("published points"))
        if r.year > r.latest_t:
            tt = np.linspace(r.latest_t, r.year, 25)  # constant growth g_req from the latest point
            ax.plot(tt, r.latest * (r.target / r.latest) ** ((tt - r.latest_t) / (r.year - r.latest_t)), "--",
                    color="#c00000", label=_("required path (constant growth)"))
            if len(p) >= 3:
                path = loglinear_path(p, range(int(math.floor(r.latest_t)) + 1, int(r.year) + 1), 0.8)
                ax.fill_between(path["year"], path["lower"], path["upper"], color="#9dc3e6", alpha=0.5,
                                label=_("projected 80 % range (log-linear trend)"))
                ax.plot(path["year"], path["point"], ":", color="#1f4e79")
        ax.axhline(r.target, color="#c00000", lw=0.8)
        ax.scatter([r.year], [r.target], marker="*", s=120, color="#c00000", zorder=3,
                   label=_("target {target}", target=number(r.target)))
        ax.set_title(_("{indicator}: {target} by {year} ({verdict})", indicator=label(r.indicator),
                       target=number(r.target), year=r.year, verdict=_(r.verdict)), fontsize=9)
        ax.set_xlabel(_("year"))
        ax.legend(fontsize=7, loc="best")
        out[f"state_target_{r.indicator}_{r.year}_{int(r.target)}"] = fig
    return out
