import matplotlib.image as mpimg
import pandas as pd

from kzmig.forecast.plot import plot_forecasts


def _fc(selected=True):
    rows = []
    for region in ("A", "B"):
        for year, pt in ((2025, 1.0), (2026, 2.0)):
            for lvl, half in ((0.8, 1.0), (0.95, 2.0)):
                rows.append({"target": "y", "model": "naive", "region": region, "origin_year": 2024, "year": year,
                             "point": pt, "lower": pt - half, "upper": pt + half, "level": lvl, "selected": selected})
    return pd.DataFrame(rows)


def test_fan_chart_is_written_as_png(tmp_path):
    hist = pd.DataFrame({"region": ["A", "A", "B", "B"], "year": [2023, 2024] * 2, "y": [0.0, 1.0, 2.0, 3.0]})
    out = plot_forecasts(hist, _fc(), "y", tmp_path / "f.png", breaks=pd.DataFrame({"region": ["A"], "year": [2023]}))
    img = mpimg.imread(out)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]  # no temporary file left behind


def test_nothing_selected_writes_nothing(tmp_path):
    hist = pd.DataFrame({"region": ["A"], "year": [2024], "y": [1.0]})
    assert plot_forecasts(hist, _fc(selected=False), "y", tmp_path / "f.png") is None
    assert not (tmp_path / "f.png").exists()
