"""kzmig.features.ingest.fetch.diff against a plain-loop oracle and hand-written expectations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kzmig.features.ingest.fetch.diff import diff_observations, summarise


def table(rows):
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value"]).assign(flag="", source="s")


OLD = table([("akmola", 2020, "population", 100.0), ("akmola", 2021, "population", 110.0),
             ("aktobe", 2020, "population", 200.0), ("aktobe", 2020, "births", np.nan),
             ("aktobe", 2021, "births", 5.0), ("astana", 2020, "births", 7.0)])
NEW = table([("akmola", 2020, "population", 100.0), ("akmola", 2021, "population", 111.5),   # revised
             ("aktobe", 2020, "population", 200.0), ("aktobe", 2020, "births", np.nan),      # NaN = NaN
             ("aktobe", 2021, "births", np.nan),                                             # value -> missing
             ("akmola", 2022, "population", 120.0)])                                         # added; astana removed


def oracle(old: pd.DataFrame, new: pd.DataFrame) -> set[tuple]:
    o = {(r.variable, r.region, r.year): r.value for r in old.itertuples()}
    n = {(r.variable, r.region, r.year): r.value for r in new.itertuples()}
    out = set()
    for k in o.keys() | n.keys():
        if k not in n:
            out.add(("removed", *k))
        elif k not in o:
            out.add(("added", *k))
        elif not (o[k] == n[k] or (math.isnan(o[k]) and math.isnan(n[k]))):
            out.add(("revised", *k))
    return out


def test_diff_matches_hand_list_and_plain_loop():
    d = diff_observations(OLD, NEW)
    got = {(c, v, r, int(y)) for c, v, r, y in d[["change", "variable", "region", "year"]].itertuples(index=False)}
    assert got == {("revised", "population", "akmola", 2021), ("revised", "births", "aktobe", 2021),
                   ("added", "population", "akmola", 2022), ("removed", "births", "astana", 2020)}
    assert got == oracle(OLD, NEW)
    rev = d[(d["region"] == "akmola") & (d["change"] == "revised")].iloc[0]
    assert (rev["old"], rev["new"], rev["difference"]) == (110.0, 111.5, 1.5)
    assert list(d["variable"]) == sorted(d["variable"])  # sorted by variable, region, year


def test_identical_tables_give_an_empty_diff_and_summary():
    d = diff_observations(OLD, OLD.sample(frac=1, random_state=3))
    assert d.empty and summarise(d).empty


def test_summary_counts_per_variable():
    s = summarise(diff_observations(OLD, NEW)).set_index("variable")
    assert s.loc["population", ["revised", "added", "removed"]].tolist() == [1, 1, 0]
    assert s.loc["births", ["revised", "added", "removed"]].tolist() == [1, 0, 1]
    assert s.loc["population", "years"] == "2021-2022" and s.loc["births", "regions"] == 2


def test_random_tables_agree_with_the_oracle():
    rng = np.random.default_rng(11)
    keys = [(r, y, "population") for r in ("akmola", "aktobe", "atyrau") for y in range(2000, 2010)]
    for _ in range(20):
        pick = lambda: [k + (float(rng.integers(0, 3)),) for k in keys if rng.random() < 0.7]  # noqa: E731
        old, new = table(pick()), table(pick())
        d = diff_observations(old, new)
        assert {(c, v, r, int(y)) for c, v, r, y in d[["change", "variable", "region", "year"]].itertuples(index=False)} \
            == oracle(old, new)


def test_revisions_within_the_rounding_of_the_old_value():
    from decimal import ROUND_HALF_UP, Decimal

    # (variable, old, new, source): a wage series stored in whole tenge, the national series with a
    # decimal (77610.5: not stored in whole units), and a rate printed to 0.1 that happens to be 5.0
    cases = [("avg_wage_kzt", 126021.0, 126020.76, "w"), ("avg_wage_kzt", 126021.0, 126021.5, "w"),
             ("avg_wage_kzt", 126021.0, 126020.5, "w"), ("avg_wage_kzt", 126021.0, 126022.0, "w"),
             ("avg_wage_kzt", 100.0, 100.4, "w"), ("avg_wage_kzt", -5.0, -5.3, "w"), ("avg_wage_kzt", -5.0, -4.6, "w"),
             ("avg_wage_kzt", 77610.5, 77610.46, "n"), ("avg_wage_kzt", 77610.0, 77610.2, "n"),
             ("unemployment_rate_pct", 5.0, 4.9, "r"), ("unemployment_rate_pct", 5.3, 5.3, "r")]

    def tab(pick):
        return pd.DataFrame([("akmola", 2000 + i, v, pick(o, n), src) for i, (v, o, n, src) in enumerate(cases)],
                            columns=["region", "year", "variable", "value", "source"]).assign(flag="")

    d = diff_observations(tab(lambda o, n: o), tab(lambda o, n: n))
    assert (d["change"] == "revised").all() and len(d) == len(cases) - 1  # the last one is equal
    got = dict(zip(d["year"] - 2000, d["within_rounding"]))
    # by hand: the old series is stored in whole units and the old value is the new one rounded half up
    assert [got[i] for i in range(len(cases) - 1)] == [True, False, True, False, True, True, True, False, False, False]
    # a second reckoning with Decimal (ROUND_HALF_UP differs from floor(n + 0.5) only at negative halves: none here)
    whole_series = {"w": True, "n": False, "r": False}
    oracle = [whole_series[src] and n != int(n) and Decimal(repr(n)).quantize(Decimal(1), ROUND_HALF_UP) == Decimal(int(o))
              for _, o, n, src in cases[:-1]]
    assert [got[i] for i in range(len(cases) - 1)] == oracle
    s = summarise(d).set_index("variable")
    assert s.loc["avg_wage_kzt", ["revised", "within_rounding"]].tolist() == [9, 5]
    assert s.loc["unemployment_rate_pct", "within_rounding"] == 0
    assert not diff_observations(OLD, NEW)["within_rounding"].any()
