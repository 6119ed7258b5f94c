"""The run's forecasts as one system of accounts (METHOD.md 10, issue 18).

:func:`coherent_forecasts` takes the forecast tables of a run (every target's selected model,
the population projection of the net migration study, and the observed values of the years
the forecasts cover) and returns the coherent tables and the consistency table:

1. regional net migration in persons is derived from the modelled quantity (by default the
   rate per 1,000, see ``docs/accounts.md`` for the backtest that decided it) through the
   population projection, :func:`kzmig.forecast.planning.accounts.persons_from_rate`;
2. regional and national net migration, regional and national natural increase, external
   arrivals and departures and their CIS / non-CIS parts are reconciled at once, year by year
   (:func:`kzmig.forecast.planning.accounts.reconcile_account`); observed values inside a forecast year
   (external flows are published a year ahead of the regional balance) are held fixed;
3. the population follows from the coherent flows (``P(t+1) = P(t) + N + M``) and the rate
   from the coherent persons and that population, so persons = rate x mean population / 1,000
   exactly;
4. interval bounds move with their point (persons, flows, population: by the adjustment, the
   population by its cumulative sum), and the rate bounds are the persons bounds mapped
   through the coherent population (a monotone map, :func:`map_interval_bounds`).

Natural increase is taken in persons from the run's projection and reconciled as a series; it
is not re-derived from the new population (a second-order change: the natural-increase rate
times the change of the population, under 0.1 % of it here).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from kzmig.core.options import check_option
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.planning import accounts as acc
logger = logging.getLogger(__name__)

QUANTITIES = ("rate", "persons")
FLOWS = (acc.ARRIVALS, acc.DEPARTURES, acc.ARRIVALS_CIS, acc.ARRIVALS_NON_CIS, acc.DEPARTURES_CIS,
         acc.DEPARTURES_NON_CIS)


class CoherentRun(NamedTuple):
    """What :func:`coherent_forecasts` returns."""

    #: the input forecasts with the account's targets replaced by their coherent values
    forecasts: pd.DataFrame
    #: every identity, year and region with its largest absolute deviation (``planning/consistency.csv``)
    consistency: pd.DataFrame
    #: the regional two views and population, one row per region and year
    regional: pd.DataFrame
    #: sentences for the notes: what was derived, what could not be reconciled and why
    notes: list[str]


def _selected(forecasts: pd.DataFrame, target: str) -> pd.DataFrame:
    f = forecasts.loc[(forecasts["target"] == target) & forecasts["selected"].astype(bool)]
    return f


def _points(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.drop_duplicates(["region", "year"])[["region", "year", "point"]]


def backtest_variances(backtest: pd.DataFrame, forecasts: pd.DataFrame, population: pd.DataFrame | None = None, *,
                       quantity: str = "rate", national: str = NATIONAL, min_errors: int = 3) -> pd.DataFrame:
    """Per-series backtest error variances of the account's series, from the studies' own backtests.

    Nothing is refitted: the selected model's rows of the studies' ``backtest_predictions``
    (non-break target years, every horizon) give the errors ``actual - point``; each series
    uses the cells it has (:func:`kzmig.forecast.planning.accounts.error_variances`).

    Parameters
    ----------
    backtest : DataFrame
        The forecasting parts' ``backtest_predictions`` stacked (``target, model, region,
        origin_year, year, point, actual, is_break``; levels are deduplicated).
    forecasts : DataFrame
        The run's forecasts (which model is selected per target).
    population : DataFrame, optional
        ``population_forecasts``: with ``quantity="rate"`` the regional persons of the account
        are derived from the rate, and their errors are the rate's errors times the region's
        mean population of the first forecast year / 1,000 (today's scale, which is the scale
        the forecast's error has).
    quantity : {"rate", "persons"}
    min_errors : int, default 3
        Fewer errors give no variance (the series is named in the result's ``note``).

    Returns
    -------
    DataFrame
        ``variable, region, variance, n, source``: one row per series of the account.
    """
    sel = forecasts.loc[forecasts["selected"].astype(bool)].drop_duplicates("target").set_index("target")["model"]
    b = backtest.loc[backtest["model"] == backtest["target"].map(sel)]
    b = b.drop_duplicates(["target", "region", "origin_year", "year"])
    b = b.loc[~b["is_break"].astype(bool) & (b["year"] > b["origin_year"])]
    b = b.assign(error=b["actual"] - b["point"]).dropna(subset=["error"])
    rows = []
    net = b.loc[b["target"] == acc.NET]
    rows.append(net.loc[net["region"] == national].assign(variable=acc.NET, source=f"{acc.NET} backtest"))
    if quantity == "rate" and population is not None:
        pop = population.drop_duplicates(["region", "flow_year"])
        first = pop.loc[pop["flow_year"] == pop["flow_year"].min()].set_index("region")
        mean_pop = first["population_start"] + first["natural_increase"] / 2.0
        rate = b.loc[(b["target"] == acc.RATE) & (b["region"] != national)]
        scale = rate["region"].map(mean_pop) / 1000.0
        rows.append(rate.assign(variable=acc.NET, error=rate["error"] * scale,
                                source=f"{acc.RATE} backtest x mean population / 1,000").dropna(subset=["error"]))
    else:
        rows.append(net.loc[net["region"] != national].assign(variable=acc.NET, source=f"{acc.NET} backtest"))
    flows = b.loc[b["target"].isin(FLOWS) & (b["region"] == national)]
    rows.append(flows.assign(variable=flows["target"], source=flows["target"] + " backtest"))
    e = pd.concat(rows, ignore_index=True)
    var = acc.error_variances(e[["variable", "region", "error"]])
    n = e.groupby(["variable", "region"]).size().rename("n")
    src = e.groupby(["variable", "region"])["source"].first()
    out = pd.concat([var, n, src], axis=1).reset_index()
    return out.loc[out["n"] >= min_errors].reset_index(drop=True)


def coherent_forecasts(forecasts: pd.DataFrame, population: pd.DataFrame, history: pd.DataFrame | None = None, *,
                       quantity: str = "rate", method: str = "ols", national: str = NATIONAL,
                       flows: Sequence[str] = FLOWS, variances: pd.DataFrame | None = None) -> CoherentRun:
    """Coherent forecasts of a run and their consistency table.

    Parameters
    ----------
    forecasts : DataFrame
        The run's long forecast table: ``target, model, region, origin_year, year, point,
        lower, upper, level, selected`` (stacked levels allowed), with the targets
        ``net_migration`` and ``net_migration_rate_per_1000`` (regions and the national row)
        and, where forecast, the external flows (national).
    population : DataFrame
        The population projection (``population_forecasts``): ``region, flow_year,
        population_start, natural_increase`` (persons), one row per region and flow year
        (levels are deduplicated).
    history : DataFrame, optional
        Observed values, wide (``region, year`` and one column per target): a target observed
        in a year the account forecasts enters it fixed.
    quantity : {"rate", "persons"}, default "rate"
        The modelled view of regional net migration; the other is derived.
    method : {"ols", "wls"}, default "ols"
        Weights of the projection: identity, or the diagonal of the per-series backtest error
        variances ``variances`` (:func:`backtest_variances`; a diagonal ``W`` needs no common
        cells). MinT needs complete error vectors at common cells, which the run's two studies
        do not share, so it is not offered here.
    national : str, default "kazakhstan"
    flows : sequence of str
        The external flow targets to bring into the account.
    variances : DataFrame, optional
        ``variable, region, variance`` for ``method="wls"``.

    Returns
    -------
    CoherentRun

    Raises
    ------
    ValueError
        A target or population year the account needs is missing (named).
    """
    check_option("quantity", quantity, QUANTITIES, owner="coherent_forecasts")
    check_option("method", method, ("ols", "wls"), owner="coherent_forecasts")
    if method == "wls" and variances is None:
        raise ValueError("coherent_forecasts: method='wls' needs variances= (backtest_variances).")
    notes: list[str] = []
    for t in (acc.NET, acc.RATE):
        if not len(_selected(forecasts, t)):
            raise ValueError(f"coherent_forecasts: no selected forecast of {t!r}; the account needs it.")
    pop = population.drop_duplicates(["region", "flow_year"])
    regions = sorted(set(_selected(forecasts, acc.NET)["region"]) - {national})
    years = sorted(set(_selected(forecasts, acc.NET)["year"]))
    ni = pop.loc[pop["region"].isin(regions) & pop["flow_year"].isin(years)]
    have = set(zip(ni["region"], ni["flow_year"]))
    lack = [(r, y) for r in regions for y in years if (r, y) not in have]
    if lack:
        raise ValueError(f"coherent_forecasts: population projection lacks region-years {lack[:5]}.")
    ni = ni.set_index(["region", "flow_year"]).sort_index()
    p0 = ni.xs(years[0], level="flow_year")["population_start"]
    nat_ni = ni.groupby(level="flow_year")["natural_increase"].sum()

    # 1. regional persons from the modelled view
    modelled = _selected(forecasts, acc.RATE if quantity == "rate" else acc.NET)
    view = _points(modelled)
    base_rows, bounds = [], []
    for r in regions:
        g = view.loc[view["region"] == r].set_index("year").reindex(years)["point"].to_numpy(float)
        n = ni.loc[r].loc[years, "natural_increase"].to_numpy(float)
        if not np.isfinite(g).all():
            raise ValueError(f"coherent_forecasts: the {quantity} forecast of region {r!r} misses years of {years}.")
        m = acc.persons_from_rate(g, p0[r], n)[0] if quantity == "rate" else g
        if quantity == "rate":  # the rate's bounds in persons, along the point's population path
            for lv, b in modelled.loc[(modelled["region"] == r) & modelled["level"].notna()].groupby("level"):
                b = b.set_index("year").reindex(years)
                for c in ("lower", "upper"):
                    v = b[c].to_numpy(float)
                    mapped = acc.map_interval_bounds(np.nan_to_num(v), "persons", p0[r], n, g)
                    bounds += [(r, y, float(lv), c, x if np.isfinite(w) else np.nan)
                               for y, x, w in zip(years, mapped, v)]
        base_rows += [(acc.NET, r, y, x) for y, x in zip(years, m)]
        base_rows += [(acc.NATURAL, r, y, x) for y, x in zip(years, n)]
    base_rows += [(acc.NATURAL, national, y, nat_ni[y]) for y in years]
    notes.append(f"Regional net migration: the {quantity} is modelled and "
                 f"{'persons are' if quantity == 'rate' else 'the rate is'} derived through the population "
                 "projection (persons = rate x mean population / 1,000 exactly).")
    nat = _points(_selected(forecasts, acc.NET).loc[lambda d: d["region"] == national]).set_index("year")["point"]
    base_rows += [(acc.NET, national, y, nat[y]) for y in years if y in nat.index]
    frame = pd.DataFrame(base_rows, columns=["variable", "region", "year", "point"])
    # natural increase is coherent by construction (the national row is the sum of the regional
    # projections): it enters fixed, its identity checked, not moved
    frame["fixed"] = frame["variable"].eq(acc.NATURAL)

    # external flows: forecasts, or observed values in a forecast year (fixed)
    extra = []
    for t in flows:
        f = _points(_selected(forecasts, t).loc[lambda d: d["region"] == national]).set_index("year")["point"]
        obs = (history.loc[history["region"] == national].set_index("year")[t].dropna()
               if history is not None and t in history.columns else pd.Series(dtype=float))
        for y in years:
            if y in obs.index:
                extra.append((t, national, y, float(obs[y]), True))
            elif y in f.index:
                extra.append((t, national, y, float(f[y]), False))
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, columns=["variable", "region", "year", "point", "fixed"])],
                          ignore_index=True)
    var = (variances.set_index(["variable", "region"])["variance"] if variances is not None and method == "wls"
           else None)
    if var is not None:
        lack = sorted({f"{v}[{r}]" for v, r, f in zip(frame["variable"], frame["region"], frame["fixed"])
                       if not f and (v, r) not in var.index})
        if lack:
            raise ValueError(f"coherent_forecasts: no backtest variance for {lack}; WLS needs one per forecast series.")
    res = acc.reconcile_account(frame, method=method, by=("year",), national=national, variances=var)
    notes.append("Reconciliation weights: " + ("identity (OLS): every series moves by the same amount in persons."
                                               if method == "ols" else
                                               "each series' backtest error variance (WLS): a series moves in "
                                               "proportion to how inaccurate its backtest was."))
    for s in res.skipped:
        notes.append(f"Not reconciled: {s}.")
    rec = res.reconciled

    # 3. population and rate from the coherent flows
    persons = rec.loc[(rec["variable"] == acc.NET) & (rec["region"] != national), ["region", "year", "point"]]
    natural = rec.loc[(rec["variable"] == acc.NATURAL) & (rec["region"] != national)].rename(
        columns={"point": "natural_increase"})[["region", "year", "natural_increase"]]
    regional = acc.regional_views(persons, p0, natural, by=())
    tot = regional.groupby("year")[["net_migration", "natural_increase", "population_start", "population_end"]].sum()
    tot = tot.assign(region=national, mean_population=(tot["population_start"] + tot["population_end"]) / 2)
    tot["net_migration_rate_per_1000"] = 1000 * tot["net_migration"] / tot["mean_population"]
    regional = pd.concat([regional, tot.reset_index()[regional.columns]], ignore_index=True)
    consistency = acc.consistency_table(rec.assign(origin_year=0), regional.assign(origin_year=0), national=national)

    out = _replace(forecasts, rec, regional, national,
                   pd.DataFrame(bounds, columns=["region", "year", "level", "bound", "value"]))
    worst = consistency.groupby("unit")["max_abs_deviation"].max().to_dict()
    logger.info("account: %d identities x years checked; largest deviation %s.", len(consistency), worst)
    return CoherentRun(out, consistency, regional, notes)


def _replace(forecasts: pd.DataFrame, rec: pd.DataFrame, regional: pd.DataFrame, national: str,
             bounds: pd.DataFrame) -> pd.DataFrame:
    """The forecasts with coherent points and moved bounds for the account's targets.

    ``bounds``: regional persons bounds derived from the modelled rate (``region, year, level,
    bound, value``); where given they replace the persons model's own bounds before the shift."""
    out = forecasts.copy()
    sel = out["selected"].astype(bool)
    new = rec.loc[~rec["fixed"].astype(bool)].set_index(["variable", "region", "year"])
    reg = regional.set_index(["region", "year"])
    for t in set(new.index.get_level_values(0)) - {acc.NATURAL}:
        rows = sel & (out["target"] == t)
        key = pd.MultiIndex.from_arrays([np.full(rows.sum(), t), out.loc[rows, "region"], out.loc[rows, "year"]])
        pts = new["point"].reindex(key).to_numpy()
        ok = np.isfinite(pts)
        idx = out.index[rows][ok]
        shift = pts[ok] - out.loc[idx, "point"].to_numpy(float)
        if t == acc.NET and len(bounds):  # derived persons: the rate's bounds mapped, moved by the reconciliation
            base = rec.set_index(["variable", "region", "year"])["base"].reindex(key).to_numpy()[ok]
            shift = pts[ok] - base
            out.loc[idx, "point"] = base
            b = bounds.set_index(["region", "year", "level", "bound"])["value"]
            for c in ("lower", "upper"):
                k = pd.MultiIndex.from_arrays([out.loc[idx, "region"], out.loc[idx, "year"], out.loc[idx, "level"],
                                               np.full(len(idx), c)])
                v = b.reindex(k).to_numpy(float)
                keep = out.loc[idx, "region"].eq(national).to_numpy()  # the national row keeps its own bounds
                out.loc[idx, c] = np.where(keep, out.loc[idx, c].to_numpy(float), v)
        for c in ("point", "lower", "upper"):
            out.loc[idx, c] = out.loc[idx, c].to_numpy(float) + shift
    # rate: from the coherent persons; bounds are the persons bounds mapped through the population
    rows = sel & (out["target"] == acc.RATE)
    key = pd.MultiIndex.from_arrays([out.loc[rows, "region"], out.loc[rows, "year"]])
    r = reg.reindex(key)
    ok = r["net_migration_rate_per_1000"].notna().to_numpy()
    idx = out.index[rows][ok]
    r = r.loc[ok]
    out.loc[idx, "point"] = r["net_migration_rate_per_1000"].to_numpy()
    persons = out.loc[sel & (out["target"] == acc.NET)].set_index(["region", "year", "level"])
    for c in ("lower", "upper"):
        pk = pd.MultiIndex.from_arrays([out.loc[idx, "region"], out.loc[idx, "year"], out.loc[idx, "level"]])
        b = persons[c].reindex(pk).to_numpy(float)
        mapped = 2000.0 * b / (2.0 * r["population_start"].to_numpy() + r["natural_increase"].to_numpy() + b)
        out.loc[idx, c] = np.where(np.isfinite(b), mapped, np.nan)
    # population: year = flow_year + 1, shifted by the cumulative change of the flows
    rows = sel & (out["target"] == acc.POPULATION)
    key = pd.MultiIndex.from_arrays([out.loc[rows, "region"], out.loc[rows, "year"] - 1])
    r = reg.reindex(key)
    ok = r["population_end"].notna().to_numpy()
    idx = out.index[rows][ok]
    shift = r["population_end"].to_numpy()[ok] - out.loc[idx, "point"].to_numpy(float)
    for c in ("point", "lower", "upper"):
        out.loc[idx, c] = out.loc[idx, c].to_numpy(float) + shift
    if "reconciled" in out.columns:
        touched = sel & out["target"].isin([*set(new.index.get_level_values(0)), acc.RATE, acc.POPULATION])
        out.loc[touched, "reconciled"] = "account"
    return out


#: the run's reconciliation weights, chosen on the backtest by the rule fixed in advance in
#: ``experiments/bench/bench_accounts.py`` (``choose_method``; docs/accounts.md has the table)
METHOD = "wls"


def backtest_table(parts) -> pd.DataFrame:
    """The forecasting parts' ``backtest_predictions`` stacked (empty frame when none has one)."""
    frames = [p.tables["backtest_predictions"] for k, p in parts.items()
              if k.startswith("forecast/") and "backtest_predictions" in p.tables and len(p.tables["backtest_predictions"])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["target", "model", "region", "origin_year", "year", "point", "lower", "upper", "level", "actual",
                 "is_break"])


def run_account(parts, forecasts: pd.DataFrame, history: pd.DataFrame | None = None, *, quantity: str = "rate",
                method: str = METHOD, panel: pd.DataFrame | None = None
                ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[str]]:
    """The planning run's hook: coherent, calibrated forecasts, the consistency table and notes.

    Parameters
    ----------
    parts : mapping of str to StudyResult
        The run's parts; the population projection is taken from the forecasting study that
        has a ``population_forecasts`` table, the backtests from every forecasting study.
    forecasts : DataFrame
        The run's concatenated forecast table (:func:`kzmig.studies.planning.run_forecasts`).
    history : DataFrame, optional
        Observed values, wide (``region, year``, one column per target).
    quantity : {"rate", "persons"}, default "rate"
    method : {"wls", "ols"}, default :data:`METHOD`
        WLS falls back to OLS (and the notes say so) when a series has no backtest variance.
    panel : DataFrame, optional
        Published ``region, year, population, natural_increase``: with it the account is also
        run on the studies' stored backtests (:mod:`kzmig.studies.account_backtest`), giving
        ``account_accuracy`` (coherent against separate, same cells) and the *reconciled*
        backtest errors on which the published intervals are calibrated; without it the
        intervals are calibrated on the separate backtests.

    Returns
    -------
    (forecasts, tables, notes)
        ``tables``: ``consistency`` (every identity x year x region), ``forecasts_coherent``
        (the selected rows of every target, reconciled and calibrated, as published),
        ``account_weights`` (the backtest variances of WLS), ``account_regional`` (persons,
        rate, population per region and year), ``interval_coverage`` (measured backtest coverage
        of every target's intervals and the calibration applied) and ``account_accuracy``. When
        the run has no net migration forecast or population projection, the forecasts are only
        calibrated, and the note says why they are not reconciled.
    """
    from kzmig.studies.account_backtest import account_accuracy, account_backtest, long_intervals

    backtest = backtest_table(parts)
    chosen = selected_models(forecasts)
    pops = [p.tables["population_forecasts"] for k, p in parts.items()
            if k.startswith("forecast/") and "population_forecasts" in p.tables]
    have = set(forecasts.get("target", pd.Series(dtype=str)))
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    reconcile = bool(pops) and {acc.NET, acc.RATE} <= have
    if not reconcile:
        missing = [t for t in (acc.NET, acc.RATE) if t not in have]
        notes.append("The forecasts are not reconciled into one account: " + (
            "the run has no population projection." if not pops else
            f"the run does not forecast {', '.join(missing)} (the account needs both views of net migration)."))
        out = forecasts
    else:
        variances = backtest_variances(backtest, forecasts, pops[0], quantity=quantity)
        try:
            res = coherent_forecasts(forecasts, pops[0], history, quantity=quantity, method=method,
                                     variances=variances)
        except ValueError as err:
            if method == "ols":
                raise
            notes.append(f"WLS reconciliation was not possible ({err}); the account is reconciled by OLS instead.")
            method = "ols"
            res = coherent_forecasts(forecasts, pops[0], history, quantity=quantity, method="ols")
        notes += list(res.notes)
        bad = res.consistency.loc[~res.consistency["holds"]]
        if len(bad):
            notes.append(f"{len(bad)} identity-years miss the tolerance (planning/consistency.csv).")
        out = res.forecasts
        tables.update(consistency=res.consistency, account_weights=variances, account_regional=res.regional)
    # backtest of the account itself: accuracy against the separate forecasts, reconciled errors
    calib = backtest
    if reconcile and panel is not None and len(backtest) and quantity == "rate":
        bt = account_backtest(backtest, chosen, panel, method=method)
        accuracy = account_accuracy(bt)
        tables["account_accuracy"] = accuracy
        for r in accuracy.itertuples(index=False):
            verdict = ("coherence costs accuracy beyond the bootstrap interval" if r.worse else
                       "coherence is more accurate beyond the bootstrap interval" if r.ci90_hi < 1 else
                       "no difference beyond the bootstrap interval")
            notes.append(f"Backtest of the account ({method.upper()}), {r.series}: MASE {r.mase_coherent:.3f} coherent "
                         f"against {r.mase_separate:.3f} separate on the same {r.cells} non-break cells, ratio "
                         f"{r.ratio:.3f} [90 %: {r.ci90_lo:.3f}, {r.ci90_hi:.3f}]: {verdict}.")
        ours = set(bt.coherent["variable"])
        calib = pd.concat([backtest.loc[~backtest["target"].isin(ours)], long_intervals(bt.coherent)],
                          ignore_index=True)
        chosen = {**chosen, **{t: "account" for t in ours}}
    cov = interval_coverage(calib, chosen) if len(calib) else pd.DataFrame()
    if len(cov):
        out = calibrate_intervals(out, cov)
        tables["interval_coverage"] = cov
        done = cov.loc[cov["status"] == "calibrated"]
        if len(done):
            notes.append("Intervals calibrated on the backtest (half-widths scaled by the split-conformal factor of "
                         "the scaled backtest errors" + (", reconciled" if "account_accuracy" in tables else "")
                         + "): " + "; ".join(
                             f"{r.target} ({r.scope}, {r.level:.0%}): x{r.factor:.2f}, held {r.coverage:.0%} before, "
                             f"{r.coverage_calibrated:.0%} leaving each origin out" for r in done.itertuples()) + ".")
        unc = cov.loc[cov["status"] == "uncalibrated"]
        if len(unc):
            notes.append("Intervals not calibrated (fewer than "
                         f"{MIN_CALIBRATION_CELLS} non-break backtest outcomes): " + "; ".join(
                             f"{r.target} ({r.scope}, {r.level:.0%}): held {r.coverage:.0%} of {r.cells}"
                             for r in unc.itertuples()) + "; read them as indicative.")
    if reconcile or len(cov):
        tables["forecasts_coherent"] = out.loc[out["selected"].astype(bool)].reset_index(drop=True)
    return out, tables, notes


# --------------------------------------------------------------------- interval coverage and calibration
#: the issue's band: an interval whose backtest coverage is within +-5 points of its level is left as it is
COVERAGE_BAND = 0.05
#: fewer non-break backtest cells than this: the interval is marked uncalibrated, not widened
MIN_CALIBRATION_CELLS = 20


def _scores(rows: pd.DataFrame) -> np.ndarray:
    """Scaled non-conformity: the error over the interval's half-width on the error's side."""
    e = (rows["actual"] - rows["point"]).to_numpy(float)
    up = (rows["upper"] - rows["point"]).to_numpy(float)
    lo = (rows["point"] - rows["lower"]).to_numpy(float)
    half = np.where(e >= 0, up, lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.abs(e) / half
    return np.where(half > 0, s, np.where(e == 0, 0.0, np.inf))


def _factor(scores: np.ndarray, level: float) -> float:
    """Split-conformal factor: the ``ceil((n+1) level)``-th smallest score (NaN if n too small)."""
    return acc.split_conformal_halfwidth(np.where(np.isfinite(scores), scores, 1e12), level)


def selected_models(forecasts: pd.DataFrame) -> dict[str, str]:
    """Target -> its selected model in a run's forecast table."""
    sel = forecasts.loc[forecasts["selected"].astype(bool)].drop_duplicates("target")
    return dict(zip(sel["target"], sel["model"]))


def interval_coverage(backtest: pd.DataFrame, chosen: dict[str, str], *, national: str = NATIONAL,
                      band: float = COVERAGE_BAND, min_cells: int = MIN_CALIBRATION_CELLS) -> pd.DataFrame:
    """Measured coverage of each selected model's intervals in its backtest, and a calibration factor.

    For every target, scope (``regions`` or ``national``) and level: the share of non-break
    backtest outcomes (target year after the origin) inside the interval of the model
    ``chosen[target]`` (the selected model, or ``"account"`` for the reconciled backtest rows of
    :func:`kzmig.studies.account_backtest.account_backtest`).
    Where that share is outside ``level +- band`` and there are at least ``min_cells`` cells,
    a factor ``k`` scales the interval's half-widths around the point: the split-conformal
    quantile of ``|error| / half-width`` (Lei et al. 2018, on scaled scores), so that ``k = 1``
    keeps the interval. Its honest coverage is measured leaving one origin out (``k`` from the
    other origins' cells). Nothing is refitted: the studies' stored backtests are read.

    Returns
    -------
    DataFrame
        ``target, scope, level, cells, coverage, status, factor, coverage_calibrated``;
        ``status`` is ``within`` (no change), ``calibrated``, or ``uncalibrated`` (too few cells).
    """
    b = backtest.loc[(backtest["model"] == backtest["target"].map(chosen)) & backtest["level"].notna()]
    b = b.loc[~b["is_break"].astype(bool) & (b["year"] > b["origin_year"])].dropna(
        subset=["actual", "point", "lower", "upper"])
    rows = []
    for (t, lv), g in b.groupby(["target", "level"], sort=True):
        for scope, part in (("regions", g.loc[g["region"] != national]), ("national", g.loc[g["region"] == national])):
            if part.empty:
                continue
            inside = (part["actual"] >= part["lower"]) & (part["actual"] <= part["upper"])
            cov, n = float(inside.mean()), len(part)
            row = {"target": t, "scope": scope, "level": float(lv), "cells": n, "coverage": cov,
                   "status": "within", "factor": 1.0, "coverage_calibrated": cov}
            if abs(cov - lv) > band:
                if n < min_cells:
                    row["status"] = "uncalibrated"
                else:
                    s = _scores(part)
                    k = _factor(s, float(lv))
                    hits, m = 0, 0
                    for o in sorted(set(part["origin_year"])):
                        at = (part["origin_year"] == o).to_numpy()
                        ko = _factor(s[~at], float(lv))
                        if np.isfinite(ko):
                            hits += int((s[at] <= ko).sum())
                            m += int(at.sum())
                    if np.isfinite(k) and m:
                        row.update(status="calibrated", factor=float(k), coverage_calibrated=hits / m)
                    else:
                        row["status"] = "uncalibrated"
            rows.append(row)
    return pd.DataFrame(rows, columns=["target", "scope", "level", "cells", "coverage", "status", "factor",
                                       "coverage_calibrated"])


def calibrate_intervals(forecasts: pd.DataFrame, coverage: pd.DataFrame, *, national: str = NATIONAL) -> pd.DataFrame:
    """Scale the selected forecasts' half-widths by the ``calibrated`` factors of :func:`interval_coverage`.

    Lower bounds of counts that cannot be negative (external flows, population) stop at zero."""
    out = forecasts.copy()
    cal = coverage.loc[coverage["status"] == "calibrated"]
    sel = out["selected"].astype(bool)
    for r in cal.itertuples(index=False):
        scope = out["region"].eq(national) if r.scope == "national" else out["region"].ne(national)
        rows = sel & (out["target"] == r.target) & scope & np.isclose(out["level"].astype(float), r.level)
        p = out.loc[rows, "point"]
        lo = p - r.factor * (p - out.loc[rows, "lower"])
        hi = p + r.factor * (out.loc[rows, "upper"] - p)
        counts = str(r.target).startswith("external_") or r.target == acc.POPULATION  # never negative
        out.loc[rows, "lower"] = lo.clip(lower=0) if counts else lo
        out.loc[rows, "upper"] = hi
    return out


def coverage_labels(coverage: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Target -> level tag ("80") -> what the interval held in the backtest, in Russian and English."""
    out: dict[str, dict[str, str]] = {}
    for t, g in coverage.groupby("target", sort=False):
        for lv, h in g.groupby("level"):
            tag = f"{round(float(lv) * 100, 6):g}"
            parts_ru, parts_en = [], []
            for r in h.itertuples(index=False):
                where_ru = {"regions": "регионы", "national": "республика"}[r.scope]
                where_en = {"regions": "regions", "national": "national"}[r.scope]
                if r.status == "calibrated":
                    parts_ru.append(f"{where_ru}: откалиброван, {r.coverage_calibrated:.0%} вне выборки "
                                    f"(до калибровки {r.coverage:.0%})")
                    parts_en.append(f"{where_en}: calibrated, held {r.coverage_calibrated:.0%} out of sample "
                                    f"(before {r.coverage:.0%})")
                elif r.status == "uncalibrated":
                    parts_ru.append(f"{where_ru}: {r.coverage:.0%} из {r.cells}, не откалиброван")
                    parts_en.append(f"{where_en}: held {r.coverage:.0%} of {r.cells}, uncalibrated (too few)")
                else:
                    parts_ru.append(f"{where_ru}: {r.coverage:.0%}")
                    parts_en.append(f"{where_en}: held {r.coverage:.0%}")
            out.setdefault(str(t), {})[tag] = (f"в ретроспективной проверке: {'; '.join(parts_ru)} / "
                                               f"backtest: {'; '.join(parts_en)}")
    return out


# --------------------------------------------------------------------- scenarios through the account
def scenario_account(scenarios: pd.DataFrame, published: pd.DataFrame, regional: pd.DataFrame,
                     consistency: pd.DataFrame, *, national: str = NATIONAL
                     ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Every scenario path of regional net migration as an account: persons, rate and population.

    Parameters
    ----------
    scenarios : DataFrame
        ``scenario_forecasts`` of the run: ``scenario, target, region, year, point`` (persons;
        levels deduplicated). The scenarios shifted the coherent baseline.
    published : DataFrame
        The run's published (coherent) forecasts: the national balance a scenario must keep.
    regional : DataFrame
        The account's regional table (``account_regional``): the first year's population and
        the natural increase of each region and year.
    consistency : DataFrame
        The baseline's consistency table; the scenarios' rows are appended.

    Returns
    -------
    (scenario_account, consistency) or None
        ``scenario, region, year, net_migration, net_migration_rate_per_1000, population_start,
        population_end, mean_population, natural_increase`` (national rows the regional sums),
        and the consistency table with, per scenario, ``scenario <name>: <identity>`` rows
        (population balance, persons = rate x mean population, and
        ``national_balance_unchanged``: the scenario's national sum minus the published national
        balance). None when no scenario moves net migration in persons.
    """
    sc = scenarios.loc[scenarios["target"] == acc.NET] if "target" in scenarios else scenarios.iloc[0:0]
    if sc.empty or regional.empty:
        return None
    sc = sc.drop_duplicates(["scenario", "region", "year"])
    years = sorted(set(sc["year"]))
    reg = regional.loc[regional["region"] != national]
    first = reg.loc[reg["year"] == reg["year"].min()].set_index("region")["population_start"]
    nat = published.loc[published["selected"].astype(bool) & (published["target"] == acc.NET)
                        & (published["region"] == national)].drop_duplicates("year").set_index("year")["point"]
    frames, checks = [], [consistency]
    for name, g in sc.groupby("scenario", sort=False):
        persons = g.loc[g["region"] != national, ["region", "year", "point"]]
        # before the scenario's first year the path is the published one
        base = reg.loc[~reg["year"].isin(years) & reg["region"].isin(persons["region"]),
                       ["region", "year", "net_migration"]].rename(columns={"net_migration": "point"})
        persons = pd.concat([base, persons], ignore_index=True)
        views = acc.regional_views(persons, first, reg[["region", "year", "natural_increase"]], by=())
        tot = views.groupby("year")[["net_migration", "natural_increase", "population_start", "population_end"]].sum()
        tot = tot.assign(region=national, mean_population=(tot["population_start"] + tot["population_end"]) / 2)
        tot["net_migration_rate_per_1000"] = 1000 * tot["net_migration"] / tot["mean_population"]
        views = pd.concat([views, tot.reset_index()[views.columns]], ignore_index=True)
        c = acc.consistency_table(pd.DataFrame(columns=["variable", "region", "year", "point", "origin_year"]),
                                  views.assign(origin_year=0), national=national)
        gap = (tot["net_migration"] - nat.reindex(tot.index)).dropna()
        extra = pd.DataFrame({"identity": "national_balance_unchanged", "region": national,
                              "year": gap.index.astype(int), "unit": "persons",
                              "max_abs_deviation": gap.abs().to_numpy(float), "n": 1})
        extra["tolerance"] = acc.TOLERANCE["persons"]
        extra["holds"] = extra["max_abs_deviation"] < extra["tolerance"]
        c = pd.concat([c, extra[c.columns]], ignore_index=True)
        checks.append(c.assign(identity=f"scenario {name}: " + c["identity"]))
        frames.append(views.loc[views["year"].isin(years)].assign(scenario=name))
    out = pd.concat(frames, ignore_index=True)
    cols = ["scenario", "region", "year", "net_migration", "net_migration_rate_per_1000", "natural_increase",
            "population_start", "population_end", "mean_population"]
    return out[cols].sort_values(["scenario", "region", "year"]).reset_index(drop=True), pd.concat(
        checks, ignore_index=True)
