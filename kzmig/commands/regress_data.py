"""Data for ``kzmig regress``: the study panel with features, and the trend-type panel.

Features come from the builders of :mod:`features` (density, labour, housing, wages,
attractiveness) where they exist; two columns no builder provides are computed here from
:func:`features.dataset.load_panel` columns: ``grp_rel_national_pct`` (GRP per capita as
% of the national value of the same year) and ``doctors_per_10000`` (doctors per 10,000
average population); ``log_pop_density_km2`` is the log of the density builder's column. The outcome is masked to the study years; features keep their
earlier years so that lags reach back before the first outcome year.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.regions import NATIONAL
from kzmig.features.typology import break_years, migration_trend_types, rolling_trend_panel, tercile_crosstab

logger = logging.getLogger(__name__)


def _attractiveness(panel: pd.DataFrame) -> pd.DataFrame:
    mod = importlib.import_module("kzmig.features.attractiveness")
    out = mod.AttractivenessIndex().fit_transform(panel)
    return out[["region", "year", "attractiveness_equal", "attractiveness_pc1"]]


#: builder name -> (module, function); each returns region, year and new float columns.
BUILDERS: dict[str, tuple[str, str]] = {
    "density": ("kzmig.features.density", "build_density"),
    "labour": ("kzmig.features.labour", "build_labour"),
    "housing": ("kzmig.features.housing", "build_housing"),
    "wages": ("kzmig.features.wages", "build_wages"),
    "attractiveness": ("kzmig.commands.regress_data", "_attractiveness"),
}


def _builder(name: str) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    if name not in BUILDERS:
        raise ConfigError(f"[features] builders: {name!r} is unknown; choose from "
                          f"{sorted(BUILDERS)}.")
    module, func = BUILDERS[name]
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as err:
        logger.warning("feature builder %r is not available (%s); its columns are skipped.",
                       name, err)
        return None


def own_features(panel: pd.DataFrame) -> pd.DataFrame:
    """Columns computed here: ``grp_rel_national_pct`` and ``doctors_per_10000``.

    Missing inputs give NaN in that row only (never filled); the national row is the
    reference for the relative GRP and must exist in the year.
    """
    out = panel[["region", "year"]].copy()
    if "grp_per_capita_thousand_kzt" in panel.columns:
        nat = panel.loc[panel["region"] == NATIONAL].set_index("year")[
            "grp_per_capita_thousand_kzt"]
        ref = panel["year"].map(nat).astype(float)
        out["grp_rel_national_pct"] = 100.0 * panel["grp_per_capita_thousand_kzt"] / ref
    if {"doctors", "population_avg"}.issubset(panel.columns):
        out["doctors_per_10000"] = 1e4 * panel["doctors"] / panel["population_avg"]
    return out


def add_features(panel: pd.DataFrame, builders: Sequence[str]) -> pd.DataFrame:
    """Return ``panel`` with the builders' columns and :func:`own_features` merged in.

    A builder's column replaces a panel column of the same name (builders may pass inputs
    through); keys are never duplicated.
    """
    out = panel.copy()
    parts = [own_features(panel)]
    for name in builders:
        fn = _builder(name)
        if fn is not None:
            parts.append(fn(panel))
    for part in parts:
        new = [c for c in part.columns if c not in ("region", "year")]
        part = part[["region", "year", *new]]
        out = out.drop(columns=[c for c in new if c in out.columns]).merge(
            part, on=["region", "year"], how="left", validate="one_to_one")
    flags = [c for c in out.columns if c not in ("region", "year") and pd.api.types.is_bool_dtype(out[c])]
    out = out.astype({c: "float64" for c in flags})
    if "pop_density_km2" in out.columns:
        # city densities grow by thousands per km2: the level puts all within-region
        # variation in two or three cities, the log spreads it (and reads as % change)
        dens = out["pop_density_km2"]
        out = pd.concat([out, np.log(dens.where(dens > 0)).rename("log_pop_density_km2")], axis=1)
    return out


def study_panel(sections: dict[str, Any], data: Path | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Load the configured view (national row included) and add the features.

    Returns the panel and, with ``[data] breaks = "drop"``, the region-years whose net
    migration carries a ``break:`` flag (``region, year, flag``), which the trend types of the
    categorical models and of the tercile table then skip as ``kzmig assess`` does; None with
    ``breaks = "keep"``.

    Raises
    ------
    PanelContractError
        When an outcome or a configured feature column is produced by neither the data
        nor the builders (listing what is available).
    """
    from kzmig.features.dataset import load_long, to_wide

    d, f = sections["data"], sections["features"]
    long = load_long(view=d["view"], borders=d["borders"], path=data)
    panel = add_features(to_wide(long), f["builders"])
    skip = None
    if d["breaks"] == "drop":
        panel = _drop_break_outcomes(panel, long, sections["outcomes"]["targets"])
        skip = break_years(long)
    available = sorted(c for c in panel.columns if c not in ("region", "year"))
    for target in sections["outcomes"]["targets"]:
        if target not in panel.columns:
            raise PanelContractError(f"outcome {target!r} is not a column of the panel; "
                                     f"available: {available}.")
    wanted = [*f["columns"], *sections["discrete"]["columns"]]
    absent = [c for c in wanted if c not in panel.columns]
    if absent:
        raise PanelContractError(f"feature columns {absent} are not produced by the data or "
                                 f"the builders {f['builders']}; available: {available}.")
    return panel, skip


def _drop_break_outcomes(panel: pd.DataFrame, long: pd.DataFrame, targets: Sequence[str]) -> pd.DataFrame:
    """Set each outcome to NaN in region-years whose value carries a ``break:`` flag.

    A census re-basing or territory transfer adds tens of persons per 1,000 to the derived net
    migration of that year: it is not migration, and a regression would fit it. Features are
    left untouched (a lagged feature from a break year still explains the next year).
    """
    panel = panel.copy()
    for target in targets:
        if target not in panel.columns:
            continue
        brk = break_years(long, variable=target)
        hit = panel.set_index(["region", "year"]).index.isin(brk.set_index(["region", "year"]).index)
        logger.info("%s: %d region-years with a break flag left out of the outcome (%s)", target,
                    int(hit.sum()), ", ".join(sorted(set(brk["flag"]))))
        panel.loc[hit, target] = np.nan
    return panel


def regional_sample(panel: pd.DataFrame, target: str, years: Sequence[int]) -> pd.DataFrame:
    """Regional rows (national removed) with ``target`` set to NaN outside ``years``.

    Earlier years stay in the frame so that lagged features reach back before the first
    outcome year; the estimators use only rows with the target observed.
    """
    first, last = years
    out = panel.loc[panel["region"] != NATIONAL].reset_index(drop=True).copy()
    out[target] = out[target].where(out["year"].between(first, last))
    return out


def type_panel(panel_with_national: pd.DataFrame, features: pd.DataFrame,
               sections: dict[str, Any], skip: pd.DataFrame | None = None) -> pd.DataFrame:
    """Region-by-window trend types (total flow) joined to the feature rows.

    ``year`` of a type row is the last year of its window; windows ending outside the
    study years are dropped; ``skip`` years (breaks) are left out of the smoothed ends.
    """
    dsc = sections["discrete"]
    types = rolling_trend_panel(panel_with_national, window=dsc["window"], k=dsc["k"],
                                rel_tol=dsc["rel_tol"], abs_tol=dsc["abs_tol"], flows=("total",),
                                skip=skip)
    first, last = sections["data"]["years"]
    types = types.loc[(types["end"] >= first) & (types["end"] <= last)]
    na = types["type"].isna()
    if na.any():
        logger.info("trend types: %d region-windows without a type left out (%s).",
                    int(na.sum()), "; ".join(sorted(types.loc[na, "reason"].astype(str).unique())[:3]))
    types = types.loc[~na, ["region", "end", "type"]].rename(columns={"end": "year"})
    types["year"] = types["year"].astype("int64")
    types["type"] = types["type"].astype(object)
    cols = ["region", "year", *dsc["columns"]]
    out = features[cols].merge(types, on=["region", "year"], how="left", validate="one_to_one")
    out["type"] = out["type"].where(out["type"].notna(), np.nan)
    return out


def tercile_table(full: pd.DataFrame, sections: dict[str, Any],
                  skip: pd.DataFrame | None = None) -> pd.DataFrame:
    """The source paper's view beside the regressions: each feature's tercile x trend type.

    Types are those of the whole study period (:func:`features.typology.migration_trend_types`,
    total flow, ``k`` years smoothed at each end, ``skip`` years left out as in ``kzmig
    assess``); feature values are region means over the same years.
    """
    first, last = sections["data"]["years"]
    dsc = sections["discrete"]
    types = migration_trend_types(full, first, last, k=dsc["k"], rel_tol=dsc["rel_tol"],
                                  abs_tol=dsc["abs_tol"], flows=("total",), skip=skip)
    factors = list(dict.fromkeys([*sections["features"]["columns"], *dsc["columns"]]))
    return tercile_crosstab(full, types, factors, start=first, end=last)
