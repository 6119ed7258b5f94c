"""Reading a finished run folder back: its forecasting studies, their configs, data, backtests and models.

A forecasting study's part of a run folder (the folder itself for ``kzmig forecast``,
``forecast/<study>/`` inside a planning run) holds ``backtest_predictions.csv`` and
``models/<target>/<model>/``; the manifest (``manifest.json``, trusted only when complete)
holds the resolved config, the data's path and sha256, the selected model and interval
source per model of each target, and the sha256 of every file. Everything here checks what
it reads against the manifest and raises a user error naming the file when it differs.
"""
from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.config import from_resolved
from kzmig.core.errors import ConfigError, DataError, DataFileError
from kzmig.core.provenance import sha256_file
from kzmig.core.runs import MANIFEST, check_files
from kzmig.features.data.dataset import OBSERVATIONS
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.persistence import load_model, read_metadata
from kzmig.studies.data import DataSource, open_data

logger = logging.getLogger(__name__)

BACKTEST = "backtest_predictions.csv"
#: read floats back exactly: pandas >= 3 does by default (and deprecates the option), pandas 2 needs "round_trip"
EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


@dataclass(frozen=True)
class SavedStudy:
    """One forecasting study of a run folder.

    Attributes
    ----------
    sub : str
        Its folder relative to the run (``""`` for a forecast run, ``"forecast/<study>"`` in a
        planning run).
    folder : Path
        ``run_dir / sub``.
    part : mapping
        Its block of the manifest (``targets``, ``config``, ``data`` ...).
    config : ForecastStudyConfig
        The config it ran with, rebuilt from the manifest.
    """

    sub: str
    folder: Path
    part: Mapping[str, Any]
    config: ForecastStudyConfig

    def targets(self) -> list[str]:
        """The targets the run forecast, in the config's order."""
        done = self.part.get("targets") or {}
        return [t for t in self.config.targets.names if t in done]


def _model_order(part: Mapping[str, Any], folder: Path, names: list[str]) -> list[str]:
    """The order of ``[models]`` in the study's file (the manifest's JSON has sorted keys)."""
    if part.get("model_order"):
        return list(part["model_order"])
    text = folder / "config.toml"
    if text.is_file():  # a run written before the manifest recorded the order
        try:
            order = list(tomllib.loads(text.read_text(encoding="utf-8")).get("models", {}))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            order = []
        if sorted(order) == sorted(names):
            return order
    logger.warning("%s: the order of the models is not recorded; rows follow the names' order.", folder)
    return sorted(names)


def forecast_studies(run_dir: Path, manifest: Mapping[str, Any]) -> list[SavedStudy]:
    """The forecasting studies of a run folder (a forecast run, or the ``forecast/<study>`` parts of a planning run).

    Raises
    ------
    ConfigError
        The folder holds no forecasting study, or a study's config cannot be rebuilt.
    """
    kind = manifest.get("kind")
    if kind == "forecast":
        parts = {"": manifest}
    elif kind == "run":
        parts = {sub: p for sub, p in (manifest.get("parts") or {}).items() if p.get("kind") == "forecast"}
    else:
        parts = {}
    if not parts:
        raise ConfigError(f"{run_dir}: the run (kind {kind!r}) holds no forecasting study; kzmig predict reads "
                          "the folder of `kzmig forecast` or of a planning run (`kzmig run`) with [forecasts].")
    out = []
    for sub, part in parts.items():
        folder = run_dir / sub if sub else run_dir
        block = part.get("config") or {}
        where = f"{run_dir / MANIFEST} ({'parts.' + sub + '.' if sub else ''}config.resolved)"
        if not isinstance(block.get("resolved"), dict):
            raise ConfigError(f"{where}: absent; the run's config is not recorded.")
        order = _model_order(part, folder, list((block["resolved"].get("models") or {})))
        cfg = from_resolved(block["resolved"], "forecast", source=where, path=block.get("path"),
                            sha256=block.get("sha256") or "", models_order=order)
        out.append(SavedStudy(sub, folder, part, cfg))
    return out


def run_data(run_dir: Path, manifest: Mapping[str, Any], data: Any = None) -> tuple[DataSource, bool]:
    """The data of a run, checked against the sha256 its manifest holds; or the data given.

    Parameters
    ----------
    run_dir : Path
    manifest : mapping
    data : path, optional
        ``--data``: a file to use instead (the run's data moved, or a newer vintage).

    Returns
    -------
    (DataSource, bool)
        The data, and whether they differ from the run's (a newer vintage: the models are
        updated on them).

    Raises
    ------
    DataError
        Without ``data``: the run's file is missing or its sha256 differs from the
        manifest's (both named), or the run recorded no file (it was given a data frame).
    """
    meta = manifest.get("data") or {}
    want = meta.get("sha256")
    if data is not None:
        source = open_data(data)
        return source, source.sha256 != want
    where = run_dir / MANIFEST
    if not want:
        raise DataError(f"{where}: the run records no data file (data.sha256 is empty: it was given a data "
                        "frame); pass --data PATH with the data the run used, or a newer vintage.")
    path = Path(meta["path"]) if meta.get("path") else None
    candidates = [p for p in (path, OBSERVATIONS if meta.get("label") == "the shipped dataset" else None) if p]
    changed = []
    for candidate in candidates:
        if candidate.is_file():
            got = sha256_file(candidate)
            if got == want:
                return open_data(candidate), False
            changed.append((candidate, got))
    if changed:
        candidate, got = changed[0]
        raise DataError(f"{where}: data.path {candidate} now has sha256 {got}, the run used sha256 {want}: the "
                        f"file changed after the run. Pass --data {candidate} to update the forecast with it as a "
                        "newer vintage, or --data PATH with the file the run used.")
    raise DataFileError(f"{where}: data.path {path}: no such file (the run used the file with sha256 {want}); "
                        "pass --data PATH with that file, or a newer vintage to update the forecast.")


def verify_files(run_dir: Path, manifest: Mapping[str, Any], study: SavedStudy) -> None:
    """Check the backtest table and the model files of ``study`` against the manifest's sha256.

    A run written before the manifest recorded checksums is read unchecked (with a warning);
    the model files keep their own checksums (:func:`kzmig.models.persistence.load_model`).

    Raises
    ------
    DataFileError
        A listed file is missing or changed (naming it and both hashes).
    """
    files = manifest.get("files")
    if not files:
        logger.warning("%s: the manifest holds no file checksums (a run written before they were recorded); "
                       "%s is used unchecked.", run_dir, BACKTEST)
        return
    prefix = f"{study.sub}/" if study.sub else ""
    wanted = [k for k in files if k.startswith(prefix) and (k[len(prefix):] == BACKTEST
                                                             or k[len(prefix):].startswith("models/"))]
    if prefix + BACKTEST not in wanted:
        raise DataFileError(f"{run_dir / MANIFEST}: lists no {prefix + BACKTEST}; not a forecasting study's folder.")
    check_files(run_dir, manifest, wanted)


def read_backtest(study: SavedStudy, target: str) -> pd.DataFrame:
    """The target's backtest predictions as the study held them (``target`` column left out).

    Floats are read back exactly (:data:`EXACT_FLOATS`; ``to_csv`` writes the shortest repr
    that round-trips), so the conformal quantiles and the reconciliation's
    covariance are the run's, bit for bit.

    Raises
    ------
    DataFileError
        The file is missing or has no row for ``target``.
    """
    path = study.folder / BACKTEST
    if not path.is_file():
        raise DataFileError(f"{path}: missing; the run folder is incomplete.")
    preds = pd.read_csv(path, **EXACT_FLOATS)
    preds = preds.loc[preds["target"] == target].drop(columns="target").reset_index(drop=True)
    if preds.empty:
        raise DataFileError(f"{path}: no row for target {target!r}, which the run forecast.")
    return preds


def load_models(study: SavedStudy, target: str, data_sha256: str | None
                ) -> tuple[dict[str, BaseForecaster], dict[str, dict[str, Any]]]:
    """The target's saved models in the study's order, and their metadata.

    Each is loaded with :func:`kzmig.models.persistence.load_model` (checksums, versions, the
    allow-listed classes; nothing is unpickled) and must say it is this study's model of this
    target, fitted with the run's config and data.

    Raises
    ------
    DataFileError
        A model folder is missing, changed, or belongs to another target, config or data
        (naming the folder and both values).
    """
    models, metas = {}, {}
    cfg_sha = study.config.sha256
    for spec in study.config.models:
        folder = study.folder / "models" / target / spec.name
        meta = read_metadata(folder)
        checks = [("target", meta.get("target"), target), ("model", meta.get("model"), spec.name),
                  ("config_sha256", meta.get("config_sha256"), cfg_sha or meta.get("config_sha256")),
                  ("data.sha256", (meta.get("data") or {}).get("sha256"), data_sha256 or (meta.get("data") or {}).get("sha256"))]
        for key, got, want in checks:
            if got != want:
                raise DataFileError(f"{folder}: metadata.json says {key} = {got!r}, the run has {want!r}; the "
                                    "model folder does not belong to this run.")
        models[spec.name] = load_model(folder)
        metas[spec.name] = meta
    return models, metas
