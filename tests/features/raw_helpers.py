"""Plain readers of the raw files for the dataset tests (the csv module, never the build code)."""
from __future__ import annotations

import csv
from pathlib import Path


def raw_rows(raw_dir: Path, name: str) -> list[dict[str, str]]:
    """The rows of one raw file of ``../shared/data/raw`` as dicts of strings (as stored)."""
    with open(raw_dir / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
