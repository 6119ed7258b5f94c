"""What every study returns: a frozen result holding tables, figures and models, and how it is saved.

A study is a function ``study(config, data=None, *, progress=None) -> Result``. ``Result.write``
writes its files into a folder; ``Result.save`` does that through a :class:`~kzmig.core.runs.RunFolder`
(staging folder, lock, manifest, rename), which is the only side effect of a study.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from kzmig.config.blocks import StudyConfigBase
from kzmig.core.atomic import atomic_write_csv, atomic_write_text
from kzmig.core.runs import RunFolder
from kzmig.reporting.charts import save_figure

logger = logging.getLogger(__name__)

#: progress callback: ``progress(step, done, total)``
Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


@dataclass(frozen=True)
class SavedModel:
    """A fitted model and the metadata written beside it (see :mod:`kzmig.models.persistence`)."""

    estimator: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResult:
    """Tables, figures, texts, workbooks and models of one study, with its manifest metadata.

    Attributes
    ----------
    study : str
        Kind of study (``"assess"``, ``"regress"``, ``"forecast"`` ...).
    name : str
        Name of this study (folder name under ``runs/``).
    tables : mapping of str to DataFrame
        Saved as ``<name>.csv`` (UTF-8, ``\\n``), in the order given.
    figures : mapping of str to Figure
        Saved as ``<name>.png``.
    texts : mapping of str to str
        Saved as files of that name (e.g. ``models.txt``).
    writers : mapping of str to callable
        ``file name -> write(path)`` for formats with their own writer (workbooks).
    models : mapping of str to SavedModel
        Saved under ``models/<key>/`` by :func:`kzmig.models.persistence.save_model`.
    warnings : tuple of str
        What the study recovered from (left out, fell back); also in the manifest.
    metadata : mapping
        The manifest's study block: resolved config and hash, data provenance, seeds ...
    """

    study: str
    name: str
    tables: Mapping[str, pd.DataFrame]
    figures: Mapping[str, Figure] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    writers: Mapping[str, Callable[[Path], Any]] = field(default_factory=dict)
    models: Mapping[str, SavedModel] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def write(self, folder: str | Path, *, info: Mapping[str, Any] | None = None) -> list[Path]:
        """Write every output into ``folder`` (each file atomically); return the paths.

        ``info`` (run id, creation time) is for writers that show it (a run's cover sheet).
        """
        from kzmig.models.persistence import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [atomic_write_csv(df, folder / f"{name}.csv") for name, df in self.tables.items()]
        written += [save_figure(fig, folder / f"{name}.png") for name, fig in self.figures.items()]
        written += [atomic_write_text(text, folder / name) for name, text in self.texts.items()]
        for name, write in self.writers.items():
            write(folder / name)
            written.append(folder / name)
        for key, saved in self.models.items():
            written.append(save_model(saved.estimator, folder / "models" / key,
                                      {"run_study": self.name, **dict(saved.metadata)}))
        logger.info("%s %s: %d files written to %s", self.study, self.name, len(written), folder)
        return written

    def manifest(self) -> dict[str, Any]:
        """The study block of the run manifest."""
        return {"kind": self.study, "name": self.name, "warnings": list(self.warnings), **dict(self.metadata)}

    def save(self, folder: str | Path | None = None, *, overwrite: bool = False) -> Path:
        """Write the result as a complete run folder (staged, locked, renamed into place).

        ``folder`` defaults to ``./runs/<name>/<run id>``; an existing non-empty folder is
        refused unless ``overwrite``.
        """
        with RunFolder(folder, study=self.name, overwrite=overwrite) as run:
            with run.step("save"):
                self.write(run.path, info={"run_id": run.run_id,
                                           "created_at": run.started.isoformat(timespec="seconds")})
            return run.complete(self.manifest())


def config_meta(cfg: StudyConfigBase) -> dict[str, Any]:
    """The resolved config as plain data (the manifest's ``config`` block), with its file and hash."""
    return {"resolved": cfg.model_dump(mode="json"), "sha256": cfg.sha256, "path": cfg.path}
