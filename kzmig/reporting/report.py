"""report.html: one self-contained page of a run, composed by the caller from sections of blocks.

The page is a Jinja2 template (``templates/report.html.j2``, package data) filled with the
rendered blocks; its fixed words ("Contents", "Nothing to report.") and the metadata labels come
from the gettext catalogue of the current language (:mod:`kzmig.reporting.i18n`), and the
``<html lang>`` attribute says which. The page needs no network: the CSS is inline, there is no script and no web font, and every
figure is embedded as ``data:image/png;base64,...`` (the bytes :func:`save_figure` would
write, rendered in memory). The same sections give the same bytes.

A section is ``(heading, [blocks])``; a block is

- a ``str``: a paragraph;
- a list of ``str``: a bulleted list (e.g. what the data could not answer);
- a ``DataFrame`` or a :class:`TableBlock`: a table, with Russian and English region names
  beside a ``region`` column, an optional caption and per-column number formats;
- a matplotlib ``Figure`` or a :class:`FigureBlock`: an embedded PNG with alt text.

:data:`STANDARD_SECTIONS` lists the headings of a run's report in order; the run composer
decides what goes under each.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from kzmig.core.atomic import atomic_write_text
from kzmig.reporting.charts import figure_bytes
from kzmig.reporting.i18n import N_, _, cell_text, current, label, number_text, region_name, using
from kzmig.reporting.planning import vintage_text
from kzmig.reporting.tables import MISSING_SHOWN, table_cells, with_names

STANDARD_SECTIONS = (
    "Headline of the assessment",
    "Regression table",
    "Accuracy and chosen models",
    "Forecast charts",
    "Scenarios and targets",
    "What the data could not answer",
)
MISSING = MISSING_SHOWN
NOTHING = N_("Nothing to report.")
CONTENTS = N_("Contents")
#: labels of the metadata keys a run passes (the catalogue translates them)
META_LABELS = {"title": N_("title"), "method": N_("method"), "vintage": N_("data vintage"), "run_id": N_("run id"),
               "created_at": N_("created at")}
CSS = """
body{font-family:"Segoe UI",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #2171b5;padding-bottom:.15em;margin-top:2em}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;font-size:.9em;color:#444}
dl.meta dt{font-weight:bold}dl.meta dd{margin:0}
nav ol{columns:2;font-size:.95em}
table{border-collapse:collapse;margin:1em 0;font-size:.85em;display:block;max-width:100%;overflow-x:auto}
p,li,h1,h2,caption,figcaption,dt,dd{overflow-wrap:anywhere}
caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}
th,td{border:1px solid #bbb;padding:.25em .5em;vertical-align:top}
th{background:#ddebf7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee;box-sizing:border-box}
figcaption{font-size:.85em;color:#444}
section.brief ol{font-size:1.05em}section.brief li{margin:.35em 0}
.flag{color:#a50f15;font-weight:bold}
@media print{nav{display:none}h2{page-break-before:auto}figure,table{page-break-inside:avoid}}
""".strip()


@dataclass(frozen=True)
class TableBlock:
    """A table block.

    Parameters
    ----------
    frame : DataFrame
        Shown as is (index dropped), with region names inserted after ``region`` when
        ``names`` and they are absent.
    caption : str, optional
    formats : mapping of column to str or callable, optional
        A ``str.format`` pattern (``"{:,.0f}"``) or a function of the value; other float
        columns follow the number policy (:func:`kzmig.reporting.tables.table_cells`: persons
        whole, rates with their decimals), integers and text are shown as they are, NA as ``–``.
    names : bool, default True
    labels : bool, default False
        Column headers shown through :func:`kzmig.reporting.i18n.label` (human-readable, in the
        current language), and the region names in the current language with the Kazakh name
        (Russian) instead of the Russian and English name columns.
    """

    frame: pd.DataFrame
    caption: str = ""
    formats: Mapping[str, str | Callable] = field(default_factory=dict)
    names: bool = True
    labels: bool = False


@dataclass(frozen=True)
class FigureBlock:
    """A figure block: ``figure`` embedded as PNG with ``alt`` text and an optional caption
    (``figure`` may be None when ``png`` holds the rendered bytes, or a function that returns them
    when the report is written: a chart rendered later, with others, in worker processes)."""

    figure: Figure | None
    alt: str
    caption: str = ""
    dpi: int = 110
    png: bytes | Callable[[], bytes] | None = None  # the figure rendered (e.g. when it was saved as a file too)


Block = str | Sequence[str] | pd.DataFrame | Figure | TableBlock | FigureBlock


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _table(block: TableBlock) -> str:
    df = block.frame.reset_index(drop=True)
    if block.labels and block.names and "region" in df.columns and "region_name" not in df.columns:
        df = df.copy()
        df.insert(list(df.columns).index("region") + 1, "region_name", df["region"].map(region_name))
    elif block.names and "region" in df.columns and "region_name_ru" not in df.columns:
        df = with_names(df)
    out = ["<table>"]
    if block.caption:
        out.append(f"<caption>{_esc(block.caption)}</caption>")
    english = current() == "en"
    # in English, a table not asked for labels keeps its column names (scripts and readers know them)
    heads = [label(c) if block.labels or not english else c for c in df.columns]
    out.append("<thead><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in heads) + "</tr></thead><tbody>")
    for row in table_cells(df, block.formats):  # the number policy of kzmig.reporting.tables
        if not english:
            row = [(number_text(text) if numeric else cell_text(text), numeric) for text, numeric in row]
        cells = [f'<td class="num">{_esc(text)}</td>' if numeric else f"<td>{_esc(text)}</td>" for text, numeric in row]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _alt(fig: Figure) -> str:
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if not title:
        title = next((ax.get_title() for ax in fig.axes if ax.get_title()), "")
    return title or "chart"


def _figure(block: FigureBlock) -> str:
    if block.png is None and block.figure is None:
        raise TypeError(f"figure block {block.alt!r} has neither a figure nor its PNG.")
    png = block.png() if callable(block.png) else block.png if block.png is not None \
        else figure_bytes(block.figure, dpi=block.dpi)
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{_esc(block.caption)}</figcaption>" if block.caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(block.alt)}">{cap}</figure>'


def render_block(block: Block) -> str:
    """HTML of one block (see the module notes).

    Raises
    ------
    TypeError
        A block of another type, naming it.
    """
    if isinstance(block, str):
        return f"<p>{_esc(block)}</p>"
    if isinstance(block, pd.DataFrame):
        return _table(TableBlock(block))
    if isinstance(block, TableBlock):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(FigureBlock(block, alt=_alt(block)))
    if isinstance(block, FigureBlock):
        return _figure(block)
    if isinstance(block, Sequence) and all(isinstance(b, str) for b in block):
        return "<ul>" + "".join(f"<li>{_esc(b)}</li>" for b in block) + "</ul>"
    raise TypeError(f"report block of type {type(block).__name__} is not supported; use text, a list of text, "
                    "a DataFrame, a Figure, TableBlock or FigureBlock.")


def _meta(meta: Mapping) -> list[tuple[str, str]]:
    rows = []
    for key, value in meta.items():
        if key == "vintage":
            text = vintage_text(value)
        elif isinstance(value, Mapping):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        else:
            text = str(value)
        name = _(META_LABELS[key]) if key in META_LABELS else str(key).replace("_", " ")
        rows.append((name, text))
    return rows


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("kzmig.reporting", "templates"), autoescape=select_autoescape(["j2"]),
                      keep_trailing_newline=True, trim_blocks=True)
    return env.get_template("report.html.j2")


def build_report(sections: Sequence[tuple[str, Sequence[Block]]], *, title: str, meta: Mapping,
                 lang: str | None = None, classes: Mapping[int, str] | None = None) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    sections : sequence of (str, sequence of Block)
        Headings in order, each with its blocks (see the module notes); a section without
        blocks shows "Nothing to report.".
    title : str
    meta : mapping
        Shown under the title as a definition list (``run_id``, ``created_at``, ``vintage``
        (variable -> latest year) ...); values are written as given, so a timestamp appears
        only when the caller passes one.
    lang : {"ru", "en"}, optional
        The page's language (its fixed words and ``<html lang>``); default: the current one
        (:func:`kzmig.reporting.i18n.using`).
    classes : mapping of int to str, optional
        A CSS class of some sections, by position (``{0: "brief"}``).

    Returns
    -------
    str
        ``<!DOCTYPE html>`` page: title, metadata, table of contents linking ``#s1``, ``#s2``
        ..., and one ``<section>`` per heading.
    """
    from markupsafe import Markup

    with using(lang):
        rendered = [{"heading": heading, "blocks": [Markup(render_block(b)) for b in blocks],
                     "cls": (classes or {}).get(i, "")} for i, (heading, blocks) in enumerate(sections)]
        return _template().render(lang=current(), title=title, css=Markup(CSS), meta=_meta(meta),
                                  contents=_(CONTENTS), nothing=_(NOTHING), sections=rendered)


def write_report(path: str | Path, sections: Sequence[tuple[str, Sequence[Block]]], *, title: str,
                 meta: Mapping, lang: str | None = None, classes: Mapping[int, str] | None = None) -> Path:
    """Write :func:`build_report` to ``path`` (UTF-8) atomically."""
    return atomic_write_text(build_report(sections, title=title, meta=meta, lang=lang, classes=classes), path)
