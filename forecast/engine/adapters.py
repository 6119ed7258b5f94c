"""Convert other libraries' forecast output into the long forecast table at the edge.

statsmodels returns ``mean, mean_ci_lower, mean_ci_upper`` for one ``alpha`` at a time
(``summary_frame(alpha=...)``); Nixtla returns one column per model and level
(``AutoARIMA``, ``AutoARIMA-lo-95`` ...). Both become rows of the table of
``kzmig.models.forecasters.schema`` with ``level`` as a fraction.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.models.forecasters.schema import alpha_to_level, coerce_forecast


def from_statsmodels(
    frame: pd.DataFrame,
    *,
    alpha: float,
    model: str,
    region: str,
    origin_year: int,
) -> pd.DataFrame:
    """Turn one statsmodels ``summary_frame(alpha=...)`` into forecast-table rows.

    Parameters
    ----------
    frame : DataFrame
        ``mean``, ``mean_ci_lower``, ``mean_ci_upper`` (as from
        ``PredictionResults.summary_frame``), one row per step ahead, in order.
    alpha : float
        The ``alpha`` the frame was computed with; stored as ``level = 1 - alpha``.
    model, region : str
        Written into every row.
    origin_year : int
        Last observed year; row ``i`` (0-based) becomes ``year = origin_year + i + 1``.
    """
    missing = [c for c in ("mean", "mean_ci_lower", "mean_ci_upper") if c not in frame.columns]
    if missing:
        raise ValueError(f"statsmodels frame for region={region!r} lacks column(s) {missing}.")
    n = len(frame)
    out = pd.DataFrame(
        {
            "model": model,
            "region": region,
            "origin_year": int(origin_year),
            "year": int(origin_year) + np.arange(1, n + 1),
            "point": frame["mean"].to_numpy(dtype=float),
            "lower": frame["mean_ci_lower"].to_numpy(dtype=float),
            "upper": frame["mean_ci_upper"].to_numpy(dtype=float),
            "level": alpha_to_level(alpha),
        }
    )
    return coerce_forecast(out)


def from_nixtla(
    frame: pd.DataFrame, *, models: Sequence[str], levels: Sequence[int], origin_year: int | None = None
) -> pd.DataFrame:
    """Turn a Nixtla wide frame (``unique_id, ds, <model>, <model>-lo-<pct>, <model>-hi-<pct>``).

    ``ds`` must hold integer years; ``levels`` are the percents Nixtla was called with.
    ``origin_year`` defaults to the year before each series' first ``ds``.
    """
    rows = []
    for name in models:
        for pct in levels:
            part = pd.DataFrame(
                {
                    "model": name,
                    "region": frame["unique_id"].astype(str).to_numpy(),
                    "year": frame["ds"].astype("int64").to_numpy(),
                    "point": frame[name].to_numpy(dtype=float),
                    "lower": frame[f"{name}-lo-{pct}"].to_numpy(dtype=float),
                    "upper": frame[f"{name}-hi-{pct}"].to_numpy(dtype=float),
                    "level": pct / 100.0,
                }
            )
            first = part.groupby("region")["year"].transform("min") - 1
            part["origin_year"] = first if origin_year is None else int(origin_year)
            rows.append(part)
    return coerce_forecast(pd.concat(rows, ignore_index=True))
