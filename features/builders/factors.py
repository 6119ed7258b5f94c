"""The factor panel of stage 4: the study panel with features, and the trend-type panel.

Features come from the one registry of builders, :data:`kzmig.features.builders.registry.BUILDERS`
(density, labour, housing, wages, attractiveness), where they exist; two columns no builder
provides are computed here from :func:`kzmig.features.data.dataset.load_panel` columns:
``grp_rel_national_pct`` (GRP per capita as % of the national value of the same year) and
``doctors_per_10000`` (doctors per 10,000 average population); ``log_pop_density_km2`` is the
log of the density builder's column. The outcome is masked to the study years; features keep
their earlier years so that lags reach back before the first outcome year.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.builders.registry import BUILDER_NAMES, BUILDERS
from kzmig.features.data.regions import NATIONAL
from kzmig.features.assessment.problems import tercile_crosstab
from kzmig.features.assessment.typology import break_years, migration_trend_types, rolling_trend_panel

logger = logging.getLogger(__name__)

__all__ = ["BUILDERS", "BUILDER_NAMES", "add_features", "factor_panel", "own_features", "regional_sample",
           "tercile_table", "type_panel"]


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
    unknown = [b for b in builders if b not in BUILDERS]
    if unknown:
        raise ConfigError(f"features.builders: {unknown} unknown; choose from {sorted(BUILDERS)}.")
    out = panel.copy()
    parts = [own_features(panel), *(BUILDERS[name].build(panel).columns for name in builders)]
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


def factor_panel(long: pd.DataFrame, *, builders: Sequence[str], targets: Sequence[str],
                 columns: Sequence[str], drop_breaks: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The wide panel of a border view (national row included) with the builders' features.

    Parameters
    ----------
    long : DataFrame
        Long table of one view (:func:`kzmig.features.data.dataset.load_long`).
    builders : sequence of str
        Names of :data:`kzmig.features.builders.registry.BUILDERS` to run.
    targets, columns : sequence of str
        Outcome columns and feature columns that must exist afterwards.
    drop_breaks : bool, default True
        Set outcomes to NaN in region-years whose value carries a ``break:`` flag.

    Returns
    -------
    panel, skip
        The panel and, with ``drop_breaks``, the region-years whose net migration carries a
        ``break:`` flag (``region, year, flag``), which the trend types then skip as the
        assessment does; None otherwise.

    Raises
    ------
    PanelContractError
        When an outcome or a feature column is produced by neither the data nor the builders
        (listing what is available).
    """
    from kzmig.features.data.dataset import to_wide

    panel = add_features(to_wide(long), builders)
    skip = None
    if drop_breaks:
        panel = _drop_break_outcomes(panel, long, targets)
        skip = break_years(long)
    available = sorted(c for c in panel.columns if c not in ("region", "year"))
    for target in targets:
        if target not in panel.columns:
            raise PanelContractError(f"outcome {target!r} is not a column of the panel; "
                                     f"available: {available}.")
    absent = [c for c in columns if c not in panel.columns]
    if absent:
        raise PanelContractError(f"feature columns {absent} are not produced by the data or "
                                 f"the builders {list(builders)}; available: {available}.")
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


def type_panel(panel_with_national: pd.DataFrame, features: pd.DataFrame, *, years: Sequence[int],
               columns: Sequence[str], window: int, k: int, rel_tol: float, abs_tol: float,
               skip: pd.DataFrame | None = None) -> pd.DataFrame:
    """Region-by-window trend types (total flow) joined to the feature rows.

    ``year`` of a type row is the last year of its window; windows ending outside ``years``
    (first, last) are dropped; ``skip`` years (breaks) are left out of the smoothed ends.
    """
    types = rolling_trend_panel(panel_with_national, window=window, k=k, rel_tol=rel_tol, abs_tol=abs_tol,
                                flows=("total",), skip=skip)
    first, last = years
    types = types.loc[(types["end"] >= first) & (types["end"] <= last)]
    na = types["type"].isna()
    if na.any():
        logger.info("trend types: %d region-windows without a type left out (%s).",
                    int(na.sum()), "; ".join(sorted(types.loc[na, "reason"].astype(str).unique())[:3]))
    types = types.loc[~na, ["region", "end", "type"]].rename(columns={"end": "year"})
    types["year"] = types["year"].astype("int64")
    types["type"] = types["type"].astype(object)
    out = features[["region", "year", *columns]].merge(types, on=["region", "year"], how="left", validate="one_to_one")
    out["type"] = out["type"].where(out["type"].notna(), np.nan)
    return out


def tercile_table(full: pd.DataFrame, *, years: Sequence[int], factors: Sequence[str], k: int,
                  rel_tol: float, abs_tol: float, skip: pd.DataFrame | None = None) -> pd.DataFrame:
    """The source paper's view beside the regressions: each feature's tercile x trend type.

    Types are those of the whole study period (:func:`kzmig.features.assessment.typology.migration_trend_types`,
    total flow, ``k`` years smoothed at each end, ``skip`` years left out as in the
    assessment); feature values are region means over the same years.
    """
    first, last = years
    types = migration_trend_types(full, first, last, k=k, rel_tol=rel_tol, abs_tol=abs_tol, flows=("total",), skip=skip)
    return tercile_crosstab(full, types, list(dict.fromkeys(factors)), start=first, end=last)
