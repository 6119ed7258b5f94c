"""Inner rolling origins: hyperparameters and weights chosen from the training data alone.

A model fitted on the years up to an origin ``T`` may tune itself by replaying forecasts from
earlier *pseudo-origins* ``s < T`` and scoring them on the target years ``s + h <= T``: every
value it uses is in its training data, so a rolling-origin backtest that refits the model at
each origin stays free of look-ahead, and the tuning gets a longer track record than the
backtest's own earlier origins (pseudo-origins start ``min_train`` years into each series).

Errors are scaled by each series' naive scale up to ``T`` (:func:`kzmig.models.forecasters.scale.naive_scale`
of the bridged values), so large and small regions weigh alike, as in MASE. Targets are the
values the model fits (``y_fit``: break years bridged): a census re-basing is not a forecast
error a hyperparameter should chase.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kzmig.models.forecasters.scale import naive_scale


def region_scales(data: pd.DataFrame, column: str = "y_fit") -> dict[str, float]:
    """Naive scale of ``column`` per region; 1.0 where the series has none (flat or one point)."""
    out = {}
    for region, g in data.groupby("region", sort=False):
        s = naive_scale(g[column].to_numpy(dtype=float))
        out[str(region)] = float(s) if np.isfinite(s) and s > 0 else 1.0
    return out


def pseudo_origins(years, *, min_train: int, last: int | None = None, n_max: int | None = None) -> list[int]:
    """Pseudo-origins of a training span: every year with ``min_train`` years up to it and a later year.

    Parameters
    ----------
    years : iterable of int
        Years of the training data (any region).
    min_train : int
        Fewest years up to a pseudo-origin (counted from the first year of ``years``).
    last : int, optional
        Last training year (default ``max(years)``); pseudo-origins are ``< last``.
    n_max : int, optional
        Keep only the latest ``n_max`` pseudo-origins.

    Examples
    --------
    >>> pseudo_origins(range(2000, 2011), min_train=8)
    [2007, 2008, 2009]
    """
    years = sorted({int(y) for y in years})
    if not years:
        return []
    last = years[-1] if last is None else int(last)
    out = [y for y in years if y - years[0] + 1 >= min_train and y < last]
    return out[-n_max:] if n_max else out
