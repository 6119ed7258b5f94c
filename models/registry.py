"""Every model kind by name, and what each model declares it can do.

A model registers itself, in its own module, with :func:`register`::

    @register("naive", pools=False)
    class Naive(LocalForecaster):
        ...

The declaration (:class:`ModelInfo`) is all the rest of kzmig reads about a model:

* the **config schema** of its ``params`` table: the constructor parameters, typed by their
  defaults (:mod:`kzmig.config.params`), with ``choices`` and ``ranges`` declared here;
* its **persistence**: every registered class is on the allow-list of loadable model files
  (:func:`model_classes`, read by :mod:`kzmig.models.persistence.state`);
* whether it **pools** series (fits every series together) or fits each series alone (the
  backtest then splits the series into groups of tasks);
* its **horizon limit**: the parameter that bounds how far it forecasts (``max_horizon`` of a
  direct model), or none; :func:`horizon_limit` also looks inside wrappers and combinations;
* its **members**: the constructor parameter holding other models (``members`` of an
  ensemble or a stacking, ``model`` of a wrapper), fitted as ``fitted_<param>_``;
* its **update rule** for newer data (the class's ``update_rule``, :func:`update_rule`).

The built-in models live in :data:`BUILTIN_MODULES`, imported on the registry's first use. A
model registered from anywhere else (a plug-in, a test) is a model of kzmig like the others.

Families: panel regressions (:data:`PANEL_KINDS`), trend-type models (:data:`DISCRETE_KINDS`),
forecasters (:data:`FORECAST_KINDS`, of which :data:`COMBINATION_KINDS` combine other models of
a study) and wrappers (``since``, ``log``: set by ``first_year`` / ``log`` keys of a model's
table, never a ``kind``).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kzmig.core.errors import ConfigError
from kzmig.core.options import check_option

FAMILIES = ("panel", "discrete", "forecaster", "wrapper")
#: Modules that register the built-in models, in the order of the registry.
BUILTIN_MODULES = (
    "kzmig.models.panel", "kzmig.models.panel.discrete", "kzmig.models.forecasters.baselines", "kzmig.models.forecasters.arima",
    "kzmig.models.forecasters.ets", "kzmig.models.forecasters.theta", "kzmig.models.forecasters.pooled_ar", "kzmig.models.forecasters.boosting",
    "kzmig.models.forecasters.ensemble", "kzmig.models.forecasters.mean_reversion", "kzmig.models.forecasters.fe_direct", "kzmig.models.forecasters.stacking",
    "kzmig.models.forecasters.since",
)
#: parameters given as TOML arrays that the classes take as tuples
_TUPLES = ("exog", "trends", "features", "order", "log", "relative", "phis", "weights", "windows")


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model declares (see the module docstring).

    Attributes
    ----------
    kind : str
        The registry key (``kind = "..."`` in a config).
    cls : type
        The estimator class (scikit-learn style: ``get_params``, ``set_params``, ``fit``).
    family : {"panel", "discrete", "forecaster", "wrapper"}
    choices : mapping of str to tuple
        Parameter -> the values it may take (each item, for a tuple-valued parameter).
    ranges : mapping of str to (low, high)
        Parameter -> inclusive bounds (None: unbounded on that side).
    pools : bool or None
        True: fits every series together; False: each series alone; None: as its members.
    horizon : str or None
        The parameter bounding the years it forecasts ahead (``predict(h)`` needs
        ``h <= getattr(model, horizon)``), or None.
    members : str or None
        The constructor parameter holding other models: a list of ``(name, model)`` pairs, or
        one model (a wrapper); fitted copies are in ``fitted_<members>_``.
    combine : tuple of str
        The values of a study's ``combine = ...`` key for a model with members (the first is
        the default); empty when the key is not the model's.
    """

    kind: str
    cls: type
    family: str = "forecaster"
    choices: Mapping[str, tuple] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    pools: bool | None = False
    horizon: str | None = None
    members: str | None = None
    combine: tuple[str, ...] = ()

    @property
    def update_rule(self) -> str:
        """How the model is conditioned on newer data (its class's ``update_rule``)."""
        rule = getattr(self.cls, "update_rule", None)
        return rule if isinstance(rule, str) else "the members' own rules (see each member)"

    @property
    def params(self) -> tuple[str, ...]:
        """Constructor parameters (what ``[models.<name>] params`` may set)."""
        return tuple(self.cls._get_param_names())


_ENTRIES: dict[str, ModelInfo] = {}
_LOADED: list[bool] = [False]


def register(kind: str, *, family: str = "forecaster", choices: Mapping[str, tuple] | None = None,
             ranges: Mapping[str, tuple[float | None, float | None]] | None = None, pools: bool | None = False,
             horizon: str | None = None, members: str | None = None,
             combine: tuple[str, ...] = ()) -> Callable[[type], type]:
    """Class decorator: register a model under ``kind`` with what it can do (see :class:`ModelInfo`).

    Raises
    ------
    ValueError
        ``kind`` already registered by another class, an unknown ``family``, or ``choices``,
        ``ranges``, ``horizon`` or ``members`` naming a parameter the class does not take.
    """
    check_option("family", family, FAMILIES, owner="models.registry.register")

    def decorate(cls: type) -> type:
        names = set(cls._get_param_names())
        declared = [*(choices or {}), *(ranges or {}), *([horizon] if horizon else []), *([members] if members else [])]
        bad = sorted(set(declared) - names)
        if bad:
            raise ValueError(f"register({kind!r}): {cls.__name__} takes no parameter(s) {bad}; it takes {sorted(names)}.")
        old = _ENTRIES.get(kind)
        if old is not None and (old.cls.__module__, old.cls.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"register({kind!r}): the kind is taken by {old.cls.__module__}.{old.cls.__qualname__}.")
        _ENTRIES[kind] = ModelInfo(kind, cls, family, MappingProxyType(dict(choices or {})),
                                   MappingProxyType(dict(ranges or {})), pools, horizon, members, tuple(combine))
        for listener in list(_LISTENERS):
            listener()
        return cls
    return decorate


def unregister(kind: str) -> None:
    """Remove ``kind`` (a test's model, when the test is done)."""
    _ENTRIES.pop(kind, None)
    for listener in list(_LISTENERS):
        listener()


_LISTENERS: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever a model is registered or removed (the config schema rebuilds)."""
    _LISTENERS.append(listener)


def _load() -> None:
    if not _LOADED[0]:
        _LOADED[0] = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)


def entries(family: str | None = None) -> dict[str, ModelInfo]:
    """Registered models by kind (of one ``family``): built-in ones in :data:`BUILTIN_MODULES` order, then
    the others in the order they registered."""
    _load()
    rank = {m: i for i, m in enumerate(BUILTIN_MODULES)}
    order = sorted(range(len(_ENTRIES)), key=lambda i: (rank.get(list(_ENTRIES.values())[i].cls.__module__,
                                                                  len(rank)), i))
    items = list(_ENTRIES.items())
    return {k: v for k, v in (items[i] for i in order) if family is None or v.family == family}


def info(kind: str) -> ModelInfo:
    """The declaration of ``kind`` (ValueError naming the known kinds)."""
    known = entries()
    check_option("kind", kind, known, owner="models.registry")
    return known[kind]


def info_of(model: Any) -> ModelInfo | None:
    """The declaration of a model (instance or class); None for an unregistered class."""
    cls = model if isinstance(model, type) else type(model)
    for entry in entries().values():
        if entry.cls is cls:
            return entry
    return None


def model_classes() -> tuple[str, ...]:
    """``module.qualname`` of every registered class: the allow-list of loadable model files."""
    return tuple(f"{e.cls.__module__}.{e.cls.__qualname__}" for e in entries().values())


def members(model: Any) -> list[tuple[str, Any]]:
    """The models inside ``model``, as ``(name, model)``: the fitted ones once it is fitted."""
    entry = info_of(model)
    if entry is None or entry.members is None:
        return []
    inner = getattr(model, f"fitted_{entry.members}_", None)
    if inner is None:
        inner = getattr(model, entry.members)
    if inner is None:
        return []
    return list(inner) if isinstance(inner, (list, tuple)) else [("", inner)]


def pools(model: Any) -> bool:
    """Whether ``model`` fits every series together (False: each series alone, so a group of
    series gives the same forecasts as all of them)."""
    entry = info_of(model)
    if entry is None:
        return True
    if entry.pools is None:
        inner = members(model)
        return not inner or any(pools(m) for _, m in inner)
    return bool(entry.pools)


def horizon_limit(model: Any) -> int | None:
    """The most years ahead ``model`` (fitted) forecasts: its own limit and its members', or None."""
    entry = info_of(model)
    limits = [int(getattr(model, entry.horizon))] if entry is not None and entry.horizon else []
    limits += [h for _, m in members(model) if (h := horizon_limit(m)) is not None]
    return min(limits) if limits else None


def set_horizon(model: Any, h: int, *, at_least: bool = False) -> Any:
    """Set the horizon parameter of a model that declares one to ``h`` (``at_least``: to ``h`` or its
    own value, whichever is larger); the model, changed in place."""
    entry = info_of(model)
    if entry is not None and entry.horizon:
        own = int(getattr(model, entry.horizon))
        model.set_params(**{entry.horizon: max(h, own) if at_least else h})
    return model


def update_rule(model: Any) -> str:
    """How ``model`` (fitted) is conditioned on newer data."""
    return str(model.update_rule)


def model_params(kind: str) -> tuple[str, ...]:
    """Constructor parameters of ``kind`` (what ``[models.<name>] params`` may set)."""
    return info(kind).params


def make_model(kind: str, params: Mapping[str, Any] | None = None, **more: Any) -> Any:
    """Instantiate the class of ``kind`` with ``params`` (and keyword ``more``).

    Lists in the parameters of ``_TUPLES`` (``exog``, ``order`` ...) become tuples.

    Raises
    ------
    ValueError
        Unknown ``kind`` (listing the known ones), or a parameter the class does not take
        (naming it and the valid parameters).
    """
    valid = model_params(kind)
    cls = info(kind).cls
    params = {**dict(params or {}), **more}
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ConfigError(f"{cls.__name__} ({kind!r}) takes no parameter(s) {bad}; valid: {sorted(valid)}.")
    params = {k: tuple(v) if k in _TUPLES and isinstance(v, list) else v for k, v in params.items()}
    return cls(**params)


def kinds(family: str) -> tuple[str, ...]:
    """The kinds of one family, in registry order."""
    check_option("family", family, FAMILIES, owner="models.registry")
    return tuple(entries(family))


def __getattr__(name: str) -> Any:
    """Views of the registry as constants: ``REGISTRY`` (kind -> class, wrappers left out),
    ``PANEL_KINDS``, ``DISCRETE_KINDS``, ``FORECAST_KINDS``, ``COMBINATION_KINDS``."""
    if name == "REGISTRY":
        return MappingProxyType({k: e.cls for k, e in entries().items() if e.family != "wrapper"})
    if name == "PANEL_KINDS":
        return kinds("panel")
    if name == "DISCRETE_KINDS":
        return kinds("discrete")
    if name == "FORECAST_KINDS":
        return kinds("forecaster")
    if name == "COMBINATION_KINDS":
        return tuple(k for k, e in entries("forecaster").items() if e.members)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
