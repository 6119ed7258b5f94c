"""Benchmark: kzmig's forecasters against statsforecast on the shipped data, same backtest.

Runs, on the shipped net-migration series (harmonised view, 2017 borders: 16 constant-border
units 2000-2024, plus the national series), one rolling-origin backtest (origins 2012-2021,
horizons 1-3, levels 80 % and 95 %) for

* kzmig's forecasters (:mod:`kzmig.models.registry`, default parameters, flagged break years
  bridged as configured by default), through :func:`kzmig.forecast.backtest.backtest`;
* statsforecast's AutoARIMA, AutoETS, DynamicOptimizedTheta and Naive, fitted at each origin on
  the same training rows: once on the published values (``sf_*``) and once on the same
  bridged values kzmig fits (``sf_*_bridged``), to separate the models from the break treatment.

Both sides are scored by :func:`kzmig.forecast.evaluate.score` against the published values, with
MASE scaled by each series' in-sample naive error up to the origin. It prints, per target:
MASE, coverage of the 80/95 % intervals and fit time per series of every model; kzmig's
selected model (lowest MASE over all horizons) and its ratio to the best statsforecast model.
Selection uses the same backtest on both sides, so the ratio compares two selected models.

statsforecast 2.1.1 needs ``pandas<3``, kzmig pins pandas 3.1.1: the statsforecast side runs in
a subprocess of a separate virtualenv (``--sf-python``, default ``.venv-statsforecast/bin/python``
relative to the current folder; create it with ``python3 -m venv .venv-statsforecast &&
.venv-statsforecast/bin/pip install -r experiments/bench/requirements-statsforecast.txt``),
exchanging CSVs through a temporary folder (see ``statsforecast_side.py`` beside this script).
Its time is measured inside that process, around the ``forecast`` calls only. The data are the
shipped dataset (package data, :func:`kzmig.features.dataset.load_long`). Run with kzmig
installed, from the repository root (for the default paths)::

    python experiments/bench/bench_statsforecast.py [--sf-python PATH] [--out runs/bench_statsforecast]
"""
from __future__ import annotations

import argparse
import logging
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.features.dataset import load_long
from kzmig.features.regions import NATIONAL
from kzmig.forecast.backtest import backtest
from kzmig.forecast.evaluate import score, series_scales
from kzmig.forecast.reconcile import reconcile
from kzmig.models.forecast_base import bridge_breaks
from kzmig.models.registry import make_model

#: the statsforecast side, a companion script that sits beside this one
SF_SIDE = Path(__file__).resolve().with_name("statsforecast_side.py")
SF_PYTHON = Path(".venv-statsforecast") / "bin" / "python"

ORIGINS = tuple(range(2012, 2022))
HORIZON = 3
LEVELS = (0.8, 0.95)
#: target name -> (variable, which series)
TARGETS = {
    "net_migration (regional)": ("net_migration", "regional"),
    "net_migration_rate_per_1000 (regional)": ("net_migration_rate_per_1000", "regional"),
    "net_migration (national)": ("net_migration", "national"),
}
KZMIG = {  # name -> (kind, params)
    "naive": ("naive", {}),
    "drift": ("drift", {}),
    "mean3": ("window_mean", {"k": 3}),
    "arima": ("auto_arima", {}),
    "ets": ("ets", {}),
    "theta": ("theta", {}),
    "pooled_ar": ("pooled_ar", {}),
    "boosting": ("boosting", {}),
}


def series_frame(long: pd.DataFrame, variable: str, which: str) -> pd.DataFrame:
    """``region, year, y, is_break`` for one variable; breaks are the rows flagged ``break:``."""
    d = long.loc[(long["variable"] == variable) & long["value"].notna()]
    d = d.loc[d["region"] == NATIONAL] if which == "national" else d.loc[d["region"] != NATIONAL]
    out = pd.DataFrame({
        "region": d["region"].astype("string").to_numpy(),
        "year": d["year"].astype("int64").to_numpy(),
        "y": d["value"].astype(float).to_numpy(),
        "is_break": d["flag"].fillna("").str.contains("break:").astype(bool).to_numpy(),
    })
    return out.sort_values(["region", "year"]).reset_index(drop=True)


def run_kzmig(series: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Backtest each kzmig model on its own (for its time); return predictions and s per fit."""
    preds, per_fit = [], {}
    n_fits = series["region"].nunique() * len(ORIGINS)
    for name, (kind, params) in KZMIG.items():
        model = make_model(kind, params, name=name)
        t0 = time.perf_counter()
        preds.append(backtest(series, {name: model}, origins=ORIGINS, horizon=HORIZON, levels=LEVELS))
        per_fit[name] = (time.perf_counter() - t0) / n_fits
    return pd.concat(preds, ignore_index=True), per_fit


def sf_training_rows(series: pd.DataFrame, bridged: bool) -> pd.DataFrame:
    """Training rows of every origin, stacked; bridging uses only years up to the origin."""
    parts = []
    for origin in ORIGINS:
        train = series.loc[series["year"] <= origin]
        for region, g in train.groupby("region", sort=True):
            y = g["y"].to_numpy()
            if bridged:
                y = bridge_breaks(g["year"].to_numpy(), y, g["is_break"].to_numpy())
            parts.append(pd.DataFrame({"origin": origin, "unique_id": str(region), "ds": g["year"].to_numpy(), "y": y}))
    return pd.concat(parts, ignore_index=True)


def run_statsforecast(series: pd.DataFrame, sf_python: str, bridged: bool) -> tuple[pd.DataFrame, dict[str, float]]:
    """Run the statsforecast side in its virtualenv; return long predictions and s per fit."""
    suffix = "_bridged" if bridged else ""
    with tempfile.TemporaryDirectory(prefix="kzmig_sf_") as tmp:
        tmp = Path(tmp)
        sf_training_rows(series, bridged).to_csv(tmp / "in.csv", index=False)
        cmd = [sf_python, str(SF_SIDE), str(tmp / "in.csv"),
               str(tmp / "out.csv"), str(tmp / "times.csv"), "--h", str(HORIZON),
               "--levels", *[str(round(lv * 100)) for lv in LEVELS]]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        raw = pd.read_csv(tmp / "out.csv")
        times = pd.read_csv(tmp / "times.csv")
    parts = []
    for lv in LEVELS:
        pct = round(lv * 100)
        parts.append(pd.DataFrame({
            "model": raw["model"] + suffix, "region": raw["unique_id"].astype("string"),
            "origin_year": raw["cutoff"].astype("int64"), "year": raw["ds"].astype("int64"),
            "point": raw["point"].astype(float), "lower": raw[f"lo_{pct}"].astype(float),
            "upper": raw[f"hi_{pct}"].astype(float), "level": lv,
        }))
    preds = pd.concat(parts, ignore_index=True)
    return preds, {m + suffix: s / n for m, s, n in times[["model", "seconds", "fits"]].itertuples(index=False)}


def add_actual_and_scale(preds: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Published ``actual`` and the naive MASE scale up to the origin, as the backtest computes them."""
    actual = series.set_index(["region", "year"])["y"]
    key = pd.MultiIndex.from_frame(preds[["region", "year"]])
    out = preds.assign(actual=actual.reindex(key).to_numpy())
    scales = {(r, o): series_scales(g.loc[g["year"] <= o]).iloc[0]
              for r, g in series.groupby("region") for o in ORIGINS}
    out["scale"] = [scales[(r, o)] for r, o in zip(out["region"], out["origin_year"])]
    return out.loc[out["actual"].notna()].reset_index(drop=True)


def summarise(target: str, preds: pd.DataFrame, per_fit: dict[str, float]) -> pd.DataFrame:
    tab = score(preds, by=("model",), levels=LEVELS).set_index("model")
    tab["s_per_fit"] = pd.Series(per_fit)
    tab["side"] = np.where(tab.index.str.startswith("sf_"), "statsforecast", "kzmig")
    tab.insert(0, "target", target)
    return tab.reset_index()[["target", "side", "model", "n", "mase", "mae", "bias", "coverage_80",
                              "coverage_95", "s_per_fit"]]


def reconciliation_effect(kz: pd.DataFrame, min_vectors: int = 6) -> pd.DataFrame:
    """MASE of regional and national net migration before and after reconciliation.

    ``kz`` stacks kzmig's backtest predictions of the regional series and of the national
    series (same model names). At each origin, WLS and MinT weights come only from backtest
    errors of years up to that origin (errors known at the time); origins with fewer than
    ``min_vectors`` such error vectors, or fewer than the number of series (MinT's minimum in
    :func:`kzmig.forecast.reconcile.error_covariance`), are left out of every column, so all methods
    are scored on the same forecasts.
    """
    rows = []
    for origin in ORIGINS:
        base = kz.loc[kz["origin_year"] == origin]
        past = kz.loc[kz["year"] <= origin]
        n_vec = past.drop_duplicates(["origin_year", "year"]).shape[0]
        if n_vec < max(min_vectors, base["region"].nunique()):  # MinT needs >= one vector per series
            continue
        versions = {"base": base}
        for method in ("ols", "wls", "mint_shrink"):
            versions[method] = reconcile(base, method=method, residuals=past if method != "ols" else None)[0]
        for method, frame in versions.items():
            rows.append(frame.assign(method=method))
    both = pd.concat(rows, ignore_index=True)
    both["level_"] = np.where(both["region"] == NATIONAL, "national", "regional")
    tab = score(both, by=("model", "method", "level_"), levels=LEVELS)
    wide = tab.pivot_table(index="model", columns=["level_", "method"], values="mase")
    wide.columns = [f"mase_{lv}_{m}" for lv, m in wide.columns]
    return wide.reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path("runs") / "bench_statsforecast"),
                    help="folder for the tables, relative to the current folder (default runs/bench_statsforecast)")
    ap.add_argument("--sf-python", default=str(SF_PYTHON),
                    help=f"Python of a virtualenv with statsforecast (default {SF_PYTHON}, relative to the "
                         "current folder; see the module docstring)")
    args = ap.parse_args()
    if not Path(args.sf_python).exists():
        ap.error(f"--sf-python {args.sf_python}: no such interpreter; create it with 'python3 -m venv "
                 f"{SF_PYTHON.parent.parent} && {SF_PYTHON.parent}/pip install -r "
                 "experiments/bench/requirements-statsforecast.txt' or pass the Python of another virtualenv.")
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    long = load_long(view="harmonised", borders=2017)
    tables, t_start, kz_counts = [], time.perf_counter(), {}
    for target, (variable, which) in TARGETS.items():
        series = series_frame(long, variable, which)
        kz, kz_t = run_kzmig(series)
        if variable == "net_migration":
            kz_counts[which] = kz
        sf_raw, sf_raw_t = run_statsforecast(series, args.sf_python, bridged=False)
        sf_br, sf_br_t = run_statsforecast(series, args.sf_python, bridged=True)
        sf = add_actual_and_scale(pd.concat([sf_raw, sf_br], ignore_index=True), series)
        preds = pd.concat([kz.drop(columns=["horizon"]), sf], ignore_index=True)
        tables.append(summarise(target, preds, kz_t | sf_raw_t | sf_br_t))
    table = pd.concat(tables, ignore_index=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "bench_statsforecast.csv", index=False)
    pd.set_option("display.width", 160)
    for target, t in table.groupby("target", sort=False):
        best_kz = t.loc[t["side"] == "kzmig"].sort_values("mase").iloc[0]
        sf_side = t.loc[t["side"] == "statsforecast"]
        best_sf = sf_side.sort_values("mase").iloc[0]
        best_raw = sf_side.loc[~sf_side["model"].str.endswith("_bridged")].sort_values("mase").iloc[0]
        print(f"\n== {target}  ({int(best_kz['n'])} scored forecasts per model, origins "
              f"{ORIGINS[0]}-{ORIGINS[-1]}, h=1-{HORIZON})")
        print(t.drop(columns="target").sort_values("mase").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"selected kzmig model: {best_kz['model']} (MASE {best_kz['mase']:.3f}); best statsforecast on "
              f"published values: {best_raw['model']} (MASE {best_raw['mase']:.3f}), ratio "
              f"{best_kz['mase'] / best_raw['mase']:.3f}; best statsforecast incl. bridged input: "
              f"{best_sf['model']} (MASE {best_sf['mase']:.3f}), ratio {best_kz['mase'] / best_sf['mase']:.3f}")
    rec = reconciliation_effect(pd.concat(list(kz_counts.values()), ignore_index=True))
    rec.to_csv(out / "bench_reconciliation.csv", index=False)
    print("\n== net migration, regional + national: MASE before (base) and after reconciliation to the "
          "national total\n(WLS/MinT weights from backtest errors of years up to each origin; origins with "
          "enough error vectors only)")
    print(rec.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nwall time {time.perf_counter() - t_start:.1f} s; table written to {out / 'bench_statsforecast.csv'}")


if __name__ == "__main__":
    main()
