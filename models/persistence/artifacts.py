"""The array and estimator files of a model folder, written and read without pickles.

``arrays.npz`` holds plain arrays only: it is written with ``allow_pickle=False`` and read
with ``np.load(..., allow_pickle=False)``, so an object array (which NumPy would pickle)
can neither be saved nor loaded. ``estimators.skops`` holds scikit-learn estimators, read
with ``skops.io.load`` and the explicit trusted list :data:`SKOPS_TRUSTED`; a file with any
other type outside skops' defaults is refused before skops builds anything.
"""
from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kzmig.core.errors import DataFileError

#: Types outside skops' defaults that a ``HistGradientBoostingRegressor`` holds: its tree
#: predictors and, with categorical features, ``partial(check_array, ...)`` inside the
#: ``FunctionTransformer`` of its preprocessor (scikit-learn's ``gradient_boosting.py``).
SKOPS_TRUSTED = (
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)
#: a fixed time stamp for the members of arrays.npz, so equal arrays give equal bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed NPZ of plain arrays (no pickles), with fixed member time stamps."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)


def write_estimators(path: Path, objects: Mapping[str, Any]) -> None:
    """Dump ``objects`` with skops; refuse (at save time) types a load would refuse."""
    from skops import io as sio

    sio.dump(dict(objects), path)
    check_skops_types(path)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an NPZ file, by name; refuses pickled data.

    Raises
    ------
    DataFileError
        Not an NPZ archive, or an array that is not plain data (e.g. a pickled object array).
    """
    errors = (ValueError, OSError, EOFError, zipfile.BadZipFile)
    why = "refusing to load it (pickled data are never read)"
    try:
        npz = np.load(path, allow_pickle=False)
    except errors as err:
        raise DataFileError(f"{path}: not an NPZ archive of plain arrays ({err}); {why}.") from err
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataFileError(f"{path}: a single array, not an NPZ archive; {why}.")
    with npz:
        try:
            return {k: npz[k] for k in npz.files}
        except errors as err:
            raise DataFileError(f"{path}: holds an array that is not plain data ({err}); {why}.") from err


def check_skops_types(path: Path) -> None:
    """Raise :class:`DataFileError` naming any type in a skops file outside :data:`SKOPS_TRUSTED`.

    Uses ``skops.io.get_untrusted_types``, which reads the file's schema without building
    any object.
    """
    from skops import io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as err:
        raise DataFileError(f"{path}: not a readable skops file ({err}).") from err
    extra = sorted(set(untrusted) - set(SKOPS_TRUSTED))
    if extra:
        raise DataFileError(f"{path}: holds types outside the trusted list: {extra}; refusing "
                            f"to load it (trusted: {list(SKOPS_TRUSTED)}).")


def read_estimators(path: Path) -> dict[str, Any]:
    """The mapping of estimators in a skops file, loaded with the trusted list only.

    Raises
    ------
    DataFileError
        An unreadable file, a type outside :data:`SKOPS_TRUSTED`, or not a mapping.
    """
    from skops import io as sio

    check_skops_types(path)
    try:
        objects = sio.load(path, trusted=list(SKOPS_TRUSTED))
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as err:
        raise DataFileError(f"{path}: skops refused or could not read it ({err}).") from err
    if not isinstance(objects, dict):
        raise DataFileError(f"{path}: expected a mapping of estimators, got "
                            f"{type(objects).__name__}.")
    return objects
