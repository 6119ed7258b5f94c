"""Read a user data file (CSV, TSV or XLSX, long or wide by year) into the long contract.

Accepted layouts
----------------
long
    columns ``region, year, variable, value`` (+ optional ``unit``, ``source``, ``flag``, and
    any other column, which is kept);
wide by year
    columns ``region, variable`` (+ optional ``unit``, ``source``, ``flag``, ``note``) and one
    column per year (``2015``, ``2016`` ...), as BNS tables are printed. Any other column is
    an error (its values would otherwise be dropped unseen).

How the cells are read (delimiter sniffing, cut files, control characters) is described in
:mod:`kzmig.features.io_read`. Region names may be codes or any spelling in
``data/region_aliases.csv`` (Russian, Kazakh, Latin transliterations, old names); they are
mapped to codes once, here. Row numbers in messages are the file's own (header = row 1); a
cell of a wide file is named by its row and its year.

Rules
-----
Several XLSX sheets
    Every sheet with data is read and the sheets are concatenated, provided they all have the
    same layout (all long, or all wide; wide sheets may cover different years). Messages name
    the sheet (``sheet 'b' row 7``); a key repeated across sheets is a duplicate. Empty sheets
    are skipped; a sheet in another or in an unknown layout is an error naming the sheets.
Variable names
    A name must be known to :mod:`kzmig.features.variables` (shipped, derived, rates); an unknown
    name is an error suggesting the closest known ones. A genuinely new series (for any
    regions, e.g. national rows only) is accepted when the file declares it, by giving a
    ``unit`` and a ``source`` on each of its rows, or when the caller passes ``allow_new``
    (``True``, or the list of new names; for a later ``--new-variables`` flag). A name one
    edit from a known one is taken for a misspelling even when declared: only listing it in
    ``allow_new`` accepts it. A derived variable may not come with the inputs the loader
    derives it from.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataFileError, PanelContractError
from kzmig.features.io_read import LONG_REQUIRED, YEAR_COL, Sheet, layout, read_sheets
from kzmig.features.panel import validate_panel
from kzmig.features.regions import resolve_region, suggest_region
from kzmig.features.validate import (MAX_LISTED, ROW_COL, SHEET_COL, check_derived, check_variables,
                                     location)

logger = logging.getLogger(__name__)

WIDE_EXTRA = ("unit", "source", "flag", "note")
_BNS_RAW = {"NAM", "DAT", "VAL"}


def _layout_error(path: Path, sheet: Sheet) -> DataFileError:
    cols = [c for c in sheet.frame.columns if c not in (ROW_COL, SHEET_COL)]
    where = f" sheet {sheet.name!r}:" if sheet.name else ""
    hint = ""
    if _BNS_RAW <= set(cols):
        hint = " This is a raw BNS dynamic-table export (NAM, DAT, VAL ...): reshape it to one of these layouts."
    elif len(cols) == 1 and any(d in cols[0] for d in ",;\t"):
        hint = " The header is one cell holding separators: split it into columns, or save the sheet as CSV."
    return DataFileError(
        f"{path}:{where} unrecognised layout; columns {cols}. Give either long columns "
        f"{list(LONG_REQUIRED)} (+ unit) or wide columns region, variable (+ unit) and one column per year.{hint}"
    )


def _melt_wide(path: Path, sheet: Sheet) -> pd.DataFrame:
    """Wide-by-year cells to long rows; each keeps its file row (``_row``) and gets its ``year``."""
    df = sheet.frame
    helpers = [c for c in (ROW_COL, SHEET_COL) if c in df.columns]
    year_cols = [c for c in df.columns if YEAR_COL.match(c)]
    ids = [c for c in df.columns if c not in year_cols and c not in helpers]
    extra = [c for c in ids if c not in ("region", "variable", *WIDE_EXTRA)]
    if extra:
        where = f" sheet {sheet.name!r}:" if sheet.name else ""
        raise DataFileError(
            f"{path}:{where} column(s) {extra} are neither years nor one of region, variable, "
            f"{', '.join(WIDE_EXTRA)}; in a wide-by-year file every other column is a year (e.g. 2015). "
            "Rename or delete them."
        )
    long = df.melt(id_vars=ids + helpers, value_vars=year_cols, var_name="year", value_name="value")
    long["year"] = long["year"].map(lambda c: YEAR_COL.match(c).group(1))
    filled = long["value"].astype("string").str.strip().fillna("") != ""
    if not filled.all():
        logger.debug("%s%s: %d blank year cell(s) of the wide layout read as not observed.", path,
                     f" sheet {sheet.name!r}" if sheet.name else "", int((~filled).sum()))
    return long[filled].sort_values([ROW_COL, "year"], kind="stable")


def _combine(path: Path, sheets: list[Sheet]) -> pd.DataFrame:
    """One long frame from the sheets, which must share one known layout."""
    kinds = {s.name: layout(s.frame.columns) for s in sheets}
    for s in sheets:
        if kinds[s.name] is None:
            raise _layout_error(path, s)
    if len(set(kinds.values())) > 1:
        by = {k: [n for n, v in kinds.items() if v == k] for k in ("long", "wide")}
        raise DataFileError(
            f"{path}: sheets {by['long']} are in the long layout and sheets {by['wide']} wide by year; the "
            "sheets of one workbook are read together and must share one layout. Convert them to one "
            "layout, or move the sheets of one layout to another file and read each file on its own."
        )
    frames = [s.frame if kinds[s.name] == "long" else _melt_wide(path, s) for s in sheets]
    return pd.concat(frames, ignore_index=True)


def _resolve_regions(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    names = df["region"].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        rows = ", ".join(location(df.loc[i]) for i in df.index[blank][:MAX_LISTED])
        raise PanelContractError(
            f"{path}: column 'region' is blank in {int(blank.sum())} row(s): {rows}; give the region of each row."
        )
    mapping = {n: resolve_region(n) for n in names.unique()}
    unknown = [n for n, code in mapping.items() if code is None]
    if unknown:
        parts = []
        for n in unknown[:MAX_LISTED]:
            where = location(df.loc[names.index[names == n][0]])
            hint = suggest_region(n)
            parts.append(f"{n!r} ({where})" + (f" -> closest known: {hint!r}" if hint else ""))
        raise PanelContractError(
            f"{path}: column 'region' has {len(unknown)} unknown region name(s): " + "; ".join(parts)
            + ". Use a code of data/regions.csv or a spelling of data/region_aliases.csv."
        )
    return df.assign(region=names.map(mapping).astype("string"))


def _parse_years(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    text = df["year"].astype("string").str.strip()
    years = pd.to_numeric(text, errors="coerce")
    bad = years.isna() | (years % 1 != 0) | (years.abs() > 99_999)
    if bad.any():
        rows = "; ".join(f"{location(df.loc[i])} (region={df.at[i, 'region']!r}): {df.at[i, 'year']!r}"
                         for i in df.index[bad][:MAX_LISTED])
        raise PanelContractError(
            f"{path}: column 'year' has {int(bad.sum())} value(s) that are not whole years: {rows}. "
            "Write each year as a whole number such as 2020."
        )
    return df.assign(year=years.astype("int64"))


def read_user_table(path: str | Path, *, allow_new: bool | Iterable[str] = False) -> pd.DataFrame:
    """Read, reshape and validate a user file; return the long contract with codes as regions.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.txt``, ``.tsv``, ``.tab``, ``.xlsx`` or ``.xlsm`` file in one of the
        layouts of the module docstring.
    allow_new : bool or iterable of str, default False
        New series to accept besides those the file declares (see "Variable names" in the
        module docstring): ``True`` for any name that is not a near-miss of a known one, or
        the names themselves.

    Returns
    -------
    DataFrame
        ``region`` (string, codes), ``year`` (int64), ``variable`` (string), ``value``
        (float64) and the file's other columns, one row per (region, year, variable).

    Raises
    ------
    DataFileError
        Missing, empty, cut, non-UTF-8, damaged or unreadable file, a control character in a
        cell, or an unknown layout (see :mod:`kzmig.features.io_read`).
    PanelContractError
        Content errors (regions, years, variables, and those of
        :func:`kzmig.features.panel.validate_panel`), naming the file, row (and sheet), region,
        year and variable.
    """
    path = Path(path)
    df = _combine(path, read_sheets(path))
    df = _parse_years(path, _resolve_regions(path, df))
    df = df.assign(variable=df["variable"].astype("string").str.strip())
    check_variables(df, str(path), allow_new)
    check_derived(df, str(path))
    if "unit" in df:
        df["unit"] = df["unit"].astype("string")
    df = validate_panel(df, source=str(path))
    return df.drop(columns=[c for c in (ROW_COL, SHEET_COL) if c in df.columns])
