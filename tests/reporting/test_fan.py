"""Fan charts: what is drawn, checked on the Figure's artists (not on image size)."""
import numpy as np
import pandas as pd

from kzmig.reporting.charts import save_figure
from kzmig.reporting.fan import plot_forecasts


def _fc(selected=True):
    rows = []
    for region in ("A", "B"):
        for year, pt in ((2025, 1.0), (2026, 2.0)):
            for lvl, half in ((0.8, 1.0), (0.95, 2.0)):
                rows.append({"target": "y", "model": "naive", "region": region, "origin_year": 2024, "year": year,
                             "point": pt, "lower": pt - half, "upper": pt + half, "level": lvl, "selected": selected})
    return pd.DataFrame(rows)


HIST = pd.DataFrame({"region": ["A", "A", "B", "B"], "year": [2023, 2024] * 2, "y": [0.0, 1.0, 2.0, 3.0]})


def test_fan_chart_draws_history_point_path_bands_and_breaks():
    fig = plot_forecasts(HIST, _fc(), "y", breaks=pd.DataFrame({"region": ["A"], "year": [2023]}))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["A (naive)", "B (naive)"]
    a = visible[0]
    lines = {ln.get_label(): ln for ln in a.get_lines()}
    history = a.get_lines()[0]
    np.testing.assert_array_equal(history.get_xdata(), [2023, 2024])
    np.testing.assert_array_equal(history.get_ydata(), [0.0, 1.0])
    brk = lines["break year"]  # the 2023 value of A, marked as a break
    assert list(brk.get_xdata()) == [2023] and list(brk.get_ydata()) == [0.0]
    # one band per level; the 95 % band spans point -/+ 2, the 80 % band point -/+ 1
    bands = {c.get_label(): c.get_paths()[0].vertices for c in a.collections}
    assert set(bands) == {"95%", "80%"}
    assert bands["95%"][:, 1].min() == -1.0 and bands["95%"][:, 1].max() == 4.0
    assert bands["80%"][:, 1].min() == 0.0 and bands["80%"][:, 1].max() == 3.0
    point = [ln for ln in a.get_lines() if list(ln.get_xdata()) == [2025, 2026]][0]
    np.testing.assert_array_equal(point.get_ydata(), [1.0, 2.0])


def test_saved_png_is_atomic_and_reproducible(tmp_path):
    fig = plot_forecasts(HIST, _fc(), "y")
    out = save_figure(fig, tmp_path / "f.png")
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]  # no temporary file left behind
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = save_figure(plot_forecasts(HIST, _fc(), "y"), tmp_path / "g.png")
    assert again.read_bytes() == out.read_bytes()  # same data, same bytes


def test_nothing_selected_draws_nothing():
    assert plot_forecasts(HIST.iloc[:1], _fc(selected=False), "y") is None
