"""Does the lagged relative wage help forecast regional net migration? (issue 14, optional idea)

Runs the rolling-origin backtest of ``experiments/net_migration.toml`` (harmonised 2018 borders,
origins 2012-2021, horizon 3, breaks bridged as the study does) for the global gradient-boosting
forecaster with and without lagged exogenous features, on the same series and origins:

* ``gbm``: lags of the target only (the study's model);
* ``gbm_wage``: plus ``wage_rel_national_pct`` of year t-1 (the average wage, % of national;
  :func:`kzmig.features.builders.wages.build_wages`; wages exist from 2011, earlier years are missing and
  HistGradientBoosting routes them as missing values);
* ``gbm_income``: plus ``income_rel_national_pct`` of t-1 (the former proxy, 2000-2024), as a
  control for "any relative-level feature";
* ``pooled_ar``, ``mean3``, ``naive``: the study's own models, for reference (``pooled_ar`` is the
  one the study selects for net migration).

Every feature value used at an origin is dated at or before the origin (the model's
``design_matrix`` cuts the series at the origin first), so this is the honest backtest. Prints the
MASE per model and horizon over the regions (national left out), on every target year and on the
years without a break, and the ratio of each exogenous variant to ``gbm`` on the same cells;
then the MASE ratios on the years without a break (all horizons pooled) with a 90 % interval from
resampling regions (seeded).

Run from the repository with kzmig installed::

    python experiments/bench/bench_wage_exog.py [--target net_migration_rate_per_1000]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from kzmig.config import validate_config
from kzmig.core.resources import experiments_dir
from kzmig.features.builders.wages import build_wages
from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.steps import backtest_metrics, drop_short, target_series
from kzmig.studies.data import open_data
from kzmig.studies.forecast import build_models, study_panel

EXOG = {"gbm": (), "gbm_wage": ("wage_rel_national_pct",), "gbm_income": ("income_rel_national_pct",)}
#: reference models of the study (no exogenous features), scored on the same cells
REFERENCE = ("pooled_ar", "mean3", "naive")
N_BOOT, SEED = 2000, 20261201


def ratio_interval(preds: pd.DataFrame, model: str, base: str = "gbm", level: float = 0.9) -> tuple[float, float, float]:
    """MASE ratio ``model`` / ``base`` on the target years without a break, all horizons pooled,
    with a percentile interval from resampling regions (seeded)."""
    pts = preds.loc[~preds["is_break"].astype(bool) & (preds["scale"] > 0)].drop_duplicates(
        ["model", "region", "origin_year", "year"])
    err = (pts["point"] - pts["actual"]).abs() / pts["scale"]
    wide = pts.assign(e=err).pivot_table(index=["region", "origin_year", "year"], columns="model", values="e")
    wide = wide[[model, base]].dropna()
    by_region = wide.groupby(level="region").agg(["sum", "count"])
    regions = by_region.index.to_numpy()
    rng = np.random.default_rng(SEED)
    ratios = []
    for _ in range(N_BOOT):
        pick = by_region.loc[rng.choice(regions, size=len(regions), replace=True)]
        ratios.append(pick[(model, "sum")].sum() / pick[(base, "sum")].sum())
    point = wide[model].mean() / wide[base].mean()
    lo, hi = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    return float(point), float(lo), float(hi)


def main(target: str) -> pd.DataFrame:
    import tomllib

    base = tomllib.loads((experiments_dir() / "net_migration.toml").read_text(encoding="utf-8"))
    gbm = base["models"]["gbm"]
    ref = {name: base["models"][name] for name in REFERENCE}
    raw = {"study": {"name": "wage_exog"}, "data": base["data"], "breaks": base["breaks"],
           "targets": {"names": [target], "additive": [t for t in base["targets"]["additive"] if t == target]},
           "backtest": {**base["backtest"], "n_jobs": 1}, "forecast": {"to_year": 2030, "conformal": "none"},
           "models": {name: {"kind": gbm["kind"], "params": {**gbm["params"], **({"exog": list(ex)} if ex else {})}}
                      for name, ex in EXOG.items()} | ref}
    cfg = validate_config(raw, "forecast")
    wide, long = study_panel(cfg, open_data(None))
    feats = build_wages(wide, proxy="both")[["region", "year", "wage_rel_national_pct", "income_rel_national_pct"]]
    wide = wide.merge(feats, on=["region", "year"], how="left", validate="one_to_one")
    models = build_models(cfg, cfg.backtest.horizon)
    series = target_series(wide, long, target, sorted({c for ex in EXOG.values() for c in ex}))
    series, _ = drop_short(series, max(getattr(m, "min_length", 2) for m in models.values()), target)
    preds = backtest(series, models, origins=list(cfg.backtest.origins), horizon=cfg.backtest.horizon,
                     levels=tuple(cfg.forecast.levels), n_jobs=1)
    preds = preds.merge(series[["region", "year", "is_break"]], on=["region", "year"], how="left")
    m = backtest_metrics(preds, target, tuple(cfg.forecast.levels))
    m = m.loc[m["region"].isin(["all_regions", "all_regions_no_breaks"]), ["region", "model", "horizon", "mase", "n"]]
    base_mase = m.loc[m["model"] == "gbm"].set_index(["region", "horizon"])["mase"]
    m["ratio_to_gbm"] = m["mase"] / m.set_index(["region", "horizon"]).index.map(base_mase)
    for name, ref_name in (("gbm_wage", "gbm"), ("gbm_income", "gbm"), ("gbm_wage", "pooled_ar")):
        print(f"{target}: {name} / {ref_name} MASE, years without a break, horizons 1-{cfg.backtest.horizon} "
              "pooled: %.3f (90 %% region-bootstrap interval %.3f to %.3f)" % ratio_interval(preds, name, ref_name))
    return m.sort_values(["region", "horizon", "model"]).reset_index(drop=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="net_migration_rate_per_1000")
    args = ap.parse_args()
    print(main(args.target).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
