"""Load the shipped dataset (or a user file) in a border view, with derived columns.

Views
-----
``view="current"``
    Regions as they existed in each year (20 current regions, South Kazakhstan to 2016/2017).
``view="harmonised", borders=2022 | 2018 | 2017``
    Fixed borders. 2022: the 20 current regions, each only from the first year it can be
    formed in those borders (Abai, Jetisu, Ulytau and their parents from 2022; Shymkent and
    Turkestan from 2017). 2018: 17 units (Abai, Jetisu and Ulytau merged into their parents).
    2017: 16 units (also Shymkent + Turkestan = South Kazakhstan).

Aggregation follows :mod:`features.variables`: additive counts and net flows are summed,
rates and per-capita levels are weighted means (flagged ``derived:weighted_mean``), gross
interregional flows and city prices have no aggregate (the merged unit is missing). A unit
is formed for a variable and year only when every region it consists of in that year has a
value; partial sums are never made. Territory transfers between units that stay separate
(Almaty 2014, Astana 2017) are not redistributed: they are flagged as breaks.

Derived at load time, never stored by hand: ``net_migration`` by the balancing equation where
BNS publishes none (re-derived from the view's own population, so that a merge removes the
split break), ``population_avg``, ``external_net`` and rates per 1,000 and 10,000 of
average population.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from features.balance import derive_net_migration
from features.options import check_option
from features.panel import validate_panel
from features.regions import BORDERS, DATA_DIR, FIRST_FORMABLE, MERGES, NATIONAL
from features.variables import DERIVED, RATE_BASES, RATE_OF, VARIABLES

logger = logging.getLogger(__name__)

OBSERVATIONS = DATA_DIR / "processed" / "observations.csv"
VIEWS = ("current", "harmonised")
LONG_COLUMNS = ["region", "year", "variable", "value", "unit", "source", "flag"]
# Regions that split, by fixed-border view: unit -> (year of split, members from that year on).
_SPLITS = {
    "east_kazakhstan": (2022, ("east_kazakhstan", "abai")),
    "almaty_region": (2022, ("almaty_region", "jetisu")),
    "karaganda": (2022, ("karaganda", "ulytau")),
}


def read_observations(path: Path | str = OBSERVATIONS) -> pd.DataFrame:
    """Read a long observations file with the contract dtypes (no content checks)."""
    df = pd.read_csv(
        path,
        dtype={"region": "string", "variable": "string", "unit": "string", "source": "string",
               "flag": "string", "note": "string"},
        keep_default_na=False, na_values={"value": [""]},
    )
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def _join_flags(flags: pd.Series) -> str:
    tokens = sorted({t for f in flags if f for t in str(f).split(";")})
    return ";".join(tokens)


def _members(unit: str, year: int, borders: int, present: set[str]) -> tuple[str, ...] | None:
    """Regions forming ``unit`` in ``year`` at fixed ``borders``, or None if it cannot be formed."""
    first = FIRST_FORMABLE[borders].get(unit)
    if first is not None and year < first:
        return None
    if borders == 2022:
        return (unit,)
    if unit == "south_kazakhstan":  # borders 2017 only
        new = ("shymkent", "turkestan")
        if set(new) <= present:
            return new
        return ("south_kazakhstan",) if "south_kazakhstan" in present else None
    if unit in _SPLITS:
        split_year, new = _SPLITS[unit]
        return new if year >= split_year else (unit,)
    return (unit,)


def harmonise(long: pd.DataFrame, borders: int) -> pd.DataFrame:
    """Aggregate a long table of sourced rows to fixed ``borders`` (see module docstring)."""
    check_option("borders", borders, BORDERS, owner="harmonise")
    merges = MERGES[borders]
    units = sorted((set(long["region"]) - set(merges)) - ({"south_kazakhstan"} if borders != 2017 else set()))
    by_key = {k: g for k, g in long.groupby(["variable", "year"], sort=False)}
    pop = long[long["variable"] == "population"].set_index(["region", "year"])["value"]
    rows = []
    for (variable, year), g in by_key.items():
        spec = VARIABLES.get(variable)
        vals = g.set_index("region")
        present = set(vals.index)
        for unit in units:
            members = _members(unit, int(year), borders, present)
            if members is None or not set(members) <= present:
                continue
            sub = vals.loc[list(members)]
            if len(members) == 1:
                rows.append((unit, year, variable, sub["value"].iloc[0], sub["unit"].iloc[0],
                             sub["source"].iloc[0], sub["flag"].iloc[0]))
                continue
            agg = spec.aggregate if spec else "none"
            if agg == "none":
                continue
            if agg == "sum":
                value, flag = sub["value"].sum(), "derived:sum_of_units"
            else:  # weighted mean
                wvar = agg.split(":", 1)[1]
                wsrc = pop if wvar == "population" else long[long["variable"] == wvar].set_index(
                    ["region", "year"])["value"]
                w = np.array([wsrc.get((m, year), np.nan) for m in members])
                if np.isnan(w).any():
                    continue
                value, flag = float(np.dot(sub["value"].to_numpy(), w) / w.sum()), "derived:weighted_mean"
            rows.append((unit, year, variable, value, sub["unit"].iloc[0],
                         " + ".join(sorted(set(sub["source"]))), _join_flags(pd.concat([sub["flag"], pd.Series([flag])]))))
    out = pd.DataFrame(rows, columns=LONG_COLUMNS)
    return out.astype({"year": "int64", "value": "float64"})


def _with_derived(long: pd.DataFrame, view_name: str) -> pd.DataFrame:
    """Add derived net migration, average population, external net and rates to a long table."""
    wide = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    flags = long.set_index(["region", "year", "variable"])["flag"]
    src = long.set_index(["region", "year", "variable"])["source"]
    extra = []
    # net migration by the balancing equation where no official value exists
    if {"population", "natural_increase"} <= set(wide.columns):
        der = derive_net_migration(wide[wide["region"] != NATIONAL], view_name)
        have = set(map(tuple, long.loc[long["variable"] == "net_migration", ["region", "year"]].to_numpy()))
        der = der[[(r, y) not in have for r, y in zip(der["region"], der["year"])]]
        extra.append(der.assign(variable="net_migration", unit="persons",
                                source="kzmig:features/balance.py"))
    long = pd.concat([long, *extra], ignore_index=True) if extra else long
    wide = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    flags = long.set_index(["region", "year", "variable"])["flag"]

    def flag_of(var: str) -> pd.Series:
        keys = pd.MultiIndex.from_arrays([wide["region"], wide["year"], [var] * len(wide)])
        return pd.Series(flags.reindex(keys).fillna("").to_numpy(), index=wide.index)

    def add(var: str, values: pd.Series, unit: str, inputs: list[str]) -> None:
        ok = values.notna()
        f = pd.concat([flag_of(v) for v in inputs] + [pd.Series("derived:computed", index=wide.index)], axis=1)
        joined = f.loc[ok].apply(lambda r: _join_flags(r), axis=1) if ok.any() else pd.Series(dtype=str)
        extra2.append(pd.DataFrame({"region": wide.loc[ok, "region"], "year": wide.loc[ok, "year"],
                                    "variable": var, "value": values[ok].astype("float64"), "unit": unit,
                                    "source": "kzmig:features/dataset.py", "flag": joined}))

    extra2: list[pd.DataFrame] = []
    if "population" in wide:
        from features.balance import next_year_value

        avg = (wide["population"] + next_year_value(wide, "population")) / 2
        add("population_avg", avg, DERIVED["population_avg"].unit, ["population"])
        wide["population_avg"] = avg
    if {"net_migration", "interregional_net"} <= set(wide.columns):
        ext = wide["net_migration"] - wide["interregional_net"]
        add("external_net", ext, DERIVED["external_net"].unit, ["net_migration", "interregional_net"])
        wide["external_net"] = ext
    for var in RATE_OF:
        if var not in wide or "population_avg" not in wide:
            continue
        for suffix, base in RATE_BASES.items():
            rate = wide[var] / wide["population_avg"] * base
            add(f"{var}_rate_{suffix}", rate, f"{suffix.replace('_', ' ')} average population",
                [var, "population"])
    out = pd.concat([long, *extra2], ignore_index=True)
    out["flag"] = out["flag"].fillna("").astype("string")
    return out[LONG_COLUMNS].sort_values(["variable", "region", "year"], kind="stable").reset_index(drop=True)


def load_long(view: str = "current", borders: int | None = None, *, path: Path | str | None = None) -> pd.DataFrame:
    """The long table ``region, year, variable, value, unit, source, flag`` in a border view.

    Parameters
    ----------
    view : {"current", "harmonised"}
    borders : {2022, 2018, 2017}, optional
        Required for ``view="harmonised"``; must be None for ``"current"``.
    path : path, optional
        A long CSV of the shipped layout; defaults to ``data/processed/observations.csv``.
        User files in other layouts go through :func:`features.io.read_user_table` first.
    """
    check_option("view", view, VIEWS, owner="load_long")
    if view == "harmonised":
        if borders is None:
            raise ValueError("view='harmonised' needs borders=2022, 2018 or 2017.")
        check_option("borders", borders, BORDERS, owner="load_long")
    elif borders is not None:
        raise ValueError(f"borders={borders} only applies to view='harmonised'; drop it for view='current'.")
    src = Path(path) if path is not None else OBSERVATIONS
    obs = read_observations(src)
    validate_panel(obs, source=str(src))
    sourced = obs[~obs["flag"].str.contains("derived:balancing", regex=False)]
    sourced = sourced[LONG_COLUMNS]
    if view == "current":
        return _with_derived(sourced, "current")
    return _with_derived(harmonise(sourced, borders), f"borders={borders}")


def load_panel(view: str = "current", borders: int | None = None, *, path: Path | str | None = None,
               wide: bool = True) -> pd.DataFrame:
    """The dataset as a wide region-year panel (``wide=True``) or the long table.

    Wide columns are float64 variables named as in :mod:`features.variables` plus the derived
    ``population_avg``, ``external_net`` and ``*_rate_per_1000`` / ``*_rate_per_10000``.
    Flags are in the long table only (``wide=False``).
    """
    long = load_long(view, borders, path=path)
    if not wide:
        return long
    out = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    out.columns.name = None
    out["region"] = out["region"].astype("string")
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["region", "year"], kind="stable").reset_index(drop=True)
