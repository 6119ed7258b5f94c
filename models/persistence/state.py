"""The fitted state of our models as JSON, plain arrays and scikit-learn estimators.

A model's state is packed into three parts that load without running code from a file
(STYLE.md section 6):

* a JSON tree (``model.json``) of scalars, strings, lists and tagged nodes;
* plain numeric arrays (``arrays.npz``), referenced from the tree as ``{"$array": key}``;
* scikit-learn estimators (``estimators.skops``), referenced as ``{"$sklearn": key}``.

Tagged nodes are one-key objects whose key starts with ``$``: ``$tuple``, ``$dict`` (keys
that are not strings), ``$float`` (NaN and infinities), ``$scalar`` (a NumPy scalar and
its dtype), ``$objects`` (an object array), ``$series``, ``$frame``, ``$index``, ``$range``,
``$multiindex``, ``$categorical``, ``$strings`` (pandas string arrays), ``$result`` (a
results dataclass) and ``$model`` (one of our estimators). Pandas objects keep their exact
dtypes, index types and names. Classes are rebuilt only from ``MODEL_CLASSES`` (the classes of
:mod:`kzmig.models.registry`) and :data:`RESULT_CLASSES`, explicit allow-lists of names.

Every model class mixes in :class:`Persistable`: ``_get_state()`` returns the three parts
and ``_from_state()`` rebuilds the estimator. By default the state is every public fitted
attribute (``name_``), so an attribute nobody thought about is saved or fails loudly at
save time, never dropped. A class overrides ``_state_values`` / ``_set_state`` only to turn
library objects (statsmodels results) into specifications, parameters and data and back.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kzmig.core.errors import ModelVersionError, StateError  # noqa: F401 - defined in the KzmigError family
from kzmig.models import registry

#: The results dataclasses :func:`unpack` may rebuild.
RESULT_CLASSES = ("kzmig.models.panel.results.PanelResult", "kzmig.models.panel.results.DiscreteResult")


class ModelVersionWarning(UserWarning):
    """A saved model was made with other library versions, or its refitted backend differs."""


def class_name(obj_or_cls: Any) -> str:
    """``module.qualname`` of an object's class (or of a class)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def __getattr__(name: str) -> Any:
    """``MODEL_CLASSES``: the estimators :func:`unpack_model` may rebuild, by ``module.qualname``: every
    model of :mod:`kzmig.models.registry` (its declaration is its persistence)."""
    if name == "MODEL_CLASSES":
        return registry.model_classes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_class(name: Any, allowed: tuple[str, ...] | None = None) -> type:
    """The class called ``name``, only when ``name`` is in ``allowed`` (default: the registered models).

    Raises
    ------
    StateError
        ``name`` is not in the allow-list (the message names it and the allowed ones).
    """
    if allowed is None:
        allowed = registry.model_classes()
    if not isinstance(name, str) or name not in allowed:
        raise StateError(f"class {name!r} is not in the allow-list of loadable classes "
                         f"{list(allowed)}; refusing to build it.")
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _raw(obj: pd.Series | pd.Index) -> Any:
    """The values of a Series or Index: an ndarray for NumPy dtypes, else the extension array."""
    return obj.to_numpy() if isinstance(obj.dtype, np.dtype) else obj.array


class Packer:
    """Turn a value into a JSON tree, collecting arrays and scikit-learn estimators."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.objects: dict[str, Any] = {}

    def pack(self, v: Any) -> Any:  # noqa: C901 - one dispatch over the supported types
        """The JSON tree of ``v``; raises :class:`StateError` for an unsupported type."""
        if isinstance(v, np.generic):  # before float/str: np.float64 and np.str_ subclass them
            return {"$scalar": {"dtype": v.dtype.str, "value": self.pack(v.item())}}
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"$float": repr(v)}
        if isinstance(v, tuple):
            return {"$tuple": [self.pack(x) for x in v]}
        if isinstance(v, list):
            return [self.pack(x) for x in v]
        if isinstance(v, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in v):
                return {k: self.pack(x) for k, x in v.items()}
            return {"$dict": [[self.pack(k), self.pack(x)] for k, x in v.items()]}
        if isinstance(v, np.ndarray):
            return self._array(v)
        if isinstance(v, pd.DataFrame):
            return {"$frame": {"index": self.pack(v.index), "columns": self.pack(v.columns),
                               "data": [self._values(_raw(v.iloc[:, i])) for i in range(v.shape[1])]}}
        if isinstance(v, pd.Series):
            return {"$series": {"values": self._values(_raw(v)), "index": self.pack(v.index),
                                "name": self.pack(v.name)}}
        if isinstance(v, pd.Index):
            return self._index(v)
        if isinstance(v, pd.api.extensions.ExtensionArray):
            return self._values(v)
        if isinstance(v, Persistable):  # before scikit-learn: our models are BaseEstimators too
            if class_name(v) not in registry.model_classes():
                raise StateError(f"{class_name(v)} is not in MODEL_CLASSES (not a registered model); "
                                 "a load would refuse it.")
            return {"$model": v._pack_with(self)}
        if dataclasses.is_dataclass(v) and class_name(v) in RESULT_CLASSES:
            fields = {f.name: self.pack(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"$result": {"class": class_name(v), "fields": fields}}
        if type(v).__module__.split(".")[0] == "sklearn" and hasattr(v, "get_params"):
            key = f"e{len(self.objects)}"
            self.objects[key] = v
            return {"$sklearn": key}
        raise StateError(f"cannot store a value of type {class_name(v)} in a model file; "
                         "convert it to arrays, frames or parameters in _state_values.")

    def _array(self, a: np.ndarray) -> Any:
        if a.dtype == object:
            return {"$objects": {"shape": list(a.shape), "values": [self.pack(x) for x in a.ravel()]}}
        if a.dtype.hasobject or a.dtype.kind not in "biufcmMUS":
            raise StateError(f"cannot store an array of dtype {a.dtype} in a model file.")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return {"$array": key}

    def _values(self, arr: Any) -> Any:
        if isinstance(arr, np.ndarray):
            return self._array(arr)
        if isinstance(arr, pd.Categorical):
            return {"$categorical": {"categories": self.pack(arr.categories),
                                     "codes": self._array(arr.codes), "ordered": bool(arr.ordered)}}
        if isinstance(arr.dtype, pd.StringDtype):
            return {"$strings": {"storage": arr.dtype.storage,
                                 "na": "NA" if arr.dtype.na_value is pd.NA else "nan",
                                 "values": [None if pd.isna(x) else str(x) for x in arr]}}
        if isinstance(arr, pd.arrays.NumpyExtensionArray):
            return self._array(arr.to_numpy())
        raise StateError(f"cannot store pandas values of dtype {arr.dtype} in a model file.")

    def _index(self, idx: pd.Index) -> Any:
        if isinstance(idx, pd.RangeIndex):
            return {"$range": {"start": idx.start, "stop": idx.stop, "step": idx.step,
                               "name": self.pack(idx.name)}}
        if isinstance(idx, pd.MultiIndex):
            return {"$multiindex": {"levels": [self.pack(lv) for lv in idx.levels],
                                    "codes": [self._array(np.asarray(c)) for c in idx.codes],
                                    "names": [self.pack(n) for n in idx.names]}}
        return {"$index": {"values": self._values(_raw(idx)), "name": self.pack(idx.name)}}


class Unpacker:
    """Rebuild values from a JSON tree, its arrays and its scikit-learn estimators."""

    def __init__(self, arrays: Mapping[str, np.ndarray], objects: Mapping[str, Any]) -> None:
        self.arrays, self.objects = arrays, objects
        self._tags: dict[str, Callable[[Any], Any]] = {
            "$tuple": lambda b: tuple(self.unpack(x) for x in b),
            "$dict": lambda b: {self.unpack(k): self.unpack(x) for k, x in b},
            "$float": self._float, "$scalar": self._scalar, "$array": self._ref,
            "$sklearn": self._sklearn, "$objects": self._objects, "$series": self._series,
            "$frame": self._frame, "$index": self._index, "$range": self._range,
            "$multiindex": self._multiindex, "$categorical": self._categorical,
            "$strings": self._strings, "$result": self._result, "$model": self._model,
        }

    def unpack(self, node: Any) -> Any:
        """The value packed as ``node`` by :meth:`Packer.pack`."""
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.unpack(x) for x in node]
        if isinstance(node, dict):
            if len(node) == 1:
                ((tag, body),) = node.items()
                if tag.startswith("$"):
                    if tag not in self._tags:
                        raise StateError(f"unknown tag {tag!r} in the model tree.")
                    return self._tags[tag](body)
            return {k: self.unpack(x) for k, x in node.items()}
        raise StateError(f"unexpected {type(node).__name__} in the model tree.")

    def _float(self, body: str) -> float:
        if body not in ("nan", "inf", "-inf"):
            raise StateError(f"$float {body!r} is not nan, inf or -inf.")
        return float(body)

    def _scalar(self, body: dict) -> np.generic:
        return np.array(self.unpack(body["value"]), dtype=np.dtype(body["dtype"]))[()]

    def _ref(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise StateError(f"array {key!r} is referenced but absent from arrays.npz.")
        return self.arrays[key]

    def _sklearn(self, key: str) -> Any:
        if key not in self.objects:
            raise StateError(f"estimator {key!r} is referenced but absent from estimators.skops.")
        return self.objects[key]

    def _objects(self, body: dict) -> np.ndarray:
        values = [self.unpack(x) for x in body["values"]]
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out.reshape(body["shape"])

    def _values(self, node: Any) -> Any:
        values = self.unpack(node)
        if not isinstance(values, (np.ndarray, pd.api.extensions.ExtensionArray)):
            raise StateError(f"pandas values must be an array, got {type(values).__name__}.")
        return values

    def _series(self, body: dict) -> pd.Series:
        values = self._values(body["values"])
        return pd.Series(values, index=self.unpack(body["index"]), name=self.unpack(body["name"]),
                         dtype=values.dtype, copy=False)

    def _frame(self, body: dict) -> pd.DataFrame:
        index, columns = self.unpack(body["index"]), self.unpack(body["columns"])
        cols = [self._values(c) for c in body["data"]]
        if cols:
            frame = pd.DataFrame({i: pd.Series(c, dtype=c.dtype, copy=False) for i, c in enumerate(cols)},
                                 copy=False)
            frame.index = index
        else:
            frame = pd.DataFrame(index=index)
        frame.columns = columns
        return frame

    def _index(self, body: dict) -> pd.Index:
        values = self._values(body["values"])
        return pd.Index(values, dtype=values.dtype, name=self.unpack(body["name"]))

    def _range(self, body: dict) -> pd.RangeIndex:
        return pd.RangeIndex(body["start"], body["stop"], body["step"], name=self.unpack(body["name"]))

    def _multiindex(self, body: dict) -> pd.MultiIndex:
        return pd.MultiIndex(levels=[self.unpack(lv) for lv in body["levels"]],
                             codes=[self.unpack(c) for c in body["codes"]],
                             names=[self.unpack(n) for n in body["names"]])

    def _categorical(self, body: dict) -> pd.Categorical:
        dtype = pd.CategoricalDtype(self.unpack(body["categories"]), ordered=bool(body["ordered"]))
        return pd.Categorical.from_codes(self.unpack(body["codes"]), dtype=dtype)

    def _strings(self, body: dict) -> Any:
        na = body["na"]
        if na not in ("NA", "nan"):
            raise StateError(f"$strings na={na!r} is not 'NA' or 'nan'.")
        dtype = pd.StringDtype(body["storage"]) if na == "NA" else pd.StringDtype(body["storage"], na_value=np.nan)
        return pd.array(body["values"], dtype=dtype)

    def _result(self, body: dict) -> Any:
        cls = resolve_class(body["class"], RESULT_CLASSES)
        return cls(**{k: self.unpack(x) for k, x in body["fields"].items()})

    def _model(self, body: dict) -> Any:
        cls = resolve_class(body["class"])
        return cls._from_state(body, self.arrays, self.objects)


class Persistable:
    """Mixin giving an estimator a state round trip through :class:`Packer` / :class:`Unpacker`.

    The state is ``get_params(deep=False)`` plus :meth:`_state_values` (by default every
    public fitted attribute, those in ``_rebuilt_attrs`` left out). Subclasses override
    :meth:`_state_values` and :meth:`_set_state` to store library objects as specifications,
    parameters and data, and to rebuild them.
    """

    #: Fitted attributes not stored because :meth:`_set_state` rebuilds them.
    _rebuilt_attrs: tuple[str, ...] = ()

    def _state_values(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_") and k not in self._rebuilt_attrs}

    def _set_state(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def _pack_with(self, packer: Packer) -> dict[str, Any]:
        values = self._state_values()
        return {"class": class_name(self), "params": packer.pack(self.get_params(deep=False)),
                "fitted": packer.pack(values) if values else None}

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
        """``(json_tree, arrays, sklearn_estimators)`` of this estimator."""
        packer = Packer()
        tree = self._pack_with(packer)
        return tree, packer.arrays, packer.objects

    @classmethod
    def _from_state(cls, tree: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                    objects: Mapping[str, Any]) -> Any:
        """The estimator whose :meth:`_get_state` gave ``tree``, ``arrays`` and ``objects``."""
        unpacker = Unpacker(arrays, objects)
        params = unpacker.unpack(tree["params"])
        if not isinstance(params, dict):
            raise StateError(f"{cls.__name__}: params must be an object, got {type(params).__name__}.")
        est = cls(**params)
        if tree.get("fitted") is not None:
            est._set_state(unpacker.unpack(tree["fitted"]))
        return est


def unpack_model(tree: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                 objects: Mapping[str, Any]) -> Any:
    """Rebuild the estimator of a ``model.json`` tree.

    Parameters
    ----------
    tree : mapping
        ``{"class", "params", "fitted"}`` as written by :meth:`Persistable._get_state`.
    arrays, objects : mapping
        The arrays of ``arrays.npz`` and the estimators of ``estimators.skops``, by key.

    Raises
    ------
    StateError
        A class outside :data:`MODEL_CLASSES` / :data:`RESULT_CLASSES` (named), an unknown
        tag or a reference to a missing array or estimator.
    """
    if not isinstance(tree, Mapping):
        raise StateError("the model entry must be an object.")
    return resolve_class(tree.get("class"))._from_state(tree, arrays, objects)


def refit_backend(owner: str, attr: str, refit: Callable[[], Any], params_of: Callable[[Any], Any],
                  saved: Any) -> Any:
    """Refit a library result on the saved sample; warn if it fails or differs from ``saved``.

    Used for linearmodels and statsmodels results of the panel and discrete models, which
    are not stored: predictions and ``result_`` come from the saved estimates, the refitted
    object only serves callers who want the library's own result (``lm_result_``,
    ``sm_result_``).

    Parameters
    ----------
    owner, attr : str
        Estimator and attribute names, for the warning.
    refit : callable
        Fits the library model on the saved sample with the saved specification.
    params_of : callable
        The estimates of a refitted result, compared with ``saved`` bit for bit.
    saved : array_like
        The saved estimates.

    Returns
    -------
    object or None
        The refitted result, or None when the refit raised (with a
        :class:`ModelVersionWarning`).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = refit()
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as err:
        warnings.warn(f"{owner}: refitting {attr} on the saved sample failed ({err}); it is None, "
                      "while result_ and predictions use the saved estimates.", ModelVersionWarning,
                      stacklevel=4)
        return None
    got, want = np.asarray(params_of(res), dtype=float), np.asarray(saved, dtype=float)
    if got.shape != want.shape or not np.array_equal(got, want):
        gap = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("nan")
        warnings.warn(f"{owner}: {attr} refitted on the saved sample differs from the saved "
                      f"estimates (largest difference {gap:.3g}); result_ and predictions use the "
                      "saved estimates.", ModelVersionWarning, stacklevel=4)
    return res
