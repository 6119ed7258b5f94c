"""Feasibility of the state targets (METHOD.md section 11) against hand and closed-form computations."""
from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kzmig.features.data.regions import DATA_DIR
from kzmig.forecast.planning.feasibility import (feasibility, loglinear_probability, observed_growth, required_growth,
                                        series_points, verdict)

RAW = DATA_DIR.parent.parent / "shared" / "data" / "raw" / "foreign_students_press_secondary.csv"


def _obs(rows):
    return pd.DataFrame([{"region": "kazakhstan", "year": y, "variable": v, "value": x, "flag": f, "source": "s"}
                         for v, y, x, f in rows])


@pytest.mark.skipif(not RAW.exists(), reason="raw folder absent")
def test_students_target_by_hand_from_the_raw_file():
    """150,000 by 2029 against the ministry's count: from the raw rows, not the dataset."""
    with open(RAW, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mnvo = {int(r["year"]): float(r["value"]) for r in rows
            if r["series"] == "foreign_students_higher_ed" and r["value"] in ("31500", "35075")}
    assert mnvo == {2024: 31500.0, 2025: 35075.0}
    target = next(float(r["value"]) for r in rows if r["series"] == "foreign_students_target" and r["year"] == "2029"
                  and r["value"] == "150000")
    g_req = (target / 35075.0) ** (1 / 4) - 1          # 4 academic years 2025/26 -> 2029/30
    g_obs = 35075.0 / 31500.0 - 1                       # one year
    from kzmig.features.data.dataset import read_observations
    row, pts, gr = feasibility(read_observations(), pd.Series({"indicator": "foreign_students_mnvo", "year": 2029,
                                                               "value": target, "direction": "at_least"}))
    assert row["required_growth"] == pytest.approx(g_req, rel=1e-12)
    assert row["required_growth"] == pytest.approx(0.438, abs=5e-4)
    assert gr["growth"].tolist() == pytest.approx([g_obs]) and gr["span"].tolist() == [1.0]
    assert math.isnan(row["probability"]) and row["no_probability_reason"].startswith("too few points to say")
    assert row["verdict"] == "needs faster growth than ever observed"


def test_required_and_observed_growth_irregular_spans():
    pts = pd.DataFrame({"t": [2014.5, 2020.0, 2023.0], "value": [100.0, 80.0, 90.0]})
    gr = observed_growth(pts)
    assert gr["span"].tolist() == [5.5, 3.0]
    assert gr["growth"].tolist() == pytest.approx([0.8 ** (1 / 5.5) - 1, (90 / 80) ** (1 / 3) - 1])
    assert required_growth(120.0, 90.0, 2026, 2023.0) == pytest.approx((120 / 90) ** (1 / 3) - 1)
    assert math.isnan(required_growth(120.0, 90.0, 2023, 2023.0))


def test_probability_matches_the_closed_form_t_distribution():
    t = np.array([2016.0, 2018.0, 2019.5, 2023.0, 2025.0])
    x = np.array([13000.0, 15500.0, 17000.0, 25000.0, 33500.0])
    got = loglinear_probability(pd.DataFrame({"t": t, "value": x}), 100000.0, 2029, draws=200)
    # closed form: OLS by hand, predictive s.e. s * sqrt(1 + 1/n + (Y - tbar)^2 / Sxx), t with n - 2 df
    y, n = np.log(x), len(x)
    tbar = t.mean()
    sxx = ((t - tbar) ** 2).sum()
    b = ((t - tbar) * (y - y.mean())).sum() / sxx
    a = y.mean() - b * tbar
    s = math.sqrt(((y - a - b * t) ** 2).sum() / (n - 2))
    se = s * math.sqrt(1 + 1 / n + (2029 - tbar) ** 2 / sxx)
    p = 1 - stats.t.cdf((math.log(100000) - (a + b * 2029)) / se, df=n - 2)
    assert got["probability"] == pytest.approx(p, rel=1e-9)
    assert got["slope"] == pytest.approx(b, rel=1e-9)
    assert got["probability_lower"] <= got["probability"] <= got["probability_upper"]
    at_most = loglinear_probability(pd.DataFrame({"t": t, "value": x}), 100000.0, 2029, direction="at_most", draws=10)
    assert at_most["probability"] == pytest.approx(1 - p, rel=1e-9)


def test_too_few_points_and_verdicts():
    got = loglinear_probability(pd.DataFrame({"t": [2024.0, 2025.0], "value": [1.0, 2.0]}), 3.0, 2029)
    assert math.isnan(got["probability"]) and "too few points to say" in got["reason"]
    g = pd.Series([0.05, 0.15])
    assert verdict(120, 100, 0.0, g) == "met"
    assert verdict(80, 100, 0.08, g) == "on track"
    assert verdict(80, 100, 0.12, g) == "in between"
    assert verdict(80, 100, 0.20, g) == "needs faster growth than ever observed"
    assert verdict(90, 80, -0.05, pd.Series([-0.02, 0.01]), "at_most") == "needs faster growth than ever observed"
    assert verdict(90, 80, 0.02, pd.Series([-0.02, 0.01]), "at_most") == "on track"


def test_points_skip_year_to_date_suspect_and_undated_rows():
    obs = _obs([("k", 2020, 100.0, ""), ("k", 2021, 500.0, "secondary:press;suspect"), ("k_jan_sep", 2022, 90.0, ""),
                ("k", 2023, 130.0, ""), ("w_at_1apr", 2021, 10.0, ""), ("w_at_1oct", 2021, 12.0, ""),
                ("w_at_date_unstated", 2022, 99.0, ""), ("w_at_end_of_year", 2022, 14.0, "")])
    assert series_points(obs, "k")["value"].tolist() == [100.0, 130.0]
    w = series_points(obs, "w")
    assert w["value"].tolist() == [12.0, 14.0] and w["t"].tolist() == pytest.approx([2021 + 9 / 12, 2023.0])  # 1 October = 0.75 of the year
