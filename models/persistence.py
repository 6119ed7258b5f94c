"""Saving and loading fitted models with the metadata needed to trust them later.

``save_model(model, run_dir, metadata)`` writes ``run_dir/model.joblib`` and
``run_dir/metadata.json``; ``load_model(run_dir)`` reads the metadata first, checks the
library versions and the artifact's checksum, then unpickles (STYLE.md section 6). Any
estimator works (panel regressions, logits, forecasters): the module knows nothing of
model internals beyond an optional ``feature_names_`` attribute.

Pickles can run code: load only artifacts you made or trust (scikit-learn's
model-persistence guide). Use ``skops.io`` for scikit-learn pipelines that leave the team.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import platform
import subprocess
import warnings
from collections.abc import Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib

from kzmig.core.atomic import atomic_write
from kzmig.core.errors import DataFileError, PanelContractError


logger = logging.getLogger(__name__)

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
#: Distributions whose versions are stamped and checked at load time.
PACKAGES = ("kzmig", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "scikit-learn",
            "joblib")
#: the source checkout, when kzmig runs from one (an installed wheel has no git state)
_REPO = Path(__file__).resolve().parents[1]


class ModelVersionError(RuntimeError):
    """A saved model was made with library versions that cannot (or, strictly, must not) load."""


class ModelVersionWarning(UserWarning):
    """A saved model was made with other minor versions of a library than are installed."""


def versions() -> dict[str, str]:
    """Installed versions of Python and of :data:`PACKAGES` ("absent" when not installed)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_state(repo: Path = _REPO) -> tuple[str | None, bool | None]:
    """(commit sha, dirty flag) of the working tree, or (None, None) outside git."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=repo, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        if Path(top).resolve() != Path(repo).resolve():  # e.g. a venv inside some other work tree
            return None, None
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, check=True,
                               timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha, dirty


def save_model(model: Any, run_dir: Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.joblib`` and ``metadata.json`` into ``run_dir`` (created if needed).

    Parameters
    ----------
    model : object
        A fitted estimator; ``feature_names_`` is recorded when present.
    run_dir : Path
        Folder of this model (one model per folder; a run keeps several under ``models/``).
    metadata : mapping, optional
        Caller's fields, e.g. ``run_id``, ``config_sha256``, ``data`` (``{"path", "sha256"}``),
        ``n_rows``, ``n_regions``, ``n_years``, ``intervals``, ``metrics``. Values must be
        JSON-serialisable. ``created_at``, ``git_commit``, ``git_dirty``, ``versions``,
        ``model_class``, ``artifact_sha256`` and (if absent) ``feature_names`` are added.

    Returns
    -------
    Path
        ``run_dir``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    art = run_dir / ARTIFACT
    atomic_write(art, lambda tmp: joblib.dump(model, tmp))
    meta = dict(metadata or {})
    commit, dirty = git_state()
    names = getattr(model, "feature_names_", None)
    meta.setdefault("feature_names", list(names) if names is not None else None)
    meta.update({
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": commit, "git_dirty": dirty, "versions": versions(),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "artifact": ARTIFACT, "artifact_sha256": sha256_file(art),
    })
    text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    atomic_write(run_dir / METADATA, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    logger.info("saved %s to %s", meta["model_class"], run_dir)
    return run_dir


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


def read_metadata(run_dir: Path) -> dict[str, Any]:
    """The ``metadata.json`` of a saved model, without loading the artifact.

    Raises
    ------
    DataFileError
        When the file is missing or is not valid JSON.
    """
    meta_path = Path(run_dir) / METADATA
    if not meta_path.is_file():
        raise DataFileError(f"{meta_path}: no metadata.json; was the model saved by save_model?")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{meta_path}: not valid JSON ({err}).") from err


def load_model(run_dir: Path, *, strict: bool = False,
               feature_names: Sequence[str] | None = None) -> Any:
    """Load a model saved by :func:`save_model`, after checking its metadata.

    Parameters
    ----------
    run_dir : Path
    strict : bool, default False
        Raise instead of warning on any version difference.
    feature_names : sequence of str, optional
        The caller's features, in order; compared with the saved ``feature_names``.

    Returns
    -------
    object
        The fitted model; :func:`read_metadata` gives its metadata.

    Raises
    ------
    DataFileError
        Missing or unreadable metadata or artifact, or a checksum mismatch.
    ModelVersionError
        Another major version of a library, or any difference with ``strict=True``.
    PanelContractError
        Feature names or order differ from the caller's (naming the columns).
    """
    run_dir = Path(run_dir)
    meta = read_metadata(run_dir)
    check_versions(meta.get("versions", {}), strict=strict)
    art = run_dir / ARTIFACT
    if not art.is_file():
        raise DataFileError(f"{art}: artifact missing next to {METADATA}.")
    digest = sha256_file(art)
    if meta.get("artifact_sha256") not in (None, digest):
        raise DataFileError(f"{art}: sha256 {digest[:12]}... differs from the metadata's "
                            f"{str(meta['artifact_sha256'])[:12]}...; the file was changed.")
    if feature_names is not None:
        check_feature_names(meta.get("feature_names"), feature_names, source=str(run_dir))
    return joblib.load(art)
