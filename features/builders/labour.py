"""Labour-market features (METHOD.md section 4)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.features.assessment.indicators import national_reference
from kzmig.features.builders.lags import add_lags, growth_factor
from kzmig.features.data.panel import KEYS, validate_panel


REQUIRED = ("unemployment_rate_pct", "population")
#: accepted labour-force columns -> factor to persons (the shipped data use persons)
LABOUR_FORCE = {"labour_force_persons": 1.0, "labour_force_thousand": 1000.0}


def _labour_force_column(panel: pd.DataFrame) -> str:
    col = next((c for c in LABOUR_FORCE if c in panel.columns), None)
    if col is None:
        raise PanelContractError(
            f"build_labour: no labour-force column; expected one of {list(LABOUR_FORCE)}, found {list(panel.columns)}."
        )
    return col


def build_labour(
    panel: pd.DataFrame, *, lags: Sequence[int] = (), changes: Sequence[int] = ()
) -> pd.DataFrame:
    """Unemployment, labour force, its growth and the labour-surplus flag per region and year.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``unemployment_rate_pct`` (LFS, %), ``labour_force_persons`` (or
        ``labour_force_thousand``) and ``population`` (1 Jan). The national row (``kazakhstan``) gives the national
        unemployment rate; where it is missing the labour-force-weighted mean of the regions
        is used (see :func:`kzmig.features.assessment.indicators.national_reference`).
    lags, changes : sequence of int
        Passed to :func:`kzmig.features.builders.lags.add_lags` for every new column.

    Returns
    -------
    DataFrame
        ``region``, ``year`` and

        * ``unemployment_rate_pct`` (copied),
        * ``unemployment_gap_pp`` = regional - national rate (percentage points),
        * ``labour_force_persons`` (copied, converted from thousands if need be),
        * ``labour_force_growth_pct`` = 100 x (LF(t) / LF(t-1) - 1), within region; LF is a
          positive stock so a percentage change is meaningful;
        * ``labour_force_share_pct`` = 100 x LF / population (share of the *total* population:
          the data have no working-age population, so this is not the ILO participation rate);
        * ``labour_surplus`` = 1.0 when unemployment is above the national rate, 0.0 when not,
          NaN when either is missing.
    """
    validate_panel(panel, required=REQUIRED, missing="keep", source="build_labour", allow_gaps=True)
    lf_col = _labour_force_column(panel)
    nat = national_reference(panel, "unemployment_rate_pct", weight=lf_col)
    u = panel["unemployment_rate_pct"].to_numpy(dtype="float64")
    u_nat = panel["year"].map(nat).to_numpy(dtype="float64")
    lf = LABOUR_FORCE[lf_col] * panel[lf_col].to_numpy(dtype="float64")
    out = panel[list(KEYS)].copy()
    out["unemployment_rate_pct"] = u
    out["unemployment_gap_pp"] = u - u_nat
    out["labour_force_persons"] = lf
    out["labour_force_growth_pct"] = 100 * (growth_factor(panel, lf_col) - 1)
    out["labour_force_share_pct"] = 100 * lf / panel["population"].to_numpy(dtype="float64")
    gap = out["unemployment_gap_pp"].to_numpy()
    out["labour_surplus"] = np.where(np.isnan(gap), np.nan, (gap > 0).astype("float64"))
    new = [c for c in out.columns if c not in KEYS]
    if lags or changes:
        out = add_lags(out, new, lags=lags, changes=changes, source="build_labour")
    return out
