"""Run folders that are complete or clearly marked as not: stage, write, then rename into place.

Lifecycle (``../shared/DESIGN.md``, run folders)::

    <out>.partial-<id>/      while the run writes (a reader never trusts it)
    <out>/                   renamed into place after manifest.json says "status": "complete"
    <out>.failed-<id>/       on any error: manifest.json says "status": "failed" and holds the error

A lock file ``<out>.lock`` (:mod:`filelock`, released by the operating system if the process
dies) makes two runs into the same folder impossible. An existing non-empty ``<out>`` is
refused unless ``overwrite=True``; the default location is ``./runs/<study>/<run id>``
relative to the current folder, with a collision-free run id (UTC time, git commit, random).
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
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from kzmig.core.atomic import atomic_write_text
from kzmig.core.errors import ConfigError
from kzmig.core.provenance import git_state, versions

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id() -> str:
    """``<UTC time>-<git short sha or 'nogit'>-<4 random hex>``: unique even for runs in the same second."""
    sha = (git_state()[0] or "nogit")[:7]
    return f"{_now():%Y%m%dT%H%M%SZ}-{sha}-{secrets.token_hex(2)}"


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
        self.target = Path(out) if out is not None else Path.cwd() / "runs" / study / self.run_id
        self.study, self.overwrite, self.option = study, overwrite, option
        self.path = self.target.with_name(f"{self.target.name}.partial-{self.run_id}")
        self.steps: list[dict[str, Any]] = []
        self.started = _now()
        self._lock: FileLock | None = None
        self._done = False

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
            raise ConfigError(f"{self.option} {self.target}: cannot create the folder ({err.strerror or err}).") from None
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
        """Write the manifest with ``"status": "complete"`` last, then rename the folder into place."""
        self._write_manifest(self.path, self._manifest("complete", extra or {}))
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
        with contextlib.suppress(OSError):
            self._write_manifest(self.path, self._manifest("failed", {
                "error": {"type": type(error).__name__, "message": str(error)}}))
            os.replace(self.path, failed)
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
