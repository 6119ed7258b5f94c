"""The data contract: a region-year panel, checked once at every entry point.

Two shapes share one gate, :func:`validate_panel`:

* **wide** (what features and models pass around): one row per ``(region, year)``,
  ``region`` string, ``year`` int64, value columns float64;
* **long** (what is stored on disk and what users may supply): one row per
  ``(region, year, variable)`` with ``value`` and ``unit`` (and optionally ``source``, ``flag``).

The shape is recognised by the presence of ``variable`` and ``value`` columns.
"""
from __future__ import annotations

import logging
import reprlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.core.options import check_option

logger = logging.getLogger(__name__)

KEYS = ("region", "year")
MISSING_POLICIES = ("raise", "drop", "keep")
YEAR_RANGE = (1990, 2100)

_short = reprlib.Repr()
_short.maxlist = 5
_short.maxother = 80


def is_long(df: pd.DataFrame) -> bool:
    """True when ``df`` has the long ``variable``/``value`` layout."""
    return {"variable", "value"}.issubset(df.columns)


def _check_keys(df: pd.DataFrame, keys: tuple[str, ...], source: str) -> None:
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise PanelContractError(
            f"{source}: missing key column(s) {missing}; found columns {list(df.columns)}."
        )
    if not (pd.api.types.is_string_dtype(df["region"]) or df["region"].dtype == object):
        raise PanelContractError(
            f"{source}: column 'region' must hold strings, found dtype {df['region'].dtype}."
        )
    if not pd.api.types.is_integer_dtype(df["year"]):
        raise PanelContractError(
            f"{source}: column 'year' must be int64, found dtype {df['year'].dtype}; "
            "convert with df['year'].astype('int64') after checking for missing years."
        )
    lo, hi = YEAR_RANGE
    bad = df.index[(df["year"] < lo) | (df["year"] > hi)]
    if len(bad):
        r = df.loc[bad[0]]
        raise PanelContractError(
            f"{source}: {len(bad)} row(s) have a year outside {lo}-{hi}, e.g. "
            f"(region={r['region']!r}, year={int(r['year'])}) at row {_short.repr(list(bad))}."
        )
    dup = df.duplicated(list(keys), keep=False)
    if dup.any():
        first = df.loc[dup].iloc[0]
        n = int((df[list(keys)] == first[list(keys)]).all(axis=1).sum())
        key_txt = ", ".join(
            f"{k}={first[k]!r}" if k != "year" else f"year={int(first[k])}" for k in keys
        )
        raise PanelContractError(
            f"{source}: duplicate key ({key_txt}) appears {n} times "
            f"({int(dup.sum())} duplicated rows in all, rows {_short.repr(list(df.index[dup]))}); "
            f"each ({', '.join(keys)}) must be unique."
        )


def _check_regions(df: pd.DataFrame, regions: Iterable[str] | None, source: str) -> None:
    if regions is None:
        from kzmig.features.data.regions import region_codes

        regions = region_codes()
    known = set(regions)
    unknown = sorted(set(df["region"]) - known)
    if unknown:
        from kzmig.features.data.regions import suggest_region

        first_row = int(df.index[df["region"] == unknown[0]][0])
        hints = "; ".join(
            f"{u!r} -> did you mean {suggest_region(u)!r}?" for u in unknown[:5] if suggest_region(u)
        )
        raise PanelContractError(
            f"{source}: {len(unknown)} region code(s) are not known region codes: "
            f"{_short.repr(unknown)} (first at row {first_row}). {hints} "
            "(`kzmig data regions` lists the codes.)"
        )


def _check_gaps(df: pd.DataFrame, source: str) -> None:
    """Raise for the first region (in sorted order) whose years skip one inside its span."""
    codes, names = pd.factorize(df["region"], sort=True)
    years = df["year"].to_numpy()
    order = np.lexsort((years, codes))  # by region, then year
    c, y = codes[order], years[order]
    jumps = np.flatnonzero((c[1:] == c[:-1]) & (np.diff(y) > 1))
    if len(jumps):
        region = names[c[jumps[0]]]
        ys = np.unique(years[codes == c[jumps[0]]])
        holes = sorted(set(range(ys[0], ys[-1] + 1)) - set(ys.tolist()))
        raise PanelContractError(
            f"{source}: region={region!r} has gaps inside its span {ys[0]}-{ys[-1]}: "
            f"years {_short.repr(holes)} are missing; pass allow_gaps=True if intended."
        )


def _check_missing(
    df: pd.DataFrame, columns: Sequence[str], missing: str, source: str
) -> pd.DataFrame:
    for col in columns:
        na = df[col].isna()
        if not na.any():
            continue
        first = df.loc[na].iloc[0]
        regions = sorted(df.loc[na, "region"].unique())
        msg = (
            f"{source}: column {col!r} has {int(na.sum())} missing values, e.g. "
            f"(region={first['region']!r}, year={int(first['year'])}); regions {_short.repr(regions)}"
        )
        if missing == "raise":
            raise PanelContractError(msg + '; impute in features/ or pass missing="drop".')
        if missing == "drop":
            logger.warning("%s; dropping those %d rows.", msg, int(na.sum()))
            df = df.loc[~na]
    return df


def validate_panel(
    df: pd.DataFrame,
    *,
    required: Sequence[str] = (),
    missing: str = "raise",
    source: str = "panel",
    regions: Iterable[str] | None = None,
    allow_gaps: bool = False,
) -> pd.DataFrame:
    """Check a region-year panel against the contract and return it unchanged (or filtered).

    Parameters
    ----------
    df : DataFrame
        Wide panel (``region``, ``year``, value columns) or long table (``region``, ``year``,
        ``variable``, ``value``, ``unit`` ...). ``region`` must hold codes of
        ``data/regions.csv``; ``year`` must be int64.
    required : sequence of str
        Value columns (wide) or variables (long) that must be present. Only these are
        checked for missing values.
    missing : {"raise", "drop", "keep"}, default "raise"
        Policy for missing values in ``required``: raise naming region and year, drop the
        rows with a logged count, or keep them.
    source : str
        Name of the file or frame, used in every message.
    regions : iterable of str, optional
        Allowed region codes; defaults to the registry in ``data/regions.csv``.
    allow_gaps : bool, default False
        Whether a region may skip years inside its span (wide panels only).

    Returns
    -------
    DataFrame
        ``df`` itself, or a copy without the dropped rows when ``missing="drop"``.

    Raises
    ------
    PanelContractError
        On missing key columns, wrong dtypes, duplicate keys, unknown regions, years outside
        1990-2100, gaps, missing required columns or values. The message names the file,
        column, region and year.

    Notes
    -----
    Long tables first go through :func:`kzmig.features.data.validate.check_long` (pandera schema,
    non-numeric cells with a hint for ``1 234,5``-style numbers, duplicate keys, mixed units,
    negative counts, implausible values, 1000x scale slips); ``value`` comes back as float64.
    """
    check_option("missing", missing, MISSING_POLICIES, owner="validate_panel")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}.")
    if df.empty:
        raise PanelContractError(f"{source}: the panel has no rows.")
    long = is_long(df)
    if long:  # keys, dtypes, year range and duplicates are part of the long checks
        from kzmig.features.data.validate import check_long

        df = check_long(df, source)
    else:
        _check_keys(df, KEYS, source)
    _check_regions(df, regions, source)
    if long:
        present = set(df["variable"].unique())
        absent = [v for v in required if v not in present]
        if absent:
            raise PanelContractError(
                f"{source}: required variable(s) {absent} are absent; "
                f"found {_short.repr(sorted(present))}."
            )
        if required:
            sub = df.loc[df["variable"].isin(required)]
            nas = sub.loc[sub["value"].isna()]
            if len(nas) and missing == "raise":
                r = nas.iloc[0]
                raise PanelContractError(
                    f"{source}: variable {r['variable']!r} has {len(nas)} missing values, e.g. "
                    f"(region={r['region']!r}, year={int(r['year'])}); "
                    'impute in features/ or pass missing="drop".'
                )
            if len(nas) and missing == "drop":
                logger.warning("%s: dropping %d rows with missing values.", source, len(nas))
                df = df.drop(index=nas.index)
        return df
    absent = [c for c in required if c not in df.columns]
    if absent:
        raise PanelContractError(
            f"{source}: required column(s) {absent} are absent; found {list(df.columns)}."
        )
    for col in required:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise PanelContractError(
                f"{source}: column {col!r} must be numeric (float64), found dtype {df[col].dtype}."
            )
    if not allow_gaps:
        _check_gaps(df, source)
    return _check_missing(df, list(required), missing, source)
