"""Model kinds by name, so a study config can say ``kind = "fixed_effects"``.

Each entry is an sklearn-style estimator class; build one with
``REGISTRY[kind](**params)`` (see :func:`make_model`). Forecasting models may register
here as well; keep one name per concept.
"""
from __future__ import annotations

from typing import Any

from kzmig.core.options import check_option
from kzmig.models.discrete import MultinomialLogitMigration, OrderedLogitMigration
from kzmig.models.panel import (
    BetweenMigration,
    FirstDifferenceMigration,
    FixedEffectsMigration,
    PooledOLSMigration,
    RandomEffectsMigration,
)

#: Continuous-outcome panel regressions of :mod:`models.panel`.
PANEL_KINDS = ("pooled_ols", "fixed_effects", "random_effects", "between", "first_difference")
#: Categorical-outcome (trend type) models of :mod:`models.discrete`.
DISCRETE_KINDS = ("ordered_logit", "multinomial_logit")

REGISTRY: dict[str, type] = {
    "pooled_ols": PooledOLSMigration,
    "fixed_effects": FixedEffectsMigration,
    "random_effects": RandomEffectsMigration,
    "between": BetweenMigration,
    "first_difference": FirstDifferenceMigration,
    "ordered_logit": OrderedLogitMigration,
    "multinomial_logit": MultinomialLogitMigration,
}


def make_model(kind: str, **params: Any) -> Any:
    """Instantiate ``REGISTRY[kind]`` with ``params``; unknown kinds list the valid ones.

    Raises
    ------
    ValueError
        Unknown ``kind``, or a parameter the class does not take (naming it and the valid
        parameters).
    """
    check_option("kind", kind, REGISTRY, owner="models.REGISTRY")
    cls = REGISTRY[kind]
    valid = set(cls._get_param_names())
    bad = sorted(set(params) - valid)
    if bad:
        raise ValueError(f"{cls.__name__} ({kind!r}) takes no parameter(s) {bad}; "
                         f"valid: {sorted(valid)}.")
    return cls(**params)
