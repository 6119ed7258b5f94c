"""Benchmark: how backtest time and memory grow with the number of series (SYNTHETIC data).

Times the rolling-origin backtest of :func:`kzmig.forecast.engine.backtest.backtest` for each kzmig
forecaster on 20, 200 and 2,000 seeded synthetic series, and measures its peak traced memory
(``tracemalloc``, in a second, separate run, because tracing slows Python code down). Figures
are printed as seconds per series and MiB, and as ratios to the 20-series reference measured
in the same process; a ratio of time per series near 1 means linear scaling.

The series are **synthetic**, not the shipped data: annual, 2000-2024, each an AR(1) around
its own mean, ``y_t = m + 0.6 (y_{t-1} - m) + e_t``, ``m ~ N(0, 2000)``, ``e_t ~ N(0, 1500)``,
drawn with ``numpy.random.default_rng(seed)``. Default backtest: origins 2019 and 2021,
horizons 1-3, levels 80 % and 95 %, one process (``n_jobs=1``).

Run with kzmig installed (``pip install -e .``), from any folder::

    python experiments/bench/bench_scale.py [--sizes 20 200 2000] [--models naive theta ...]
        [--arima-max 200] [--out runs/bench_scale]

``--out`` (default ``runs/bench_scale``) is relative to the current folder.

``auto_arima`` costs ~0.2-0.8 s per fit here, so it runs only up to ``--arima-max`` series. A
model that fails at a size (e.g. ``boosting`` with the region as a categorical feature, which
scikit-learn caps at 255 categories) is recorded with its error instead of stopping the run;
``boosting_noregion`` is the same model without the region feature.
"""
from __future__ import annotations

import argparse
import gc
import logging
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.forecast.engine.backtest import backtest
from kzmig.models.registry import make_model

MODELS = {  # name -> (kind, params)
    "naive": ("naive", {}),
    "mean3": ("window_mean", {"k": 3}),
    "theta": ("theta", {}),
    "ets": ("ets", {}),
    "pooled_ar": ("pooled_ar", {}),
    "boosting": ("boosting", {}),
    "boosting_noregion": ("boosting", {"region_feature": False}),
    "arima": ("auto_arima", {}),
}
YEARS = np.arange(2000, 2025)


def synthetic_series(n: int, seed: int = 20240601) -> pd.DataFrame:
    """``n`` seeded synthetic AR(1) series in the engine's ``region, year, y`` layout."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(0.0, 2000.0, n)
    y = np.empty((n, len(YEARS)))
    y[:, 0] = mean + rng.normal(0.0, 1500.0, n)
    for t in range(1, len(YEARS)):
        y[:, t] = mean + 0.6 * (y[:, t - 1] - mean) + rng.normal(0.0, 1500.0, n)
    regions = np.array([f"syn{i:05d}" for i in range(n)])
    return pd.DataFrame({
        "region": pd.array(np.repeat(regions, len(YEARS)), dtype="string"),
        "year": np.tile(YEARS, n).astype("int64"),
        "y": y.ravel(),
    })


def measure(series: pd.DataFrame, name: str, origins: tuple[int, ...], traced: bool) -> float:
    """Seconds of one backtest, or its peak traced memory in MiB when ``traced``."""
    kind, params = MODELS[name]
    model = make_model(kind, params, name=name)
    gc.collect()
    if traced:
        tracemalloc.start()
        backtest(series, {name: model}, origins=origins, horizon=3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak / 2**20
    t0 = time.perf_counter()
    backtest(series, {name: model}, origins=origins, horizon=3)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 2000])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--origins", type=int, nargs="+", default=[2019, 2021])
    ap.add_argument("--arima-max", type=int, default=200)
    ap.add_argument("--out", default=str(Path("runs") / "bench_scale"),
                    help="folder for bench_scale.csv, relative to the current folder (default runs/bench_scale)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    origins, ref = tuple(args.origins), min(args.sizes)
    rows = []
    for n in sorted(args.sizes):
        series = synthetic_series(n)
        for name in args.models:
            if name == "arima" and n > args.arima_max:
                continue
            try:
                seconds = measure(series, name, origins, traced=False)
                peak = measure(series, name, origins, traced=True)
                error = ""
            except (ValueError, RuntimeError, MemoryError) as exc:  # a model that cannot run at this size
                tracemalloc.stop()
                seconds, peak, error = np.nan, np.nan, f"{type(exc).__name__}: {exc}"
            rows.append({"data": "synthetic", "model": name, "n_series": n, "origins": len(origins),
                         "seconds": seconds, "s_per_series": seconds / n, "peak_mib": peak, "error": error})
            print(f"synthetic n={n:5d} {name:18s} {seconds:8.2f} s  {seconds / n * 1000:8.2f} ms/series  "
                  f"peak {peak:8.1f} MiB  {error}", flush=True)
    table = pd.DataFrame(rows)
    base = table.loc[table["n_series"] == ref].set_index("model")
    table["time_per_series_ratio"] = table["s_per_series"] / table["model"].map(base["s_per_series"])
    table["peak_mib_ratio"] = table["peak_mib"] / table["model"].map(base["peak_mib"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "bench_scale.csv", index=False)
    pd.set_option("display.width", 160)
    print(f"\nSYNTHETIC series; ratios are to the {ref}-series run of the same model in this process.")
    shown = table.assign(error=table["error"].str.slice(0, 50))
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
