"""Honest backtest accuracy: a model chosen without its scoring years, against simple baselines.

A forecasting study selects the model with the best backtest score and reports that same
backtest's score for it: the choice has seen the years it is scored on, so the score is
optimistic. :func:`nested_selection` replays the selection as it could have been made at the
time. At each backtest origin ``o`` (in order) it chooses the model with the best mean score
over the backtest cells whose target year is ``<= o`` (the errors known at ``o``), with the rule
of :func:`kzmig.models.forecasters.ensemble.select_best`, and takes that model's forecasts made at ``o`` as
the forecasts of the *selected procedure*. The procedure, the simple baselines (naive, mean of
the last years, historic mean) and every model are then scored on the same cells, with the
ratio of each MASE to each baseline's and a cluster bootstrap interval for the ratio.

Input is the backtest table of :func:`kzmig.forecast.engine.backtest.backtest` for one target (the
forecast table plus ``actual``, ``scale`` and optionally ``is_break``), as a study keeps it in
``backtest_predictions``. Nothing is refitted.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, DataError
from kzmig.core.options import check_option
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.evaluate import score
from kzmig.forecast.engine.steps import AGGREGATES
from kzmig.models.forecasters.ensemble import select_best
from kzmig.models.forecasters.schema import BREAK_COLUMN

logger = logging.getLogger(__name__)

#: ``model`` of the selected procedure's rows in the score table
NESTED = "nested_selection"
#: baseline role -> model name used when the caller names none (the shipped configs' names)
BASELINES = {"naive": "naive", "mean": "mean3", "historic": "hist_mean"}
#: what each role means, for messages and the ``role`` column
ROLES = {"naive": "naive", "mean": "mean of the last years", "historic": "historic mean"}
#: metrics a selection may minimise (those of ``[forecast] select_by``)
SELECT_BY = ("mase", "mae", "rmse")
CELL = ["region", "origin_year", "year"]
NEEDED = ("model", "region", "origin_year", "year", "point", "actual", "scale")


class NoKnownErrors(ValueError):
    """No backtest origin has an error known at it to choose from (e.g. a single origin)."""


class NestedSelection(NamedTuple):
    """What :func:`nested_selection` returns (unpacks as ``choices, scores``)."""

    #: one row per backtest origin: the model chosen there, or why none was
    choices: pd.DataFrame
    #: one row per model (the selected procedure first): cells, errors, ratios to the baselines
    scores: pd.DataFrame


def _series_rows(preds: pd.DataFrame, aggregate: str | None) -> tuple[pd.DataFrame, str]:
    """Rows of the series an aggregate covers (regions, or every series of a national-only target)."""
    regional = preds.loc[preds["region"] != NATIONAL]
    base = "all_regions" if len(regional) else "all_series"
    label = aggregate or base
    allowed = [a + s for a in AGGREGATES for s in ("", "_no_breaks")]
    if label not in allowed:
        raise ConfigError(f"nested_selection: aggregate={label!r} is not one of {allowed}.")
    if not label.startswith(base):
        raise ConfigError(f"nested_selection: aggregate={label!r} does not fit this backtest, whose "
                         f"{'regional' if base == 'all_regions' else 'only'} series make {base!r}.")
    return (regional if base == "all_regions" else preds), label


def nested_choices(rows: pd.DataFrame, *, by: str = "mase", candidates: Sequence[str] | None = None,
                   levels: Sequence[float] = ()) -> pd.DataFrame:
    """The model chosen at each backtest origin from the errors known there.

    Parameters
    ----------
    rows : DataFrame
        Backtest rows of the series to select on (all target years, breaks included, as the
        study's selection uses them).
    by : str
        Metric of :func:`kzmig.forecast.engine.evaluate.score` to minimise (mean over horizons).
    candidates : sequence of str, optional
        Models that may be chosen (all by default).
    levels : sequence of float
        Interval levels whose Winkler scores break ties (as in the study).

    Returns
    -------
    DataFrame
        ``origin_year, model`` (NA where left out), ``by``, ``score`` (the chosen model's mean
        ``by`` over horizons), ``cells_known`` (cells with target year ``<= origin_year``),
        ``origins_known`` and ``status`` (``"chosen"`` or why the origin is left out).
    """
    out = []
    for origin in sorted(int(o) for o in rows["origin_year"].unique()):
        known = rows.loc[rows["year"] <= origin]
        cells = known.drop_duplicates(CELL)
        row = {"origin_year": origin, "model": pd.NA, "by": by, "score": np.nan, "cells_known": len(cells),
               "origins_known": int(cells["origin_year"].nunique()), "status": "chosen"}
        if known.empty:
            row["status"] = "left out: no backtest error is known at this origin"
        else:
            metrics = score(known, by=("model", "horizon"), levels=levels)
            try:
                best = select_best(metrics, by=by, candidates=candidates)
            except ValueError as err:  # e.g. every known cell without a naive scale
                row["status"] = f"left out: {err}"
            else:
                row["model"] = best
                row["score"] = float(metrics.loc[metrics["model"] == best, by].mean())
        out.append(row)
    return pd.DataFrame(out).astype({"model": "string", "status": "string"})


def selected_procedure(rows: pd.DataFrame, choices: pd.DataFrame) -> pd.DataFrame:
    """The selected procedure's backtest rows: at each origin, the rows of the model chosen there.

    Parameters
    ----------
    rows : DataFrame
        Backtest rows (every model, one row per level).
    choices : DataFrame
        ``origin_year, model`` as from :func:`nested_choices` (origins without a choice are
        skipped).

    Returns
    -------
    DataFrame
        Those rows with ``model`` set to :data:`NESTED` and ``chosen`` naming the model.
    """
    chosen = choices.loc[choices["model"].notna(), ["origin_year", "model"]]
    pick = pd.MultiIndex.from_frame(chosen.astype({"model": object}))
    key = pd.MultiIndex.from_frame(rows[["origin_year", "model"]].astype({"model": object}))
    out = rows.loc[key.isin(pick)]
    return out.assign(chosen=out["model"].astype("string"), model=NESTED)


def _common_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Restrict ``frame`` to the cells every model forecasts (a finite point for each)."""
    pts = frame.drop_duplicates(["model", *CELL])
    pts = pts.loc[np.isfinite(pts["point"].to_numpy(dtype=float))]
    n_models = frame["model"].nunique()
    per_cell = pts.groupby(CELL, sort=False)["model"].nunique()
    keep = per_cell.index[per_cell == n_models]
    dropped = len(per_cell) - len(keep)
    if dropped:
        logger.warning("nested_selection: %d of %d backtest cells are left out because not every model "
                       "forecasts them; all models are scored on the other %d.", dropped, len(per_cell), len(keep))
    idx = pd.MultiIndex.from_frame(frame[CELL])
    return frame.loc[idx.isin(keep)]


def ratio_intervals(pts: pd.DataFrame, models: Sequence[str], baselines: Mapping[str, str], *, cluster: str,
                    level: float = 0.9, n_boot: int = 2000, seed: int = 0) -> dict[tuple[str, str], tuple]:
    """Percentile bootstrap intervals of MASE ratios, resampling clusters of cells.

    Parameters
    ----------
    pts : DataFrame
        One row per model and cell: ``model, <cluster>, point, actual, scale``; every model
        has the same cells.
    models : sequence of str
        Models whose ratios are wanted.
    baselines : mapping of str to str
        Role -> baseline model (each in ``pts``).
    cluster : str
        Column whose values are resampled with replacement (``"region"`` or ``"origin_year"``).
    level : float
        Coverage of the interval.
    n_boot : int
        Bootstrap draws.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    dict
        ``(model, role) -> (lower, upper)``.

    Notes
    -----
    In each draw the clusters are drawn with replacement and every model's MASE is recomputed
    on the same resampled cells: with :math:`S_{cm}` the sum of scaled errors
    :math:`|\\hat y - y| / s` of model ``m`` over the cells of cluster ``c`` that have a scale
    and :math:`w_c` the number of times ``c`` is drawn, the ratio is
    :math:`\\sum_c w_c S_{cm} / \\sum_c w_c S_{cb}` (the cell counts cancel). The interval is
    the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the draws; draws with a zero
    denominator are left out (counted in a log message).
    """
    ok = (pts["scale"] > 0) & np.isfinite(pts["scale"])
    scaled = (pts["point"] - pts["actual"]).abs() / pts["scale"]
    S = scaled.where(ok).groupby([pts[cluster], pts["model"]]).sum(min_count=0).unstack("model").fillna(0.0)
    n_clusters = len(S)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    flat = (np.arange(n_boot)[:, None] * n_clusters + draws).ravel()
    weights = np.bincount(flat, minlength=n_boot * n_clusters).reshape(n_boot, n_clusters)
    num = weights @ S.to_numpy()
    col = {m: i for i, m in enumerate(S.columns)}
    q = [(1 - level) / 2, (1 + level) / 2]
    out = {}
    for role, base in baselines.items():
        den = num[:, col[base]]
        for m in models:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = num[:, col[m]] / den
            good = np.isfinite(r)
            if (~good).any():
                logger.info("bootstrap of %s / %s: %d of %d draws without a finite ratio left out.",
                            m, base, int((~good).sum()), n_boot)
            out[(m, role)] = tuple(np.quantile(r[good], q)) if good.any() else (np.nan, np.nan)
    return out


def nested_selection(preds: pd.DataFrame, *, by: str = "mase", aggregate: str | None = None,
                     baselines: Mapping[str, str | None] | None = None, candidates: Sequence[str] | None = None,
                     level: float = 0.9, n_boot: int = 2000, seed: int = 0,
                     choices: pd.DataFrame | None = None) -> NestedSelection:
    """Score a selection made only from errors known at each origin, beside the baselines.

    Parameters
    ----------
    preds : DataFrame
        Backtest table of one target: ``model, region, origin_year, year, point, actual,
        scale`` (``string``, ``int64``, ``float64``), optionally ``lower, upper, level`` (one
        row per level) and ``is_break``.
    by : str, default "mase"
        Selection metric (mean over horizons, ties broken as in
        :func:`kzmig.models.forecasters.ensemble.select_best`).
    aggregate : str, optional
        Cells scored: ``"all_regions"`` (regional series, national left out) or
        ``"all_series"`` (a national-only target), with ``"_no_breaks"`` to leave out target
        years flagged as breaks. Default: the one that fits ``preds``, break years kept. The
        choices are always made on every known cell of those series, breaks included, as in
        the study.
    baselines : mapping of str to str, optional
        Role (``"naive"``, ``"mean"``, ``"historic"``) -> model name; :data:`BASELINES` by
        default. A role whose model is absent (or None) gets NaN ratios.
    candidates : sequence of str, optional
        Models the selection may choose (all by default).
    level : float, default 0.9
        Coverage of the ratio intervals.
    n_boot : int, default 2000
        Bootstrap draws.
    seed : int, default 0
        Seed of the bootstrap.
    choices : DataFrame, optional
        The :func:`nested_choices` of these series with ``by`` and ``candidates``, when the
        caller has them (they do not depend on ``_no_breaks``): the same table, not computed again.

    Returns
    -------
    NestedSelection
        ``choices`` from :func:`nested_choices`; ``scores`` with one row per model, the
        selected procedure (``model = "nested_selection"``) first: ``aggregate, model, role,
        cells, series, origins, origins_left_out, mae, rmse, mase, bias``, ``coverage_<pct>``
        and ``winkler_<pct>`` per level (over the cells with an interval at that level, counted
        in ``interval_cells_<pct>``), then for each role ``ratio_<role>`` (MASE over the
        baseline's MASE on the same cells, whatever ``by``) with ``ratio_<role>_lo`` and
        ``ratio_<role>_hi``, and ``interval_level, resampled, clusters, n_boot, seed``.

    Raises
    ------
    ValueError
        Missing columns (named), an unknown ``aggregate`` or ``by``, ``level`` outside (0, 1),
        ``n_boot < 1``; :class:`NoKnownErrors` when no origin has a known error.

    Notes
    -----
    The cells are ``(region, origin_year, year)`` of the origins with a choice; the first
    origin(s), before any target year is published, are left out for every model and counted
    in ``origins_left_out``. Intervals resample regions (clusters of cells), or the origins
    when there is a single series (a national-only target); ``resampled`` says which.
    """
    missing = [c for c in NEEDED if c not in preds.columns]
    if missing:
        raise DataError(f"nested_selection: backtest table lacks column(s) {missing}; found {list(preds.columns)}.")
    check_option("by", by, SELECT_BY, owner="nested_selection")
    if not 0 < level < 1 or isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ConfigError(f"nested_selection: level={level!r} must lie in (0, 1) and n_boot={n_boot!r} must be an "
                         "integer >= 1.")
    rows, label = _series_rows(preds, aggregate)
    levels = sorted(float(lv) for lv in rows["level"].dropna().unique()) if "level" in rows else []
    if choices is None:
        choices = nested_choices(rows, by=by, candidates=candidates, levels=levels)
    chosen = choices.loc[choices["model"].notna()]
    if chosen.empty:
        raise NoKnownErrors(f"nested_selection: no backtest origin of {choices['origin_year'].tolist()} has a known "
                         "error to choose from; at least two origins are needed.")
    scored = rows.loc[rows["origin_year"].isin(chosen["origin_year"])]
    if label.endswith("_no_breaks") and BREAK_COLUMN in scored:
        scored = scored.loc[~scored[BREAK_COLUMN].astype(bool)]
    frame = _common_cells(pd.concat([selected_procedure(scored, choices), scored], ignore_index=True))
    table = score(frame, by=("model",), levels=levels)
    pts = frame.drop_duplicates(["model", *CELL])
    counts = pts.groupby("model").agg(cells=("year", "size"), series=("region", "nunique"),
                                      origins=("origin_year", "nunique"))
    table = table.drop(columns="n").merge(counts, on="model")
    for lv in levels:  # cells with an interval at each level: the denominators of coverage_<pct>
        with_iv = frame.loc[np.isclose(frame["level"].fillna(-1), lv) & frame["lower"].notna()]
        n_iv = with_iv.drop_duplicates(["model", *CELL]).groupby("model").size()
        table[f"interval_cells_{round(lv * 100):d}"] = table["model"].map(n_iv).fillna(0).astype("int64")
    roles = {**BASELINES, **(baselines or {})}
    absent = {r: m for r, m in roles.items() if m not in set(table["model"])}
    for r, m in absent.items():
        logger.info("nested_selection: no %s baseline (%s) in the backtest; its ratios are NaN.", ROLES.get(r, r),
                    "none named" if m is None else f"{m!r} absent")
    present = {r: m for r, m in roles.items() if r not in absent}
    one_series = pts["region"].nunique() == 1
    cluster = "origin_year" if one_series else "region"
    models = table["model"].tolist()
    ci = ratio_intervals(pts, models, present, cluster=cluster, level=level, n_boot=n_boot, seed=seed)
    mase = table.set_index("model")["mase"]
    for r in roles:
        base = present.get(r)
        table[f"ratio_{r}"] = [mase[m] / mase[base] if base else np.nan for m in models]
        table[f"ratio_{r}_lo"] = [ci[(m, r)][0] if base else np.nan for m in models]
        table[f"ratio_{r}_hi"] = [ci[(m, r)][1] if base else np.nan for m in models]
    role_of = {m: "+".join(r for r, b in roles.items() if b == m) for m in models}
    table["role"] = [("selected (nested)" if m == NESTED else role_of[m]) for m in models]
    table = table.assign(aggregate=label, origins_left_out=int(choices["model"].isna().sum()), interval_level=level,
                         resampled="origins (one series)" if one_series else "regions",
                         clusters=int(pts[cluster].nunique()), n_boot=n_boot, seed=seed)
    table["_order"] = table["model"] != NESTED
    table = table.sort_values(["_order", "model"], kind="mergesort").drop(columns="_order")
    first = ["aggregate", "model", "role", "cells", "series", "origins", "origins_left_out"]
    tail = ["interval_level", "resampled", "clusters", "n_boot", "seed"]
    middle = [c for c in table.columns if c not in first + tail]
    return NestedSelection(choices, table[first + middle + tail].reset_index(drop=True))


def honest_tables(preds: pd.DataFrame, target: str, *, by: str, baselines: Mapping[str, str | None],
                  selected: str, level: float = 0.9, n_boot: int = 2000, seed: int = 0
                  ) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """A study's ``accuracy_honest`` and ``selection_nested`` rows for one target.

    :func:`nested_selection` on every year and on the years without a break (the same choices),
    stacked, with ``target`` first and ``study_selected`` marking the model the study chose
    (by the whole backtest). When no origin has a known error (a single origin), both tables
    are empty and the third value says why; otherwise it is None.
    """
    _, label = _series_rows(preds, None)
    try:
        choices, every = nested_selection(preds, by=by, aggregate=label, baselines=baselines, level=level,
                                          n_boot=n_boot, seed=seed)
        _, clean = nested_selection(preds, by=by, aggregate=f"{label}_no_breaks", baselines=baselines,
                                    level=level, n_boot=n_boot, seed=seed, choices=choices)
    except NoKnownErrors as err:
        note = f"{target}: no honest accuracy (accuracy_honest.csv): {err}"
        logger.warning("%s", note)
        return pd.DataFrame(), pd.DataFrame(), note
    scores = pd.concat([every, clean], ignore_index=True)
    scores.insert(0, "target", target)
    scores.insert(4, "study_selected", scores["model"] == selected)
    choices.insert(0, "target", target)
    return scores, choices, None


def nested_metrics(preds: pd.DataFrame, choices: pd.DataFrame, target: str, levels: Sequence[float]) -> pd.DataFrame:
    """The headline rows of ``backtest_metrics``: the nested-selected forecast's scores.

    Parameters
    ----------
    preds : DataFrame
        The target's backtest table (every model, one row per level, ``is_break`` optional).
    choices : DataFrame
        ``origin_year, model`` of :func:`nested_choices` (origins without a choice are left out).
    target : str
    levels : sequence of float

    Returns
    -------
    DataFrame
        Rows of :func:`kzmig.forecast.engine.steps.backtest_metrics`'s layout with ``model =
        "nested_selection"``: per aggregate (every target year, and without break years) one row
        over all horizons (``horizon = 0``) and one per horizon, each with its cell counts
        (``n``, ``cells_mase``, ``cells_<pct>``) and ``origins``, the origins scored. Empty when
        no origin has a choice.
    """
    rows, label = _series_rows(preds, None)
    if choices["model"].notna().sum() == 0:
        return pd.DataFrame()
    proc = selected_procedure(rows, choices)
    parts = []
    frames = {label: proc}
    if BREAK_COLUMN in proc:
        frames[f"{label}_no_breaks"] = proc.loc[~proc[BREAK_COLUMN].astype(bool)]
    for agg, frame in frames.items():
        if frame.empty:
            continue
        every = score(frame.assign(horizon=0), by=("model", "horizon"), levels=levels)
        by_h = score(frame, by=("model", "horizon"), levels=levels)
        parts.append(pd.concat([every, by_h], ignore_index=True).assign(
            region=agg, origins=int(frame["origin_year"].nunique())))
    out = pd.concat(parts, ignore_index=True).assign(target=target)
    first = ["target", "model", "region", "horizon"]
    return out[first + [c for c in out.columns if c not in first]]
