"""The planning workbook: a cover, notes, one sheet per target and interval, backtest accuracy.

Layout, sheet by sheet (rows and columns counted from 1, as Excel shows them):

``cover``
    Title, run id, created at, data vintage (:func:`kzmig.reporting.planning.vintage_text`),
    the method in two sentences, the targets with their selected models, a list of the sheets
    (full target names, since sheet names are cut to 31 characters) and contact fields to
    fill in (prepared by, department, phone, e-mail, date: empty cells with borders).
``notes``
    One row per (heading, text) pair of ``notes``: definitions, units, intervals, break years,
    data gaps (:func:`kzmig.reporting.planning.planning_notes` drafts them).
``<target>`` (one per target)
    Row 1 the target, its selected model and unit; row 2 the caveat of a composition-based
    target (red), empty otherwise; row 3 what the blocks are; row 4 the block titles; row 5
    the column headers ``region``, ``Регион``, ``Region`` and the years. From row 6 one row per
    region in registry order, the national row last (bold). The values sit in **three blocks
    side by side**: point forecast | 80 % low | 80 % high, each with the years in the same
    order, so that a planner copies one contiguous row of points into a budget template and
    still sees the range to its right; rows 1-5 and columns A-C are frozen.
``<target> 95%`` (and one per other stored level)
    The same layout with the point forecast | 95 % low | 95 % high.
``accuracy``
    Backtest metrics by target, region aggregate (``all_regions``, ``all_regions_no_breaks``),
    model and horizon; the selected model's rows bold and marked ``selected``.

Numbers are persons with thousands separators and no decimals, or rates with two decimals
(:func:`kzmig.reporting.planning.number_format`). Every sheet prints landscape (cover and
notes portrait), one page wide, with the header rows repeated and the run id in the page
header. The document's creation time is the run's ``created_at`` (or 2000-01-01), so the
same inputs give the same bytes.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import xlsxwriter

from kzmig.core.atomic import atomic_path
from kzmig.core.errors import DataError
from kzmig.features.data.regions import NATIONAL
from kzmig.reporting.i18n import N_, _, cell_text, current, label, sheet_label, shown_name
from kzmig.reporting.planning import KEY_COLUMNS, number_format, vintage_text
from kzmig.reporting.tables import column_decimals, excel_format, row_digits

logger = logging.getLogger(__name__)

MAIN_LEVEL = "80"
FIXED_CREATED = dt.datetime(2000, 1, 1)
RESERVED = ("cover", "notes", "accuracy")
FIRST_DATA_ROW = 5  # 0-based: rows 0-4 are title, caveat, explanation, block titles, column headers
NAME_COLUMNS = (N_("region"), "Регион", "Region")
CONTACT_FIELDS = (N_("Prepared by / Подготовил"), N_("Department / Подразделение"), N_("Phone / Телефон"),
                  N_("E-mail / Эл. почта"), N_("Date / Дата"))
AGGREGATES = ("all_regions", "all_regions_no_breaks", "all_series", "all_series_no_breaks")
ACCURACY_ORDER = ("target", "model", "selected", "region", "horizon", "n", "mae", "rmse", "mase")


#: long target-name prefixes shortened in sheet names (the cover lists the full names)
SHORT = (("external_departures_specialty_", "dep spec "), ("external_arrivals_specialty_", "arr spec "),
         ("external_departures_education_", "dep edu "), ("external_arrivals_education_", "arr edu "),
         ("external_departures_to_", "dep to "), ("external_arrivals_from_", "arr from "),
         ("external_departures", "departures"), ("external_arrivals", "arrivals"),
         ("net_migration_rate_per_1000", "net migration rate"), ("net_migration", "net migration"))


def short_label(target: str) -> str:
    """A readable sheet label for a name too long for Excel's 31 characters:
    ``external_departures_specialty_technical`` -> ``dep spec technical``."""
    for prefix, short in SHORT:
        if target.startswith(prefix):
            return (short + target[len(prefix):]).replace("_", " ").strip()
    return target


def sheet_text(target: str, suffix: str = "") -> str:
    """The sheet label of a target: in Russian its short name from the short-name table
    (:func:`kzmig.reporting.i18n.sheet_label`); in English the target's name, or :func:`short_label`
    when the name and ``suffix`` exceed Excel's 31 characters."""
    if current() != "en":
        short = sheet_label(target)
        if short:
            return short
    return target if len(target + suffix) <= 31 else short_label(target)


def sheet_names(labels: Sequence[str], *, reserved: Sequence[str] = RESERVED, suffixes: Sequence[str] = ()
                ) -> list[str]:
    """Excel sheet names for ``labels``: forbidden characters replaced, cut to 31 characters, unique.

    ``suffixes`` (same length as ``labels``, e.g. ``" 95%"``) are kept whole and the label is cut
    before them. A clash (case-insensitive, as Excel compares) gets ``~2``, ``~3`` ... before the suffix.
    """
    used = {r.lower() for r in reserved}
    out = []
    for i, text in enumerate(labels):
        suffix = suffixes[i] if suffixes else ""
        base = re.sub(r"[\[\]:*?/\\']", "_", str(text))
        name, k = base[:31 - len(suffix)] + suffix, 2
        while name.lower() in used:
            tag = f"~{k}"
            name, k = base[:31 - len(suffix) - len(tag)] + tag + suffix, k + 1
        used.add(name.lower())
        out.append(name)
    return out


def _created(meta: Mapping) -> dt.datetime:
    value = meta.get("created_at")
    if value is None:
        return FIXED_CREATED
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp.astimezone(dt.UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def _escape_hf(text: str) -> str:
    return str(text).replace("&", "&&")


class _Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, wb: xlsxwriter.Workbook):
        f = wb.add_format
        self.title = f({"bold": True, "font_size": 14})
        self.big = f({"bold": True, "font_size": 16})
        self.bold = f({"bold": True})
        self.label = f({"bold": True, "valign": "top"})
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.caveat = f({"bold": True, "font_color": "#C00000", "text_wrap": True, "valign": "top"})
        self.note = f({"italic": True, "font_color": "#404040"})
        self.block = f({"bold": True, "align": "center", "bg_color": "#DDEBF7", "border": 1})
        self.header = f({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
        self.field = f({"border": 1})
        self._num: dict[tuple, object] = {}
        self._wb = wb

    def number(self, fmt: str, *, bold: bool = False, left: bool = False, top: bool = False):
        key = (fmt, bold, left, top)
        if key not in self._num:
            spec = {"num_format": fmt, "bold": bold}
            if left:
                spec["left"] = 2
            if top:
                spec["top"] = 1
            self._num[key] = self._wb.add_format(spec)
        return self._num[key]


def _print_setup(ws, run_id: str, title: str, *, landscape: bool = True, repeat: tuple[int, int] | None = None) -> None:
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    if repeat is not None:
        ws.repeat_rows(*repeat)
    run = _escape_hf(_("run {run_id}", run_id=run_id))
    ws.set_header(f"&L&8{_escape_hf(title)}&C&8&A&R&8{run}")
    ws.set_footer(f"&L&8{run}&R&8" + _("page &P of &N"))


def _cover(wb, fm: _Formats, meta: Mapping, targets: pd.DataFrame, sheets: list[tuple[str, str]]) -> None:
    ws = wb.add_worksheet(_("cover"))
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 100)
    run_id = str(meta.get("run_id", ""))
    ws.write(0, 0, meta.get("title", _("Migration forecasts for planning")), fm.big)
    chosen = "; ".join(f"{shown_name(t.target)}: {cell_text(str(t.model))}" for t in targets.itertuples(index=False))
    rows = [(_("Run id / Идентификатор расчёта"), run_id),
            (_("Created at / Дата расчёта"), str(meta.get("created_at", ""))),
            (_("Data vintage / Данные"), vintage_text(meta.get("vintage"))),
            (_("Method / Метод"), str(meta.get("method", ""))),
            (_("Selected models / Модели"), chosen)]
    r = 2
    for heading, value in rows:
        ws.write(r, 0, heading, fm.label)
        ws.write(r, 1, value, fm.wrap)
        ws.set_row(r, 15 * max(1, math.ceil(len(value) / 95)))
        r += 1
    r += 1
    ws.write(r, 0, _("Sheets / Листы"), fm.title)
    for name, what in sheets:
        r += 1
        ws.write(r, 0, name, fm.bold)
        ws.write(r, 1, what, fm.wrap)
    r += 2
    ws.write(r, 0, _("Contact / Контакты"), fm.title)
    for field in CONTACT_FIELDS:
        r += 1
        ws.write(r, 0, _(field), fm.label)
        ws.write_blank(r, 1, None, fm.field)
    _print_setup(ws, run_id, _("cover"), landscape=False)


def _notes(wb, fm: _Formats, notes: Sequence[tuple[str, str]], run_id: str) -> None:
    ws = wb.add_worksheet(_("notes"))
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 110)
    ws.write(0, 0, _("Notes / Примечания"), fm.big)
    for r, (heading, text) in enumerate(notes, start=2):
        ws.write(r, 0, str(heading), fm.label)
        ws.write(r, 1, str(text), fm.wrap)
        lines = sum(max(1, math.ceil(len(part) / 105)) for part in str(text).split("\n"))
        ws.set_row(r, 15 * lines)
    _print_setup(ws, run_id, _("notes"), landscape=False)


def held_text(text: str) -> str:
    """The run language's half of a bilingual coverage label (``ru / backtest: en``,
    :func:`kzmig.studies.accounts.coverage_labels`)."""
    if not text:
        return ""
    ru, _sep, en = text.partition(" / backtest: ")
    return ru if current() == "ru" else f"backtest: {en}"


def _held_short(held, tag: str) -> str:
    """`` (backtest: regions: held 77 %; ...)`` for a block title; ``(not backtested)`` when nothing was measured."""
    text = held_text((held or {}).get(tag, ""))
    return f" ({text})" if text else " " + _("(not backtested)")


def _target_sheet(wb, fm: _Formats, name: str, table: pd.DataFrame, info, tag: str, caveat: str,
                  run_id: str, see_also: str) -> None:
    """One sheet: point | low <tag> | high <tag> blocks; regions down, years across."""
    years = [c for c in table.columns if c not in KEY_COLUMNS and table[c].notna().any()]
    blocks = [("point", _("Point forecast / Прогноз"))]
    if tag:
        cover = _held_short(getattr(info, "held", None), tag)
        blocks += [(f"low_{tag}", _("{tag} % interval: low / нижняя граница", tag=tag) + cover),
                   (f"high_{tag}", _("{tag} % interval: high / верхняя граница", tag=tag) + cover)]
    grids = {v: table.loc[table["variant"] == v].reset_index(drop=True) for v, _ in blocks}
    regions = grids["point"]
    fmt = number_format(info.target, info.unit)
    ws = wb.add_worksheet(name)
    ws.write(0, 0, _("{target}: selected model {model}; unit: {unit}", target=info.target,
                     target_label=label(info.target), model=cell_text(str(info.model)), unit=_(info.unit)), fm.title)
    width = 3 + len(blocks) * len(years)
    if caveat:
        ws.merge_range(1, 0, 1, max(width - 1, 8), f"{_('Caveat')}: {caveat}", fm.caveat)
        ws.set_row(1, 15 * max(1, math.ceil(len(caveat) / (12 * max(width, 9)))) + 3)
    held = held_text((getattr(info, "held", None) or {}).get(tag, "")) if tag else ""
    what = (_("Point forecast and {tag} % interval (nominal: the outcome lies between low and high in {tag} % of "
              "cases; {held}) by region and year", tag=tag, held=held or _("coverage not measured in a backtest"))
            if tag else _("Point forecast by region and year"))
    ws.write(2, 0, what + (f"; {see_also}." if see_also else "."), fm.note)
    for c, name in enumerate(NAME_COLUMNS):
        ws.write_blank(3, c, None, fm.block)
        ws.write(4, c, _(name) if c == 0 else name, fm.header)
    for b, (variant, title) in enumerate(blocks):
        first = 3 + b * len(years)
        if len(years) > 1:
            ws.merge_range(3, first, 3, first + len(years) - 1, title, fm.block)
        elif years:
            ws.write(3, first, title, fm.block)
        for j, year in enumerate(years):
            ws.write_number(4, first + j, int(year), fm.header)
    for i, rec in enumerate(regions.itertuples(index=False)):
        r = FIRST_DATA_ROW + i
        national = rec.region == NATIONAL
        style = fm.bold if national else None
        ws.write(r, 0, str(rec.region), style)
        ws.write(r, 1, str(rec.region_name_ru), style)
        ws.write(r, 2, str(rec.region_name_en), style)
        for b, (variant, _title) in enumerate(blocks):
            g = grids[variant]
            if not (g["region"] == rec.region).any():
                raise DataError(f"planning table: target {info.target!r} has no {variant!r} row for {rec.region!r}.")
            row = g.loc[g["region"] == rec.region].iloc[0]
            for j, year in enumerate(years):
                cell = fm.number(fmt, bold=national, left=j == 0, top=national)
                value = row[year]
                if pd.isna(value):
                    ws.write_blank(r, 3 + b * len(years) + j, None, cell)
                else:
                    ws.write_number(r, 3 + b * len(years) + j, float(value), cell)
    ws.freeze_panes(FIRST_DATA_ROW, 3)
    ws.set_column(0, 0, max(12, int(regions["region"].str.len().max()) + 2))
    ws.set_column(1, 1, max(14, int(regions["region_name_ru"].str.len().max()) + 2))
    ws.set_column(2, 2, max(14, int(regions["region_name_en"].str.len().max()) + 2))
    ws.set_column(3, max(3, width - 1), 12)
    _print_setup(ws, run_id, info.target, repeat=(3, 4))


def _accuracy(wb, fm: _Formats, accuracy: pd.DataFrame | None, targets: pd.DataFrame, run_id: str) -> None:
    ws = wb.add_worksheet(_("accuracy"))
    ws.write(0, 0, _("Backtest accuracy by target, model and horizon"), fm.big)
    ws.write(1, 0, _("mae, rmse: mean absolute and root mean squared error in the target's unit; mase: mae scaled by "
                     "the in-sample error of the one-year naive forecast (below 1 beats it); coverage_80, coverage_95: "
                     "share of backtest outcomes inside the 80 % / 95 % interval. all_regions_no_breaks leaves out "
                     "target years flagged as breaks. The selected model's rows are bold."), fm.note)
    if accuracy is None or accuracy.empty:
        ws.write(3, 0, _("No backtest accuracy was given for this run."), fm.bold)
        _print_setup(ws, run_id, _("backtest accuracy"))
        return
    acc = accuracy.loc[accuracy["region"].isin(AGGREGATES) & (accuracy["horizon"] > 0)]
    if len(acc) < len(accuracy):
        logger.info("accuracy sheet: %d per-region or all-horizon row(s) left out", len(accuracy) - len(acc))
    chosen = dict(zip(targets["target"], targets["model"]))
    order = {t: i for i, t in enumerate(targets["target"])}
    marks = ["selected" if chosen.get(t) == m else "" for t, m in zip(acc["target"], acc["model"])]
    acc = acc.assign(selected=marks, _t=acc["target"].map(order).fillna(len(order)),
                     _r=acc["region"].map(AGGREGATES.index), _s=[int(m == "") for m in marks])
    acc = acc.sort_values(["_t", "target", "_r", "_s", "model", "horizon"], kind="mergesort")
    columns = [c for c in ACCURACY_ORDER if c in acc.columns]
    columns += [c for c in acc.columns if c not in columns and not c.startswith("_")]
    header = 3
    for c, col in enumerate(columns):
        ws.write(header, c, shown_name(col) if col not in ("mae", "rmse", "mase", "n") else col, fm.header)
    unit_digits = {col: row_digits(d, len(acc)) for col, d in column_decimals(acc[columns]).items()}
    for i, rec in enumerate(acc[columns].itertuples(index=False)):
        bold = rec[columns.index("selected")] == "selected"
        for c, (col, value) in enumerate(zip(columns, rec)):
            if isinstance(value, str) or col in ("horizon",):
                ws.write(header + 1 + i, c, cell_text(value) if isinstance(value, str) else int(value),
                         fm.bold if bold else None)
            elif pd.isna(value):
                ws.write_blank(header + 1 + i, c, None)
            else:
                fmt = "0%" if col.startswith("coverage") else "0" if col == "n" else "0.00" if col == "mase" \
                    else excel_format(unit_digits[col][i]) if col in unit_digits and excel_format(
                        unit_digits[col][i]) else "#,##0.00"  # mae, rmse: the decimals of the target's unit
                ws.write_number(header + 1 + i, c, float(value), fm.number(fmt, bold=bold))
    ws.freeze_panes(header + 1, 2)
    ws.autofilter(header, 0, header + len(acc), len(columns) - 1)
    ws.set_column(0, 0, max(12, int(acc["target"].astype(str).str.len().max()) + 2) if len(acc) else 12)
    ws.set_column(1, len(columns) - 1, 13)
    _print_setup(ws, run_id, _("backtest accuracy"), repeat=(header, header))


def _see_also(p: dict, plan: list[dict]) -> str:
    same = [q for q in plan if q["target"] == p["target"] and q is not p]
    if p["main"]:
        return "; ".join(_("the {tag} % interval is on sheet '{sheet}'", tag=q["tag"], sheet=q["sheet"]) for q in same)
    main = same[0]
    if main["tag"]:
        return _("the point forecast and the {tag} % interval also on sheet '{sheet}'", tag=main["tag"],
                 sheet=main["sheet"])
    return _("the point forecast also on sheet '{sheet}'", sheet=main["sheet"])


def write_planning_workbook(path: str | Path, *, tables: pd.DataFrame, accuracy: pd.DataFrame | None, meta: Mapping,
                            notes: Sequence[tuple[str, str]], targets: pd.DataFrame,
                            caveats: Mapping[str, str] | None = None,
                            extra_sheets: Sequence[tuple[str, str, Callable]] = ()) -> Path:
    """Write the planning workbook (layout in the module notes) atomically, byte-reproducibly.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file.
    tables : DataFrame
        :func:`kzmig.reporting.planning.planning_tables` (wide; regions in their final order).
    accuracy : DataFrame or None
        Backtest metrics: ``target``, ``model``, ``region``, ``horizon``, ``n``, ``mae``,
        ``rmse``, ``mase``, ``coverage_80``, ``coverage_95`` (more columns are kept). Only the
        aggregate rows (``all_regions``, ``all_regions_no_breaks``, horizon > 0) are shown;
        ``None`` or an empty frame gives a sheet that says so.
    meta : mapping
        ``run_id``, ``created_at`` (datetime or ISO string; also the document's creation time),
        ``vintage`` (variable -> latest year, or a ready string), ``method`` (two sentences),
        optionally ``title``.
    notes : sequence of (str, str)
        (heading, text) pairs of the notes sheet.
    targets : DataFrame
        :func:`kzmig.reporting.planning.planning_targets`: the selected model, unit and caveat of
        each target; sets the sheet order, number formats and the selected-model marks.
    caveats : mapping of str to str, optional
        Target -> caveat line; replaces ``targets["caveat"]`` when given.
    extra_sheets : sequence of (name, description, write), optional
        More sheets after the accuracy sheet: ``write(workbook, formats, run_id)`` adds sheet
        ``name`` (e.g. «Государственные цели», :mod:`kzmig.reporting.state_targets`).

    Returns
    -------
    Path

    Raises
    ------
    DataError
        A target of ``targets`` with no rows in ``tables``, or a variant missing for a region.
    """
    caveat_of = dict(zip(targets["target"], targets["caveat"].fillna(""))) if caveats is None else dict(caveats)
    run_id = str(meta.get("run_id", ""))
    plan = []  # one entry per sheet: target, its table, its info, the level tag, main sheet or not
    for info in targets.itertuples(index=False):
        t = tables.loc[tables["target"] == info.target]
        if t.empty:
            raise DataError(f"planning workbook: target {info.target!r} has no rows in the planning table.")
        tags = sorted({str(v).split("_", 1)[1] for v in t["variant"] if v != "point"}, key=float)
        main = MAIN_LEVEL if MAIN_LEVEL in tags else ""
        plan.append({"target": info.target, "table": t, "info": info, "tag": main, "main": True})
        plan += [{"target": info.target, "table": t, "info": info, "tag": tag, "main": False}
                 for tag in tags if tag != main]
    suffix = lambda p: "" if p["main"] else f" {p['tag']}%"  # noqa: E731
    reserved = [_(r) for r in RESERVED] + [name for name, _w, _f in extra_sheets]
    names = sheet_names([sheet_text(p["target"], suffix(p)) for p in plan], reserved=reserved,
                        suffixes=["" if p["main"] else f" {p['tag']}%" for p in plan])
    for p, name in zip(plan, names):
        p["sheet"] = name
    listing = [(p["sheet"], f"{shown_name(p['target'])}: " + (_("point forecast and {tag} % interval", tag=p["tag"])
                                                          if p["tag"] else _("point forecast"))
                + _(" by region and year")) for p in plan]
    listing += [(_("notes"), _("definitions, units, intervals, break years, data gaps")),
                (_("accuracy"), _("backtest accuracy by target, model and horizon; selected models marked"))]
    listing += [(name, what) for name, what, _write in extra_sheets]
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        wb.set_properties({"title": str(meta.get("title", _("Migration forecasts for planning"))), "author": "kzmig",
                           "comments": f"run {run_id}", "created": _created(meta)})
        fm = _Formats(wb)
        _cover(wb, fm, meta, targets, listing)
        _notes(wb, fm, notes, run_id)
        for p in plan:
            _target_sheet(wb, fm, p["sheet"], p["table"], p["info"], p["tag"], caveat_of.get(p["target"], ""),
                          run_id, _see_also(p, plan))
        _accuracy(wb, fm, accuracy, targets, run_id)
        for _name, _what, write in extra_sheets:
            write(wb, fm, run_id)
        wb.close()
    return Path(path)



SCENARIO_COLUMNS = ("scenario", "region", "region_name", "year", "effect", "effect_lower_95", "effect_upper_95",
                    "finding")


def write_scenario_sheet(wb, fm: _Formats, effects: pd.DataFrame, run_id: str) -> None:
    """Add the scenarios sheet to an open workbook: each scenario's effect on net migration by region
    (persons, the last forecast year) with its 95 % bounds and the plain flag of an effect whose
    interval holds zero (``finding``), one row per (scenario, shifted region), in the order of the
    scenario's shifts: no ranking by size."""
    from kzmig.reporting.i18n import region_name

    ws = wb.add_worksheet(_("Scenarios"))
    ws.write(0, 0, _("Scenario effects on net migration"), fm.big)
    ws.write(1, 0, _("Effect: the scenario's change of net migration against the baseline (persons) with its 95 % "
                     "interval. An interval that holds zero means the data cannot tell the effect from no effect: "
                     "such an effect is not a finding."), fm.note)
    frame = effects.assign(region_name=effects["region"].map(region_name))
    cols = [c for c in SCENARIO_COLUMNS if c in frame.columns]
    head = 3
    whole = wb.add_format({"num_format": "+#,##0;-#,##0;0", "border": 1})
    year = wb.add_format({"num_format": "0", "border": 1})
    for j, c in enumerate(cols):
        ws.write(head, j, label(c), fm.header)
        ws.set_column(j, j, 60 if c in ("scenario", "finding") else 34 if c == "region_name" else 14)
        for i, v in enumerate(frame[c].tolist()):
            if c in ("effect", "effect_lower_95", "effect_upper_95"):
                ws.write_number(head + 1 + i, j, float(v), whole)
            elif c == "year":
                ws.write_number(head + 1 + i, j, int(v), year)
            else:
                ws.write_string(head + 1 + i, j, str(v), fm.caveat if c == "finding" and v else fm.field)
    ws.freeze_panes(head + 1, 0)
    _print_setup(ws, run_id, _("Scenarios"), repeat=(head, head))
