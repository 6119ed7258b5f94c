"""``params`` tables of models, checked against the estimator class they configure.

For each registry entry (a forecaster or a panel model of :data:`kzmig.models.registry.REGISTRY`) :func:`params_model` builds a closed model
whose keys are the class's ``_get_param_names()``, minus those the study sets itself. A
value must have the type of the constructor default (an integer where the default is an
integer, a number where it is a float, ``true``/``false`` where it is a bool, a list where
it is a tuple); a parameter whose default is ``None`` takes any value. The model's registration
(:func:`kzmig.models.registry.register`) declares the rest: ``choices`` (a parameter must be one
of them, or each item of a tuple) and ``ranges`` (inclusive bounds). Nothing here names a model.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, Field, PrivateAttr, create_model, field_serializer, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from kzmig.config.base import ERROR_TYPE, ConfigModel, Text, Year, toml_repr
from kzmig.features.data.panel import MISSING_POLICIES
from kzmig.models import registry

#: Parameters, of any model that takes them, whose values come from a registry.
COMMON_CHOICES: dict[str, tuple] = {"missing": MISSING_POLICIES}


class ParamsBase(ConfigModel):
    """A ``params`` table of one estimator class (built by :func:`params_model`)."""


def _refuse(name: str, reason: str) -> AfterValidator:
    def check(value: Any) -> Any:
        raise PydanticCustomError(ERROR_TYPE, "{message}", {
            "message": f"found {toml_repr(value)}; {name} is not set in params: {reason}."})
    return AfterValidator(check)


def _param_type(default: Any, choices: tuple | None, bounds: tuple | None = None) -> Any:
    if choices is not None:
        opt = Literal[choices]  # type: ignore[valid-type]
        return tuple[opt, ...] if isinstance(default, tuple) else opt
    if bounds is not None:
        lo, hi = bounds
        base = type(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else float
        return Annotated[base, Field(ge=lo, le=hi)]
    if default is None or default is inspect.Parameter.empty:
        return Any
    if isinstance(default, bool):
        return bool
    if isinstance(default, (int, float)):
        return type(default)
    if isinstance(default, str):
        return Text
    if isinstance(default, tuple):
        return tuple[type(default[0]) if default else Text, ...]  # type: ignore[misc]
    return Any


def params_model(cls: type, reserved: Mapping[str, str]) -> type[ParamsBase]:
    """A closed model of the parameters of estimator ``cls``.

    Parameters
    ----------
    cls : type
        A scikit-learn style estimator (``_get_param_names()`` lists its parameters).
    reserved : mapping of str to str
        Parameters the study sets itself -> where the user sets them instead.
    """
    sig = inspect.signature(cls.__init__)
    entry = registry.info_of(cls)
    choices = {**COMMON_CHOICES, **(dict(entry.choices) if entry else {})}
    ranges = dict(entry.ranges) if entry else {}
    fields: dict[str, Any] = {}
    for name in cls._get_param_names():
        if name in reserved:  # accepted by the type, refused by the validator: one error per key
            fields[name] = (Annotated[SkipJsonSchema[Any], _refuse(name, reserved[name])], None)
            continue
        default = sig.parameters[name].default
        typ = _param_type(default, choices.get(name), ranges.get(name))
        fields[name] = (typ, ... if default is inspect.Parameter.empty else default)
    return create_model(f"{cls.__name__}Params", __base__=ParamsBase, __doc__=f"params of {cls.__name__}",
                        **fields)


class ModelSpecBase(ConfigModel):
    """One model of a study: ``kind`` (registry key) and ``params`` (given keys only, read-only)."""

    @field_validator("params", mode="after", check_fields=False)
    @classmethod
    def _given_params(cls, value: ParamsBase) -> Mapping[str, Any]:
        return MappingProxyType({k: getattr(value, k) for k in type(value).model_fields
                                 if k in value.model_fields_set})

    @field_serializer("params", check_fields=False)
    def _dump_params(self, value: Mapping[str, Any]) -> dict[str, Any]:
        return dict(value)


class NamedSpec(ModelSpecBase):
    """A spec whose name is the key of its ``[models.<name>]`` table (set by the study)."""

    _name: str = PrivateAttr(default="")

    @property
    def name(self) -> str:
        """The table name, ``<name>`` of ``[models.<name>]``."""
        return self._name


class SingleSpec(NamedSpec):
    """A model that is not an ensemble: no members (``members``/``combine`` read as empty/"mean").

    ``first_year`` fits the model on the years from it on only (an earlier regime, such as the
    1990s emigration wave, left out; the ``since`` wrapper of :mod:`kzmig.models.forecasters.since`); ``log = true``
    fits it on the logarithm of a positive series (counts: positive, proportional intervals; the
    ``log`` wrapper).
    """

    first_year: Year | None = None
    log: bool = False

    @property
    def members(self) -> tuple[str, ...]:
        """Always empty: only an ensemble has members."""
        return ()

    @property
    def combine(self) -> str:
        """Unused outside an ensemble; ``"mean"`` as in the old parser."""
        return "mean"


def spec_classes(registry: Mapping[str, type], base: type[ModelSpecBase], reserved: Mapping[str, str],
                 extra: Mapping[str, Mapping[str, Any]] | None = None,
                 bases: Mapping[str, type[ModelSpecBase]] | None = None) -> dict[str, type[ModelSpecBase]]:
    """One spec class per ``kind`` of ``registry`` (the members of a discriminated union).

    ``extra`` adds fields to some kinds (``members``/``combine`` of an ensemble); ``bases``
    replaces ``base`` for some kinds.
    """
    out = {}
    for kind, cls in registry.items():
        fields = {"kind": (Literal[kind], Field(description=f"{cls.__name__}")),  # type: ignore[valid-type]
                  "params": (params_model(cls, reserved),
                             Field(default_factory=lambda: MappingProxyType({}),
                                   description=f"parameters of {cls.__name__}"))}
        fields.update((extra or {}).get(kind, {}))
        out[kind] = create_model(f"{cls.__name__}Spec", __base__=(bases or {}).get(kind, base),
                                 __doc__=f"a model of kind {kind!r} ({cls.__name__})", **fields)
    return out


#: Constructor parameters a forecasting study sets itself -> where the user sets them.
FORECAST_RESERVED = {
    "name": "a model's name is the name of its table [models.<name>]",
    "breaks": "it is set for every model by [breaks] treatment",
    "members": "give members = [...] in the model's table itself",
    "combine": "give combine = ... in the model's table itself",
}
_SPEC_CACHE: dict[tuple, dict[str, type[ModelSpecBase]]] = {}


def forecaster_specs() -> dict[str, type[ModelSpecBase]]:
    """One ``[models.<name>]`` spec class per registered forecaster (:mod:`kzmig.models.registry`).

    A kind that declares members gets ``members`` (names of other models of the study) and, when
    it declares ``combine`` values, ``combine`` (the first is the default); the others take
    ``first_year`` and ``log`` (:class:`SingleSpec`). Built again when the registry changes.
    """
    from kzmig.config.base import SafeName, Unique

    entries = registry.entries("forecaster")
    key = tuple((k, e.cls, e.members, e.combine, tuple(e.choices.items()), tuple(e.ranges.items()))
                for k, e in entries.items())
    if key not in _SPEC_CACHE:
        extra, bases = {}, {}
        for kind, e in entries.items():
            if e.members is None:
                continue
            bases[kind] = NamedSpec
            extra[kind] = {"members": (Annotated[tuple[SafeName, ...], Field(min_length=1), Unique],
                                       Field(description=f"names of other models of the study ({e.cls.__name__}'s "
                                                         "members)")),
                           "combine": (Literal[e.combine or ("weighted",)],  # type: ignore[valid-type]
                                       Field(default=(e.combine or ("weighted",))[0]))}
        _SPEC_CACHE.clear()
        _SPEC_CACHE[key] = spec_classes({k: e.cls for k, e in entries.items()}, SingleSpec, FORECAST_RESERVED,
                                        extra=extra, bases=bases)
    return _SPEC_CACHE[key]


def forecaster_union() -> Any:
    """The type of one ``[models.<name>]`` table of a forecasting study: the spec classes of the
    registered forecasters (:func:`forecaster_specs`), chosen by ``kind``."""
    specs = tuple(forecaster_specs().values())
    return Annotated[Union[specs], Field(discriminator="kind")]  # type: ignore[valid-type]


#: The current :func:`forecaster_union` (a config class annotates its models with it).
ForecasterSpec = forecaster_union()
_CURRENT: list[Any] = [ForecasterSpec]
_FOLLOWERS: list[type] = []


def follow_registry(config_class: type) -> type:
    """Class decorator: when a model is registered or removed, put the new :func:`forecaster_union`
    in ``config_class``'s fields and rebuild it (classes decorated earlier first, so that a class
    holding another sees its new schema): a forecaster registered by a plug-in or a test is then
    a valid ``kind``, and errors name its keys as for the built-in ones."""
    _FOLLOWERS.append(config_class)
    return config_class


def _swap(t: Any, old: Any, new: Any) -> Any:
    if t is old:
        return new
    origin, args = get_origin(t), get_args(t)
    if origin is Annotated:
        return Annotated[(_swap(args[0], old, new), *t.__metadata__)]
    if origin in (dict, tuple) and args:
        return origin[tuple(_swap(a, old, new) for a in args)]
    return t


def _rebuild() -> None:
    new = forecaster_union()
    for cls in _FOLLOWERS:
        for info in cls.__pydantic_fields__.values():
            info.annotation = _swap(info.annotation, _CURRENT[0], new)
    _CURRENT[0] = new
    for cls in _FOLLOWERS:
        cls.model_rebuild(force=True)


registry.on_change(_rebuild)
