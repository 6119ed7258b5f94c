"""Planning charts as ``Figure`` objects: fan charts, a regional overview, accuracy by horizon, population.

Every chart draws the **selected** model of a target (``selected`` column of the long forecast
table). Bands are the stored intervals (80 % and 95 %) and, unless stored too, a 50 % band read
from the same rows through :mod:`kzmig.forecast.engine.distribution` (the median-preserving split
normal whose quantiles are the stored bounds): ``point -/+ z(0.5) * sd_lower/sd_upper``.

Artists carry labels a test (or a reader of the legend) can find: ``history``, ``break year``
(one dotted vertical line per break year), ``95%``, ``80%``, ``50%`` (bands),
``<model> (selected)`` (the point path) and ``scenario: <name>``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kzmig.core.errors import DataError
from kzmig.features.data.regions import NATIONAL, load_regions
from kzmig.forecast.engine.distribution import row_scales, z_value
from kzmig.reporting.charts import number_axis
from kzmig.reporting.i18n import N_, _, cell_text, current, label, region_name, region_short
from kzmig.reporting.planning import is_rate, level_tag, region_order, selected_rows

BAND_COLOUR = "#2171b5"
BAND_ALPHA = {0.5: 0.45, 0.8: 0.28, 0.95: 0.14}
SCENARIO_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1)))
#: marks of the accuracy chart's legend and its aggregates (the catalogue translates them)
TAGS = (N_("selected"), N_("reference"), N_("all_regions"), N_("all_series"))


def _names() -> pd.Series:
    """Region code -> its name in the current language (English outside a run)."""
    codes = load_regions()["region"].astype(str)
    return pd.Series({c: region_short(c) for c in codes})


def _target_rows(forecasts: pd.DataFrame, target: str) -> pd.DataFrame:
    f = forecasts.loc[forecasts["target"].astype(str) == target]
    if f.empty:
        raise DataError(f"no forecast of target {target!r}; the table holds {sorted(set(forecasts['target']))}.")
    return selected_rows(f)


def fan_bands(selected: pd.DataFrame, *, band_50: bool = True) -> pd.DataFrame:
    """Bands of a selected model's rows: ``region, year, level, point, lower, upper``.

    The stored levels as they are, plus the 50 % band from the split normal of
    :func:`kzmig.forecast.engine.distribution.row_scales` when ``band_50`` and 0.5 is not stored.
    Rows without an interval give no band.
    """
    f = selected.loc[selected["level"].notna()]
    cols = ["region", "year", "level", "point", "lower", "upper"]
    out = [f[cols]]
    if band_50 and len(f) and not np.isclose(f["level"], 0.5).any():
        s = row_scales(f)
        z = float(z_value(0.5))
        out.append(pd.DataFrame({"region": s["region"], "year": s["year"], "level": 0.5, "point": s["point"],
                                 "lower": s["point"] - z * s["sd_lower"], "upper": s["point"] + z * s["sd_upper"]}))
    return pd.concat(out, ignore_index=True).sort_values(["region", "level", "year"], kind="mergesort")


def _draw(ax, hist: pd.DataFrame, bands: pd.DataFrame, points: pd.DataFrame, model: str, *,
          break_years: Sequence[int] = (), scenarios: pd.DataFrame | None = None) -> None:
    """History, break years, bands (widest first), the point path and scenario lines on one axes."""
    if len(hist):
        ax.plot(hist["year"], hist["value"], color="black", lw=1.3, label=_("history"))
    for i, year in enumerate(sorted(set(int(y) for y in break_years))):
        ax.axvline(year, color="grey", ls=":", lw=1.0, label=_("break year") if i == 0 else None)
    for lv in sorted(bands["level"].unique(), reverse=True):
        b = bands.loc[bands["level"] == lv].sort_values("year")
        ax.fill_between(b["year"].to_numpy(dtype=float), b["lower"].to_numpy(dtype=float),
                        b["upper"].to_numpy(dtype=float), color=BAND_COLOUR, alpha=BAND_ALPHA.get(round(lv, 3), 0.2),
                        lw=0, label=f"{level_tag(lv)}%")
    ax.plot(points["year"], points["point"], color=BAND_COLOUR, lw=2.0, label=_("{model} (selected)", model=cell_text(str(model))))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # years, never 2026.5
    if scenarios is not None:
        for i, (name, s) in enumerate(scenarios.groupby("scenario", sort=True)):
            s = s.sort_values("year")
            ax.plot(s["year"], s["point"], ls=SCENARIO_STYLES[i % len(SCENARIO_STYLES)], lw=1.3,
                    label=_("scenario: {name}", name=label(str(name))))


def _history(history: pd.DataFrame | None, target: str, region: str) -> pd.DataFrame:
    if history is None or target not in history.columns:
        return pd.DataFrame({"year": [], "value": []})
    h = history.loc[history["region"] == region, ["year", target]].dropna().sort_values("year")
    return pd.DataFrame({"year": h["year"].to_numpy(), "value": h[target].to_numpy(dtype=float)})


def _breaks(breaks: pd.DataFrame | None, region: str) -> list[int]:
    if breaks is None or breaks.empty:
        return []
    return sorted(int(y) for y in breaks.loc[breaks["region"] == region, "year"])


def _panel(ax, history, sel, bands, target, region, breaks, scenarios=None) -> None:
    f = sel.loc[sel["region"] == region]
    points = f.drop_duplicates("year").sort_values("year")
    _draw(ax, _history(history, target, region), bands.loc[bands["region"] == region], points,
          str(f["model"].iloc[0]), break_years=_breaks(breaks, region), scenarios=scenarios)
    number_axis(ax)


def _unit(target: str) -> str:
    return _("per 1,000 population") if is_rate(target) else _("persons")


def plot_fan(history: pd.DataFrame | None, forecasts: pd.DataFrame, target: str, region: str, *,
             breaks: pd.DataFrame | None = None, scenarios: pd.DataFrame | None = None,
             band_50: bool = True) -> Figure:
    """Fan chart of one target and region: history, break years, 50/80/95 % bands, the selected model.

    Parameters
    ----------
    history : DataFrame or None
        Wide panel with ``region``, ``year`` and the ``target`` column (published values).
    forecasts : DataFrame
        Long forecast table (``target``, ``model``, ``region``, ``origin_year``, ``year``,
        ``point``, ``lower``, ``upper``, ``level``, ``selected``).
    target, region : str
    breaks : DataFrame, optional
        ``region``, ``year`` of break years (:func:`kzmig.features.assessment.typology.break_years`).
    scenarios : DataFrame, optional
        Long scenario table: ``scenario``, ``target``, ``region``, ``year``, ``point``; the
        rows of this target and region are drawn as one line per scenario.
    band_50 : bool, default True
        Add the 50 % band (see the module notes).

    Returns
    -------
    Figure
        One axes titled ``"<target>: <English name> / <Russian name>"``.

    Raises
    ------
    DataError
        No selected forecast of ``target`` for ``region``.
    """
    sel = _target_rows(forecasts, target)
    if not (sel["region"] == region).any():
        raise DataError(f"target {target!r}: the selected model has no forecast for region {region!r}.")
    sc = None
    if scenarios is not None:
        sc = scenarios.loc[(scenarios["target"] == target) & (scenarios["region"] == region)]
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    _panel(ax, history, sel, fan_bands(sel.loc[sel["region"] == region], band_50=band_50), target, region, breaks, sc)
    reg = load_regions().set_index("region")
    ax.set_title(_("{target}: {name_en} / {name_ru}", target=target, target_label=label(target),
                   name_en=reg.at[region, "name_en"], name_ru=reg.at[region, "name_ru"], name=region_name(region)))
    ax.set_xlabel(_("year"))
    ax.set_ylabel(_unit(target))
    # beside the axes, never over the data (the band labels grow when the run adds their measured coverage)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


def _legend(fig: Figure, axes) -> None:
    handles, labels = [], []
    for ax in axes:
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in labels:
                handles.append(hd)
                labels.append(lb)
    # right of the panels (the layout leaves them the figure's left 90 %), top-aligned under the title
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.905, 0.955), fontsize=8, borderaxespad=0.0)


def plot_overview(history: pd.DataFrame | None, forecasts: pd.DataFrame, target: str, *,
                  breaks: pd.DataFrame | None = None, band_50: bool = True, ncols: int = 4) -> Figure:
    """Small multiples of every region of ``target`` (registry order, the national panel last).

    Panels are titled with the English region name; unused grid cells are hidden; one
    legend for the figure. Arguments as in :func:`plot_fan`.
    """
    sel = _target_rows(forecasts, target)
    regions = [r for r in region_order() if (sel["region"] == r).any()]
    bands = fan_bands(sel, band_50=band_50)
    nrows = math.ceil(len(regions) / ncols)
    fig = Figure(figsize=(3.3 * ncols, 2.4 * nrows + 0.6))
    axes = list(fig.subplots(nrows, ncols, sharex=True, squeeze=False).flat)
    names = _names()
    for ax, region in zip(axes, regions):
        _panel(ax, history, sel, bands, target, region, breaks)
        ax.set_title(names.get(region, region), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[max(0, len(regions) - ncols):len(regions)]:  # the years also over an empty cell
        ax.tick_params(labelbottom=True)
    for ax in axes[len(regions):]:
        ax.set_visible(False)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    _legend(fig, visible)
    fig.suptitle(_("{target}: history and forecast of the selected model ({model})", target=target,
                   target_label=label(target), model=cell_text(str(sel["model"].iloc[0]))), fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.9, 0.97))
    return fig


def plot_accuracy(accuracy: pd.DataFrame, target: str, *, selected: str, metric: str = "mase",
                  region: str = "all_regions", reference: str = "naive") -> Figure:
    """Backtest error by horizon, one line per model; the selected model thick, ``reference`` dashed black.

    Parameters
    ----------
    accuracy : DataFrame
        ``target``, ``model``, ``region``, ``horizon`` and ``metric``.
    selected : str
        The selected model of ``target`` (label ``"<model> (selected)"``, line width 3).
    metric : str, default "mase"
        Column drawn; for ``mase`` a grey line at 1 (the in-sample one-year naive error).
    region : str, default "all_regions"
        Aggregate of the backtest drawn (``all_regions_no_breaks`` for the break-free scores).
    reference : str, default "naive"
        Model drawn as the reference (label ``"<model> (reference)"``); skipped if absent.

    Raises
    ------
    DataError
        No row of ``target`` and ``region``, or no ``metric`` column.
    """
    if metric not in accuracy.columns:
        raise DataError(f"accuracy table has no column {metric!r}; found {list(accuracy.columns)}.")
    a = accuracy.loc[(accuracy["target"] == target) & (accuracy["region"] == region) & (accuracy["horizon"] > 0)]
    if a.empty:
        raise DataError(f"accuracy table has no row of target {target!r} and region {region!r}.")
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    for model, g in a.groupby("model", sort=True):
        g = g.sort_values("horizon")
        tags = [t for t, on in (("selected", model == selected), ("reference", model == reference)) if on]
        style = {"lw": 3.0, "color": "#cb181d", "zorder": 3} if model == selected else \
            {"lw": 1.6, "color": "black", "ls": "--"} if model == reference else {"lw": 1.2, "alpha": 0.8}
        ax.plot(g["horizon"], g[metric], marker="o", ms=3,
                label=f"{cell_text(str(model))} ({', '.join(_(t) for t in tags)})" if tags else cell_text(str(model)), **style)
    if metric == "mase":
        ax.axhline(1.0, color="grey", lw=0.8, label="MASE = 1")
    ax.set_xticks(sorted(int(h) for h in a["horizon"].unique()))
    ax.set_xlabel(_("horizon (years ahead)"))
    shown = metric if current() == "en" else metric.upper()
    ax.set_ylabel(shown)
    ax.set_title(_("{target}: backtest {metric} by horizon ({region})", target=target, target_label=label(target),
                   metric=shown, region=region, region_label=_(region)))
    ax.legend(fontsize=8)
    return fig


def plot_population(history: pd.DataFrame | None, forecasts: pd.DataFrame, *, target: str = "population",
                    band_50: bool = False, ncols: int = 4) -> Figure:
    """Population projection: the national panel on top, the regions as small multiples below.

    Panels show history, the projection of the selected model and its bands (80/95 %, and
    50 % with ``band_50``); the first axes is the national one (title ``Republic of
    Kazakhstan``), the others follow the registry order. Y axes in persons with separators.
    """
    sel = _target_rows(forecasts, target)
    regions = [r for r in region_order() if (sel["region"] == r).any() and r != NATIONAL]
    bands = fan_bands(sel, band_50=band_50)
    nrows = math.ceil(len(regions) / ncols) if regions else 0
    fig = Figure(figsize=(3.3 * ncols, 4.0 + 2.3 * nrows))
    grid = fig.add_gridspec(2 + nrows, ncols)
    names = _names()
    panels = []
    if (sel["region"] == NATIONAL).any():
        ax = fig.add_subplot(grid[:2, :])
        _panel(ax, history, sel, bands, target, NATIONAL, None)
        ax.set_title(names.get(NATIONAL, NATIONAL), fontsize=10)
        panels.append(ax)
    for i, region in enumerate(regions):
        ax = fig.add_subplot(grid[2 + i // ncols, i % ncols])
        _panel(ax, history, sel, bands, target, region, None)
        ax.set_title(names.get(region, region), fontsize=8)
        ax.tick_params(labelsize=7)
        panels.append(ax)
    for ax in panels:
        number_axis(ax)
    _legend(fig, panels[:1])
    fig.suptitle(_("{target}: history and projection ({model})", target=target, target_label=label(target),
                   model=cell_text(str(sel["model"].iloc[0]))), fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.9, 0.97))
    return fig
