"""Probability that a forecast reaches a planning target by the target's year.

Planning documents set targets such as "150,000 foreign students by 2029" (a level in a
year) or "resettle 100,000 kandas in the northern regions over 2025-2029" (a cumulative
flow). :func:`target_probability` reads a distribution from each forecast row's intervals
(the median-preserving split normal of :mod:`kzmig.forecast.distribution`) and returns the
probability that the target is met.
"""
from __future__ import annotations

import logging

import pandas as pd

from kzmig.core.options import check_option
from kzmig.forecast.distribution import row_scales, sd_of_sum, split_normal_cdf
from kzmig.models.schema import validate_forecast

logger = logging.getLogger(__name__)

DIRECTIONS = ("at_least", "at_most")
MEASURES = ("level", "cumulative")
TARGET_COLUMNS = ("target", "region", "year", "value")
OUTPUT_COLUMNS = (
    "target", "model", "region", "origin_year", "year", "measure", "direction", "value",
    "point", "sd_lower", "sd_upper", "probability",
)


def _check_targets(targets: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TARGET_COLUMNS if c not in targets.columns]
    if missing:
        raise ValueError(f"targets: missing column(s) {missing}; found {list(targets.columns)}.")
    t = targets.copy()
    if "direction" not in t.columns:
        t["direction"] = "at_least"
    if "measure" not in t.columns:
        t["measure"] = "level"
    for _, row in t.iterrows():
        check_option("direction", row["direction"], DIRECTIONS, owner=f"target {row['target']!r}")
        check_option("measure", row["measure"], MEASURES, owner=f"target {row['target']!r}")
        if pd.isna(row["value"]):
            raise ValueError(f"targets: target {row['target']!r} (region={row['region']!r}) has no value.")
    return t


def _path(scales: pd.DataFrame, target: pd.Series, origin: int) -> pd.DataFrame:
    """Forecast rows counted by a target: its year, or every year from the origin to it."""
    year = int(target["year"])
    years = [year] if target["measure"] == "level" else list(range(origin + 1, year + 1))
    got = scales.set_index("year").reindex(years)
    if got["point"].isna().any():
        avail = sorted(scales["year"].tolist())
        raise ValueError(
            f"target {target['target']!r} (region={target['region']!r}, year={year}): the forecast "
            f"(model={scales['model'].iloc[0]!r}, origin_year={origin}) has no year(s) "
            f"{[y for y, p in zip(years, got['point']) if pd.isna(p)]}; it covers {avail}."
        )
    return got


def target_probability(forecasts: pd.DataFrame, targets: pd.DataFrame, *, rho: float = 1.0) -> pd.DataFrame:
    """Probability that each forecast meets each target.

    Parameters
    ----------
    forecasts : DataFrame
        Long forecast table (``model``, ``region``, ``origin_year``, ``year``, ``point``,
        ``lower``, ``upper``, ``level``), levels may be stacked.
    targets : DataFrame
        One row per target: ``target`` (name), ``region``, ``year``, ``value``, and optionally
        ``direction`` (``"at_least"``, default, or ``"at_most"``), ``measure`` (``"level"``,
        default: the value in ``year``; or ``"cumulative"``: the sum of the forecast flows
        from ``origin_year + 1`` to ``year``) and ``model`` (restrict to one model).
    rho : float in [0, 1], default 1.0
        Correlation assumed between forecast errors of different years, used by
        cumulative targets (see :func:`kzmig.forecast.distribution.sd_of_sum`).

    Returns
    -------
    DataFrame
        One row per target and (model, origin_year) with ``point`` (median of the counted
        quantity), ``sd_lower``, ``sd_upper`` and ``probability``. Forecasts without
        intervals get a NaN probability (logged), never a guess.

    Raises
    ------
    ValueError
        Missing columns, unknown direction or measure, a target whose region has no
        forecast, or a year the forecast does not cover (the message lists the covered years).

    Notes
    -----
    With the median-preserving split normal :math:`F` of the counted quantity,
    ``at_least`` gives :math:`1 - F(v)` and ``at_most`` gives :math:`F(v)`. For cumulative
    targets the median is the sum of the yearly points and each side's scale is the
    ``rho``-sum of the yearly scales of that side, an approximation exact for ``rho = 1``
    (comonotone errors, where quantiles add). The point forecast being the median, a
    target equal to the point has probability 0.5.
    """
    validate_forecast(forecasts, source="target_probability: forecast table")
    t = _check_targets(targets)
    scales = row_scales(forecasts)
    rows = []
    for _, target in t.iterrows():
        sub = scales.loc[scales["region"] == target["region"]]
        if "model" in t.columns and pd.notna(target.get("model")):
            sub = sub.loc[sub["model"] == target["model"]]
        if sub.empty:
            raise ValueError(
                f"target {target['target']!r}: no forecast for region={target['region']!r}"
                + (f", model={target['model']!r}" if "model" in t.columns else "")
                + f"; forecast regions: {sorted(scales['region'].unique())}."
            )
        for (model, origin), g in sub.groupby(["model", "origin_year"], sort=True):
            path = _path(g, target, int(origin))
            point = float(path["point"].sum())
            sd_lo = sd_of_sum(path["sd_lower"].to_numpy(), rho)
            sd_hi = sd_of_sum(path["sd_upper"].to_numpy(), rho)
            cdf = float(split_normal_cdf(float(target["value"]), point, sd_lo, sd_hi))
            prob = 1.0 - cdf if target["direction"] == "at_least" else cdf
            rows.append({
                "target": target["target"], "model": model, "region": target["region"],
                "origin_year": int(origin), "year": int(target["year"]), "measure": target["measure"],
                "direction": target["direction"], "value": float(target["value"]), "point": point,
                "sd_lower": sd_lo, "sd_upper": sd_hi, "probability": prob,
            })
    out = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
    n_nan = int(out["probability"].isna().sum())
    if n_nan:
        logger.warning("%d target probabilities are NaN: their forecasts have no interval (models %s).",
                       n_nan, sorted(out.loc[out["probability"].isna(), "model"].unique()))
    return out
