"""Scenarios through the estimated panel model, with uncertainty.

A planner's question ("money income 10 % higher in the northern regions from 2026") becomes
a forecast in four steps:

1. feature paths: :func:`forecast.shifts.baseline_feature_path` (features held at their last
   observed value) and :func:`apply_shifts` (the planner's shifts of it);
2. :func:`scenario_effect`: the change of the model's target (a rate per 1,000) implied by
   the estimated coefficients, with coefficient draws; :func:`effect_in_persons` turns it
   into persons with the (projected) average population;
3. :func:`scenario_forecast`: baseline forecast plus effect, intervals by Monte Carlo;
   :func:`reconcile_scenario` and :func:`scenario_population` carry it through the
   coherence constraints and the balancing equation;
4. :func:`scenario_table`: baseline and scenarios side by side.

The effect is a difference of two linear predictions, so region and year fixed effects
cancel. With year effects in the model, a shift common to all regions is not what the data
identify (a common shock is absorbed by the year effects); the effect then reads "as if each
region's feature moved by that much relative to the others".
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from kzmig.core.errors import ConfigError, DataError
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.engine.distribution import row_scales, z_value
from kzmig.forecast.planning.population import project_population
from kzmig.forecast.engine.reconcile import reconcile
from kzmig.forecast.planning.scenario_draws import coefficient_draws, effect_columns, level_tag
from kzmig.forecast.planning.shares import DEFAULT_SEED, N_DRAWS
from kzmig.forecast.planning.shifts import ScenarioError, apply_shifts, baseline_feature_path, feature_shift
from kzmig.models.panel.design import lag_name
from kzmig.models.forecasters.schema import FORECAST_COLUMNS, check_levels, coerce_forecast, validate_forecast

logger = logging.getLogger(__name__)

__all__ = ["ScenarioError", "apply_shifts", "average_population", "baseline_feature_path", "effect_in_persons",
           "level_tag", "reconcile_scenario", "scenario_effect", "scenario_forecast", "scenario_population",
           "scenario_table"]

_KEY = ["region", "year"]


def scenario_effect(model: Any, baseline_features: pd.DataFrame, shifted_features: pd.DataFrame, *,
                    years: Sequence[int], n_draws: int = N_DRAWS, seed: int = DEFAULT_SEED,
                    levels: Sequence[float] = (0.8, 0.95), draws: pd.DataFrame | None = None,
                    national: str = NATIONAL) -> pd.DataFrame:
    """Effect of a feature shift on the model's target, per region and year, with draws.

    Parameters
    ----------
    model : fitted panel estimator
        One of :mod:`models.panel` (``result_``, ``features``, ``lag``, ``target``); its
        coefficients are those of the lagged features, ``lag_name(feature, lag)``.
    baseline_features, shifted_features : DataFrame
        Wide feature paths with the same ``region`` (str), ``year`` (int64) rows and the
        model's features (float64), e.g. :func:`forecast.shifts.baseline_feature_path` and
        :func:`forecast.shifts.apply_shifts` of it. They must reach back to the first of
        ``years`` minus the lag.
    years : sequence of int
        Years of the target to report (the forecast years).
    n_draws : int, default 20,000
        Coefficient draws from the multivariate normal of the estimates.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same output.
    levels : sequence of float, default (0.8, 0.95)
        Central quantile intervals of the effect.
    draws : DataFrame, optional
        Coefficient draws to use instead (e.g. a wild bootstrap): one row per draw, one
        column per lagged feature term; ``n_draws`` and ``seed`` are then ignored.
    national : str, default "kazakhstan"
        Code of the national row, which gets no effect here (see :func:`scenario_forecast`).

    Returns
    -------
    DataFrame
        One row per region and year: ``region``, ``year``, ``feature_year`` (``year - lag``),
        ``target``, ``unit`` (the target's name: the effect is in its unit),
        ``shift_<feature>`` (shifted - baseline of each feature in ``feature_year``),
        ``effect_point``, ``effect_sd``, ``effect_lower_<lvl>``, ``effect_upper_<lvl>``
        (``<lvl>`` in percent, :func:`level_tag`) and ``draws`` (an array of the effect in
        every draw, draw ``j`` of every row from the same coefficient draw; drop the column
        before writing a file).

    Raises
    ------
    ScenarioError
        Paths that differ in rows or lack a model feature, a missing feature year, or a
        feature missing in one path only (naming region and year).

    Notes
    -----
    For a linear model :math:`y_{rt} = a_r + g_t + \\sum_k b_k x_{k,r,t-l} + e_{rt}`,

    .. math:: \\Delta y_{rt} = \\sum_k b_k \\,(\\tilde x_{k,r,t-l} - x_{k,r,t-l}),

    so a shift from year :math:`s` moves the target from :math:`s + l`. The point uses the
    estimates :math:`\\hat b`; draws :math:`b^{(j)} \\sim N(\\hat b, \\hat V)` with the
    estimated covariance (the model's ``cov_type``) give the effect draws and quantiles.
    """
    check_is_fitted(model, "result_")
    lag, features = int(model.lag), list(model.features)
    names = [lag_name(f, lag) for f in features]
    levels = check_levels(levels)
    years = sorted({int(y) for y in years})
    if not years:
        raise ScenarioError("scenario_effect: years is empty; give the forecast years.")
    delta = feature_shift(baseline_features, shifted_features, features)
    regions = sorted(r for r in delta["region"].astype(str).unique() if r != national)
    grid = pd.DataFrame([(r, y, y - lag) for r in regions for y in years], columns=["region", "year", "feature_year"])
    src = delta.rename(columns={"year": "feature_year"}).astype({"region": str})
    rows = grid.merge(src, on=["region", "feature_year"], how="left", indicator=True)
    gone = rows["_merge"] == "left_only"
    if gone.any():
        r = rows.loc[gone].iloc[0]
        raise ScenarioError(f"scenario_effect: no feature row for (region={r['region']!r}, "
                            f"year={int(r['feature_year'])}), "
                            f"which a lag-{lag} model needs for year {int(r['year'])}; extend the feature paths.")
    d = rows[features].to_numpy(dtype=float)
    _note_common_shift(model, rows, features)
    coef = model.result_.params[names].to_numpy(dtype=float)
    b = coefficient_draws(model, names, n_draws=n_draws, seed=seed, draws=draws)
    e = d @ b.T
    point = d @ coef
    out = rows[["region", "year", "feature_year"]].assign(target=model.target, unit=model.target)
    for f in features:
        out[f"shift_{f}"] = rows[f].to_numpy(dtype=float)
    out = pd.concat([out, effect_columns(point, e, levels)], axis=1)
    out["draws"] = list(e)
    logger.info("scenario_effect: %d regions x %d years, lag %d, %d draws; effect points from %.4g to %.4g.",
                len(regions), len(years), lag, b.shape[0], float(point.min()), float(point.max()))
    return out.astype({"region": "string", "year": "int64", "feature_year": "int64"})


def _note_common_shift(model: Any, rows: pd.DataFrame, features: Sequence[str]) -> None:
    """Log when a model with year effects gets a shift that is the same in every region."""
    if getattr(model, "effects", None) not in ("year", "both"):
        return
    spread = rows.groupby("feature_year")[list(features)].agg(lambda v: v.max() - v.min())
    size = rows.groupby("feature_year")[list(features)].agg(lambda v: v.abs().max())
    common = [f for f in features if ((spread[f] == 0) & (size[f] > 0)).any()]
    if common:
        logger.info("scenario_effect: %s shift(s) by the same amount in every region while the model has year "
                    "effects; the data identify only relative differences, so the effect assumes the within-year "
                    "relation holds for a common shift.", common)


def average_population(projection: pd.DataFrame) -> pd.DataFrame:
    """Average population of each flow year from :func:`forecast.population.project_population`.

    Returns ``region``, ``year`` (the flow year) and ``population_avg`` = (1 January of the
    year + 1 January of the next) / 2, the denominator of the rates per 1,000. The
    projection must hold one model and one origin.
    """
    keys = projection[["model", "origin_year"]].drop_duplicates()
    if len(keys) != 1:
        raise DataError(f"average_population: give the projection of one model and origin; found "
                         f"{keys.to_dict('records')}.")
    p = projection.drop_duplicates(["region", "flow_year"])
    return pd.DataFrame({"region": p["region"].astype("string").to_numpy(),
                         "year": p["flow_year"].astype("int64").to_numpy(),
                         "population_avg": ((p["population_start"] + p["point"]) / 2).to_numpy(dtype=float)})


def effect_in_persons(effect: pd.DataFrame, population: pd.DataFrame, *, per: float | None = None) -> pd.DataFrame:
    """Turn a rate effect into persons: ``effect * population_avg / per``.

    Parameters
    ----------
    effect : DataFrame
        :func:`scenario_effect` output (``unit`` the target's name).
    population : DataFrame
        ``region``, ``year``, ``population_avg`` (persons): observed, or the baseline's
        projection (:func:`average_population`).
    per : float, optional
        Rate base; default from the target's name (``*_per_1000`` -> 1000, ``*_per_10000``).

    Returns
    -------
    DataFrame
        ``effect`` with ``effect_*`` columns and ``draws`` in persons, ``unit`` = "persons"
        and a ``population_avg`` column.

    Notes
    -----
    The population is taken as known: its own error, and the scenario's feedback on it (the
    extra migrants enlarge the denominator), are second-order (the effect times the relative
    change of the population) and ignored.
    """
    if (effect["unit"] == "persons").any():
        raise DataError("effect_in_persons: the effect is already in persons.")
    if per is None:
        target = str(effect["target"].iloc[0])
        bases = {"_per_10000": 10000.0, "_per_1000": 1000.0}
        per = next((v for k, v in bases.items() if target.endswith(k)), None)
        if per is None:
            raise ConfigError(f"effect_in_persons: cannot tell the rate base of target {target!r}; pass per=1000.")
    pop = population[["region", "year", "population_avg"]].astype({"region": "string", "year": "int64"})
    out = effect.drop(columns=["population_avg"], errors="ignore")
    out = out.merge(pop, on=_KEY, how="left", validate="many_to_one")
    na = out["population_avg"].isna()
    if na.any():
        r = out.loc[na].iloc[0]
        raise DataError(f"effect_in_persons: no population_avg for (region={r['region']!r}, year={int(r['year'])}); "
                         f"{int(na.sum())} row(s) lack one.")
    factor = out["population_avg"].to_numpy(dtype=float) / float(per)
    for c in [c for c in out.columns if c.startswith("effect_")]:
        out[c] = out[c].to_numpy(dtype=float) * factor
    out["draws"] = [np.asarray(d, dtype=float) * f for d, f in zip(out["draws"], factor, strict=True)]
    out["unit"] = "persons"
    return out


def between_regions(effect: pd.DataFrame, *, levels: Sequence[float] = (0.8, 0.95)) -> pd.DataFrame:
    r"""Turn an effect in persons into a redistribution between regions: each year's effects sum to zero.

    Each region keeps its own effect minus its population share of the year's total:
    :math:`\Delta_r - w_r \sum_s \Delta_s`, with :math:`w_r` the region's share of the
    average population, draw by draw. A panel model with year effects identifies how a region
    that moves relative to the others gains or loses migrants, not a change that all regions
    share (the year effects absorb it): read that way, a planner's shift moves migrants between
    regions and leaves the national (external) balance unchanged. A shift applied equally
    everywhere then has no effect at all, which is what such a model can say about it.

    Parameters
    ----------
    effect : DataFrame
        :func:`effect_in_persons` output (``population_avg``, ``effect_point``, ``draws``).
    levels : sequence of float
        Levels of the recomputed ``effect_lower_<lvl>`` / ``effect_upper_<lvl>``.
    """
    if not (effect["unit"] == "persons").all():
        raise DataError("between_regions: the effect must be in persons (effect_in_persons first).")
    parts = []
    for _, g in effect.groupby("year", sort=True):
        g = g.copy()
        w = g["population_avg"].to_numpy(dtype=float)
        w = w / w.sum()
        d = np.vstack(g["draws"].to_numpy())
        point = g["effect_point"].to_numpy(dtype=float)
        d = d - np.outer(w, d.sum(axis=0))
        point = point - w * point.sum()
        cols = effect_columns(point, d, levels)
        for c in cols.columns:
            g[c] = cols[c].to_numpy()
        g["draws"] = list(d)
        parts.append(g)
    return pd.concat(parts).sort_index()


def _effect_rows(baseline: pd.DataFrame, effect: pd.DataFrame,
                 national: str) -> dict[tuple[str, int], tuple[float, np.ndarray]]:
    """(region, year) -> (point, draws), with the national row as the draw-wise sum of the regions."""
    eff = {(str(r), int(y)): (float(p), np.asarray(d, dtype=float))
           for r, y, p, d in effect[["region", "year", "effect_point", "draws"]].itertuples(index=False)}
    need = baseline[["region", "year"]].drop_duplicates().astype({"region": str})
    for r, y in need.itertuples(index=False):
        if r == national and (r, y) not in eff:
            parts = [v for (rr, yy), v in eff.items() if yy == y and rr != national]
            if not parts:
                raise ScenarioError(f"scenario_forecast: no regional effect in year {y} to sum for the national row.")
            eff[(r, y)] = (sum(p for p, _ in parts), np.sum([d for _, d in parts], axis=0))
        elif (r, int(y)) not in eff:
            raise ScenarioError(f"scenario_forecast: the effect has no row for (region={r!r}, year={int(y)}) of the "
                                f"baseline; compute it for every region and forecast year.")
    return eff


def scenario_forecast(baseline: pd.DataFrame, effect: pd.DataFrame, *, name: str = "scenario",
                      levels: Sequence[float] | None = None, n_draws: int | None = None,
                      seed: int = DEFAULT_SEED, national: str = NATIONAL) -> pd.DataFrame:
    """Baseline forecast plus a scenario effect, with intervals that carry both uncertainties.

    Parameters
    ----------
    baseline : DataFrame
        Long forecast table (``model, region, origin_year, year, point, lower, upper,
        level``, levels stacked, extra columns kept), in the unit of ``effect`` (persons for
        net migration: see :func:`effect_in_persons`).
    effect : DataFrame
        :func:`scenario_effect` output with a row for every regional (region, year) of
        ``baseline``. A national row of ``baseline`` without an effect row gets the sum of
        the regional effects, draw by draw.
    name : str, default "scenario"
        Value of the ``scenario`` column.
    levels : sequence of float, optional
        Interval levels of the output; default those of ``baseline``.
    n_draws : int, optional
        Monte Carlo draws; default the number of effect draws. Otherwise the effect draws
        are resampled with one set of indices for all rows (keeping their joint structure).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same output.

    Returns
    -------
    DataFrame
        The forecast table columns (and ``baseline``'s extra columns) with ``point`` =
        baseline point + effect point, plus ``scenario``, ``effect_point``,
        ``effect_lower_<lvl>`` and ``effect_upper_<lvl>`` for the output levels.

    Notes
    -----
    The baseline error is the median-preserving split normal that reproduces the stored
    bounds (:mod:`forecast.distribution`); the effect error is the coefficient-draw
    distribution; they are independent and are added draw by draw. Each bound is the stored
    baseline bound moved by what the effect does to that quantile,

    .. math:: l_s = l_b + \\big(Q_{\\alpha}(B + E) - Q_{\\alpha}(B)\\big),

    with :math:`B` the baseline draws and :math:`E` the effect draws, a control variate on
    the same draws: a row the scenario does not move (zero effect in every draw) keeps the
    baseline interval exactly, and the Monte Carlo error of the baseline part cancels.
    """
    validate_forecast(baseline, source="scenario_forecast: baseline")
    levels = check_levels(levels) if levels is not None else check_levels(baseline["level"].dropna().unique())
    if not levels and baseline["level"].notna().any():
        raise ConfigError("scenario_forecast: levels is empty but the baseline has intervals; give the levels.")
    _check_units(baseline, effect)
    eff = _effect_rows(baseline, effect, national)
    m = len(next(iter(eff.values()))[1])
    rng = np.random.default_rng(seed)
    n = m if n_draws is None else int(n_draws)
    if n < 1000:
        raise ConfigError(f"scenario_forecast: n_draws={n} must be at least 1000.")
    idx = None if n == m else rng.integers(0, m, size=n)
    scales = row_scales(baseline).sort_values(["model", "region", "origin_year", "year"], kind="mergesort")
    stored = baseline.set_index(["model", "region", "origin_year", "year", "level"])
    extra = [c for c in baseline.columns if c not in FORECAST_COLUMNS]
    rows, outside = [], 0
    for r in scales.itertuples(index=False):
        e_point, e_draws = eff[(str(r.region), int(r.year))]
        e_draws = e_draws if idx is None else e_draws[idx]
        z = rng.standard_normal(n)
        key = (r.model, r.region, r.origin_year, r.year)
        meta = stored.loc[key].iloc[0][extra].to_dict() if extra else {}
        base = {"model": r.model, "region": r.region, "origin_year": r.origin_year, "year": r.year,
                "point": r.point + e_point, **meta, "scenario": name}
        e_cols = effect_columns(np.array([e_point]), e_draws[None, :], levels).iloc[0].drop("effect_sd").to_dict()
        if not (np.isfinite(r.sd_lower) and np.isfinite(r.sd_upper)):
            rows.append({**base, "lower": np.nan, "upper": np.nan, "level": np.nan, **e_cols})
            continue
        b = r.point + np.where(z < 0, r.sd_lower, r.sd_upper) * z
        for lv in levels:
            q = [(1 - lv) / 2, (1 + lv) / 2]
            move = np.quantile(b + e_draws, q) - np.quantile(b, q)
            lo, hi = _stored_bounds(stored, key, lv, r)
            lo, hi = lo + move[0], hi + move[1]
            outside += int(not lo <= base["point"] <= hi)
            rows.append({**base, "lower": min(lo, base["point"]), "upper": max(hi, base["point"]), "level": lv,
                         **e_cols})
    if outside:
        logger.warning("scenario_forecast: %d intervals did not contain the point and were extended to it.", outside)
    no_iv = int((~np.isfinite(scales["sd_lower"])).sum())
    if no_iv:
        logger.warning("scenario_forecast: %d baseline rows have no interval; their scenario rows carry points only.",
                       no_iv)
    out = coerce_forecast(pd.DataFrame(rows))
    return validate_forecast(out, source=f"scenario_forecast: scenario {name!r}")


def _check_units(baseline: pd.DataFrame, effect: pd.DataFrame) -> None:
    """Where the baseline names its ``target``, an effect in a rate must be of that target."""
    if "target" not in baseline.columns or "unit" not in effect.columns:
        return
    units = set(effect["unit"].astype(str))
    targets = set(baseline["target"].astype(str))
    if units != {"persons"} and not units <= targets:
        raise ScenarioError(f"scenario_forecast: the effect is in the unit of {sorted(units)} but the baseline "
                            f"forecasts {sorted(targets)}; convert it with effect_in_persons first.")


def _stored_bounds(stored: pd.DataFrame, key: tuple, level: float, r: Any) -> tuple[float, float]:
    """The baseline's bounds at ``level``; the split-normal quantiles if that level is not stored."""
    try:
        row = stored.loc[(*key, level)]
        return float(row["lower"]), float(row["upper"])
    except KeyError:
        z = float(z_value(level))
        return r.point - z * r.sd_lower, r.point + z * r.sd_upper


def reconcile_scenario(scenario: pd.DataFrame, *, method: str = "ols", residuals: pd.DataFrame | None = None,
                       constraint: str = "national_total",
                       national: str = NATIONAL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reconcile each scenario's forecast as the baseline is (:func:`forecast.reconcile.reconcile`).

    Parameters
    ----------
    scenario : DataFrame
        :func:`scenario_forecast` output(s), stacked on ``scenario``, with the national row.
    method, residuals, constraint, national
        As for :func:`forecast.reconcile.reconcile`; use the baseline's.

    Returns
    -------
    reconciled, report
        The table with ``point``, ``lower``, ``upper`` reconciled and
        ``reconciliation_adjustment`` (reconciled - unreconciled point); the reconciliation
        report with a ``scenario`` column. ``effect_*`` columns keep the model's effect.

    Notes
    -----
    Which national total? :func:`scenario_forecast` sets the scenario's national row to the
    baseline national row **plus the sum of the regional effects** (draw by draw), so the
    change the scenario makes, :math:`e`, is itself coherent (:math:`C e = 0`). The
    projection :math:`P` is linear and leaves coherent vectors unchanged, so
    :math:`P(\\hat y + e) = P \\hat y + e`: the reconciled scenario is the reconciled
    baseline plus the model's effect, under any method, and a baseline that is already
    coherent is left alone. The alternative, reconciling the shifted regions to the
    baseline's unchanged national row, would have the projection spread :math:`-\\sum e`
    over every series (with OLS, :math:`-\\sum e / (n + 1)` each): regions nobody shifted
    would show an effect and the shifted ones would lose part of theirs. That is not what
    the model says, so it is not done.

    Under ``constraint="zero_sum"`` (interregional net migration) the regional effects need
    not sum to zero; the projection then takes their sum back from all regions in
    proportion to the weights, which is what a closed system requires, and
    ``reconciliation_adjustment`` shows by how much.
    """
    frames, reports = [], []
    for name, part in scenario.groupby("scenario", sort=False):
        rec, rep = reconcile(part, method=method, residuals=residuals, constraint=constraint, national=national)
        rec["reconciliation_adjustment"] = rec["point"].to_numpy() - part["point"].to_numpy()
        frames.append(rec)
        reports.append(rep.assign(scenario=name))
    return pd.concat(frames, ignore_index=True), pd.concat(reports, ignore_index=True)


def scenario_population(panel: pd.DataFrame, scenario: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """Population per region under each scenario, through the balancing equation.

    Calls :func:`forecast.population.project_population` with the scenario's net migration
    (persons, forecast columns only) for each value of ``scenario``; keyword arguments
    (``natural_increase``, ``levels``, ``rho_migration``, ``rho_natural``) are passed on.
    The natural increase is the rate forecast applied to the scenario's own population, so
    extra migrants also add births and deaths. Returns the projection with a ``scenario``
    column.
    """
    frames = []
    for name, part in scenario.groupby("scenario", sort=False):
        proj = project_population(panel, part[list(FORECAST_COLUMNS)].reset_index(drop=True), **kwargs)
        frames.append(proj.assign(scenario=name))
    return pd.concat(frames, ignore_index=True)


def scenario_table(baseline: pd.DataFrame, scenarios: pd.DataFrame | Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Baseline and scenarios side by side, one row per (target,) model, region, origin, year and level.

    Parameters
    ----------
    baseline : DataFrame
        Long forecast table (with ``target`` if several targets are stacked).
    scenarios : DataFrame or mapping of str to DataFrame
        :func:`scenario_forecast` outputs stacked on ``scenario``, or ``{name: table}``.

    Returns
    -------
    DataFrame
        The keys, ``baseline_point``, ``baseline_lower``, ``baseline_upper``, and for each
        scenario ``<name>_point``, ``<name>_lower``, ``<name>_upper`` and ``<name>_change``
        (scenario point - baseline point). Rows of the baseline only are kept, with NaN
        scenario columns.
    """
    if isinstance(scenarios, Mapping):
        scenarios = pd.concat([t.assign(scenario=n) for n, t in scenarios.items()], ignore_index=True)
    keys = [c for c in ("target",) if c in baseline.columns and c in scenarios.columns]
    keys += ["model", "region", "origin_year", "year", "level"]
    vals = ["point", "lower", "upper"]
    out = baseline[keys + vals].rename(columns={v: f"baseline_{v}" for v in vals})
    for name, part in scenarios.groupby("scenario", sort=False):
        if part.duplicated(keys).any():
            raise DataError(f"scenario_table: scenario {name!r} has duplicate rows for {keys}.")
        part = part[keys + vals].rename(columns={v: f"{name}_{v}" for v in vals})
        out = out.merge(part, on=keys, how="left", validate="one_to_one")
        out[f"{name}_change"] = out[f"{name}_point"] - out["baseline_point"]
    return out.sort_values(keys, kind="mergesort").reset_index(drop=True)
