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
:mod:`kzmig.features.data.io_read`. Region names may be codes or any accepted spelling (Russian
full and short forms, Kazakh, Latin transliterations, ISO 3166-2 and KATO codes, abbreviations,
former names; :mod:`kzmig.features.data.region_names`, listed by ``kzmig data regions``); they are
mapped to codes once, here. Row numbers in messages are the file's own (header = row 1); a
cell of a wide file is named by its row and its year.

Rules
-----
Numbers
    The ``value`` cells (the year cells of a wide file) may be written as Russian-locale Excel
    writes them: ``530 100`` (space, U+00A0 or U+202F between thousands), ``4,7`` (decimal
    comma). The convention is found from the cells and the separator
    (:mod:`kzmig.features.data.number_format`): a ``;``-separated file, or a column whose cells can
    only be read one way, is read without asking; an ambiguous column (``1,234`` alone in a
    comma- or tab-separated file, or decimal commas mixed with decimal points) is an error
    naming the column and the ``decimal=`` / ``thousands=`` arguments that settle it.
All problems in one pass
    Problems of the content (regions, years, variables, numbers, duplicates, units, ranges,
    scale slips) are all collected and reported together, grouped by kind, each listing its
    first rows (file row, column, region, year) and a count of the rest.
Several XLSX sheets
    Every sheet with data is read and the sheets are concatenated, provided they all have the
    same layout (all long, or all wide; wide sheets may cover different years). Messages name
    the sheet (``sheet 'b' row 7``); a key repeated across sheets is a duplicate. Empty sheets
    are skipped; a sheet in another or in an unknown layout is an error naming the sheets.
Variable names
    A name must be known to :mod:`kzmig.features.data.variables` (shipped, derived, rates); an unknown
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
from kzmig.features.data.io_read import LONG_REQUIRED, YEAR_COL, Sheet, layout, read_sheets
from kzmig.features.data.number_format import (SEPARATOR_NAMES, THOUSANDS, AmbiguousNumbers, NumberFormat,
                                          check_options, decide, foreign, normalise)
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.region_names import ambiguous as ambiguous_region
from kzmig.features.data.regions import SPELLINGS_HINT, resolve_region, suggest_region
from kzmig.features.data.validate import (MAX_LISTED, ROW_COL, SHEET_COL, Problems, check_derived, check_long,
                                     check_variables, location)

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


def _resolve_regions(path: Path, df: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Region names to codes; blank and unknown names are recorded (and kept as written)."""
    names = df["region"].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        rows = ", ".join(location(df.loc[i]) for i in df.index[blank][:MAX_LISTED])
        more = f" and {int(blank.sum()) - MAX_LISTED} more" if blank.sum() > MAX_LISTED else ""
        problems.add("blank regions", f"column 'region' is blank in {int(blank.sum())} row(s): {rows}{more}; "
                     "give the region of each row.")
    mapping = {n: resolve_region(n) for n in names[~blank].unique()}
    unknown = [n for n, code in mapping.items() if code is None]
    if unknown:
        parts = []
        for n in unknown[:MAX_LISTED]:
            rows = names.index[names == n]
            rec = df.loc[rows[0]]
            where = f"{location(rec)}, year {rec['year']}" + (f"; {len(rows)} rows in all" if len(rows) > 1 else "")
            could = ambiguous_region(n)
            hint = suggest_region(n)
            if could:
                parts.append(f"{n!r} ({where}) -> could be {' or '.join(map(repr, could))}: give the code")
            else:
                parts.append(f"{n!r} ({where})" + (f" -> closest known: {hint!r}" if hint else ""))
        more = f"; ... and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
        problems.add("unknown regions", f"column 'region' has {len(unknown)} unknown region name(s): "
                     + "; ".join(parts) + more + f". Use a region code or an accepted spelling: {SPELLINGS_HINT}.")
    codes = names.map(lambda n: mapping.get(n) or n)
    return df.assign(region=codes.astype("string"))


def _parse_years(path: Path, df: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Years as int64; rows whose year is not a whole number are recorded and left out."""
    text = df["year"].astype("string").str.strip()
    years = pd.to_numeric(text, errors="coerce")
    bad = years.isna() | (years % 1 != 0) | (years.abs() > 99_999)
    if bad.any():
        rows = "; ".join(f"{location(df.loc[i])} (region={df.at[i, 'region']!r}): {df.at[i, 'year']!r}"
                         for i in df.index[bad][:MAX_LISTED])
        more = f"; ... and {int(bad.sum()) - MAX_LISTED} more" if bad.sum() > MAX_LISTED else ""
        problems.add("bad years", f"column 'year' has {int(bad.sum())} value(s) that are not whole years: {rows}{more}. "
                     "Write each year as a whole number such as 2020.")
    return df[~bad].assign(year=years[~bad].astype("int64"))


def _numbers(path: Path, sheets: list[Sheet], df: pd.DataFrame, decimal: str | None, thousands: str | None,
             problems: Problems) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ``value`` cells in the file's number format (:mod:`kzmig.features.data.number_format`).

    Returns the frame (``value`` cells rewritten as plain numbers; cells of an undecidable or
    foreign format blanked, and recorded) and how the file was read (``separator``,
    ``decimal``, ``thousands``, for the coverage table).
    """
    seps = {s.separator for s in sheets}
    sep = seps.pop() if len(seps) == 1 else None
    column = "value" if layout(sheets[0].frame.columns) == "long" else "the year columns"
    cells = df["value"]
    option = ("the decimal= or thousands= argument of read_user_table (on the command line "
              "--decimal or --thousands)")
    try:
        fmt = decide(cells, separator=sep, decimal=decimal, thousands=thousands)
    except AmbiguousNumbers as exc:
        ex = "; ".join(f"{location(df.loc[i])} (region={df.at[i, 'region']!r}, year={df.at[i, 'year']}): {v!r}"
                       for i, v in exc.examples)
        problems.add("ambiguous numbers", f"column {column!r} {exc.reason}, e.g. {ex}; say how the numbers are "
                     f"written with {option}: decimal=',' (--decimal ,) if '1,234' is 1.234, thousands=',' "
                     "(--thousands ,) if it is 1234; or write the file with a decimal point and no thousands "
                     "separator.")
        ambiguous = cells.map(lambda v: isinstance(v, str) and "," in v)
        fmt = NumberFormat(".", " ")
        cells = cells.where(~ambiguous, None)
    odd = foreign(cells, fmt)
    cells = normalise(cells, fmt)
    if odd.any():
        listed = "; ".join(f"{location(df.loc[i])} (region={df.at[i, 'region']!r}, year={df.at[i, 'year']}): "
                           f"{cells[i]!r}" for i in df.index[odd][:MAX_LISTED])
        more = f"; ... and {int(odd.sum()) - MAX_LISTED} more" if odd.sum() > MAX_LISTED else ""
        problems.add("decimal points in a decimal-comma file",
                     f"column {column!r} is read with a decimal comma, but {int(odd.sum())} cell(s) hold a point: "
                     f"{listed}{more}; in this convention '1.234' may mean 1234. Write them with a comma "
                     f"(4,7), or give {option} (decimal='.' / --decimal .) if the file uses decimal points.")
        cells = cells.where(~odd, None)
    read_as = {"separator": SEPARATOR_NAMES.get(sep, "mixed"), "decimal": "comma" if fmt.decimal == "," else "point",
               "thousands": THOUSANDS[fmt.thousands]}
    if (decimal, thousands) == (None, None) and fmt != NumberFormat():
        logger.info("%s: numbers read with a %s", path, fmt.describe())
    return df.assign(value=cells), read_as


def read_user_table(path: str | Path, *, allow_new: bool | Iterable[str] = False, decimal: str | None = None,
                    thousands: str | None = None) -> pd.DataFrame:
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
    decimal : {".", ","}, optional
        The decimal mark of the file's numbers; by default found from the cells (see
        "Numbers" in the module docstring). Give it when the file is ambiguous (``1,234``).
    thousands : {" ", ",", ".", ""}, optional
        The thousands separator (``" "`` stands for any space, the non-breaking ones
        U+00A0 and U+202F too; ``""`` for none); by default spaces, or commas in a file with
        decimal points.

    Returns
    -------
    DataFrame
        ``region`` (string, codes), ``year`` (int64), ``variable`` (string), ``value``
        (float64) and the file's other columns, one row per (region, year, variable).
        ``attrs["read_as"]`` says how the file was read: ``separator`` (``comma``,
        ``semicolon``, ``tab``, or ``none (workbook cells)`` for XLSX), ``decimal`` (``point``/``comma``) and
        ``thousands`` (``space``, ``comma``, ``point``, ``none``).

    Raises
    ------
    DataFileError
        Missing, empty, cut, non-UTF-8, damaged or unreadable file, a control character in a
        cell, or an unknown layout (see :mod:`kzmig.features.data.io_read`).
    PanelContractError
        Content errors (regions, years, variables, numbers, and those of
        :func:`kzmig.features.data.validate.check_long`), all kinds found in one pass, each naming
        the file, row (and sheet), column, region and year.
    ConfigError
        A ``decimal`` or ``thousands`` value kzmig cannot use.
    """
    check_options(decimal, thousands)
    path = Path(path)
    sheets = read_sheets(path)
    df = _combine(path, sheets)
    problems = Problems(str(path))
    df, read_as = _numbers(path, sheets, df, decimal, thousands, problems)
    df = _parse_years(path, _resolve_regions(path, df, problems), problems)
    df = df.assign(variable=df["variable"].astype("string").str.strip())
    check_variables(df, str(path), allow_new, problems=problems)
    check_derived(df, str(path), problems=problems)
    if "unit" in df:
        df["unit"] = df["unit"].astype("string")
    if not df.empty:
        df = check_long(df, str(path), problems=problems)
    problems.raise_if_any()
    df = validate_panel(df, source=str(path))
    df = df.drop(columns=[c for c in (ROW_COL, SHEET_COL) if c in df.columns])
    df.attrs["read_as"] = read_as
    return df
