"""SECONDARY press figures on the composition of external migrants, for the dataset build.

The only figures on external migrants by education level and by specialty besides the
article of 2022 (``features.build._article``, flag ``cited``) are BNS figures quoted by news
pages, for single (partial) years, in the raw files ``migration_press_quotes_secondary.csv``
and ``press_quotes_secondary_2.csv``. :func:`press_composition` turns them into observation rows:

* which rows: national rows with a stated year whose variable is a composition figure
  (``external_{arrivals,departures}_specialty:<s>[_<period>]``,
  ``external_departures_15plus_education:<level>_<period>``,
  ``external_{arrivals,departures}_qualified_specialists``), plus the national total of
  external arrivals or departures **of the same period and year** where the press gives one
  (``external_departures_jan_jun`` 2022 ...): the denominator of a share. Undated rows (two
  articles do not state their year) and regional leader lists are not used;
* names: the raw name with ``:`` as ``_``, the period suffix of the raw file kept
  (``_jan_jun``, ``_jan_sep``; none for a full year), and ``secondary_professional`` written
  ``secondary_vocational`` as in the article and ``METHOD.md`` (среднее профессиональное);
* units: every value in persons. A figure printed in thousands (``6.6 thousand persons``) is
  multiplied by 1,000 exactly (decimal arithmetic) and flagged ``rounded``; the printed figure
  is kept at the start of ``note``;
* flags: ``secondary:press`` on every row (plus ``rounded``). A full-year press total that the
  official series already holds (``external_departures`` 2017 ...) is not shipped: the official
  BNS value is, and the press vintage differs slightly (see ``data/README.md``).
"""
from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataFileError
from kzmig.features.data.regions import NATIONAL

logger = logging.getLogger(__name__)

PRESS_FILES = ("migration_press_quotes_secondary.csv", "press_quotes_secondary_2.csv")
#: period suffixes of partial-year press figures (raw convention) -> months covered
PERIOD_MONTHS = {"": 12, "_jan_jun": 6, "_jan_jul": 7, "_jan_sep": 9, "_q1": 3}
_COMPOSITION = re.compile(
    r"^external_(arrivals|departures)(_specialty:[a-z_]+|_15plus_education:[a-z_]+|_qualified_specialists)$"
)
_TOTAL = re.compile(r"^external_(arrivals|departures)(_jan_jun|_jan_jul|_jan_sep|_q1)$")
_SUFFIX = re.compile(r"(_jan_jun|_jan_jul|_jan_sep|_q1)$")
_RENAME = (("secondary_professional", "secondary_vocational"),)
_SCALE = {"persons": Decimal(1), "thousand persons": Decimal(1000)}


def period_suffix(variable: str) -> str:
    """The partial-period suffix of a variable name (``""`` for a full calendar year)."""
    m = _SUFFIX.search(variable)
    return m.group(1) if m else ""


def shipped_name(raw_variable: str) -> str:
    """``external_departures_15plus_education:secondary_professional_jan_jun`` ->
    ``external_departures_15plus_education_secondary_vocational_jan_jun``."""
    name = raw_variable.replace(":", "_")
    for old, new in _RENAME:
        name = name.replace(old, new)
    return name


def _read(raw: Path, name: str) -> pd.DataFrame:
    path = raw / name
    if not path.exists():
        raise DataFileError(f"{path}: raw file not found; pass --raw pointing at shared/data/raw.")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def press_composition(raw: Path) -> pd.DataFrame:
    """Observation rows (``region, year, variable, value, unit, source, flag, note``) of the
    SECONDARY press figures on migrants by education and specialty, and their period totals.

    Raises
    ------
    DataFileError
        A raw file is missing, a unit other than persons / thousand persons, or two rows for
        one year and shipped variable (naming both sources).
    """
    df = pd.concat([_read(raw, f) for f in PRESS_FILES], ignore_index=True)
    df = df[(df["region_key"] == NATIONAL) & (df["year"] != "")]
    comp = df[df["variable"].str.match(_COMPOSITION)]
    periods = {(y, period_suffix(v)) for y, v in zip(comp["year"], comp["variable"])}
    tot = df[df["variable"].str.match(_TOTAL)]
    tot = tot[[(y, period_suffix(v)) in periods for y, v in zip(tot["year"], tot["variable"])]]
    rows = pd.concat([comp, tot], ignore_index=True)
    bad = sorted(set(rows["unit"]) - set(_SCALE))
    if bad:
        raise DataFileError(f"{PRESS_FILES}: unit(s) {bad} of composition rows are not persons or thousand persons.")
    out = []
    for r in rows.itertuples(index=False):
        scale = _SCALE[r.unit]
        value = float(Decimal(r.value) * scale)
        rounded = scale != 1
        note = "; ".join(t for t in (f"printed as {r.value} {r.unit}" if rounded else "", r.note) if t)
        out.append({
            "region": NATIONAL, "year": int(r.year), "variable": shipped_name(r.variable), "value": value,
            "unit": "persons", "source": f"{r.source_repo}:{r.source_path}",
            "flag": "secondary:press" + (";rounded" if rounded else ""), "note": note,
        })
    res = pd.DataFrame(out)
    dup = res.duplicated(["year", "variable"], keep=False)
    if dup.any():
        raise DataFileError(f"{PRESS_FILES}: two press rows for one year and variable: "
                            f"{res.loc[dup, ['year', 'variable', 'source']].head(4).to_dict('records')}")
    logger.info("press composition: %d rows (%d variables) from %s", len(res), res["variable"].nunique(), PRESS_FILES)
    return res
