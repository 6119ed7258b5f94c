"""Captions and caveats under charts: inside the figure, never over an axis, its ticks or its label.

Checked on the rendered figure: the window extents (Agg renderer, after the layout has run) of
the note and of every axis label and tick label must not intersect, and the note must lie
inside the figure's own box. A control draws the note the old way (``fig.text`` at the bottom
edge) and sees the check fail, so the check can fail.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from kzmig.reporting.charts import add_footnote, plot_external_flows, plot_growth_index
from kzmig.reporting.planning_charts import plot_fan

# a caveat as long as the composition caveats of the baseline run (two to three lines at 7 pt)
CAVEAT = ("Caveat: composition-based estimate: the total of external departures times the shares of the "
          "specialty group in the published years (2017-2022); the shares are held at their mean over those "
          "years, so the interval covers the total's uncertainty and the shares' spread, not a change of the "
          "mix; read it as an order of magnitude")


def _render(fig):
    """Lay the figure out and draw it as :func:`kzmig.reporting.charts.figure_bytes` does; the renderer."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.savefig(io.BytesIO(), format="png", dpi=110)
    canvas.draw()
    return canvas.get_renderer()


def _axis_boxes(fig, renderer) -> list[tuple[str, Bbox]]:
    boxes = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for name, label in (("x label", ax.xaxis.label), ("y label", ax.yaxis.label)):
            if label.get_text():
                boxes.append((name, label.get_window_extent(renderer)))
        for axis in (ax.xaxis, ax.yaxis):  # the tick labels drawn: those inside the view interval
            lo, hi = sorted(axis.get_view_interval())
            slack = 1e-9 * max(1.0, abs(hi - lo))
            for loc, tick in zip(axis.get_majorticklocs(), axis.get_majorticklabels()):
                if tick.get_text() and tick.get_visible() and lo - slack <= loc <= hi + slack:
                    boxes.append((f"tick {tick.get_text()}", tick.get_window_extent(renderer)))
        boxes.append(("axes", ax.get_window_extent(renderer)))
    return boxes


def _overlaps(fig, note, renderer) -> list[str]:
    box = note.get_window_extent(renderer)
    return [name for name, other in _axis_boxes(fig, renderer) if box.overlaps(other)]


def _inside(fig, note, renderer) -> bool:
    box, whole = note.get_window_extent(renderer), fig.bbox
    return box.x0 >= whole.x0 and box.y0 >= whole.y0 and box.x1 <= whole.x1 and box.y1 <= whole.y1


def test_caveat_under_a_fan_chart_is_clear_of_the_axis(forecasts, history):
    fig = plot_fan(history, forecasts, "net_migration", "astana")
    note = add_footnote(fig, CAVEAT, color="#a50f15")
    renderer = _render(fig)
    assert "\n" in note.get_text()  # wrapped: one line would run off the 8-inch figure
    assert _overlaps(fig, note, renderer) == []
    assert _inside(fig, note, renderer)
    # below the x-axis label, not beside it
    assert note.get_window_extent(renderer).y1 <= fig.axes[0].xaxis.label.get_window_extent(renderer).y0


def test_the_old_placement_fails_the_same_check(forecasts, history):
    """Control: ``fig.text(0.01, 0.005, ...)`` (the drawing before the fix) overlaps the x-axis label."""
    fig = plot_fan(history, forecasts, "net_migration", "astana")
    note = fig.text(0.01, 0.005, CAVEAT, fontsize=7, color="#a50f15", wrap=True)
    renderer = _render(fig)
    assert "x label" in _overlaps(fig, note, renderer) or not _inside(fig, note, renderer)


@pytest.mark.parametrize("size", [(8, 4.5), (4, 3), (12, 6)])
def test_every_line_of_the_note_fits_the_figure(size, forecasts, history):
    fig = plot_fan(history, forecasts, "net_migration", "astana")
    fig.set_size_inches(*size)
    note = add_footnote(fig, CAVEAT)
    renderer = _render(fig)
    assert _inside(fig, note, renderer) and _overlaps(fig, note, renderer) == []
    assert " ".join(note.get_text().split()) == " ".join(CAVEAT.split())  # nothing lost in the wrapping


def test_stage_charts_notes_are_clear_of_the_axes():
    pop = pd.DataFrame({"region": ["astana", "akmola", "shymkent"], "growth_index": [130.0, 95.0, None],
                        "group": [1, 4, None]})
    flows = pd.DataFrame({"year": [1991, 1992, 2000, 2001], "arrivals": [1.0e5, 9.0e4, 5.0e4, 4.0e4],
                          "departures": [2.0e5, 1.5e5, 6.0e4, 5.0e4], "publisher": ["CIS Stat"] * 2 + ["BNS"] * 2})
    flows["net"] = flows["arrivals"] - flows["departures"]
    for fig, words in ((plot_growth_index(pop), "not shown"), (plot_external_flows(flows), "CIS Stat")):
        note = fig.get_supxlabel() and fig._supxlabel
        assert note is not None and words in note.get_text()
        renderer = _render(fig)
        assert _overlaps(fig, note, renderer) == [] and _inside(fig, note, renderer)


def test_a_side_legend_widens_a_noted_figure_instead_of_squeezing_its_axes():
    from kzmig.reporting.charts import widen_for_side_legends

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="95 % (backtest: regions: held 98 %; national: calibrated, held 92 %)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    assert widen_for_side_legends(fig) == 0.0  # no layout engine: the tight box takes the legend as it is
    add_footnote(fig, CAVEAT)
    renderer = _render(fig)
    legend_in = ax.get_legend().get_window_extent(renderer).width / fig.dpi
    added = widen_for_side_legends(fig)
    assert added == pytest.approx(legend_in) and fig.get_figwidth() == pytest.approx(8 + legend_in)
    renderer = _render(fig)  # laid out again: the axes keep most of their 8 inches
    assert ax.get_window_extent(renderer).width / fig.dpi > 6.0
