"""Tables for people: region names beside the keys, workbooks with one sheet per table, and the
number policy of every CSV a run writes (:func:`write_csv`) and of the numbers its report shows
(:func:`format_number`).

Number policy: a value has as many decimals as its **unit** allows (:data:`UNIT_DECIMALS`:
persons whole, per-1,000 rates 2 decimals, percentages and thousands 1 ...). The unit of a
column is found from the variable registry (:mod:`kzmig.features.data.variables`), not per file:

1. a column named after a variable (``net_migration``, ``population``) has that variable's unit;
2. in a long table (a ``unit``, ``target``, ``variable`` or ``indicator`` column), the value
   columns (:data:`VALUE_COLUMNS`, and year columns such as ``2030``) have the unit of their
   row's variable;
3. anything else is a statistic without a unit (coefficients, standard errors, p-values, MASE,
   probabilities, interval levels): :data:`SIGNIFICANT` significant digits, the integer part
   never rounded, no exponent above 1e-6.

Model estimates of persons (forecasts, intervals, scenario effects) are whole persons like the
published counts: their uncertainty is hundreds of persons, so a fraction of a person says
nothing, and the rounding moves a value by at most 0.5. A total and the sum of its rounded parts
may therefore differ by a few persons. The CSVs keep ``.`` as decimal mark and no thousands
separator; the same table gives the same bytes.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from kzmig.core.atomic import atomic_path, atomic_write_csv
from kzmig.features.data.regions import load_regions
from kzmig.features.data.variables import unit_of

#: decimals of a value by its unit (the units of :mod:`kzmig.features.data.variables`, and the
#: units the planning tables print); a unit not listed is treated as a statistic (SIGNIFICANT)
UNIT_DECIMALS: dict[str, int] = {
    # counts: whole, as published
    "persons": 0, "permits": 0, "families": 0, "crossings": 0, "person-crossings": 0, "units": 0,
    "m2 of total floor area": 0, "km2": 0,
    # published with one decimal in thousands (BNS labour force survey, emissions, wages in thousands)
    "thousand persons": 1, "thousand tonnes": 1, "thousand KZT": 1, "thousand KZT per month": 1,
    # money levels in tenge: whole tenge
    "KZT per month": 0, "KZT per m2": 0, "KZT per m2 per month": 0,
    # percentages and indices: one decimal, as BNS publishes them
    "%": 1, "% of previous year": 1, "% of population aged 10+": 1, "percent of labour force": 1,
    "percent of kandas arrived since 1 Jan": 1,
    "years": 1,
    # rates per population, computed by kzmig from the counts: two decimals
    "per 1000 average population": 2, "per 10000 average population": 2, "per 1,000 population": 2,
}
#: significant digits of a statistic (a number without a unit) in a CSV, and shown to people
SIGNIFICANT = 6
SIGNIFICANT_SHOWN = 3
#: text of a missing value shown to people
MISSING_SHOWN = "–"
#: columns that hold a value of their row's variable in a long table
VALUE_COLUMNS = frozenset({
    "value", "point", "lower", "upper", "mean", "median", "sd", "actual", "observed", "predicted", "prediction",
    "forecast", "baseline", "scenario_value", "change", "effect", "effect_lower", "effect_upper", "latest",
    "required", "target_value", "mae", "rmse", "bias", "mean_error", "error", "abs_error", "history",
})
#: columns naming the variable of their row, most specific first (``unit`` is the unit itself)
ROW_VARIABLE_COLUMNS = ("target", "variable", "indicator")
_YEAR = re.compile(r"^(19|20)\d\d$")


def unit_decimals(unit: str | None) -> int | None:
    """Decimals of a value in ``unit`` (:data:`UNIT_DECIMALS`); ``None``: a statistic (significant digits)."""
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return None
    return UNIT_DECIMALS.get(str(unit))


def variable_decimals(name: str) -> int | None:
    """Decimals of a variable of the registry (stored, derived or rate); ``None`` for an unknown name."""
    try:
        return unit_decimals(unit_of(str(name)))
    except KeyError:
        return None


def _is_value_column(col) -> bool:
    return (isinstance(col, (int, np.integer)) and 1900 <= int(col) <= 2099) or str(col) in VALUE_COLUMNS \
        or bool(_YEAR.match(str(col)))


def column_decimals(df: pd.DataFrame) -> dict:
    """Decimals of each float column of ``df``: an int, a per-row Series (long tables), or ``None`` (statistic).

    See the module notes for the rules. Columns that are not float are left out.
    """
    out: dict = {}
    row_unit = None
    if "unit" in df.columns:
        row_unit = df["unit"].map(unit_decimals)
    for col in ROW_VARIABLE_COLUMNS:
        if col in df.columns:
            by_name = df[col].map(lambda v: variable_decimals(v) if isinstance(v, str) else None)
            row_unit = by_name if row_unit is None else row_unit.where(row_unit.notna(), by_name)
            break
    for col in df.columns:
        if not pd.api.types.is_float_dtype(df[col].dtype):
            continue
        own = variable_decimals(col) if isinstance(col, str) else None
        if own is not None:
            out[col] = own
        elif row_unit is not None and _is_value_column(col):
            out[col] = row_unit
        else:
            out[col] = None
    return out


def format_number(value, decimals: int | None, *, missing: str = "", thousands: bool = False,
                  significant: int = SIGNIFICANT) -> str:
    """Text of one number: ``decimals`` fixed decimals, or ``None`` for ``significant`` significant digits.

    NaN gives ``missing``; ``-0`` is written ``0``; ``thousands`` adds ``,`` separators (for
    people: the report), never in a CSV. A statistic keeps its whole integer part, drops
    trailing zeros, and uses an exponent only below 1e-6 in magnitude.
    """
    if value is None or value is pd.NA:
        return missing
    x = float(value)
    if math.isnan(x):
        return missing
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    sep = "," if thousands else ""
    if decimals is not None and not (isinstance(decimals, float) and math.isnan(decimals)):
        text = f"{x:{sep}.{int(decimals)}f}"
    elif x == 0:
        text = "0"
    elif abs(x) < 1e-6:
        mant, exp = f"{x:.{significant - 1}e}".split("e")
        text = (mant.rstrip("0").rstrip(".") if "." in mant else mant) + "e" + exp
    else:
        dec = max(0, significant - 1 - math.floor(math.log10(abs(x))))
        text = f"{x:{sep}.{dec}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # -0, -0.00
    return text


def excel_format(decimals: int | None) -> str | None:
    """Excel number format of a value with ``decimals`` (``#,##0``, ``#,##0.0`` ...); ``None`` for a statistic."""
    if decimals is None or (isinstance(decimals, float) and math.isnan(decimals)):
        return None
    return "#,##0" + ("." + "0" * int(decimals) if int(decimals) > 0 else "")


def row_digits(dec, n: int) -> list:
    """The decimals of each of ``n`` rows from a :func:`column_decimals` entry (int, None or per-row Series)."""
    if isinstance(dec, pd.Series):
        return [None if d is None or (isinstance(d, float) and math.isnan(d)) else int(d) for d in dec.to_list()]
    return [dec] * n


def map_text(frame: pd.DataFrame, columns, fn) -> pd.DataFrame:
    """A copy of ``frame`` with ``fn`` applied to the text cells of ``columns`` (those it has); other cells,
    missing values included, as they are."""
    out = frame.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(lambda v: fn(v) if isinstance(v, str) else v)
    return out


def table_cells(df: pd.DataFrame, formats: Mapping | None = None) -> list[list[tuple[str, bool]]]:
    """The cells of a table shown to people: ``(text, numeric)`` per cell, row by row.

    Floats follow the number policy (:func:`column_decimals`) with thousands separators:
    persons ``9,653`` (never ``9,653.00``), rates with their decimals, statistics with
    :data:`SIGNIFICANT_SHOWN` significant digits; ``formats`` (column -> ``str.format`` pattern
    or function of the value) overrides a column; integers and text as they are; missing
    values ``–``. ``numeric`` says the cell is a number (right-aligned).
    """
    formats = formats or {}
    df = df.reset_index(drop=True)
    decimals = column_decimals(df)
    digits = {c: row_digits(d, len(df)) for c, d in decimals.items()}
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cells = []
        for col, value in zip(df.columns, row):
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                cells.append((MISSING_SHOWN, False))
                continue
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            fmt = formats.get(col)
            if fmt is not None:
                cells.append((fmt(value) if callable(fmt) else fmt.format(value), numeric))
            elif isinstance(value, (float, np.floating)) and col in digits:
                cells.append((format_number(value, digits[col][i], thousands=True, significant=SIGNIFICANT_SHOWN),
                              True))
            elif isinstance(value, (float, np.floating)):  # a float in a column of mixed types
                cells.append((format_number(value, None, thousands=True, significant=SIGNIFICANT_SHOWN), True))
            else:
                cells.append((str(value), numeric))
        rows.append(cells)
    return rows


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every float column written as text by the number policy (module notes); NaN -> ``""``."""
    decimals = column_decimals(df)
    if not decimals:
        return df
    out = df.copy()
    for col, dec in decimals.items():
        values = df[col].to_numpy(dtype="float64", na_value=np.nan)
        texts = [format_number(v, d) for v, d in zip(values, row_digits(dec, len(df)))]
        out[col] = pd.Series(texts, index=df.index, dtype="object")
    return out


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write a table as CSV by the number policy (:func:`csv_frame`), atomically, UTF-8, ``\\n``, no index."""
    return atomic_write_csv(csv_frame(df), path, **kwargs)


def with_names(df: pd.DataFrame) -> pd.DataFrame:
    """Insert ``region_name_ru`` and ``region_name_en`` right after ``region`` (English key kept)."""
    if "region" not in df.columns:
        return df
    reg = load_regions().set_index("region")
    out = df.copy()
    pos = list(out.columns).index("region") + 1
    out.insert(pos, "region_name_ru", out["region"].map(reg["name_ru"]).astype("string"))
    out.insert(pos + 1, "region_name_en", out["region"].map(reg["name_en"]).astype("string"))
    return out


def _number_formats(book, ws, frame: pd.DataFrame, made: dict) -> None:
    """Give the float cells of a sheet written by ``to_excel`` the number format of their unit
    (:func:`column_decimals`, :func:`excel_format`): persons ``#,##0``, rates ``#,##0.00``."""
    def fmt(code: str):
        if code not in made:
            made[code] = book.add_format({"num_format": code})
        return made[code]

    for col, dec in column_decimals(frame).items():
        c = list(frame.columns).index(col)
        digits = row_digits(dec, len(frame))
        values = frame[col].to_numpy(dtype="float64", na_value=np.nan)
        for i, (v, d) in enumerate(zip(values, digits)):
            code = excel_format(d)
            if code is not None and np.isfinite(v):
                ws.write_number(i + 1, c, float(v), fmt(code))


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per table (name cut to Excel's 31 characters), Russian and English names beside keys;
    numbers keep every digit and show the decimals of their unit (:func:`excel_format`)."""
    made: dict = {}
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
            for name, df in tables.items():
                sheet = name[:31]
                frame = with_names(df)
                frame.to_excel(xl, sheet_name=sheet, index=False)
                ws = xl.sheets[sheet]
                ws.freeze_panes(1, 0)
                _number_formats(xl.book, ws, frame, made)
                for i, col in enumerate(frame.columns):
                    longest = max((len(str(v)) for v in frame[col]), default=0)
                    ws.set_column(i, i, min(60, max(10, len(str(col)) + 2, longest + 1)))
    return Path(path)


def write_regression_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Side-by-side regression tables (:func:`kzmig.models.panel.tables.side_by_side`), one sheet each, atomically.

    Sheet names are cut to Excel's 31 characters; standard-error rows lose their label.
    """
    def write(tmp: str) -> None:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as xw:
            for sheet, tab in tables.items():
                out = tab.rename(index=lambda s: "" if s.endswith(" (se)") else s)
                out.to_excel(xw, sheet_name=str(sheet)[:31], index_label="term")
                xw.sheets[str(sheet)[:31]].set_column(0, len(tab.columns), 18)
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)
