"""statsforecast side of ``bench_statsforecast.py``, run in its own virtualenv.

statsforecast 2.1.1 requires ``pandas<3`` and kzmig pins pandas 3.1.1, so the two cannot
share an environment. ``bench_statsforecast.py`` writes the series to a CSV, runs this script
with the interpreter of a separate virtualenv (default ``/work/bench-venv``, created with
``python -m venv /work/bench-venv && /work/bench-venv/bin/pip install statsforecast==2.1.1``)
and reads back a CSV of rolling-origin forecasts and a CSV of timings.

Usage::

    /work/bench-venv/bin/python experiments/statsforecast_side.py IN.csv OUT.csv TIMES.csv \
        --h 3 --windows 10 --levels 80 95

``IN.csv`` has columns ``unique_id, ds, y`` (``ds`` integer years). ``OUT.csv`` has
``model, unique_id, cutoff, ds, point, lo_<pct>, hi_<pct>``; ``TIMES.csv`` has ``model,
seconds, fits`` (series x windows). Each model runs alone, single-threaded, after a warm-up
call, so the time per fit is comparable with kzmig's.
"""
from __future__ import annotations

import argparse
import logging
import time

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, DynamicOptimizedTheta, Naive

logger = logging.getLogger("statsforecast_side")


def _models():
    return {
        "sf_autoarima": AutoARIMA(season_length=1, alias="sf_autoarima"),
        "sf_autoets": AutoETS(season_length=1, alias="sf_autoets"),
        "sf_dynoptheta": DynamicOptimizedTheta(season_length=1, alias="sf_dynoptheta"),
        "sf_naive": Naive(alias="sf_naive"),
    }


def run(df: pd.DataFrame, h: int, windows: int, levels: list[int]):
    frames, times = [], []
    warm = df[df["unique_id"] == df["unique_id"].iloc[0]]
    for name, model in _models().items():
        sf = StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=Naive(alias=name))
        sf.cross_validation(df=warm, h=h, n_windows=2, step_size=1, level=levels)  # warm-up
        t0 = time.perf_counter()
        cv = sf.cross_validation(df=df, h=h, n_windows=windows, step_size=1, level=levels, refit=True)
        seconds = time.perf_counter() - t0
        times.append({"model": name, "seconds": seconds, "fits": df["unique_id"].nunique() * windows})
        out = pd.DataFrame({"model": name, "unique_id": cv["unique_id"], "cutoff": cv["cutoff"],
                            "ds": cv["ds"], "point": cv[name]})
        for pct in levels:
            out[f"lo_{pct}"] = cv[f"{name}-lo-{pct}"]
            out[f"hi_{pct}"] = cv[f"{name}-hi-{pct}"]
        frames.append(out)
        logger.info("%s: %.2f s for %d fits", name, seconds, times[-1]["fits"])
    return pd.concat(frames, ignore_index=True), pd.DataFrame(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("times")
    ap.add_argument("--h", type=int, default=3)
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--levels", type=int, nargs="+", default=[80, 95])
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    df = pd.read_csv(args.input)
    fc, times = run(df, args.h, args.windows, args.levels)
    fc.to_csv(args.output, index=False)
    times.to_csv(args.times, index=False)


if __name__ == "__main__":
    main()
