"""The forecasters a study config can name, by ``kind``, and how to build one."""
from __future__ import annotations

from collections.abc import Mapping

from kzmig.models.arima import AutoARIMA
from kzmig.models.baselines import Drift, Naive, WindowMean
from kzmig.models.boosting import GradientBoosting
from kzmig.models.ensemble import Ensemble
from kzmig.models.ets import ETS
from kzmig.models.forecast_base import BaseForecaster
from kzmig.models.pooled_ar import PooledAR
from kzmig.models.theta import Theta

#: ``kind`` in ``[models.<name>]`` -> forecaster class.
FORECASTERS: dict[str, type[BaseForecaster]] = {
    "naive": Naive,
    "drift": Drift,
    "window_mean": WindowMean,
    "auto_arima": AutoARIMA,
    "ets": ETS,
    "theta": Theta,
    "pooled_ar": PooledAR,
    "boosting": GradientBoosting,
    "ensemble": Ensemble,
}


def make_forecaster(kind: str, name: str, params: Mapping | None = None) -> BaseForecaster:
    """Build the forecaster ``kind`` named ``name`` with ``params``.

    Raises
    ------
    ValueError
        Unknown ``kind`` (the message lists the known ones) or a parameter the class does not
        take (the message lists the ones it does).
    """
    if kind not in FORECASTERS:
        known = ", ".join(sorted(FORECASTERS))
        raise ValueError(f"model {name!r}: unknown kind {kind!r}; known kinds are {known}.")
    cls = FORECASTERS[kind]
    params = dict(params or {})
    valid = set(cls._get_param_names())
    bad = sorted(set(params) - valid)
    if bad:
        raise ValueError(f"model {name!r} ({kind}): unknown parameter(s) {bad}; {cls.__name__} takes {sorted(valid)}.")
    for key in ("exog", "trends"):
        if key in params and isinstance(params[key], list):
            params[key] = tuple(params[key])
    return cls(**{**params, "name": name})
