"""Departures (or arrivals) of specialists by specialty and education level, to a horizon year.

There is no annual series of emigrants by specialty or education in the shipped data, only
single (partial) years (``features.composition``), so METHOD.md section 9 forecasts them as

.. math:: \\hat X_{c,t} = \\hat T_t \\times S_c,

the forecast total external flow :math:`\\hat T_t` (any forecaster's long table, with its
intervals) times the share :math:`S_c` of group ``c`` observed in the years that exist, with
both uncertainties combined by Monte Carlo (:mod:`forecast.shares`: logit-normal share whose
spread comes from the observed years, floored, and widened where only one year exists).
Every such row has ``method = "composition"``, ``share_years`` and a ``caveat``.

A user's annual series by specialty or education (e.g. downloaded from Taldau, variables such
as ``external_departures_specialty_medical``) replaces the assumption:
:func:`specialist_forecast` forecasts every group whose series is long enough
(:mod:`forecast.readiness`) directly with the backtest/forecast engine (``method = "direct"``)
and falls back to the composition for the others, whose user years then join the observed shares.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.errors import ConfigError, DataError
from kzmig.core.options import check_option
from kzmig.features.assessment.composition import DIMENSIONS, PREFER, observed_shares
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.backtest import backtest
from kzmig.forecast.engine.evaluate import score
from kzmig.forecast.engine.readiness import backtest_origins, default_models, required_years, series_readiness
from kzmig.forecast.planning.shares import DEFAULT_SEED, FLOOR_SD, N_DRAWS, SINGLE_YEAR_SD, product_forecast, share_distribution
from kzmig.models.forecasters.forecast_base import DEFAULT_LEVELS, BaseForecaster
from kzmig.models.forecasters.schema import coerce_forecast, validate_forecast

logger = logging.getLogger(__name__)

DIRECTIONS = ("departures", "arrivals")
OUTPUT_COLUMNS = ("target", "model", "region", "origin_year", "year", "point", "lower", "upper", "level", "method",
                  "share", "share_sd_logit", "n_share_years", "share_years", "share_flags", "caveat")


def target_name(direction: str, dimension: str, category: str) -> str:
    """Annual variable of a group: ``external_departures_specialty_medical``,
    ``external_departures_education_higher``, ``external_departures_qualified_specialists``."""
    if dimension == "qualified":
        return f"external_{direction}_qualified_specialists"
    return f"external_{direction}_{dimension}_{category}"


def _caveat(direction: str, row) -> str:
    partial = " (a partial-year share stands for its year)" if any(
        m in row.share_years for m in ("Jan-", "Q1")) else ""
    secondary = "; SECONDARY press figures among them (flag secondary:press)" if "secondary:press" in row.share_flags else ""
    return (f"composition-based estimate: forecast external {direction} x share observed in {row.share_years}"
            f"{partial}{secondary}; share logit-normal, sd {row.share_sd_logit:.3f} on the logit scale "
            f"({row.sd_rule}); not a forecast of an observed series")


def composition_forecast(forecast: pd.DataFrame, long: pd.DataFrame, *, direction: str = "departures",
                         dimension: str = "specialty", prefer: str = "longest", floor_sd: float | str = FLOOR_SD,
                         single_year_sd: float | str = SINGLE_YEAR_SD, levels=None, n_draws: int = N_DRAWS,
                         seed: int = DEFAULT_SEED, categories=None) -> pd.DataFrame:
    """Forecast total external flow x observed composition share, per group.

    Parameters
    ----------
    forecast : DataFrame
        Long forecast table of national ``external_departures`` (or arrivals): ``model,
        region, origin_year, year, point, lower, upper, level``, levels stacked.
    long : DataFrame
        Long table with the composition figures and the totals they are shares of (the shipped
        one, optionally with a user's rows appended).
    direction : {"departures", "arrivals"}
    dimension : {"specialty", "education", "qualified"}
    prefer : {"longest", "all"}
        Which period of a calendar year is its observation (:func:`features.composition.observed_shares`).
    floor_sd, single_year_sd : float or str
        Share spread rule (:func:`forecast.shares.share_distribution`): default floor 0.15 on the
        logit scale; a single year gets the widest multi-year spread of the same table, at least 0.30.
    levels : iterable of float, optional
        Default: the levels of ``forecast``.
    n_draws, seed : int
        Monte Carlo draws and the generator's seed (explicit: same seed, same numbers).
    categories : iterable of str, optional
        Restrict to these groups.

    Returns
    -------
    DataFrame
        :data:`OUTPUT_COLUMNS`: ``target`` (the group's annual variable name), the forecast
        columns (``region`` = the total's region), ``method = "composition"``, the share's
        mean, logit spread, years and flags, and ``caveat``.

    Raises
    ------
    ValueError
        Unknown direction, dimension or prefer; no observed share for the groups asked.
    """
    check_option("direction", direction, DIRECTIONS, owner="composition_forecast")
    check_option("dimension", dimension, tuple(DIMENSIONS), owner="composition_forecast")
    check_option("prefer", prefer, PREFER, owner="composition_forecast")
    shares = observed_shares(long, direction=direction, dimension=dimension, prefer=prefer)
    if categories is not None:
        shares = shares.loc[shares["category"].isin(list(categories))]
    if shares.empty:
        raise DataError(f"composition_forecast: no observed share of {dimension} groups in external {direction}"
                         + (f" for {sorted(categories)}" if categories is not None else "") + "; nothing to forecast.")
    dist = share_distribution(shares, key="category", floor_sd=floor_sd, single_year_sd=single_year_sd)
    out = product_forecast(forecast, dist, key="category", levels=levels, n_draws=n_draws, seed=seed)
    out["target"] = [target_name(direction, dimension, c) for c in out["category"]]
    out["caveat"] = [_caveat(direction, r) for r in out.itertuples(index=False)]
    out = out.rename(columns={"total_region": "region"}).assign(method="composition")
    logger.info("composition_forecast: %d groups x %d forecast rows (%s, %s).", len(dist),
                out[["model", "origin_year", "year"]].drop_duplicates().shape[0], direction, dimension)
    return out[list(OUTPUT_COLUMNS)].reset_index(drop=True)


def _user_rows(user: pd.DataFrame) -> pd.DataFrame:
    """The national rows of a user's long table (``region, year, variable, value``), validated."""
    user = validate_panel(user.reset_index(drop=True), source="user table of specialist flows")
    u = user.loc[(user["region"] == NATIONAL) & user["value"].notna()]
    return u[["region", "year", "variable", "value"]].reset_index(drop=True)


def _direct(series: pd.DataFrame, models: Mapping[str, BaseForecaster], until: int, levels, n_origins: int,
            horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest every model on one annual series, then forecast to ``until``; the lowest mean
    MASE (MAE where MASE is undefined) marks the ``selected`` model."""
    var = str(series["variable"].iloc[0])
    s = pd.DataFrame({"region": pd.array([var] * len(series), dtype="string"), "year": series["year"].astype("int64"),
                      "y": series["value"].astype("float64")}).sort_values("year").reset_index(drop=True)
    last = int(s["year"].max())
    preds = backtest(s, models, origins=backtest_origins(last, n_origins=n_origins, horizon=horizon),
                     horizon=horizon, levels=levels)
    acc = score(preds, by=("model",), levels=levels)
    rank = acc.assign(_k=acc["mase"].fillna(acc["mae"])).sort_values(["_k", "model"], kind="mergesort")
    best = str(rank["model"].iloc[0])
    frames = []
    for name, est in models.items():
        fc = clone(est).fit(s).predict(max(until - last, 1), levels).assign(model=name)
        frames.append(fc)
    fc = coerce_forecast(pd.concat(frames, ignore_index=True))
    fc = fc.assign(target=var, region=NATIONAL, method="direct", selected=fc["model"] == best,
                   caveat=f"direct forecast of the annual series {var} ({len(s)} years, {int(s['year'].min())}-{last}); "
                          f"selected by backtest MASE over {n_origins} origins: {best}")
    return fc, acc.assign(target=var)


def specialist_forecast(forecast: pd.DataFrame, long: pd.DataFrame, user: pd.DataFrame | None = None, *,
                        direction: str = "departures", dimension: str = "specialty",
                        models: Mapping[str, BaseForecaster] | None = None, min_years: int | None = None,
                        n_origins: int = 3, horizon: int = 1, levels=None, **composition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Direct forecasts for the groups with a long enough annual series, composition for the others.

    Parameters
    ----------
    forecast : DataFrame
        Long forecast table of the national total (as for :func:`composition_forecast`); its
        last year is the horizon of the direct forecasts too.
    long : DataFrame
        The shipped long table (composition figures and totals).
    user : DataFrame, optional
        A user's long table (``region, year, variable, value``; national rows) with annual
        series named :func:`target_name` (``external_departures_specialty_medical`` ...). Its
        rows override shipped rows of the same variable and year.
    models : mapping of str to forecaster, optional
        Default :func:`forecast.readiness.default_models` (naive, drift, theta).
    min_years : int, optional
        Consecutive years a series needs to be forecast directly; default from ``models``,
        ``n_origins`` and ``horizon`` (:func:`forecast.readiness.required_years`).
    n_origins, horizon : int
        Backtest of the direct series.
    levels : iterable of float, optional
        Default: the levels of ``forecast``.
    **composition
        Passed to :func:`composition_forecast` (``prefer``, ``floor_sd``, ``single_year_sd``,
        ``n_draws``, ``seed``).

    Returns
    -------
    forecasts : DataFrame
        :data:`OUTPUT_COLUMNS` plus ``selected`` (direct: the model with the best backtest;
        composition: carried from ``forecast`` where it has the column, else True).
    report : DataFrame
        One row per group: ``target``, ``category``, ``method``, the readiness columns of the
        user's series (``n_years`` 0 where it gave none), ``reason`` and, for direct groups,
        ``selected_model`` and its backtest ``mase``.
    """
    check_option("direction", direction, DIRECTIONS, owner="specialist_forecast")
    check_option("dimension", dimension, tuple(DIMENSIONS), owner="specialist_forecast")
    validate_forecast(forecast, source="specialist_forecast: forecast of the total")
    models = default_models() if models is None else dict(models)
    levels = tuple(sorted(forecast["level"].dropna().unique())) if levels is None else tuple(levels)
    direct_levels = levels or DEFAULT_LEVELS  # a total without intervals still gets model intervals
    targets = {target_name(direction, dimension, c): c for c in DIMENSIONS[dimension]}
    user_rows = _user_rows(user) if user is not None else pd.DataFrame(columns=["region", "year", "variable", "value"])
    ready = series_readiness(user_rows, models=models, n_origins=n_origins, horizon=horizon, variables=list(targets))
    need = required_years(models, n_origins=n_origins, horizon=horizon)[0]
    if min_years is not None:
        if min_years < need:
            raise ConfigError(f"min_years={min_years} is below the {need} consecutive years the backtest of these "
                             f"models needs (n_origins={n_origins}, horizon={horizon}); give at least {need}.")
        need = int(min_years)
        ready["required"] = need
        ready["long_enough"] = ready["run_years"] >= need
        ready["reason"] = [f"{'ok' if ok else 'too short'}: {n} consecutive years {a}-{b}, min_years={need}"
                           for ok, n, a, b in zip(ready["long_enough"], ready["run_years"], ready["run_start"],
                                                  ready["last_year"])]
    until = int(forecast["year"].max())
    frames, report = [], []
    for row in ready.itertuples(index=False):
        if not row.long_enough:
            continue
        run = user_rows.loc[(user_rows["variable"] == row.variable) & (user_rows["year"] >= row.run_start)]
        fc, acc = _direct(run, models, until, direct_levels, n_origins, horizon)
        frames.append(fc)
        best = fc.loc[fc["selected"], "model"].iloc[0]
        report.append({"target": row.variable, "category": targets[row.variable], "method": "direct",
                       **{k: getattr(row, k) for k in ("n_years", "first_year", "last_year", "run_years", "required")},
                       "reason": row.reason, "selected_model": best,
                       "mase": float(acc.set_index("model").loc[best, "mase"])})
    direct = {r["category"] for r in report}
    rest = [c for c in DIMENSIONS[dimension] if c not in direct]
    if rest:
        merged = long
        if len(user_rows):  # user rows join the shipped figures and override them year by year
            key = set(zip(user_rows["variable"], user_rows["year"]))
            keep = [(v, y) not in key or r != NATIONAL for v, y, r in zip(long["variable"], long["year"], long["region"])]
            merged = pd.concat([long.loc[keep], user_rows.assign(flag="user")], ignore_index=True)
            merged["region"] = merged["region"].astype("string")
        have = set(observed_shares(merged, direction=direction, dimension=dimension)["category"])
        comp = composition_forecast(forecast, merged, direction=direction, dimension=dimension, levels=levels,
                                    categories=[c for c in rest if c in have], **composition) if have & set(rest) else None
        if comp is not None:
            sel = forecast.drop_duplicates(["model", "region", "origin_year", "year"]).set_index(
                ["model", "region", "origin_year", "year"])["selected"] if "selected" in forecast else None
            comp["selected"] = True if sel is None else sel.reindex(
                pd.MultiIndex.from_frame(comp[["model", "region", "origin_year", "year"]])).fillna(False).to_numpy(bool)
            frames.append(comp)
        info = ready.set_index("variable")  # one national series per variable
        for c in rest:
            t = target_name(direction, dimension, c)
            got = info.loc[t] if t in info.index else None
            report.append({"target": t, "category": c, "method": "composition" if c in have else "none",
                           "n_years": int(got["n_years"]) if got is not None else 0,
                           "first_year": got["first_year"] if got is not None else np.nan,
                           "last_year": got["last_year"] if got is not None else np.nan,
                           "run_years": int(got["run_years"]) if got is not None else 0,
                           "required": need,
                           "reason": (got["reason"] if got is not None else "no annual series supplied")
                           + ("" if c in have else "; no observed share either: not forecast"),
                           "selected_model": "", "mase": np.nan})
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*OUTPUT_COLUMNS, "selected"])
    out = out.reindex(columns=[*OUTPUT_COLUMNS, "selected"])
    return out.reset_index(drop=True), pd.DataFrame(report)
