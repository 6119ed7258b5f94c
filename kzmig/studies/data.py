"""The data a study runs on: the shipped dataset, a user file or a long table, with provenance."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kzmig.core.errors import DataError, DataFileError
from kzmig.core.provenance import sha256_file
from kzmig.features.dataset import OBSERVATIONS, complete_observations, shipped_observations, user_observations

#: what a study's ``data`` argument may be (a DataSource: data already read, e.g. by a run)
DataArg = "DataSource | pd.DataFrame | str | Path | None"


@dataclass(frozen=True)
class DataSource:
    """A validated long observations table and where it came from.

    ``label`` names it in messages (the file, or "the shipped dataset"); ``meta()`` gives the
    manifest's data block: path, sha256, rows and the vintage (latest year per variable).
    """

    observations: pd.DataFrame = field(repr=False)
    label: str
    path: str | None = None
    sha256: str | None = None

    def meta(self) -> dict[str, Any]:
        obs = self.observations
        vintage = obs.groupby("variable")["year"].max().astype(int).sort_index()
        return {"path": self.path, "label": self.label, "sha256": self.sha256, "rows": int(len(obs)),
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


def open_data(data: DataArg = None) -> DataSource:
    """Read and validate a study's data once.

    Parameters
    ----------
    data : None, path, DataFrame or DataSource
        None: the shipped dataset; a DataSource is returned as it is; a path: a user file (CSV/XLSX, long or wide by year, checked
        as ``kzmig data check`` does); a DataFrame: a long table (``region, year, variable,
        value[, unit, source, flag]``).
    """
    if isinstance(data, DataSource):
        return data
    if data is None or (isinstance(data, (str, Path)) and Path(data).resolve() == OBSERVATIONS.resolve()):
        return DataSource(shipped_observations(), "the shipped dataset", str(OBSERVATIONS), sha256_file(OBSERVATIONS))
    if isinstance(data, pd.DataFrame):
        return DataSource(complete_observations(data.copy(), source="data frame"), "the given data frame")
    path = Path(data)
    if not path.is_file():
        raise DataFileError(f"--data {path}: no such file." if not path.exists() else f"--data {path}: is not a file.")
    return DataSource(user_observations(path), str(path), str(path), sha256_file(path))
