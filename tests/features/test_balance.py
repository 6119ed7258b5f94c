"""The balancing equation M(t) = P(t+1) - P(t) - N(t) and its break flags, against a plain loop.

The expected values are computed row by row from a dict of (region, year) -> values, never with
the module's own helpers; the panel is shuffled and has a gap so that a lag taken by row
position, or a year shifted the wrong way, gives a different number.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kzmig.features.assessment.balance import BREAKS, balancing_migration, break_flags, derive_net_migration, next_year_value


def _wide() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for region in ("akmola", "almaty_city", "astana"):
        for year in range(2005, 2024):
            if region == "akmola" and year == 2012:  # a gap: 2011 has no t+1, 2012 no row
                continue
            nat = float(rng.integers(-500, 3000))
            rows.append({"region": region, "year": year, "population": float(rng.integers(10**5, 2 * 10**6)),
                         "natural_increase": np.nan if (region, year) == ("astana", 2010) else nat})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=3)  # rows out of order
    df.index = df.index * 10 + 7  # and an index that is not 0..n-1: results align on it
    return df.astype({"region": "string", "year": "int64"})


def _plain_loop(wide: pd.DataFrame) -> dict[tuple[str, int], float]:
    pop = {(r, y): p for r, y, p in zip(wide["region"], wide["year"], wide["population"])}
    nat = {(r, y): n for r, y, n in zip(wide["region"], wide["year"], wide["natural_increase"])}
    out = {}
    for (r, y), p in pop.items():
        nxt = pop.get((r, y + 1))
        n = nat[(r, y)]
        if nxt is None or np.isnan(n):
            continue
        out[(r, y)] = nxt - p - n
    return out


def test_balancing_migration_is_next_population_minus_population_minus_natural_increase():
    wide = _wide()
    want = _plain_loop(wide)
    got = balancing_migration(wide)
    assert len(got) == len(wide)
    for r, y, v in zip(wide["region"], wide["year"], got.to_numpy()):
        if (r, y) in want:
            assert v == pytest.approx(want[(r, y)], abs=0), f"M({r}, {y}) = P(t+1) - P(t) - N(t)"
        else:
            assert np.isnan(v), f"M({r}, {y}) has no P(t+1) or N(t) and must stay missing"
    assert got.index.equals(wide.index)
    assert ("akmola", 2011) not in want and ("astana", 2010) not in want and ("astana", 2023) not in want


def test_next_year_value_matches_on_the_calendar_year():
    wide = _wide()
    nxt = next_year_value(wide, "population")
    pop = {(r, y): p for r, y, p in zip(wide["region"], wide["year"], wide["population"])}
    assert nxt.name == "population_next" and nxt.index.equals(wide.index)
    for r, y, v in zip(wide["region"], wide["year"], nxt):
        expected = pop.get((r, y + 1), np.nan)
        assert (np.isnan(v) and np.isnan(expected)) or v == expected


def test_derive_net_migration_rows_values_and_flags():
    wide = _wide()
    out = derive_net_migration(wide, "current")
    want = _plain_loop(wide)
    assert list(out.columns) == ["region", "year", "value", "flag"] and out.index.tolist() == list(range(len(out)))
    assert set(zip(out["region"], out["year"])) == set(want)
    for r, y, v, f in out.itertuples(index=False):
        assert v == want[(r, y)]
        tokens = f.split(";")
        assert tokens[0] == "derived:balancing"
        expected = [f"break:{b.name}" for b in BREAKS if "current" in b.views and b.year == y
                    and (b.regions is None or r in b.regions)]
        assert tokens[1:] == expected, (r, y, f)
    flags = out.set_index(["region", "year"])["flag"]
    assert flags[("almaty_city", 2014)] == "derived:balancing;break:territory_almaty_2014"
    assert flags[("astana", 2016)] == "derived:balancing;break:territory_astana_2017"
    assert flags[("akmola", 2008)] == "derived:balancing;break:census_2009"
    assert flags[("astana", 2015)] == "derived:balancing" and flags[("astana", 2017)] == "derived:balancing"


def test_break_flags_by_view_join_several_breaks():
    regions = pd.Series(["karaganda", "karaganda", "astana", "almaty_region", "kostanay"])
    years = pd.Series([2021, 2020, 2016, 2014, 2021])
    current = break_flags(regions, years, "current").tolist()
    # census 2021 and the 2022 split both touch Karaganda 2021 in the current view
    assert current == ["break:census_2021;break:split_2022", "", "break:territory_astana_2017",
                       "break:territory_almaty_2014", "break:census_2021"]
    fixed = break_flags(regions, years, "borders=2018").tolist()
    assert fixed == ["break:census_2021", "", "break:territory_astana_2017", "break:territory_almaty_2014",
                     "break:census_2021"]
    assert break_flags(regions, years, "borders=1999").tolist() == [""] * 5  # no break in an unknown view


def test_break_flags_look_at_every_break_whatever_the_order(monkeypatch):
    """A break of another view listed before one of this view does not stop the search."""
    import kzmig.features.assessment.balance as balance
    from kzmig.features.assessment.balance import Break

    later = Break("test_transfer", 2019, frozenset({"kostanay"}), frozenset({"borders=2018"}), "a test break")
    monkeypatch.setattr(balance, "BREAKS", (*BREAKS, later))
    assert BREAKS[-1].views == frozenset({"current"})  # the last shipped break is of another view
    flags = break_flags(pd.Series(["kostanay", "kostanay"]), pd.Series([2019, 2021]), "borders=2018").tolist()
    assert flags == ["break:test_transfer", "break:census_2021"]
