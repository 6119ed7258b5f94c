"""The state codec: values survive JSON + NPZ exactly, with their types, dtypes and index types."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from kzmig.models.persistence.artifacts import read_arrays, write_npz
from kzmig.models.persistence.state import MODEL_CLASSES, Packer, StateError, Unpacker, resolve_class


def _through_files(value, tmp_path):
    packer = Packer()
    text = json.dumps(packer.pack(value), allow_nan=False)
    write_npz(tmp_path / "a.npz", packer.arrays)
    arrays = read_arrays(tmp_path / "a.npz") if packer.arrays else {}
    return Unpacker(arrays, packer.objects).unpack(json.loads(text))


def _crosstab() -> pd.DataFrame:
    cats = ["x", "y", "z"]
    return pd.crosstab(pd.Series(pd.Categorical(["x", "y", "x"], categories=cats), name="observed"),
                       pd.Series(pd.Categorical(["y", "y", "x"], categories=cats), name="predicted"),
                       dropna=False)


FRAMES = {
    "mixed": pd.DataFrame({
        "region": pd.array(["A", "B", None], dtype="string"), "year": np.array([1, 2, 3], dtype="int64"),
        "x": [1.0, -0.0, np.nan], "small": np.array([1, 2, 3], dtype="int8"),
        "flag": [True, False, True], "cat": pd.Categorical(["a", "b", "a"], categories=["b", "a", "c"], ordered=True),
        "obj": np.array(["u", None, 3.5], dtype=object),
    }, index=pd.Index([5, 7, 9], name="row")),
    "strings": pd.DataFrame({"s": pd.Series(["u", None], dtype="str")}, index=pd.Index(["a", "b"])),
    "crosstab": _crosstab(),
    "multiindex": pd.DataFrame({"v": [1.0, 2.0]}, index=pd.MultiIndex.from_tuples([("A", 1), ("B", 2)],
                                                                                  names=["region", "year"])),
    "no-columns": pd.DataFrame(index=pd.RangeIndex(2, 8, 2, name="r")),
    "no-rows": pd.DataFrame({"a": pd.Series([], dtype="float32")}),
    "duplicate-columns": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "moments": pd.DataFrame({"y": [1.0, 2.0], "x_lag1": [0.5, 0.25]}, index=["mean", "std"]),
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_frames_round_trip_exactly(name, tmp_path):
    frame = FRAMES[name]
    got = _through_files(frame, tmp_path)
    pd.testing.assert_frame_equal(got, frame, check_exact=True, check_index_type=True, check_column_type=True,
                                  check_categorical=True, check_flags=True)
    assert type(got.index) is type(frame.index) and list(got.dtypes) == list(frame.dtypes)


def test_series_index_and_scalars_round_trip_exactly(tmp_path):
    value = {
        "s": pd.Series([1.0, np.nan], index=pd.Index(["a", "b"], dtype=object, name="term"), name="coef"),
        "range": pd.RangeIndex(0, 10, 3, name="r"), "f": 1.0 / 3.0, "nan": float("nan"), "inf": float("-inf"),
        "f64": np.float64(0.1), "i32": np.int32(-3), "b": np.bool_(True), "t": (1, "a", None, (2.5,)),
        "int_keys": {1: "a", 2.5: "b"}, "$dollar": {"$array": "not a reference"}, "list": [1, [2, 3]],
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "u": np.array(["ab", "c"]),
    }
    got = _through_files(value, tmp_path)
    pd.testing.assert_series_equal(got["s"], value["s"], check_exact=True, check_index_type=True)
    pd.testing.assert_index_equal(got["range"], value["range"], exact=True)
    for key in ("f", "inf", "f64", "i32", "b", "t", "int_keys", "$dollar", "list"):
        assert got[key] == value[key] and type(got[key]) is type(value[key]), key
    assert np.isnan(got["nan"])
    for key in ("fortran", "u"):
        np.testing.assert_array_equal(got[key], value[key])
        assert got[key].dtype == value[key].dtype
    assert got["fortran"].flags.f_contiguous


@pytest.mark.parametrize("value", [{1, 2}, dt.date(2020, 1, 1), pd.Series([1], dtype="Int64"),
                                   np.array([(1, "a")], dtype=[("a", "i4"), ("b", "O")])],
                         ids=["set", "date", "nullable-int", "structured-object"])
def test_unsupported_values_fail_at_save_time(value):
    with pytest.raises(StateError, match=r"cannot store"):
        Packer().pack({"attr_": value})


def test_statsmodels_results_are_never_packed():
    from statsmodels.regression.linear_model import OLS

    res = OLS(np.arange(5.0), np.ones(5)).fit()
    with pytest.raises(StateError, match=r"cannot store a value of type statsmodels\..*RegressionResultsWrapper"):
        Packer().pack(res)


def test_unpacker_refuses_unknown_tags_and_dangling_references():
    with pytest.raises(StateError, match=r"unknown tag '\$pickle'"):
        Unpacker({}, {}).unpack({"$pickle": "gASV"})
    with pytest.raises(StateError, match=r"array 'a0' is referenced but absent"):
        Unpacker({}, {}).unpack({"$array": "a0"})
    with pytest.raises(StateError, match=r"\$float 'os' is not nan"):
        Unpacker({}, {}).unpack({"$float": "os"})


def test_allow_list_resolves_only_listed_names():
    assert resolve_class("kzmig.models.forecasters.ets.ETS").__name__ == "ETS"
    assert len(set(MODEL_CLASSES)) == len(MODEL_CLASSES) == 22
    with pytest.raises(StateError, match=r"class 'kzmig\.models\.forecasters\.ets\.CANDIDATES' is not in the allow-list"):
        resolve_class("kzmig.models.forecasters.ets.CANDIDATES")


def test_every_registered_model_class_is_allow_listed():
    from kzmig.models.registry import REGISTRY
    from kzmig.models.persistence.state import class_name

    from kzmig.models.forecasters.since import Log, Since

    # every registry kind, plus the wrapper a forecast study puts around a model with first_year
    assert {class_name(c) for c in [*REGISTRY.values(), Since, Log]} == set(MODEL_CLASSES)


def test_models_outside_the_allow_list_are_not_saved(tmp_path):
    from kzmig.models.forecasters.baselines import Naive
    from kzmig.models.forecasters.ensemble import Ensemble
    from kzmig.models.persistence import save_model

    class MyNaive(Naive):
        pass

    with pytest.raises(TypeError, match=r"MyNaive has no safe file format"):
        save_model(MyNaive(), tmp_path / "top")
    with pytest.raises(StateError, match=r"MyNaive is not in MODEL_CLASSES"):
        save_model(Ensemble([("m", MyNaive())]), tmp_path / "nested")
