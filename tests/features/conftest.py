"""Fixtures of the feature tests: user files written to a temporary folder, and the check that one is refused."""
from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kzmig.features.data.io import read_user_table
from kzmig.features.data.regions import DATA_DIR


@pytest.fixture
def user_file(tmp_path: Path) -> Callable[..., Path]:
    """``user_file(text, name="user.csv")``: ``text`` written as UTF-8 bytes to ``tmp_path / name``."""
    def write(text: str, name: str = "user.csv") -> Path:
        p = tmp_path / name
        p.write_bytes(text.encode("utf-8"))
        return p
    return write


@pytest.fixture
def rejects(user_file) -> Callable[..., Path]:
    """``rejects(text_or_path, error, match, name=..., **read_kwargs)``: reading raises ``error`` matching ``match``.

    A string is first written with :func:`user_file` (as ``name``); the path is returned.
    """
    def check(source: str | Path, error: type[Exception], match: str, *, name: str = "user.csv", **kwargs) -> Path:
        path = source if isinstance(source, Path) else user_file(source, name)
        with pytest.raises(error, match=match):
            read_user_table(path, **kwargs)
        return path
    return check


def _flow_panel(flows: Mapping[str, tuple[Sequence[float], Sequence[float]]], p0: float,
                start: int = 2000) -> pd.DataFrame:
    """Population, natural increase and net migration of hand-made regions (SYNTHETIC).

    ``flows`` maps a region to (natural increase, net migration) of the years ``start`` ... ;
    the population starts at ``p0`` on 1 January of ``start`` and follows the balance
    ``P(t+1) = P(t) + N(t) + M(t)`` for one more year than there are flows, whose flows are NaN.
    """
    rows = []
    for r, (n, m) in flows.items():
        p = p0
        for i in range(len(n) + 1):
            last = i == len(n)
            rows.append({"region": r, "year": start + i, "population": p,
                         "natural_increase": np.nan if last else float(n[i]),
                         "net_migration": np.nan if last else float(m[i])})
            if not last:
                p += n[i] + m[i]
    df = pd.DataFrame(rows).astype({"region": "string", "year": "int64"})
    df["population_avg"] = df.groupby("region")["population"].transform(lambda s: (s + s.shift(-1)) / 2)
    return df


@pytest.fixture
def flow_panel() -> Callable[..., pd.DataFrame]:
    """``flow_panel(flows, p0, start=2000)``: a balanced population panel from hand-made flows."""
    return _flow_panel


@pytest.fixture(scope="module")
def shipped_rows() -> dict[tuple[str, int, str], dict[str, str]]:
    """Shipped observations as {(region, year, variable): row dict} (strings as stored)."""
    with open(DATA_DIR / "processed" / "observations.csv", encoding="utf-8", newline="") as fh:
        return {(r["region"], int(r["year"]), r["variable"]): r for r in csv.DictReader(fh)}
