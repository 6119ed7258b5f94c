"""Population through the balancing equation: identity, hand-worked drift, interval propagation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.base import BaseEstimator

from kzmig.forecast.planning.population import NaturalIncreaseDrift, project_population


def _panel(regions=("A", "B"), years=range(2010, 2021), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, r in enumerate(regions):
        pop = 500_000.0 * (i + 1)
        for y in years:
            ni = pop * (12 - 0.3 * (y - 2010) + rng.normal(0, 0.5)) / 1000
            mig = rng.normal(-2000, 800)
            rows.append((r, y, pop, ni, mig))
            pop = pop + ni + mig
    df = pd.DataFrame(rows, columns=["region", "year", "population", "natural_increase", "net_migration"])
    return df.astype({"region": "string", "year": "int64"})


def _migration(origin=2019, h=4, regions=("A", "B"), levels=(0.8, 0.95), models=("m",)) -> pd.DataFrame:
    rows = []
    for m in models:
        for r in regions:
            for k in range(1, h + 1):
                p = -1500.0 * k
                for lev in levels:
                    half = norm.ppf((1 + lev) / 2) * 300.0 * k
                    rows.append((m, r, origin, origin + k, p, p - half, p + half, lev))
    return pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level"])


class ConstantRate(BaseEstimator):
    """A stub natural-increase forecaster: constant rate, constant standard deviation."""

    def __init__(self, rate=5.0, sd=1.0):
        self.rate, self.sd = rate, sd

    def fit(self, panel):
        self.regions_ = tuple(sorted(panel["region"].unique()))
        self.params_ = pd.DataFrame({"region": self.regions_, "origin_year": int(panel["year"].max())})
        return self

    def predict(self, h, levels=(0.8,)):
        rows = []
        for r, o in zip(self.params_.region, self.params_.origin_year):
            for k in range(1, h + 1):
                for lev in levels:
                    z = norm.ppf((1 + lev) / 2)
                    rows.append(("const", r, o, o + k, self.rate, self.rate - z * self.sd, self.rate + z * self.sd, lev))
        return pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level"])


def test_balancing_identity_holds_exactly():
    panel = _panel()
    out = project_population(panel, _migration(models=("m1", "m2")))
    lhs = out["point"].to_numpy()
    np.testing.assert_array_equal(lhs, (out.population_start + out.natural_increase + out.net_migration).to_numpy())
    for _, g in out[out.level == 0.8].groupby(["model", "region"]):
        g = g.sort_values("year")
        np.testing.assert_array_equal(g.population_start.to_numpy()[1:], g.point.to_numpy()[:-1])
        assert (g.year == g.flow_year + 1).all()
    start = out[(out.region == "A") & (out.flow_year == 2020)].population_start.iloc[0]
    assert start == panel[(panel.region == "A") & (panel.year == 2020)].population.iloc[0]


def test_drift_matches_hand_worked_example():
    # rates 10, 11, 13, 12, 14 per 1,000 with P = 1,000: changes 1, 2, -1, 2 -> drift 1,
    # residuals 0, 1, -2, 1 -> sigma^2 = 6 / 3 = 2; h = 2: point 16, sd = sqrt(2 * 2 * (1 + 2/4)) = sqrt(6).
    panel = pd.DataFrame({"region": "A", "year": np.arange(2000, 2005, dtype="int64"), "population": 1000.0,
                          "natural_increase": [10.0, 11.0, 13.0, 12.0, 14.0]})
    fc = NaturalIncreaseDrift(window=10).fit(panel).predict(2, levels=(0.95,))
    row = fc[fc.year == 2006].iloc[0]
    assert row.point == pytest.approx(16.0, rel=1e-12)
    assert row.upper - row.point == pytest.approx(norm.ppf(0.975) * np.sqrt(6.0), rel=1e-12)
    assert row.origin_year == 2004


def test_window_uses_only_the_last_changes():
    panel = pd.DataFrame({"region": "A", "year": np.arange(2000, 2006, dtype="int64"), "population": 1000.0,
                          "natural_increase": [0.0, 50.0, 10.0, 11.0, 13.0, 14.0]})
    p = NaturalIncreaseDrift(window=3, min_years=5).fit(panel).params_.iloc[0]
    assert p.drift == pytest.approx((14.0 - 10.0) / 3, rel=1e-12)
    assert p.n_changes == 3


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_intervals_propagate_as_documented(rho):
    panel = _panel()
    mig = _migration(h=3, levels=(0.95,))
    out = project_population(panel, mig, natural_increase=ConstantRate(rate=5.0, sd=1.0), levels=(0.9,),
                             rho_migration=rho, rho_natural=rho)
    a = out[out.region == "A"].sort_values("year")
    pop = [panel[(panel.region == "A") & (panel.year == 2020)].population.iloc[0]]
    for k in (1, 2, 3):
        pop.append(pop[-1] + 5.0 * pop[-1] / 1000 - 1500.0 * k)
    np.testing.assert_allclose(a.point, pop[1:], rtol=1e-13)
    sd_m = np.array([300.0, 600.0, 900.0])
    sd_n = np.array(pop[:3]) / 1000.0
    comb = (lambda s: np.cumsum(s)) if rho == 1.0 else (lambda s: np.sqrt(np.cumsum(s**2)))
    sd = np.sqrt(comb(sd_m) ** 2 + comb(sd_n) ** 2)
    np.testing.assert_allclose(a.upper - a.point, norm.ppf(0.95) * sd, rtol=1e-10)
    np.testing.assert_allclose(a.point - a.lower, norm.ppf(0.95) * sd, rtol=1e-10)


def test_no_leakage_from_years_after_the_origin():
    panel = _panel()
    out = project_population(panel, _migration(origin=2018, h=2))
    spoiled = panel.copy()
    late = spoiled.year > 2018
    spoiled.loc[late, "natural_increase"] = 1e6
    spoiled.loc[spoiled.year > 2019, "population"] = 1.0
    pd.testing.assert_frame_equal(out, project_population(spoiled, _migration(origin=2018, h=2)))


def test_start_population_balanced_when_next_year_missing():
    panel = _panel(years=range(2010, 2020))  # last year 2019: no population on 1 Jan 2020
    out = project_population(panel, _migration(origin=2019, h=1, levels=(0.8,)))
    last = panel[(panel.region == "B") & (panel.year == 2019)].iloc[0]
    want = last.population + last.natural_increase + last.net_migration
    assert out[out.region == "B"].population_start.iloc[0] == pytest.approx(want, rel=1e-14)


def test_no_migration_interval_gives_no_population_interval():
    mig = _migration(levels=(np.nan,))
    mig[["lower", "upper"]] = np.nan
    out = project_population(_panel(), mig)
    assert out[["lower", "upper", "level"]].isna().all().all()
    assert out["point"].notna().all()


# ---------------------------------------------------------------- error paths
def test_gap_in_migration_years_is_named():
    mig = _migration(h=4)
    mig = mig[~((mig.region == "B") & (mig.year == 2021))]
    with pytest.raises(ValueError, match=r"model='m', region='B', origin_year=2019.*missing \[2021\]"):
        project_population(_panel(), mig)


def test_short_series_is_named():
    panel = _panel(years=range(2016, 2021))
    panel = panel[~((panel.region == "A") & (panel.year < 2018))]
    with pytest.raises(ValueError, match=r"region='A' has 3 observed years \(2018-2020\), fewer than min_years=5"):
        NaturalIncreaseDrift().fit(panel)


def test_gap_in_natural_increase_is_named():
    panel = _panel()
    panel.loc[(panel.region == "B") & (panel.year == 2015), "natural_increase"] = np.nan
    with pytest.raises(ValueError, match=r"region='B' has no population or natural_increase in years \[2015\]"):
        NaturalIncreaseDrift().fit(panel)


def test_region_without_panel_data_is_named():
    with pytest.raises(ValueError, match=r"no natural-increase forecast for region='C'"):
        project_population(_panel(), _migration(regions=("A", "C")))


def test_missing_start_population_is_named():
    panel = _panel()
    panel = panel[~((panel.region == "A") & (panel.year == 2020))].copy()
    panel.loc[(panel.region == "A") & (panel.year == 2019), "net_migration"] = np.nan
    with pytest.raises(ValueError, match=r"region='A' has neither population in year 2020"):
        project_population(panel, _migration(origin=2019))


def test_bad_hyperparameters_and_horizon():
    with pytest.raises(ValueError, match=r"window=1 must be an integer >= 2"):
        NaturalIncreaseDrift(window=1).fit(_panel())
    with pytest.raises(ValueError, match=r"horizon h=0 must be an integer >= 1"):
        NaturalIncreaseDrift().fit(_panel()).predict(0)
    with pytest.raises(ValueError, match=r"rho=1.5 must lie in \[0, 1\]"):
        project_population(_panel(), _migration(), rho_migration=1.5)


def test_natural_increase_drift_is_the_drift_baseline_on_the_rate():
    from kzmig.models.forecasters.baselines import Drift

    panel = _panel(regions=("A",))
    ni = NaturalIncreaseDrift(window=50).fit(panel).predict(4, levels=(0.8,))
    rate = 1000.0 * panel["natural_increase"] / panel["population"]
    series = panel[["region", "year"]].assign(y=rate)
    dr = Drift().fit(series).predict(4, levels=(0.8,))
    np.testing.assert_array_equal(ni["point"].to_numpy(), dr["point"].to_numpy())  # one implementation
    np.testing.assert_allclose(ni[["lower", "upper"]], dr[["lower", "upper"]], rtol=1e-13)
