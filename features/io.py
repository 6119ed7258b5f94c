"""Read a user data file (CSV or XLSX, long or wide by year) into the long contract.

Accepted layouts
----------------
long
    columns ``region, year, variable, value`` (+ optional ``unit``, ``source``, ``flag``);
wide by year
    columns ``region, variable`` (+ optional ``unit``) and one column per year (``2015``,
    ``2016`` ...), as BNS tables are printed.

Region names may be codes or any spelling in ``data/region_aliases.csv`` (Russian, Kazakh,
Latin transliterations, old names); they are mapped to codes once, here. Row numbers in
messages are the file's own (header = row 1).
"""
from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.features.panel import validate_panel
from kzmig.features.regions import resolve_region, suggest_region

logger = logging.getLogger(__name__)

_YEAR_COL = re.compile(r"^\s*(\d{4})(\.0)?\s*$")
LONG_REQUIRED = ("region", "year", "variable", "value")


def _read_csv_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise DataFileError(f"{path}: the file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(
            f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}); "
            "re-save the file as UTF-8 (BNS exports in cp1251 can be converted with iconv -f cp1251 -t utf-8)."
        ) from None
    return text


def _check_fields(path: Path, text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise DataFileError(f"{path}: the file has a header but no data rows.")
    width = len(rows[0])
    short = [i + 1 for i, r in enumerate(rows) if len(r) != width]
    if short:
        last = len(rows)
        kind = "truncated (the last row is incomplete)" if short == [last] and not text.endswith("\n") else \
            "malformed"
        raise DataFileError(
            f"{path}: {kind}: row(s) {short[:8]} have a different number of fields than the header "
            f"({width}); check the end of the file and quoting."
        )


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataFileError(f"{path}: no such file.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several types for damaged files
            raise DataFileError(f"{path}: cannot be read as XLSX ({type(exc).__name__}: {exc}).") from None
        if df.empty:
            raise DataFileError(f"{path}: the first sheet has no data rows.")
    elif suffix in (".csv", ".txt", ".tsv"):
        text = _read_csv_text(path)
        _check_fields(path, text)
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    else:
        raise DataFileError(f"{path}: unsupported file type {suffix!r}; give a .csv or .xlsx file.")
    df.columns = [str(c).strip() for c in df.columns]
    df.index = pd.RangeIndex(2, len(df) + 2)  # file row numbers (header is row 1)
    return df


def _melt_wide(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    year_cols = [c for c in df.columns if _YEAR_COL.match(c)]
    ids = [c for c in df.columns if c not in year_cols]
    if not year_cols or not {"region", "variable"} <= set(ids):
        raise DataFileError(
            f"{path}: unrecognised layout; columns {list(df.columns)}. Give either long columns "
            f"{list(LONG_REQUIRED)} (+ unit) or wide columns region, variable (+ unit) and one column per year."
        )
    df = df.assign(_row=df.index)
    long = df.melt(id_vars=ids + ["_row"], value_vars=year_cols, var_name="year", value_name="value")
    long["year"] = long["year"].map(lambda c: _YEAR_COL.match(c).group(1))
    long = long[long["value"].astype("string").str.strip().fillna("") != ""]
    long.index = pd.Index(long["_row"].astype(str) + ":" + long["year"], name="row")
    return long.drop(columns="_row")


def _resolve_regions(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    names = df["region"].astype("string").str.strip()
    mapping = {n: resolve_region(n) for n in names.dropna().unique()}
    unknown = [n for n, code in mapping.items() if code is None]
    if unknown:
        parts = []
        for n in unknown[:8]:
            row = names.index[names == n][0]
            hint = suggest_region(n)
            parts.append(f"{n!r} (row {row})" + (f" -> closest known: {hint!r}" if hint else ""))
        raise PanelContractError(
            f"{path}: column 'region' has {len(unknown)} unknown region name(s): " + "; ".join(parts)
            + ". Use a code of data/regions.csv or a spelling of data/region_aliases.csv."
        )
    return df.assign(region=names.map(mapping).astype("string"))


def read_user_table(path: str | Path) -> pd.DataFrame:
    """Read, reshape and validate a user file; return the long contract with codes as regions.

    Raises
    ------
    DataFileError
        Missing, empty, truncated, non-UTF-8 or unreadable file, or an unknown layout.
    PanelContractError
        Content errors (see :func:`features.panel.validate_panel`), naming the file row, region,
        year and variable.
    """
    path = Path(path)
    df = _read_frame(path)
    if not set(LONG_REQUIRED) <= set(df.columns):
        df = _melt_wide(path, df)
    df = _resolve_regions(path, df)
    years = pd.to_numeric(df["year"].astype("string").str.strip(), errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    if bad.any():
        rows = list(df.index[bad][:8])
        raise PanelContractError(
            f"{path}: column 'year' has {int(bad.sum())} value(s) that are not whole years at rows {rows}, "
            f"e.g. {df.loc[bad, 'year'].iloc[0]!r}."
        )
    df = df.assign(year=years.astype("int64"), variable=df["variable"].astype("string").str.strip())
    if "unit" in df:
        df["unit"] = df["unit"].astype("string")
    return validate_panel(df, source=str(path))
