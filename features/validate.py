"""Content checks of a long region-year-variable table, one class of error at a time.

Each check returns the offending rows; :func:`check_long` raises on the first class that has
any, listing every offending row of that class (shortened when long) with file row, region,
year and variable. The column schema itself (names, dtypes, year range) is a pandera schema.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from kzmig.core.errors import PanelContractError
from kzmig.features.variables import VARIABLES

MAX_LISTED = 8
SCALE_RATIO = 300.0  # a value this many times off both neighbours is a scale slip, not data
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+(,\d+)?$|^[+-]?\d+,\d+$")

SCHEMA = pa.DataFrameSchema(
    {
        "region": pa.Column(str, nullable=False),
        "year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "variable": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$"), nullable=False),
        "value": pa.Column(float, nullable=True),
        "unit": pa.Column(str, nullable=True, required=False),
    },
    strict=False,
    coerce=False,
)


def _rows(df: pd.DataFrame, mask: pd.Series, extra: Callable[[pd.Series], str] | None = None) -> str:
    bad = df[mask]
    items = []
    for idx, r in bad.head(MAX_LISTED).iterrows():
        txt = f"row {idx}: (region={r['region']!r}, year={r['year']}, variable={r['variable']!r}"
        txt += f", value={r['value']!r})" if extra is None else f", {extra(r)})"
        items.append(txt)
    more = f"; ... and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return "; ".join(items) + more


def non_numeric(df: pd.DataFrame) -> pd.Series:
    """Cells of ``value`` that are not numbers (blank cells are missing, not errors)."""
    raw = df["value"]
    if pd.api.types.is_numeric_dtype(raw):
        return pd.Series(False, index=df.index)
    s = raw.astype("string").str.strip()
    num = pd.to_numeric(s, errors="coerce")
    return num.isna() & s.notna() & (s != "")


def _hint(value: str) -> str:
    if _GROUPED_NUMBER.match(str(value).strip()):
        return (f"{value!r} looks like a number written with a space as thousands separator and/or a "
                "decimal comma; remove the spaces and use a decimal point (e.g. '1 234,5' -> 1234.5), "
                "or in pandas read_csv(..., thousands=' ', decimal=',')")
    return f"{value!r} is not a number"


def check_long(df: pd.DataFrame, source: str = "table") -> pd.DataFrame:
    """Validate a long table and return it with ``value`` as float64 and ``year`` as int64.

    Raises
    ------
    PanelContractError
        On the first class of error found, in this order: non-numeric values, schema (types,
        year range), duplicate keys, mixed units for one variable, negative counts,
        values outside a plausible range, values ~1000x off their neighbours.
    """
    absent = [c for c in ("region", "year", "variable", "value") if c not in df.columns]
    if absent:
        raise PanelContractError(f"{source}: missing column(s) {absent}; found columns {list(df.columns)}.")
    bad = non_numeric(df)
    if bad.any():
        raise PanelContractError(
            f"{source}: column 'value' has {int(bad.sum())} non-numeric cell(s): "
            + _rows(df, bad, lambda r: _hint(r["value"]))
        )
    df = df.assign(value=pd.to_numeric(df["value"], errors="raise").astype("float64"))
    try:
        SCHEMA.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        first = fc.iloc[0]
        rows = [int(i) for i in fc["index"].dropna().head(MAX_LISTED)]
        col = first["column"]
        where = f"; e.g. {_rows(df, df.index.isin(rows))}" if rows else ""
        raise PanelContractError(
            f"{source}: column {col!r} fails {first['check']!r} in {len(fc)} row(s){where}. "
            "Years must be whole numbers in 1990-2100; variables snake_case."
        ) from None
    dup = df.duplicated(["region", "year", "variable"], keep=False)
    if dup.any():
        raise PanelContractError(
            f"{source}: {int(dup.sum())} rows repeat a (region, year, variable) key; each must be unique: "
            + _rows(df, dup)
        )
    if "unit" in df:
        units = df.groupby("variable")["unit"].nunique(dropna=True)
        mixed = units[units > 1].index.tolist()
        if mixed:
            v = mixed[0]
            seen = sorted(df.loc[df["variable"] == v, "unit"].dropna().unique().tolist())
            mask = (df["variable"] == v) & (df["unit"] != df.loc[df["variable"] == v, "unit"].mode().iloc[0])
            raise PanelContractError(
                f"{source}: variable {v!r} mixes units {seen}; convert to one unit first. Rows in the "
                f"minority unit: " + _rows(df, mask, lambda r: f"unit={r['unit']!r}")
            )
    kinds = df["variable"].map(lambda v: VARIABLES[v].kind if v in VARIABLES else None)
    neg = (kinds == "count") & (df["value"] < 0)
    if neg.any():
        raise PanelContractError(f"{source}: {int(neg.sum())} negative count(s): " + _rows(df, neg))
    lo = df["variable"].map(lambda v: VARIABLES[v].lo if v in VARIABLES else -np.inf)
    hi = df["variable"].map(lambda v: VARIABLES[v].hi if v in VARIABLES else np.inf)
    out = (df["value"] < lo) | (df["value"] > hi)
    if out.any():
        raise PanelContractError(
            f"{source}: {int(out.sum())} value(s) outside the plausible range of their variable: "
            + _rows(df, out, lambda r: f"value={r['value']!r} not in "
                    f"[{VARIABLES[r['variable']].lo:g}, {VARIABLES[r['variable']].hi:g}]")
        )
    slip = scale_slips(df)
    if slip.any():
        raise PanelContractError(
            f"{source}: {int(slip.sum())} value(s) are ~1000x off both neighbouring years of their "
            "series (the BNS export scale defect: extra groups of zeros, see SOURCES.md); check and "
            "divide by the right power of 1000: " + _rows(df, slip)
        )
    return df


def scale_slips(df: pd.DataFrame) -> pd.Series:
    """True where |value| is >= 300x (or <= 1/300) both the previous and next year's value.

    A neighbour equal to 0 gives no ratio and counts as absent: a small count after a zero
    (1 emigrant to Tajikistan after 0) is not a scale slip.
    """
    d = df[["region", "variable", "year", "value"]].copy()
    d = d.sort_values(["region", "variable", "year"], kind="stable")
    g = d.groupby(["region", "variable"], sort=False)["value"]
    prev, nxt = g.shift(1).abs(), g.shift(-1).abs()
    prev, nxt = prev.where(prev > 0), nxt.where(nxt > 0)
    v = d["value"].abs()
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = v / prev, v / nxt
    high = (r1 >= SCALE_RATIO) & (r2 >= SCALE_RATIO)
    low = (r1 <= 1 / SCALE_RATIO) & (r2 <= 1 / SCALE_RATIO) & (v > 0)
    # series ends: only one neighbour
    end_high = (prev.isna() & (r2 >= SCALE_RATIO)) | (nxt.isna() & (r1 >= SCALE_RATIO))
    flag = (high | low | end_high).fillna(False)
    return flag.reindex(df.index).astype(bool)
