"""``kzmig regress CONFIG --out DIR``: the panel econometrics of migration (METHOD.md section 4).

Reads a study TOML (``experiments/migration_factors.toml``), estimates every configured
panel model with every covariance, the Hausman comparison, wild cluster bootstrap
inference and the trend-type logits, and writes into ``DIR``:

``coefficients.csv`` (tidy, all models, with standardised coefficients and elasticities),
``models.txt`` and ``models.xlsx`` (side-by-side tables), ``hausman.csv``,
``wild_bootstrap.csv``, ``marginal_effects.csv``, ``confusion.csv``, ``coefficients.png``
and ``models/<target>/<model>/`` (saved estimators with metadata). Each file is written
to a temporary name and renamed into place.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from kzmig.commands.regress_config import RegressConfig, load_config
from kzmig.commands.regress_data import regional_sample, study_panel, type_panel
from models.bootstrap import SUPPORTED as BOOT_KINDS
from models.bootstrap import wild_cluster_bootstrap
from models.hausman import hausman
from models.persistence import atomic_write, save_model, sha256_file
from models.registry import make_model
from models.tables import side_by_side, to_text, to_xlsx, write_text

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


def fit_continuous(cfg: RegressConfig, panel: pd.DataFrame, target: str) -> dict[tuple, Any]:
    """Fit every model x covariance for one target; returns {(model name, cov): estimator}."""
    fitted = {}
    for spec in cfg.models:
        for cov in cfg.sections["covariance"]["types"]:
            est = make_model(spec.kind, **_model_params(cfg, spec, target, cov))
            fitted[(spec.name, cov)] = est.fit(panel)
            object.__setattr__(est.result_, "name", spec.name)
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
        est = fitted[(name, main_cov)]
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


def _discrete(cfg: RegressConfig, full: pd.DataFrame, regional: pd.DataFrame) -> list[Any]:
    dsc = cfg.sections["discrete"]
    if not dsc["enabled"]:
        logger.info("categorical models disabled in [discrete].")
        return []
    if not dsc["columns"]:
        logger.warning("categorical models skipped: [discrete] columns is empty.")
        return []
    tp = type_panel(full, regional, cfg.sections)
    if tp is None:
        return []
    fitted = []
    for kind in dsc["models"]:
        params = {"target": "type", "features": list(dsc["columns"]), "lag": dsc["lag"],
                  "cov_type": dsc["cov_type"], "missing": "drop"}
        if dsc["order"]:
            params["order"] = tuple(dsc["order"])
        fitted.append(make_model(kind, **params).fit(tp))
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
    fig.suptitle(f"Coefficients with {level:.0%} intervals ({tidy['target'].iloc[0]}, "
                 f"{tidy['cov_type'].iloc[0]} SE)", fontsize=10)
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


def regress(config: Path, out: Path = Path("out/regress"), data: Path | None = None) -> None:
    """Estimate the factors-of-migration models of a study config and write the tables.

    Parameters
    ----------
    config : Path
        Study TOML, e.g. ``experiments/migration_factors.toml``.
    out : Path, default ``out/regress``
        Output folder (created; files in it are replaced atomically).
    data : Path, optional
        A user observations file for :func:`features.dataset.load_panel`; the shipped
        dataset by default.
    """
    cfg = load_config(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    full = study_panel(cfg.sections, data)
    from features.dataset import OBSERVATIONS

    data_path = Path(data) if data is not None else OBSERVATIONS
    data_sha = sha256_file(data_path) if data_path.is_file() else None
    level = cfg.sections["plot"]["level"]
    main_cov = cfg.sections["covariance"]["types"][0]
    tidies, tables, sheets, hausmans, boots = [], {}, {}, [], []
    for t_i, target in enumerate(cfg.sections["outcomes"]["targets"]):
        panel = regional_sample(full, target, cfg.sections["data"]["years"])
        if panel[target].notna().groupby(panel["year"]).any().sum() < 3:
            logger.warning("outcome %r skipped: observed in fewer than 3 study years.", target)
            continue
        fitted = fit_continuous(cfg, panel, target)
        tidies.append(_tidy(fitted, target, level))
        for cov in cfg.sections["covariance"]["types"]:
            title = f"{target} | {cov}"
            tables[title] = side_by_side(
                [est.result_ for (n, c), est in fitted.items() if c == cov])
            sheets[title] = f"{cov}" if t_i == 0 else f"y{t_i + 1} {cov}"
        h = cfg.sections["hausman"]
        hausmans.append(hausman(panel, target, cfg.sections["features"]["columns"],
                                lag=cfg.sections["features"]["lag"], method=h["method"],
                                time_effects=h["time_effects"],
                                missing=cfg.sections["features"]["missing"]
                                ).to_frame().assign(target=target))
        boots.append(_bootstrap(cfg, fitted, target))
        _save_models(fitted, cfg, out, target, data_sha, str(data_path))
    if not tidies:
        raise ValueError(f"{cfg.path}: no outcome could be estimated; see the log.")
    tidy = pd.concat(tidies, ignore_index=True)
    regional = full.loc[full["region"] != "kazakhstan"].reset_index(drop=True)
    logits = _discrete(cfg, full, regional)
    if logits:
        tables["trend type | logit"] = side_by_side([m.result_ for m in logits])
        sheets["trend type | logit"] = "trend type logit"
    me = (pd.concat([m.result_.tidy_marginal_effects() for m in logits], ignore_index=True)
          if logits else pd.DataFrame(columns=["model", "feature", "type", "ame", "std_error"]))
    conf = (pd.concat([m.result_.confusion.stack().rename("count").reset_index()
                       .assign(model=m._estimator) for m in logits], ignore_index=True)
            if logits else pd.DataFrame(columns=["observed", "predicted", "count", "model"]))
    _write_csv(tidy, out / "coefficients.csv")
    write_text("\n\n".join(to_text(t, title=k) for k, t in tables.items()), out / "models.txt")
    index = pd.DataFrame({"table": list(tables)}, index=[sheets[k] for k in tables])
    to_xlsx({"contents": index, **{sheets[k]: t for k, t in tables.items()}},
            out / "models.xlsx")
    _write_csv(pd.concat(hausmans, ignore_index=True), out / "hausman.csv")
    _write_csv(pd.concat(boots, ignore_index=True), out / "wild_bootstrap.csv")
    _write_csv(me, out / "marginal_effects.csv")
    _write_csv(conf, out / "confusion.csv")
    main = tidy.loc[(tidy["requested_cov"] == main_cov)
                    & (tidy["target"] == tidy["target"].iloc[0])]
    _plot(main, out / "coefficients.png", level)
    logger.info("regress: wrote %d coefficient rows, %d tables to %s", len(tidy), len(tables),
                out)
