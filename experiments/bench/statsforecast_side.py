"""statsforecast side of ``bench_statsforecast.py``, run in its own virtualenv.

statsforecast 2.1.1 requires ``pandas<3`` and kzmig pins pandas 3.1.1, so the two cannot
share an environment. ``bench_statsforecast.py`` writes the series to a CSV, runs this script
with the interpreter of a separate virtualenv (its ``--sf-python``; by default
``.venv-statsforecast``, created with ``python3 -m venv .venv-statsforecast &&
.venv-statsforecast/bin/pip install -r experiments/bench/requirements-statsforecast.txt``)
and reads back a CSV of rolling-origin forecasts and a CSV of timings.

Usage::

    .venv-statsforecast/bin/python experiments/bench/statsforecast_side.py IN.csv OUT.csv TIMES.csv \
        --h 3 --levels 80 95

``IN.csv`` has columns ``origin, unique_id, ds, y`` (``ds`` integer years): the training rows
of each origin, stacked, as the caller prepared them (so that any treatment of break years
uses only data up to the origin). ``OUT.csv`` has ``model, unique_id, cutoff, ds, point,
lo_<pct>, hi_<pct>``; ``TIMES.csv`` has ``model, seconds, fits`` (series x origins). Each
model runs alone, single-threaded, after a warm-up call; only ``forecast`` calls are timed.
WindowAverage has no interval in statsforecast: its ``lo_``/``hi_`` columns are empty.
"""
from __future__ import annotations

import argparse
import logging
import time

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, DynamicOptimizedTheta, HistoricAverage, Naive, WindowAverage

logger = logging.getLogger("statsforecast_side")


def _models():
    """Name -> (model, gives intervals): WindowAverage has no interval of its own in statsforecast."""
    return {
        "sf_autoarima": (AutoARIMA(season_length=1, alias="sf_autoarima"), True),
        "sf_autoets": (AutoETS(season_length=1, alias="sf_autoets"), True),
        "sf_dynoptheta": (DynamicOptimizedTheta(season_length=1, alias="sf_dynoptheta"), True),
        "sf_naive": (Naive(alias="sf_naive"), True),
        "sf_histavg": (HistoricAverage(alias="sf_histavg"), True),
        "sf_windowavg3": (WindowAverage(window_size=3, alias="sf_windowavg3"), False),
    }


def run(df: pd.DataFrame, h: int, levels: list[int]):
    """Fit every model at every origin on that origin's training rows; forecast 1..h."""
    frames, times = [], []
    origins = sorted(df["origin"].unique())
    first = df[df["origin"] == origins[0]].drop(columns="origin")
    for name, (model, intervals) in _models().items():
        lv = levels if intervals else None
        sf = StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=Naive(alias=name) if intervals else None)
        sf.forecast(df=first[first["unique_id"] == first["unique_id"].iloc[0]], h=h, level=lv)  # warm-up
        seconds, fits = 0.0, 0
        for origin in origins:
            train = df[df["origin"] == origin].drop(columns="origin")
            t0 = time.perf_counter()
            fc = sf.forecast(df=train, h=h, level=lv)
            seconds += time.perf_counter() - t0
            fits += train["unique_id"].nunique()
            out = pd.DataFrame({"model": name, "unique_id": fc["unique_id"], "cutoff": origin,
                                "ds": fc["ds"], "point": fc[name]})
            for pct in levels:
                out[f"lo_{pct}"] = fc[f"{name}-lo-{pct}"] if intervals else float("nan")
                out[f"hi_{pct}"] = fc[f"{name}-hi-{pct}"] if intervals else float("nan")
            frames.append(out)
        times.append({"model": name, "seconds": seconds, "fits": fits})
        logger.info("%s: %.2f s for %d fits", name, seconds, fits)
    return pd.concat(frames, ignore_index=True), pd.DataFrame(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("times")
    ap.add_argument("--h", type=int, default=3)
    ap.add_argument("--levels", type=int, nargs="+", default=[80, 95])
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    df = pd.read_csv(args.input)
    fc, times = run(df, args.h, args.levels)
    fc.to_csv(args.output, index=False)
    times.to_csv(args.times, index=False)


if __name__ == "__main__":
    main()
