"""Charts of the studies as matplotlib ``Figure`` objects (object API, never pyplot state).

Builders take tables and return a ``Figure``; :func:`save_figure` writes one atomically
(temporary name, then rename). Nothing here selects a backend or touches global state.
Titles, axis labels, legends and region names are written in the language of the current
context (:func:`kzmig.reporting.i18n.using`; English outside one): a planning run draws the
charts of its studies in its own language.
"""
from __future__ import annotations

import io
import logging
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter
from matplotlib.patches import Patch, Polygon
from matplotlib.text import Text

from kzmig.core.atomic import atomic_path
from kzmig.core.errors import DataFileError
from kzmig.features.data.regions import resolve_region
from kzmig.features.assessment.typology import GROUP_LABELS, TREND_TYPES
from kzmig.reporting.i18n import N_, _, current, label, label_names, number, number_text, percent, region_short

logger = logging.getLogger(__name__)

#: schematic tile positions (column west->east, row north->south), one tile per unit
TILES = {
    "kostanay": (2, 0), "north_kazakhstan": (3, 0), "pavlodar": (5, 0),
    "west_kazakhstan": (0, 1), "aktobe": (1, 1), "akmola": (3, 1), "astana": (4, 1), "east_kazakhstan": (6, 1),
    "atyrau": (0, 2), "ulytau": (2, 2), "karaganda": (3, 2), "abai": (5, 2),
    "mangystau": (0, 3), "kyzylorda": (1, 3), "jetisu": (6, 3),
    "turkestan": (2, 4), "south_kazakhstan": (2, 4), "zhambyl": (3, 4), "almaty_region": (5, 4),
    "shymkent": (2, 5), "almaty_city": (5, 5),
}
TYPE_COLOURS = dict(zip(TREND_TYPES, ("#08519c", "#6baed6", "#74c476", "#fdae6b", "#fc9272", "#cb181d")))
GROUP_COLOURS = {1: "#2171b5", 2: "#fd8d3c", 3: "#e6550d", 4: "#a50f15"}
NA_COLOUR = "#d9d9d9"


def _savefig_options(fmt: str, dpi: int) -> dict:
    """Options of every ``savefig`` call here: no Software tag (and no date) in a PNG, tight box."""
    return {"format": fmt, "dpi": dpi, "bbox_inches": "tight", "metadata": {"Software": None} if fmt == "png" else None}


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix (PNG by default).

    PNG metadata carries no timestamp, so the same figure gives the same bytes.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **_savefig_options(fmt, dpi))
    return path


def figure_bytes(fig: Figure, *, fmt: str = "png", dpi: int = 110) -> bytes:
    """The bytes :func:`save_figure` would write, rendered in memory (same figure, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, **_savefig_options(fmt, dpi))
    return buf.getvalue()


#: colour of a caveat written under a chart (:func:`add_footnote`)
CAVEAT_COLOUR = "#a50f15"
#: width of a footnote line: the figure's width less this share (left margin of 1 %, the same on the right)
FOOTNOTE_MARGIN = 0.02
#: average glyph width in em of the default sans-serif font, for a first guess of the wrap width
_GLYPH_EM = 0.6


def add_footnote(fig: Figure, text: str, *, fontsize: float = 7, color: str = "#444444") -> Text:
    """Write ``text`` under the axes of ``fig``, inside the figure and never over an axis or its labels.

    The note becomes the figure's bottom label (``fig.supxlabel``, left-aligned at 1 % of the
    width, wrapped to the figure's width less :data:`FOOTNOTE_MARGIN`), and the figure switches
    to matplotlib's constrained layout, which reserves the note's height below the tick and axis
    labels of every axes. Use it on a figure that has no layout engine yet (the fan chart, the
    growth index, the external flows chart); a figure laid out with ``tight_layout`` would be
    laid out again. Returns the text artist.
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    room = fig.bbox.width * (1 - FOOTNOTE_MARGIN)
    chars = max(20, int(fig.get_figwidth() * 72 * (1 - FOOTNOTE_MARGIN) / (_GLYPH_EM * fontsize)))
    while True:  # wrap at the guess, then narrower until the widest line fits the figure
        wrapped = "\n".join(textwrap.wrap(" ".join(str(text).split()), chars)) or " "
        label = fig.supxlabel(wrapped, x=FOOTNOTE_MARGIN / 2, ha="left", fontsize=fontsize, color=color)
        if label.get_window_extent(renderer).width <= room or chars <= 20:
            break
        chars = max(20, int(chars * 0.9))
    fig.set_layout_engine("constrained")
    return label


def _period_title(title: str, plain: str, dated: str, period: tuple[int, int] | None) -> str:
    """``title`` if given, else the message ``dated`` with ``period``'s first and last year, else ``plain``."""
    if title:
        return title
    return _(dated, start=period[0], end=period[1]) if period else _(plain)


def widen_for_side_legends(fig: Figure) -> float:
    """Widen a figure laid out by constrained layout (a figure with :func:`add_footnote`) by the width of
    the legends that sit beside its axes, so that the axes keep their width rather than shrink to make
    room. Call it once a legend's labels are final. Returns the inches added."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return 0.0
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    width = 0.0
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_window_extent(renderer).x0 >= ax.bbox.x1 - 1:
            width = max(width, legend.get_window_extent(renderer).width / fig.dpi)
    if width:
        fig.set_figwidth(fig.get_figwidth() + width)
    return width


def plot_growth_index(pop_change: pd.DataFrame, *, title: str = "", period: tuple[int, int] | None = None) -> Figure:
    """Ranked horizontal bars of the growth index P(end)/P(start) x 100, coloured by group.

    The default title names ``period`` (first and last year) when given.
    """
    d = pop_change.dropna(subset=["growth_index"]).sort_values("growth_index")
    names = d["region"].map(region_short)
    fig = Figure(figsize=(8, 0.35 * len(d) + 1.5))
    ax = fig.subplots()
    colours = [GROUP_COLOURS.get(int(g), NA_COLOUR) if pd.notna(g) else NA_COLOUR for g in d["group"]]
    ax.barh(np.arange(len(d)), d["growth_index"] - 100, left=100, color=colours)
    ax.set_yticks(np.arange(len(d)), labels=list(names))
    ax.axvline(100, color="black", lw=0.8)
    left_out = sorted(set(pop_change["region"]) - set(d["region"]))
    if left_out:
        add_footnote(fig, _("not shown (no value for the period): {regions}",
                            regions=", ".join(region_short(r) for r in left_out)))
    ax.set_xlabel(_("population growth index, start = 100"))
    ax.set_title(_period_title(title, N_("Population growth index by region"),
                                N_("Population growth index by region, {start}-{end}"), period))
    # the legend under the axis label (never over a bar), the note (if any) under it; constrained layout
    # makes room for both
    below = 1.1 * (ax.xaxis.label.get_size() + 2 * ax.xaxis.get_ticklabels()[0].get_size() + 12) / 72
    ax.legend(handles=[Patch(color=c, label=f"{g}: {_(GROUP_LABELS[g])}") for g, c in GROUP_COLOURS.items()],
              loc="upper center", bbox_to_anchor=(0.5, -below / ax.get_position().height / fig.get_figheight()),
              fontsize=7, frameon=False)
    fig.set_layout_engine("constrained")
    return fig


def _type_colour(t) -> str:
    return TYPE_COLOURS.get(t, NA_COLOUR) if isinstance(t, str) else NA_COLOUR


def _legend(ax) -> None:
    handles = [Patch(color=c, label=_(t)) for t, c in TYPE_COLOURS.items()]
    handles.append(Patch(color=NA_COLOUR, label=_("not computable")))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)


def _tile_name(code: str) -> str:
    """A region's name on a tile: without "Region" / "область", broken after its first word
    (a city's "г. Астана" kept on one line)."""
    name = region_short(code)
    for tail in (" Region", " область"):
        name = name.removesuffix(tail)
    if name.startswith("г. "):
        return name
    return name.replace(" ", "\n", 1).replace("-", "-\n", 1)


def plot_tile_map(types: pd.DataFrame, *, title: str = "", period: tuple[int, int] | None = None) -> Figure:
    """Schematic tile map: one square per region, placed roughly where it lies, coloured by type.

    ``types`` has ``region`` and ``type`` (one flow). Regions without a tile position are
    listed in the log and left out. The default title names ``period`` when given.
    """
    fig = Figure(figsize=(11.5, 6.8))
    ax = fig.subplots()
    missing = []
    for rec in types.itertuples(index=False):
        if rec.region not in TILES:
            missing.append(rec.region)
            continue
        x, y = TILES[rec.region]
        ax.add_patch(Polygon([(x, -y), (x + 0.95, -y), (x + 0.95, -y - 0.95), (x, -y - 0.95)],
                             closed=True, facecolor=_type_colour(rec.type), edgecolor="white"))
        ax.text(x + 0.475, -y - 0.475, _tile_name(rec.region), ha="center", va="center", fontsize=6.5)
    if missing:
        logger.warning("plot_tile_map: no tile position for %s", missing)
    ax.set_xlim(-0.1, 7.1)
    ax.set_ylim(-6.1, 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(_period_title(title, N_("Migration-trend type by region (schematic)"),
                                N_("Migration-trend type by region, {start}-{end} (schematic)"), period))
    _legend(ax)
    return fig


def _rings(geometry: dict) -> list[list]:
    kind, coords = geometry.get("type"), geometry.get("coordinates", [])
    if kind == "Polygon":
        return [coords[0]] if coords else []
    if kind == "MultiPolygon":
        return [poly[0] for poly in coords if poly]
    return []


def plot_geojson_map(types: pd.DataFrame, geojson: Path | Mapping, *, key: str = "region", title: str = "",
                     source: str | None = None, period: tuple[int, int] | None = None) -> Figure:
    """True choropleth from a user GeoJSON of region boundaries (outer rings drawn, holes ignored).

    ``geojson`` is the file or its content (a FeatureCollection already read, with ``source``
    naming the file in messages). Each feature's ``properties[key]`` must hold a region code
    or a known name (Russian, Kazakh or English spelling of ``data/region_aliases.csv``).

    Raises
    ------
    DataFileError
        If the file is not a GeoJSON FeatureCollection or no feature matches a region.
    """
    if source is None:
        source = "GeoJSON" if isinstance(geojson, Mapping) else str(geojson)
    if not isinstance(geojson, Mapping):  # a file: the study's own reader, which names it
        from kzmig.studies.assess import read_geojson

        geojson = read_geojson(Path(geojson))
    try:
        feats = geojson["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFileError(f"{source}: not a readable GeoJSON FeatureCollection ({exc}).") from None
    colour = dict(zip(types["region"], types["type"]))
    fig = Figure(figsize=(10, 6))
    ax = fig.subplots()
    matched, unmatched = set(), []
    for f in feats:
        name = str((f.get("properties") or {}).get(key, ""))
        code = resolve_region(name) if name else None
        if code is None:
            unmatched.append(name)
            continue
        matched.add(code)
        for ring in _rings(f.get("geometry") or {}):
            ax.add_patch(Polygon(np.asarray(ring)[:, :2], closed=True, facecolor=_type_colour(colour.get(code)),
                                 edgecolor="white", lw=0.5))
    if not matched:
        raise DataFileError(f"{source}: no feature's properties[{key!r}] names a known region; saw {unmatched[:5]}.")
    if unmatched:
        logger.warning("plot_geojson_map: %d feature(s) not matched to a region: %s", len(unmatched), unmatched[:5])
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(_period_title(title, N_("Migration-trend type by region"),
                                N_("Migration-trend type by region, {start}-{end}"), period))
    _legend(ax)
    return fig


def plot_coefficients(tidy: pd.DataFrame, level: float) -> Figure:
    """Coefficients with ``level`` intervals, one panel per term, one row per model.

    ``tidy`` holds one target and one requested covariance: ``term``, ``model``,
    ``estimate``, ``conf_low``, ``conf_high``, ``cov_type`` (used), ``requested_cov``, ``target``.
    """
    terms = [t for t in dict.fromkeys(tidy["term"]) if t != "const"]
    models = list(dict.fromkeys(tidy["model"]))
    fig = Figure(figsize=(7, 1.2 + 0.45 * len(models) * len(terms)))
    axes = fig.subplots(len(terms), 1, squeeze=False)
    for ax, term in zip(axes[:, 0], terms, strict=True):
        sub = tidy.loc[tidy["term"] == term].set_index("model").reindex(models)
        ypos = range(len(models))
        ax.errorbar(sub["estimate"], ypos, xerr=[sub["estimate"] - sub["conf_low"],
                                                 sub["conf_high"] - sub["estimate"]], fmt="o", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(list(ypos), [label(m) for m in models])
        ax.set_title(label(term), fontsize=9, loc="left")
    used = tidy.groupby("model", sort=False)["cov_type"].first()
    cov = tidy["requested_cov"].iloc[0]
    other = ", ".join(f"{label(m)}: {label(c)}" for m, c in used.items() if c != cov)
    text = _("Coefficients with {level} intervals ({target}; standard errors: {cov})", level=percent(level),
             target=label(tidy["target"].iloc[0]), cov=label(cov) + ("; " + other if other else ""))
    width = int(fig.get_figwidth() * 72 / (_GLYPH_EM * 10))  # characters of 10 pt across the figure
    fig.suptitle(textwrap.fill(text, width), fontsize=10)
    fig.tight_layout()
    return fig


# --- stage 2: external migration ------------------------------------------------------------------

FLOW_COLOURS = {"arrivals": "#2171b5", "departures": "#cb181d", "net": "#252525"}
#: the names of the flows on the charts (translated where shown)
FLOW_NAMES = {"arrivals": N_("arrivals"), "departures": N_("departures"), "net": N_("net")}


class NumberFormatter(ScalarFormatter):
    """Tick labels as the prose of ``lang`` writes numbers: thousands separated, the decimals matplotlib
    chooses for the ticks (``−400 000``, ``2,5`` in Russian; ``-400,000``, ``2.5`` in English), never an
    offset or a power of ten."""

    def __init__(self, lang: str) -> None:
        super().__init__(useOffset=False)
        self.set_scientific(False)
        self.lang = lang

    def __call__(self, x, pos=None) -> str:
        text = super().__call__(x, pos).replace("\u2212", "-").strip("$")
        sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, dot, frac = body.partition(".")
        out = sign + (f"{int(whole):,}" if whole.isdigit() else whole) + dot + frac
        return number_text(out, self.lang)


def number_axis(ax) -> None:
    """The y tick labels of ``ax`` in the current language's number convention (:class:`NumberFormatter`)."""
    ax.yaxis.set_major_formatter(NumberFormatter(current()))


def _runs(years) -> list[tuple[int, int]]:
    """Consecutive runs of sorted years as (first, last) pairs."""
    out: list[tuple[int, int]] = []
    for y in sorted(int(v) for v in years):
        if out and y == out[-1][1] + 1:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


def plot_external_flows(flows: pd.DataFrame, *, wave_threshold: float = -50_000.0, title: str = "") -> Figure:
    """External arrivals, departures and net per year, with the CIS Stat years and the emigration wave marked.

    Parameters
    ----------
    flows : DataFrame
        :func:`kzmig.features.assessment.external.external_flows_table`: ``year``, ``arrivals``,
        ``departures``, ``net``, ``publisher``.
    wave_threshold : float, default -50,000
        The emigration wave is the first run of consecutive years whose net is below this
        (1991-2002 on the shipped data: a regime of its own, METHOD.md section 9).
    title : str, optional

    Returns
    -------
    Figure
        One axes: three lines labelled ``arrivals``, ``departures``, ``net``; a grey span per run
        of CIS Stat years (label ``CIS Stat years``) and a hatched span over the wave (label
        starting ``emigration wave``).
    """
    d = flows.sort_values("year")
    fig = Figure(figsize=(9, 4.8))
    ax = fig.subplots()
    for col in ("arrivals", "departures", "net"):
        ok = d[col].notna()
        ax.plot(d.loc[ok, "year"], d.loc[ok, col], color=FLOW_COLOURS[col], lw=1.6 if col != "net" else 2.2,
                marker="o", ms=2.5, label=_(FLOW_NAMES[col]))
    ax.axhline(0.0, color="grey", lw=0.8)
    for i, (a, b) in enumerate(_runs(d.loc[d["publisher"] == "CIS Stat", "year"])):
        ax.axvspan(a - 0.5, b + 0.5, color="#bdbdbd", alpha=0.35, lw=0, label=_("CIS Stat years") if i == 0 else None)
    below = d.loc[d["net"] < wave_threshold, "year"]
    if len(below):
        a, b = _runs(below)[0]
        ax.axvspan(a - 0.5, b + 0.5, facecolor="none", edgecolor="#a50f15", hatch="//", lw=0.0,
                   label=_("emigration wave {first}-{last} (net < {threshold})", first=a, last=b,
                           threshold=number(wave_threshold)))
    ax.set_xlabel(_("year"))
    ax.set_ylabel(_("persons"))
    number_axis(ax)
    ax.set_title(title or _("External migration of Kazakhstan: arrivals, departures and net"))
    ax.legend(fontsize=8, loc="upper right")
    add_footnote(fig, _("1991-1999: CIS Stat (BNS publishes from 2000); 2000-: BNS Taldau 2929752/2929753"))
    return fig


def _partner_name(iso: str) -> str | None:
    """A CIS partner's name in the current language (``country_<iso>`` of the label table), or None."""
    key = f"country_{str(iso).lower()}"
    return label(key) if key in label_names() else None


def plot_partner_flows(partners: pd.DataFrame, *, non_cis: pd.DataFrame | None = None, top: int = 5,
                       title: str = "") -> Figure:
    """Stacked bars of external flows by CIS partner country per year, one panel per direction.

    Parameters
    ----------
    partners : DataFrame
        :func:`kzmig.features.assessment.external.partner_table`: ``year``, ``direction``, ``partner``,
        ``partner_name``, ``value``.
    non_cis : DataFrame, optional
        :func:`kzmig.features.assessment.external.cis_split_table`; its ``non_cis`` rows are stacked on top
        (label ``non-CIS countries``), since no non-CIS partner is published.
    top : int, default 5
        Partners drawn separately per direction (largest over all years); the rest are summed
        into ``other CIS``.

    Returns
    -------
    Figure
        Panels titled ``arrivals`` and ``departures`` (in the current language); one bar container
        per segment, labelled with the partner's name, bottom to top in order of size.
    """
    directions = [d for d in ("arrivals", "departures") if (partners["direction"] == d).any()]
    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, max(len(directions), 1), squeeze=False)[0]
    for ax, direction in zip(axes, directions):
        p = partners.loc[partners["direction"] == direction]
        years = sorted(p["year"].unique())
        names = p["partner"].map(_partner_name).fillna(p["partner_name"])
        wide = p.assign(partner_name=names).pivot_table(index="year", columns="partner_name", values="value",
                                                        aggfunc="sum").reindex(years)
        order = list(wide.sum().sort_values(ascending=False).index)
        keep, rest = order[:top], order[top:]
        segments = {name: wide[name].fillna(0.0) for name in keep}
        if rest:
            segments[_("other CIS")] = wide[rest].fillna(0.0).sum(axis=1)
        if non_cis is not None:
            n = non_cis.loc[(non_cis["direction"] == direction) & (non_cis["group"] == "non_cis")]
            segments[_("non-CIS countries")] = n.set_index("year")["value"].reindex(years).fillna(0.0)
        bottom = np.zeros(len(years))
        for name, vals in segments.items():
            ax.bar(years, vals.to_numpy(dtype=float), bottom=bottom, label=name, width=0.8)
            bottom = bottom + vals.to_numpy(dtype=float)
        ax.set_title(_(FLOW_NAMES[direction]))
        ax.set_xticks(years, [str(y) for y in years], rotation=90, fontsize=7)
        ax.set_ylabel(_("persons"))
        number_axis(ax)
        ax.legend(fontsize=7)
    fig.suptitle(title or _("External migration by partner country (Kazakhstan's record; CIS Stat)"), fontsize=10)
    fig.tight_layout()
    return fig
