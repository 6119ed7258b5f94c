"""Coherent account against today's separate forecasts, on the same backtest cells (issue 18).

Reads the backtest tables of two forecast run folders (``kzmig forecast
experiments/net_migration.toml`` and ``kzmig forecast experiments/external_flows.toml``, or
a planning run's ``forecast/net_migration`` and ``forecast/external_flows``) and, for the model
each study selected per target (the forecast the run publishes), prints:

1. **Which quantity to model.** Regional persons from the selected *rate* forecast through
   the population projection (:func:`kzmig.forecast.planning.accounts.persons_from_rate`) against the
   selected *persons* forecast, and the rate from the persons forecast against the rate
   forecast: MASE ratio with a bootstrap interval (regions resampled), on the same non-break
   cells. The population path starts from the 1 January population after the origin year
   (published by the origin) and carries the natural increase of the origin year forward
   (naive), so nothing after the origin is used.
2. **Coherent against separate.** At every backtest origin and target year, the account
   (regional persons, national net migration, external arrivals and departures, and their CIS /
   non-CIS parts where the external study has them) is reconciled at once
   (:func:`kzmig.forecast.planning.accounts.reconcile_account`), by OLS and by WLS with the variances of
   the backtest errors known at the origin (target year <= origin; OLS where a series has fewer
   than 3 such errors). The regional rate is derived from the coherent persons. MASE of the
   coherent and of the separate forecast on the same non-break cells, with the cells counted
   and a 90 % bootstrap interval of the ratio (regions resampled for regional rows, origins
   for national ones).
3. **Coverage.** Share of non-break outcomes inside the 80 % / 95 % intervals: the separate
   forecast's own intervals, the coherent forecast with the same intervals moved by the
   reconciliation, and split-conformal intervals calibrated on the *reconciled* backtest errors
   known at each origin (:func:`kzmig.forecast.engine.conformal.conformalize_backtest`; early origins
   without enough errors get none, and the cells with an interval are counted).

Scoring uses each series' scale as the study stored it (``scale``, the bridged naive scale)
and the published values; nothing is refitted. The selected model's backtest saw the years it
is scored on, which flatters both arms alike. Run::

    python experiments/bench/bench_accounts.py NET_RUN EXT_RUN [--origins 2012 2021] [--boot 999]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.features.data.dataset import load_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.planning import accounts as acc
from kzmig.forecast.engine.conformal import conformalize_backtest

LEVELS = (0.8, 0.95)
AGGREGATES = ("all_regions", "all_series")
EXT_TARGETS = (acc.ARRIVALS, acc.DEPARTURES, acc.ARRIVALS_CIS, acc.ARRIVALS_NON_CIS, acc.DEPARTURES_CIS,
               acc.DEPARTURES_NON_CIS)
CELL = ["region", "origin_year", "year"]


def selected_models(run: Path) -> dict[str, str]:
    """Target -> the model the study selected (``accuracy_honest.csv``, ``study_selected``)."""
    h = pd.read_csv(run / "accuracy_honest.csv")
    h = h.loc[h["aggregate"].isin(AGGREGATES) & h["study_selected"].astype(bool)]
    return dict(zip(h["target"], h["model"]))


def selected_rows(run: Path, origins: tuple[int, int] | None) -> pd.DataFrame:
    """One row per target, region, origin, year of the selected model: point, actual, scale,
    is_break, lower_80, upper_80, lower_95, upper_95."""
    preds = pd.read_csv(run / "backtest_predictions.csv")
    chosen = selected_models(run)
    preds = preds.loc[preds["model"] == preds["target"].map(chosen)]
    if origins:
        preds = preds.loc[preds["origin_year"].between(*origins)]
    key = ["target", *CELL]
    out = preds.drop_duplicates(key)[key + ["model", "point", "actual", "scale", "is_break"]]
    for lv in LEVELS:
        b = preds.loc[np.isclose(preds["level"], lv), key + ["lower", "upper"]]
        out = out.merge(b.rename(columns={"lower": f"lower_{int(lv * 100)}", "upper": f"upper_{int(lv * 100)}"}),
                        on=key, how="left")
    return out.reset_index(drop=True)


def _paths(rows: pd.DataFrame, panel: pd.DataFrame, value: str = "point") -> pd.DataFrame:
    """Population start and naive natural increase for each (region, origin) path of ``rows``."""
    pop = panel.set_index(["region", "year"])["population"]
    ni = panel.set_index(["region", "year"])["natural_increase"]
    r = rows.assign(p0=pop.reindex(pd.MultiIndex.from_arrays([rows["region"], rows["origin_year"] + 1])).to_numpy(),
                    ni=ni.reindex(pd.MultiIndex.from_arrays([rows["region"], rows["origin_year"]])).to_numpy())
    return r


def convert(rows: pd.DataFrame, panel: pd.DataFrame, to: str) -> pd.DataFrame:
    """Each (region, origin) path of ``rows`` (``point`` and the bounds) in the other view."""
    r = _paths(rows, panel)
    out = []
    for (_, _), g in r.sort_values("year").groupby(["region", "origin_year"], sort=True):
        if g[["p0", "ni"]].isna().any().any():
            continue
        yrs = g["year"].to_numpy()
        if yrs[0] != g["origin_year"].iloc[0] + 1 or (np.diff(yrs) != 1).any():
            continue
        p0, ni, pt = g["p0"].iloc[0], np.full(len(g), g["ni"].iloc[0]), g["point"].to_numpy(float)
        fn = acc.persons_from_rate if to == "persons" else acc.rate_from_persons
        conv, _ = fn(pt, p0, ni)
        new = g.assign(point=conv)
        for c in [c for c in g.columns if c.startswith(("lower_", "upper_"))]:
            b = g[c].to_numpy(float)
            new[c] = np.where(np.isfinite(b), acc.map_interval_bounds(np.nan_to_num(b), to, p0, ni, pt), np.nan)
        out.append(new)
    return pd.concat(out, ignore_index=True)


def mase(rows: pd.DataFrame, col: str = "point") -> float:
    return float(((rows["actual"] - rows[col]).abs() / rows["scale"]).mean())


def ratio_ci(a: pd.DataFrame, b: pd.DataFrame, cluster: str, boot: int, seed: int) -> tuple[float, float, float]:
    """MASE(a) / MASE(b) on the same cells, with a 90 % cluster-bootstrap interval."""
    ea = ((a["actual"] - a["point"]).abs() / a["scale"]).groupby(a[cluster]).agg(["sum", "size"])
    eb = ((b["actual"] - b["point"]).abs() / b["scale"]).groupby(b[cluster]).agg(["sum", "size"])
    ea, eb = ea.align(eb, join="inner", axis=0)
    rng = np.random.default_rng(seed)
    k = len(ea)
    idx = rng.integers(0, k, size=(boot, k))
    num = ea["sum"].to_numpy()[idx].sum(1) / ea["size"].to_numpy()[idx].sum(1)
    den = eb["sum"].to_numpy()[idx].sum(1) / eb["size"].to_numpy()[idx].sum(1)
    r = num / den
    return mase(a) / mase(b), float(np.quantile(r, 0.05)), float(np.quantile(r, 0.95))


def _coverage(rows: pd.DataFrame, lv: int) -> tuple[float, int]:
    lo, hi = rows[f"lower_{lv}"], rows[f"upper_{lv}"]
    ok = lo.notna() & hi.notna()
    return acc.coverage(rows["actual"], lo, hi), int(ok.sum())


def reconcile_backtest(base: pd.DataFrame, method: str) -> tuple[pd.DataFrame, list[str], int]:
    """Reconcile every (origin, year) cross-section of ``base`` (``variable`` = target).

    WLS uses, at origin ``o``, the mean squared base error of each series over its own target
    years ``<= o`` and non-break cells (:func:`kzmig.forecast.planning.accounts.error_variances`:
    a diagonal ``W`` needs no common cells), as the run does with the whole backtest; a
    cross-section where a series has fewer than 3 such errors is reconciled by OLS (counted in
    the third value)."""
    frames, skipped, fallback = [], [], 0
    for (o, y), g in base.groupby(["origin_year", "year"], sort=True):
        var = None
        m = method
        if method == "wls":
            known = base.loc[(base["year"] <= o) & ~base["is_break"].astype(bool)]
            var = acc.error_variances(known.assign(error=known["actual"] - known["point"]), min_errors=3)
            if not all((v, r) in var.index for v, r in zip(g["variable"], g["region"])):
                m, var, fallback = "ols", None, fallback + 1
        res = acc.reconcile_account(g, method=m, variances=var)
        skipped += [s for s in res.skipped if s not in skipped]
        frames.append(res.reconciled)
    out = pd.concat(frames, ignore_index=True)
    adj = out["point"] - out["base"]
    for c in [c for c in out.columns if c.startswith(("lower_", "upper_"))]:
        out[c] = out[c] + adj
    return out, skipped, fallback


def conformal_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Split-conformal 80/95 % intervals from the reconciled errors known at each origin."""
    p = rows.assign(model="coherent", lower=np.nan, upper=np.nan, level=np.nan)
    out = []
    for v, g in p.groupby("variable", sort=True):
        cols = ["model", "region", "origin_year", "year", "point", "lower", "upper", "level", "actual", "scale",
                "is_break"]
        c = conformalize_backtest(g[cols].reset_index(drop=True), LEVELS)
        w = c.drop_duplicates(CELL)[CELL].copy()
        for lv in LEVELS:
            b = c.loc[np.isclose(c["level"], lv), CELL + ["lower", "upper"]]
            w = w.merge(b.rename(columns={"lower": f"lower_{int(lv * 100)}", "upper": f"upper_{int(lv * 100)}"}),
                        on=CELL, how="left")
        keep = g.drop(columns=[x for x in g.columns if x.startswith(("lower_", "upper_"))])
        out.append(keep.merge(w, on=CELL, how="left"))
    return pd.concat(out, ignore_index=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("net_run", type=Path)
    ap.add_argument("ext_run", type=Path)
    ap.add_argument("--origins", type=int, nargs=2, default=None, help="first and last backtest origin")
    ap.add_argument("--boot", type=int, default=999)
    ap.add_argument("--seed", type=int, default=20261207)
    a = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    panel = load_panel("harmonised", 2018)
    net = selected_rows(a.net_run, a.origins)
    ext = selected_rows(a.ext_run, a.origins)
    chosen = {**selected_models(a.net_run), **selected_models(a.ext_run)}
    print("selected models:", {t: chosen[t] for t in (acc.NET, acc.RATE, *EXT_TARGETS) if t in chosen})
    persons = net.loc[(net["target"] == acc.NET) & (net["region"] != NATIONAL)]
    rate = net.loc[(net["target"] == acc.RATE) & (net["region"] != NATIONAL)]
    nb = lambda d: d.loc[~d["is_break"].astype(bool)]  # noqa: E731

    # ---- 1. which quantity to model
    p_from_r = convert(rate, panel, "persons").drop(columns=["actual", "scale", "is_break", "target", "p0", "ni"])
    p_from_r = p_from_r.merge(persons[[*CELL, "actual", "scale", "is_break"]], on=CELL)
    r_from_p = convert(persons, panel, "rate").drop(columns=["actual", "scale", "is_break", "target", "p0", "ni"])
    r_from_p = r_from_p.merge(rate[[*CELL, "actual", "scale", "is_break"]], on=CELL)
    lines = []
    for label, derived, direct in (("regional persons: from the rate / modelled", p_from_r, persons),
                                   ("regional rate: from persons / modelled", r_from_p, rate)):
        d = nb(derived).merge(nb(direct)[CELL], on=CELL)
        s = nb(direct).merge(d[CELL], on=CELL)
        r, lo, hi = ratio_ci(d, s, "region", a.boot, a.seed)
        lines.append({"comparison": label, "cells": len(d), "mase_derived": mase(d), "mase_modelled": mase(s),
                      "ratio": r, "ci90_lo": lo, "ci90_hi": hi})
    choice = pd.DataFrame(lines)
    print("\n1. Which quantity to model (non-break cells; ratio < 1: the derived view is more accurate)")
    print(choice.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    model_rate = choice["ratio"].iloc[0] <= 1.0
    print(f"decision: model the {'rate and derive persons' if model_rate else 'persons and derive the rate'}")
    regional = p_from_r if model_rate else persons

    # ---- 2. coherent against separate
    base = pd.concat([regional.assign(target=acc.NET),
                      net.loc[(net["target"] == acc.NET) & (net["region"] == NATIONAL)],
                      ext.loc[ext["target"].isin(EXT_TARGETS)]], ignore_index=True)
    base = base.rename(columns={"target": "variable"})[
        ["variable", *CELL, "point", "actual", "scale", "is_break"]
        + [c for c in base.columns if c.startswith(("lower_", "upper_"))]]
    # where some region has no backtest forecast at an origin (Shymkent and Turkestan are
    # separate only from 2017), the regions do not partition the country: their rows stay out of
    # the account there (coherent = separate) and only the national identities are enforced
    n_reg = persons["region"].nunique()
    reg = (base["variable"] == acc.NET) & (base["region"] != NATIONAL)
    full = base.loc[reg].groupby(["origin_year", "year"])["region"].transform("size") == n_reg
    partial = base.loc[reg].loc[~full]
    base = base.drop(index=partial.index)
    print(f"regional cells outside the account (incomplete partition at their origin): {len(partial)} of "
          f"{int(reg.sum())}, origins {sorted(set(partial['origin_year']))}")
    separate = {acc.NET: persons, acc.RATE: rate}
    inside = lambda d: d.merge(partial[CELL], on=CELL, how="left", indicator=True).query(  # noqa: E731
        "_merge == 'left_only'").drop(columns="_merge")
    groups = [("regional persons", acc.NET, False), ("regional rate", acc.RATE, False),
              ("regional persons, in account", acc.NET, "inside"), ("regional rate, in account", acc.RATE, "inside"),
              ("national balance", acc.NET, True), ("arrivals", acc.ARRIVALS, True),
              ("departures", acc.DEPARTURES, True)]
    results = {}
    for method in ("ols", "wls"):
        coh, skipped, fallback = reconcile_backtest(base, method)
        coh = pd.concat([coh, partial.assign(base=partial["point"])], ignore_index=True)
        coh_rate = convert(coh.loc[(coh["variable"] == acc.NET) & (coh["region"] != NATIONAL)], panel, "rate")
        coh_rate = coh_rate.drop(columns=["actual", "scale", "is_break"]).merge(
            rate[[*CELL, "actual", "scale", "is_break"]], on=CELL).assign(variable=acc.RATE)
        conf = conformal_rows(pd.concat([coh, coh_rate.drop(columns=["p0", "ni", "base"], errors="ignore")],
                                        ignore_index=True))
        rows = []
        for label, var, national in groups:
            if national == "inside":
                pick = lambda d: inside(d.loc[d["region"] != NATIONAL])  # noqa: E731
            elif national:
                pick = lambda d: d.loc[d["region"] == NATIONAL]  # noqa: E731
            else:
                pick = lambda d: d.loc[d["region"] != NATIONAL]  # noqa: E731
            sep = separate.get(var) if national is not True else None
            if sep is None:
                src = net if var == acc.NET else ext
                sep = src.loc[src["target"] == var]
            sep = nb(pick(sep))
            c_all = coh_rate if var == acc.RATE else coh.loc[coh["variable"] == var]
            c = nb(pick(c_all)).merge(sep[CELL], on=CELL)
            s = sep.merge(c[CELL], on=CELL)
            cf = nb(pick(conf.loc[conf["variable"] == var])).merge(c[CELL], on=CELL)
            r, lo, hi = ratio_ci(c, s, "origin_year" if national is True else "region", a.boot, a.seed)
            row = {"series": label, "cells": len(c), "mase_separate": mase(s), "mase_coherent": mase(c),
                   "ratio": r, "ci90_lo": lo, "ci90_hi": hi}
            for lv in (80, 95):
                row[f"cov{lv}_separate"], _ = _coverage(s, lv)
                row[f"cov{lv}_coherent"], _ = _coverage(c, lv)
                row[f"cov{lv}_calibrated"], n = _coverage(cf, lv)
                row[f"n{lv}_calibrated"] = n
            rows.append(row)
        table = pd.DataFrame(rows)
        results[method] = table
        print(f"\n2-3. Coherent ({method.upper()}) against separate, non-break cells, origins "
              f"{int(base['origin_year'].min())}-{int(base['origin_year'].max())}"
              + (f"; {fallback} cross-sections by OLS for want of 3 known errors per series" if fallback else ""))
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        if skipped:
            print("identities not enforced in some cross-sections:", *sorted(skipped)[:6], sep="\n  ")
    print("\n" + choose_method(results))
    return 0


#: the rule that picks the run's reconciliation weights, fixed before the comparison was run
#: (2026-12-07): the mean over these series of the coherent / separate MASE ratio on the same
#: non-break cells decides; OLS unless WLS is lower by at least TIE
HEADLINE = ("regional persons", "regional rate", "national balance", "arrivals", "departures")
TIE = 0.005


def choose_method(results: dict[str, pd.DataFrame]) -> str:
    """The decision line: which weights the run should use, by the rule fixed in advance."""
    mean = {m: float(t.set_index("series").loc[list(HEADLINE), "ratio"].mean()) for m, t in results.items()}
    pick = "wls" if mean["wls"] <= mean["ols"] - TIE else "ols"
    return (f"weights (rule fixed in advance: lower mean coherent/separate ratio over {', '.join(HEADLINE)}; "
            f"OLS unless WLS is lower by {TIE}): mean ratio OLS {mean['ols']:.3f}, WLS {mean['wls']:.3f} -> "
            f"{pick.upper()}")


if __name__ == "__main__":
    sys.exit(main())
