"""Population density, border-aware (METHOD.md section 4)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.features.builders.lags import add_lags
from kzmig.features.data.panel import KEYS, validate_panel

logger = logging.getLogger(__name__)


def _areas_by_row(panel: pd.DataFrame, areas: pd.DataFrame) -> np.ndarray:
    """Area of each panel row from a table valid over years (``valid_from_year``..``valid_to_year``)."""
    need = {"region", "area_km2"}
    if not need <= set(areas.columns):
        raise PanelContractError(f"build_density: areas table lacks {sorted(need - set(areas.columns))}; found {list(areas.columns)}.")
    a = areas.copy()
    a["lo"] = a["valid_from_year"].astype("float64") if "valid_from_year" in a else -np.inf
    a["hi"] = a["valid_to_year"].astype("float64") if "valid_to_year" in a else np.inf
    a[["lo", "hi"]] = a[["lo", "hi"]].fillna({"lo": -np.inf, "hi": np.inf})
    m = panel[list(KEYS)].reset_index(drop=True).reset_index().merge(a, on="region", how="left")
    m = m.loc[m["area_km2"].isna() | ((m["year"] >= m["lo"]) & (m["year"] <= m["hi"]))]
    dup = m.loc[m["area_km2"].notna()].duplicated("index", keep=False)
    if dup.any():
        r = m.loc[m["area_km2"].notna()].loc[dup].iloc[0]
        raise PanelContractError(
            f"build_density: areas table has overlapping validity for (region={r['region']!r}, year={int(r['year'])})."
        )
    res = np.full(len(panel), np.nan)
    ok = m["area_km2"].notna()
    res[m.loc[ok, "index"].to_numpy()] = m.loc[ok, "area_km2"].to_numpy(dtype="float64")
    return res


def build_density(
    panel: pd.DataFrame,
    areas: pd.DataFrame | None = None,
    *,
    lags: Sequence[int] = (),
    changes: Sequence[int] = (),
) -> pd.DataFrame:
    """Population per km2 per region and year.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``population`` (1 Jan, persons) and, when ``areas`` is None,
        ``area_km2`` (area of the unit in the panel's border view).
    areas : DataFrame, optional
        Area table with ``region``, ``area_km2`` and optionally ``valid_from_year`` and
        ``valid_to_year`` (inclusive; missing = open) for units whose territory changed
        (Almaty city 2014, Astana 2017, the 2018 and 2022 splits). Overrides ``area_km2``.
    lags, changes : sequence of int
        Passed to :func:`kzmig.features.builders.lags.add_lags` for the new column.

    Returns
    -------
    DataFrame
        ``region``, ``year``, ``pop_density_km2`` (and its lags/changes).

    Notes
    -----
    density = population / area. Where the area of a unit is unknown or not positive the
    density is **missing** (never zero) and the number of such rows and the regions are logged.
    """
    required = ("population",) if areas is not None else ("population", "area_km2")
    validate_panel(panel, required=required, missing="keep", source="build_density", allow_gaps=True)
    area = panel["area_km2"].to_numpy(dtype="float64") if areas is None else _areas_by_row(panel, areas)
    unknown = ~(area > 0)
    if unknown.any():
        regs = sorted(panel.loc[unknown, "region"].unique())
        logger.warning("build_density: area unknown for %d row(s) in region(s) %s; density left missing",
                       int(unknown.sum()), regs)
    out = panel[list(KEYS)].copy()
    out["pop_density_km2"] = np.where(unknown, np.nan, panel["population"].to_numpy(dtype="float64") / np.where(unknown, 1.0, area))
    if lags or changes:
        out = add_lags(out, ["pop_density_km2"], lags=lags, changes=changes, source="build_density")
    return out
