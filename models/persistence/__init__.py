"""Saving and loading fitted models in files that load without running code.

``save_model(model, folder, metadata)`` writes one model per folder (STYLE.md section 6):

``model.json``
    The class name (from the allow-list the registered models, :func:`kzmig.models.registry.model_classes`), the constructor
    parameters (``get_params(deep=False)``) and the fitted state as a JSON tree
    (:mod:`kzmig.models.persistence.state`): scalars, specifications, strings, tagged pandas objects.
``arrays.npz``
    The numeric arrays of that tree, read back with ``allow_pickle=False`` (absent when the
    model has none).
``estimators.skops``
    scikit-learn estimators inside our models (the ``HistGradientBoostingRegressor`` per
    horizon of the ``boosting`` kind, :mod:`kzmig.models.forecasters.boosting`), read back with ``skops.io.load``
    and the explicit trusted list :data:`kzmig.models.persistence.artifacts.SKOPS_TRUSTED`; files with any
    other type that skops does not trust by default are refused (absent when there are none).
``metadata.json``
    Versions, git state, feature names, the caller's fields and the sha256 of each file above.

``load_model`` reads the metadata first, checks versions, feature names and every
checksum (a file without a checksum is refused), then rebuilds the model from the allow-listed
class. A checksum sits beside the file it guards, so it catches corruption and accidental
edits; it is the format, not the checksum, that keeps a tampered file from running code.
Models saved by earlier versions as a pickle (``model.joblib``) load only with
``trusted=True``, typed by the caller.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kzmig.core.atomic import atomic_write
from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.core.provenance import git_state, sha256_file, versions  # noqa: F401 (re-exported)
from kzmig.models import registry
from kzmig.models.persistence.artifacts import SKOPS_TRUSTED, read_arrays, read_estimators, write_estimators, write_npz
from kzmig.models.persistence.state import (
    ModelVersionError,
    ModelVersionWarning,
    Persistable,
    StateError,
    class_name,
    unpack_model,
)

__all__ = ["ARTIFACTS", "METADATA", "ModelVersionError", "ModelVersionWarning", "SKOPS_TRUSTED",
           "check_feature_names", "check_versions", "git_state", "load_model", "read_metadata",
           "save_model", "sha256_file", "versions"]

logger = logging.getLogger(__name__)

MODEL_JSON, ARRAYS, ESTIMATORS, METADATA = "model.json", "arrays.npz", "estimators.skops", "metadata.json"
#: Files of a model folder that carry a checksum, in the order they are written.
ARTIFACTS = (MODEL_JSON, ARRAYS, ESTIMATORS)
#: The pickle of earlier versions; loaded only with ``trusted=True``.
LEGACY = "model.joblib"
FORMAT, FORMAT_VERSION = "kzmig-model", 1
def save_model(model: Any, folder: Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.json``, ``arrays.npz``, ``estimators.skops`` and ``metadata.json``.

    Parameters
    ----------
    model : estimator
        One of the classes of the registered models, :func:`kzmig.models.registry.model_classes`, fitted or not;
        ``feature_names_`` is recorded when present.
    folder : Path
        Folder of this model (created if needed; one model per folder). Model files of an
        earlier save that this model does not need are removed.
    metadata : mapping, optional
        Caller's fields, e.g. ``run_id``, ``config_sha256``, ``data`` (``{"path", "sha256"}``),
        ``n_rows``, ``n_regions``, ``n_years``, ``intervals``, ``metrics``. Values must be
        JSON-serialisable. ``created_at``, ``git_commit``, ``git_dirty``, ``versions``,
        ``model_class``, ``format``, ``artifacts`` (file name -> sha256) and (if absent)
        ``feature_names`` are added.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    TypeError
        ``model`` is not an allow-listed class.
    StateError
        The model holds a value the format cannot store (named).
    """
    name, allowed = class_name(model), registry.model_classes()
    if not isinstance(model, Persistable) or name not in allowed:
        raise TypeError(f"save_model: {name} has no safe file format; savable classes are the registered "
                        f"models {list(allowed)}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tree, arrays, objects = model._get_state()
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": tree}
    text = json.dumps(doc, indent=1, allow_nan=False)
    atomic_write(folder / MODEL_JSON, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    written = [MODEL_JSON]
    if arrays:
        atomic_write(folder / ARRAYS, lambda tmp: write_npz(tmp, arrays))
        written.append(ARRAYS)
    if objects:
        atomic_write(folder / ESTIMATORS, lambda tmp: write_estimators(tmp, objects))
        written.append(ESTIMATORS)
    for stale in (*ARTIFACTS, LEGACY):
        if stale not in written and (folder / stale).exists():
            (folder / stale).unlink()
    meta = dict(metadata or {})
    commit, dirty = git_state()
    names = getattr(model, "feature_names_", None)
    meta.setdefault("feature_names", list(names) if names is not None else None)
    meta.update({
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": commit, "git_dirty": dirty, "versions": versions(), "model_class": name,
        "format": f"{FORMAT}/{FORMAT_VERSION}",
        "artifacts": {f: sha256_file(folder / f) for f in written},
    })
    text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    atomic_write(folder / METADATA, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    logger.info("saved %s to %s (%s)", name, folder, ", ".join(written))
    return folder


def _major(version: str) -> str:
    return version.split(".")[0]


def check_versions(saved: Mapping[str, str], *, strict: bool = False) -> list[str]:
    """Compare saved and installed versions; warn, or raise, and return the differences.

    A different major version of any library raises :class:`ModelVersionError`; other
    differences warn with :class:`ModelVersionWarning` (or raise when ``strict``).
    """
    now = versions()
    diffs = [f"{k}: saved {v}, installed {now.get(k, 'absent')}"
             for k, v in saved.items() if now.get(k, "absent") != v]
    if not diffs:
        return []
    majors = [k for k, v in saved.items() if k != "python" and now.get(k, "absent") != "absent"
              and _major(now[k]) != _major(v)]
    msg = "model was saved with other library versions: " + "; ".join(diffs)
    if majors or strict:
        why = f" (major version differs for {majors})" if majors else " (strict=True)"
        raise ModelVersionError(msg + why + "; refit the model with the installed libraries.")
    warnings.warn(msg, ModelVersionWarning, stacklevel=3)
    logger.warning("%s", msg)
    return diffs


def check_feature_names(expected: Sequence[str] | None, given: Sequence[str],
                        *, source: str = "model") -> None:
    """Raise naming the columns when ``given`` differs from ``expected`` in set or order."""
    if expected is None:
        return
    expected, given = list(expected), list(given)
    if expected == given:
        return
    missing = [c for c in expected if c not in given]
    extra = [c for c in given if c not in expected]
    if missing or extra:
        raise PanelContractError(
            f"{source}: feature names differ from those the model was fitted with: missing "
            f"{missing}, unexpected {extra}; expected {expected}.")
    raise PanelContractError(
        f"{source}: feature order differs: the model was fitted with {expected}, the caller "
        f"gave {given}; reorder the columns.")


def read_metadata(folder: Path) -> dict[str, Any]:
    """The ``metadata.json`` of a saved model, without loading the model.

    Raises
    ------
    DataFileError
        When the file is missing or is not a valid JSON object.
    """
    meta_path = Path(folder) / METADATA
    if not meta_path.is_file():
        raise DataFileError(f"{meta_path}: no metadata.json; was the model saved by save_model?")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise DataFileError(f"{meta_path}: not valid JSON ({err}).") from err
    if not isinstance(meta, dict):
        raise DataFileError(f"{meta_path}: not valid JSON metadata (a {type(meta).__name__}, "
                            "not an object).")
    return meta


def _verify(path: Path, expected: Any) -> None:
    if not isinstance(expected, str):
        raise DataFileError(f"{path}: {METADATA} holds no sha256 for this file; refusing to load "
                            "a file that cannot be checked.")
    if not path.is_file():
        raise DataFileError(f"{path}: missing; {METADATA} lists it.")
    digest = sha256_file(path)
    if digest != expected:
        raise DataFileError(f"{path}: sha256 {digest[:12]}... differs from the metadata's "
                            f"{expected[:12]}...; the file was changed.")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise DataFileError(f"{path}: not valid JSON ({err}).") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataFileError(f"{path}: not a kzmig model file (format {FORMAT!r} expected).")
    if doc.get("format_version") != FORMAT_VERSION:
        raise DataFileError(f"{path}: format version {doc.get('format_version')!r}; this kzmig "
                            f"reads version {FORMAT_VERSION}. Load it with the kzmig that saved it.")
    return doc


def _load_legacy(folder: Path, meta: Mapping[str, Any], trusted: bool) -> Any:
    art = folder / LEGACY
    if not trusted:
        raise DataFileError(
            f"{art}: a pickle (joblib) model file from an earlier kzmig; unpickling can run "
            "arbitrary code, so load_model refuses it. If you made this file or trust its "
            "source, call load_model(folder, trusted=True), then save_model the model again "
            "to get the safe format.")
    _verify(art, meta.get("artifact_sha256"))
    import joblib

    logger.warning("%s: loading a pickle because trusted=True was given.", art)
    return joblib.load(art)


def load_model(folder: Path, *, strict: bool = False, feature_names: Sequence[str] | None = None,
               trusted: bool = False) -> Any:
    """Load a model saved by :func:`save_model`, after checking its metadata and files.

    Parameters
    ----------
    folder : Path
    strict : bool, default False
        Raise instead of warning on any version difference.
    feature_names : sequence of str, optional
        The caller's features, in order; compared with the saved ``feature_names``.
    trusted : bool, default False
        Allow a legacy pickle (``model.joblib``) to be unpickled. Only for files you made
        or trust: a pickle can run any code. Has no effect on the safe format.

    Returns
    -------
    estimator
        The model; for forecasters ``predict`` gives the same table, bit for bit, as the
        saved one; panel and discrete models give the same predictions and ``result_``.
        :func:`read_metadata` gives its metadata.

    Raises
    ------
    DataFileError
        Missing, unreadable or changed files, a file without a checksum, a class outside
        the allow-list, skops types outside :data:`SKOPS_TRUSTED`, or a legacy pickle
        without ``trusted=True``; the message names the file.
    ModelVersionError
        Another major version of a library, or any difference with ``strict=True``.
    PanelContractError
        Feature names or order differ from the caller's (naming the columns).
    """
    folder = Path(folder)
    meta = read_metadata(folder)
    check_versions(meta.get("versions", {}), strict=strict)
    if feature_names is not None:
        check_feature_names(meta.get("feature_names"), feature_names, source=str(folder))
    artifacts = meta.get("artifacts")
    if artifacts is None and (meta.get("artifact") == LEGACY or (folder / LEGACY).is_file()):
        return _load_legacy(folder, meta, trusted)
    if not isinstance(artifacts, dict):
        raise DataFileError(f"{folder / METADATA}: no 'artifacts' checksums; refusing to load.")
    unknown = sorted(set(artifacts) - set(ARTIFACTS))
    if unknown:
        raise DataFileError(f"{folder / METADATA}: lists unknown model files {unknown}; "
                            f"a model folder holds {list(ARTIFACTS)}.")
    for name in ARTIFACTS:
        if name == MODEL_JSON or name in artifacts or (folder / name).exists():
            _verify(folder / name, artifacts.get(name))
    doc = _read_json(folder / MODEL_JSON)
    arrays = read_arrays(folder / ARRAYS) if ARRAYS in artifacts else {}
    objects = read_estimators(folder / ESTIMATORS) if ESTIMATORS in artifacts else {}
    try:
        model = unpack_model(doc.get("model"), arrays, objects)
    except (StateError, KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as err:
        raise DataFileError(f"{folder / MODEL_JSON}: cannot rebuild the model: {err}") from err
    if class_name(model) != meta.get("model_class"):
        raise DataFileError(f"{folder / MODEL_JSON}: holds {class_name(model)}, while "
                            f"{METADATA} says {meta.get('model_class')!r}.")
    return model
