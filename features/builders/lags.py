"""Lags and changes of any feature, computed within region and never looking past the row's year.

Every feature builder of :mod:`features` accepts ``lags=(1, 2)`` and passes its new columns
through :func:`add_lags`, so that models can use ``x_lag1`` (the value of ``x`` in ``t-1``)
as a regressor for an outcome in year ``t`` (see METHOD.md section 4: features enter lagged).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.features.data.panel import KEYS, validate_panel

logger = logging.getLogger(__name__)


def _check_steps(name: str, steps: Sequence[int]) -> tuple[int, ...]:
    steps = tuple(steps)
    bad = [s for s in steps if not isinstance(s, (int,)) or isinstance(s, bool) or s < 1]
    if bad:
        raise ConfigError(f"{name} must be positive integers (years back), got {bad!r}.")
    return steps


def values_years_back(panel: pd.DataFrame, columns: Sequence[str], k: int) -> pd.DataFrame:
    """``region, year`` of ``panel`` (same row order) with ``columns`` taken from year ``t - k``.

    Matched on the calendar year within region, never on row position: a missing year
    gives NaN, never a value from a non-adjacent year or another region. A negative ``k``
    looks ahead (``k=-1``: the value of ``t+1``). No validation (callers validate); the
    single implementation of lagging in the project.
    """
    shifted = panel[[*KEYS, *columns]].assign(year=panel["year"] + k)
    return panel[list(KEYS)].merge(shifted, on=list(KEYS), how="left", validate="one_to_one")


def difference(panel: pd.DataFrame, columns: Sequence[str], k: int = 1, *,
               drop_first: bool = False) -> pd.DataFrame:
    """Changes ``col(t) - col(t-k)`` within region, over calendar years only: a gap gives NaN.

    The one differencing of the project: feature changes (:func:`add_lags`), first-difference
    regressions and their designs (:mod:`kzmig.models.panel.design`, :mod:`kzmig.models.panel`,
    :mod:`kzmig.models.panel.bootstrap`) all call it.

    Parameters
    ----------
    panel : DataFrame
        ``region``, ``year`` (unique pairs) and the numeric ``columns``; not validated here.
    columns : sequence of str
        Columns to difference.
    k : int, default 1
        Years between the two values.
    drop_first : bool, default False
        Drop the rows whose year ``t-k`` is absent from ``panel`` (each region's first
        ``k`` years and the years after a gap) instead of returning them with NaN changes.

    Returns
    -------
    DataFrame
        ``region``, ``year`` and ``columns`` (float64), with ``panel``'s index and row order.

    Examples
    --------
    >>> p = pd.DataFrame({"region": "a", "year": [2000, 2001, 2003], "x": [1.0, 4.0, 5.0]})
    >>> difference(p, ["x"])["x"].tolist()  # 2003 - 2001 is not a one-year change
    [nan, 3.0, nan]
    """
    past = values_years_back(panel.assign(_has_past=1.0), [*columns, "_has_past"], k)
    out = panel[list(KEYS)].copy()
    for col in columns:
        out[col] = panel[col].to_numpy(dtype="float64") - past[col].to_numpy(dtype="float64")
    if drop_first:
        out = out.loc[past["_has_past"].notna().to_numpy()]
    return out


def growth_factor(panel: pd.DataFrame, column: str, k: int = 1) -> np.ndarray:
    """``col(t) / col(t-k)`` within region over calendar years (NaN after a gap), in ``panel``'s row order.

    The basis of every growth rate of the feature builders: ``100 * (factor - 1)`` is the
    percentage change.
    """
    past = values_years_back(panel, [column], k)[column].to_numpy(dtype="float64")
    return panel[column].to_numpy(dtype="float64") / past


def add_lags(
    panel: pd.DataFrame,
    columns: Sequence[str],
    *,
    lags: Sequence[int] = (1,),
    changes: Sequence[int] = (),
    source: str = "panel",
) -> pd.DataFrame:
    """Return ``panel`` with lagged values and changes of ``columns`` appended.

    Parameters
    ----------
    panel : DataFrame
        Wide region-year panel (``region`` str, ``year`` int64, float64 value columns).
    columns : sequence of str
        Value columns to lag. Each must be present and numeric.
    lags : sequence of int, default (1,)
        Years back. Adds ``{col}_lag{k}`` = value of ``col`` in the same region in year ``t-k``.
    changes : sequence of int, default ()
        Adds ``{col}_diff{k}`` = ``col(t) - col(t-k)`` (a difference, never a percentage:
        features may be signed).
    source : str
        Name used in error messages.

    Returns
    -------
    DataFrame
        A copy of ``panel`` with the new float64 columns; the input is not mutated.

    Raises
    ------
    PanelContractError
        If a column is absent or the panel breaks the region-year contract.
    ValueError
        If a lag or change is not a positive integer.

    Notes
    -----
    Lags are matched on the calendar year, not on the row position: if year ``t-k`` is
    absent for a region the lag is missing, even when the region has gaps. Hence
    :math:`x^{lag k}_{r,t} = x_{r,t-k}` uses only data up to ``t``, so a feature for year
    ``t`` is identical whether the panel ends at ``t`` or later.
    """
    validate_panel(panel, required=tuple(columns), missing="keep", source=source, allow_gaps=True)
    lags, changes = _check_steps("lags", lags), _check_steps("changes", changes)
    out = panel.copy()
    for k in sorted(set(lags) | set(changes)):
        past = values_years_back(panel, columns, k) if k in lags else None
        diff = difference(panel, columns, k) if k in changes else None
        for col in columns:
            if past is not None:
                out[f"{col}_lag{k}"] = past[col].to_numpy(dtype="float64")
            if diff is not None:
                out[f"{col}_diff{k}"] = diff[col].to_numpy()
    logger.debug("added lags %s and changes %s of %d column(s)", lags, changes, len(columns))
    return out
