"""``kzmig regress CONFIG --out DIR``: the panel econometrics of migration (METHOD.md section 4).

Reads a study TOML (``experiments/migration_factors.toml``), estimates every configured
panel model with every covariance, the Hausman comparison, wild cluster bootstrap
inference and the trend-type logits, and writes into ``DIR``:

``coefficients.csv`` (tidy, all models, with standardised coefficients and elasticities),
``models.txt`` and ``models.xlsx`` (side-by-side tables), ``hausman.csv``,
``wild_bootstrap.csv``, ``marginal_effects.csv``, ``confusion.csv``, ``skipped.csv``
(models the data could not support, with the reason), ``terciles.csv`` (each feature's
tercile against the period's trend type, as the source paper shows), ``coefficients.png``
and ``models/<target>/<model>/`` (saved estimators with metadata). Each file is written
to a temporary name and renamed into place.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from kzmig.core.errors import PanelContractError
from kzmig.features.regions import NATIONAL
from kzmig.commands.regress_config import RegressConfig, load_config
from kzmig.commands.regress_data import (
    regional_sample,
    study_panel,
    tercile_table,
    type_panel,
)
from kzmig.models.bootstrap import SUPPORTED as BOOT_KINDS
from kzmig.models.bootstrap import wild_cluster_bootstrap
from kzmig.models.hausman import hausman
from kzmig.core.atomic import atomic_write
from kzmig.models.persistence import save_model, sha256_file
from kzmig.models.registry import make_model
from kzmig.models.tables import side_by_side, to_text, to_xlsx, write_text

logger = logging.getLogger(__name__)

#: What a covariance request becomes for the between estimator (one row per region).
BETWEEN_COV = {"clustered": "robust", "driscoll-kraay": "robust"}


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def _model_params(cfg: RegressConfig, spec: Any, target: str, cov: str) -> dict[str, Any]:
    f, c = cfg.sections["features"], cfg.sections["covariance"]
    params = {"target": target, "features": list(f["columns"]), "lag": f["lag"],
              "missing": f["missing"], **spec.params}
    if spec.kind == "between":
        params["cov_type"] = BETWEEN_COV.get(cov, cov)
    else:
        params.update(cov_type=cov, kernel=c["kernel"], bandwidth=c["bandwidth"])
    return params


def fit_continuous(cfg: RegressConfig, panel: pd.DataFrame, target: str,
                   skipped: list[dict[str, str]]) -> dict[tuple, Any]:
    """Fit every model x covariance for one target; returns {(model name, cov): estimator}.

    A model whose data cannot support it (too few regions, absorbed features ...) is
    left out with the reason logged and appended to ``skipped``; the others go on.
    """
    fitted = {}
    for spec in cfg.models:
        for cov in cfg.sections["covariance"]["types"]:
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


def _bootstrap(cfg: RegressConfig, fitted: dict[tuple, Any], target: str) -> pd.DataFrame:
    b = cfg.sections["bootstrap"]
    main_cov = cfg.sections["covariance"]["types"][0]
    out = []
    for name in b["models"]:
        est = fitted.get((name, main_cov))
        if est is None:
            logger.warning("bootstrap: model %r was not estimated; see skipped.csv.", name)
            continue
        if est._estimator not in BOOT_KINDS:
            logger.warning("bootstrap: model %r (%s) skipped; supported kinds: %s.", name,
                           est._estimator, list(BOOT_KINDS))
            continue
        terms = [t for t in b["terms"]] or None
        res = wild_cluster_bootstrap(est, terms, B=b["B"], weights=b["weights"],
                                     level=b["level"], seed=b["seed"])
        analytic = est.result_.pvalues
        out.append(res.assign(model=name, target=target,
                              p_value_clustered=res["term"].map(analytic)))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["model", "term", "estimate", "t_stat", "p_value", "conf_low", "conf_high"])


def _discrete(cfg: RegressConfig, full: pd.DataFrame, regional: pd.DataFrame,
              skipped: list[dict[str, str]], skip: pd.DataFrame | None = None) -> list[Any]:
    dsc = cfg.sections["discrete"]
    if not dsc["enabled"]:
        logger.info("categorical models disabled in [discrete].")
        return []
    if not dsc["columns"]:
        logger.warning("categorical models skipped: [discrete] columns is empty.")
        return []
    tp = type_panel(full, regional, cfg.sections, skip)
    fitted = []
    for kind in dsc["models"]:
        params = {"target": "type", "features": list(dsc["columns"]), "lag": dsc["lag"],
                  "cov_type": dsc["cov_type"], "missing": "drop"}
        if dsc["order"]:
            params["order"] = tuple(dsc["order"])
        try:
            fitted.append(make_model(kind, **params).fit(tp))
        except PanelContractError as err:
            logger.warning("trend type / %s skipped: %s", kind, err)
            skipped.append({"target": "type", "model": kind, "cov": dsc["cov_type"],
                            "reason": str(err)})
    return fitted


def _plot(tidy: pd.DataFrame, path: Path, level: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    terms = [t for t in dict.fromkeys(tidy["term"]) if t != "const"]
    models = list(dict.fromkeys(tidy["model"]))
    fig, axes = plt.subplots(len(terms), 1, figsize=(7, 1.2 + 0.45 * len(models) * len(terms)),
                             squeeze=False)
    for ax, term in zip(axes[:, 0], terms, strict=True):
        sub = tidy.loc[tidy["term"] == term].set_index("model").reindex(models)
        ypos = range(len(models))
        ax.errorbar(sub["estimate"], ypos, xerr=[sub["estimate"] - sub["conf_low"],
                                                 sub["conf_high"] - sub["estimate"]],
                    fmt="o", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(list(ypos), models)
        ax.set_title(term, fontsize=9, loc="left")
    used = tidy.groupby("model", sort=False)["cov_type"].first()
    cov = tidy["requested_cov"].iloc[0]
    other = ", ".join(f"{m}: {c}" for m, c in used.items() if c != cov)
    fig.suptitle(f"Coefficients with {level:.0%} intervals ({tidy['target'].iloc[0]}, "
                 f"{cov} SE{'; ' + other if other else ''})", fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)


def _save_models(fitted: dict[tuple, Any], cfg: RegressConfig, out: Path, target: str,
                 data_sha: str | None, data_path: str) -> None:
    main_cov = cfg.sections["covariance"]["types"][0]
    for (name, cov), est in fitted.items():
        if cov != main_cov:
            continue
        save_model(est, out / "models" / target / name, {
            "run_id": out.name, "config_sha256": cfg.sha256, "config_path": str(cfg.path),
            "data": {"path": data_path, "sha256": data_sha},
            "n_rows": int(est.result_.nobs), "n_regions": len(est.regions_),
            "n_years": len(est.years_), "intervals": False})


def _hausman(cfg: RegressConfig, panel: pd.DataFrame, target: str,
             skipped: list[dict[str, str]]) -> pd.DataFrame:
    h, f = cfg.sections["hausman"], cfg.sections["features"]
    try:
        res = hausman(panel, target, f["columns"], lag=f["lag"], method=h["method"],
                      time_effects=h["time_effects"], sigma=h["sigma"], missing=f["missing"])
    except PanelContractError as err:
        logger.warning("%s / hausman skipped: %s", target, err)
        skipped.append({"target": target, "model": "hausman", "cov": h["method"],
                        "reason": str(err)})
        return pd.DataFrame()
    return res.to_frame().assign(target=target)


def _run_target(cfg: RegressConfig, full: pd.DataFrame, target: str, t_i: int, out: Path,
                data_info: tuple[str, str | None], skipped: list[dict[str, str]]) -> dict | None:
    """All continuous-outcome pieces for one target, or None when it cannot be estimated."""
    panel = regional_sample(full, target, cfg.sections["data"]["years"])
    if panel[target].notna().groupby(panel["year"]).any().sum() < 3:
        logger.warning("outcome %r skipped: observed in fewer than 3 study years.", target)
        skipped.append({"target": target, "model": "*", "cov": "*",
                        "reason": "observed in fewer than 3 study years"})
        return None
    fitted = fit_continuous(cfg, panel, target, skipped)
    if not fitted:
        return None
    tables, sheets = {}, {}
    for cov in cfg.sections["covariance"]["types"]:
        results = [est.result_ for (_, c), est in fitted.items() if c == cov]
        if results:
            tables[f"{target} | {cov}"] = side_by_side(results)
            sheets[f"{target} | {cov}"] = cov if t_i == 0 else f"y{t_i + 1} {cov}"
    _save_models(fitted, cfg, out, target, data_info[1], data_info[0])
    return {"tidy": _tidy(fitted, target, cfg.sections["plot"]["level"]), "tables": tables,
            "sheets": sheets, "hausman": _hausman(cfg, panel, target, skipped),
            "bootstrap": _bootstrap(cfg, fitted, target)}


def _discrete_frames(logits: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not logits:
        return (pd.DataFrame(columns=["model", "feature", "type", "ame", "std_error"]),
                pd.DataFrame(columns=["observed", "predicted", "count", "model"]))
    me = pd.concat([m.result_.tidy_marginal_effects() for m in logits], ignore_index=True)
    conf = pd.concat([m.result_.confusion.stack().rename("count").reset_index()
                      .assign(model=m._estimator) for m in logits], ignore_index=True)
    return me, conf


def regress(
    config: Annotated[Path, typer.Argument(help="Study TOML, e.g. experiments/migration_factors.toml.")],
    out: Annotated[Path, typer.Option(help="Output folder (files replaced atomically).")] = Path(
        "out/regress"),
    data: Annotated[Path | None, typer.Option(
        help="User observations file instead of the shipped dataset.")] = None,
) -> None:
    """Estimate the factors-of-migration panel models of a study config.

    Writes coefficients.csv, models.txt, models.xlsx, hausman.csv, wild_bootstrap.csv,
    marginal_effects.csv, confusion.csv, terciles.csv, skipped.csv, coefficients.png and
    the fitted models (models/<target>/<name>/) into OUT.
    """
    from kzmig.features.dataset import OBSERVATIONS

    cfg = load_config(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    full, skip = study_panel(cfg.sections, data)
    data_path = Path(data) if data is not None else OBSERVATIONS
    data_info = (str(data_path), sha256_file(data_path) if data_path.is_file() else None)
    skipped: list[dict[str, str]] = []
    parts = [p for i, t in enumerate(cfg.sections["outcomes"]["targets"])
             if (p := _run_target(cfg, full, t, i, out, data_info, skipped)) is not None]
    if not parts:
        raise PanelContractError(f"{cfg.path}: no outcome could be estimated: {skipped}")
    tables = {k: v for p in parts for k, v in p["tables"].items()}
    sheets = {k: v for p in parts for k, v in p["sheets"].items()}
    logits = _discrete(cfg, full, full.loc[full["region"] != NATIONAL].reset_index(drop=True),
                       skipped, skip)
    if logits:
        tables["trend type | logit"] = side_by_side([m.result_ for m in logits])
        sheets["trend type | logit"] = "trend type logit"
    me, conf = _discrete_frames(logits)
    tidy = pd.concat([p["tidy"] for p in parts], ignore_index=True)
    _write_csv(tidy, out / "coefficients.csv")
    write_text("\n\n".join(to_text(t, title=k) for k, t in tables.items()), out / "kzmig.models.txt")
    index = pd.DataFrame({"table": list(tables)}, index=[sheets[k] for k in tables])
    to_xlsx({"contents": index, **{sheets[k]: t for k, t in tables.items()}},
            out / "kzmig.models.xlsx")
    _write_csv(pd.concat([p["hausman"] for p in parts], ignore_index=True), out / "hausman.csv")
    _write_csv(pd.concat([p["bootstrap"] for p in parts], ignore_index=True),
               out / "wild_bootstrap.csv")
    _write_csv(me, out / "marginal_effects.csv")
    _write_csv(conf, out / "confusion.csv")
    _write_csv(pd.DataFrame(skipped, columns=["target", "model", "cov", "reason"]),
               out / "skipped.csv")
    _write_csv(tercile_table(full, cfg.sections, skip), out / "terciles.csv")
    main = tidy.loc[(tidy["requested_cov"] == tidy["requested_cov"].iloc[0])
                    & (tidy["target"] == tidy["target"].iloc[0])]
    _plot(main, out / "coefficients.png", cfg.sections["plot"]["level"])
    logger.info("regress: %d coefficient rows, %d tables, %d skipped, written to %s",
                len(tidy), len(tables), len(skipped), out)
