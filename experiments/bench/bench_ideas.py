"""What each idea of issue 11 is worth: variants of the honest models on the benchmark's cells.

Backtests, on the regional series of both targets of ``experiments/net_migration.toml``
(harmonised 2018 borders, 17 units; origins 2013-2021, the cells of ``bench_statsforecast.py``;
h = 1-3), the naive forecast, the mean of 3 years and every variant below, each tuned at each
origin from earlier years only (pseudo-origins inside its training data,
:mod:`kzmig.models.forecasters.tuning`), and prints MASE without break years and over all years, as a
ratio to the naive forecast (which equals statsforecast's Naive on the bridged input on these
cells) and, with ``--bench``, to the best bridged statsforecast model of a
``bench_statsforecast.csv`` written by ``bench_statsforecast.py`` (same cells)::

    python experiments/bench/bench_ideas.py [--bench runs/bench_statsforecast/bench_statsforecast.csv]

Variants (names as printed): ``mean_rev`` (the shipped mean reversion: phi in 0.5-0.95, w in
0-1 by 0.25, k in {3, 5}); ``mean_rev_fine`` (phi by 0.03, w by 0.1, k in 2-5);
``mean_rev_span`` (the long-run mean over the last 10 or 15 years allowed too);
``mean_rev_exog`` (plus a correction by the exogenous features regressed on its pseudo-origin
errors); ``fe`` / ``fe_x`` (region FE direct per horizon without / with the unemployment gap, log
income ratio and natural increase rate, every year); ``fe_w10`` / ``fe_x_w10`` (the last 10 target
years, ``fe_x_w10`` is the shipped ``fe_x``); ``fe_x_unscaled`` (not divided by each region's
scale); ``stacked`` (the shipped stacking of ``mean_rev`` and ``fe_x_w10``, every pseudo-origin);
``stacked_8`` (the latest 8 pseudo-origins); ``stacked_4`` (``mean_rev``, ``fe_x_w10``, naive
and mean of 3 years); ``stacked_par`` (``mean_rev``, ``fe_x_w10`` and pooled AR); ``pooled_ar``
(the shipped pooled AR, for reference).
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.config import load_config
from kzmig.core.resources import experiments_dir
from kzmig.features.data.dataset import load_long, to_wide
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.evaluate import score
from kzmig.forecast.engine.steps import target_series
from kzmig.models.registry import make_model
from kzmig.models.forecasters.schema import BREAK_COLUMN
from kzmig.studies.forecast import build_models

TARGETS = {"net_migration": "persons", "net_migration_rate_per_1000": "rate per 1,000"}
ORIGINS = tuple(range(2013, 2022))
EXOG = ("unemployment_rate_pct", "money_income_per_capita_kzt", "natural_increase_rate_per_1000")
X = {"exog": list(EXOG), "log": ["money_income_per_capita_kzt"], "relative": list(EXOG[:2])}


def variants() -> dict:
    m = {"naive": make_model("naive"), "mean3": make_model("window_mean", {"k": 3}),
         "mean_rev": make_model("mean_reversion"),
         "mean_rev_fine": make_model("mean_reversion", {
             "phis": [round(v, 2) for v in np.arange(0.5, 0.99, 0.03)],
             "weights": [round(v, 1) for v in np.arange(0, 1.01, 0.1)], "windows": [2, 3, 4, 5]}),
         "mean_rev_span": make_model("mean_reversion", {"mean_windows": [0, 10, 15]}),
         "mean_rev_exog": make_model("mean_reversion", X),
         "fe": make_model("fe_direct"), "fe_x": make_model("fe_direct", X),
         "fe_w10": make_model("fe_direct", {"window": 10}), "fe_x_w10": make_model("fe_direct", {**X, "window": 10}),
         "fe_x_unscaled": make_model("fe_direct", {**X, "scaled": False})}
    pair = [("mean_rev", m["mean_rev"]), ("fe_x_w10", m["fe_x_w10"])]
    m["stacked"] = make_model("stacked", {"members": pair})
    m["stacked_8"] = make_model("stacked", {"members": pair, "n_origins": 8})
    m["stacked_4"] = make_model("stacked", {"members": [*pair, ("naive", m["naive"]), ("mean3", m["mean3"])]})
    m["stacked_par"] = make_model("stacked", {"members": [*pair, ("pooled_ar", make_model("pooled_ar"))]})
    m["pooled_ar"] = make_model("pooled_ar")
    return {name: est.set_params(name=name) if "name" in est.get_params() else est for name, est in m.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", help="bench_statsforecast.csv of bench_statsforecast.py (for the ratio to the best "
                                    "bridged statsforecast model)")
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    bench = pd.read_csv(args.bench) if args.bench else None
    cfg = load_config(experiments_dir() / "net_migration.toml")
    need = max(getattr(m, "min_length", 2) for m in build_models(cfg, 3).values())
    long = load_long("harmonised", 2018)
    wide = to_wide(long)
    t0 = time.perf_counter()
    for target, unit in TARGETS.items():
        series = target_series(wide, long, target, EXOG)
        series = series.loc[series["region"] != NATIONAL].reset_index(drop=True)
        preds = backtest(series, variants(), origins=ORIGINS, horizon=3, levels=(), n_jobs=args.n_jobs)
        preds = preds.merge(series[["region", "year", BREAK_COLUMN]], on=["region", "year"], how="left")
        # the benchmark's cells: a series enters at an origin once it has the years every study model needs
        length = {(r, o): int((g["year"] <= o).sum()) for r, g in series.groupby("region") for o in ORIGINS}
        preds = preds.loc[[length[(r, o)] >= need for r, o in zip(preds["region"], preds["origin_year"])]]
        every = score(preds, by=("model",), levels=()).set_index("model")
        clean = score(preds.loc[~preds[BREAK_COLUMN].astype(bool)], by=("model",), levels=()).set_index("model")
        out = pd.DataFrame({"MASE no breaks": clean["mase"], "vs naive": clean["mase"] / clean.loc["naive", "mase"],
                            "MASE all": every["mase"], "all vs naive": every["mase"] / every.loc["naive", "mase"]})
        head = (f"\n== {target} ({unit}), regional series: {int(every['n'].iloc[0])} cells "
                f"({int(clean['n'].iloc[0])} without break years), origins {ORIGINS[0]}-{ORIGINS[-1]}, h = 1-3")
        if bench is not None:
            t = bench.loc[bench["target"].str.startswith(f"{target} (") & (bench["series"] == "regional")]
            best = t["best_bridged"].iloc[0]
            ref = t.set_index("model").loc[best]
            if int(ref["cells_no_breaks"]) != int(clean["n"].iloc[0]):
                raise SystemExit(f"--bench {args.bench}: {int(ref['cells_no_breaks'])} cells, here "
                                 f"{int(clean['n'].iloc[0])}; not the same cells.")
            out[f"vs {best}"] = clean["mase"] / ref["mase_no_breaks"]
            out[f"all vs {t['best_bridged_all'].iloc[0]}"] = every["mase"] / t.set_index("model").loc[
                t["best_bridged_all"].iloc[0], "mase_all"]
        print(head)
        print(out.sort_values("MASE no breaks").to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
