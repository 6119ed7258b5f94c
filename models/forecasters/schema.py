"""The two tables of the forecasting engine and their checks.

* **series input** (what every forecaster's ``fit`` takes): a long frame with one row per
  ``(region, year)``, the target in ``y`` (float64) and optional exogenous value columns, plus
  an optional boolean ``is_break`` column marking years that are not migration (census
  re-basing, territory transfers). ``region`` may be any string key (a region code, a
  specialty ...): the engine treats every keyed annual series the same.
* **forecast table** (what every forecaster's ``predict`` returns, see ``STYLE.md`` section 4):
  ``model, region, origin_year, year, point, lower, upper, level`` with the key
  ``(model, region, origin_year, year, level)``; backtests add ``actual``.
"""
from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.data.panel import validate_panel


FORECAST_COLUMNS = ("model", "region", "origin_year", "year", "point", "lower", "upper", "level")
FORECAST_KEY = ("model", "region", "origin_year", "year", "level")
BREAK_COLUMN = "is_break"

_short = reprlib.Repr()
_short.maxlist = 6


def check_horizon(h: object) -> int:
    """Return ``h`` as an int, raising ``ValueError`` unless it is an integer >= 1."""
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
        raise ConfigError(f"horizon h={h!r} must be an integer >= 1 (years ahead of the origin).")
    return int(h)


def is_level(values: object) -> np.ndarray:
    """Element-wise: is each value an interval level, a fraction strictly between 0 and 1?

    The one definition of a level: :func:`check_levels`, :func:`check_level`,
    :func:`validate_forecast` and every other check in the library use it (a NaN is not a level).
    """
    v = np.asarray(values, dtype=float)
    return (v > 0.0) & (v < 1.0)


def check_levels(levels: Iterable[float]) -> tuple[float, ...]:
    """Return sorted, unique interval levels, each a fraction strictly between 0 and 1.

    Raises
    ------
    ValueError
        Naming the values that are not levels (e.g. 80 written for 0.8).
    """
    out = tuple(sorted({float(v) for v in levels}))
    bad = [v for v, ok in zip(out, is_level(out)) if not ok]
    if bad:
        raise ConfigError(
            f"interval level(s) {bad} are not fractions in (0, 1); write 0.8 and 0.95, not 80 and 95."
        )
    return out


def check_level(level: float) -> float:
    """Return one interval level as a float, raising as :func:`check_levels` unless it is in (0, 1)."""
    return check_levels([level])[0]


def validate_series(
    df: pd.DataFrame,
    *,
    exog: Sequence[str] = (),
    min_length: int = 1,
    model: str | None = None,
    source: str = "series",
) -> pd.DataFrame:
    """Check the long input frame ``region, year, y[, exog..., is_break]`` of a forecaster.

    Parameters
    ----------
    df : DataFrame
        ``region`` (string key), ``year`` (int64), ``y`` (float64, no missing value),
        exogenous columns named in ``exog`` (float64, missing values allowed) and optionally
        ``is_break`` (bool).
    exog : sequence of str
        Exogenous columns that must be present.
    min_length : int, default 1
        Fewest observations a series needs for ``model``.
    model : str, optional
        Name used in the messages.
    source : str
        Name of the frame, used in every message.

    Returns
    -------
    DataFrame
        A copy sorted by ``region, year`` with a fresh index.

    Raises
    ------
    PanelContractError
        Missing columns, wrong dtypes, duplicate keys, gaps (naming the region and the missing
        years), missing ``y`` values, or a series shorter than ``min_length`` (naming the region
        and its length).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}.")
    if "y" not in df.columns:
        raise PanelContractError(f"{source}: column 'y' (the target) is absent; found {list(df.columns)}.")
    regions = sorted(df["region"].astype(str).unique()) if "region" in df.columns else None
    validate_panel(df, required=("y", *exog), missing="keep", source=source, regions=regions)
    na = df["y"].isna()
    if na.any():
        r = df.loc[na].iloc[0]
        raise PanelContractError(
            f"{source}: column 'y' has {int(na.sum())} missing values, e.g. (region={r['region']!r}, "
            f"year={int(r['year'])}); drop the series or impute it before forecasting."
        )
    if BREAK_COLUMN in df.columns and not pd.api.types.is_bool_dtype(df[BREAK_COLUMN]):
        raise PanelContractError(
            f"{source}: column {BREAK_COLUMN!r} must be bool, found dtype {df[BREAK_COLUMN].dtype}."
        )
    lengths = df.groupby("region")["year"].size()
    short = lengths[lengths < min_length]
    if len(short):
        who = f" by {model}" if model else ""
        detail = ", ".join(f"region={r!r} has {n} years" for r, n in short.head(5).items())
        raise PanelContractError(
            f"{source}: {len(short)} series are shorter than the {min_length} years needed{who}: "
            f"{detail}; drop them or choose a simpler model."
        )
    out = df.sort_values(["region", "year"], kind="mergesort").reset_index(drop=True)
    out["region"] = out["region"].astype("string")
    return out


def _fail(source: str, msg: str, rows: pd.DataFrame) -> None:
    r = rows.iloc[0]
    raise PanelContractError(
        f"{source}: {msg} in {len(rows)} row(s), e.g. (model={r['model']!r}, region={r['region']!r}, "
        f"origin_year={int(r['origin_year'])}, year={int(r['year'])}, level={r['level']})."
    )


def validate_forecast(df: pd.DataFrame, *, source: str = "forecast") -> pd.DataFrame:
    """Check a long forecast table and return it unchanged.

    Parameters
    ----------
    df : DataFrame
        Columns ``model`` (string), ``region`` (string), ``origin_year``, ``year`` (int64),
        ``point``, ``lower``, ``upper``, ``level`` (float64); extra columns (``actual``,
        ``target`` ...) are allowed. ``lower``, ``upper`` and ``level`` are all NA on rows
        without an interval.

    Raises
    ------
    PanelContractError
        Missing columns, wrong dtypes, duplicate keys, ``year <= origin_year``, a missing
        point, a level outside (0, 1), half-missing intervals, or ``lower <= point <= upper``
        violated; the message names model, region, origin and year.
    """
    absent = [c for c in FORECAST_COLUMNS if c not in df.columns]
    if absent:
        raise PanelContractError(f"{source}: missing column(s) {absent}; found {list(df.columns)}.")
    for col in ("origin_year", "year"):
        if not pd.api.types.is_integer_dtype(df[col]):
            raise PanelContractError(f"{source}: column {col!r} must be int64, found {df[col].dtype}.")
    for col in ("point", "lower", "upper", "level"):
        if not pd.api.types.is_float_dtype(df[col]):
            raise PanelContractError(f"{source}: column {col!r} must be float64, found {df[col].dtype}.")
    if df.empty:
        return df
    dup = df.duplicated(list(FORECAST_KEY), keep=False)
    if dup.any():
        _fail(source, "duplicate key (model, region, origin_year, year, level)", df.loc[dup])
    checks = [
        (df["year"] <= df["origin_year"], "year is not after origin_year"),
        (df["point"].isna(), "point forecast is missing"),
        (df["level"].notna() & ~is_level(df["level"]), "level is not a fraction in (0, 1)"),
        (df[["lower", "upper", "level"]].isna().nunique(axis=1) > 1, "lower/upper/level are only partly missing"),
        ((df["lower"] > df["point"]) | (df["point"] > df["upper"]), "lower <= point <= upper is violated"),
    ]
    for bad, msg in checks:
        if bad.any():
            _fail(source, msg, df.loc[bad])
    return df


def check_nested_levels(df: pd.DataFrame, *, source: str = "forecast") -> pd.DataFrame:
    """Check that intervals of stacked levels nest: a higher level's bounds contain a lower one's.

    For levels ``a < b`` of the same (model, region, origin_year, year):
    ``lower_b <= lower_a <= point <= upper_a <= upper_b`` (to a relative 1e-9).

    Raises
    ------
    PanelContractError
        Naming model, region, origin, year and the two levels.
    """
    key = ["model", "region", "origin_year", "year"]
    iv = df.loc[df["level"].notna(), key + ["level", "lower", "upper"]].sort_values(key + ["level"], kind="mergesort")
    if iv.empty:
        return df
    prev = iv.groupby(key, sort=False)[["level", "lower", "upper"]].shift(1)
    tol = 1e-9 * (1.0 + iv[["lower", "upper"]].abs().max(axis=1))
    bad = prev["level"].notna() & ((iv["lower"] > prev["lower"] + tol) | (iv["upper"] < prev["upper"] - tol))
    if bad.any():
        r, lv = iv.loc[bad].iloc[0], prev.loc[bad, "level"].iloc[0]
        raise PanelContractError(
            f"{source}: the {r['level']} interval does not contain the {lv} one in {int(bad.sum())} row(s), e.g. "
            f"(model={r['model']!r}, region={r['region']!r}, origin_year={int(r['origin_year'])}, year={int(r['year'])})."
        )
    return df


def coerce_forecast(df: pd.DataFrame) -> pd.DataFrame:
    """Cast the forecast columns to their contract dtypes and order them first."""
    out = df.copy()
    for col in ("model", "region"):
        out[col] = out[col].astype("string")
    for col in ("origin_year", "year"):
        out[col] = out[col].astype("int64")
    for col in ("point", "lower", "upper", "level"):
        out[col] = out[col].astype("float64")
    rest = [c for c in out.columns if c not in FORECAST_COLUMNS]
    return out[list(FORECAST_COLUMNS) + rest]


def alpha_to_level(alpha: float) -> float:
    """statsmodels' ``alpha`` (miss probability) -> our level fraction, e.g. 0.05 -> 0.95."""
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha={alpha!r} must lie in (0, 1).")
    return round(1.0 - float(alpha), 12)


def level_to_alpha(level: float) -> float:
    """Our level fraction -> statsmodels' ``alpha``, e.g. 0.8 -> 0.2."""
    return round(1.0 - check_level(level), 12)
