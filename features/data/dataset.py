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

Aggregation follows :mod:`kzmig.features.data.variables`: additive counts and net flows are summed,
rates and per-capita levels are weighted means (flagged ``derived:weighted_mean``; the
average wage is weighted by employed persons and flagged ``derived:weighted_employed``), gross
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

from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.features.assessment.balance import derive_net_migration, next_year_value
from kzmig.core.options import check_option
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import BORDERS, DATA_DIR, FIRST_FORMABLE, MERGES, NATIONAL
from kzmig.features.data.variables import DEFAULT_WEIGHT_FLAG, RATE_BASES, RATE_OF, VARIABLES, WEIGHT_FLAGS, unit_of


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


def memberships(borders: int, years) -> pd.DataFrame:
    """Which regions form each unit of a fixed-border view, per year.

    Columns ``target, year, member, composition, size, priority``. A unit-year may have two
    candidate compositions (South Kazakhstan in 2017 borders: Shymkent + Turkestan, or the old
    oblast); the complete one with the lowest ``priority`` wins.
    """
    check_option("borders", borders, BORDERS, owner="memberships")
    from kzmig.features.data.regions import region_codes

    merges = MERGES[borders]
    targets = sorted(set(region_codes()) - set(merges) - ({"south_kazakhstan"} if borders != 2017 else set()))
    rows = []
    for target in targets:
        first = FIRST_FORMABLE[borders].get(target)
        for year in years:
            if first is not None and year < first:
                continue
            if borders == 2022:
                comps = [((target,), 0)]
            elif target == "south_kazakhstan":
                comps = [(("shymkent", "turkestan"), 0), (("south_kazakhstan",), 1)]
            elif target in _SPLITS and year >= _SPLITS[target][0]:
                comps = [(_SPLITS[target][1], 0)]
            else:
                comps = [((target,), 0)]
            for members, prio in comps:
                rows += [(target, year, m, "+".join(members), len(members), prio) for m in members]
    return pd.DataFrame(rows, columns=["target", "year", "member", "composition", "size", "priority"])


def _aggregate_rule(variable: str) -> str:
    return VARIABLES[variable].aggregate if variable in VARIABLES else "none"


def harmonise(long: pd.DataFrame, borders: int) -> pd.DataFrame:
    """Aggregate a long table of sourced rows to fixed ``borders`` (see module docstring)."""
    mem = memberships(borders, sorted(long["year"].unique()))
    df = long.merge(mem, left_on=["region", "year"], right_on=["member", "year"], how="inner")
    keys = ["target", "year", "variable", "composition"]
    df = df[df.groupby(keys)["value"].transform("size") == df["size"]]  # complete compositions only
    df = df[df["priority"] == df.groupby(["target", "year", "variable"])["priority"].transform("min")]
    rule = df["variable"].map(_aggregate_rule)
    single = df[df["size"] == 1]
    multi = df[(df["size"] > 1) & (rule != "none")].copy()
    wvar = multi["variable"].map(_aggregate_rule).str.extract(r"^wmean:(.*)$")[0]
    weights = long.set_index(["region", "year", "variable"])["value"]
    wkey = pd.MultiIndex.from_arrays([multi["region"], multi["year"], wvar.fillna("")])
    multi["w"] = np.where(wvar.notna(), weights.reindex(wkey).to_numpy(), 1.0)
    complete_w = multi["w"].notna().groupby([multi[k] for k in keys]).transform("all")
    multi = multi[complete_w.astype(bool)]
    multi["wv"] = multi["value"] * multi["w"]
    agg = multi.groupby(keys, sort=False).agg(
        wv=("wv", "sum"), w=("w", "sum"), unit=("unit", "first"),
        source=("source", lambda s: " + ".join(sorted(set(s)))), flag=("flag", _join_flags),
    ).reset_index()
    is_mean = agg["variable"].map(_aggregate_rule).str.startswith("wmean")
    agg["value"] = np.where(is_mean, agg["wv"] / agg["w"], agg["wv"])
    wtoken = agg["variable"].map(_aggregate_rule).str.extract(r"^wmean:(.*)$")[0].map(
        lambda w: WEIGHT_FLAGS.get(w, DEFAULT_WEIGHT_FLAG) if isinstance(w, str) else "")
    token = np.where(is_mean, wtoken, "derived:sum_of_units")
    agg["flag"] = [_join_flags([f, t]) for f, t in zip(agg["flag"], token)]
    res = pd.concat(
        [single.assign(region=single["target"])[LONG_COLUMNS], agg.rename(columns={"target": "region"})[LONG_COLUMNS]],
        ignore_index=True,
    )
    return res.astype({"year": "int64", "value": "float64"})


def _official_first(long: pd.DataFrame, view_name: str) -> pd.DataFrame:
    """Append balancing-equation net migration for region-years without an official value."""
    wide = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    if not {"population", "natural_increase"} <= set(wide.columns):
        return long
    der = derive_net_migration(wide[wide["region"] != NATIONAL], view_name)
    official = long.loc[long["variable"] == "net_migration", ["region", "year"]].assign(_official=True)
    der = der.merge(official, on=["region", "year"], how="left")
    der = der[der["_official"].isna()].drop(columns="_official")
    der = der.assign(variable="net_migration", unit="persons", source="kzmig:features/assessment/balance.py")
    return pd.concat([long, der[LONG_COLUMNS]], ignore_index=True)


def _with_derived(long: pd.DataFrame, view_name: str) -> pd.DataFrame:
    """Add derived net migration, average population, external net and rates to a long table.

    A derived row's flag joins ``derived:computed`` with the flags of its inputs, so a rate
    computed from a break year carries that break.
    """
    long = _official_first(long, view_name)
    wide = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    flags = long.set_index(["region", "year", "variable"])["flag"]
    extra: list[pd.DataFrame] = []

    def flag_of(var: str) -> pd.Series:
        keys = pd.MultiIndex.from_arrays([wide["region"], wide["year"], [var] * len(wide)])
        return pd.Series(flags.reindex(keys).fillna("").to_numpy(), index=wide.index)

    def add(var: str, values: pd.Series, inputs: list[str]) -> None:
        unit = unit_of(var)
        ok = values.notna()
        parts = [flag_of(v)[ok] for v in inputs]
        joined = [_join_flags([*fs, "derived:computed"]) for fs in zip(*parts)]
        extra.append(pd.DataFrame({"region": wide.loc[ok, "region"], "year": wide.loc[ok, "year"],
                                   "variable": var, "value": values[ok].astype("float64"), "unit": unit,
                                   "source": "kzmig:features/data/dataset.py", "flag": joined}))

    if "population" in wide:
        wide["population_avg"] = (wide["population"] + next_year_value(wide, "population")) / 2
        add("population_avg", wide["population_avg"], ["population"])
    if {"net_migration", "interregional_net"} <= set(wide.columns):
        wide["external_net"] = wide["net_migration"] - wide["interregional_net"]
        add("external_net", wide["external_net"], ["net_migration", "interregional_net"])
    for var in RATE_OF:
        if var not in wide or "population_avg" not in wide:
            continue
        for suffix, base in RATE_BASES.items():
            add(f"{var}_rate_{suffix}", wide[var] / wide["population_avg"] * base, [var, "population"])
    out = pd.concat([long, *extra], ignore_index=True)
    out["flag"] = out["flag"].fillna("").astype("string")
    return out[LONG_COLUMNS].sort_values(["variable", "region", "year"], kind="stable").reset_index(drop=True)


def user_observations(path: Path | str, *, decimal: str | None = None, thousands: str | None = None) -> pd.DataFrame:
    """A user file (CSV/XLSX, long or wide) in the stored layout: source = the file, flag as given.

    ``decimal`` and ``thousands`` say how its numbers are written (see
    :func:`kzmig.features.data.io.read_user_table`); ``attrs["read_as"]`` says how the file was read.
    """
    from kzmig.features.data.io import read_user_table

    table = read_user_table(Path(path), decimal=decimal, thousands=thousands)
    out = complete_observations(table, source=str(path))
    out.attrs["read_as"] = table.attrs.get("read_as")
    return out


def complete_observations(df: pd.DataFrame, *, source: str = "user table") -> pd.DataFrame:
    """A validated long table with ``unit``, ``source`` and ``flag`` filled in the stored layout.

    ``unit`` defaults to the variable's declared unit (:mod:`kzmig.features.data.variables`), ``source`` to
    ``source`` and ``flag`` to empty; given values are kept.
    """
    from kzmig.features.data.variables import VARIABLES as _V

    df = validate_panel(df, source=source)
    if "unit" not in df:
        df["unit"] = df["variable"].map(lambda v: _V[v].unit if v in _V else "")
    if "source" not in df:
        df["source"] = source
    df["flag"] = df["flag"].fillna("").astype("string") if "flag" in df else ""
    return df.assign(unit=df["unit"].fillna("").astype("string"), source=df["source"].astype("string"))


def shipped_observations() -> pd.DataFrame:
    """The shipped ``observations.csv``, read with the contract dtypes and validated."""
    return validate_panel(read_observations(OBSERVATIONS), source=str(OBSERVATIONS))


def load_long(view: str = "current", borders: int | None = None, *, path: Path | str | None = None,
              observations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The long table ``region, year, variable, value, unit, source, flag`` in a border view.

    Parameters
    ----------
    view : {"current", "harmonised"}
    borders : {2022, 2018, 2017}, optional
        Required for ``view="harmonised"``; must be None for ``"current"``.
    path : path, optional
        Defaults to the shipped ``data/processed/observations.csv``. Any other file (CSV or
        XLSX, long or wide by year, see :mod:`kzmig.features.data.io`) is read and validated by
        :func:`kzmig.features.data.io.read_user_table`; its rows then go through the same views and
        derivations, with ``source`` = the file. Derived net migration is recomputed from it.
    observations : DataFrame, optional
        An already read long table (:func:`user_observations`, :func:`shipped_observations`),
        instead of ``path``.
    """
    check_option("view", view, VIEWS, owner="load_long")
    if view == "harmonised":
        if borders is None:
            raise ConfigError("view='harmonised' needs borders=2022, 2018 or 2017.")
        check_option("borders", borders, BORDERS, owner="load_long")
    elif borders is not None:
        raise ConfigError(f"borders={borders} only applies to view='harmonised'; drop it for view='current'.")
    if observations is not None:
        obs = observations
    elif path is None or Path(path).resolve() == OBSERVATIONS.resolve():
        obs = shipped_observations()
    else:
        obs = user_observations(path)
    sourced = obs.loc[~obs["flag"].str.contains("derived:balancing", regex=False), LONG_COLUMNS]
    if view == "current":
        return _with_derived(sourced, "current")
    return _with_derived(harmonise(sourced, borders), f"borders={borders}")


def load_panel(view: str = "current", borders: int | None = None, *, path: Path | str | None = None,
               wide: bool = True) -> pd.DataFrame:
    """The dataset as a wide region-year panel (``wide=True``) or the long table.

    Wide columns are float64 variables named as in :mod:`kzmig.features.data.variables` plus the derived
    ``population_avg``, ``external_net`` and ``*_rate_per_1000`` / ``*_rate_per_10000``.
    Flags are in the long table only (``wide=False``).
    """
    long = load_long(view, borders, path=path)
    return to_wide(long) if wide else long


def to_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Pivot the long table to the wide region-year panel (flags are dropped)."""
    out = long.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    out.columns.name = None
    out["region"] = out["region"].astype("string")
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["region", "year"], kind="stable").reset_index(drop=True)


def coverage(long: pd.DataFrame) -> pd.DataFrame:
    """One row per variable: regions, first and last year, values, and holes inside the spans.

    ``holes`` counts region-years missing between a region's first and last year of that variable.
    """
    rows = []
    for var, g in long.groupby("variable", sort=True):
        spans = g.groupby("region")["year"].agg(["min", "max", "size"])
        holes = int(((spans["max"] - spans["min"] + 1) - spans["size"]).sum())
        flagged = int((g.get("flag", pd.Series("", index=g.index)).fillna("") != "").sum())
        rows.append({"variable": var, "regions": int(g["region"].nunique()), "first_year": int(g["year"].min()),
                     "last_year": int(g["year"].max()), "values": len(g), "holes": holes, "flagged": flagged})
    return pd.DataFrame(rows)
