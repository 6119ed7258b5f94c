"""The canonical region registry (``data/regions.csv``) and its alias table.

Region codes are the snake_case English keys of ``data/regions.csv`` (``akmola``,
``almaty_city``, ``south_kazakhstan`` ..., and ``kazakhstan`` for the national total).
Border views map each code to the unit it belongs to at fixed borders.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd

from kzmig.core.options import check_option
from kzmig.core.resources import data_dir

DATA_DIR = data_dir()
NATIONAL = "kazakhstan"

#: Units absorbed into a parent in each fixed-border view (the 2022 map has none).
MERGES: dict[int, dict[str, str]] = {
    2022: {},
    2018: {"abai": "east_kazakhstan", "jetisu": "almaty_region", "ulytau": "karaganda"},
    2017: {
        "abai": "east_kazakhstan",
        "jetisu": "almaty_region",
        "ulytau": "karaganda",
        "shymkent": "south_kazakhstan",
        "turkestan": "south_kazakhstan",
    },
}
#: Units that exist in a fixed-border view but cannot be formed before a year, because
#: the sources do not separate them (value: first year the unit can be formed).
FIRST_FORMABLE: dict[int, dict[str, int]] = {
    2022: {
        "abai": 2022, "jetisu": 2022, "ulytau": 2022, "shymkent": 2017, "turkestan": 2017,
        # parents that lost territory in 2022 have no 2022-border figures before the split
        "east_kazakhstan": 2022, "almaty_region": 2022, "karaganda": 2022,
    },
    2018: {"shymkent": 2017, "turkestan": 2017},
    2017: {},
}
BORDERS = tuple(sorted(MERGES))


@functools.cache
def _read_registry(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, dtype="string" if name == "region_aliases.csv" else {
        "kato": "string", "region": "string"})


def load_regions() -> pd.DataFrame:
    """Return the registry: one row per region code, with names, type, parent, KATO and area.

    A fresh copy each call: the file is read once, but callers may modify what they get.
    """
    return _read_registry("regions.csv").copy()


def load_aliases() -> pd.DataFrame:
    """Return the alias table: every spelling seen in the sources and the code it maps to (a copy)."""
    return _read_registry("region_aliases.csv").copy()


def region_codes(*, include_national: bool = True) -> tuple[str, ...]:
    """All region codes of the registry, sorted."""
    codes = load_regions()["region"].astype(str)
    if not include_national:
        codes = codes[codes != NATIONAL]
    return tuple(sorted(codes))


def normalise_name(name: str) -> str:
    """Fold a region label to the alias key: NFC, lower case, ё as е, no quotes, single spaces."""
    s = unicodedata.normalize("NFC", str(name)).lower().replace("ё", "е")
    s = re.sub(r"[\"'«»]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def resolve_region(name: str) -> str | None:
    """Map a code or any accepted spelling to its code, or ``None`` when unknown.

    Accepted: the codes, every spelling of ``data/region_aliases.csv``, and the forms of
    :mod:`kzmig.features.data.region_names` (Russian short forms, Kazakh names, Latin
    transliterations, ISO 3166-2 and KATO codes, abbreviations), case-, hyphen- and
    diacritic-insensitive. ``kzmig data regions`` lists them.
    """
    from kzmig.features.data.region_names import resolve

    return resolve(name)


def suggest_region(name: str) -> str | None:
    """The closest known region code to ``name`` (for error messages), in any script, or ``None``.

    See :func:`kzmig.features.data.region_names.suggest`: ``Павлодарская обл`` -> ``pavlodar``,
    ``pavlodr`` -> ``pavlodar``, but nothing for ``НОВАЯ ОБЛАСТЬ``.
    """
    from kzmig.features.data.region_names import suggest

    return suggest(name)


#: how messages tell the user where the accepted spellings are (a command: a wheel has no data/ path)
SPELLINGS_HINT = "`kzmig data regions` lists the codes and every accepted spelling"


def unit_map(borders: int) -> dict[str, str]:
    """Map every region code to its unit at fixed ``borders`` (2022, 2018 or 2017)."""
    check_option("borders", borders, BORDERS, owner="unit_map")
    merges = MERGES[borders]
    return {code: merges.get(code, code) for code in region_codes()}


def units(borders: int) -> tuple[str, ...]:
    """Sub-national units of a fixed-border view, sorted (national total excluded)."""
    return tuple(sorted(set(unit_map(borders).values()) - {NATIONAL} - _absent(borders)))


def _absent(borders: int) -> set[str]:
    # South Kazakhstan is a unit only in 2017 borders; split-off regions disappear when merged.
    absent = set(MERGES[borders])
    if borders != 2017:
        absent.add("south_kazakhstan")
    return absent
