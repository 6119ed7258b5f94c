"""The cells of a user data file, each data row with its file row (and XLSX sheet).

This is the first half of :func:`kzmig.features.data.io.read_user_table`: it turns a file into one
frame of raw cells per sheet and rejects what cannot be read honestly. Reading rules:

Text files (``.csv``, ``.txt``, ``.tsv``, ``.tab``)
    UTF-8, with or without BOM; ``\\r\\n`` and ``\\r`` line ends are read as ``\\n``.
    **Delimiter**: the first of tab, comma, semicolon (tab first for ``.tsv``/``.tab``, comma
    first otherwise) under which the header names a known layout. So BNS exports, which are
    tab-separated with a BOM despite their ``.csv`` name, and the ``;``-separated CSV of a
    European or Russian Excel are read as they are; the separator found is kept
    (:attr:`Sheet.separator`), since it tells how the numbers are written: decimal commas and
    space thousands separators are read by :func:`kzmig.features.data.io.read_user_table` (rules in
    :mod:`kzmig.features.data.number_format`). When no delimiter gives a known layout, the one that
    splits the header into most columns is used, so that the layout error lists the real
    column names.
    **Cut files**: rows with another number of fields than the header are rejected; so is a
    file whose last row does not end with a newline, since then nothing tells ``123`` from
    a cut ``1234567``. Every program that writes CSV (Excel, LibreOffice, pandas, R) ends the
    last row with a newline; a hand-edited file without one is rejected too, and the message
    says to add it. A file cut exactly after a newline (whole rows lost) cannot be detected.
    Blank rows, and rows of empty fields only, are skipped.
XLSX (``.xlsx``, ``.xlsm``)
    **Every** worksheet is read, hidden ones too; a sheet without any value is skipped. Each
    sheet's first non-blank row is its header; row numbers are Excel's own. Formulas give
    their cached value (the one last computed by Excel).
Both
    A cell holding a NUL byte or another control character (except tab and line breaks) is
    rejected naming its row and column: the file is damaged, binary or UTF-16. Header names
    are stripped; a name used twice, or values under a column without a name, are rejected.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataFileError
from kzmig.features.data.validate import ROW_COL, SHEET_COL

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t"}
XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = ("\t", ",", ";")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
LONG_REQUIRED = ("region", "year", "variable", "value")
YEAR_COL = re.compile(r"^\s*(\d{4})(\.0)?\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Sheet:
    """The raw cells of one sheet (``name`` is None for a text file).

    ``frame`` has the header's column names plus ``_row`` (file row, header = its own row)
    and, for XLSX, ``_sheet``. Text cells are ``str``; XLSX cells keep their Excel type.
    """

    name: str | None
    frame: pd.DataFrame
    separator: str | None = None  # the field separator of a text file (None for XLSX)


def layout(columns) -> str | None:
    """``"long"``, ``"wide"`` (by year) or None for the column names of a sheet."""
    cols = {str(c) for c in columns}
    if set(LONG_REQUIRED) <= cols:
        return "long"
    if {"region", "variable"} <= cols and any(YEAR_COL.match(c) for c in cols):
        return "wide"
    return None


def read_sheets(path: Path) -> list[Sheet]:
    """Read the cells of every sheet with data of a CSV/TSV/XLSX file.

    Raises
    ------
    DataFileError
        Missing, unreadable, empty, header-only, non-UTF-8, cut or malformed file, a control
        character in a cell, or a header with duplicate or missing names (see module docstring).
    """
    if not path.exists():
        raise DataFileError(f"{path}: no such file.")
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder; give a .csv, .tsv or .xlsx file.")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path)
    if suffix in TEXT_SUFFIXES:
        frame, delim = _read_text(path, TEXT_SUFFIXES[suffix])
        return [Sheet(None, frame, delim)]
    old = " (save an old .xls workbook as .xlsx first)" if suffix == ".xls" else ""
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; give a .csv, .tsv or .xlsx file{old}.")


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror}).") from None
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
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _delimiter(path: Path, text: str, default: str) -> str:
    header = next((line for line in text.split("\n") if line.strip()), "")
    order = (default, *[d for d in DELIMITERS if d != default])
    split = {d: next(csv.reader([header], delimiter=d), []) for d in order}
    chosen = next((d for d in order if layout(c.strip() for c in split[d])), None)
    if chosen is None:
        chosen = max(order, key=lambda d: len(split[d]))  # first in order on ties
    if chosen != default:
        logger.info("%s: read as %s-separated (found from the header)", path, DELIMITER_NAMES[chosen])
    return chosen


def _records(path: Path, text: str, delim: str) -> list[tuple[int, list[str]]]:
    """Non-blank records with the file line each starts on."""
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    out, prev = [], 0
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                out.append((prev + 1, fields))
            prev = reader.line_num
    except csv.Error as exc:
        raise DataFileError(
            f"{path}: the row starting at row {prev + 1} cannot be read as {DELIMITER_NAMES[delim]}-separated "
            f"text ({exc}); check its quoting: an unclosed '\"' swallows the rest of the file."
        ) from None
    return out


def _cell_name(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def _check_control(path: Path, records: list[tuple[int, list]], sheet: str | None, share: float) -> None:
    names = [_cell_name(v) for v in records[0][1]]
    for line, cells in records:
        for j, value in enumerate(cells):
            m = _CONTROL.search(value) if isinstance(value, str) else None
            if m is None:
                continue
            col = names[j] if j < len(names) and names[j] else f"#{j + 1}"
            what = "a NUL byte (\\x00)" if m.group() == "\x00" else f"the control character {m.group()!r}"
            where = (f"sheet {sheet!r} " if sheet else "") + f"row {line}" + (" (the header)" if line == records[0][0] else "")
            utf16 = " The file looks like UTF-16 text: re-save it as UTF-8." if share > 0.2 else ""
            raise DataFileError(
                f"{path}: {where}, column {col!r}: the cell {value!r} holds {what}, which no region, year, "
                "variable or number contains: the file is damaged or not plain text. Delete the character "
                f"(or re-export the file as UTF-8) and read it again.{utf16}"
            )


def _read_text(path: Path, default: str) -> tuple[pd.DataFrame, str]:
    text = _decode(path)
    delim = _delimiter(path, text, default)
    records = _records(path, text, delim)
    if not records:
        raise DataFileError(f"{path}: the file has no header and no data (only blank rows).")
    if _CONTROL.search(text):
        _check_control(path, records, None, text.count("\x00") / len(text))
    if len(records) < 2:
        raise DataFileError(f"{path}: the file has a header but no data rows.")
    (_, header), rows = records[0], records[1:]
    width = len(header)
    odd = [line for line, fields in rows if len(fields) != width]
    if odd:
        cut = odd == [rows[-1][0]] and not text.endswith("\n")
        kind = "truncated (the last row is incomplete)" if cut else "malformed"
        line, fields = next((n, f) for n, f in rows if n == odd[0])
        raise DataFileError(
            f"{path}: {kind}: row(s) {odd[:8]} have a different number of fields than the header "
            f"({width}; row {line} has {len(fields)}); check the end of the file and quoting."
        )
    last = text[text.rfind("\n") + 1:]
    if last.strip():
        raise DataFileError(
            f"{path}: the file does not end with a newline, so its last row (row {text.count(chr(10)) + 1}: "
            f"{last[:80]!r}) may be cut off, e.g. in the middle of a number ('123' for '1234567'), while "
            "every other row ends with one. If the file is complete, add a newline after the last row "
            "(in a text editor: Enter at the end of the last line, then save) and read it again."
        )
    return _frame(path, header, rows, None), delim


def _frame(path: Path, header: list, rows: list[tuple[int, list]], sheet: str | None) -> pd.DataFrame:
    names = [_cell_name(c) for c in header]
    where = f"sheet {sheet!r} " if sheet else ""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name and name in seen:
            raise DataFileError(
                f"{path}: {where}the header names column {name!r} twice (columns {seen[name] + 1} and {j + 1}); "
                "each column must be named once: rename or delete one."
            )
        seen[name] = j
    width = len(names)
    cells = [list(r) + [None] * (width - len(r)) for _, r in rows]
    for (line, _), full in zip(rows, cells):
        stray = [j for j, v in enumerate(full) if (j >= width or not names[j]) and _cell_name(v)]
        if stray:
            j = stray[0]
            raise DataFileError(
                f"{path}: {where}row {line}: column {j + 1} holds {full[j]!r} but has no name in the header; "
                "name the column, or delete its values."
            )
    keep = [j for j, name in enumerate(names) if name]
    df = pd.DataFrame([[r[j] for j in keep] for r in cells], columns=[names[j] for j in keep], dtype=object)
    df[ROW_COL] = pd.array([line for line, _ in rows], dtype="int64")
    if sheet is not None:
        df[SHEET_COL] = sheet
    return df


def _read_xlsx(path: Path) -> list[Sheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for damaged files
        raise DataFileError(f"{path}: cannot be read as XLSX ({type(exc).__name__}: {exc}).") from None
    found = []
    try:
        for ws in wb.worksheets:
            rows = [(i, list(r)) for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
                    if any(_cell_name(v) for v in r)]
            if rows:
                found.append((ws.title, rows))
    except Exception as exc:  # a damaged sheet is only parsed here
        raise DataFileError(f"{path}: cannot be read as XLSX ({type(exc).__name__}: {exc}).") from None
    finally:
        wb.close()
    if not found:
        raise DataFileError(f"{path}: the file is empty (no sheet holds any value).")
    _check_formulas(path, found)
    sheets = []
    for title, rows in found:
        _check_control(path, rows, title, 0.0)
        if len(rows) < 2:
            more = "; fill it, or delete the sheet" if len(found) > 1 else ""
            raise DataFileError(f"{path}: sheet {title!r} has a header but no data rows{more}.")
        sheets.append(Sheet(title, _frame(path, rows[0][1], rows[1:], title)))
    if len(sheets) > 1:
        logger.info("%s: reading %d sheets: %s", path, len(sheets), ", ".join(s.name for s in sheets))
    return sheets


def _check_formulas(path: Path, found: list[tuple[str, list[tuple[int, list]]]]) -> None:
    """Reject formula cells without a cached value (a workbook never computed by a spreadsheet).

    Such a cell reads as blank, so its value would silently be missing.
    """
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for title, rows in found:
            values = dict(rows)
            header = [_cell_name(v) for v in rows[0][1]]
            for i, formulas in enumerate(wb[title].iter_rows(min_row=1, values_only=True), start=1):
                for j, f in enumerate(formulas):
                    cached = values.get(i, [])
                    if isinstance(f, str) and f.startswith("=") and (j >= len(cached) or cached[j] is None):
                        col = header[j] if j < len(header) and header[j] else f"#{j + 1}"
                        raise DataFileError(
                            f"{path}: sheet {title!r} row {i}, column {col!r}: the formula {f!r} has no computed "
                            "value (the workbook was written by a program that does not calculate); open and "
                            "save it in Excel or LibreOffice, or paste the values, and read it again."
                        )
    finally:
        wb.close()
