"""Rolling-origin backtests: refit at every origin on data up to it, score against published values.

For each origin ``o`` every model is cloned and fitted on the rows with ``year <= o`` (so
every feature and scaler it builds sees only data up to ``o``), then forecasts ``1..horizon``
years ahead. Break years are treated by the models as configured (their ``breaks``
parameter), but ``actual`` is always the published value. Ensembles whose members are in the
same run are combined from the members' forecasts instead of being refitted.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

import pandas as pd
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from kzmig.core.parallel import run_tasks
from kzmig.forecast.evaluate import series_scales
from kzmig.models.schema import check_horizon, check_levels, validate_series
from kzmig.models.ensemble import Ensemble, combine_forecasts
from kzmig.models.forecast_base import BaseForecaster

logger = logging.getLogger(__name__)


def check_origins(data: pd.DataFrame, origins: Iterable[int]) -> tuple[int, ...]:
    """Origins as sorted ints, each inside the data: ``first year < origin < last year``.

    Raises
    ------
    ValueError
        Naming the origin and the years the data covers.
    """
    first, last = int(data["year"].min()), int(data["year"].max())
    out = tuple(sorted({int(o) for o in origins}))
    if not out:
        raise ValueError("backtest: no origins given.")
    bad = [o for o in out if not first < o < last]
    if bad:
        raise ValueError(
            f"backtest: origin(s) {bad} are outside the data, which covers {first}-{last}; an origin needs "
            f"training years before it and at least one published year after it ({first + 1}-{last - 1})."
        )
    return out


def _one_origin(data: pd.DataFrame, models: Mapping[str, BaseForecaster], origin: int, horizon: int,
                levels: tuple[float, ...]) -> pd.DataFrame:
    # one BLAS/OpenMP thread: multithreading 3x3 state-space algebra is many times slower
    with threadpool_limits(limits=1):
        return _one_origin_inner(data, models, origin, horizon, levels)


def _one_origin_inner(data, models, origin, horizon, levels) -> pd.DataFrame:
    train = data.loc[data["year"] <= origin]
    # one region set for every model at this origin, so that their scores compare
    need = max(getattr(est, "min_length", 2) for est in models.values())
    n = train.groupby("region")["year"].size()
    short = n[n < need]
    if len(short):
        logger.info("backtest origin %d: %d series shorter than %d years left out: %s.",
                    origin, len(short), need, list(short.index))
    train = train.loc[~train["region"].isin(short.index)]
    frames: dict[str, pd.DataFrame] = {}
    for name, est in models.items():
        if isinstance(est, Ensemble) and all(m in frames for m, _ in est.members):
            frames[name] = combine_forecasts([frames[m] for m, _ in est.members], name=name, how=est.combine)
            continue
        est = clone(est)
        if "max_horizon" in est.get_params():  # direct models: train only the horizons scored
            est.set_params(max_horizon=horizon)
        fc = est.fit(train).predict(horizon, levels).assign(model=name)
        if hasattr(est, "fit_report_"):  # which model each region got at this origin, and why
            fc = fc.merge(est.fit_report_[["region", "spec", "fallback_reason"]], on="region", how="left")
        frames[name] = fc
    out = pd.concat(frames.values(), ignore_index=True)
    out["horizon"] = (out["year"] - out["origin_year"]).astype("int64")
    out["scale"] = out["region"].map(series_scales(train)).astype(float)
    return out


def backtest(
    df: pd.DataFrame,
    models: Mapping[str, BaseForecaster],
    *,
    origins: Iterable[int],
    horizon: int = 3,
    levels: Iterable[float] = (0.8, 0.95),
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of several forecasters.

    Parameters
    ----------
    df : DataFrame
        Series frame ``region, year, y[, exog, is_break]`` (see
        :func:`kzmig.models.schema.validate_series`); ``y`` holds published values.
    models : mapping of str to forecaster
        Named, unfitted forecasters; each is cloned at each origin.
    origins : iterable of int
        Last training years; each must lie strictly inside the data's years.
    horizon : int, default 3
        Forecast ``1..horizon`` years ahead of each origin.
    levels : iterable of float
        Interval levels (fractions).
    n_jobs : int, default 1
        Origins run in parallel worker processes (:func:`kzmig.core.parallel.run_tasks`, workers die
        with the parent); results do not depend on it.
    progress : callable, optional
        Called with the number of origins finished, for a progress bar.

    Returns
    -------
    DataFrame
        The forecast table plus ``horizon``, ``scale`` (naive MAE of the published series up
        to the origin), ``actual`` (published value), only for years with a published value,
        and for one-series-per-region models ``spec`` and ``fallback_reason``.

    Raises
    ------
    ValueError
        An origin outside the data (named, with the years covered) or ``horizon < 1``.
    """
    horizon = check_horizon(horizon)
    levels = check_levels(levels)
    data = validate_series(df, exog=(), source="backtest series")
    origins = check_origins(data, origins)
    need = max(getattr(est, "min_length", 2) for est in models.values())
    first_year = data.groupby("region")["year"].min()
    usable = tuple(o for o in origins if (o - first_year + 1 >= need).any())
    if not usable:
        raise ValueError(f"backtest: at no origin of {list(origins)} has any series the {need} years the models "
                         f"need; the series start in {int(first_year.min())}.")
    if usable != origins:
        logger.warning("backtest: origins %s are left out: no series has %d years up to them.",
                       sorted(set(origins) - set(usable)), need)
    origins = usable
    logger.info("backtest: %d models x %d origins x h=1..%d on %d series.",
                len(models), len(origins), horizon, data["region"].nunique())
    done = (lambda _key, k, _total: progress(k)) if progress else None
    parts = [part for _, part in run_tasks(_one_origin, [(o, (data, models, o, horizon, levels)) for o in origins],
                                           n_jobs=n_jobs, progress=done)]
    preds = pd.concat(parts, ignore_index=True)
    actual = data.set_index(["region", "year"])["y"]
    preds["actual"] = actual.reindex(pd.MultiIndex.from_frame(preds[["region", "year"]].astype({"region": "string"}))).to_numpy()
    preds = preds.loc[preds["actual"].notna()].reset_index(drop=True)
    order = ["model", "region", "origin_year", "year", "level"]
    return preds.sort_values(order, kind="mergesort", na_position="first").reset_index(drop=True)
