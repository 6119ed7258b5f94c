"""The account on the studies' own backtests: coherent against separate forecasts, same cells.

Nothing is refitted. At every backtest origin and target year, the selected model's stored
backtest forecasts are put through the same account as the run's forecasts
(:mod:`kzmig.studies.accounts`): regional persons derived from the rate through the population
known at the origin, then regional and national net migration, external arrivals and
departures and their CIS / non-CIS parts reconciled at once (OLS, or WLS with the variances of
the errors known at the origin), and the rate derived back from the coherent persons.

:func:`account_backtest` returns the coherent and the separate backtest rows;
:func:`account_accuracy` scores them on the same non-break cells (MASE on each series' stored
bridged naive scale, ratio with a cluster-bootstrap interval) and measures the coverage of
their intervals. ``experiments/bench/bench_accounts.py`` prints the tables; the planning run
puts them in ``planning/account_accuracy.csv`` and calibrates the published intervals on the
*reconciled* errors (:func:`kzmig.studies.accounts.interval_coverage`).

The population path of a backtest origin ``o`` starts at the published population of
1 January ``o + 1`` and carries the natural increase of year ``o`` forward (naive): nothing
after the origin is used.
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.planning import accounts as acc

logger = logging.getLogger(__name__)

LEVELS = (0.8, 0.95)
CELL = ["region", "origin_year", "year"]
FLOWS = (acc.ARRIVALS, acc.DEPARTURES, acc.ARRIVALS_CIS, acc.ARRIVALS_NON_CIS, acc.DEPARTURES_CIS,
         acc.DEPARTURES_NON_CIS)
#: the rows of the accuracy table: (label, variable, scope)
SERIES = (("regional persons", acc.NET, "regions"), ("regional rate", acc.RATE, "regions"),
          ("national balance", acc.NET, "national"), ("arrivals", acc.ARRIVALS, "national"),
          ("departures", acc.DEPARTURES, "national"))
#: fewer errors known at an origin: that cross-section is reconciled by OLS
MIN_KNOWN_ERRORS = 3


class AccountBacktest(NamedTuple):
    """What :func:`account_backtest` returns."""

    #: coherent rows: variable, region, origin_year, year, point, actual, scale, is_break, lower_80 ...
    coherent: pd.DataFrame
    #: the separate forecasts on the same keys (regional persons: the persons model)
    separate: pd.DataFrame
    #: identities that could not be enforced in some cross-section, with the missing series
    skipped: list[str]
    #: cross-sections reconciled by OLS for want of known errors (WLS only)
    fallback: int
    #: regional rows left out of the account (the regions do not partition the country at their origin)
    outside: int


def selected_backtest(backtest: pd.DataFrame, chosen: dict[str, str], levels=LEVELS) -> pd.DataFrame:
    """One row per target and cell of the selected model: point, actual, scale, is_break and the
    bounds of each level as ``lower_80``, ``upper_80`` ..."""
    b = backtest.loc[backtest["model"] == backtest["target"].map(chosen)]
    key = ["target", *CELL]
    out = b.drop_duplicates(key)[key + ["model", "point", "actual", "scale", "is_break"]]
    for lv in levels:
        x = b.loc[np.isclose(b["level"].astype(float), lv), key + ["lower", "upper"]]
        out = out.merge(x.rename(columns={"lower": f"lower_{int(lv * 100)}", "upper": f"upper_{int(lv * 100)}"}),
                        on=key, how="left")
    return out.reset_index(drop=True)


def convert(rows: pd.DataFrame, panel: pd.DataFrame, to: str) -> pd.DataFrame:
    """Each (region, origin) path of ``rows`` (``point`` and bounds) in the other view, through the
    population known at the origin; paths without a population or with gaps are left out."""
    pop = panel.set_index(["region", "year"])["population"]
    ni = panel.set_index(["region", "year"])["natural_increase"]
    r = rows.assign(_p0=pop.reindex(pd.MultiIndex.from_arrays([rows["region"], rows["origin_year"] + 1])).to_numpy(),
                    _ni=ni.reindex(pd.MultiIndex.from_arrays([rows["region"], rows["origin_year"]])).to_numpy())
    out = []
    fn = acc.persons_from_rate if to == "persons" else acc.rate_from_persons
    for _, g in r.sort_values("year").groupby(["region", "origin_year"], sort=True):
        if g[["_p0", "_ni"]].isna().any().any():
            continue
        yrs = g["year"].to_numpy()
        if yrs[0] != g["origin_year"].iloc[0] + 1 or (np.diff(yrs) != 1).any():
            continue
        p0, n, pt = g["_p0"].iloc[0], np.full(len(g), g["_ni"].iloc[0]), g["point"].to_numpy(float)
        new = g.assign(point=fn(pt, p0, n)[0])
        for c in [c for c in g.columns if c.startswith(("lower_", "upper_"))]:
            b = g[c].to_numpy(float)
            new[c] = np.where(np.isfinite(b), acc.map_interval_bounds(np.nan_to_num(b), to, p0, n, pt), np.nan)
        out.append(new)
    cols = list(rows.columns)
    return pd.concat(out, ignore_index=True)[cols] if out else rows.iloc[0:0]


def _reconcile(base: pd.DataFrame, method: str) -> tuple[pd.DataFrame, list[str], int]:
    """Every (origin, year) cross-section of ``base`` reconciled; bounds move with their point."""
    frames, fallback = [], 0
    skipped: dict[str, int] = {}  # identity not formed -> cross-sections it was missing from (first seen first)
    for (o, _), g in base.groupby(["origin_year", "year"], sort=True):
        var, m = None, method
        if method == "wls":
            known = base.loc[(base["year"] <= o) & ~base["is_break"].astype(bool)]
            var = acc.error_variances(known.assign(error=known["actual"] - known["point"]),
                                      min_errors=MIN_KNOWN_ERRORS)
            if not all((v, r) in var.index for v, r in zip(g["variable"], g["region"])):
                m, var, fallback = "ols", None, fallback + 1
        res = acc.reconcile_account(g, method=m, variances=var, log_skipped=False)
        for s in res.skipped:
            skipped[s] = skipped.get(s, 0) + 1
        frames.append(res.reconciled)
    for s, n in skipped.items():  # once per identity, not once per (origin, year)
        logger.warning("account backtest: %s (in %d of %d origin-year cross-sections).", s, n, len(frames))
    out = pd.concat(frames, ignore_index=True)
    adj = out["point"] - out["base"]
    for c in [c for c in out.columns if c.startswith(("lower_", "upper_"))]:
        out[c] = out[c] + adj
    return out.drop(columns="base"), list(skipped), fallback


def account_backtest(backtest: pd.DataFrame, chosen: dict[str, str], panel: pd.DataFrame, *, method: str = "wls",
                     national: str = NATIONAL) -> AccountBacktest:
    """Coherent and separate backtest rows of the account (module docstring).

    Parameters
    ----------
    backtest : DataFrame
        The studies' ``backtest_predictions`` stacked (``target, model, region, origin_year,
        year, point, lower, upper, level, actual, scale, is_break``).
    chosen : dict
        Target -> selected model.
    panel : DataFrame
        Published ``region, year, population, natural_increase`` (the net migration study's view).
    method : {"ols", "wls"}
    """
    b = selected_backtest(backtest, chosen)
    persons = b.loc[(b["target"] == acc.NET) & (b["region"] != national)]
    rate = b.loc[(b["target"] == acc.RATE) & (b["region"] != national)]
    truth = ["actual", "scale", "is_break"]
    derived = convert(rate, panel, "persons").drop(columns=truth).merge(persons[[*CELL, *truth]], on=CELL)
    base = pd.concat([derived.assign(target=acc.NET),
                      b.loc[(b["target"] == acc.NET) & (b["region"] == national)],
                      b.loc[b["target"].isin(FLOWS) & (b["region"] == national)]], ignore_index=True)
    base = base.rename(columns={"target": "variable"})
    base = base[["variable", *CELL, "point", *truth] + [c for c in base.columns if c.startswith(("lower_", "upper_"))]]
    # where a region has no backtest forecast at an origin (Shymkent and Turkestan are separate
    # from 2017 only), the regions do not partition the country: they stay out of the account there
    n_reg = persons["region"].nunique()
    reg = (base["variable"] == acc.NET) & (base["region"] != national)
    full = base.loc[reg].groupby(["origin_year", "year"])["region"].transform("size") == n_reg
    partial = base.loc[reg].loc[~full]
    inside = base.drop(index=partial.index)
    coh, skipped, fallback = _reconcile(inside, method) if len(inside) else (inside, [], 0)
    coh = pd.concat([coh, partial], ignore_index=True)
    reg_coh = coh.loc[(coh["variable"] == acc.NET) & (coh["region"] != national)]
    coh_rate = convert(reg_coh.drop(columns=truth), panel, "rate").merge(rate[[*CELL, *truth]], on=CELL)
    coherent = pd.concat([coh, coh_rate.assign(variable=acc.RATE)], ignore_index=True)
    separate = pd.concat([persons.assign(variable=acc.NET), rate.assign(variable=acc.RATE),
                          b.loc[b["target"].isin([acc.NET, *FLOWS]) & (b["region"] == national)].assign(
                              variable=lambda d: d["target"])], ignore_index=True).drop(columns=["target", "model"])
    if len(partial):
        logger.info("account backtest: %d regional cells outside the account (incomplete partition at origins %s)",
                    len(partial), sorted(set(partial["origin_year"])))
    return AccountBacktest(coherent, separate, skipped, fallback, len(partial))


def _mase(rows: pd.DataFrame) -> float:
    return float(((rows["actual"] - rows["point"]).abs() / rows["scale"]).mean())


def ratio_interval(a: pd.DataFrame, b: pd.DataFrame, cluster: str, boot: int = 999, seed: int = 20261207
                   ) -> tuple[float, float, float]:
    """MASE(a) / MASE(b) on the same cells, with a 90 % bootstrap interval resampling ``cluster``."""
    ea = ((a["actual"] - a["point"]).abs() / a["scale"]).groupby(a[cluster]).agg(["sum", "size"])
    eb = ((b["actual"] - b["point"]).abs() / b["scale"]).groupby(b[cluster]).agg(["sum", "size"])
    ea, eb = ea.align(eb, join="inner", axis=0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ea), size=(boot, len(ea)))
    num = ea["sum"].to_numpy()[idx].sum(1) / ea["size"].to_numpy()[idx].sum(1)
    den = eb["sum"].to_numpy()[idx].sum(1) / eb["size"].to_numpy()[idx].sum(1)
    r = num / den
    return _mase(a) / _mase(b), float(np.quantile(r, 0.05)), float(np.quantile(r, 0.95))


def account_accuracy(bt: AccountBacktest, *, national: str = NATIONAL, boot: int = 999,
                     seed: int = 20261207) -> pd.DataFrame:
    """Coherent against separate on the same non-break cells, per headline series (:data:`SERIES`).

    Returns
    -------
    DataFrame
        ``series, cells, mase_separate, mase_coherent, ratio, ci90_lo, ci90_hi`` (bootstrap over
        regions for regional rows, over origins for national ones; ratio < 1: coherence is more
        accurate), ``cov80_separate, cov80_coherent, cov95_separate, cov95_coherent`` and
        ``worse``: the interval lies above 1 (coherence costs accuracy beyond the bootstrap).
    """
    rows = []
    nb = lambda d: d.loc[~d["is_break"].astype(bool) & (d["year"] > d["origin_year"])]  # noqa: E731
    for label, var, scope in SERIES:
        pick = (lambda d: d["region"] == national) if scope == "national" else (lambda d: d["region"] != national)
        c = nb(bt.coherent.loc[(bt.coherent["variable"] == var) & pick(bt.coherent)])
        s = nb(bt.separate.loc[(bt.separate["variable"] == var) & pick(bt.separate)])
        c = c.merge(s[CELL], on=CELL)
        s = s.merge(c[CELL], on=CELL)
        if c.empty:
            continue
        r, lo, hi = ratio_interval(c, s, "origin_year" if scope == "national" else "region", boot, seed)
        row = {"series": label, "cells": len(c), "mase_separate": _mase(s), "mase_coherent": _mase(c),
               "ratio": r, "ci90_lo": lo, "ci90_hi": hi}
        for lv in (80, 95):
            for arm, d in (("separate", s), ("coherent", c)):
                row[f"cov{lv}_{arm}"] = (acc.coverage(d["actual"], d[f"lower_{lv}"], d[f"upper_{lv}"])
                                         if f"lower_{lv}" in d else np.nan)
        row["worse"] = bool(lo > 1.0)
        rows.append(row)
    return pd.DataFrame(rows)


def long_intervals(rows: pd.DataFrame, model: str = "account") -> pd.DataFrame:
    """Wide bounds (``lower_80`` ...) as the long backtest layout (``target, model, level, lower, upper``)."""
    out = []
    for lv in LEVELS:
        t = int(lv * 100)
        if f"lower_{t}" not in rows:
            continue
        out.append(rows.assign(level=lv, lower=rows[f"lower_{t}"], upper=rows[f"upper_{t}"]))
    d = pd.concat(out, ignore_index=True).rename(columns={"variable": "target"}).assign(model=model)
    return d.drop(columns=[c for c in d.columns if c.startswith(("lower_", "upper_"))])
