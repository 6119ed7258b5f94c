"""Benchmark: kzmig's nested-selected forecast against statsforecast's models on the same cells.

One run prints, for both targets of ``experiments/net_migration.toml`` (net migration in persons
and per 1,000) and for the regional series (harmonised 2018 borders, 17 units) and the national
series, a table of

* kzmig: the study's models (the shipped config's ``[models]``, breaks treated as it says),
  each fitted at each origin on the years up to it (:func:`kzmig.forecast.engine.backtest.backtest`),
  with the study's conformal intervals, and the **nested selection**: at each origin the model
  with the lowest mean MASE over the errors known at that origin
  (:func:`kzmig.forecast.engine.honest.nested_choices`), its forecasts taken as one procedure;
* statsforecast's AutoARIMA, AutoETS, DynamicOptimizedTheta, Naive, HistoricAverage,
  WindowAverage(3) and the median of those six, fitted at each origin on the same training
  rows, once on the published values (``sf_*``) and once on the values with the census and
  transfer years bridged as kzmig fits them (``sf_*_bridged``; bridging uses years up to the
  origin only).

Every model is scored on the same cells: origins 2013-2021 (2012, the first origin, has no
earlier error to select from), horizons 1-3, published values, MASE scaled by each series'
in-sample naive error up to the origin with break years bridged. The headline column is the
ratio of each model's MASE to that of the best statsforecast model on the bridged input, on
target years without a break, with 90 % percentile bootstrap intervals resampling regions and,
separately, origins (:func:`kzmig.forecast.engine.honest.ratio_intervals`; the national series has one
series, so only origins). Coverage is of the 80 % / 95 % intervals on the same cells.

statsforecast 2.1.1 needs ``pandas<3`` and kzmig pins pandas 3.1.1: the statsforecast side runs in
a subprocess of a separate virtualenv (``--sf-python``, default ``.venv-statsforecast/bin/python``
relative to the current folder; create it with ``python3 -m venv .venv-statsforecast &&
.venv-statsforecast/bin/pip install -r experiments/bench/requirements-statsforecast.txt``),
exchanging CSVs through a temporary folder (``statsforecast_side.py`` beside this script).
Run with kzmig installed, from the repository root (for the default paths)::

    python experiments/bench/bench_statsforecast.py [--sf-python PATH] [--out runs/bench_statsforecast]

It writes ``bench_statsforecast.csv`` (every row printed) and ``bench_reconciliation.csv`` under
``--out`` and takes about 4 minutes on 2 cores.
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

from kzmig.config import load_config
from kzmig.core.resources import experiments_dir
from kzmig.features.data.dataset import load_long, to_wide
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.evaluate import score, series_scales
from kzmig.forecast.engine.honest import NESTED, nested_choices, ratio_intervals, selected_procedure
from kzmig.forecast.engine.reconcile import reconcile
from kzmig.forecast.engine.steps import conformal_fallback, interval_source, target_series, with_conformal_backtest
from kzmig.models.forecasters.forecast_base import bridge_breaks
from kzmig.models.forecasters.schema import BREAK_COLUMN
from kzmig.studies.forecast import build_models, exog_columns

#: the statsforecast side, a companion script that sits beside this one
SF_SIDE = Path(__file__).resolve().with_name("statsforecast_side.py")
SF_PYTHON = Path(".venv-statsforecast") / "bin" / "python"

CONFIG = "net_migration.toml"
ORIGINS = tuple(range(2012, 2022))
HORIZON = 3
LEVELS = (0.8, 0.95)
TARGETS = {"net_migration": "persons", "net_migration_rate_per_1000": "rate per 1,000"}
SCOPES = ("regional", "national")
SF_MODELS = ("sf_autoarima", "sf_autoets", "sf_dynoptheta", "sf_naive", "sf_histavg", "sf_windowavg3")
CELL = ["region", "origin_year", "year"]
#: the study's models that tune themselves from earlier years only (a headline line each)
HONEST = ("stacked", "mean_rev", "fe_x")
N_BOOT, SEED, CI = 2000, 0, 0.9


def kzmig_backtest(series: pd.DataFrame, cfg) -> pd.DataFrame:
    """The study's models backtested with its conformal intervals, plus the nested selection."""
    models = build_models(cfg, HORIZON)
    preds = backtest(series, models, origins=ORIGINS, horizon=HORIZON, levels=LEVELS, n_jobs=cfg.backtest.n_jobs)
    preds = preds.merge(series[["region", "year", BREAK_COLUMN]], on=["region", "year"], how="left")
    source, _ = conformal_fallback(preds, interval_source(models, cfg.forecast.conformal), models, LEVELS, "bench")
    preds = with_conformal_backtest(preds, source, LEVELS)
    choices = nested_choices(preds, by=cfg.forecast.select_by, levels=LEVELS)
    nested = selected_procedure(preds, choices).drop(columns="chosen")
    return pd.concat([nested, preds], ignore_index=True).assign(side="kzmig", input="as configured"), choices


def sf_training_rows(series: pd.DataFrame, bridged: bool) -> pd.DataFrame:
    """Training rows of every origin, stacked; bridging uses only years up to the origin."""
    parts = []
    for origin in ORIGINS:
        train = series.loc[series["year"] <= origin]
        for region, g in train.groupby("region", sort=True):
            if len(g) < 2:
                continue
            y = g["y"].to_numpy(dtype=float)
            if bridged:
                y = bridge_breaks(g["year"].to_numpy(), y, g[BREAK_COLUMN].to_numpy(dtype=bool))
            parts.append(pd.DataFrame({"origin": origin, "unique_id": str(region), "ds": g["year"].to_numpy(), "y": y}))
    return pd.concat(parts, ignore_index=True)


def run_statsforecast(series: pd.DataFrame, sf_python: str, bridged: bool) -> pd.DataFrame:
    """Run the statsforecast side in its virtualenv; long predictions with the median combination."""
    suffix = "_bridged" if bridged else ""
    with tempfile.TemporaryDirectory(prefix="kzmig_sf_") as tmp:
        tmp = Path(tmp)
        sf_training_rows(series, bridged).to_csv(tmp / "in.csv", index=False)
        cmd = [sf_python, str(SF_SIDE), str(tmp / "in.csv"), str(tmp / "out.csv"), str(tmp / "times.csv"),
               "--h", str(HORIZON), "--levels", *[str(round(lv * 100)) for lv in LEVELS]]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"statsforecast side failed ({' '.join(cmd[:2])}):\n{done.stderr[-2000:]}")
        raw = pd.read_csv(tmp / "out.csv")
    med = raw.groupby(["unique_id", "cutoff", "ds"], sort=True)["point"].median().reset_index()
    raw = pd.concat([raw, med.assign(model="sf_median")], ignore_index=True)
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
    none = preds["lower"].isna()  # a model without intervals: one row, no level
    preds = pd.concat([preds.loc[~none], preds.loc[none].drop_duplicates(["model", *CELL]).assign(level=np.nan)])
    return preds.assign(side="statsforecast", input="bridged" if bridged else "published")


def add_actual_and_scale(preds: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Published ``actual``, break flag and the naive MASE scale up to the origin, as the backtest computes them."""
    key = pd.MultiIndex.from_frame(preds[["region", "year"]].astype({"region": object}))
    s = series.set_index(["region", "year"])
    out = preds.assign(actual=s["y"].reindex(key).to_numpy(), **{BREAK_COLUMN: s[BREAK_COLUMN].reindex(key).to_numpy()})
    scales = {(r, o): series_scales(g.loc[g["year"] <= o]).iloc[0]
              for r, g in series.groupby("region") for o in ORIGINS if (g["year"] <= o).any()}
    out["scale"] = [scales.get((r, o), np.nan) for r, o in zip(out["region"], out["origin_year"])]
    out = out.loc[out["actual"].notna()].reset_index(drop=True)
    out[BREAK_COLUMN] = out[BREAK_COLUMN].astype(bool)
    return out


def same_cells(frame: pd.DataFrame, origins) -> pd.DataFrame:
    """The rows of ``origins`` restricted to the cells that every model forecasts."""
    frame = frame.loc[frame["origin_year"].isin(origins)]
    pts = frame.drop_duplicates(["model", *CELL])
    per_cell = pts.loc[np.isfinite(pts["point"])].groupby(CELL)["model"].nunique()
    keep = per_cell.index[per_cell == frame["model"].nunique()]
    if len(keep) < len(per_cell):
        logging.getLogger("bench").warning("%d cells are not forecast by every model and are left out.",
                                           len(per_cell) - len(keep))
    return frame.loc[pd.MultiIndex.from_frame(frame[CELL]).isin(keep)]


def table_for(frame: pd.DataFrame, label: str, scope: str) -> pd.DataFrame:
    """Scores of every model on all years and without break years, ratios to the best bridged statsforecast model."""
    meta = frame.drop_duplicates("model").set_index("model")[["side", "input"]]
    every = score(frame, by=("model",), levels=LEVELS).set_index("model")
    clean_rows = frame.loc[~frame[BREAK_COLUMN]]
    clean = score(clean_rows, by=("model",), levels=LEVELS).set_index("model")
    bridged = [m for m in clean.index if m.startswith("sf_") and m.endswith("_bridged")]
    best = clean.loc[bridged, "mase"].idxmin()
    best_all = every.loc[bridged, "mase"].idxmin()
    pts = clean_rows.drop_duplicates(["model", *CELL])
    models = list(clean.index)
    by_origin = ratio_intervals(pts, models, {"best": best}, cluster="origin_year", level=CI, n_boot=N_BOOT, seed=SEED)
    one = pts["region"].nunique() == 1
    by_region = {} if one else ratio_intervals(pts, models, {"best": best}, cluster="region", level=CI,
                                                 n_boot=N_BOOT, seed=SEED)
    out = pd.DataFrame({
        "target": label, "series": scope, "model": models, "side": meta.loc[models, "side"].to_numpy(),
        "input": meta.loc[models, "input"].to_numpy(),
        "cells": every.loc[models, "n"].to_numpy(), "cells_no_breaks": clean.loc[models, "n"].to_numpy(),
        "mase_all": every.loc[models, "mase"].to_numpy(), "mase_no_breaks": clean.loc[models, "mase"].to_numpy(),
        "ratio_no_breaks": (clean.loc[models, "mase"] / clean.loc[best, "mase"]).to_numpy(),
        "ci_regions_lo": [by_region.get((m, "best"), (np.nan, np.nan))[0] for m in models],
        "ci_regions_hi": [by_region.get((m, "best"), (np.nan, np.nan))[1] for m in models],
        "ci_origins_lo": [by_origin[(m, "best")][0] for m in models],
        "ci_origins_hi": [by_origin[(m, "best")][1] for m in models],
        "ratio_all": (every.loc[models, "mase"] / every.loc[best_all, "mase"]).to_numpy(),
        "coverage_80_no_breaks": clean.loc[models, "coverage_80"].to_numpy(),
        "coverage_95_no_breaks": clean.loc[models, "coverage_95"].to_numpy(),
        "cells_95_no_breaks": clean.loc[models, "cells_95"].to_numpy(),
        "best_bridged": best, "best_bridged_all": best_all,
    })
    return out.sort_values(["mase_no_breaks", "model"], kind="mergesort").reset_index(drop=True)


def reconciliation_effect(kz: pd.DataFrame, min_vectors: int = 6) -> pd.DataFrame:
    """MASE of regional and national net migration before and after reconciliation.

    ``kz`` stacks kzmig's backtest predictions of the regional series and of the national
    series (same model names). At each origin, WLS and MinT weights come only from backtest
    errors of years up to that origin; origins with fewer than ``min_vectors`` such error
    vectors, or fewer than the number of series (MinT's minimum), are left out of every column.
    """
    rows = []
    kz = kz.loc[kz["model"] != NESTED].drop_duplicates(["model", *CELL])
    kz = kz.assign(lower=np.nan, upper=np.nan, level=np.nan)
    for origin in ORIGINS:
        base = kz.loc[kz["origin_year"] == origin]
        past = kz.loc[kz["year"] <= origin]
        n_vec = past.drop_duplicates(["origin_year", "year"]).shape[0]
        if n_vec < max(min_vectors, base["region"].nunique()):
            continue
        versions = {"base": base}
        for method in ("ols", "wls", "mint_shrink"):
            try:
                versions[method] = reconcile(base, method=method, residuals=past if method != "ols" else None)[0]
            except ValueError as err:
                logging.getLogger("bench").info("reconciliation %s at %d skipped: %s", method, origin, err)
        for method, frame in versions.items():
            rows.append(frame.assign(method=method))
    if not rows:
        return pd.DataFrame()
    both = pd.concat(rows, ignore_index=True)
    both["level_"] = np.where(both["region"] == NATIONAL, "national", "regional")
    tab = score(both, by=("model", "method", "level_"), levels=())
    wide = tab.pivot_table(index="model", columns=["level_", "method"], values="mase")
    wide.columns = [f"mase_{lv}_{m}" for lv, m in wide.columns]
    return wide.reset_index()


def fmt_table(t: pd.DataFrame) -> str:
    def ci(lo, hi):
        return "" if pd.isna(lo) else f"[{lo:.3f}, {hi:.3f}]"
    show = pd.DataFrame({
        "model": t["model"], "input": t["input"], "MASE all": t["mase_all"].map("{:.3f}".format),
        "MASE no breaks": t["mase_no_breaks"].map("{:.3f}".format),
        "ratio": t["ratio_no_breaks"].map("{:.3f}".format),
        "90% CI regions": [ci(a, b) for a, b in zip(t["ci_regions_lo"], t["ci_regions_hi"])],
        "90% CI origins": [ci(a, b) for a, b in zip(t["ci_origins_lo"], t["ci_origins_hi"])],
        "ratio all years": t["ratio_all"].map("{:.3f}".format),
        "cov 80/95 no breaks": [("n/a" if pd.isna(a) else f"{a:.0%}") + " / " + ("n/a" if pd.isna(b) else f"{b:.0%}")
                                for a, b in zip(t["coverage_80_no_breaks"], t["coverage_95_no_breaks"])],
    })
    return show.to_string(index=False)


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
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    t_start = time.perf_counter()
    cfg = load_config(experiments_dir() / CONFIG)
    long = load_long(cfg.data.view, cfg.data.borders)
    wide = to_wide(long)
    models = build_models(cfg, HORIZON)
    tables, for_reconciliation, choices_out = [], [], []
    for target, unit in TARGETS.items():
        full = target_series(wide, long, target, exog_columns(cfg, models))
        for scope in SCOPES:
            series = full.loc[(full["region"] == NATIONAL) == (scope == "national")].reset_index(drop=True)
            kz, choices = kzmig_backtest(series, cfg)
            choices_out.append(choices.assign(target=target, series=scope))
            if target == "net_migration":
                for_reconciliation.append(kz)
            sf = pd.concat([run_statsforecast(series, args.sf_python, bridged=b) for b in (False, True)],
                           ignore_index=True)
            sf = add_actual_and_scale(sf, series)
            frame = same_cells(pd.concat([kz, sf], ignore_index=True),
                               choices.loc[choices["model"].notna(), "origin_year"])
            tables.append(table_for(frame, f"{target} ({unit})", scope))
    table = pd.concat(tables, ignore_index=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "bench_statsforecast.csv", index=False)
    pd.concat(choices_out, ignore_index=True).to_csv(out / "bench_nested_choices.csv", index=False)
    pd.set_option("display.width", 200)
    print(f"kzmig ({CONFIG}) against statsforecast; harmonised {cfg.data.borders} borders; origins "
          f"{ORIGINS[1]}-{ORIGINS[-1]} (the first origin, {ORIGINS[0]}, has no earlier error to select from), "
          f"h = 1-{HORIZON}; MASE scaled by each series' bridged in-sample naive error; ratio = MASE / MASE of the "
          f"best statsforecast model on the bridged input, on target years without a break; {CI:.0%} percentile "
          f"bootstrap ({N_BOOT} draws, seed {SEED}) resampling regions or origins.")
    for (label, scope), t in table.groupby(["target", "series"], sort=False):
        r = t.iloc[0]
        print(f"\n== {label}, {scope} series: {int(r['cells'])} cells per model ({int(r['cells_no_breaks'])} without "
              f"break years); best bridged statsforecast model: {r['best_bridged']} (all years: "
              f"{r['best_bridged_all']})")
        print(fmt_table(t))
        nested = t.loc[t["model"] == NESTED].iloc[0]
        for label_, row in (("nested-selected kzmig", nested), *[
                (f"{m} (one model fixed in advance)", t.loc[t["model"] == m].iloc[0])
                for m in HONEST if (t["model"] == m).any()]):
            regions = "" if pd.isna(row["ci_regions_lo"]) else \
                f"regions [{row['ci_regions_lo']:.3f}, {row['ci_regions_hi']:.3f}], "
            print(f"{label_} / {row['best_bridged']}: {row['ratio_no_breaks']:.3f} without break years ({regions}"
                  f"origins [{row['ci_origins_lo']:.3f}, {row['ci_origins_hi']:.3f}]), {row['ratio_all']:.3f} over all "
                  f"years; coverage 80 % / 95 % without break years {row['coverage_80_no_breaks']:.0%} / "
                  f"{row['coverage_95_no_breaks']:.0%}")
    rec = reconciliation_effect(pd.concat(for_reconciliation, ignore_index=True))
    rec.to_csv(out / "bench_reconciliation.csv", index=False)
    print("\n== net migration, regional + national: MASE before (base) and after reconciliation to the "
          "national total (WLS/MinT weights from errors of years up to each origin)")
    print(rec.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s; tables written to {out}")


if __name__ == "__main__":
    main()
