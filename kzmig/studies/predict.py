"""Forecasts from the saved models of a run, without fitting: reproduce, extend, or update on newer data.

``predict(run_dir, *, to_year=None, data=None) -> PredictResult`` reads a finished run folder
(``kzmig forecast`` or ``kzmig run``), and for every forecasting study in it:

1. rebuilds the study's config from the manifest and loads each target's saved models
   (:func:`kzmig.models.persistence.load_model`: safe files, checksums; never a refit);
2. reads the run's data, checked against the manifest's sha256, or the data given;
3. with the run's data, forecasts from the saved models as they are; with other data (a
   newer vintage), first updates every model on the new series (``update``: each keeps its
   estimated parameters, see its ``update_rule``), so the origin moves to the new last year;
4. checks that every model reaches the year asked for (:func:`kzmig.forecast.engine.check_reach`:
   the horizon limit each model, its members and what it wraps declare in
   :mod:`kzmig.models.registry`; otherwise a user error naming the model and its limit);
5. runs the forecast engine's last stages as the study does (:func:`kzmig.forecast.engine.finish_target`,
   through :mod:`kzmig.studies.forecast_final`): conformal intervals from the run's backtest
   residuals (``backtest_predictions.csv``) and the data's scales, reconciliation with the run's
   backtest predictions, the population projection.

With the run's data and ``to_year`` the tables equal the run's byte for byte. The result is
saved as a new run folder; its manifest names the source run, the data, and per target the
selected model and every model used, with the ``created_at`` and ``config_sha256`` of its
saved metadata and, when updated, how.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.core.errors import ConfigError, StudyError
from kzmig.core.runs import MANIFEST, read_manifest
from kzmig.forecast import engine
from kzmig.studies.base import Progress, StudyResult, config_meta, no_progress
from kzmig.studies.data import DataSource
from kzmig.studies.forecast import last_observed_year, study_panel
from kzmig.studies.forecast_final import FORECAST_TABLES, final_tables, finish_target
from kzmig.studies.saved_run import SavedStudy, forecast_studies, load_models, read_backtest, run_data, verify_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictResult:
    """The predicted tables of every forecasting study of a run.

    Attributes
    ----------
    name : str
        ``<run name>-predict``: the default folder is ``runs/<name>/<run id>``.
    parts : mapping of str to StudyResult
        By the study's folder in the source run (``""`` for a forecast run,
        ``"forecast/<study>"`` in a planning run); each holds ``forecasts``, ``forecasts_base``,
        ``reconciliation``, ``fit_report``, ``population_forecasts`` (with ``[population]``),
        ``history``, ``breaks`` and the fan charts.
    updates : tuple of dict
        ``part, target, model, rule``: each model updated on newer data and how (empty when
        the run's data were used).
    models : mapping
        ``{part: {target: {model name: estimator}}}``: the models that gave the forecasts
        (loaded, and updated with newer data); not written.
    metadata : mapping
        The manifest block: source run, data (and whether they are the run's), ``to_year``, and
        ``lang``: the language of the source planning run's outputs (``None`` for a forecast run).
    """

    name: str
    parts: Mapping[str, StudyResult]
    updates: tuple[dict[str, str], ...] = ()
    models: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        """The manifest block (the run folder adds status, timings, versions, file checksums)."""
        return {"kind": "predict", "name": self.name, "warnings": list(self.warnings),
                "updates": list(self.updates), **dict(self.metadata),
                "parts": {sub: part.manifest() for sub, part in self.parts.items()}}


def _check_to_year(to_year: int, last: int, cfg: ForecastStudyConfig, option: str, where: str) -> None:
    ahead = to_year - last
    if ahead < 1:
        raise ConfigError(f"{option} {to_year} is not after the last observed year {last} of {where}; choose "
                          f"a year from {last + 1} (give --to-year).")
    if ahead > cfg.forecast.max_years_ahead:
        raise ConfigError(f"{option} {to_year} is {ahead} years after the last observed year {last} of {where}, "
                          f"more than forecast.max_years_ahead = {cfg.forecast.max_years_ahead} of the run's config "
                          f"({cfg.path}); choose --to-year up to {last + cfg.forecast.max_years_ahead}, or rerun "
                          "the study with a larger forecast.max_years_ahead.")


def _regions_of(series: pd.DataFrame, models: Mapping[str, Any], target: str, skipped: list[dict]
                ) -> pd.DataFrame:
    """The series of the regions the models were fitted on; new regions are left out (they need a refit)."""
    fitted = set(next(iter(models.values())).regions_)
    have = set(series["region"].astype(str))
    if fitted - have:
        raise StudyError(f"target {target}: the data have no series for {sorted(fitted - have)}, which the run's "
                         "models were fitted on; use the data the run used, or rerun the study.")
    new = sorted(have - fitted)
    if new:
        logger.warning("target %s: %s are not forecast: the run's models were not fitted on them (rerun the "
                       "study to include them).", target, new)
        skipped.extend({"target": target, "region": r, "reason": "not in the run's models"} for r in new)
    return series.loc[series["region"].astype(str).isin(fitted)].reset_index(drop=True)


def _used(metas: Mapping[str, dict], selected: str, rules: Mapping[str, str], study: SavedStudy, target: str
          ) -> dict[str, Any]:
    models = {name: {"path": (Path(study.sub) / "models" / target / name).as_posix(),
                     "model_class": m.get("model_class"), "created_at": m.get("created_at"),
                     "config_sha256": m.get("config_sha256"), "origin_year": m.get("origin_year"),
                     "update": rules.get(name)} for name, m in metas.items()}
    return {"selected": selected, "models": models}


def predict_study(study: SavedStudy, source: DataSource, *, newer: bool, to_year: int | None, run_dir: Path,
                  manifest: Mapping[str, Any], progress: Progress
                  ) -> tuple[StudyResult, list[dict[str, str]], dict[str, dict[str, Any]]]:
    """The forecast tables of one saved forecasting study (see :func:`predict`), the updates
    made and the models used, per target."""
    cfg = study.config
    wide, long = study_panel(cfg, source)
    last = last_observed_year(cfg, wide, source.label)
    option = "--to-year" if to_year is not None else "forecast.to_year ="
    to_year = cfg.forecast.to_year if to_year is None else int(to_year)
    _check_to_year(to_year, last, cfg, option, source.label)
    cfg = cfg.model_copy(update={"forecast": cfg.forecast.model_copy(update={"to_year": to_year})})
    verify_files(run_dir, manifest, study)
    results, used, updates, used_models = {}, {}, [], {}
    targets = study.targets()
    for i, target in enumerate(targets):
        info = study.part["targets"][target]
        models, metas = load_models(study, target, (manifest.get("data") or {}).get("sha256"))
        need = engine.min_length(models)
        series, skipped = engine.target_data(wide, long, target, models, cfg.targets.exog)
        if series.empty:
            raise StudyError(f"target {target}: no series in {source.label} has the {need} years the models need.")
        series = _regions_of(series, models, target, skipped)
        origin = int(series["year"].max())
        rules = {}
        if newer:
            saved = max(m.get("origin_year") or origin for m in metas.values())
            if origin < saved:  # models that saw later years cannot be "updated" on an older vintage
                raise StudyError(f"target {target}: the data given ({source.label}) end in {origin}, before the "
                                 f"run's models ({saved}); --data must be a newer vintage than the run's.")
            rules = engine.update_models(series, models)
            updates += [{"part": study.sub, "target": target, "model": name, "rule": rule}
                        for name, rule in rules.items()]
        else:
            old = {m.get("origin_year") for m in metas.values()}
            if old != {origin}:
                raise StudyError(f"target {target}: the saved models end in {sorted(old)}, the data in {origin}; "
                                 "the data are not those the run used.")
        h = to_year - origin
        if h < 1:
            raise ConfigError(f"{option} {to_year} is not after the last year {origin} of {target!r}.")
        engine.check_reach(models, h, origin=origin, target=target, option=option, to_year=to_year)
        out = finish_target(target, series, models, read_backtest(study, target), info["intervals"],
                            selected=info["selected"], skipped=skipped, h=h, cfg=cfg)
        results[target] = {**out, "selected": info["selected"]}
        used_models[target] = models
        used[target] = {**_used(metas, info["selected"], rules, study, target),
                        "origin_year": {"run": sorted({m.get("origin_year") for m in metas.values()}), "now": origin},
                        "skipped_series": skipped}
        progress(f"{study.sub or cfg.name}: predict", i + 1, len(targets))
    tables, figures = final_tables(cfg, wide, long, results, tables=FORECAST_TABLES)
    notes = tuple(n for r in results.values() for n in r["notes"])
    part = StudyResult(study="predict", name=cfg.name, tables=tables, figures=figures, warnings=notes, metadata={
        "source": {"folder": str(study.folder.resolve()), "config": config_meta(study.config)}, "to_year": to_year,
        "targets": used, "model_order": [s.name for s in cfg.models]})
    return part, updates, used_models


def predict_name(run_dir: str | Path) -> str:
    """``<run name>-predict``, the study name (default folder) of a prediction from ``run_dir``.

    Raises
    ------
    ConfigError
        The folder has no complete manifest (:func:`kzmig.core.runs.read_manifest`).
    """
    manifest = read_manifest(run_dir)
    return f"{manifest.get('name') or manifest.get('study') or Path(run_dir).name}-predict"


def predict(run_dir: str | Path, *, to_year: int | None = None, data: Any = None,
            progress: Progress | None = None) -> PredictResult:
    """Forecast again from the saved models of a run folder, without fitting.

    Parameters
    ----------
    run_dir : path
        A complete run folder of ``kzmig forecast`` or of a planning run (``kzmig run``).
    to_year : int, optional
        Last forecast year; default the run's ``forecast.to_year``. Conformal intervals beyond
        the backtested horizons grow as :mod:`kzmig.forecast.engine.conformal` extends them.
    data : path, optional
        Data to use instead of the run's file: the same data moved elsewhere (same sha256:
        the run is reproduced), or a newer vintage (the models are updated on it, keeping
        their parameters; the conformal quantiles stay the run's, the scales are the new data's).
    progress : callable, optional
        ``progress(step, done, total)`` once per target.

    Returns
    -------
    PredictResult

    Raises
    ------
    ConfigError
        The folder is not a complete run, holds no forecasting study, or ``to_year`` lies
        beyond ``forecast.max_years_ahead`` (or what a direct multi-horizon model reaches).
    DataError
        The run's data file is missing or changed (both hashes named; pass ``data``); a model
        or backtest file is missing or changed.
    StudyError
        The data lack a series the models were fitted on.
    """
    progress = progress or no_progress
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    studies = forecast_studies(run_dir, manifest)
    source, newer = run_data(run_dir, manifest, data)
    parts, updates, models = {}, [], {}
    for study in studies:
        parts[study.sub], made, models[study.sub] = predict_study(study, source, newer=newer, to_year=to_year, run_dir=run_dir,
                                               manifest=manifest, progress=progress)
        updates += made
    run_data_meta = manifest.get("data") or {}
    mode = "update" if newer else "reproduce"
    logger.info("predict (%s): %d forecasting studies of %s.", mode, len(parts), run_dir)
    return PredictResult(
        name=predict_name(run_dir), parts=parts, updates=tuple(updates), models=models,
        warnings=tuple(f"{sub}: {w}" if sub else w for sub, p in parts.items() for w in p.warnings),
        metadata={"mode": mode, "to_year_option": to_year,
                  # the language the source run wrote its charts in (a planning run's [run] lang), so that a
                  # chart predicted again is the same picture; None for a forecast run (English)
                  "lang": ((manifest.get("config") or {}).get("resolved") or {}).get("run", {}).get("lang")
                  if manifest.get("kind") == "run" else None,
                  "source_run": {"folder": str(run_dir.resolve()), "run_id": manifest.get("run_id"),
                                 "kind": manifest.get("kind"), "manifest": str(run_dir.resolve() / MANIFEST)},
                  "data": {**source.meta(), "run_sha256": run_data_meta.get("sha256"),
                           "run_path": run_data_meta.get("path"), "same_as_run": not newer}})
