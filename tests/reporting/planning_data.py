"""SYNTHETIC run outputs for the planning, chart and report tests: invented numbers, real region codes.

Imported by ``conftest.py`` (fixtures) and by the tests (constants).

The long forecast table holds four targets: ``net_migration`` (two models, ``arima``
selected, levels 0.8 and 0.95, three regions and the national row), a rate target
``net_migration_rate_per_1000``, a caveated composition-based target with a name longer than
Excel's 31 characters (national only), and ``population`` (selected, propagated intervals).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("astana", "akmola", "almaty_city", "kazakhstan")  # deliberately not in registry order
YEARS = (2025, 2026, 2027)
LEVELS = (0.8, 0.95)
CAVEAT = ("composition-based estimate: forecast external departures x share observed in 2017, 2022; "
          "not a forecast of an observed series")
SPECIALIST = "external_departures_specialty_medical"


def _rows(target, model, regions, base, step, half, *, selected, interval, **extra):
    rows = []
    for i, region in enumerate(regions):
        for h, year in enumerate(YEARS, start=1):
            point = base * (i + 1) + step * h + 0.123 * i
            for lv, k in zip(LEVELS, (1.0, 1.6)):
                rows.append({"target": target, "model": model, "region": region, "origin_year": 2024, "year": year,
                             "point": point, "lower": point - k * half * h, "upper": point + 1.25 * k * half * h,
                             "level": lv, "interval": interval, "reconciled": "ols", "selected": selected, **extra})
    return rows


def synthetic_forecasts() -> pd.DataFrame:
    """SYNTHETIC long forecast table (see the module notes)."""
    rows = (_rows("net_migration", "arima", REGIONS, 1500.5, -120.25, 800.0, selected=True, interval="conformal")
            + _rows("net_migration", "naive", REGIONS, 1400.0, 0.0, 900.0, selected=False, interval="conformal")
            + _rows("net_migration_rate_per_1000", "drift", REGIONS, 1.234, 0.111, 0.5, selected=True,
                    interval="model")
            + _rows(SPECIALIST, "composition", ("kazakhstan",), 812.7, 10.5, 150.0, selected=True,
                    interval="conformal", method="composition", caveat=CAVEAT)
            + _rows("population", "population_balance", REGIONS, 1_234_567.8, 10_000.0, 5000.0, selected=True,
                    interval="propagated"))
    df = pd.DataFrame(rows)
    df["method"] = df["method"].astype("object").where(df["method"].notna(), None)
    for col in ("origin_year", "year"):
        df[col] = df[col].astype("int64")
    return df


def synthetic_accuracy() -> pd.DataFrame:
    """SYNTHETIC backtest metrics: two models of net_migration, three horizons, both aggregate regions."""
    rows = []
    for target, models in (("net_migration", ("arima", "naive")), ("net_migration_rate_per_1000", ("drift", "naive")),
                           ("population", ("population_balance",))):
        for region in ("all_regions", "all_regions_no_breaks"):
            for j, model in enumerate(models):
                for h in (1, 2, 3):
                    rows.append({"target": target, "model": model, "region": region, "horizon": h, "n": 12.0,
                                 "mae": 100.0 * h + 7 * j, "rmse": 130.0 * h + 9 * j, "mase": 0.6 + 0.1 * h + 0.25 * j,
                                 "coverage_80": 0.75 + 0.01 * h, "coverage_95": 0.9 + 0.01 * h})
    rows.append({"target": "net_migration", "model": "arima", "region": "astana", "horizon": 0, "n": 3.0,
                 "mae": 1.0, "rmse": 1.0, "mase": 1.0, "coverage_80": 1.0, "coverage_95": 1.0})
    return pd.DataFrame(rows)


def synthetic_history() -> pd.DataFrame:
    """SYNTHETIC wide panel, 2015-2024: net migration, its rate and population for the four regions."""
    rng = np.random.default_rng(7)
    rows = []
    for i, region in enumerate(REGIONS):
        for year in range(2015, 2025):
            rows.append({"region": region, "year": year, "net_migration": float(np.round(rng.normal(1000 * (i + 1), 300), 1)),
                         "net_migration_rate_per_1000": float(np.round(rng.normal(1.0, 0.5), 3)),
                         "population": 1_200_000.0 * (i + 1) + 8000.0 * (year - 2015)})
    return pd.DataFrame(rows)
