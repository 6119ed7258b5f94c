"""Where the shipped dataset and the example study configs live, found as package data.

Both are read through :mod:`importlib.resources`, so they are found the same way in a source
checkout (editable install) and in an installed wheel, whatever the current folder.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    """Folder of the shipped dataset (``regions.csv``, ``processed/observations.csv`` ...)."""
    return Path(str(resources.files("kzmig.data")))


def experiments_dir() -> Path:
    """Folder of the shipped study configs (``experiments/*.toml``)."""
    return Path(str(resources.files("kzmig.experiments")))


def example_configs() -> dict[str, Path]:
    """Shipped study configs by name (file stem), e.g. ``{"baseline": .../baseline.toml}``."""
    return {p.stem: p for p in sorted(experiments_dir().glob("*.toml"))}
