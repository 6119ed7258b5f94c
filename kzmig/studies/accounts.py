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


def coherent_forecasts(forecasts: pd.DataFrame, population: pd.DataFrame, history: pd.DataFrame | None = None, *,
                       quantity: str = "rate", method: str = "ols", national: str = NATIONAL,
                       flows: Sequence[str] = FLOWS) -> CoherentRun:
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
    method : {"ols"}, default "ols"
        Weights of the projection. WLS / MinT need the backtest errors of every series of
        the account at common cells; the run's studies do not share origins, so only OLS here.
    national : str, default "kazakhstan"
    flows : sequence of str
        The external flow targets to bring into the account.

    Returns
    -------
    CoherentRun

    Raises
    ------
    ValueError
        A target or population year the account needs is missing (named).
    """
    check_option("quantity", quantity, QUANTITIES, owner="coherent_forecasts")
    check_option("method", method, ("ols",), owner="coherent_forecasts")
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
    frame = pd.DataFrame(base_rows, columns=["variable", "region", "year", "point"]).assign(fixed=False)

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
    res = acc.reconcile_account(frame, method=method, by=("year",), national=national)
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


def run_account(parts, forecasts: pd.DataFrame, history: pd.DataFrame | None = None, *, quantity: str = "rate"
                ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[str]]:
    """The planning run's hook: coherent forecasts, the consistency table and notes.

    Parameters
    ----------
    parts : mapping of str to StudyResult
        The run's parts; the population projection is taken from the forecasting study that
        has a ``population_forecasts`` table.
    forecasts : DataFrame
        The run's concatenated forecast table (:func:`kzmig.studies.planning.planning_parts`).
    history : DataFrame, optional
        Observed values, wide (``region, year``, one column per target).
    quantity : {"rate", "persons"}, default "rate"

    Returns
    -------
    (forecasts, tables, notes)
        ``tables`` is ``{"consistency": ..., "forecasts_coherent": ...}`` (the selected rows of
        the account's targets, as the workbook shows them); when the run has no net migration forecast or
        population projection, the forecasts come back unchanged, ``tables`` is empty and the
        note says why.
    """
    pops = [p.tables["population_forecasts"] for k, p in parts.items()
            if k.startswith("forecast/") and "population_forecasts" in p.tables]
    have = set(forecasts.get("target", pd.Series(dtype=str)))
    if not pops or not {acc.NET, acc.RATE} <= have:
        return forecasts, {}, ["The forecasts are not reconciled into one account: the run has no population "
                               "projection or no forecast of both net migration and its rate."]
    res = coherent_forecasts(forecasts, pops[0], history, quantity=quantity)
    bad = res.consistency.loc[~res.consistency["holds"]]
    notes = list(res.notes)
    if len(bad):
        notes.append(f"{len(bad)} identity-years miss the tolerance (planning/consistency.csv).")
    touched = res.forecasts["selected"].astype(bool) & res.forecasts["target"].isin(
        [acc.NET, acc.RATE, acc.POPULATION, *FLOWS])
    return res.forecasts, {"consistency": res.consistency,
                           "forecasts_coherent": res.forecasts.loc[touched].reset_index(drop=True)}, notes
