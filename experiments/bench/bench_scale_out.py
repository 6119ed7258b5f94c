"""Benchmark: the backtest on 20 to 10,000 SYNTHETIC series, on each execution backend.

For each backend -- ``local1`` (one worker: this process), ``local2`` (a local pool of 2
processes) and ``dask2`` (a dask.distributed ``LocalCluster`` of 2 worker processes, started
once and reached by its address, so its start-up is timed apart) -- and each size (default 20,
200, 2,000 and 10,000 series) it runs :func:`kzmig.forecast.engine.backtest.backtest` and records

- the total (wall) time and the time per series, and the CPU time of all processes (this one,
  a local pool's workers, a LocalCluster's workers), which other users of the machine disturb less;
- ``ref_s``: the time of a fixed reference run (``local1`` on ``--reference`` series) made in
  the same process just before the cell, and ``norm``: the cell's time per series divided by
  the reference's. The machine is shared, so raw times are noisy; the ratio to a reference
  measured under the same load is the steadier figure;
- the driver's memory (this process, not the workers): resident set size before the backtest,
  its peak during it (Linux ``VmHWM``, reset before each cell by writing 5 to
  ``/proc/self/clear_refs``), the size of the returned table (``result_mib``, pandas deep
  memory usage) and of the input panel (``data_mib``), and ``peak_over_result`` = (peak -
  before) / result: if the driver holds nothing per series beyond the result tables, this ratio
  stays flat as the series count grows;
- ``sha256``: the hash of the returned table written as CSV -- identical across backends;
- the 1-minute load average when the cell started.

At the end it prints the scaling exponent of each backend: the slope of log(total time) on
log(series), of wall and of CPU time, over all sizes and over the sizes from 200 on (at 20 series
fixed costs dominate).

The series are **synthetic**, from :func:`bench_scale.synthetic_series` (seeded AR(1) around a
series mean, 2000-2024). The default model set is the three baselines of the README's accuracy
table -- naive, mean of the last 3 years, historic mean -- because each fits one series at a
time in about 1 ms, so 10,000 series x 2 origins x 3 models on 2 cores take about a minute;
Theta and ETS cost ~40 ms per series and origin (``--models theta`` to include Theta: about 7
minutes at 10,000 series on one core). Backtest: origins 2019 and 2021, horizons 1-3, levels
80 % and 95 %, 500 series per task (``--group-size``).

Run with kzmig installed (``pip install -e .``), from any folder::

    python experiments/bench/bench_scale_out.py [--sizes 20 200 2000 10000] [--backends local1 local2 dask2]
        [--models naive mean3 hist_mean] [--reference 200] [--out runs/bench_scale_out]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import logging
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench_scale import synthetic_series
from kzmig.core.parallel import Backend
from kzmig.forecast.engine.backtest import backtest
from kzmig.models.registry import make_model

MODELS = {"naive": ("naive", {}), "mean3": ("window_mean", {"k": 3}), "hist_mean": ("historic_mean", {}),
          "theta": ("theta", {}), "drift": ("drift", {})}
BACKENDS = ("local1", "local2", "dask2")


def _status(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} (this benchmark measures memory on Linux only)")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # resets VmHWM to the current RSS


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process, its finished children (a local pool's workers, once
    joined) and its living descendants (a LocalCluster's workers)."""
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    living = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            living += t.user + t.system
        except psutil.NoSuchProcess:  # a pool worker that exited meanwhile (then counted in RUSAGE_CHILDREN)
            pass
    return own.ru_utime + own.ru_stime + done.ru_utime + done.ru_stime + living


def _models(names: list[str]) -> dict:
    return {n: make_model(MODELS[n][0], MODELS[n][1], name=n) for n in names}


def _run(series: pd.DataFrame, names: list[str], backend: Backend, origins, group_size: int) -> pd.DataFrame:
    return backtest(series, _models(names), origins=origins, horizon=3, backend=backend, group_size=group_size)


def measure(series, names, backend, origins, group_size) -> dict:
    """Time and driver memory of one backtest."""
    gc.collect()
    _reset_peak()
    before = _status("VmRSS")
    c0, t0 = _cpu_seconds(), time.perf_counter()
    preds = _run(series, names, backend, origins, group_size)
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - c0
    peak = _status("VmHWM")
    result = preds.memory_usage(deep=True).sum() / 2**20
    sha = hashlib.sha256(preds.to_csv(index=False).encode()).hexdigest()[:16]
    return {"seconds": seconds, "cpu_s": cpu, "rss_before_mib": before, "rss_peak_mib": peak, "result_mib": result,
            "rows": len(preds), "sha256": sha}


def exponent(table: pd.DataFrame, smallest: int = 0, column: str = "seconds") -> pd.Series:
    """Slope of log(``column``) on log(n_series) per backend (sizes >= ``smallest``)."""
    part = table.loc[table["n_series"] >= smallest]
    return part.groupby("backend", sort=False)[["n_series", column]].apply(
        lambda g: np.polyfit(np.log(g["n_series"]), np.log(g[column]), 1)[0] if len(g) > 1 else np.nan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 2000, 10000])
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    ap.add_argument("--models", nargs="+", default=["naive", "mean3", "hist_mean"], choices=list(MODELS))
    ap.add_argument("--origins", type=int, nargs="+", default=[2019, 2021])
    ap.add_argument("--group-size", type=int, default=500)
    ap.add_argument("--reference", type=int, default=200, help="series of the reference run (local1) before each cell")
    ap.add_argument("--out", default=str(Path("runs") / "bench_scale_out"),
                    help="folder for bench_scale_out.csv, relative to the current folder")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import distributed  # noqa: F401 - dask sets up its own INFO logging on import: quieten it after

    logging.getLogger("distributed").setLevel(logging.ERROR)
    origins = tuple(args.origins)
    ref_series = synthetic_series(args.reference, seed=7)
    local1 = Backend("local", workers=1)
    _run(ref_series, args.models, local1, origins, args.group_size)  # warm-up: imports, caches
    rows = []
    for name in args.backends:
        cluster, startup = None, float("nan")
        if name == "dask2":
            from distributed import LocalCluster

            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            startup = time.perf_counter() - t0
            backend = Backend("dask", address=cluster.scheduler_address)
        else:
            backend = Backend("local", workers=int(name[-1]))
        try:
            for n in sorted(args.sizes):
                series = synthetic_series(n)
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                _run(ref_series, args.models, local1, origins, args.group_size)
                ref = time.perf_counter() - t0
                cell = measure(series, args.models, backend, origins, args.group_size)
                row = {"data": "synthetic", "backend": name, "n_series": n, "models": "+".join(args.models),
                       "origins": len(origins), **cell, "s_per_series": cell["seconds"] / n, "ref_s": ref,
                       "norm": (cell["seconds"] / n) / (ref / args.reference),
                       "data_mib": series.memory_usage(deep=True).sum() / 2**20,
                       "peak_over_result": (cell["rss_peak_mib"] - cell["rss_before_mib"]) / cell["result_mib"],
                       "cluster_start_s": startup, "load1": load}
                rows.append(row)
                print(f"synthetic {name:6s} n={n:6d} {cell['seconds']:8.2f} s {row['s_per_series'] * 1e3:7.3f} ms/series "
                      f"cpu {cell['cpu_s']:8.2f} s "
                      f"(ref {ref:5.2f} s, norm {row['norm']:5.2f})  driver RSS {cell['rss_before_mib']:7.1f} -> "
                      f"{cell['rss_peak_mib']:7.1f} MiB, result {cell['result_mib']:6.1f} MiB  load {load:4.2f}  "
                      f"sha {cell['sha256']}", flush=True)
                del series
        finally:
            if cluster is not None:
                cluster.close()
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "bench_scale_out.csv", index=False)
    pd.set_option("display.width", 200)
    cols = ["backend", "n_series", "seconds", "s_per_series", "cpu_s", "norm", "rss_before_mib", "rss_peak_mib", "result_mib",
            "peak_over_result", "load1", "sha256"]
    print("\nSYNTHETIC series; norm = time per series / that of the reference run just before, in this process.")
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    same = table.groupby("n_series")["sha256"].nunique()
    print("\ntables identical across backends at every size:", bool((same == 1).all()))
    second = sorted(args.sizes)[1] if len(args.sizes) > 1 else 0
    for column, what in (("seconds", "wall time"), ("cpu_s", "CPU time of all processes")):
        print(f"scaling exponent (slope of log {what} on log series), all sizes:",
              exponent(table, 0, column).round(3).to_dict())
        print(f"scaling exponent ({what}), sizes >= {second}:", exponent(table, second, column).round(3).to_dict())
    if "dask2" in args.backends:
        print(f"dask LocalCluster (2 workers) start-up: {table.loc[table['backend'] == 'dask2', 'cluster_start_s'].iloc[0]:.2f} s")


if __name__ == "__main__":
    main()
