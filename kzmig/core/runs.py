"""Run folders that are complete or clearly marked as not: stage, write, then rename into place.

Lifecycle (``../shared/DESIGN.md``, run folders)::

    <out>.partial-<id>/      while the run writes (a reader never trusts it)
    <out>/                   renamed into place after manifest.json says "status": "complete"
    <out>.failed-<id>/       on any error: manifest.json says "status": "failed" and holds the error

A lock file ``<out>.lock`` (:mod:`filelock`, released by the operating system if the process
dies) makes two runs into the same folder impossible. An existing non-empty ``<out>`` is
refused unless ``overwrite=True``; the default location is ``./runs/<study>/<run id>``
relative to the current folder, with a collision-free run id (UTC time, git commit, random).
The manifest lists the sha256 of every file of the run (``files``); :func:`check_files` tells
a reader whether a file was changed afterwards.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from kzmig.core.atomic import atomic_write_text
from kzmig.core.errors import ConfigError, DataFileError
from kzmig.core.provenance import git_state, sha256_file, versions

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: files of a run folder without a checksum in its manifest: the manifest, and the log (written until the run closes)
UNCHECKED = (MANIFEST, "run.log")


def file_checksums(folder: str | Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file in ``folder`` but :data:`UNCHECKED`, sorted by path."""
    folder = Path(folder)
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in UNCHECKED:
            out[rel] = sha256_file(path)
    return out


def check_files(folder: str | Path, manifest: Mapping[str, Any], paths: list[str]) -> list[str]:
    """Compare files of a run folder with the checksums its manifest holds (``files``).

    Parameters
    ----------
    folder : path
        The run folder.
    manifest : mapping
        Its manifest (:func:`read_manifest`).
    paths : list of str
        Paths relative to ``folder`` (``/`` separated).

    Returns
    -------
    list of str
        The paths the manifest holds no checksum for (a run written before checksums were
        recorded); the caller decides whether to trust them.

    Raises
    ------
    DataFileError
        A file is missing or its sha256 differs from the manifest's (both named).
    """
    files = manifest.get("files") or {}
    unchecked = []
    for rel in paths:
        path = Path(folder) / rel
        if rel not in files:
            unchecked.append(rel)
            continue
        if not path.is_file():
            raise DataFileError(f"{path}: missing; the run's {MANIFEST} lists it. The run folder is incomplete.")
        got = sha256_file(path)
        if got != files[rel]:
            raise DataFileError(f"{path}: sha256 {got} differs from {files[rel]} in the run's {MANIFEST}; "
                                "the file was changed after the run.")
    return unchecked


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id() -> str:
    """``<UTC time>-<git short sha or 'nogit'>-<8 random hex>``: unique even for runs in the same second
    (32 random bits; a default folder that exists anyway gets a new id, see :class:`RunFolder`)."""
    sha = (git_state()[0] or "nogit")[:7]
    return f"{_now():%Y%m%dT%H%M%SZ}-{sha}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class RunStamp:
    """Run id and creation time of a run folder, as the workbook cover and the report show them.

    Not part of any table: the tables of a run are a function of its config and data alone.
    """

    run_id: str
    created_at: str = ""

    @classmethod
    def of_folder(cls, folder: str | Path) -> RunStamp:
        """The stamp of a folder written outside a :class:`RunFolder`: its name, no creation time."""
        return cls(run_id=Path(folder).name)


def _check_target(target: Path, overwrite: bool, option: str) -> None:
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{option} {target}: is a file, not a folder; give a new or empty folder.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"{option} {target}: the folder exists and is not empty; a run never overwrites "
                          "another. Choose a new folder, or pass --overwrite to replace it.")


class RunFolder:
    """A run folder written through a staging folder, locked while it is written.

    Parameters
    ----------
    out : path, optional
        Where the finished run goes. Default ``./runs/<study>/<run id>``.
    study : str
        Study name (a safe folder name, checked by the config schema), used for the default.
    overwrite : bool, default False
        Replace an existing non-empty ``out`` when the new run is complete.
    option : str
        How the folder was given, for messages (``"--out"``).

    Examples
    --------
    >>> with RunFolder(tmp / "run", study="demo") as run:      # doctest: +SKIP
    ...     (run.path / "table.csv").write_text("a\\n1\\n")
    ...     run.complete({"study": "demo"})
    """

    def __init__(self, out: str | Path | None = None, *, study: str, overwrite: bool = False,
                 option: str = "--out") -> None:
        self.run_id = new_run_id()
        if out is None:  # a default folder is never one that exists (or is being written)
            while (Path.cwd() / "runs" / study / self.run_id).exists() or \
                    (Path.cwd() / "runs" / study / f"{self.run_id}.lock").exists():
                self.run_id = new_run_id()
        self.target = Path(out) if out is not None else Path.cwd() / "runs" / study / self.run_id
        self.study, self.overwrite, self.option = study, overwrite, option
        self.path = self.target.with_name(f"{self.target.name}.partial-{self.run_id}")
        self.steps: list[dict[str, Any]] = []
        self.started = _now()
        self._lock: FileLock | None = None
        self._done = False

    @property
    def stamp(self) -> RunStamp:
        """The run id and creation (start) time of this run, for the files that show them."""
        return RunStamp(run_id=self.run_id, created_at=self.started.isoformat(timespec="seconds"))

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> RunFolder:
        _check_target(self.target, self.overwrite, self.option)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.target) + ".lock")
            self._lock.acquire(timeout=0)
        except Timeout:
            raise ConfigError(f"{self.option} {self.target}: another kzmig run is writing into this folder "
                              f"(lock {self.target}.lock); wait for it or choose another folder.") from None
        except OSError as err:
            blocked = next((q for q in self.target.parents if q.exists() and not q.is_dir()), None)
            why = f"{blocked} is a file, not a folder" if blocked else (err.strerror or str(err))
            raise ConfigError(f"{self.option} {self.target}: cannot create the folder ({why}).") from None
        try:
            _check_target(self.target, self.overwrite, self.option)  # again, now that we hold the lock
            self.path.mkdir(parents=True)
        except OSError as err:
            self._release()
            raise ConfigError(f"{self.option} {self.target}: cannot write there ({err.strerror or err}).") from None
        except BaseException:
            self._release()
            raise
        logger.debug("run %s staging in %s", self.run_id, self.path)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc is not None and not self._done:
                self.fail(exc)
        finally:
            self._release()
        return False

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            with contextlib.suppress(OSError):
                Path(self._lock.lock_file).unlink()
            self._lock = None

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step of the run; its start, end and duration go into the manifest."""
        start, t0 = _now(), time.perf_counter()
        try:
            yield
        finally:
            self.steps.append({"step": name, "started_at": start.isoformat(timespec="seconds"),
                               "seconds": round(time.perf_counter() - t0, 3)})

    def _manifest(self, status: str, extra: Mapping[str, Any]) -> dict[str, Any]:
        commit, dirty = git_state()
        end = _now()
        return {"status": status, "run_id": self.run_id, "study": self.study,
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": end.isoformat(timespec="seconds"),
                "duration_seconds": round((end - self.started).total_seconds(), 3),
                "steps": self.steps, "git": {"commit": commit, "dirty": dirty},
                "versions": versions(), **dict(extra)}

    def _write_manifest(self, folder: Path, manifest: dict[str, Any]) -> None:
        atomic_write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n",
                          folder / MANIFEST)

    def complete(self, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the manifest with ``"status": "complete"`` last, then rename the folder into place.

        The manifest lists the sha256 of every file written (``files``, :func:`file_checksums`),
        so that a reader can tell a file changed after the run (:func:`check_files`).
        """
        manifest = self._manifest("complete", extra or {})
        manifest["files"] = file_checksums(self.path)
        self._write_manifest(self.path, manifest)
        old = None
        if self.target.exists():
            if any(self.target.iterdir()):
                old = self.target.with_name(f"{self.target.name}.replaced-{self.run_id}")
                os.replace(self.target, old)
            else:
                self.target.rmdir()
        os.replace(self.path, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self._done = True
        logger.debug("run %s complete in %s", self.run_id, self.target)
        return self.target

    def fail(self, error: BaseException) -> Path:
        """Mark the run failed: manifest with the error, folder renamed ``<out>.failed-<id>``."""
        failed = self.target.with_name(f"{self.target.name}.failed-{self.run_id}")
        try:
            self._write_manifest(self.path, self._manifest("failed", {
                "error": {"type": type(error).__name__, "message": str(error)}}))
            os.replace(self.path, failed)
        except OSError as err:  # the staging folder stays: without a complete manifest it is never trusted
            logger.warning("run %s failed and could not be marked failed (%s); its files stay in %s.",
                           self.run_id, err, self.path)
            failed = self.path
        self._done = True
        return failed


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a run folder; a folder without ``"status": "complete"`` is not trusted.

    Raises
    ------
    ConfigError
        No manifest, unreadable, or the run is not complete (naming its status).
    """
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{folder}: no {MANIFEST}; not a kzmig run folder (or the run did not finish).") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot be read ({err}).") from None
    if manifest.get("status") != "complete":
        raise ConfigError(f"{folder}: the run is not complete (status {manifest.get('status')!r}); "
                          "its tables cannot be trusted.")
    return manifest
