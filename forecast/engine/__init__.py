"""The forecast engine: backtest, fit, forecast, reconcile and finish one target, for every caller.

The forecasting study (:mod:`kzmig.studies.forecast`), the planning run (``kzmig run``, through
that study) and ``kzmig predict`` (:mod:`kzmig.studies.predict`, with models loaded from a run
folder) all forecast a target through the functions here, so a reproduced run writes the same
tables byte for byte. The studies only read configs and files, call the engine and assemble
tables; the engine knows no config file and no model class: it reads what each model declares
in :mod:`kzmig.models.registry` (its horizon limit, its members, its update rule).

The stages, for one target:

1. :func:`target_data`: the target's series with its break flags, too short series left out;
2. :func:`backtest_target`: the rolling-origin backtest (:func:`kzmig.forecast.engine.backtest.backtest`),
   intervals (model-based or conformal, :func:`kzmig.forecast.engine.steps.conformal_fallback`),
   metrics, the selected model and the honest (nested) scores;
3. :func:`fit_models`: every model fitted on the whole series (or :func:`update_models`: saved
   models conditioned on a newer vintage; :func:`check_reach`: the horizon every model reaches);
4. :func:`forecast_models`: the forecasts, conformal where configured;
5. :func:`reconcile_target`: coherent regional forecasts, and the accuracy before and after;
6. :func:`finish_target`: stages 4 and 5 with the checks, notes and labels of the output;
   :func:`project_population`: population from the (reconciled) migration forecast.

:class:`Settings` carries what the stages read from a study's config.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.threads import single_thread
from kzmig.core.errors import ConfigError, DataError, PanelContractError, StudyError
from kzmig.core.parallel import Backend, TaskFailures, run_tasks
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.conformal import apply_conformal, conformal_quantiles
from kzmig.forecast.engine.evaluate import score, series_scales
from kzmig.forecast.engine.honest import honest_tables, nested_metrics
from kzmig.forecast.engine.reconcile import reconcile
from kzmig.forecast.engine.steps import (
    AGGREGATES,
    backtest_metrics,
    conformal_fallback,
    drop_short,
    interval_source,
    target_series,
    with_conformal_backtest,
)
from kzmig.models import registry
from kzmig.models.forecasters.ensemble import select_best
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.forecasters.schema import BREAK_COLUMN, check_nested_levels, coerce_forecast, validate_forecast

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What the engine reads from a forecasting study's config.

    Attributes
    ----------
    levels : tuple of float
        Interval levels (``forecast.levels``).
    conformal : {"missing", "all", "none"}
        Which models get conformal intervals (``forecast.conformal``).
    select_by : str
        The metric that selects a model (``forecast.select_by``).
    origins : tuple of int
        Backtest origins (``backtest.origins``); those outside a target's data are left out.
    horizon : int
        Backtest horizon (``backtest.horizon``).
    additive : tuple of str
        Targets reconciled to the national total, or to zero (``targets.additive``).
    national : bool
        Whether the national series is forecast (``data.national``): needed to reconcile.
    methods, use : tuple of str, str
        Reconciliation methods compared and the one used (``[reconciliation]``).
    baselines : mapping of str to str or None
        The study's model for each baseline role of the honest scores (naive, mean, historic).
    where : str
        What errors name as the source of these settings (the config's path).
    """

    levels: tuple[float, ...] = (0.8, 0.95)
    conformal: str = "missing"
    select_by: str = "mase"
    origins: tuple[int, ...] = ()
    horizon: int = 3
    additive: tuple[str, ...] = ()
    national: bool = True
    methods: tuple[str, ...] = ("ols",)
    use: str = "ols"
    baselines: Mapping[str, str | None] = field(default_factory=dict)
    where: str = "forecast"


class TargetSkipped(Exception):
    """A target that cannot be forecast (too short); reported in the metadata, not an error."""

    def __init__(self, reason: str, series: list[dict]):
        super().__init__(reason)
        self.reason, self.series = reason, series


def exog_columns(exog: Sequence[str], models: Mapping[str, BaseForecaster]) -> list[str]:
    """Exogenous columns the series of a target carries: the study's and those the models need."""
    return list(dict.fromkeys([*exog, *(c for m in models.values() for c in getattr(m, "exog_columns", ()))]))


def min_length(models: Mapping[str, BaseForecaster]) -> int:
    """The most years of history any of ``models`` needs."""
    return max(getattr(m, "min_length", 2) for m in models.values())


def target_data(wide: pd.DataFrame, long: pd.DataFrame, target: str, models: Mapping[str, BaseForecaster],
                exog: Sequence[str] = ()) -> tuple[pd.DataFrame, list[dict]]:
    """The target's series (``region, year, y[, exog], is_break``) without the series shorter than the
    models need, and the report of those left out."""
    series = target_series(wide, long, target, exog_columns(exog, models))
    return drop_short(series, min_length(models), target)


@dataclass
class BacktestOutcome:
    """What the backtest of one target gives: predictions (with intervals and break flags),
    metrics (the nested-selection headline first), the selected model, the interval source per
    model, and the honest tables."""

    preds: pd.DataFrame
    metrics: pd.DataFrame
    selected: str
    sources: dict[str, str]
    interval_notes: list[str]
    honest: pd.DataFrame
    nested: pd.DataFrame
    honest_notes: list[str]


def backtest_origins(series: pd.DataFrame, settings: Settings, target: str) -> list[int]:
    """The configured origins inside the target's data (the others logged as left out)."""
    first, last = int(series["year"].min()), int(series["year"].max())
    origins = [o for o in settings.origins if first < o < last]
    if len(origins) < len(settings.origins):
        logger.warning("target %s: backtest origins %s lie outside its data %d-%d and are left out.", target,
                       sorted(set(settings.origins) - set(origins)), first, last)
    return origins


def backtest_target(series: pd.DataFrame, models: Mapping[str, BaseForecaster], target: str, settings: Settings,
                    origins: Sequence[int], *, backend: Backend | None = None,
                    progress: Callable[[int], None] | None = None,
                    guard: Callable[[str], Any] | None = None) -> BacktestOutcome:
    """Backtest every model of one target, choose interval sources, score, select.

    ``guard(step)`` is a context manager the caller wraps the backtest in (the study turns a
    ``ValueError`` of a model into a user error naming its config).
    """
    from contextlib import nullcontext

    levels = settings.levels
    source = interval_source(dict(models), settings.conformal)
    with (guard or (lambda _: nullcontext()))("the backtest (backtest.origins, backtest.horizon)"):
        preds = backtest(series, models, origins=origins, horizon=settings.horizon, levels=levels,
                         backend=backend, progress=progress)
    preds = preds.merge(series[["region", "year", BREAK_COLUMN]], on=["region", "year"], how="left",
                        validate="many_to_one")
    if preds[BREAK_COLUMN].isna().any():  # every target year of a backtest comes from the series
        raise PanelContractError(f"target {target}: backtest rows without a series year: "
                                 f"{preds.loc[preds[BREAK_COLUMN].isna(), ['region', 'year']].head().to_dict('records')}")
    preds[BREAK_COLUMN] = preds[BREAK_COLUMN].astype(bool)
    source, interval_notes = conformal_fallback(preds, source, dict(models), levels, target)
    preds = with_conformal_backtest(preds, source, levels)
    metrics = backtest_metrics(preds, target, levels)
    selected = select_best(metrics.loc[metrics["region"].isin(AGGREGATES)], by=settings.select_by)
    honest, nested, honest_note = honest_tables(preds, target, by=settings.select_by,
                                                baselines=dict(settings.baselines), selected=selected)
    if len(nested):  # the headline: the forecast of the model chosen at each origin from earlier errors only
        metrics = pd.concat([nested_metrics(preds, nested, target, levels), metrics], ignore_index=True)
    return BacktestOutcome(preds, metrics, selected, source, interval_notes, honest, nested,
                           [honest_note] if honest_note else [])


def _fit_model_task(shared: tuple, name: str) -> BaseForecaster:
    series, models = shared
    with single_thread():
        return clone(models[name]).fit(series)


def fit_models(series: pd.DataFrame, models: Mapping[str, BaseForecaster], *,
               backend: Backend | None = None) -> dict[str, BaseForecaster]:
    """A fitted clone of every model on the whole ``series``, by name (the models are left unfitted).

    With a ``backend`` of several workers (the backtest's), the models are fitted there, one task
    each, and sent back: the same fitted models, in less wall time. A model whose fit fails raises
    its own error, as in this process.
    """
    if backend is None or backend.n_workers < 2 or len(models) < 2:
        with single_thread():
            return {name: clone(est).fit(series) for name, est in models.items()}
    try:
        done = dict(run_tasks(_fit_model_task, [(name, (name,)) for name in models], backend=backend,
                              shared=(series, dict(models)), retries=0))
    except TaskFailures as err:  # the first failing model's own error (a ValueError names its config)
        raise err.failed[next(n for n in models if n in err.failed)] from None
    return {name: done[name] for name in models}


def update_models(series: pd.DataFrame, models: Mapping[str, BaseForecaster]) -> dict[str, str]:
    """Condition fitted ``models`` on a newer vintage ``series`` in place (each keeps its estimated
    parameters); returns each model's update rule."""
    rules = {}
    for name, est in models.items():
        est.update(series)
        rules[name] = registry.update_rule(est)
    return rules


def horizon_limits(models: Mapping[str, BaseForecaster]) -> dict[str, tuple[int, str, str]]:
    """Per model with a horizon limit: ``(years, study model, parameter)``: the most years it forecasts
    ahead, and the model (itself or a member) and parameter that set the limit."""
    def limit(est: Any, owner: str) -> tuple[int, str, str] | None:
        entry = registry.info_of(est)
        found = []
        if entry is not None and entry.horizon:
            found.append((int(getattr(est, entry.horizon)), owner, entry.horizon))
        for member, inner in registry.members(est):
            if (got := limit(inner, member or owner)) is not None:
                found.append(got)
        return min(found) if found else None
    return {name: got for name, est in models.items() if (got := limit(est, name)) is not None}


def check_reach(models: Mapping[str, BaseForecaster], h: int, *, origin: int, target: str, option: str,
                to_year: int) -> None:
    """Refuse a forecast ``h`` years ahead that a model (or a member of it) cannot reach.

    Raises
    ------
    ConfigError
        Naming the model, its limit (years and last year reached) and the parameter to raise.
    """
    for name, (reach, owner, param) in horizon_limits(models).items():
        if h > reach:
            via = "" if owner == name else f" (through its member {owner!r})"
            raise ConfigError(f"{option} {to_year}: model {name!r} of {target!r} forecasts at most {reach} years "
                              f"ahead{via}: it was fitted for horizons 1..{reach}, i.e. up to {origin + reach}; choose "
                              f"--to-year up to {origin + reach}, or rerun the study with "
                              f"models.{owner}.params.{param} >= {h}.")


def forecast_models(series: pd.DataFrame, fitted: Mapping[str, BaseForecaster], preds: pd.DataFrame,
                    source: Mapping[str, str], h: int, levels: Sequence[float]
                    ) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Forecast ``h`` years with every fitted model, conformal where configured.

    Parameters
    ----------
    series : DataFrame
        The target's series (``region, year, y[, exog], is_break``); the naive scale of each
        region (:func:`kzmig.forecast.engine.evaluate.series_scales`) sizes its conformal interval.
    fitted : dict of str to forecaster
        Fitted models: fitted by the study, loaded from a run folder, or updated on newer data.
    preds : DataFrame
        Backtest predictions (one row per model, region, origin, year and level) whose
        residuals calibrate the conformal intervals (:func:`conformal_quantiles`).
    source : dict of str to str
        Interval source per model (:func:`interval_source`, :func:`conformal_fallback`).
    h : int
        Years ahead of each region's last year.
    levels : sequence of float

    Returns
    -------
    (DataFrame, dict, DataFrame)
        The forecast table (models in the order of ``fitted``), the models and their
        ``fit_report_`` rows (with ``model``).
    """
    scales = series_scales(series)
    frames, out, reports = [], {}, []
    with single_thread():
        for name, est in fitted.items():
            fc = est.predict(h, levels).assign(model=name)
            if source[name] == "conformal":
                resid = preds.loc[preds["model"] == name].drop_duplicates(["region", "origin_year", "year"])
                fc = apply_conformal(fc, conformal_quantiles(resid, levels), scales, levels)
            frames.append(fc.assign(interval=source[name]))
            out[name] = est
            if hasattr(est, "fit_report_"):
                reports.append(est.fit_report_.assign(model=name))
    return pd.concat(frames, ignore_index=True), out, pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()


def reconcile_target(fc, preds, target: str, methods: Sequence[str], use: str
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reconciled forecasts (method ``use``), incoherence report per method of ``methods``, and
    backtest accuracy before and after (residuals for WLS/MinT taken only up to each origin).

    ``interregional_net*`` targets sum to zero over regions; the others add up to the national row.
    """
    constraint = "zero_sum" if target.startswith("interregional_net") else "national_total"
    base = fc.drop(columns=["interval"])
    reports, used, used_method = [], None, None
    for method in dict.fromkeys((*methods, use)):
        try:
            rec, rep = reconcile(base, method=method, residuals=preds, constraint=constraint)
            rep = rep.assign(method_used=method, fallback_reason="")
            actual = method
        except ValueError as err:  # e.g. a series too young to have enough backtest errors
            logger.warning("target %s: reconciliation %s fell back to ols: %s", target, method, err)
            rec, rep = reconcile(base, method="ols", constraint=constraint)
            rep = rep.assign(method_used="ols", fallback_reason=str(err))
            actual = "ols"
        reports.append(rep.assign(target=target, method=method))
        if method == use:
            used, used_method = rec, actual
    out = used.assign(interval=fc["interval"].to_numpy(), reconciled=used_method)
    return out, pd.concat(reports, ignore_index=True), _reconciled_accuracy(preds, target, methods, constraint)


def _actuals_coherent(g: pd.DataFrame, constraint: str, rtol: float = 0.01) -> bool:
    """Whether the published values of a backtest cross-section satisfy the constraint (to
    ``rtol`` of the regions' absolute sum): only then is reconciling towards it meaningful."""
    one = g.drop_duplicates(["region", "year"])
    reg = one.loc[one["region"] != NATIONAL].groupby("year")["actual"]
    total = reg.sum()
    size = reg.apply(lambda a: a.abs().sum())
    if constraint == "zero_sum":
        gap = total.abs()
    else:
        nat = one.loc[one["region"] == NATIONAL].set_index("year")["actual"]
        if nat.empty:
            return False
        gap = (total - nat.reindex(total.index)).abs()
    return bool((gap <= rtol * size).all())


def _reconciled_accuracy(preds, target, methods, constraint) -> pd.DataFrame:
    rows = []
    pts = preds.drop_duplicates(["model", "region", "origin_year", "year"])
    for origin, g in pts.groupby("origin_year", sort=True):
        if not _actuals_coherent(g, constraint):
            logger.info("backtest reconciliation: origin %d skipped, its published values break the %s "
                        "constraint (a series is missing from the hierarchy).", origin, constraint)
            continue
        fc = coerce_forecast(g.assign(lower=np.nan, upper=np.nan, level=np.nan)[
            ["model", "region", "origin_year", "year", "point", "lower", "upper", "level", "actual", "scale"]])
        calib = preds.loc[preds["year"] <= origin]
        for method in methods:
            if method != "ols" and calib.drop_duplicates(["origin_year", "year"]).shape[0] < 2:
                continue
            try:
                rec, _ = reconcile(fc, method=method, residuals=calib if method != "ols" else None, constraint=constraint)
            except ValueError as err:
                logger.info("backtest reconciliation %s at origin %d skipped: %s", method, origin, err)
                continue
            for stage, tab in (("base", fc), ("reconciled", rec)):
                rows.append(score(tab.loc[tab["region"] != NATIONAL], by=("model",), levels=()).assign(
                    origin_year=int(origin), method=method, stage=stage))
    if not rows:
        return pd.DataFrame()
    acc = pd.concat(rows, ignore_index=True)
    agg = acc.groupby(["model", "method", "stage"], sort=True)[["mae", "rmse", "mase"]].mean().reset_index()
    return agg.assign(target=target, n_origins=acc["origin_year"].nunique())


def finish_target(target: str, series: pd.DataFrame, fitted: Mapping[str, BaseForecaster], preds: pd.DataFrame,
                  sources: Mapping[str, str], *, selected: str, skipped: Sequence[dict], h: int,
                  settings: Settings) -> dict:
    """Forecast, interval, reconcile and label one target with fitted models.

    Parameters
    ----------
    target : str
    series : DataFrame
        The target's series (``region, year, y[, exog], is_break``), too short series
        already left out; the models were fitted on it (or updated on it).
    fitted : dict of str to forecaster
        Fitted models by name, in the study's order (the order of the forecast rows).
    preds : DataFrame
        The target's backtest predictions (``backtest_predictions.csv`` without ``target``):
        their residuals give the conformal quantiles and the reconciliation's error covariance.
    sources : dict of str to str
        Interval source per model (``"conformal"``, ``"model"`` or ``"none"``).
    selected : str
        The model the backtest selected.
    skipped : sequence of dict
        Series left out as too short (:func:`kzmig.forecast.engine.steps.drop_short`): a hierarchy
        with a member missing is not reconciled.
    h : int
        Years ahead of the last year of the series.
    settings : Settings
        ``levels``, ``additive``, ``national``, ``methods`` and ``use``.

    Returns
    -------
    dict
        ``forecasts`` (reconciled, with ``target``, ``selected``, ``spec``,
        ``fallback_reason``), ``base`` (before reconciliation), ``reconciliation``,
        ``reconciliation_backtest``, ``fit_report``, ``fitted`` and ``notes``.
    """
    fc, fitted, fit_report = forecast_models(series, dict(fitted), preds, dict(sources), h, settings.levels)
    check_nested_levels(validate_forecast(fc, source=f"forecasts of {target}"), source=f"forecasts of {target}")
    rec_report = rec_acc = pd.DataFrame()
    final = fc.assign(reconciled="none")
    notes = []
    if target in settings.additive and settings.national:
        if not series["region"].ne(NATIONAL).any():  # a national-only table: no hierarchy
            notes.append(f"{target}: not reconciled: only the national series, nothing to reconcile")
            logger.info("%s", notes[-1])
            final = fc.assign(reconciled="none: national series only")
        elif skipped:  # a member of the hierarchy is missing: its total cannot be matched by the others
            missing = [row["region"] for row in skipped]
            notes.append(f"{target}: not reconciled, because {missing} are too short to forecast, so the forecast "
                         "regions do not make up the national total")
            logger.warning("%s", notes[-1])
            final = fc.assign(reconciled="none: series missing from the hierarchy")
        else:
            final, rec_report, rec_acc = reconcile_target(fc, preds, target, settings.methods, settings.use)
            used = set(final["reconciled"].astype(str))
            if used != {settings.use}:  # the configured method could not run: say so in the run
                reason = rec_report.loc[rec_report["method"] == settings.use, "fallback_reason"]
                notes.append(f"{target}: reconciliation.use = {settings.use!r} could not run and fell back "
                             f"to {', '.join(sorted(used))}: {reason.iloc[0] if len(reason) else ''}")
    final = final.assign(target=target, selected=final["model"] == selected)
    if len(fit_report):  # which model each region really got, and why (fallbacks)
        final = final.merge(fit_report[["model", "region", "spec", "fallback_reason"]], on=["model", "region"], how="left")
    return {"forecasts": final, "base": fc.assign(target=target), "reconciliation": rec_report,
            "reconciliation_backtest": rec_acc,
            "fit_report": fit_report.assign(target=target) if len(fit_report) else fit_report,
            "fitted": fitted, "notes": notes}


def run_target(target: str, wide: pd.DataFrame, long: pd.DataFrame, models: Mapping[str, BaseForecaster],
               settings: Settings, *, to_year: int, exog: Sequence[str] = (), backend: Backend | None = None,
               progress: Callable[[int, int], None] | None = None,
               guard: Callable[[str], Any] | None = None) -> dict:
    """Backtest, select, fit, forecast and reconcile one target with unfitted ``models``.

    Parameters
    ----------
    to_year : int
        Last forecast year.
    exog : sequence of str
        Exogenous columns the study adds to the series.
    progress : callable, optional
        ``progress(done, total)`` once per finished backtest origin.
    guard : callable, optional
        ``guard(step)``: a context manager around the backtest and the final fit.

    Returns
    -------
    dict
        :func:`finish_target`'s tables plus ``preds`` (with ``target``), ``metrics``,
        ``selected``, ``skipped``, ``series``, ``sources``, ``interval_notes``,
        ``honest_notes``, ``accuracy_honest`` and ``selection_nested``.

    Raises
    ------
    TargetSkipped
        No series is long enough, or no origin lies inside the data.
    ConfigError
        ``to_year`` not after the last data year of the target.
    """
    from contextlib import nullcontext

    guard = guard or (lambda _: nullcontext())
    series, skipped = target_data(wide, long, target, models, exog)
    need = min_length(models)
    if series.empty:
        raise TargetSkipped(f"no series has the {need} years the models need", skipped)
    first, last = int(series["year"].min()), int(series["year"].max())
    origins = backtest_origins(series, settings, target)
    if not origins:
        raise TargetSkipped(f"no backtest origin of {list(settings.origins)} lies inside its data {first}-{last}",
                            skipped)
    h_final = to_year - last
    if h_final < 1:
        raise ConfigError(f"{settings.where}: forecast.to_year = {to_year} is not after the last data year "
                          f"{last} of {target!r}.")
    bt = backtest_target(series, models, target, settings, origins, backend=backend,
                         progress=(lambda k: progress(k, len(origins))) if progress else None, guard=guard)
    with guard("fitting the models on the whole series"):
        fitted = fit_models(series, models, backend=backend)
    out = finish_target(target, series, fitted, bt.preds, bt.sources, selected=bt.selected, skipped=skipped,
                        h=h_final, settings=settings)
    return {**out, "preds": bt.preds.assign(target=target), "metrics": bt.metrics, "selected": bt.selected,
            "skipped": skipped, "series": series, "sources": bt.sources, "interval_notes": bt.interval_notes,
            "honest_notes": bt.honest_notes, "accuracy_honest": bt.honest, "selection_nested": bt.nested}


def project_population(wide: pd.DataFrame, results: Mapping[str, dict], *, migration_target: str, model: str,
                       levels: Sequence[float], to_year: int, where: str) -> pd.DataFrame | None:
    """Population per region through the balancing equation (:func:`kzmig.forecast.planning.population.project_population`)
    from the (reconciled) forecast of ``model`` (or ``"selected"``) for ``migration_target``.

    Raises
    ------
    ConfigError
        ``model`` is not a model of the study.
    DataError
        The data lack what the projection needs (population, natural increase, consecutive years).
    StudyError
        A projected population at or below zero (the migration forecast's trend carried too far).
    """
    from kzmig.forecast.planning.population import project_population as balance

    if migration_target not in results:
        logger.warning("population is not projected: target %s was not forecast.", migration_target)
        return None
    res = results[migration_target]
    model = res["selected"] if model == "selected" else model
    fc = res["forecasts"]
    if model not in set(fc["model"]):
        raise ConfigError(f"{where}: population.model = {model!r} is not a model of the study; "
                          f"choose one of {sorted(set(fc['model']))} or 'selected'.")
    mig = coerce_forecast(fc.loc[fc["model"] == model, ["model", "region", "origin_year", "year", "point",
                                                        "lower", "upper", "level"]])
    try:
        out = balance(wide, mig, levels=levels)
    except PanelContractError:
        raise
    except ValueError as err:  # a year of population or natural increase the projection needs is missing
        raise DataError(f"{where}: population is projected from the {model} forecasts of "
                        f"{migration_target}, but {err} Add the data, or set "
                        "population.enabled = false.") from err
    low = out.loc[out["point"] <= 0]
    if len(low):
        r = low.sort_values("year").iloc[0]
        raise StudyError(f"{where}: the projected population of {r['region']} falls to {r['point']:,.0f} by "
                         f"{int(r['year'])} ({len(low)} region-years at or below zero): the {model} migration "
                         f"forecast is carried too far; choose an earlier forecast.to_year (now {to_year}).")
    logger.info("population projected for %d regions from %s forecasts of %s.", out["region"].nunique(),
                model, migration_target)
    return out.assign(target="population", migration_model=model)
