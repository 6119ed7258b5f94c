"""Planning charts on the SYNTHETIC run: what is drawn, checked on the artists (not on image sizes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from kzmig.core.errors import DataError
from kzmig.reporting.charts import figure_bytes, save_figure
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_overview, plot_population

BREAKS = pd.DataFrame({"region": ["astana", "akmola"], "year": [2019, 2016]})
SCENARIOS = pd.DataFrame({"scenario": ["high"] * 3 + ["low"] * 3, "target": "net_migration", "region": "astana",
                          "year": [2025, 2026, 2027] * 2, "point": [1500.0, 1500.0, 1500.0, 1000.0, 900.0, 800.0]})


def _lines(ax):
    return {ln.get_label(): ln for ln in ax.get_lines()}


def _bands(ax):
    return {c.get_label(): c.get_paths()[0].vertices for c in ax.collections}


def _sel(forecasts, target, region):
    return forecasts.loc[(forecasts["target"] == target) & forecasts["selected"] & (forecasts["region"] == region)]


def test_fan_history_breaks_point_and_scenarios(forecasts, history):
    fig = plot_fan(history, forecasts, "net_migration", "astana", breaks=BREAKS, scenarios=SCENARIOS)
    ax = fig.axes[0]
    assert ax.get_title() == "net_migration: Astana city / г. Астана"
    lines = _lines(ax)
    h = history.loc[history["region"] == "astana"]
    np.testing.assert_array_equal(lines["history"].get_xdata(), h["year"])
    np.testing.assert_array_equal(lines["history"].get_ydata(), h["net_migration"])
    assert list(lines["break year"].get_xdata()) == [2019, 2019]  # astana's break only, not akmola's
    assert sum(ln.get_label() == "break year" for ln in ax.get_lines()) == 1
    pts = _sel(forecasts, "net_migration", "astana").drop_duplicates("year")
    np.testing.assert_array_equal(lines["arima (selected)"].get_xdata(), pts["year"])
    np.testing.assert_array_equal(lines["arima (selected)"].get_ydata(), pts["point"])
    np.testing.assert_array_equal(lines["scenario: low"].get_ydata(), [1000.0, 900.0, 800.0])
    assert "scenario: high" in lines
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["history", "break year"]


def test_fan_bands_stored_and_derived_50(forecasts, history):
    ax = plot_fan(history, forecasts, "net_migration", "astana").axes[0]
    bands = _bands(ax)
    assert list(bands) == ["95%", "80%", "50%"]  # widest drawn first
    f = _sel(forecasts, "net_migration", "astana")
    for label, lv in (("95%", 0.95), ("80%", 0.8)):
        g = f.loc[np.isclose(f["level"], lv)]
        assert bands[label][:, 1].min() == g["lower"].min() and bands[label][:, 1].max() == g["upper"].max()
        assert set(bands[label][:, 0]) == {2025.0, 2026.0, 2027.0}
    # 50 %: split normal, each side's scale the mean over levels of (distance to bound) / z(level)
    g = f.assign(z=norm.ppf((1 + f["level"]) / 2))
    g = g.assign(sl=(g["point"] - g["lower"]) / g["z"], su=(g["upper"] - g["point"]) / g["z"])
    s = g.groupby("year").agg(point=("point", "first"), sl=("sl", "mean"), su=("su", "mean"))
    lo, hi = s["point"] - norm.ppf(0.75) * s["sl"], s["point"] + norm.ppf(0.75) * s["su"]
    v = bands["50%"]
    np.testing.assert_allclose(sorted(v[:, 1])[:1], [lo.min()], rtol=1e-12)
    np.testing.assert_allclose(sorted(v[:, 1])[-1:], [hi.max()], rtol=1e-12)
    for year in (2025, 2026, 2027):  # every vertex of the year is one of its two bounds
        ys = v[v[:, 0] == year, 1]
        assert np.isclose(ys, lo[year]).any() and np.isclose(ys, hi[year]).any()
    assert bands["50%"][:, 1].min() > bands["80%"][:, 1].min()
    assert "50%" not in _bands(plot_fan(history, forecasts, "net_migration", "astana", band_50=False).axes[0])


def test_fan_errors_name_target_and_region(forecasts, history):
    with pytest.raises(DataError, match="'shymkent'"):
        plot_fan(history, forecasts, "net_migration", "shymkent")
    with pytest.raises(DataError, match="'births'"):
        plot_fan(history, forecasts, "births", "astana")


def test_overview_panels_in_registry_order_national_last(forecasts, history):
    fig = plot_overview(history, forecasts, "net_migration", breaks=BREAKS, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Akmola Region", "Almaty city", "Astana city",
                                                  "Republic of Kazakhstan"]
    assert len(fig.axes) - len(visible) == 2  # a 2 x 3 grid with two empty cells
    # the years under the bottom row and under each panel over an empty cell; none over another panel
    years_shown = [all(t.label1.get_visible() for t in ax.xaxis.get_major_ticks()) for ax in visible]
    assert years_shown == [False, True, True, True]
    nat = _lines(visible[-1])
    pts = _sel(forecasts, "net_migration", "kazakhstan").drop_duplicates("year")
    np.testing.assert_array_equal(nat["arima (selected)"].get_ydata(), pts["point"])
    assert list(_lines(visible[0])["break year"].get_xdata()) == [2016, 2016]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["history", "break year", "95%", "80%", "50%", "arima (selected)"]
    assert "net_migration" in fig.get_suptitle() and "arima" in fig.get_suptitle()


def test_accuracy_lines_selected_and_reference(accuracy):
    ax = plot_accuracy(accuracy, "net_migration", selected="arima").axes[0]
    lines = _lines(ax)
    assert set(lines) == {"arima (selected)", "naive (reference)", "MASE = 1"}
    sel = lines["arima (selected)"]
    np.testing.assert_array_equal(sel.get_xdata(), [1, 2, 3])
    a = accuracy.loc[(accuracy["target"] == "net_migration") & (accuracy["region"] == "all_regions")]
    np.testing.assert_allclose(sel.get_ydata(), a.loc[a["model"] == "arima", "mase"])
    np.testing.assert_allclose(lines["naive (reference)"].get_ydata(), a.loc[a["model"] == "naive", "mase"])
    assert sel.get_linewidth() > lines["naive (reference)"].get_linewidth()
    assert lines["naive (reference)"].get_linestyle() == "--"
    assert list(lines["MASE = 1"].get_ydata()) == [1.0, 1.0]
    assert "mase" in ax.get_title() and "all_regions" in ax.get_title()


def test_accuracy_other_metric_region_and_errors(accuracy):
    ax = plot_accuracy(accuracy, "net_migration", selected="naive", metric="rmse",
                       region="all_regions_no_breaks").axes[0]
    assert set(_lines(ax)) == {"arima", "naive (selected, reference)"}
    with pytest.raises(DataError, match="'winkler_80'"):
        plot_accuracy(accuracy, "net_migration", selected="arima", metric="winkler_80")
    with pytest.raises(DataError, match="'births'"):
        plot_accuracy(accuracy, "births", selected="arima")


def test_population_national_on_top_then_regions(forecasts, history):
    fig = plot_population(history, forecasts)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Republic of Kazakhstan", "Akmola Region", "Almaty city", "Astana city"]
    nat = fig.axes[0]
    assert nat.get_position().width > 3 * fig.axes[1].get_position().width  # spans the grid
    pts = _sel(forecasts, "population", "kazakhstan").drop_duplicates("year")
    np.testing.assert_array_equal(_lines(nat)["population_balance (selected)"].get_ydata(), pts["point"])
    h = history.loc[history["region"] == "kazakhstan", "population"]
    np.testing.assert_array_equal(_lines(nat)["history"].get_ydata(), h)
    assert list(_bands(nat)) == ["95%", "80%"]
    assert nat.yaxis.get_major_formatter()(4_950_000, 0) == "4,950,000"


def test_figure_bytes_equal_saved_png_and_repeat(forecasts, history, tmp_path):
    fig = plot_fan(history, forecasts, "net_migration", "astana")
    data = figure_bytes(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert save_figure(fig, tmp_path / "f.png").read_bytes() == data
    assert figure_bytes(plot_fan(history, forecasts, "net_migration", "astana")) == data
