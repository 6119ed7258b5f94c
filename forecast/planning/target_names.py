"""The indicator names of a targets table, checked against what a run can answer.

A target whose indicator the run does not forecast is either a **misspelling** of one it does
(``net_migraton``; one edit away or a :mod:`difflib` ratio >= 0.85, see
:func:`kzmig.features.data.validate.near_misses`), a **known synonym** (:data:`SYNONYMS`:
``migration_balance`` for ``net_migration``), or a **new indicator** (``foreign_students``)
that the run cannot speak to. The first two are errors naming the closest indicator; the last
is listed as not answerable, with the indicators the run can answer (:func:`unanswerable_note`).
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kzmig.core.errors import DataError
from kzmig.features.data.validate import MAX_LISTED, near_misses

#: other names of an indicator seen in planning documents and user tables (lower case, '_' for spaces)
SYNONYMS: dict[str, str] = {
    "migration_balance": "net_migration", "net_migration_balance": "net_migration", "migration_net": "net_migration",
    "migration_saldo": "net_migration", "saldo_migration": "net_migration", "net_migrants": "net_migration",
    "сальдо_миграции": "net_migration", "миграционное_сальдо": "net_migration",
    "population_total": "population", "total_population": "population", "численность_населения": "population",
    "unemployment_rate": "unemployment_rate_pct", "unemployment": "unemployment_rate_pct",
    "уровень_безработицы": "unemployment_rate_pct",
}


def _key(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def closest_indicator(name: str, answerable: Iterable[str]) -> str | None:
    """The indicator of ``answerable`` that ``name`` misspells or names by a synonym, or None."""
    answerable = sorted(set(answerable))
    key = _key(name)
    if SYNONYMS.get(key) in answerable:
        return SYNONYMS[key]
    near = near_misses(name, answerable)
    if not near:
        return None
    import difflib

    return max(near, key=lambda k: difflib.SequenceMatcher(None, key, k).ratio())


def check_indicators(targets: pd.DataFrame, answerable: Iterable[str], *, source: object = "targets") -> list[str]:
    """Raise on indicators that misspell (or are synonyms of) one the run answers; return the new ones.

    Parameters
    ----------
    targets : DataFrame
        A targets table (:func:`kzmig.forecast.planning.targets.read_targets`), one row per target in file
        order (row = position + 2, the header being row 1).
    answerable : iterable of str
        The indicators the run forecasts (and those the data hold, for achievements).
    source : str or Path
        The targets file, for messages.

    Returns
    -------
    list of str
        Indicators of the table that the run cannot answer and that are not close to one it can.

    Raises
    ------
    DataError
        Naming each near-miss indicator, its first row, region and year, and the closest
        indicator the run answers.
    """
    answerable = sorted(set(answerable))
    parts, new = [], []
    names = targets["indicator"].astype(str)
    for name in dict.fromkeys(names):
        if name in answerable:
            continue
        close = closest_indicator(name, answerable)
        if close is None:
            new.append(name)
            continue
        pos = int((names == name).to_numpy().argmax())
        rec = targets.iloc[pos]
        why = "a synonym of" if SYNONYMS.get(_key(name)) == close else "closest indicator of this run:"
        parts.append(f"{name!r} (row {pos + 2}, region {rec['region']!r}, year {rec['year']}) -> {why} {close!r}")
    if parts:
        more = f"; ... and {len(parts) - MAX_LISTED} more" if len(parts) > MAX_LISTED else ""
        raise DataError(f"targets {source}, column 'indicator': {len(parts)} indicator(s) this run does not "
                        f"forecast but that look like one it does: " + "; ".join(parts[:MAX_LISTED]) + more
                        + ". Correct the name in the targets table.")
    return new


def unanswerable_note(answerable: Iterable[str], limit: int = 12) -> str:
    """``"this run answers: a, b, c ..."`` for the warnings about new indicators."""
    names = sorted(set(answerable))
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"this run can answer: {shown}" if names else "this run answers no indicator"
