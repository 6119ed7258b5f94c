"""A forecasting study as library code: load -> backtest -> select -> fit -> forecast -> reconcile.

``forecast(config, data=None, *, progress=None) -> StudyResult`` returns the tables
``forecasts`` (long: target, model, region, origin_year, year, point, lower, upper, level,
interval source, reconciled, selected; a national row per target and year),
``forecasts_base``, ``backtest_predictions``, ``backtest_metrics``, ``reconciliation``,
``reconciliation_backtest``, ``fit_report`` and ``population_forecasts`` (with
``[population]``), a fan chart per target and the fitted models. Each step is a library
function of :mod:`kzmig.forecast`; this module wires them and writes nothing.

The work is the forecast engine's (:mod:`kzmig.forecast.engine`: backtest, fit, forecast,
reconcile, finish); this module builds the models from the config (:func:`build_models`, reading
what each kind declares in :mod:`kzmig.models.registry`), runs the engine per target and
assembles the tables with :mod:`kzmig.studies.forecast_final`, which ``kzmig predict`` uses too.

The first rows of ``backtest_metrics`` (``model = "nested_selection"``) are the headline: the
forecast of the model chosen at each origin from the errors known there, with cell counts. The
selected model's own rows are optimistic: the selection saw the years it is scored on. ``accuracy_honest`` scores, from the same backtest (nothing is refitted), a
selection made at each origin only from the errors known there
(:func:`kzmig.forecast.engine.honest.nested_selection`), beside the naive forecast, the mean of the
last years, the historic mean and every model, on the same cells (every year and without break
years), with the ratio of MASE to each of the three baselines and a 90 % interval from a
bootstrap over regions (over origins for a national-only target); ``selection_nested`` lists
the model chosen at each origin.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any

import pandas as pd

from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.core.errors import KzmigError, StudyError
from kzmig.core.parallel import Backend, check_scheduler, open_backend
from kzmig.features.data.dataset import to_wide
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast import engine
from kzmig.forecast.engine import TargetSkipped
from kzmig.forecast.engine.steps import AGGREGATES
from kzmig.models import registry
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.studies.base import Progress, SavedModel, StudyResult, config_meta, no_progress
from kzmig.studies.data import DataArg, DataSource, open_data
from kzmig.studies.forecast_final import final_tables, settings

logger = logging.getLogger(__name__)


def build_models(cfg: ForecastStudyConfig, horizon: int) -> dict[str, BaseForecaster]:
    """Forecasters of the study by name, combinations wired to their members.

    Reads only what each kind declares in :mod:`kzmig.models.registry`: a kind with members gets
    the study's models named in ``members`` (and ``combine`` when it takes one); a kind with a
    horizon limit is fitted for at least ``horizon`` years; ``log = true`` and ``first_year``
    wrap the model (kinds ``log`` and ``since``).
    """
    models: dict[str, BaseForecaster] = {}
    # members first, whatever the order in the file (the config schema checked that they exist)
    ordered = sorted(cfg.models, key=lambda s: registry.info(s.kind).members is not None)
    for spec in ordered:
        entry = registry.info(spec.kind)
        more: dict[str, Any] = {"name": spec.name}
        if entry.members is not None:  # weights or a combination of other models of the study
            more[entry.members] = [(m, models[m]) for m in spec.members]
            if "combine" in entry.params:
                more["combine"] = spec.combine
            more["breaks"] = cfg.breaks
            est = registry.make_model(spec.kind, spec.params, **more)
        else:
            est = registry.make_model(spec.kind, spec.params, **more)
            if "breaks" in est.get_params():
                est.set_params(breaks=cfg.breaks)
            registry.set_horizon(est, horizon, at_least=True)
            if spec.log:
                est = registry.make_model("log", model=est, name=spec.name, breaks=cfg.breaks)
            if spec.first_year is not None:
                est = registry.make_model("since", model=est, first_year=spec.first_year, name=spec.name,
                                          breaks=cfg.breaks)
        models[spec.name] = est
    return {spec.name: models[spec.name] for spec in cfg.models}


def study_panel(cfg: ForecastStudyConfig, source: DataSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide panel and long flag table of the configured view and years (the view derived once per
    :class:`~kzmig.studies.data.DataSource`)."""
    long = source.long(cfg.data.view, cfg.data.borders if cfg.data.view == "harmonised" else None)
    wide = to_wide(long)
    if cfg.data.first_year is not None:
        wide = wide.loc[wide["year"] >= cfg.data.first_year]
    if cfg.data.last_year is not None:
        wide = wide.loc[wide["year"] <= cfg.data.last_year]
    if not cfg.data.national:
        wide = wide.loc[wide["region"] != NATIONAL]
    return wide.reset_index(drop=True), long


def last_observed_year(cfg: ForecastStudyConfig, wide: pd.DataFrame, label: str) -> int:
    """The last year with a value of any target: what ``forecast.to_year`` is checked against.

    Raises
    ------
    StudyError
        No target has a value in the data (``label`` names them).
    """
    cols = [c for c in cfg.targets.names if c in wide.columns]
    observed = wide[["year", *cols]].dropna(how="all", subset=cols)
    if observed.empty:
        raise StudyError(f"{cfg.path}: none of the targets {list(cfg.targets.names)} has a value in {label}.")
    return int(observed["year"].max())


@contextlib.contextmanager
def _as_study_error(cfg: ForecastStudyConfig, target: str, step: str):
    """A model or backtest that cannot work with this data and config is the user's to fix (a library
    error, exit 2): name the config, the target and the step, keep the library's own message. Any
    other exception is an internal error and passes unchanged (exit 1)."""
    try:
        yield
    except KzmigError as err:
        raise StudyError(f"{cfg.path}: target {target!r}: {step} cannot run: {err}") from err


def exog_columns(cfg: ForecastStudyConfig, models: dict[str, BaseForecaster]) -> list[str]:
    """Exogenous columns the series of a target carries: the config's and those the models need."""
    return engine.exog_columns(cfg.targets.exog, models)


def run_target(target: str, wide: pd.DataFrame, long: pd.DataFrame, cfg: ForecastStudyConfig, models: dict[str, BaseForecaster],
               progress: Progress, backend: Backend | None = None) -> dict:
    """Backtest, select, fit, forecast and reconcile one target (:func:`kzmig.forecast.engine.run_target`)."""
    return engine.run_target(
        target, wide, long, models, settings(cfg), to_year=cfg.forecast.to_year, exog=cfg.targets.exog,
        backend=backend or cfg.execution.resolve(cfg.backtest),
        progress=lambda k, n: progress(f"{target}: backtest", k, n),
        guard=lambda step: _as_study_error(cfg, target, step))


def _saved_models(target: str, res: dict, cfg: ForecastStudyConfig, data_meta: dict) -> dict[str, SavedModel]:
    series, metrics = res["series"], res["metrics"]
    out = {}
    for name, est in res["fitted"].items():
        out[f"{target}/{name}"] = SavedModel(est, {
            "study": cfg.name, "target": target, "model": name, "config_sha256": cfg.sha256,
            "data": {"path": data_meta["path"], "sha256": data_meta["sha256"]},
            "origin_year": int(series["year"].max()), "n_rows": int(len(series)),
            "n_regions": int(series["region"].nunique()), "n_years": int(series["year"].nunique()),
            "intervals": res["sources"][name] != "none", "interval_source": res["sources"][name],
            "breaks": cfg.breaks,
            "metrics": metrics.loc[(metrics["model"] == name) & metrics["region"].isin(AGGREGATES),
                                   ["horizon", "mae", "rmse", "mase"]].to_dict("records")})
    return out


def forecast(config: ForecastStudyConfig, data: DataArg = None, *, progress: Progress | None = None) -> StudyResult:
    """Run a forecasting study.

    Parameters
    ----------
    config : ForecastStudyConfig
        Validated config (:mod:`kzmig.config`), e.g. ``experiments/net_migration.toml``.
    data : None, path or DataFrame
        The shipped dataset (None), a user file, or a long table.
    progress : callable, optional
        ``progress(step, done, total)``: once per finished backtest origin and per target.

    Raises
    ------
    ConfigError
        A target or model the data cannot support as configured (``forecast.to_year`` not after
        the data, ``forecast.to_year`` more than ``forecast.max_years_ahead`` years past it).
    StudyError
        No target could be forecast (every series too short, no origin inside the data), or a
        projected population at or below zero.
    """
    from kzmig.config.checks import check_to_year

    progress = progress or no_progress
    cfg = config
    if cfg.execution.backend == "dask" and cfg.execution.address:
        check_scheduler(cfg.execution.address)  # an unreachable cluster fails before any work
    source = open_data(data)
    wide, long = study_panel(cfg, source)
    check_to_year(cfg.forecast.to_year, last_observed_year(cfg, wide, source.label), cfg.forecast.max_years_ahead,
                  source=cfg.path)
    data_meta = source.meta()
    horizon = max(cfg.backtest.horizon, cfg.forecast.to_year - int(wide["year"].max()))
    models = build_models(cfg, horizon)
    results, skipped_targets = {}, {}
    with open_backend(cfg.execution.resolve(cfg.backtest)) as backend:  # a LocalCluster starts once per study
        for i, target in enumerate(cfg.targets.names):
            progress(f"{target}: start", i, len(cfg.targets.names))
            try:
                results[target] = run_target(target, wide, long, cfg, models, progress, backend)
            except TargetSkipped as skip:
                logger.warning("target %s is not forecast: %s.", target, skip.reason)
                skipped_targets[target] = {"reason": skip.reason, "series": skip.series}
            progress(f"{target}: done", i + 1, len(cfg.targets.names))
    if not results:
        raise StudyError(f"{cfg.path}: no target could be forecast: "
                         + "; ".join(f"{t}: {s['reason']}" for t, s in skipped_targets.items()))
    tables, figures = final_tables(cfg, wide, long, results)
    notes = [n for r in results.values() for n in r["interval_notes"] + r["notes"] + r.get("honest_notes", [])]
    notes += [f"{t}: no backtest origin has a complete, coherent hierarchy (a series is too short to be "
              "backtested), so reconciliation_backtest.csv has no rows for it"
              for t, r in results.items() if t in cfg.targets.additive and not len(r["reconciliation_backtest"])
              and not r["notes"]]
    models_out = {k: v for t, r in results.items() for k, v in _saved_models(t, r, cfg, data_meta).items()}
    warnings = tuple([f"{t}: not forecast: {s['reason']}" for t, s in skipped_targets.items()] + notes)
    texts = {"config.toml": open(cfg.path, encoding="utf-8").read()} if cfg.path is not None else {}
    return StudyResult(
        study="forecast", name=cfg.name, tables=tables, figures=figures, models=models_out, texts=texts,
        warnings=warnings,
        metadata={"config": config_meta(cfg), "data": data_meta,
                  "targets": {t: {"selected": r["selected"], "skipped_series": r["skipped"],
                                  "intervals": r["sources"], "n_series": int(r["series"]["region"].nunique())}
                              for t, r in results.items()},
                  "skipped_targets": skipped_targets, "breaks": cfg.breaks,
                  "origins": list(cfg.backtest.origins), "horizon": cfg.backtest.horizon, "notes": notes,
                  "model_order": [s.name for s in cfg.models],
                  "seeds": {s.name: s.params["random_state"] for s in cfg.models if "random_state" in s.params}},
    )
