"""The data a study runs on: the shipped dataset, a dataset version folder, a user file or a long
table, with provenance; and the studies of ``kzmig data``: fetch a new version, diff two versions."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kzmig.core.errors import ConfigError, DataError, DataFileError
from kzmig.core.provenance import sha256_file
from kzmig.features.data.dataset import (OBSERVATIONS, complete_observations, load_long, read_observations,
                                         shipped_observations, user_observations)
from kzmig.features.ingest.fetch import VERSION_FILE, VERSION_OBSERVATIONS
from kzmig.features.ingest.fetch.catalog import SERIES
from kzmig.features.ingest.fetch.diff import diff_observations
from kzmig.features.data.panel import validate_panel

if TYPE_CHECKING:
    from kzmig.features.ingest.fetch.version import DataVersion

#: the version name of the dataset shipped with kzmig (a fetched version is named fetch-<UTC time>)
SHIPPED_VERSION = "shipped"

#: what a study's ``data`` argument may be (a DataSource: data already read, e.g. by a run)
DataArg = "DataSource | pd.DataFrame | str | Path | None"


@dataclass(frozen=True)
class DataSource:
    """A validated long observations table and where it came from.

    ``label`` names it in messages (the file, or "the shipped dataset"); ``meta()`` gives the
    manifest's data block: path, sha256, rows, the dataset ``version`` (``"shipped"``, the id of a
    fetched version such as ``fetch-20261201T130000Z``, or None for a user file or table) and
    the vintage (latest year per variable).
    """

    observations: pd.DataFrame = field(repr=False)
    label: str
    path: str | None = None
    sha256: str | None = None
    version: str | None = None
    _views: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def long(self, view: str = "current", borders: int | None = None) -> pd.DataFrame:
        """:func:`kzmig.features.data.dataset.load_long` of these observations in a border view.

        Each view is derived once per source (a planning run's studies share one source) and
        every call gets its own copy, which the caller may change.
        """
        key = (view, borders)
        if key not in self._views:
            self._views[key] = load_long(view, borders, observations=self.observations)
        return self._views[key].copy()

    def meta(self) -> dict[str, Any]:
        obs = self.observations
        vintage = obs.groupby("variable")["year"].max().astype(int).sort_index()
        return {"path": self.path, "label": self.label, "sha256": self.sha256, "version": self.version,
                "rows": int(len(obs)),
                "variables": int(obs["variable"].nunique()),
                "vintage": {str(k): int(v) for k, v in vintage.items()}}

    def require(self, variables: dict[str, tuple[str, ...]], *, study: str) -> None:
        """Raise :class:`DataError` unless, for each need, at least one of its variables is present.

        ``variables`` maps a need (e.g. ``"net migration"``) to the variables that can supply it.
        """
        have = set(self.observations["variable"].astype(str))
        missing = {need: alts for need, alts in variables.items() if not have.intersection(alts)}
        if missing:
            what = "; ".join(f"{need} (variable {' or '.join(repr(a) for a in alts)})" for need, alts in missing.items())
            raise DataError(f"{self.label}: the {study} needs {what}, which the table does not hold; "
                            f"it has {sorted(have)[:12]}{' ...' if len(have) > 12 else ''}.")


def open_data(data: DataArg = None, *, arg: str = "--data", decimal: str | None = None,
              thousands: str | None = None) -> DataSource:
    """Read and validate a study's data once.

    Parameters
    ----------
    data : None, path, DataFrame or DataSource
        None: the shipped dataset; a DataSource is returned as it is; a folder: a dataset version
        (``processed/observations.csv`` inside it, as ``kzmig data fetch`` writes it, or the shipped
        ``data/`` folder), validated as the shipped data are; a file: a user file (CSV/XLSX, long or
        wide by year, checked as ``kzmig data check`` does), unless it is the observations file of
        a version folder; a DataFrame: a long table (``region, year, variable, value[, unit, source, flag]``).
    arg : str
        How messages name the argument (``--data``; ``OLD``/``NEW`` for ``kzmig data diff``).
    decimal, thousands : str, optional
        How the numbers of a user file are written (see :func:`kzmig.features.data.io.read_user_table`);
        found from the file when not given. Only for a user file.
    """
    if isinstance(data, DataSource):
        return data
    if data is None or (isinstance(data, (str, Path)) and Path(data).resolve() == OBSERVATIONS.resolve()):
        return DataSource(shipped_observations(), "the shipped dataset", str(OBSERVATIONS), sha256_file(OBSERVATIONS),
                          SHIPPED_VERSION)
    if isinstance(data, pd.DataFrame):
        return DataSource(complete_observations(data.copy(), source="data frame"), "the given data frame")
    path = Path(data)
    if path.is_dir():
        return _open_version(path, arg)
    if not path.is_file():
        raise DataFileError(f"{arg} {path}: no such file or folder." if not path.exists()
                            else f"{arg} {path}: is not a file or folder.")
    folder = path.parent.parent
    if path.name == "observations.csv" and path.parent.name == "processed" and read_version(folder) is not None:
        return _open_version(folder, arg)
    return DataSource(user_observations(path, decimal=decimal, thousands=thousands), str(path), str(path),
                      sha256_file(path))


def read_version(folder: Path) -> dict[str, Any] | None:
    """The ``version.json`` of a dataset version folder, or None (the shipped ``data/``, a plain folder)."""
    path = Path(folder) / VERSION_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a valid version file ({exc}).") from None


def _open_version(folder: Path, arg: str = "--data") -> DataSource:
    """A dataset version folder: its ``processed/observations.csv``, validated as the shipped file is."""
    if folder.resolve() == OBSERVATIONS.parent.parent.resolve():
        return open_data(None)
    path = folder / VERSION_OBSERVATIONS
    if not path.is_file():
        raise DataFileError(f"{arg} {folder}: a folder must be a dataset version holding {VERSION_OBSERVATIONS} "
                            "(as kzmig data fetch writes it); it has none. For a single file, give the file.")
    meta = read_version(folder) or {}
    version = str(meta.get("version") or folder.name)
    obs = validate_panel(read_observations(path), source=str(path))
    return DataSource(obs, f"dataset version {version} ({folder})", str(path), sha256_file(path), version)


def fetch(series: Sequence[str] | None = None, since: int | None = None, *, transport: Any = None,
          timeout: float = 30.0, attempts: int = 4, backoff: float = 1.0,
          now: datetime | None = None) -> DataVersion:
    """Download the catalogue's tables and assemble a new dataset version on the shipped data.

    Nothing is written: ``result.save(folder)`` writes the version (see
    :mod:`kzmig.features.ingest.fetch.version`).

    Parameters
    ----------
    series : names of :data:`kzmig.features.ingest.fetch.catalog.SERIES`, optional
        Default: every series of the catalogue.
    since : int, optional
        Keep fetched values from this year on (older base values stay as shipped).
    transport : httpx transport, optional
        E.g. :func:`kzmig.features.ingest.fetch.replay.recorded_transport` (recorded responses).
    timeout, attempts, backoff
        Of :class:`kzmig.features.ingest.fetch.client.FetchClient`.
    now : datetime, optional
        The fetch time (UTC) that names the version; default the current time.

    Raises
    ------
    OfflineError
        No connection to the statistics site (nothing fetched or written).
    FetchError, DataError, StudyError
        An HTTP error or time-out, a changed table, an unknown region, an empty fetch.
    """
    from kzmig.features.ingest.fetch.client import FetchClient
    from kzmig.features.ingest.fetch.version import build_version, fetch_tables

    names = list(series) if series else list(SERIES)
    unknown = [n for n in names if n not in SERIES]
    if unknown:
        raise ConfigError(f"--series {unknown}: not in the catalogue; choose among {', '.join(SERIES)}.")
    if since is not None and not 1990 <= since <= 2100:
        raise ConfigError(f"--since {since}: give a year between 1990 and 2100.")
    when = now or datetime.now(timezone.utc)
    with FetchClient(timeout=timeout, attempts=attempts, backoff=backoff, transport=transport) as client:
        fetched = fetch_tables(client, [SERIES[n] for n in names], fetched_at=when, since=since)
    base = open_data(None)
    base_meta = {"label": base.label, "path": base.path, "sha256": base.sha256, "version": base.version}
    return build_version(base.observations, fetched, base_meta=base_meta, series=names, since=since)


def default_version_folder(version: str, shipped: Path | None = None, cwd: Path | None = None) -> Path:
    """Where ``kzmig data fetch`` writes a version when no ``--out`` is given.

    Beside the shipped data (``data/versions/<version>``) in a source checkout; in an installed
    package, whose data sit in site-packages (not a place for user files, and often read-only),
    ``./kzmig-data/<version>`` under the current folder instead, as runs go to ``./runs``.
    """
    from kzmig.features.data.regions import DATA_DIR

    shipped = DATA_DIR if shipped is None else shipped
    if {"site-packages", "dist-packages"} & set(shipped.resolve().parts):
        return (Path.cwd() if cwd is None else cwd) / "kzmig-data" / version
    return shipped / "versions" / version


def diff(old: DataArg, new: DataArg) -> pd.DataFrame:
    """Values revised, added and removed from ``old`` to ``new`` (two versions, folders or files);
    see :func:`kzmig.features.ingest.fetch.diff.diff_observations`."""
    return diff_observations(open_data(old, arg="OLD").observations, open_data(new, arg="NEW").observations)
