"""What every study returns: a frozen, data-only result (tables, charts to draw, models, warnings, metadata).

A study is a function ``study(config, data=None, *, progress=None) -> Result``. It computes and
returns; it never draws, renders or writes. Saving is done by :func:`kzmig.reporting.save`
(``kzmig.reporting`` imports the studies, never the reverse), which writes the tables as CSV,
draws each :class:`Chart` with the plotter of its ``kind``, renders each :class:`Document`
(workbooks) with the writer of its ``kind``, and saves the models, inside a run folder
(:class:`~kzmig.core.runs.RunFolder`: staging folder, lock, manifest, rename).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from kzmig.config.blocks import StudyConfigBase
from kzmig.core.charts import Chart, Document, chart

__all__ = ["Chart", "Document", "Progress", "SavedModel", "StudyResult", "chart", "config_meta", "no_progress"]

#: progress callback: ``progress(step, done, total)``
Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy (the result's mappings cannot be changed after it is built)."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class SavedModel:
    """A fitted model and the metadata written beside it (see :mod:`kzmig.models.persistence`)."""

    estimator: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResult:
    """Tables, charts, texts, documents and models of one study, with its manifest metadata.

    Every mapping is read-only once the result is built; :func:`kzmig.reporting.save` writes it.

    Attributes
    ----------
    study : str
        Kind of study (``"assess"``, ``"regress"``, ``"forecast"`` ...).
    name : str
        Name of this study (folder name under ``runs/``).
    tables : mapping of str to DataFrame
        Saved as ``<name>.csv`` (UTF-8, ``\\n``), in the order given.
    figures : mapping of str to Chart or Figure
        Saved as ``<name>.png``: a :class:`Chart` is drawn by :mod:`kzmig.reporting`; a
        matplotlib ``Figure`` (object API, never pyplot state) is saved as it is.
    texts : mapping of str to str
        Saved as files of that name (e.g. ``models.txt``).
    documents : mapping of str to Document
        ``file name -> Document``: rendered by :mod:`kzmig.reporting` (workbooks).
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
    figures: Mapping[str, Any] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    documents: Mapping[str, Document] = field(default_factory=dict)
    models: Mapping[str, SavedModel] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("tables", "figures", "texts", "documents", "models", "metadata"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def manifest(self) -> dict[str, Any]:
        """The study block of the run manifest."""
        return {"kind": self.study, "name": self.name, "warnings": list(self.warnings), **dict(self.metadata)}


def config_meta(cfg: StudyConfigBase) -> dict[str, Any]:
    """The resolved config as plain data (the manifest's ``config`` block), with its file and hash."""
    return {"resolved": cfg.model_dump(mode="json"), "sha256": cfg.sha256, "path": cfg.path}
