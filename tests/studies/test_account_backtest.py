"""The account on stored backtests (SYNTHETIC): coherent inputs come back unchanged, incoherent ones
come back satisfying every identity in every cross-section."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.planning.accounts import ARRIVALS, DEPARTURES, NET, RATE
from kzmig.studies.account_backtest import account_accuracy, account_backtest

NAT = "kazakhstan"
REGIONS = ("a", "b", "c")


def _setup(gap: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    panel = pd.DataFrame([(r, y, 1e6 * (i + 1) + 1e4 * (y - 2010), 5e3 * (i + 1))
                          for i, r in enumerate(REGIONS) for y in range(2010, 2024)],
                         columns=["region", "year", "population", "natural_increase"])
    pop = panel.set_index(["region", "year"])
    rows = []
    for o in range(2012, 2020):
        nat = {}
        for r in REGIONS:
            p, n = pop.loc[(r, o + 1), "population"], pop.loc[(r, o), "natural_increase"]
            for y in (o + 1, o + 2):
                m = rng.normal(0, 4)
                x = m * (2 * p + n) / (2000 - m)  # persons of this rate on the origin's population path
                p = p + n + x
                nat[y] = nat.get(y, 0.0) + x
                rows.append((RATE, "r", r, o, y, m, m + rng.normal(0, 2), 1.0))
                rows.append((NET, "p", r, o, y, x + rng.normal(0, 500), x + rng.normal(0, 3000), 3000.0))
        for y, v in nat.items():
            rows.append((NET, "p", NAT, o, y, v + gap, v + rng.normal(0, 5000), 5000.0))
            rows.append((ARRIVALS, "e", NAT, o, y, 20000 + v, 20000 + v + rng.normal(0, 1000), 1000.0))
            rows.append((DEPARTURES, "e", NAT, o, y, 20000.0, 20000 + rng.normal(0, 1000), 1000.0))
    bt = pd.DataFrame(rows, columns=["target", "model", "region", "origin_year", "year", "point", "actual", "scale"])
    bt = pd.concat([bt.assign(level=lv, lower=bt["point"] - k * bt["scale"], upper=bt["point"] + k * bt["scale"])
                    for lv, k in ((0.8, 1.3), (0.95, 2.0))], ignore_index=True).assign(is_break=False)
    return bt, panel, {NET: "p", RATE: "r", ARRIVALS: "e", DEPARTURES: "e"}


@pytest.mark.parametrize("method", ["ols", "wls"])
def test_coherent_backtest_is_left_alone(method):
    bt, panel, chosen = _setup()
    res = account_backtest(bt, chosen, panel, method=method)
    c = res.coherent.set_index(["variable", "region", "origin_year", "year"])["point"]
    s = res.separate.set_index(["variable", "region", "origin_year", "year"])["point"]
    for var in (ARRIVALS, DEPARTURES):
        assert np.allclose(c.loc[var], s.loc[var].reindex(c.loc[var].index), atol=1e-6)
    assert np.allclose(c.loc[RATE], s.loc[RATE].reindex(c.loc[RATE].index), atol=1e-9)  # rate -> persons -> rate
    acc = account_accuracy(res, boot=99).set_index("series")
    assert acc.loc["arrivals", "ratio"] == pytest.approx(1.0) and acc.loc["regional rate", "ratio"] == pytest.approx(1.0)
    assert acc.loc["departures", "cells"] == 16 and not acc["worse"].any()


@pytest.mark.parametrize("method", ["ols", "wls"])
def test_incoherent_backtest_is_reconciled_in_every_cross_section(method):
    bt, panel, chosen = _setup(gap=4000.0, seed=1)
    res = account_backtest(bt, chosen, panel, method=method)
    c = res.coherent
    for (_, _), g in c.loc[c["variable"] != RATE].groupby(["origin_year", "year"]):
        v = g.set_index(["variable", "region"])["point"]
        nat = v[(NET, NAT)]
        assert nat == pytest.approx(sum(v[(NET, r)] for r in REGIONS), abs=1e-6)
        assert nat == pytest.approx(v[(ARRIVALS, NAT)] - v[(DEPARTURES, NAT)], abs=1e-6)
    moved = c.loc[(c["variable"] == NET) & (c["region"] == NAT), "point"].to_numpy()
    sep = res.separate.loc[(res.separate["variable"] == NET) & (res.separate["region"] == NAT), "point"].to_numpy()
    assert np.all(np.abs(moved - sep) > 1)  # the gap was spread, not ignored


def test_an_identity_missing_from_some_cross_sections_is_warned_about_once(caplog):
    """Arrivals missing at one origin: the national identity is not enforced in its two
    (origin, year) cross-sections, and the log says so once, with the count, not once per section."""
    bt, panel, chosen = _setup(gap=4000.0, seed=2)
    bt = bt.loc[~((bt["target"] == ARRIVALS) & (bt["origin_year"] == 2012))]
    with caplog.at_level("WARNING", logger="kzmig"):
        res = account_backtest(bt, chosen, panel, method="ols")
    said = [r.getMessage() for r in caplog.records if "national_is_arrivals_minus_departures" in r.getMessage()]
    assert said == [f"account backtest: national_is_arrivals_minus_departures ({NAT}): not enforced, no forecast of "
                    f"{ARRIVALS}[{NAT}] (in 2 of 16 origin-year cross-sections)."]
    assert res.skipped[0] == f"national_is_arrivals_minus_departures ({NAT}): not enforced, no forecast of {ARRIVALS}[{NAT}]"
    warned = [r for r in caplog.records if "not enforced" in r.getMessage()]
    assert len(warned) == len(res.skipped) == 4  # one line per distinct identity, over 16 cross-sections
