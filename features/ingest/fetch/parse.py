"""Parsers of the two statistics APIs, with the defects documented in SOURCES.md (section API).

Each parser turns one response body into rows ``region, year, value, printed, flag, note`` of one
series (regions as codes of ``data/regions.csv``, values scaled to the variable's unit) and a
table of what it left out, with the reason. The defects handled:

=======================================  ==============================================================
defect                                   handling
=======================================  ==============================================================
TSV served as ``csv``                    the delimiter is sniffed from the header (tab, ``;`` or ``,``)
UTF-8 with BOM                           decoded as ``utf-8-sig``; other bytes are an error naming the URL
space thousands separators               spaces (also no-break and thin spaces) removed; decimal comma read
spurious zero groups                     "937 400 000.0" for 937.4: a value outside the variable's range
                                         or 300x off the region's median is divided by 1,000 once
                                         per digit group, to the plausible value nearest the median; flag
                                         ``corrected:zero_groups``, the printed text in ``note``
``x`` for confidential values            left out (listed as ``confidential``); never a zero
period labels such as ``2020 год``       the year is read from the label (or the ``DD.MM.YYYY`` end
                                         date); quarters and months are left out (``not annual``)
upper-case Russian region names          matched through ``data/region_aliases.csv``; districts and
                                         towns are left out (``sub-regional``); a name that looks like
                                         a region (``... ОБЛАСТЬ``, ``РЕСПУБЛИКА ...``) and is unknown
                                         is an error naming it and its year
dimension rows (urban/rural, sex ...)    only the totals are kept: ``Всего`` in every dimension column
                                         (file API); Taldau rows whose non-region terms are all totals
=======================================  ==============================================================

A missing column or key (the table's layout changed) is an error naming it, the URL and the
columns found.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from kzmig.core.errors import DataError, DataFileError
from kzmig.features.ingest.fetch.catalog import MONTH_CUMULATIVE, Series
from kzmig.features.data.regions import resolve_region, suggest_region
from kzmig.features.data.validate import SCALE_RATIO
from kzmig.features.data.variables import VARIABLES

ROWS = ["region", "year", "value", "printed", "flag", "note"]
SKIPPED = ["label", "year", "printed", "reason"]
CONFIDENTIAL = frozenset({"x", "х"})  # Latin and Cyrillic x
MISSING = frozenset({"", "-", "–", "—", "...", "…"})
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_YEAR_LABEL = re.compile(r"^\s*(\d{4})\s*(?:год|г\.?)?\s*$", re.I)
_END_DATE = re.compile(r"^\s*(\d{2})\.(\d{2})\.(\d{4})\s*$")
#: a label that names a region (must resolve) rather than a district or town (left out)
_REGION_LIKE = re.compile(r"област|республик", re.I)
#: Taldau terms that stand for "all" in a non-region dictionary (SOURCES.md section C: 741885
#: activity, 741917 locality, 3629946 enterprise size, 741935 sex), and their names
TOTAL_TERMS = frozenset({741885, 741917, 3629946, 741935})
TOTAL_NAMES = frozenset({"всего", "итого", "оба пола", "все население", "всего по республике"})
#: columns of the file API's TSV that are not dimensions
_CORE = ("NAM", "DAT", "PERIOD", "КАТО", "LКАТО", "VAL")


@dataclass(frozen=True)
class Parsed:
    """Rows of one series (:data:`ROWS`) and the cells left out (:data:`SKIPPED`)."""

    rows: pd.DataFrame
    skipped: pd.DataFrame


def decode(body: bytes, where: str) -> str:
    """UTF-8 text of a response, without its BOM."""
    if not body.strip():
        raise DataFileError(f"{where}: the response is empty.")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{where}: the response is not UTF-8 (byte {exc.start}: {body[exc.start:exc.start + 4]!r});"
                            " the file API serves UTF-8 with a BOM.") from None


def parse_number(text: str) -> tuple[float | None, str]:
    """A published cell as a number: ``(value, "")``, or ``(None, reason)`` for ``x`` and blanks.

    Spaces of any kind are thousands separators; a comma is the decimal mark when no point is
    present. Raises ``ValueError`` for anything else.
    """
    s = _SPACES.sub("", str(text).strip())
    if s.lower() in CONFIDENTIAL:
        return None, "confidential"
    if s in MISSING:
        return None, "missing"
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    value = float(s)  # ValueError for anything else
    if not np.isfinite(value):
        raise DataError(f"{text!r} is not finite")
    return value, ""


def annual_year(label: str, end_date: str | None = None, *, cumulative: bool = False) -> int | None:
    """The year of an annual period label (``"2020 год"``, ``"2020"``), else ``None``.

    For a month-cumulative series the year is taken from an end date ``31.12.YYYY``.
    """
    m = _YEAR_LABEL.match(str(label))
    if m and not cumulative:
        return int(m.group(1))
    d = _END_DATE.match(str(end_date or ""))
    if cumulative and d and (d.group(1), d.group(2)) == ("31", "12"):
        return int(d.group(3))
    return None


def region_code(label: str, year: object, where: str) -> str | None:
    """The region code of a published name; ``None`` for a district or town (left out).

    Raises
    ------
    DataError
        A name that looks like a region (``... ОБЛАСТЬ``, ``РЕСПУБЛИКА ...``) but is not known.
    """
    code = resolve_region(label)
    if code is not None:
        return code
    if _REGION_LIKE.search(label):
        hint = suggest_region(label)
        raise DataError(
            f"{where}: unknown region name {label!r} (year {year}){f', closest known: {hint!r}' if hint else ''}. "
            "If a region was renamed, add the new spelling to the aliases (features/ingest/build.py OLD_NAMES or the raw "
            "region_crosswalk.csv) and rebuild data/."
        )
    return None


def _number(text: str, label: str, year: int, where: str) -> tuple[float | None, str]:
    try:
        return parse_number(text)
    except ValueError:
        raise DataError(f"{where}: region {label!r}, year {year}: value {text!r} is not a number.") from None


def _norm_col(name: str) -> str:
    s = re.sub(r"\s+", " ", str(name)).strip()
    return re.sub(r"\s*\(по каталогу\)$", "", s, flags=re.I).upper()


def read_tsv(body: bytes, where: str) -> pd.DataFrame:
    """The file API's table: TSV served as ``csv`` (delimiter sniffed), UTF-8 with BOM, all cells as text."""
    text = decode(body, where)
    header = text.splitlines()[0]
    try:
        sep = csv.Sniffer().sniff(header, delimiters="\t;,").delimiter
    except csv.Error:
        raise DataFileError(f"{where}: cannot find the delimiter of the header {header[:120]!r}.") from None
    df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    return df.rename(columns=_norm_col)


def _require(found: list[str], required: tuple[str, ...], where: str) -> None:
    missing = [c for c in required if c not in found]
    if missing:
        raise DataError(f"{where}: the table has no column(s) {missing}: its layout changed; found columns "
                        f"{found}. The parser expects {list(required)} (SOURCES.md, section API).")


def _finish(rows: list[tuple], skipped: list[tuple], series: Series, where: str, seen: int) -> Parsed:
    if not rows:
        reasons = pd.Series([r[3] for r in skipped], dtype="string").value_counts().to_dict()
        raise DataError(
            f"{where}: no regional total could be read from {seen} row(s): {len(skipped)} cell(s) left out "
            f"{reasons or ''}, the other rows are breakdowns. If the table's total is no longer labelled "
            f"'Всего' (or a Taldau total term), its layout changed (SOURCES.md, section API)."
        )
    df = pd.DataFrame(rows, columns=["region", "year", "value", "printed"])
    df["year"] = df["year"].astype("int64")
    dup = df.duplicated(["region", "year"], keep=False)
    if dup.any():
        r = df[dup].iloc[0]
        raise DataError(f"{where}: {int(dup.sum())} rows for one region and year after keeping the totals, e.g. "
                        f"region={r['region']!r}, year={r['year']}: a dimension of the table is not filtered to "
                        "its total; the table's layout changed.")
    if series.scale != 1:  # exact decimal arithmetic: 210505.6 KZT -> 210.5056 thousand, not 210.50560000000002
        factor = Decimal(repr(series.scale))
        df["value"] = [float(Decimal(repr(float(v))) * factor) for v in df["value"]]
    df = fix_zero_groups(df, series.variable)
    return Parsed(df[ROWS].sort_values(["region", "year"], kind="stable").reset_index(drop=True),
                  pd.DataFrame(skipped, columns=SKIPPED))


def parse_statgov_tsv(body: bytes, series: Series, where: str) -> Parsed:
    """Parse the stat.gov.kz file API's ``csv`` (a TSV): totals of every dimension, regions only."""
    df = read_tsv(body, where)
    _require(list(df.columns), ("DAT", "КАТО", "VAL"), where)
    dims = [c for c in df.columns if c not in _CORE and not c.startswith("L")]
    rows, skipped = [], []
    for rec in df.to_dict("records"):
        label, printed = rec["КАТО"].strip(), rec["VAL"]
        if any(rec[d].strip().casefold() != "всего" for d in dims):
            continue  # urban/rural, sex ... rows: only the totals are kept
        year = annual_year(rec["DAT"])
        if year is None:
            skipped.append((label, rec["DAT"], printed, "not annual"))
            continue
        code = region_code(label, year, where)
        if code is None:
            skipped.append((label, year, printed, "sub-regional"))
            continue
        value, why = _number(printed, label, year, where)
        if value is None:
            skipped.append((label, year, printed, why))
            continue
        rows.append((code, year, value, printed))
    return _finish(rows, skipped, series, where, len(df))


def _is_total(term: object, name: object) -> bool:
    try:
        if int(term) in TOTAL_TERMS:
            return True
    except (TypeError, ValueError):
        pass
    return str(name).strip().casefold() in TOTAL_NAMES


def parse_cube(body: bytes, series: Series, where: str) -> Parsed:
    """Parse a JSON cube (Taldau ``GetIndexData``, or the file API's ``json``): a list of
    ``{terms, termNames, periods: [{name, date, value}]}``; the first term is the region."""
    try:
        data = json.loads(decode(body, where))
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(data, list):
        raise DataError(f"{where}: expected a JSON list of rows, got {type(data).__name__}; the layout changed.")
    cumulative = series.period == MONTH_CUMULATIVE
    rows, skipped = [], []
    for i, row in enumerate(data):
        absent = [k for k in ("terms", "termNames", "periods") if not isinstance(row, dict) or k not in row]
        if absent:
            got = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise DataError(f"{where}: row {i} has no key(s) {absent}: the layout changed; found {got}. "
                            "Expected terms, termNames, periods (SOURCES.md, section API B).")
        terms, names = list(row["terms"]), [str(n) for n in row["termNames"]]
        if series.dics and len(names) != len(series.dics):
            raise DataError(f"{where}: row {i} has {len(names)} term(s) {names} for {len(series.dics)} dictionaries "
                            f"{list(series.dics)}: the layout changed.")
        if not names:
            raise DataError(f"{where}: row {i} has no term names (no region).")
        if not all(_is_total(t, n) for t, n in zip(terms[1:], names[1:])):
            continue  # a breakdown (sex, activity ...): only totals are kept
        label = names[0].strip()
        for j, p in enumerate(row["periods"]):
            absent = [k for k in ("name", "value") if not isinstance(p, dict) or k not in p]
            if absent:
                raise DataError(f"{where}: row {i} ({label!r}) period {j} has no key(s) {absent}: the layout changed.")
            year = annual_year(p["name"], p.get("date"), cumulative=cumulative)
            if year is None:
                skipped.append((label, p["name"], p["value"], "not annual"))
                continue
            code = region_code(label, year, where)
            if code is None:
                skipped.append((label, year, p["value"], "sub-regional"))
                continue
            value, why = _number(p["value"], label, year, where)
            if value is None:
                skipped.append((label, year, p["value"], why))
                continue
            rows.append((code, year, value, str(p["value"])))
    return _finish(rows, skipped, series, where, len(data))


def _zero_groups(printed: str) -> int:
    """Digit groups after the first of a printed number with a zero (or no) decimal part:
    "937 400 000.0" -> 2 (the candidates are the value / 1,000 and / 1,000,000)."""
    m = re.fullmatch(r"\s*(\d{1,3}(?:[ \u00a0\u202f]\d{3})+)(?:[.,]0*)?\s*", str(printed))
    return len(_SPACES.split(m.group(1))) - 1 if m else 0


def fix_zero_groups(df: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Undo spurious zero groups (see module docstring); corrected rows are flagged, the rest unchanged.

    A value is suspect when it lies outside the variable's range, or more than ``SCALE_RATIO``
    times its region's median in the table. Each candidate divides by 1,000 once per trailing
    digit group; the plausible one closest to the region's median (or, for a region with no
    plausible value, the median of the table) wins.
    A suspect value with no plausible candidate is left for validation, which names it.
    """
    spec = VARIABLES.get(variable)
    lo, hi = (spec.lo, spec.hi) if spec else (-np.inf, np.inf)
    df = df.assign(flag="", note="")
    in_range = df["value"].between(lo, hi)
    med = df["value"].where(in_range).groupby(df["region"]).transform("median")
    med = med.fillna(df["value"].where(in_range).median())
    for i in df.index:
        v, m = df.at[i, "value"], med[i]
        off = pd.notna(m) and m != 0 and v != 0 and max(abs(v / m), abs(m / v)) > SCALE_RATIO
        if in_range[i] and not off:
            continue
        groups = range(1, _zero_groups(df.at[i, "printed"]) + 1)
        cands = [float(Decimal(repr(float(v))) / Decimal(1000) ** k) for k in groups]  # exact decimal division
        cands = [c for c in cands if lo <= c <= hi]
        if pd.notna(m) and m != 0:
            cands = [c for c in cands if max(abs(c / m), abs(m / c)) <= SCALE_RATIO]
            cands.sort(key=lambda c: abs(np.log(abs(c / m))))
        if cands:
            df.at[i, "value"] = cands[0]
            df.at[i, "flag"] = "corrected:zero_groups"
            df.at[i, "note"] = f"printed {df.at[i, 'printed']!r}: spurious zero groups removed"
    return df
