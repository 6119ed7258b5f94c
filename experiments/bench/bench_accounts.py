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
2. **Coherent against separate** (:func:`kzmig.studies.account_backtest.account_backtest`, the
   code the planning run uses). At every backtest origin and target year, the account
   (regional persons, national net migration, external arrivals and departures, and their CIS /
   non-CIS parts where the external study has them) is reconciled at once, by OLS and by WLS
   with each series' mean squared error over the non-break cells known at the origin (target
   year <= origin; a diagonal W needs no common cells; OLS where a series has fewer than 3 such
   errors). The regional rate is derived from the coherent persons. MASE of the coherent and
   of the separate forecast on the same non-break cells, with the cells counted and a 90 %
   bootstrap interval of the ratio (regions resampled for regional rows, origins for national
   ones), and the coverage of both arms' intervals (bounds move with their point).
   **The rule that picks the run's weights was fixed before the comparison was run**
   (:func:`choose_method`): the lower mean ratio over the five headline series; OLS unless WLS is
   lower by 0.005.
3. **Coverage of the published intervals** on the reconciled backtest of the chosen method,
   and the calibration the run applies (:func:`kzmig.studies.accounts.interval_coverage`): the
   half-widths scaled by the split-conformal factor of the scaled errors where the coverage is
   outside level +-5 points and there are at least 20 cells; the calibrated coverage is
   measured leaving each origin out.

Scoring uses each series' scale as the study stored it (``scale``, the bridged naive scale)
and the published values; nothing is refitted. The selected model's backtest saw the years it
is scored on, which flatters both arms alike. Run::

    python experiments/bench/bench_accounts.py NET_RUN EXT_RUN [--origins 2012 2021] [--boot 999]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from kzmig.features.data.dataset import load_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.forecast.planning import accounts as acc
from kzmig.studies.account_backtest import (CELL, account_accuracy, account_backtest, convert, long_intervals,
                                            ratio_interval, selected_backtest)
from kzmig.studies.accounts import interval_coverage

AGGREGATES = ("all_regions", "all_series")
EXT_TARGETS = (acc.ARRIVALS, acc.DEPARTURES, acc.ARRIVALS_CIS, acc.ARRIVALS_NON_CIS, acc.DEPARTURES_CIS,
               acc.DEPARTURES_NON_CIS)


def selected_models(run: Path) -> dict[str, str]:
    """Target -> the model the study selected (``accuracy_honest.csv``, ``study_selected``)."""
    h = pd.read_csv(run / "accuracy_honest.csv")
    h = h.loc[h["aggregate"].isin(AGGREGATES) & h["study_selected"].astype(bool)]
    return dict(zip(h["target"], h["model"]))


def mase(rows: pd.DataFrame) -> float:
    return float(((rows["actual"] - rows["point"]).abs() / rows["scale"]).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("net_run", type=Path)
    ap.add_argument("ext_run", type=Path)
    ap.add_argument("--origins", type=int, nargs=2, default=None, help="first and last backtest origin")
    ap.add_argument("--boot", type=int, default=999)
    ap.add_argument("--seed", type=int, default=20261207)
    a = ap.parse_args(argv)
    pd.set_option("display.width", 250)
    fmt = lambda x: f"{x:.3f}"  # noqa: E731
    panel = load_panel("harmonised", 2018)
    backtest = pd.concat([pd.read_csv(r / "backtest_predictions.csv") for r in (a.net_run, a.ext_run)],
                         ignore_index=True)
    if a.origins:
        backtest = backtest.loc[backtest["origin_year"].between(*a.origins)]
    chosen = {**selected_models(a.net_run), **selected_models(a.ext_run)}
    print("selected models:", {t: chosen[t] for t in (acc.NET, acc.RATE, *EXT_TARGETS) if t in chosen})
    b = selected_backtest(backtest, chosen)
    persons = b.loc[(b["target"] == acc.NET) & (b["region"] != NATIONAL)]
    rate = b.loc[(b["target"] == acc.RATE) & (b["region"] != NATIONAL)]
    nb = lambda d: d.loc[~d["is_break"].astype(bool)]  # noqa: E731

    # ---- 1. which quantity to model
    truth = ["actual", "scale", "is_break"]
    p_from_r = convert(rate, panel, "persons").drop(columns=truth).merge(persons[[*CELL, *truth]], on=CELL)
    r_from_p = convert(persons, panel, "rate").drop(columns=truth).merge(rate[[*CELL, *truth]], on=CELL)
    lines = []
    for label, derived, direct in (("regional persons: from the rate / modelled", p_from_r, persons),
                                   ("regional rate: from persons / modelled", r_from_p, rate)):
        d = nb(derived).merge(nb(direct)[CELL], on=CELL)
        s = nb(direct).merge(d[CELL], on=CELL)
        r, lo, hi = ratio_interval(d, s, "region", a.boot, a.seed)
        lines.append({"comparison": label, "cells": len(d), "mase_derived": mase(d), "mase_modelled": mase(s),
                      "ratio": r, "ci90_lo": lo, "ci90_hi": hi})
    choice = pd.DataFrame(lines)
    print("\n1. Which quantity to model (non-break cells; ratio < 1: the derived view is more accurate)")
    print(choice.to_string(index=False, float_format=fmt))
    print("decision: model the " + ("rate and derive persons" if choice["ratio"].iloc[0] <= 1.0
                                    else "persons and derive the rate"))

    # ---- 2. coherent against separate, by OLS and WLS; the rule picks the run's weights
    results, backtests = {}, {}
    for method in ("ols", "wls"):
        bt = account_backtest(backtest, chosen, panel, method=method)
        table = account_accuracy(bt, boot=a.boot, seed=a.seed)
        results[method], backtests[method] = table, bt
        print(f"\n2. Coherent ({method.upper()}) against separate, non-break cells, origins "
              f"{int(backtest['origin_year'].min())}-{int(backtest['origin_year'].max())}; "
              f"{bt.outside} regional cells outside the account (incomplete partition at their origin)"
              + (f"; {bt.fallback} cross-sections by OLS for want of {3} known errors per series"
                 if bt.fallback else ""))
        print(table.to_string(index=False, float_format=fmt))
        if bt.skipped:
            print("identities not enforced in some cross-sections:", *sorted(bt.skipped)[:6], sep="\n  ")
    decision = choose_method(results)
    print("\n" + decision)
    pick = "wls" if decision.endswith("WLS") else "ols"

    # ---- 3. coverage of the published intervals: reconciled backtest, calibrated as the run does
    bt = backtests[pick]
    ours = set(bt.coherent["variable"])
    calib = pd.concat([backtest.loc[~backtest["target"].isin(ours)], long_intervals(bt.coherent)],
                      ignore_index=True)
    cov = interval_coverage(calib, {**chosen, **{t: "account" for t in ours}})
    print(f"\n3. Interval coverage on the reconciled ({pick.upper()}) backtest, non-break cells; calibrated where "
          "outside level +-5 points with >= 20 cells (coverage_calibrated: leaving each origin out)")
    print(cov.to_string(index=False, float_format=fmt))
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
