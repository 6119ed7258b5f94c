"""Regional arrivals/departures as shares of a national forecast, and which series can be forecast alone."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from scipy.stats import norm

from kzmig.features.data.dataset import load_long
from kzmig.forecast.engine.readiness import backtest_origins, required_years, series_readiness
from kzmig.forecast.planning.regional import regional_share_forecast, regional_shares
from kzmig.models.forecasters.arima import AutoARIMA
from kzmig.models.forecasters.baselines import Naive


def national_forecast(point=1000.0, half95=200.0) -> pd.DataFrame:
    """SYNTHETIC symmetric national forecast for 2025, levels 0.8 and 0.95 from one normal."""
    sd = half95 / norm.ppf(0.975)
    rows = [{"model": "naive", "region": "kazakhstan", "origin_year": 2024, "year": 2025, "point": point,
             "lower": point - norm.ppf((1 + lv) / 2) * sd, "upper": point + norm.ppf((1 + lv) / 2) * sd, "level": lv}
            for lv in (0.8, 0.95)]
    return pd.DataFrame(rows).astype({"model": "string", "region": "string"})


def synthetic_regions() -> pd.DataFrame:
    """SYNTHETIC interregional arrivals of three regions, 2022-2024."""
    vals = {"akmola": (100.0, 110.0, 120.0), "astana": (300.0, 280.0, 330.0), "abai": (600.0, 610.0, 550.0)}
    rows = [(r, 2022 + i, "interregional_arrivals", v) for r, vs in vals.items() for i, v in enumerate(vs)]
    df = pd.DataFrame(rows, columns=["region", "year", "variable", "value"]).assign(flag="")
    return df.astype({"region": "string", "year": "int64", "flag": "string"})


def test_shares_and_points_by_hand():
    long = synthetic_regions()
    out = regional_share_forecast(long, national_forecast(), seed=11)
    value = {(r.region, r.year): r.value for r in long.itertuples(index=False)}
    national = {y: sum(v for (r, yy), v in value.items() if yy == y) for y in (2022, 2023, 2024)}
    assert set(national.values()) == {1000.0}
    lg = {r: [logit(value[(r, y)] / national[y]) for y in (2022, 2023, 2024)] for r in ("akmola", "astana", "abai")}
    # pooled within-region spread of the logit shares (3 x 2 = 6 degrees of freedom), times sqrt(1 + 1/3)
    pooled = np.sqrt(sum((x - np.mean(v)) ** 2 for v in lg.values() for x in v) / 6) * np.sqrt(4 / 3)
    for r in out.loc[out["level"] == 0.95].itertuples(index=False):
        share = np.mean([value[(r.region, y)] / national[y] for y in (2022, 2023, 2024)])
        assert r.point == pytest.approx(1000.0 * share, rel=1e-12)
        assert r.share_years == "2022, 2023, 2024" and r.method == "regional_share"
        own = np.std(lg[r.region], ddof=1) * np.sqrt(4 / 3)
        assert r.share_sd_logit == pytest.approx(max(own, pooled), rel=1e-12)
        assert r.caveat.startswith("share-based estimate") and "too short to forecast alone" in r.caveat
        assert r.lower < r.point < r.upper
    pts = out.loc[out["level"] == 0.95, "point"]
    assert pts.sum() == pytest.approx(1000.0, rel=1e-12)  # mean shares add up to one


def test_shipped_regions_add_up_to_the_national_point():
    long = load_long()
    sh = regional_shares(long, "interregional_departures")
    assert sh.groupby("year")["share"].sum().to_numpy() == pytest.approx(1.0, abs=1e-12)
    out = regional_share_forecast(long, national_forecast(1_500_000.0, 300_000.0), variable="interregional_departures")
    one = out.loc[out["level"] == 0.8]
    assert len(one) == 20 and one["point"].sum() == pytest.approx(1_500_000.0, rel=1e-12)
    assert (one["share_years"] == "2022, 2023, 2024").all()
    assert one["share_flags"].str.contains("derived:sum_of_months").all()  # 2024 = sum of months, flagged


def test_national_forecast_must_be_one_series():
    two = pd.concat([national_forecast(), national_forecast().assign(region="astana")], ignore_index=True)
    two["region"] = two["region"].astype("string")
    regional_share_forecast(synthetic_regions(), two)  # the national rows are picked
    bad = two.assign(region=two["region"].replace({"kazakhstan": "akmola"}).astype("string"))
    with pytest.raises(ValueError, match="holds regions"):
        regional_share_forecast(synthetic_regions(), bad)


def test_readiness_threshold_and_reasons():
    assert required_years({"naive": Naive()}) == (2 + 3 - 1 + 1, "naive (min_length 2)")
    assert required_years({"naive": Naive(), "arima": AutoARIMA()}, n_origins=4, horizon=2)[0] == 5 + 4 - 1 + 2
    assert backtest_origins(2024, n_origins=3, horizon=2) == [2020, 2021, 2022]
    long = load_long()
    ready = series_readiness(long, variables=["interregional_arrivals", "external_departures"])
    inter = ready[ready["variable"] == "interregional_arrivals"]
    assert len(inter) == 20 and not inter["long_enough"].any()
    assert inter["reason"].str.startswith("3 years (2022-2024); needs 7: theta (min_length 4)").all()
    ext = ready[(ready["variable"] == "external_departures")].iloc[0]
    assert ext["long_enough"] and ext["n_years"] == 35 and ext["required"] == 7


def test_readiness_counts_only_the_last_run():
    s = pd.DataFrame({"region": "A", "year": [2010, 2011, 2012, 2013, 2014, 2016, 2017, 2018], "y": 1.0})  # SYNTHETIC
    r = series_readiness(s, models={"naive": Naive()}).iloc[0]
    assert (r["n_years"], r["run_years"], r["run_start"], r["required"]) == (8, 3, 2016, 5)
    assert not r["long_enough"] and "since the gap before 2016" in r["reason"]
