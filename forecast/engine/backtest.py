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
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.threads import single_thread
from kzmig.core.errors import ConfigError, DataError
from kzmig.core.parallel import Backend, TaskFailures, run_tasks
from kzmig.forecast.engine.evaluate import series_scales
from kzmig.models import registry
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.forecasters.schema import check_horizon, check_levels, validate_series

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
        raise ConfigError("backtest: no origins given.")
    bad = [o for o in out if not first < o < last]
    if bad:
        raise ConfigError(
            f"backtest: origin(s) {bad} are outside the data, which covers {first}-{last}; an origin needs "
            f"training years before it and at least one published year after it ({first + 1}-{last - 1})."
        )
    return out


class BacktestTask(NamedTuple):
    """Key of one backtest task: a model at an origin on a group of series (sorted: origin, model order, group)."""

    origin: int
    order: int
    model: str
    group: int
    regions: str  # "first..last" series of the group, to name a failed task


def _per_series(est: BaseForecaster) -> bool:
    """Whether ``est`` fits each series on its own (so a group of series gives the same forecasts):
    what its registration declares (:func:`kzmig.models.registry.pools`)."""
    return not registry.pools(est)


def _combined(est: BaseForecaster, fitted: list[str]) -> bool:
    """Whether ``est`` is a fixed combination of members that all run (so the members' forecasts are
    combined instead of refitting it): the model has ``combine_forecasts(frames, name=...)``."""
    inner = registry.members(est)
    return bool(inner) and hasattr(est, "combine_forecasts") and all(m in fitted for m, _ in inner)


def _fit_task(shared: tuple, origin: int, name: str, rows: tuple[int, int] | None) -> pd.DataFrame:
    """One task: clone model ``name``, fit it on data rows ``rows`` (a group of whole series, all when
    None) up to ``origin``, forecast. ``shared`` = (data, models, horizon, levels, left_out) is sent to
    each worker once."""
    data, models, horizon, levels, left_out = shared
    # one BLAS/OpenMP thread: multithreading 3x3 state-space algebra is many times slower
    with single_thread():
        part = data if rows is None else data.iloc[rows[0]:rows[1]]
        train = part.loc[part["year"] <= origin]
        train = train.loc[~train["region"].isin(left_out[origin])]
        est = clone(models[name])
        registry.set_horizon(est, horizon)  # direct models: train only the horizons scored
        fc = est.fit(train).predict(horizon, levels).assign(model=name)
        if hasattr(est, "fit_report_"):  # which model each region got at this origin, and why
            fc = fc.merge(est.fit_report_[["region", "spec", "fallback_reason"]], on="region", how="left")
        return fc


def _tasks(data: pd.DataFrame, models: Mapping[str, BaseForecaster], origins: tuple[int, ...],
           left_out: dict[int, list[str]], group_size: int) -> list[tuple[BacktestTask, tuple]]:
    """(series group x model x origin) tasks; an ensemble whose members all run is combined, not fitted.

    ``data`` is sorted by region, so a group of consecutive series is a range of rows."""
    codes = data["region"].astype(str).to_numpy()
    regions, first = np.unique(codes, return_index=True)
    if len(codes) and (codes[1:] != codes[:-1]).sum() != len(regions) - 1 or not (np.diff(first) > 0).all():
        raise RuntimeError("backtest: the series rows are not sorted by region (validate_series sorts them).")
    last = np.append(first[1:], len(codes))
    rows = {r: (int(a), int(b)) for r, a, b in zip(regions, first, last)}
    tasks, fitted = [], []
    for order, (name, est) in enumerate(models.items()):
        if _combined(est, fitted):
            continue
        fitted.append(name)
        for origin in origins:
            out = set(left_out[origin])
            kept = [r for r in regions if r not in out]
            if not _per_series(est) or len(kept) <= group_size:
                tasks.append((BacktestTask(origin, order, name, 0, "all"), (origin, name, None)))
                continue
            for g, i in enumerate(range(0, len(kept), group_size)):
                group = kept[i:i + group_size]
                tasks.append((BacktestTask(origin, order, name, g, f"{group[0]}..{group[-1]}"),
                              (origin, name, (rows[group[0]][0], rows[group[-1]][1]))))
    return tasks


def _assemble(results: list[tuple[BacktestTask, pd.DataFrame]], data: pd.DataFrame,
              models: Mapping[str, BaseForecaster], origins: tuple[int, ...],
              left_out: dict[int, list[str]]) -> pd.DataFrame:
    """Per origin, the models' forecasts in model order (ensembles combined from their members),
    with ``horizon`` and ``scale``; the same table however the tasks were grouped or run."""
    by = {}
    for key, fc in results:  # sorted by key: groups of a model at an origin in series order
        by.setdefault((key.origin, key.model), []).append(fc)
    per_origin = []
    for origin in origins:
        frames: dict[str, pd.DataFrame] = {}
        for name, est in models.items():
            if (origin, name) in by:
                parts = by[(origin, name)]
                frames[name] = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
            else:  # a combination of members of the run
                frames[name] = est.combine_forecasts([frames[m] for m, _ in registry.members(est)], name=name)
        out = pd.concat(frames.values(), ignore_index=True)
        train = data.loc[(data["year"] <= origin) & ~data["region"].isin(left_out[origin])]
        out["horizon"] = (out["year"] - out["origin_year"]).astype("int64")
        out["scale"] = out["region"].map(series_scales(train)).astype(float)
        per_origin.append(out)
    return pd.concat(per_origin, ignore_index=True)


def backtest(
    df: pd.DataFrame,
    models: Mapping[str, BaseForecaster],
    *,
    origins: Iterable[int],
    horizon: int = 3,
    levels: Iterable[float] = (0.8, 0.95),
    n_jobs: int | None = None,
    backend: Backend | None = None,
    group_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of several forecasters.

    Parameters
    ----------
    df : DataFrame
        Series frame ``region, year, y[, exog, is_break]`` (see
        :func:`kzmig.models.forecasters.schema.validate_series`); ``y`` holds published values.
    models : mapping of str to forecaster
        Named, unfitted forecasters; each is cloned at each origin.
    origins : iterable of int
        Last training years; each must lie strictly inside the data's years.
    horizon : int, default 3
        Forecast ``1..horizon`` years ahead of each origin.
    levels : iterable of float
        Interval levels (fractions).
    n_jobs : int, optional
        Shorthand for ``backend=Backend("local", workers=n_jobs)``; neither runs in this process.
    backend : Backend, optional
        Where the tasks run (:func:`kzmig.core.parallel.run_tasks`): a local process pool or Dask.
        A task is one model at one origin on one group of series; the series, models and
        settings are sent to each worker once. Results do not depend on the backend, the
        number of workers or ``group_size``.
    group_size : int, default 500
        Series per task for models that fit each series on its own (naive, drift, means,
        ARIMA, ETS, theta, and these fitted from a first year or on logs); pooled models (pooled AR,
        boosting) take all series in one task.
    progress : callable, optional
        Called with the number of origins finished (all their tasks done), for a progress bar.

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
    TaskFailures
        Tasks that failed twice (each is retried once), named by :class:`BacktestTask` key; the
        error's ``partial`` holds the forecasts of the tasks that succeeded (a ``ValueError``
        too when every failure was one).
    """
    horizon = check_horizon(horizon)
    levels = check_levels(levels)
    data = validate_series(df, exog=(), source="backtest series")
    origins = check_origins(data, origins)
    need = max(getattr(est, "min_length", 2) for est in models.values())
    first_year = data.groupby("region")["year"].min()
    usable = tuple(o for o in origins if (o - first_year + 1 >= need).any())
    if not usable:
        raise DataError(f"backtest: at no origin of {list(origins)} has any series the {need} years the models "
                         f"need; the series start in {int(first_year.min())}.")
    if usable != origins:
        logger.warning("backtest: origins %s are left out: no series has %d years up to them.",
                       sorted(set(origins) - set(usable)), need)
    origins = usable
    logger.info("backtest: %d models x %d origins x h=1..%d on %d series.",
                len(models), len(origins), horizon, data["region"].nunique())
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ConfigError(f"backtest: group_size={group_size!r} must be an integer >= 1.")
    left_out = _short_series(data, need, origins)
    tasks = _tasks(data, models, origins, left_out, group_size)
    try:
        results = run_tasks(_fit_task, tasks, n_jobs=n_jobs, backend=backend,
                            shared=(data, dict(models), horizon, levels, left_out),
                            progress=_origin_progress(tasks, progress))
    except TaskFailures as err:  # keep what did run: the forecasts of every task that succeeded
        kept = [fc for _, fc in err.results]
        err.partial = (pd.concat(kept, ignore_index=True).sort_values(
            ["model", "region", "origin_year", "year", "level"], kind="mergesort", na_position="first")
            .reset_index(drop=True) if kept else pd.DataFrame())
        raise
    preds = _assemble(results, data, models, origins, left_out)
    actual = data.set_index(["region", "year"])["y"]
    preds["actual"] = actual.reindex(pd.MultiIndex.from_frame(preds[["region", "year"]].astype({"region": "string"}))).to_numpy()
    preds = preds.loc[preds["actual"].notna()].reset_index(drop=True)
    order = ["model", "region", "origin_year", "year", "level"]
    return preds.sort_values(order, kind="mergesort", na_position="first").reset_index(drop=True)


def _short_series(data: pd.DataFrame, need: int, origins: tuple[int, ...]) -> dict[int, list[str]]:
    """Per origin, the series shorter than ``need`` years up to it: left out for every model at that
    origin, so that the models' scores compare."""
    out = {}
    for origin in origins:
        n = data.loc[data["year"] <= origin].groupby("region")["year"].size()
        short = n[n < need]
        if len(short):
            logger.info("backtest origin %d: %d series shorter than %d years left out: %s.",
                        origin, len(short), need, list(short.index))
        out[origin] = [str(r) for r in short.index]
    return out


def _origin_progress(tasks: list, progress: Callable[[int], None] | None):
    """``run_tasks`` progress (per task) -> ``progress(number of origins whose tasks are all done)``."""
    if progress is None:
        return None
    left: dict[int, int] = {}
    for key, _ in tasks:
        left[key.origin] = left.get(key.origin, 0) + 1
    finished = [0]

    def done(key, _done, _total):
        left[key.origin] -= 1
        if left[key.origin] == 0:
            finished[0] += 1
            progress(finished[0])
    return done
