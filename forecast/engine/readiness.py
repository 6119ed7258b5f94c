"""Is a series long enough to be forecast on its own (fit, backtest, forecast)?

A series qualifies when its last run of consecutive years is at least

.. math:: n_{\\text{needed}} = \\max_m \\text{min\\_length}_m + (\\text{n\\_origins} - 1) + h,

the shortest series on which every model ``m`` can be fitted at the first of ``n_origins``
consecutive backtest origins and the last origin still has ``h`` published years after it
(the origins are then ``last - h - n_origins + 1 .. last - h``, see :func:`backtest_origins`).
Years before a gap do not count: the engine needs consecutive years (a gap raises in
:func:`kzmig.models.forecasters.schema.validate_series`). A shorter series is reported with the reason,
and is forecast as a share of a longer one instead (:mod:`forecast.regional`,
:mod:`forecast.composition`).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.registry import make_model

logger = logging.getLogger(__name__)

READINESS_COLUMNS = ("variable", "region", "n_years", "first_year", "last_year", "run_years", "run_start",
                     "required", "long_enough", "reason")


def default_models() -> dict[str, BaseForecaster]:
    """The forecasters used when none are given: naive, drift and theta (fresh, unfitted)."""
    return {kind: make_model(kind) for kind in ("naive", "drift", "theta")}


def required_years(models: Mapping[str, BaseForecaster] | None = None, *, n_origins: int = 3,
                   horizon: int = 1) -> tuple[int, str]:
    """Years a series needs (module formula) and which model sets the minimum length."""
    if not isinstance(n_origins, (int, np.integer)) or n_origins < 1:
        raise ConfigError(f"n_origins={n_origins!r} must be an integer >= 1.")
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon={horizon!r} must be an integer >= 1.")
    models = default_models() if models is None else models
    if not models:
        raise ConfigError("required_years: no models given.")
    lengths = {name: int(getattr(m, "min_length", 2)) for name, m in models.items()}
    longest = max(lengths, key=lambda n: (lengths[n], n))
    return lengths[longest] + n_origins - 1 + horizon, f"{longest} (min_length {lengths[longest]})"


def backtest_origins(last_year: int, *, n_origins: int = 3, horizon: int = 1) -> list[int]:
    """Consecutive origins ending ``horizon`` years before ``last_year``."""
    return list(range(last_year - horizon - n_origins + 1, last_year - horizon + 1))


def _last_run(years: np.ndarray) -> tuple[int, int]:
    """Start and length of the last run of consecutive years."""
    ys = np.sort(years)
    breaks = np.flatnonzero(np.diff(ys) > 1)
    start = int(ys[breaks[-1] + 1]) if len(breaks) else int(ys[0])
    return start, int(ys[-1] - start + 1)


def series_readiness(table: pd.DataFrame, *, models: Mapping[str, BaseForecaster] | None = None,
                     n_origins: int = 3, horizon: int = 1, variables=None) -> pd.DataFrame:
    """Per series: whether it is long enough to forecast alone, and why not.

    Parameters
    ----------
    table : DataFrame
        Long table ``region, year, variable, value`` or a series frame ``region, year, y``
        (then ``variable`` is ``"y"``). Rows with a missing value do not count.
    models : mapping of str to forecaster, optional
        The models to be fitted and backtested; default :func:`default_models`.
    n_origins, horizon : int
        Backtest origins and forecast steps to be scored (module formula).
    variables : iterable of str, optional
        Restrict a long table to these variables.

    Returns
    -------
    DataFrame
        One row per (variable, region): ``n_years`` (with a value), ``first_year``,
        ``last_year``, ``run_years`` and ``run_start`` (the last consecutive run), ``required``,
        ``long_enough`` and ``reason``.
    """
    t = table.rename(columns={"y": "value"}).assign(variable="y") if "variable" not in table else table
    if variables is not None:
        t = t.loc[t["variable"].isin(list(variables))]
    t = t.loc[t["value"].notna()]
    need, who = required_years(models, n_origins=n_origins, horizon=horizon)
    rows = []
    for (var, region), g in t.groupby(["variable", "region"], sort=True):
        years = g["year"].to_numpy(dtype=int)
        start, run = _last_run(years)
        ok = run >= need
        span = f"{years.min()}-{years.max()}" if len(years) > 1 else str(years.min())
        if ok:
            reason = f"ok: {run} consecutive years {start}-{years.max()} >= {need} needed"
        else:
            gap = f"; only the {run} years since the gap before {start} count" if run < len(years) else ""
            reason = (f"{len(years)} years ({span}){gap}; needs {need}: {who} needs {need - n_origins - horizon + 1} "
                      f"training years at the first of {n_origins} backtest origins and {horizon} published "
                      f"year(s) after the last")
        rows.append({"variable": str(var), "region": str(region), "n_years": len(years), "first_year": int(years.min()),
                     "last_year": int(years.max()), "run_years": run, "run_start": start, "required": need,
                     "long_enough": ok, "reason": reason})
    out = pd.DataFrame(rows, columns=list(READINESS_COLUMNS))
    logger.info("series_readiness: %d of %d series long enough (>= %d consecutive years).",
                int(out["long_enough"].sum()), len(out), need)
    return out
