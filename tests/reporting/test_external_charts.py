"""Stage 2 charts: what is drawn, checked on the Figure's artists (line data, spans, bar heights)."""
import numpy as np
import pandas as pd
from matplotlib.container import BarContainer

from kzmig.reporting.charts import plot_external_flows, plot_partner_flows

# SYNTHETIC flows: 1991-1993 from CIS Stat, a wave of net < -50,000 in 1991-1992
FLOWS = pd.DataFrame({
    "year": [1991, 1992, 1993, 1994, 1995],
    "arrivals": [100_000.0, 90_000.0, 80_000.0, 70_000.0, 60_000.0],
    "departures": [200_000.0, 150_000.0, 100_000.0, 60_000.0, np.nan],
    "publisher": ["CIS Stat"] * 3 + ["BNS"] * 2,
})
FLOWS["net"] = FLOWS["arrivals"] - FLOWS["departures"]


def test_external_flows_lines_and_marked_periods():
    ax = plot_external_flows(FLOWS).axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_array_equal(lines["arrivals"].get_xdata(), [1991, 1992, 1993, 1994, 1995])
    np.testing.assert_array_equal(lines["arrivals"].get_ydata(), FLOWS["arrivals"])
    np.testing.assert_array_equal(lines["departures"].get_xdata(), [1991, 1992, 1993, 1994])  # 1995 missing
    np.testing.assert_array_equal(lines["net"].get_ydata(), [-100_000.0, -60_000.0, -20_000.0, 10_000.0])
    spans = {p.get_label(): p for p in ax.patches}
    cis = spans["CIS Stat years"]
    assert (cis.get_x(), cis.get_x() + cis.get_width()) == (1990.5, 1993.5)
    wave = [p for label, p in spans.items() if label.startswith("emigration wave")]
    assert len(wave) == 1 and (wave[0].get_x(), wave[0].get_x() + wave[0].get_width()) == (1990.5, 1992.5)
    assert "1991-1992" in wave[0].get_label()


def test_no_wave_no_span():
    ax = plot_external_flows(FLOWS, wave_threshold=-1e9).axes[0]
    assert not any(p.get_label().startswith("emigration wave") for p in ax.patches)


def test_partner_bars_stack_top_partners_other_and_non_cis():
    rows = []  # SYNTHETIC: three partners, two years, one direction
    for year, vals in ((2020, {"RUS": 50.0, "UZB": 30.0, "KGZ": 5.0}), (2021, {"RUS": 40.0, "UZB": 35.0, "KGZ": 10.0})):
        for iso, v in vals.items():
            rows.append({"year": year, "direction": "departures", "partner": iso,
                         "partner_name": {"RUS": "Russia", "UZB": "Uzbekistan", "KGZ": "Kyrgyzstan"}[iso], "value": v})
    split = pd.DataFrame({"year": [2020, 2021], "direction": "departures", "group": "non_cis", "value": [7.0, 8.0]})
    fig = plot_partner_flows(pd.DataFrame(rows), non_cis=split, top=2)
    ax = fig.axes[0]
    assert ax.get_title() == "departures"
    bars = {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}
    assert list(bars) == ["Russia", "Uzbekistan", "other CIS", "non-CIS countries"]  # largest first
    height = {k: [p.get_height() for p in c.patches] for k, c in bars.items()}
    bottom = {k: [p.get_y() for p in c.patches] for k, c in bars.items()}
    assert height["Russia"] == [50.0, 40.0] and bottom["Russia"] == [0.0, 0.0]
    assert height["Uzbekistan"] == [30.0, 35.0] and bottom["Uzbekistan"] == [50.0, 40.0]
    assert height["other CIS"] == [5.0, 10.0] and bottom["other CIS"] == [80.0, 75.0]
    assert height["non-CIS countries"] == [7.0, 8.0] and bottom["non-CIS countries"] == [85.0, 85.0]
    assert [p.get_x() + p.get_width() / 2 for p in bars["Russia"].patches] == [2020.0, 2021.0]
