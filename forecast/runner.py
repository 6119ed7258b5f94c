"""A forecasting study end to end: load -> validate -> backtest -> fit -> forecast -> reconcile -> save.

Each step is a library function; this module only wires them and writes the run folder:
``forecasts.csv``, ``forecasts_base.csv``, ``backtest_predictions.csv``, ``backtest_metrics.csv``,
``reconciliation.csv``, ``reconciliation_backtest.csv``, ``population_forecasts.csv`` (when
``[population]`` is enabled), ``fit_report.csv``, ``config.toml``, ``metadata.json`` and
``models/<target>/<model>/``. A run never overwrites another.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import Progress
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from kzmig.core.atomic import atomic_write, atomic_write_csv, atomic_write_text
from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.regions import NATIONAL
from kzmig.forecast.backtest import backtest
from kzmig.forecast.conformal import apply_conformal, conformal_quantiles, conformalize_backtest
from kzmig.forecast.config import StudyConfig, load_config
from kzmig.forecast.evaluate import score, series_scales
from kzmig.forecast.registry import make_forecaster
from kzmig.models.schema import BREAK_COLUMN, check_nested_levels, coerce_forecast, validate_forecast
from kzmig.models.ensemble import Ensemble, select_best
from kzmig.models.forecast_base import BaseForecaster

logger = logging.getLogger(__name__)



def build_models(cfg: StudyConfig, horizon: int) -> dict[str, BaseForecaster]:
    """Forecasters of the study by name, ensembles wired to their members."""
    models: dict[str, BaseForecaster] = {}
    for spec in cfg.models:
        if spec.kind == "ensemble":
            members = [(m, models[m]) for m in spec.members]
            est = Ensemble(members, combine=spec.combine, name=spec.name, breaks=cfg.breaks)
        else:
            est = make_forecaster(spec.kind, spec.name, dict(spec.params))
            if "breaks" in est.get_params():
                est.set_params(breaks=cfg.breaks)
            if "max_horizon" in est.get_params():
                est.set_params(max_horizon=max(horizon, est.max_horizon))
        models[spec.name] = est
    for spec in cfg.models:  # members defined after the ensemble
        if spec.kind == "ensemble" and any(m not in models for m in spec.members):
            raise ConfigError(f"{cfg.path}: [models.{spec.name}] members must be defined before the ensemble.")
    return models


def load_data(cfg: StudyConfig, data: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide panel and long flag table of the configured view (``data`` = user file)."""
    from kzmig.features.dataset import load_long, to_wide

    long = load_long(cfg.data.view, cfg.data.borders if cfg.data.view == "harmonised" else None, path=data)
    wide = to_wide(long)
    if cfg.data.first_year is not None:
        wide = wide.loc[wide["year"] >= cfg.data.first_year]
    if cfg.data.last_year is not None:
        wide = wide.loc[wide["year"] <= cfg.data.last_year]
    if not cfg.data.national:
        wide = wide.loc[wide["region"] != NATIONAL]
    return wide.reset_index(drop=True), long


def target_series(wide: pd.DataFrame, long: pd.DataFrame, target: str, exog=()) -> pd.DataFrame:
    """``region, year, y, <exog>, is_break`` for one target; years without a value are dropped.

    Break years are those whose ``flag`` in the long table contains ``"break:"``.
    """
    missing = [c for c in (target, *exog) if c not in wide.columns]
    if missing:
        raise PanelContractError(f"data: column(s) {missing} are absent; found {sorted(wide.columns)}.")
    s = wide[["region", "year", target, *exog]].rename(columns={target: "y"})
    s = s.loc[s["y"].notna()].copy()
    flags = long.loc[(long["variable"] == target) & long["flag"].astype(str).str.contains("break:", regex=False)]
    brk = set(zip(flags["region"].astype(str), flags["year"].astype(int)))
    s[BREAK_COLUMN] = [(r, y) in brk for r, y in zip(s["region"].astype(str), s["year"].astype(int))]
    return s.reset_index(drop=True)


def drop_short(series: pd.DataFrame, need: int, target: str) -> tuple[pd.DataFrame, list[dict]]:
    """Remove series shorter than ``need`` years; report them (they are not forecast)."""
    n = series.groupby("region")["year"].size()
    short = n[n < need]
    report = [{"target": target, "region": r, "length": int(k), "needed": need} for r, k in short.items()]
    if report:
        detail = ", ".join(f"{row['region']}={row['length']}" for row in report[:6]) + (" ..." if len(report) > 6 else "")
        logger.warning("target %s: %d series have fewer than the %d years needed and are not forecast (%s).",
                       target, len(report), need, detail)
    return series.loc[~series["region"].isin(short.index)].reset_index(drop=True), report


def new_run_dir(cfg: StudyConfig, out: Path | None) -> Path:
    """``out`` (must be new or hold only ``run.log``) or ``runs/<study>/<UTC time>-<git sha>[-n]``."""
    if out is not None:
        out = Path(out)
        if out.exists() and any(p.name != "run.log" for p in out.iterdir()):
            raise ConfigError(f"--out {out} exists and is not empty; a run never overwrites another, choose a new folder.")
        out.mkdir(parents=True, exist_ok=True)
        return out
    from kzmig.models.persistence import git_state

    sha = (git_state()[0] or "nogit")[:7]
    base = Path("runs") / cfg.name / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{sha}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    path.mkdir(parents=True)
    return path


def _interval_source(models: dict[str, BaseForecaster], conformal: str) -> dict[str, str]:
    out = {}
    for name, est in models.items():
        native = bool(getattr(est, "has_intervals", False))
        out[name] = "conformal" if (conformal == "all" or (conformal == "missing" and not native)) else (
            "model" if native else "none")
    return out


def _with_conformal_backtest(preds: pd.DataFrame, source: dict[str, str], levels) -> pd.DataFrame:
    conf = [m for m, s in source.items() if s == "conformal"]
    keep = preds.loc[~preds["model"].isin(conf)]
    parts = [keep]
    if conf:
        parts.append(conformalize_backtest(preds.loc[preds["model"].isin(conf)], levels))
    out = pd.concat(parts, ignore_index=True)
    out["interval"] = out["model"].map(source)
    return out.sort_values(["model", "region", "origin_year", "year", "level"], kind="mergesort",
                           na_position="first").reset_index(drop=True)


def backtest_metrics(preds: pd.DataFrame, target: str, levels) -> pd.DataFrame:
    """Metrics per model x horizon over the regions (``region="all_regions"``, national left out;
    ``"all_regions_no_breaks"``: the same without target years flagged as breaks), and per
    model x region over all horizons (``horizon=0``)."""
    regional = preds.loc[preds["region"] != NATIONAL]
    a = score(regional, by=("model", "horizon"), levels=levels).assign(region="all_regions")
    parts = [a]
    if BREAK_COLUMN in regional:  # the same scores on target years that are not breaks
        clean = regional.loc[~regional[BREAK_COLUMN].astype(bool)]
        parts.append(score(clean, by=("model", "horizon"), levels=levels).assign(region="all_regions_no_breaks"))
    b = score(preds.assign(horizon=0), by=("model", "region"), levels=levels).assign(horizon=0)
    out = pd.concat([*parts, b], ignore_index=True).assign(target=target)
    first = ["target", "model", "region", "horizon"]
    return out[first + [c for c in out.columns if c not in first]]


def final_forecasts(series, models, preds, source, h, levels) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Fit every model on the whole series and forecast ``h`` years, conformal where configured."""
    scales = series_scales(series)
    frames, fitted, reports = [], {}, []
    with threadpool_limits(limits=1):
        for name, est in models.items():
            est = clone(est).fit(series)
            fc = est.predict(h, levels).assign(model=name)
            if source[name] == "conformal":
                resid = preds.loc[preds["model"] == name].drop_duplicates(["region", "origin_year", "year"])
                fc = apply_conformal(fc, conformal_quantiles(resid, levels), scales, levels)
            frames.append(fc.assign(interval=source[name]))
            fitted[name] = est
            if hasattr(est, "fit_report_"):
                reports.append(est.fit_report_.assign(model=name))
    return pd.concat(frames, ignore_index=True), fitted, pd.concat(reports, ignore_index=True) if reports else pd.DataFrame()


def reconcile_target(fc, preds, target, cfg) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reconciled forecasts (method ``cfg.reconciliation.use``), incoherence report per method, and
    backtest accuracy before and after (residuals for WLS/MinT taken only up to each origin)."""
    try:
        from kzmig.forecast.reconcile import reconcile
    except ImportError:
        logger.warning("forecast.reconcile is not available; %s is not reconciled.", target)
        return fc.assign(reconciled="none"), pd.DataFrame(), pd.DataFrame()
    constraint = "zero_sum" if target.startswith("interregional_net") else "national_total"
    base = fc.drop(columns=["interval"])
    reports, used, used_method = [], None, None
    for method in dict.fromkeys((*cfg.reconciliation.methods, cfg.reconciliation.use)):
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
        if method == cfg.reconciliation.use:
            used, used_method = rec, actual
    out = used.assign(interval=fc["interval"].to_numpy(), reconciled=used_method)
    return out, pd.concat(reports, ignore_index=True), _reconciled_accuracy(preds, target, cfg, constraint, reconcile)


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


def _reconciled_accuracy(preds, target, cfg, constraint, reconcile) -> pd.DataFrame:
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
        for method in cfg.reconciliation.methods:
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


class TargetSkipped(Exception):
    """A target that cannot be forecast (too short); reported in the metadata, not an error."""

    def __init__(self, reason: str, series: list[dict]):
        super().__init__(reason)
        self.reason, self.series = reason, series


def run_target(target, wide, long, cfg, models, progress=None) -> dict:
    """Backtest, select, fit, forecast and reconcile one target; returns its tables."""
    levels = cfg.forecast.levels
    exog = list(dict.fromkeys([*cfg.targets.exog, *(c for m in models.values() for c in getattr(m, "exog_columns", ()))]))
    series = target_series(wide, long, target, exog)
    need = max(getattr(m, "min_length", 2) for m in models.values())
    series, skipped = drop_short(series, need, target)
    if series.empty:
        raise TargetSkipped(f"no series has the {need} years the models need", skipped)
    first, last = int(series["year"].min()), int(series["year"].max())
    origins = [o for o in cfg.backtest.origins if first < o < last]
    if len(origins) < len(cfg.backtest.origins):
        logger.warning("target %s: backtest origins %s lie outside its data %d-%d and are left out.", target,
                       sorted(set(cfg.backtest.origins) - set(origins)), first, last)
    if not origins:
        raise TargetSkipped(f"no backtest origin lies inside its data {first}-{last}", skipped)
    h_final = cfg.forecast.to_year - int(series["year"].max())
    if h_final < 1:
        raise ConfigError(f"{cfg.path}: forecast.to_year={cfg.forecast.to_year} is not after the last data year "
                          f"{int(series['year'].max())} of {target!r}.")
    source = _interval_source(models, cfg.forecast.conformal)
    preds = backtest(series, models, origins=origins, horizon=cfg.backtest.horizon, levels=levels,
                     n_jobs=cfg.backtest.n_jobs, progress=progress)
    preds = preds.merge(series[["region", "year", BREAK_COLUMN]], on=["region", "year"], how="left",
                        validate="many_to_one")
    if preds[BREAK_COLUMN].isna().any():  # every target year of a backtest comes from the series
        raise PanelContractError(f"target {target}: backtest rows without a series year: "
                                 f"{preds.loc[preds[BREAK_COLUMN].isna(), ['region', 'year']].head().to_dict('records')}")
    preds[BREAK_COLUMN] = preds[BREAK_COLUMN].astype(bool)
    preds = _with_conformal_backtest(preds, source, levels)
    metrics = backtest_metrics(preds, target, levels)
    selected = select_best(metrics.loc[metrics["region"] == "all_regions"], by=cfg.forecast.select_by)
    fc, fitted, fit_report = final_forecasts(series, models, preds, source, h_final, levels)
    check_nested_levels(validate_forecast(fc, source=f"forecasts of {target}"), source=f"forecasts of {target}")
    rec_report = rec_acc = pd.DataFrame()
    final = fc.assign(reconciled="none")
    if target in cfg.targets.additive and cfg.data.national:
        final, rec_report, rec_acc = reconcile_target(fc, preds, target, cfg)
    final = final.assign(target=target, selected=final["model"] == selected)
    if len(fit_report):  # which model each region really got, and why (fallbacks)
        final = final.merge(fit_report[["model", "region", "spec", "fallback_reason"]], on=["model", "region"], how="left")
    return {"forecasts": final, "base": fc.assign(target=target), "preds": preds.assign(target=target),
            "metrics": metrics, "reconciliation": rec_report, "reconciliation_backtest": rec_acc,
            "fit_report": fit_report.assign(target=target) if len(fit_report) else fit_report,
            "fitted": fitted, "selected": selected, "skipped": skipped, "series": series, "sources": source}


def project_population_step(cfg: StudyConfig, wide: pd.DataFrame, results: dict) -> pd.DataFrame | None:
    """Population per region through the balancing equation (:func:`forecast.population.project_population`)
    from the (reconciled) forecast of ``cfg.population.model`` for ``migration_target``."""
    if not cfg.population.enabled:
        return None
    from kzmig.forecast.population import project_population

    if cfg.population.migration_target not in results:
        logger.warning("population is not projected: target %s was not forecast.", cfg.population.migration_target)
        return None
    res = results[cfg.population.migration_target]
    model = res["selected"] if cfg.population.model == "selected" else cfg.population.model
    fc = res["forecasts"]
    if model not in set(fc["model"]):
        raise ConfigError(f"{cfg.path}: [population] model={model!r} is not a model of the study; "
                          f"choose one of {sorted(set(fc['model']))} or 'selected'.")
    mig = coerce_forecast(fc.loc[fc["model"] == model, ["model", "region", "origin_year", "year", "point",
                                                        "lower", "upper", "level"]])
    out = project_population(wide, mig, levels=cfg.forecast.levels)
    logger.info("population projected for %d regions from %s forecasts of %s.", out["region"].nunique(),
                model, cfg.population.migration_target)
    return out.assign(target="population", migration_model=model)


def _write_csv(df: pd.DataFrame, path: Path, first=("target",)) -> None:
    cols = [c for c in first if c in df.columns] + [c for c in df.columns if c not in first]
    atomic_write_csv(df[cols], path)


def _save_models(run_dir: Path, target: str, res: dict, cfg: StudyConfig, data_meta: dict) -> None:
    from kzmig.models.persistence import save_model

    series = res["series"]
    for name, est in res["fitted"].items():
        meta = {
            "run_id": run_dir.name, "study": cfg.name, "target": target, "model": name,
            "config_sha256": cfg.sha256, "data": data_meta, "origin_year": int(series["year"].max()),
            "n_rows": int(len(series)), "n_regions": int(series["region"].nunique()),
            "n_years": int(series["year"].nunique()), "intervals": res["sources"][name] != "none",
            "interval_source": res["sources"][name], "breaks": cfg.breaks,
            "metrics": res["metrics"].loc[(res["metrics"]["model"] == name) & (res["metrics"]["region"] == "all_regions"),
                                          ["horizon", "mae", "rmse", "mase"]].to_dict("records"),
        }
        save_model(est, run_dir / "models" / target / name, meta)


def run_study(config: Path | str, out: Path | None = None, data: Path | None = None, *, progress: bool = False) -> Path:
    """Run a forecasting study and return its run folder.

    Parameters
    ----------
    config : path
        Study TOML (see ``experiments/net_migration.toml``).
    out : path, optional
        Run folder; must be new or empty. Default ``runs/<study>/<UTC time>-<git sha>``.
    data : path, optional
        A user data file in the shipped long layout, instead of the shipped dataset.
    progress : bool
        Show a rich progress bar.
    """
    cfg = load_config(config)
    run_dir = new_run_dir(cfg, out)
    atomic_write(run_dir / "config.toml", lambda tmp: shutil.copyfile(cfg.path, tmp))
    wide, long = load_data(cfg, data)
    from kzmig.models.persistence import sha256_file, versions

    from kzmig.features.dataset import OBSERVATIONS

    data_path = Path(data) if data else OBSERVATIONS
    data_meta = {"path": str(data_path), "sha256": sha256_file(data_path) if data_path.is_file() else None}
    horizon = max(cfg.backtest.horizon, cfg.forecast.to_year - int(wide["year"].max()))
    models = build_models(cfg, horizon)
    results, skipped_targets = {}, {}
    with Progress(disable=not progress, transient=True) as bar:
        for target in cfg.targets.names:
            task = bar.add_task(f"{target}: backtest", total=len(cfg.backtest.origins))
            try:
                results[target] = run_target(target, wide, long, cfg, models,
                                             progress=lambda k, t=task: bar.update(t, completed=k))
            except TargetSkipped as skip:
                logger.warning("target %s is not forecast: %s.", target, skip.reason)
                skipped_targets[target] = {"reason": skip.reason, "series": skip.series}
                continue
            bar.update(task, description=f"{target}: saving models")
            _save_models(run_dir, target, results[target], cfg, data_meta)
    population = project_population_step(cfg, wide, results)
    tables = {
        "forecasts.csv": "forecasts", "forecasts_base.csv": "base", "backtest_predictions.csv": "preds",
        "backtest_metrics.csv": "metrics", "reconciliation.csv": "reconciliation",
        "reconciliation_backtest.csv": "reconciliation_backtest", "fit_report.csv": "fit_report",
    }
    empty = {"reconciliation": ["target", "model", "origin_year", "year", "method", "incoherence_base",
                                "incoherence_reconciled", "method_used", "fallback_reason"],
             "reconciliation_backtest": ["target", "model", "method", "stage", "mae", "rmse", "mase", "n_origins"],
             "fit_report": ["target", "model", "region", "spec", "fallback_reason"]}
    extra = {}
    if population is not None:
        _write_csv(population, run_dir / "population_forecasts.csv")
        cols = list(results[cfg.population.migration_target]["forecasts"].columns)
        extra["forecasts"] = population.assign(interval="propagated", reconciled="none", selected=True).reindex(columns=cols)
    for fname, key in tables.items():
        frames = [r[key] for r in results.values() if len(r[key])] + ([extra[key]] if key in extra else [])
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=empty.get(key, []))
        _write_csv(table, run_dir / fname)
    meta = {
        "run_id": run_dir.name, "study": cfg.name, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {"path": cfg.path, "sha256": cfg.sha256}, "data": data_meta, "versions": versions(),
        "targets": {t: {"selected": r["selected"], "skipped_series": r["skipped"],
                        "intervals": r["sources"], "n_series": int(r["series"]["region"].nunique())}
                    for t, r in results.items()},
        "skipped_targets": skipped_targets,
        "breaks": cfg.breaks, "origins": list(cfg.backtest.origins), "horizon": cfg.backtest.horizon,
        "notes": [f"{t}: no backtest origin has a complete, coherent hierarchy (a series is too short to be "
                  "backtested), so reconciliation_backtest.csv has no rows for it"
                  for t, r in results.items() if t in cfg.targets.additive and not len(r["reconciliation_backtest"])],
    }
    from kzmig.forecast.plot import plot_forecasts

    from kzmig.features.typology import break_years

    for target, res in results.items():
        plot_forecasts(wide, res["forecasts"], target, run_dir / f"forecast_{target}.png",
                       breaks=break_years(long, variable=target))
    atomic_write_text(json.dumps(meta, indent=2, sort_keys=True, default=str), run_dir / "metadata.json")
    logger.info("forecast run written to %s", run_dir)
    return run_dir
