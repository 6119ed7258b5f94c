"""Every model kind by name, so a study config can say ``kind = "fixed_effects"`` or ``"auto_arima"``.

One registry, one constructor: each entry is an sklearn-style estimator class; build one with
:func:`make_model`. The kinds fall in three families, used by the config schema to say which
kinds a study accepts: panel regressions (:data:`PANEL_KINDS`), trend-type models
(:data:`DISCRETE_KINDS`) and forecasters (:data:`FORECAST_KINDS`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzmig.core.errors import ConfigError
from kzmig.core.options import check_option
from kzmig.models.arima import AutoARIMA
from kzmig.models.baselines import Drift, HistoricMean, Naive, WindowMean
from kzmig.models.boosting import GradientBoosting
from kzmig.models.discrete import MultinomialLogitMigration, OrderedLogitMigration
from kzmig.models.ensemble import Ensemble
from kzmig.models.ets import ETS
from kzmig.models.fe_direct import DirectFE
from kzmig.models.mean_reversion import MeanReversion
from kzmig.models.panel import (
    BetweenMigration,
    FirstDifferenceMigration,
    FixedEffectsMigration,
    PooledOLSMigration,
    RandomEffectsMigration,
)
from kzmig.models.pooled_ar import PooledAR
from kzmig.models.stacking import Stacked
from kzmig.models.theta import Theta

REGISTRY: dict[str, type] = {
    # continuous-outcome panel regressions (models/panel.py)
    "pooled_ols": PooledOLSMigration,
    "fixed_effects": FixedEffectsMigration,
    "random_effects": RandomEffectsMigration,
    "between": BetweenMigration,
    "first_difference": FirstDifferenceMigration,
    # migration-trend type models (models/discrete.py)
    "ordered_logit": OrderedLogitMigration,
    "multinomial_logit": MultinomialLogitMigration,
    # forecasters
    "naive": Naive,
    "drift": Drift,
    "window_mean": WindowMean,
    "historic_mean": HistoricMean,
    "auto_arima": AutoARIMA,
    "ets": ETS,
    "theta": Theta,
    "pooled_ar": PooledAR,
    "boosting": GradientBoosting,
    "ensemble": Ensemble,
    "mean_reversion": MeanReversion,
    "fe_direct": DirectFE,
    "stacked": Stacked,
}
PANEL_KINDS = ("pooled_ols", "fixed_effects", "random_effects", "between", "first_difference")
DISCRETE_KINDS = ("ordered_logit", "multinomial_logit")
FORECAST_KINDS = ("naive", "drift", "window_mean", "historic_mean", "auto_arima", "ets", "theta", "pooled_ar", "boosting",
                  "ensemble", "mean_reversion", "fe_direct", "stacked")
#: kinds that combine other models of the study (``members = [...]`` in their table)
COMBINATION_KINDS = ("ensemble", "stacked")
#: parameters given as TOML arrays that the classes take as tuples
_TUPLES = ("exog", "trends", "features", "order", "log", "relative", "phis", "weights", "windows")


def model_params(kind: str) -> tuple[str, ...]:
    """Constructor parameters of ``kind`` (what ``[models.<name>] params`` may set)."""
    check_option("kind", kind, REGISTRY, owner="models.registry")
    return tuple(REGISTRY[kind]._get_param_names())


def make_model(kind: str, params: Mapping[str, Any] | None = None, **more: Any) -> Any:
    """Instantiate ``REGISTRY[kind]`` with ``params`` (and keyword ``more``).

    Lists in the parameters of ``_TUPLES`` (``exog``, ``order`` ...) become tuples.

    Raises
    ------
    ValueError
        Unknown ``kind`` (listing the known ones), or a parameter the class does not take
        (naming it and the valid parameters).
    """
    valid = model_params(kind)
    cls = REGISTRY[kind]
    params = {**dict(params or {}), **more}
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ConfigError(f"{cls.__name__} ({kind!r}) takes no parameter(s) {bad}; valid: {sorted(valid)}.")
    params = {k: tuple(v) if k in _TUPLES and isinstance(v, list) else v for k, v in params.items()}
    return cls(**params)
