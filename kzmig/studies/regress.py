"""The panel econometrics of migration (METHOD.md section 4) as a library study.

``regress(config, data=None, *, progress=None) -> StudyResult`` estimates every configured
panel model with every covariance, the Hausman comparison, wild cluster bootstrap inference
and the trend-type logits, and returns the tables: ``coefficients`` (tidy, all models, with
standardised coefficients and elasticities), ``hausman``, ``wild_bootstrap``,
``marginal_effects``, ``confusion``, ``entry`` (with ``[features] compare_without``: each
model refitted without a column, on the same rows and on all rows, beside the fit with it),
``skipped`` (models the data could not support, with the reason), ``terciles`` (each feature's
tercile against the period's trend type, as the source paper shows); the text ``models.txt``
and the data of the workbook ``models.xlsx`` (side-by-side tables); the chart ``coefficients``;
and the fitted models (``models/<target>/<model>/``). :func:`kzmig.reporting.save` renders and writes them.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd

from kzmig.config.regress_study import RegressModelSpec, RegressStudyConfig
from kzmig.core.errors import PanelContractError, StudyError
from kzmig.features.builders.factors import factor_panel, regional_sample, tercile_table, type_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.models.panel.bootstrap import SUPPORTED as BOOT_KINDS
from kzmig.models.panel.bootstrap import wild_cluster_bootstrap
from kzmig.models.panel.hausman import hausman
from kzmig.models.registry import make_model
from kzmig.models.panel.tables import side_by_side, to_text
from kzmig.studies.base import Document, Progress, SavedModel, StudyResult, chart, config_meta, no_progress
from kzmig.studies.data import DataArg, open_data

logger = logging.getLogger(__name__)

#: What a covariance request becomes for the between estimator (one row per region).
BETWEEN_COV = {"clustered": "robust", "driscoll-kraay": "robust"}


def _model_params(cfg: RegressStudyConfig, spec: RegressModelSpec, target: str, cov: str) -> dict[str, Any]:
    f, c = cfg.features, cfg.covariance
    params = {"target": target, "features": list(f.columns), "lag": f.lag,
              "missing": f.missing, **spec.params}
    if spec.kind == "between":
        params["cov_type"] = BETWEEN_COV.get(cov, cov)
    else:
        params.update(cov_type=cov, kernel=c.kernel, bandwidth=c.bandwidth)
    return params


def fit_continuous(cfg: RegressStudyConfig, panel: pd.DataFrame, target: str,
                   skipped: list[dict[str, str]]) -> dict[tuple, Any]:
    """Fit every model x covariance for one target; returns {(model name, cov): estimator}.

    A model whose data cannot support it (too few regions, absorbed features ...) is
    left out with the reason logged and appended to ``skipped``; the others go on.
    """
    fitted = {}
    for spec in cfg.models:
        for cov in cfg.covariance.types:
            est = make_model(spec.kind, **_model_params(cfg, spec, target, cov))
            try:
                est.fit(panel)
            except PanelContractError as err:
                logger.warning("%s / %s / %s skipped: %s", target, spec.name, cov, err)
                skipped.append({"target": target, "model": spec.name, "cov": cov,
                                "reason": str(err)})
                continue
            est.result_ = dataclasses.replace(est.result_, name=spec.name)
            fitted[(spec.name, cov)] = est
    return fitted


def _tidy(fitted: dict[tuple, Any], target: str, level: float) -> pd.DataFrame:
    rows = []
    for (name, cov), est in fitted.items():
        res = est.result_
        t = res.tidy(level).assign(target=target, model=name, kind=est._estimator,
                                   requested_cov=cov)
        try:
            t["standardised"] = t["term"].map(res.standardised())
            t["elasticity_at_mean"] = t["term"].map(res.elasticities())
        except ValueError as err:  # zero mean outcome: elasticities undefined
            logger.warning("%s/%s: %s", target, name, err)
        rows.append(t)
    return pd.concat(rows, ignore_index=True)


def _bootstrap(cfg: RegressStudyConfig, fitted: dict[tuple, Any], target: str) -> pd.DataFrame:
    b = cfg.bootstrap
    main_cov = cfg.covariance.types[0]
    out = []
    for name in b.models:
        est = fitted.get((name, main_cov))
        if est is None:
            logger.warning("bootstrap: model %r was not estimated; see skipped.csv.", name)
            continue
        if est._estimator not in BOOT_KINDS:
            logger.warning("bootstrap: model %r (%s) skipped; supported kinds: %s.", name,
                           est._estimator, list(BOOT_KINDS))
            continue
        terms = [t for t in b.terms] or None
        res = wild_cluster_bootstrap(est, terms, B=b.B, weights=b.weights,
                                     level=b.level, seed=b.seed)
        analytic = est.result_.pvalues
        out.append(res.assign(model=name, target=target,
                              p_value_clustered=res["term"].map(analytic)))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["model", "term", "estimate", "t_stat", "p_value", "conf_low", "conf_high"])


ENTRY_COLUMNS = ["target", "model", "kind", "cov", "dropped", "term", "estimate_with", "std_error_with",
                 "p_value_with", "nobs_with", "estimate_same_rows", "std_error_same_rows", "p_value_same_rows",
                 "nobs_same_rows", "change_same_rows", "estimate_all_rows", "std_error_all_rows",
                 "p_value_all_rows", "nobs_all_rows", "years_all_rows"]


def _entry(cfg: RegressStudyConfig, fitted: dict[tuple, Any], panel: pd.DataFrame, target: str,
           skipped: list[dict[str, str]]) -> pd.DataFrame:
    """How the other coefficients move when each ``[features] compare_without`` column enters.

    Each model of the main covariance is refitted without the column (a) on the rows of the
    model with it (the outcome is masked where the lagged column is missing, so both fits use
    the same region-years: the difference is the column's entry alone) and (b) on every row
    the other columns allow (the sample the study had before the column existed).
    """
    from kzmig.features.builders.lags import values_years_back
    from kzmig.models.panel.design import lag_name

    f = cfg.features
    main_cov = cfg.covariance.types[0]
    rows = []
    for term in f.compare_without:
        others = [c for c in f.columns if c != term]
        for spec in cfg.models:
            full = fitted.get((spec.name, main_cov))
            if full is None:
                continue
            lag = spec.params.get("lag", f.lag)
            lagged = values_years_back(panel, [term], lag)[term].to_numpy()
            same = panel.copy()
            same[target] = same[target].where(pd.notna(lagged))
            fits = {}
            for sample, data in (("same_rows", same), ("all_rows", panel)):
                params = {**_model_params(cfg, spec, target, main_cov), "features": others}
                try:
                    fits[sample] = make_model(spec.kind, **params).fit(data).result_
                except PanelContractError as err:
                    logger.warning("%s / %s without %s (%s) skipped: %s", target, spec.name, term, sample, err)
                    skipped.append({"target": target, "model": f"{spec.name} without {term} ({sample})",
                                    "cov": main_cov, "reason": str(err)})
            if len(fits) < 2:
                continue
            r, a, b = full.result_, fits["same_rows"], fits["all_rows"]
            if int(a.nobs) != int(r.nobs):  # an invariant of the masking above, not a user error
                raise RuntimeError(f"{target}/{spec.name}: the refit without {term} has {int(a.nobs)} rows, the "
                                   f"model with it {int(r.nobs)}; the same-rows comparison must use one sample.")
            for t in r.params.index:
                if t == lag_name(term, lag) or t not in a.params.index:
                    continue
                rows.append({
                    "target": target, "model": spec.name, "kind": full._estimator, "cov": main_cov,
                    "dropped": lag_name(term, lag), "term": t,
                    "estimate_with": r.params[t], "std_error_with": r.std_errors[t], "p_value_with": r.pvalues[t],
                    "nobs_with": int(r.nobs),
                    "estimate_same_rows": a.params[t], "std_error_same_rows": a.std_errors[t],
                    "p_value_same_rows": a.pvalues[t], "nobs_same_rows": int(a.nobs),
                    "change_same_rows": r.params[t] - a.params[t],
                    "estimate_all_rows": b.params[t], "std_error_all_rows": b.std_errors[t],
                    "p_value_all_rows": b.pvalues[t], "nobs_all_rows": int(b.nobs),
                    "years_all_rows": f"{min(b.years)}-{max(b.years)}",
                })
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS)


def _discrete(cfg: RegressStudyConfig, full: pd.DataFrame, regional: pd.DataFrame,
              skipped: list[dict[str, str]], skip: pd.DataFrame | None = None) -> list[Any]:
    dsc = cfg.discrete
    if not dsc.enabled:
        logger.info("categorical models disabled in [discrete].")
        return []
    if not dsc.columns:
        logger.warning("categorical models skipped: [discrete] columns is empty.")
        return []
    tp = type_panel(full, regional, years=cfg.data.years(), columns=dsc.columns, window=dsc.window,
                    k=dsc.k, rel_tol=dsc.rel_tol, abs_tol=dsc.abs_tol, skip=skip)
    fitted = []
    for kind in dsc.models:
        params = {"target": "type", "features": list(dsc.columns), "lag": dsc.lag,
                  "cov_type": dsc.cov_type, "missing": "drop"}
        if dsc.order:
            params["order"] = tuple(dsc.order)
        try:
            fitted.append(make_model(kind, **params).fit(tp))
        except PanelContractError as err:
            logger.warning("trend type / %s skipped: %s", kind, err)
            skipped.append({"target": "type", "model": kind, "cov": dsc.cov_type,
                            "reason": str(err)})
    return fitted


def _saved_models(fitted: dict[tuple, Any], cfg: RegressStudyConfig, target: str, data_meta: dict) -> dict[str, SavedModel]:
    main_cov = cfg.covariance.types[0]
    return {f"{target}/{name}": SavedModel(est, {
        "config_sha256": cfg.sha256, "data": {"path": data_meta["path"], "sha256": data_meta["sha256"]},
        "n_rows": int(est.result_.nobs), "n_regions": len(est.regions_), "n_years": len(est.years_),
        "intervals": False}) for (name, cov), est in fitted.items() if cov == main_cov}


def _hausman(cfg: RegressStudyConfig, panel: pd.DataFrame, target: str,
             skipped: list[dict[str, str]]) -> pd.DataFrame:
    h, f = cfg.hausman, cfg.features
    try:
        res = hausman(panel, target, f.columns, lag=f.lag, method=h.method,
                      time_effects=h.time_effects, sigma=h.sigma, missing=f.missing)
    except PanelContractError as err:
        logger.warning("%s / hausman skipped: %s", target, err)
        skipped.append({"target": target, "model": "hausman", "cov": h.method,
                        "reason": str(err)})
        return pd.DataFrame()
    return res.to_frame().assign(target=target)


def _run_target(cfg: RegressStudyConfig, full: pd.DataFrame, target: str, t_i: int, data_meta: dict,
                skipped: list[dict[str, str]]) -> dict | None:
    """All continuous-outcome pieces for one target, or None when it cannot be estimated."""
    panel = regional_sample(full, target, cfg.data.years())
    if panel[target].notna().groupby(panel["year"]).any().sum() < 3:
        logger.warning("outcome %r skipped: observed in fewer than 3 study years.", target)
        skipped.append({"target": target, "model": "*", "cov": "*",
                        "reason": "observed in fewer than 3 study years"})
        return None
    fitted = fit_continuous(cfg, panel, target, skipped)
    if not fitted:
        return None
    tables, sheets = {}, {}
    for cov in cfg.covariance.types:
        results = [est.result_ for (_, c), est in fitted.items() if c == cov]
        if results:
            tables[f"{target} | {cov}"] = side_by_side(results)
            sheets[f"{target} | {cov}"] = cov if t_i == 0 else f"y{t_i + 1} {cov}"
    return {"models": _saved_models(fitted, cfg, target, data_meta), "tidy": _tidy(fitted, target, cfg.plot.level), "tables": tables,
            "sheets": sheets, "hausman": _hausman(cfg, panel, target, skipped),
            "bootstrap": _bootstrap(cfg, fitted, target), "entry": _entry(cfg, fitted, panel, target, skipped)}


def _discrete_frames(logits: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not logits:
        return (pd.DataFrame(columns=["model", "feature", "type", "ame", "std_error"]),
                pd.DataFrame(columns=["observed", "predicted", "count", "model"]))
    me = pd.concat([m.result_.tidy_marginal_effects() for m in logits], ignore_index=True)
    conf = pd.concat([m.result_.confusion.stack().rename("count").reset_index()
                      .assign(model=m._estimator) for m in logits], ignore_index=True)
    return me, conf


def regress(config: RegressStudyConfig, data: DataArg = None, *, progress: Progress | None = None) -> StudyResult:
    """Estimate the factors-of-migration panel models of a study config.

    Parameters
    ----------
    config : RegressStudyConfig
        Validated config (:mod:`kzmig.config`), e.g. ``experiments/migration_factors.toml``.
    data : None, path or DataFrame
        The shipped dataset (None), a user file, or a long table.
    progress : callable, optional
        ``progress(step, done, total)``, once per outcome and once for the logits.

    Raises
    ------
    PanelContractError
        An outcome or feature column the data and builders do not produce (listing the
        available ones), before anything is fitted.
    StudyError
        No outcome can be estimated (each reason listed).
    """
    from kzmig.config.checks import check_columns

    progress = progress or no_progress
    cfg = config
    d, f, dsc = cfg.data, cfg.features, cfg.discrete
    source = open_data(data)
    long = source.long(d.view, d.borders)
    full, skip = factor_panel(long, builders=f.builders, targets=cfg.outcomes.targets,
                              columns=[], drop_breaks=d.breaks == "drop")
    check_columns(f.columns, full.columns, key="features.columns", source=cfg.path)
    if dsc.enabled:
        check_columns(dsc.columns, full.columns, key="discrete.columns", source=cfg.path)
    data_meta = source.meta()
    skipped: list[dict[str, str]] = []
    targets = cfg.outcomes.targets
    total = len(targets) + 1
    parts = []
    for i, t in enumerate(targets):
        progress(f"regress: {t}", i, total)
        if (p := _run_target(cfg, full, t, i, data_meta, skipped)) is not None:
            parts.append(p)
    if not parts:
        raise StudyError(f"{cfg.path}: no outcome could be estimated: "
                         + "; ".join(f"{s['target']}/{s['model']}: {s['reason']}" for s in skipped))
    tables = {k: v for p in parts for k, v in p["tables"].items()}
    sheets = {k: v for p in parts for k, v in p["sheets"].items()}
    progress("regress: trend-type logits", len(targets), total)
    logits = _discrete(cfg, full, full.loc[full["region"] != NATIONAL].reset_index(drop=True), skipped, skip)
    if logits:
        tables["trend type | logit"] = side_by_side([m.result_ for m in logits])
        sheets["trend type | logit"] = "trend type logit"
    me, conf = _discrete_frames(logits)
    tidy = pd.concat([p["tidy"] for p in parts], ignore_index=True)
    index = pd.DataFrame({"table": list(tables)}, index=[sheets[k] for k in tables])
    workbook = {"contents": index, **{sheets[k]: t for k, t in tables.items()}}
    main = tidy.loc[(tidy["requested_cov"] == tidy["requested_cov"].iloc[0])
                    & (tidy["target"] == tidy["target"].iloc[0])]
    level = cfg.plot.level
    out_tables = {
        "coefficients": tidy,
        "hausman": pd.concat([p["hausman"] for p in parts], ignore_index=True),
        "wild_bootstrap": pd.concat([p["bootstrap"] for p in parts], ignore_index=True),
        "marginal_effects": me, "confusion": conf,
        **({"entry": pd.concat([p["entry"] for p in parts], ignore_index=True)} if f.compare_without else {}),
        "skipped": pd.DataFrame(skipped, columns=["target", "model", "cov", "reason"]),
        "terciles": tercile_table(full, years=d.years(), factors=[*f.columns, *dsc.columns], k=dsc.k,
                                  rel_tol=dsc.rel_tol, abs_tol=dsc.abs_tol, skip=skip),
    }
    progress("regress: done", total, total)
    logger.info("regress: %d coefficient rows, %d tables, %d skipped", len(tidy), len(tables), len(skipped))
    return StudyResult(
        study="regress", name=cfg.name, tables=out_tables,
        figures={"coefficients": chart("coefficients", main, level)},
        texts={"models.txt": "\n\n".join(to_text(t, title=k) for k, t in tables.items()) + "\n"},
        documents={"models.xlsx": Document("regression_workbook", (workbook,))},
        models={k: v for p in parts for k, v in p["models"].items()},
        warnings=tuple(f"{s['target']} / {s['model']} / {s['cov']}: {s['reason']}" for s in skipped),
        metadata={"config": config_meta(cfg), "data": data_meta,
                  "seeds": {"bootstrap": cfg.bootstrap.seed}},
    )
