"""The demographic balancing equation and the breaks its residual contains.

Net migration of region r in year t is derived as

    M(r, t) = P(r, t+1) - P(r, t) - N(r, t),

with P the population at 1 January and N = births - deaths. The residual also absorbs
statistical reclassification: census re-basing and territory transfers. Those region-years
carry a ``break:<name>`` flag (see :data:`BREAKS`) so that models can treat them as outliers
and readers know the figure is not migration alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kzmig.features.builders.lags import values_years_back


@dataclass(frozen=True)
class Break:
    """A year whose balancing residual contains something other than migration."""

    name: str
    year: int  # the year t of M(t) = P(t+1) - P(t) - N(t) that is affected
    regions: frozenset[str] | None  # None: every region
    views: frozenset[str]  # 'current' and/or 'borders=YYYY'
    description: str


_ALL_VIEWS = frozenset({"current", "borders=2022", "borders=2018", "borders=2017"})
BREAKS: tuple[Break, ...] = (
    Break("census_2009", 2008, None, _ALL_VIEWS,
          "population at 1 Jan 2009 re-based on the 2009 census (national residual +204,887)"),
    Break("census_2021", 2021, None, _ALL_VIEWS,
          "population at 1 Jan 2022 re-based on the 2021 census (national residual +380,736)"),
    Break("territory_almaty_2014", 2014, frozenset({"almaty_city", "almaty_region"}), _ALL_VIEWS,
          "Almaty city absorbed 232 km2 of Almaty Region in 2014 (+134k residents at 1 Jan 2015)"),
    Break("territory_astana_2017", 2016, frozenset({"astana", "akmola"}), _ALL_VIEWS,
          "Astana absorbed 87 km2 of Akmola Region (decree of 6 Feb 2017; visible at 1 Jan 2017)"),
    Break("split_2022", 2021, frozenset({"east_kazakhstan", "almaty_region", "karaganda"}),
          frozenset({"current"}),
          "Abai, Jetisu and Ulytau split off in 2022: the parent's 1 Jan 2022 population is in new borders"),
)


def break_flags(regions: pd.Series, years: pd.Series, view: str) -> pd.Series:
    """Semicolon-joined ``break:<name>`` tokens for each (region, year) in ``view``."""
    out = pd.Series([""] * len(regions), index=regions.index, dtype="object")
    for b in BREAKS:
        if view not in b.views:
            continue
        hit = years.eq(b.year)
        if b.regions is not None:
            hit &= regions.isin(b.regions)
        out[hit] = np.where(out[hit] == "", "break:" + b.name, out[hit] + ";break:" + b.name)
    return out


def next_year_value(wide: pd.DataFrame, column: str) -> pd.Series:
    """``column`` at year t+1 of the same region (NaN when t+1 is absent), aligned on ``wide``."""
    nxt = values_years_back(wide, [column], -1)[column]
    return pd.Series(nxt.to_numpy(), index=wide.index, name=f"{column}_next")


def balancing_migration(wide: pd.DataFrame) -> pd.Series:
    """P(t+1) - P(t) - N(t) per row of a wide panel with ``population`` and ``natural_increase``.

    Missing when any of the three is missing (never filled).
    """
    return next_year_value(wide, "population") - wide["population"] - wide["natural_increase"]


def derive_net_migration(wide: pd.DataFrame, view: str) -> pd.DataFrame:
    """Derived net migration rows (long layout) for every region-year where the identity is computable.

    Returns columns ``region, year, value, flag`` with flag ``derived:balancing`` plus any
    ``break:*`` tokens of :data:`BREAKS` for ``view``.
    """
    resid = balancing_migration(wide)
    ok = resid.notna()
    res = pd.DataFrame(
        {"region": wide.loc[ok, "region"], "year": wide.loc[ok, "year"], "value": resid[ok].astype("float64")}
    )
    brk = break_flags(res["region"], res["year"], view)
    res["flag"] = np.where(brk == "", "derived:balancing", "derived:balancing;" + brk)
    return res.reset_index(drop=True)
