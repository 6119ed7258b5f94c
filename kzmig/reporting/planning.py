"""Planning tables of a run: the selected model's forecasts, wide, one row per target, variant and region.

Planning departments read forecasts as a grid: regions down, years across, one grid per
target and variant (the point forecast and the bounds of each stored interval). This module
turns the long forecast table of a run into that grid (:func:`planning_tables`), summarises
each target's selected model, unit, interval source and caveat (:func:`planning_targets`),
drafts the standard notes (:func:`planning_notes`) and writes the grid as a CSV that Excel
opens with Cyrillic intact (:func:`write_planning_csv`). Everything is a pure function of
tables except the writer.

Rows are in the order of the region registry (``data/regions.csv``, which is sorted by region
code), with the national row ``kazakhstan`` last within each target and variant: a planner
finds a region by its code or its name in the same place in every table of every run.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from kzmig.core.atomic import atomic_write
from kzmig.core.errors import DataError
from kzmig.features.data.regions import NATIONAL, load_regions
from kzmig.reporting.i18n import N_, _, cell_text, label, percent
from kzmig.reporting.tables import csv_frame, with_names

REQUIRED = ("target", "model", "region", "origin_year", "year", "point", "lower", "upper", "level", "selected")
KEY_COLUMNS = ("target", "variant", "region", "region_name_ru", "region_name_en")
TARGET_COLUMNS = ("target", "model", "unit", "rate", "interval", "reconciled", "method", "levels", "origin_year",
                  "first_year", "last_year", "caveat")
PERSONS_FORMAT = "#,##0"
RATE_FORMAT = "#,##0.00"


def level_tag(level: float) -> str:
    """Percent label of an interval level: ``0.8 -> "80"``, ``0.95 -> "95"``, ``0.975 -> "97.5"``."""
    return f"{round(float(level) * 100, 6):g}"


def variant_names(levels: Iterable[float]) -> list[str]:
    """``point`` then ``low_<pct>``, ``high_<pct>`` for each level, narrowest first."""
    out = ["point"]
    for lv in sorted({round(float(v), 9) for v in levels}):
        out += [f"low_{level_tag(lv)}", f"high_{level_tag(lv)}"]
    return out


def is_rate(target: str, unit: str | None = None) -> bool:
    """True for rates (two decimals), False for counts of persons (no decimals).

    A ``unit`` that mentions a rate (``per 1000``, ``per_1000``, ``rate``, ``%``, ``pct``) wins;
    without one, targets named ``*_rate_per_1000`` (or containing ``_rate``) are rates.
    """
    if isinstance(unit, str) and unit.strip():
        u = unit.lower().replace(",", "")
        return any(k in u for k in ("per 1000", "per_1000", "rate", "%", "pct"))
    return target.endswith("_rate_per_1000") or "_rate" in target


def number_format(target: str, unit: str | None = None) -> str:
    """Excel number format of a target: ``#,##0`` for persons, ``#,##0.00`` for rates (see :func:`is_rate`)."""
    return RATE_FORMAT if is_rate(target, unit) else PERSONS_FORMAT


def region_order() -> list[str]:
    """Region codes in registry order, the national total last."""
    codes = [str(c) for c in load_regions()["region"]]
    return [c for c in codes if c != NATIONAL] + [NATIONAL]


def _check(forecasts: pd.DataFrame) -> None:
    absent = [c for c in REQUIRED if c not in forecasts.columns]
    if absent:
        raise DataError(f"forecast table: missing column(s) {absent}; found {list(forecasts.columns)}.")
    unknown = sorted(set(forecasts["region"].astype(str)) - set(region_order()))
    if unknown:
        raise DataError(f"forecast table: {len(unknown)} region code(s) are not in data/regions.csv: {unknown[:5]}.")


def _targets(forecasts: pd.DataFrame, targets_order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(forecasts["target"].astype(str)))
    if targets_order is None:
        return present
    absent = [t for t in targets_order if t not in present]
    if absent:
        raise DataError(f"targets_order names target(s) {absent} that the forecast table does not hold; "
                        f"it holds {present}.")
    return list(dict.fromkeys(targets_order)) + [t for t in present if t not in targets_order]


def selected_rows(forecasts: pd.DataFrame, targets_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of each target's selected model, targets in order; checked.

    Raises
    ------
    DataError
        A target without a selected model, or with more than one, names the target and its
        models; duplicate (target, region, year, level) rows or points that differ between the
        levels of one (region, year) name the row.
    """
    _check(forecasts)
    targets = _targets(forecasts, targets_order)
    parts = []
    for target in targets:
        f = forecasts.loc[forecasts["target"].astype(str) == target]
        sel = f.loc[f["selected"].fillna(False).astype(bool)]
        models = sorted(set(sel["model"].astype(str)))
        if not models:
            raise DataError(f"target {target!r} has no selected model (selected is False on all its {len(f)} rows, "
                            f"models {sorted(set(f['model'].astype(str)))}); mark the chosen one with selected=True.")
        if len(models) > 1:
            raise DataError(f"target {target!r} has {len(models)} selected models {models}; exactly one is expected.")
        lv = sel["level"].astype(float).round(9)
        dup = sel.assign(_lv=lv.fillna(-1.0)).duplicated(["region", "year", "_lv"], keep=False)
        if dup.any():
            r = sel.loc[dup].iloc[0]
            raise DataError(f"target {target!r}, model {models[0]!r}: {int(dup.sum())} duplicate rows for one "
                            f"(region, year, level), e.g. (region={r['region']!r}, year={int(r['year'])}, "
                            f"level={r['level']}); several origin years?")
        spread = sel.groupby(["region", "year"])["point"].agg(lambda s: float(s.max() - s.min()))
        off = spread[spread > 1e-9 * (1.0 + sel["point"].abs().max())]
        if len(off):
            region, year = off.index[0]
            raise DataError(f"target {target!r}, model {models[0]!r}: the point differs between levels for "
                            f"(region={region!r}, year={int(year)}).")
        parts.append(sel.assign(level=lv))
    return pd.concat(parts, ignore_index=True)


def planning_tables(forecasts: pd.DataFrame, *, targets_order: Sequence[str] | None = None) -> pd.DataFrame:
    """The wide planning table: the selected model of each target, regions down, years across.

    Parameters
    ----------
    forecasts : DataFrame
        Long forecast table of a run: ``target``, ``model``, ``region``, ``origin_year``,
        ``year``, ``point``, ``lower``, ``upper``, ``level``, ``selected`` (bool; one model per
        target), optionally ``interval``, ``reconciled``, ``method``, ``caveat``, ``unit``.
        Several levels may be stacked (e.g. 0.8 and 0.95); rows without an interval have
        ``level`` NaN and give only the ``point`` variant.
    targets_order : sequence of str, optional
        Targets listed first, in this order; the others follow in order of first appearance.

    Returns
    -------
    DataFrame
        One row per (target, variant, region): ``target``, ``variant`` (``point``, then
        ``low_80``, ``high_80``, ``low_95``, ``high_95`` for the levels present), ``region``,
        ``region_name_ru``, ``region_name_en`` (strings), then one float64 column per year
        (int column labels; NaN where a target has no value for that year). Regions in
        registry order, ``kazakhstan`` last within each target and variant.

    Raises
    ------
    DataError
        A target without a selected model (named), an unknown region code, missing columns.
    """
    sel = selected_rows(forecasts, targets_order)
    order = {r: i for i, r in enumerate(region_order())}
    years = sorted(int(y) for y in sel["year"].unique())
    frames = []
    for target in dict.fromkeys(sel["target"].astype(str)):
        f = sel.loc[sel["target"].astype(str) == target]
        regions = sorted(set(f["region"].astype(str)), key=order.__getitem__)
        grids = {"point": f.drop_duplicates(["region", "year"]).pivot(index="region", columns="year", values="point")}
        for lv in sorted(f["level"].dropna().unique()):
            g = f.loc[f["level"] == lv]
            grids[f"low_{level_tag(lv)}"] = g.pivot(index="region", columns="year", values="lower")
            grids[f"high_{level_tag(lv)}"] = g.pivot(index="region", columns="year", values="upper")
        for variant, grid in grids.items():
            grid = grid.reindex(index=regions, columns=years).astype("float64")
            grid.columns = [int(c) for c in grid.columns]
            frames.append(grid.reset_index().assign(target=target, variant=variant))
    wide = with_names(pd.concat(frames, ignore_index=True))
    for col in ("target", "variant", "region"):
        wide[col] = wide[col].astype("string")
    return wide[list(KEY_COLUMNS) + years].reset_index(drop=True)


def _joined(values: pd.Series, sep: str = "; ") -> str:
    return sep.join(dict.fromkeys(str(v) for v in values.dropna() if str(v).strip()))


def planning_targets(forecasts: pd.DataFrame, *, targets_order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per target: what the planning table of that target is.

    Returns
    -------
    DataFrame
        ``target``, ``model`` (selected), ``unit`` (the ``unit`` column, else ``persons`` or
        ``per 1,000 population`` from the name), ``rate`` (bool, see :func:`is_rate`),
        ``interval`` (source: conformal, model, propagated ...; empty if unknown),
        ``reconciled``, ``method``, ``levels`` (e.g. ``"80, 95"``), ``origin_year`` (latest),
        ``first_year``, ``last_year`` and ``caveat`` (distinct caveats of the selected rows,
        joined; empty when none). Targets in the order of :func:`planning_tables`.
    """
    sel = selected_rows(forecasts, targets_order)
    rows = []
    for target, f in sel.groupby("target", sort=False):
        unit = _joined(f["unit"]) if "unit" in f else ""
        rate = is_rate(str(target), unit or None)
        rows.append({
            "target": str(target), "model": str(f["model"].iloc[0]),
            "unit": unit or (N_("per 1,000 population") if rate else N_("persons")), "rate": rate,
            **{c: (_joined(f[c], ", ") if c in f else "") for c in ("interval", "reconciled", "method")},
            "levels": ", ".join(level_tag(v) for v in sorted(f["level"].dropna().unique())),
            "origin_year": int(f["origin_year"].max()), "first_year": int(f["year"].min()),
            "last_year": int(f["year"].max()), "caveat": _joined(f["caveat"]) if "caveat" in f else "",
        })
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))


def vintage_text(vintage: Mapping[str, int] | str | None) -> str:
    """The latest year of each variable, compactly: ``"population to 2025; net migration, arrivals to 2024"``.

    Variables sharing a latest year are listed together, latest year first; underscores
    become spaces. A string is returned as is; ``None`` or an empty mapping gives ``"not recorded"``.
    """
    if isinstance(vintage, str):
        return vintage
    if not vintage:
        return _("not recorded")
    by_year: dict[int, list[str]] = {}
    for name, year in vintage.items():
        by_year.setdefault(int(year), []).append(str(name).replace("_", " "))
    return "; ".join(_("{names} to {year}", names=", ".join(names), year=year)
                     for year, names in sorted(by_year.items(), reverse=True))


def _coverage(accuracy: pd.DataFrame | None, target: str, model: str) -> str:
    if accuracy is None or accuracy.empty:
        return ""
    a = accuracy.loc[(accuracy["target"] == target) & (accuracy["model"] == model)
                     & accuracy["region"].isin(["all_regions", "all_series"]) & (accuracy["horizon"] > 0)]
    cols = sorted((c for c in a.columns if re.fullmatch(r"coverage_[\d.]+", c)), key=lambda c: float(c[9:]))
    found = [_("{level} % interval held the outcome in {share}", level=c[9:], share=percent(a[c].mean()))
             for c in cols if a[c].notna().any()]
    over = _("all regions") if (a["region"] == "all_regions").any() else _("the national series")
    return _(" In the backtest ({over}, mean over horizons) the {found}.", over=over,
             found=_("; the ").join(found)) if found else ""


INTERVAL_MEANING = {
    "conformal": N_("conformal: widened from the model's own backtest errors at each horizon"),
    "model": N_("model-based: from the model's error distribution"),
    "propagated": N_("propagated: the migration forecast's intervals carried through the population balance"),
    "none": N_("no interval: the model gives a point forecast only"),
    "composition": N_("composition-based: quantiles of the forecast total times a share drawn from the spread of "
                      "the observed years (Monte Carlo)"),
}


def planning_notes(targets: pd.DataFrame, accuracy: pd.DataFrame | None = None, *, breaks: str = "",
                   gaps: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Standard notes for the workbook's notes sheet, as (heading, text) pairs.

    Parameters
    ----------
    targets : DataFrame
        :func:`planning_targets`.
    accuracy : DataFrame, optional
        Backtest metrics (``target``, ``model``, ``region``, ``horizon``, ``coverage_80`` ...);
        gives the measured coverage of each selected model's intervals.
    breaks : str, optional
        The break years of the data in words (census re-basing, territory transfers).
    gaps : sequence of str
        Data gaps, one sentence each.
    """
    notes = [(_("Variants"), _("point: the selected model's forecast (the median of its forecast distribution). "
                               "low_80 / high_80: the bounds of the 80 % interval: in 8 years of 10 the outcome should "
                               "lie between them; low_95 / high_95: the same for 95 %. Bounds are not scenarios and do "
                               "not add up over regions.")),
             (_("Regions"), _("Regions follow the code order of the region registry; the national row "
                              "(Республика Казахстан) is last. Region borders are those of the forecast's data view."))]
    for t in targets.itertuples(index=False):
        text = _("Unit: {unit}. Selected model: {model}; forecast from {origin} for {first}-{last}.", unit=_(t.unit),
                 model=cell_text(str(t.model)), origin=t.origin_year, first=t.first_year, last=t.last_year)
        if t.levels:
            meaning = "; ".join(_(INTERVAL_MEANING[s.strip()]) if s.strip() in INTERVAL_MEANING else s.strip()
                                for s in str(t.interval).split(",") if s.strip())
            text += _(" Intervals ({levels} %): {meaning}.", levels=t.levels,
                      meaning=meaning or _("source not recorded"))
            text += _coverage(accuracy, t.target, t.model)
        if t.caveat:
            text += f" {_('Caveat')}: {t.caveat}."
        notes.append((_("Target {target}", target=t.target, target_label=label(t.target)), text))
    if breaks:
        notes.append((_("Break years"), breaks))
    if gaps:
        notes.append((_("Data gaps"), " ".join(str(g) for g in gaps)))
    return notes


def write_planning_csv(table: pd.DataFrame, path: str | Path, *, sep: str = ",") -> Path:
    """Write the planning table as CSV with a UTF-8 byte-order mark, atomically.

    The BOM (``encoding="utf-8-sig"``) makes Excel read the Russian names as UTF-8; line
    endings are ``\\n``; numbers have the decimals of their row's unit
    (:func:`kzmig.reporting.tables.csv_frame`: persons whole, rates two decimals). Excel with a Russian locale splits on
    ``;`` when a file is double-clicked: pass ``sep=";"`` for such readers.
    """
    def write(tmp: Path) -> None:
        csv_frame(table).to_csv(tmp, index=False, sep=sep, encoding="utf-8-sig", lineterminator="\n")
    return atomic_write(path, write)

