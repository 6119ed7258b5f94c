"""Future feature paths for scenarios: the baseline path and a planner's shifts of it.

A scenario asks what the panel model implies if a feature moves in some regions and years.
That needs two feature paths over the forecast years:

* the **baseline path** (:func:`baseline_feature_path`): each feature **held at its last
  observed value** per region from the year after that observation to the end of the
  horizon. It is the "nothing changes" path; only the difference between the two paths
  enters the scenario effect (:func:`forecast.scenario.scenario_effect`), so the choice of
  baseline path matters only through relative shifts (10 % of the held value).
* the **shifted path** (:func:`apply_shifts`): the baseline path with the planner's
  shifts applied, in the order given.

:func:`feature_shift` is the cell-by-cell difference of the two that the effect uses.

A shift is a plain mapping with the keys of the run config's ``[scenario.NAME]`` table::

    {"feature": "unemployment_rate_pct", "regions": "all", "from_year": 2027,
     "to_year": None, "kind": "absolute", "value": -1.0}

``kind = "relative"`` multiplies by ``1 + value`` (``0.1`` = 10 % higher); ``"absolute"``
adds ``value`` in the feature's unit (unemployment "1 point lower" is ``-1.0`` on
``unemployment_rate_pct``). ``to_year`` None (or absent) runs to the last year of the path.
"""
from __future__ import annotations

import difflib
import logging
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kzmig.core.errors import KzmigError
from kzmig.features.data.panel import validate_panel

logger = logging.getLogger(__name__)

#: ``kind`` of a shift: a fraction of the baseline value, or an amount in the feature's unit.
SHIFT_KINDS = ("relative", "absolute")
_REQUIRED = ("feature", "from_year", "kind", "value")
_OPTIONAL = ("regions", "to_year")

_short = reprlib.Repr()
_short.maxlist = 8


class ScenarioError(KzmigError):
    """A scenario does not fit the data: an unknown feature or region, or a malformed shift."""


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _feature_columns(panel: pd.DataFrame) -> list[str]:
    return [c for c in panel.columns if c not in ("region", "year") and pd.api.types.is_float_dtype(panel[c])]


def baseline_feature_path(panel: pd.DataFrame, features: Sequence[str], *, origin_year: int,
                          until: int) -> pd.DataFrame:
    """Feature panel extended to ``until`` with every feature held at its last observed value.

    Parameters
    ----------
    panel : DataFrame
        Wide region-year panel: ``region`` (str), ``year`` (int64) and each of ``features``
        (float64, missing values allowed).
    features : sequence of str
        Columns to carry forward.
    origin_year : int
        Last year whose data may be used (the forecast origin). Values after it are not
        used: a backtest must not see the future.
    until : int
        Last year of the path (the last forecast year, or later).

    Returns
    -------
    DataFrame
        ``region``, ``year`` and ``features``, one row per region and year from the region's
        first year in ``panel`` to ``until``. Observed values up to ``origin_year`` are kept
        as they are (inner gaps stay missing); from the year after a region's last observed
        value of a feature (at or before ``origin_year``) to ``until`` the feature holds that
        value. A region with no observed value of a feature stays missing there (logged).

    Raises
    ------
    ScenarioError
        A feature that is not a column of ``panel`` (naming it, with close matches), or
        ``until`` before ``origin_year``.
    PanelContractError
        ``panel`` breaks the region-year contract (:func:`features.panel.validate_panel`).

    Notes
    -----
    Holding the last value is the neutral "no change" assumption: it makes no claim about
    trends in wages or housing. Only the shifted-minus-baseline difference drives the
    scenario effect, so an absolute shift gives the same effect under any baseline path;
    a relative shift is a share of the held value.
    """
    features = list(features)
    known = _feature_columns(panel)
    for f in features:
        if f not in panel.columns:
            raise ScenarioError(f"baseline path: feature {f!r} is not a column of the panel.{_suggest(f, known)} "
                                f"Features: {known}.")
    if int(until) < int(origin_year):
        raise ScenarioError(f"baseline path: until={until} is before origin_year={origin_year}.")
    validate_panel(panel, required=features, missing="keep", source="baseline path: feature panel",
                   regions=sorted(panel["region"].astype(str).unique()), allow_gaps=True)
    past = panel.loc[panel["year"] <= origin_year, ["region", "year", *features]]
    dropped = int(panel.loc[panel["year"] > origin_year, features].notna().to_numpy().sum())
    if dropped:
        logger.info("baseline path: %d feature values after origin_year=%d not used (held values replace them).",
                    dropped, origin_year)
    first = past.groupby("region")["year"].min()
    grid = pd.DataFrame([(r, y) for r, y0 in first.items() for y in range(int(y0), int(until) + 1)],
                        columns=["region", "year"])
    grid = grid.astype({"region": "string", "year": "int64"})
    past = past.astype({"region": "string"})
    out = grid.merge(past, on=["region", "year"], how="left", validate="one_to_one")
    held, never = [], []
    for f in features:
        obs = past.loc[past[f].notna()].sort_values("year").groupby("region").last()
        last_year = out["region"].map(obs["year"]).astype("Float64")
        last_value = out["region"].map(obs[f]).astype("float64")
        fill = (out["year"] > last_year).fillna(False).to_numpy(dtype=bool)
        out.loc[fill, f] = last_value[fill]
        never += [(r, f) for r in first.index if r not in obs.index]
        held += [(r, f, int(y)) for r, y in obs["year"].items() if int(y) < origin_year]
    if held:
        logger.info("baseline path: %d region-feature series end before origin_year=%d and are held from their "
                    "last value, e.g. %s.", len(held), origin_year, _short.repr(held))
    if never:
        logger.warning("baseline path: %d region-feature series have no observed value up to %d and stay missing: "
                       "%s.", len(never), origin_year, _short.repr(never))
    return out.astype({f: "float64" for f in features}).sort_values(["region", "year"]).reset_index(drop=True)


def _check_shift(i: int, shift: Any, features: Sequence[str], regions_all: Sequence[str]) -> dict[str, Any]:
    """A validated copy of shift number ``i``; :class:`ScenarioError` names what is wrong."""
    where = f"shifts[{i}]"
    if not isinstance(shift, Mapping):
        raise ScenarioError(f"{where}: a shift must be a mapping with keys {list(_REQUIRED + _OPTIONAL)}, "
                            f"got {type(shift).__name__} (a config Shift gives one with .model_dump()).")
    s = dict(shift)
    unknown = sorted(set(s) - set(_REQUIRED + _OPTIONAL))
    absent = [k for k in _REQUIRED if k not in s]
    if unknown or absent:
        raise ScenarioError(f"{where}: unknown key(s) {unknown}, missing key(s) {absent}; a shift has "
                            f"{list(_REQUIRED)} and optionally {list(_OPTIONAL)}.")
    if s["feature"] not in features:
        raise ScenarioError(f"{where}: feature {s['feature']!r} is not in the feature panel."
                            f"{_suggest(s['feature'], features)} Features: {list(features)}.")
    if s["kind"] not in SHIFT_KINDS:
        raise ScenarioError(f"{where}: kind={s['kind']!r}; choose one of {list(SHIFT_KINDS)}.")
    value = s["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
        raise ScenarioError(f"{where}: value={value!r} must be a finite number.")
    if s["kind"] == "relative" and value <= -1:
        raise ScenarioError(f"{where}: a relative value is a fraction of the baseline and must be > -1, "
                            f"found {value}.")
    to_year = s.get("to_year")
    for key in ("from_year", "to_year"):
        y = s.get(key)
        if y is not None and (isinstance(y, bool) or not isinstance(y, (int, np.integer))):
            raise ScenarioError(f"{where}: {key}={y!r} must be an integer year.")
    if to_year is not None and to_year < s["from_year"]:
        raise ScenarioError(f"{where}: to_year={to_year} is before from_year={s['from_year']}.")
    regions = s.get("regions", "all")
    if isinstance(regions, str):
        if regions != "all":
            raise ScenarioError(f"{where}: regions={regions!r}; give \"all\" or a list of region codes.")
        regions = list(regions_all)
    else:
        regions = [str(r) for r in regions]
        if not regions:
            raise ScenarioError(f"{where}: regions is empty; give \"all\" or at least one region code.")
        for r in regions:
            if r not in regions_all:
                raise ScenarioError(f"{where}: region {r!r} is not one of the scenario's regions."
                                    f"{_suggest(r, regions_all)} Regions: {list(regions_all)}.")
    return {"feature": s["feature"], "regions": regions, "from_year": int(s["from_year"]),
            "to_year": None if to_year is None else int(to_year), "kind": s["kind"], "value": float(value)}


def apply_shifts(panel: pd.DataFrame, shifts: Iterable[Mapping[str, Any]], *,
                 regions_all: Sequence[str]) -> pd.DataFrame:
    """The feature panel with a planner's shifts applied by region and year.

    Parameters
    ----------
    panel : DataFrame
        Wide feature path: ``region`` (str), ``year`` (int64) and float64 feature columns,
        usually :func:`baseline_feature_path` (history plus the held future).
    shifts : iterable of mapping
        Each with ``feature``, ``from_year``, ``kind`` ("relative" or "absolute") and
        ``value``, optionally ``regions`` ("all" or a list of codes; default "all") and
        ``to_year`` (inclusive; None = to the last year of ``panel``). Shifts are applied in
        order, so two shifts of one cell compose (a relative shift after an absolute one
        scales the shifted value).
    regions_all : sequence of str
        The regions that ``"all"`` means, e.g. the model's regions without the national row.
        A listed region must be one of them.

    Returns
    -------
    DataFrame
        A copy of ``panel`` with the shifted cells replaced: ``x * (1 + value)`` for
        relative shifts, ``x + value`` for absolute ones. Missing cells stay missing (logged).

    Raises
    ------
    ScenarioError
        A malformed shift, an unknown feature (naming it, close matches and the features
        that exist) or an unknown region (naming it and the regions), or a region of
        ``regions_all`` absent from ``panel``.
    PanelContractError
        ``panel`` breaks the region-year contract.

    Notes
    -----
    Shifts act on whatever years ``panel`` holds in ``[from_year, to_year]``; only years
    that reach the forecast through the model's lag (``year + lag`` in the forecast years)
    change the forecast, so a shift of a year already observed at the origin moves the
    first forecast year of a lag-1 model, and earlier years have no effect.
    """
    validate_panel(panel, missing="keep", source="apply_shifts: feature panel",
                   regions=sorted(panel["region"].astype(str).unique()), allow_gaps=True)
    regions_all = [str(r) for r in regions_all]
    present = set(panel["region"].astype(str))
    absent = [r for r in regions_all if r not in present]
    if not regions_all or absent:
        raise ScenarioError(f"apply_shifts: regions_all must list regions of the panel; {absent or 'none'} "
                            f"given that the panel lacks (panel regions: {sorted(present)}).")
    features = _feature_columns(panel)
    out = panel.copy()
    last = int(panel["year"].max())
    for i, raw in enumerate(shifts):
        s = _check_shift(i, raw, features, regions_all)
        to_year = last if s["to_year"] is None else s["to_year"]
        hit = (out["region"].astype(str).isin(s["regions"]) & out["year"].between(s["from_year"], to_year)).to_numpy()
        if not hit.any():
            logger.warning("shifts[%d] (%s from %d) touches no row: the panel covers %d-%d.", i, s["feature"],
                           s["from_year"], int(panel["year"].min()), last)
            continue
        x = out.loc[hit, s["feature"]].to_numpy(dtype=float)
        n_na = int(np.isnan(x).sum())
        if n_na:
            rows = out.loc[hit].loc[np.isnan(x), ["region", "year"]].astype(str).agg("/".join, axis=1).tolist()
            logger.warning("shifts[%d]: %d of %d cells of %r are missing and stay missing (no effect there), e.g. %s.",
                           i, n_na, len(x), s["feature"], _short.repr(rows))
        out.loc[hit, s["feature"]] = x * (1.0 + s["value"]) if s["kind"] == "relative" else x + s["value"]
        logger.info("shifts[%d]: %s %s %+g in %d region(s), %d-%d (%d cells).", i, s["feature"], s["kind"],
                    s["value"], len(s["regions"]), s["from_year"], to_year, int(hit.sum()))
    return out


def feature_shift(baseline: pd.DataFrame, shifted: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """``region, year`` and shifted - baseline of each of ``features``.

    The two paths must have the same (region, year) rows. A cell missing in both paths is
    unchanged (0); missing in one only raises :class:`ScenarioError` naming region and year.
    Shifted columns outside ``features`` are logged as having no effect.
    """
    for name, df in (("baseline_features", baseline), ("shifted_features", shifted)):
        absent = [f for f in features if f not in df.columns]
        if absent:
            raise ScenarioError(f"scenario_effect: {name} lacks the model's feature(s) {absent}.")
    b = baseline.set_index(["region", "year"]).sort_index()
    s = shifted.set_index(["region", "year"]).sort_index()
    if not b.index.equals(s.index):
        extra = s.index.difference(b.index).tolist()[:3]
        lack = b.index.difference(s.index).tolist()[:3]
        raise ScenarioError(f"scenario_effect: the two feature paths have different (region, year) rows: only in "
                            f"shifted {extra}, only in baseline {lack}.")
    moved = [c for c in s.columns if c not in features and pd.api.types.is_float_dtype(s[c])
             and c in b.columns and not np.allclose(s[c], b[c], equal_nan=True, rtol=0, atol=0)]
    if moved:
        logger.warning("scenario_effect: shift(s) of %s have no effect: the model does not use them "
                       "(its features are %s).", moved, list(features))
    d = s[list(features)] - b[list(features)]
    one_missing = s[list(features)].isna() ^ b[list(features)].isna()
    if one_missing.to_numpy().any():
        f = one_missing.any().idxmax()
        r, y = one_missing.index[one_missing[f].to_numpy()][0]
        raise ScenarioError(f"scenario_effect: {f!r} is missing in one path but not the other at "
                            f"(region={r!r}, year={int(y)}).")
    # missing in both paths (checked above): nothing was shifted there, so the shift is zero
    return d.fillna(0.0).reset_index()
