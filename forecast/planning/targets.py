"""Planning targets: the targets table, and the probability that a forecast reaches each target.

Planning documents set targets such as "150,000 foreign students by 2029" (a level in a
year) or "resettle 100,000 kandas in the northern regions over 2025-2029" (a cumulative
flow). A targets table has one row per target:

========== =============================================================================="""
from __future__ import annotations

import logging
import math
import re
from importlib import resources
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataError, DataFileError
from kzmig.core.options import check_option
from kzmig.features.assessment.indicators import TARGET_DIRECTIONS, TARGET_MEASURES
from kzmig.features.data.regions import resolve_region, suggest_region
from kzmig.forecast.engine.distribution import row_scales, sd_of_sum, split_normal_cdf
from kzmig.models.forecasters.schema import validate_forecast

logger = logging.getLogger(__name__)

DIRECTIONS = TARGET_DIRECTIONS
MEASURES = TARGET_MEASURES
#: columns of a targets file (:func:`read_targets`), in order
TABLE_COLUMNS = ("indicator", "region", "year", "value", "direction", "measure", "source")
#: columns :func:`target_probability` needs (``target`` is accepted for ``indicator``)
TARGET_COLUMNS = ("indicator", "region", "year", "value")
OUTPUT_COLUMNS = (
    "indicator", "model", "region", "origin_year", "year", "measure", "direction", "value",
    "point", "sd_lower", "sd_upper", "probability", "source",
)
_YEAR = re.compile(r"\d{4}")


def shipped_targets_path() -> Path:
    """Path of the shipped example targets file (``experiments/targets.csv``)."""
    return Path(str(resources.files("kzmig.experiments") / "targets.csv"))


def _cell_error(path: Path, row: int, column: str, found: str, expected: str) -> DataFileError:
    return DataFileError(f"targets {path} row {row}, column {column!r}: found {found!r}; expected {expected}.")


def _read_row(path: Path, row: int, rec: dict) -> dict:
    """One checked row of a targets file (``row`` is the file's line number, header = 1)."""
    out = dict(rec)
    if not rec["indicator"]:
        raise _cell_error(path, row, "indicator", rec["indicator"], "the name of the variable the target is about")
    code = resolve_region(rec["region"]) if rec["region"] else None
    if code is None:
        hint = suggest_region(rec["region"]) if rec["region"] else None
        raise _cell_error(path, row, "region", rec["region"], "a region code or a known spelling of one (see "
                          "data/region_aliases.csv; the national total is 'kazakhstan')"
                          + (f"; did you mean {hint!r}?" if hint else ""))
    out["region"] = code
    if not _YEAR.fullmatch(rec["year"]):
        raise _cell_error(path, row, "year", rec["year"], "a whole year such as 2029")
    out["year"] = int(rec["year"])
    try:
        value = float(rec["value"])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _cell_error(path, row, "value", rec["value"], "a number in the indicator's unit (signed, no thousands "
                          "separators)")
    out["value"] = value
    for col, valid in (("direction", DIRECTIONS), ("measure", MEASURES)):
        if rec[col] not in valid:
            raise _cell_error(path, row, col, rec[col], "one of " + ", ".join(repr(v) for v in valid))
    if not rec["source"]:
        raise _cell_error(path, row, "source", rec["source"], "the planning document that sets the target, or "
                          "'illustration: not an official target'")
    return out


def read_targets(path: str | Path) -> pd.DataFrame:
    """Read and check a targets file (CSV, UTF-8, one row per target).

    Parameters
    ----------
    path : str or Path
        CSV with the columns ``indicator, region, year, value, direction, measure, source``
        (see the module notes); other columns (``model``, ``definition``, ``note`` ...) are kept
        as text. The assessment's older layout ``indicator, region, year, target`` is read too
        (``target`` as ``value``, ``at_least``, ``level``, source ``(not given)``; a header with
        no rows is an empty table there). This is the one targets reader of kzmig.

    Returns
    -------
    DataFrame
        The columns of the file, ``region`` mapped to codes, ``year`` int64, ``value`` float64,
        the text columns ``string``.

    Raises
    ------
    DataFileError
        An unreadable file, a missing column, no rows, or a bad cell, naming the file, the row
        (header = row 1) and the column: an unknown region (with the closest known spelling),
        a year that is not a whole year, a value that is not a number, a direction other than
        ``at_least``/``at_most``, a measure other than ``level``/``cumulative``, an empty
        indicator or source; or two rows that set the same target (same indicator, region,
        year, measure, direction and value; two documents setting different values for one
        year, such as the ministry's 150,000 and the President's 100,000 foreign students by
        2029, are two targets).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"targets {path}: cannot read it as a UTF-8 CSV ({exc}).") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "target" in raw.columns and "value" not in raw.columns:  # the assessment's older layout
        raw = raw.rename(columns={"target": "value"})
        for col, default in (("direction", "at_least"), ("measure", "level"), ("source", "(not given)")):
            if col not in raw.columns:
                raw[col] = default
        if raw.empty:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "year" else "float64" if c == "value"
                                              else "string") for c in raw.columns})
    elif "value" not in raw.columns and {"indicator", "region", "year"} <= set(raw.columns):
        raise DataFileError(f"targets {path}: column(s) ['value'] absent (the older layout calls it 'target'); "
                            f"found {list(raw.columns)}; expected {list(TABLE_COLUMNS)}.")
    absent = [c for c in TABLE_COLUMNS if c not in raw.columns]
    if absent:
        raise DataFileError(f"targets {path}: column(s) {absent} absent; found {list(raw.columns)}; "
                            f"expected {list(TABLE_COLUMNS)}.")
    if raw.empty:
        raise DataFileError(f"targets {path}: the file has a header but no target rows.")
    raw = raw.apply(lambda col: col.str.strip())
    rows = [_read_row(path, i + 2, rec) for i, rec in enumerate(raw.to_dict("records"))]
    key = ["indicator", "region", "year", "measure", "direction", "value"]  # two documents may set two values
    out = pd.DataFrame(rows, columns=list(raw.columns))
    dup = out.duplicated(key, keep=False)
    if dup.any():
        lines = [int(i) + 2 for i in out.index[dup]]
        first = out.loc[dup].iloc[0]
        raise DataFileError(f"targets {path}: rows {lines} set the same target ({', '.join(f'{k}={first[k]!r}' for k in key)}); "
                            "keep one row per target (the source column says which document it comes from).")
    text = [c for c in out.columns if c not in ("year", "value")]
    return out.astype({**{c: "string" for c in text}, "year": "int64", "value": "float64"})


def _check_targets(targets: pd.DataFrame) -> pd.DataFrame:
    t = targets.copy()
    if "target" in t.columns:  # the older name of the indicator column
        if "indicator" in t.columns:
            raise DataError("targets: both 'indicator' and 'target' columns are given; 'target' is the older name "
                             "of 'indicator' (the forecast variable): keep one.")
        t = t.rename(columns={"target": "indicator"})
    missing = [c for c in TARGET_COLUMNS if c not in t.columns]
    if missing:
        raise DataError(f"targets: missing column(s) {missing}; found {list(targets.columns)}.")
    if "direction" not in t.columns:
        t["direction"] = "at_least"
    if "measure" not in t.columns:
        t["measure"] = "level"
    for _, row in t.iterrows():
        check_option("direction", row["direction"], DIRECTIONS, owner=f"target {row['indicator']!r}")
        check_option("measure", row["measure"], MEASURES, owner=f"target {row['indicator']!r}")
        if pd.isna(row["value"]):
            raise DataError(f"targets: target {row['indicator']!r} (region={row['region']!r}) has no value.")
    return t


def _path(scales: pd.DataFrame, target: pd.Series, origin: int) -> pd.DataFrame:
    """Forecast rows counted by a target: its year, or every year from the origin to it."""
    year = int(target["year"])
    years = [year] if target["measure"] == "level" else list(range(origin + 1, year + 1))
    got = scales.set_index("year").reindex(years)
    if got["point"].isna().any():
        avail = sorted(scales["year"].tolist())
        raise DataError(
            f"target {target['indicator']!r} (region={target['region']!r}, year={year}): the forecast "
            f"(model={scales['model'].iloc[0]!r}, origin_year={origin}) has no year(s) "
            f"{[y for y, p in zip(years, got['point']) if pd.isna(p)]}; it covers {avail}."
        )
    return got


def _forecasts_by_indicator(forecasts: pd.DataFrame, t: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The forecast rows of each indicator of ``t``: by the forecasts' ``target`` column when
    they carry one (a study's table holds several targets), else the whole table (one indicator)."""
    wanted = list(dict.fromkeys(t["indicator"].tolist()))
    if "target" not in forecasts.columns:
        if len(wanted) > 1:
            raise DataError(f"targets: the forecast table has no 'target' column, so its rows cannot be told apart "
                             f"between the indicators {wanted}; pass a table with a 'target' column (as the "
                             "forecasting study writes it) or the targets of one indicator.")
        logger.info("target_probability: the forecast table has no 'target' column; it is taken to be the "
                    "forecast of %r.", wanted[0])
        return {wanted[0]: forecasts}
    have = sorted(forecasts["target"].dropna().astype(str).unique())
    for _, row in t.iterrows():
        if row["indicator"] not in have:
            raise DataError(f"target {row['indicator']!r} (region={row['region']!r}, year={int(row['year'])}): "
                             f"the forecast table has no forecast of indicator {row['indicator']!r}; "
                             f"it holds the targets {have}.")
    return {name: forecasts.loc[forecasts["target"] == name] for name in wanted}


def target_probability(forecasts: pd.DataFrame, targets: pd.DataFrame, *, rho: float = 1.0) -> pd.DataFrame:
    """Probability that each forecast meets each target.

    Parameters
    ----------
    forecasts : DataFrame
        Long forecast table (``model``, ``region``, ``origin_year``, ``year``, ``point``,
        ``lower``, ``upper``, ``level``), levels may be stacked. With a ``target`` column (the
        forecasting study's ``forecasts`` table, several variables) a target row is matched to
        the forecasts of its indicator only; without one, the table is the forecast of the
        single indicator the targets name.
    targets : DataFrame
        One row per target (the layout of :func:`read_targets`): ``indicator`` (the forecast
        variable; the older name ``target`` is accepted), ``region``, ``year``, ``value``, and
        optionally ``direction`` (``"at_least"``, default, or ``"at_most"``), ``measure``
        (``"level"``, default: the value in ``year``; or ``"cumulative"``: the sum of the
        forecast flows from ``origin_year + 1`` to ``year``), ``model`` (restrict to one model)
        and ``source`` (passed through).
    rho : float in [0, 1], default 1.0
        Correlation assumed between forecast errors of different years, used by
        cumulative targets (see :func:`kzmig.forecast.engine.distribution.sd_of_sum`).

    Returns
    -------
    DataFrame
        One row per target and (model, origin_year) with ``point`` (median of the counted
        quantity), ``sd_lower``, ``sd_upper``, ``probability`` and ``source``. Forecasts without
        intervals get a NaN probability (logged), never a guess.

    Raises
    ------
    ValueError
        Missing columns, unknown direction or measure, a target whose indicator has no forecast
        (the message lists the forecast targets that exist), several indicators against a
        table without a ``target`` column, a target whose region has no forecast, or a year the
        forecast does not cover (the message lists the covered years).

    Notes
    -----
    With the median-preserving split normal :math:`F` of the counted quantity,
    ``at_least`` gives :math:`1 - F(v)` and ``at_most`` gives :math:`F(v)`. For cumulative
    targets the median is the sum of the yearly points and each side's scale is the
    ``rho``-sum of the yearly scales of that side, an approximation exact for ``rho = 1``
    (comonotone errors, where quantiles add). The point forecast being the median, a
    target equal to the point has probability 0.5.
    """
    t = _check_targets(targets)
    groups = _forecasts_by_indicator(forecasts, t)
    scales = {}
    for name, fc in groups.items():
        what = "target_probability: forecast table" + (f" (target {name!r})" if "target" in forecasts.columns else "")
        validate_forecast(fc, source=what)
        scales[name] = row_scales(fc)
    rows = []
    for _, target in t.iterrows():
        own = scales[target["indicator"]]
        sub = own.loc[own["region"] == target["region"]]
        if "model" in t.columns and pd.notna(target.get("model")):
            sub = sub.loc[sub["model"] == target["model"]]
        if sub.empty:
            raise DataError(
                f"target {target['indicator']!r}: no forecast for region={target['region']!r}"
                + (f", model={target['model']!r}" if "model" in t.columns else "")
                + f"; forecast regions: {sorted(own['region'].unique())}."
            )
        for (model, origin), g in sub.groupby(["model", "origin_year"], sort=True):
            path = _path(g, target, int(origin))
            point = float(path["point"].sum())
            sd_lo = sd_of_sum(path["sd_lower"].to_numpy(), rho)
            sd_hi = sd_of_sum(path["sd_upper"].to_numpy(), rho)
            cdf = float(split_normal_cdf(float(target["value"]), point, sd_lo, sd_hi))
            prob = 1.0 - cdf if target["direction"] == "at_least" else cdf
            rows.append({
                "indicator": target["indicator"], "model": model, "region": target["region"],
                "origin_year": int(origin), "year": int(target["year"]), "measure": target["measure"],
                "direction": target["direction"], "value": float(target["value"]), "point": point,
                "sd_lower": sd_lo, "sd_upper": sd_hi, "probability": prob,
                "source": target["source"] if "source" in t.columns else pd.NA,
            })
    out = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
    n_nan = int(out["probability"].isna().sum())
    if n_nan:
        logger.warning("%d target probabilities are NaN: their forecasts have no interval (models %s).",
                       n_nan, sorted(out.loc[out["probability"].isna(), "model"].unique()))
    return out
