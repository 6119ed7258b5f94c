"""Region typologies of the four-stage assessment (METHOD.md sections 1, 3 and 4).

* stage 1, :func:`population_change_groups`: the four groups by the character of population change;
* stage 3, :func:`migration_trend_types` and :func:`rolling_trend_panel`: the six migration-trend
  types from smoothed start and end rates, per period or per rolling window;
* stage 4 (problem flags and the tercile table) lives in :mod:`kzmig.features.assessment.problems`.

Every threshold is a keyword argument whose default is one of the module constants
:data:`DEFAULT_K`, :data:`DEFAULT_REL_TOL`, :data:`DEFAULT_ABS_TOL`, :data:`DEFAULT_ROLL_WINDOW`
and :data:`DEFAULT_ROLL_K` (the one place the default method's thresholds are set; config and
studies should use them too), and every output carries the inputs of the classification next
to the class. The source's own conventions (single years, per 10,000) are in
:mod:`kzmig.features.assessment.paper`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.assessment.indicators import components_of_change, migration_rates
from kzmig.core.options import check_option
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL


# The default method's thresholds, set here only (signatures, config and studies refer to these):
#: years averaged at each end of a period for the smoothed start and end rates
DEFAULT_K = 3
#: share of the start rate by which an inflow must fall to be "clearly lower" (weakening)
DEFAULT_REL_TOL = 0.2
#: absolute floor of that margin, in rate points per 1,000
DEFAULT_ABS_TOL = 0.5
#: length in years of the rolling windows of :func:`rolling_trend_panel`
DEFAULT_ROLL_WINDOW = 5
#: years averaged at each end of a rolling window
DEFAULT_ROLL_K = 2

#: the six migration-trend types, in the order of METHOD.md section 3 (codes 1..6)
TREND_TYPES = ("stable inflow", "weakening inflow", "emerging inflow",
               "emerging outflow", "weakening outflow", "intensifying outflow")
#: flow -> prefix of its rate columns in :func:`kzmig.features.assessment.indicators.migration_rates`
FLOW_PREFIX = {"total": "net_migration", "internal": "internal_net", "external": "external_net"}
#: flow -> net migration rate column (per 1,000) of :func:`kzmig.features.assessment.indicators.migration_rates`
FLOW_RATES = {flow: f"{prefix}_rate_per_1000" for flow, prefix in FLOW_PREFIX.items()}
GROUP_LABELS = {
    1: "growth from natural increase and net in-migration",
    2: "growth from natural increase, net out-migration appearing",
    3: "growth from natural increase, net out-migration intensifying",
    4: "population decline: out-migration exceeds natural increase",
}


def break_years(long: pd.DataFrame, variable: str = "net_migration") -> pd.DataFrame:
    """Region-years whose ``variable`` carries a ``break:`` flag in the long table.

    Returns ``region``, ``year``, ``flag`` (e.g. ``break:census_2009``): census re-basing and
    territory transfers that the balancing-equation net migration absorbs.
    """
    validate_panel(long, source="break_years")
    if "flag" not in long.columns:
        return pd.DataFrame(columns=["region", "year", "flag"])
    sub = long.loc[(long["variable"] == variable) & long["flag"].fillna("").str.contains("break:", regex=False)]
    flags = sub["flag"].map(lambda f: ";".join(t for t in str(f).split(";") if t.startswith("break:")))
    return pd.DataFrame({"region": sub["region"].astype(str), "year": sub["year"].astype("int64"),
                         "flag": flags}).reset_index(drop=True)


def _end_years(years: list[int], k: int, skipped: set[int]) -> tuple[list[int], list[int]]:
    """The first k years of ``years`` that are not skipped, and the skipped ones passed over."""
    chosen, passed = [], []
    for y in years:
        if len(chosen) == k:
            break
        (passed if y in skipped else chosen).append(y)
    return sorted(chosen), passed


def smoothed_ends(
    rates: pd.DataFrame, column: str, start: int, end: int, k: int = DEFAULT_K, *, skip: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Mean of ``column`` over the first and last ``k`` years of ``start``..``end``, per region.

    Parameters
    ----------
    rates : DataFrame
        Wide panel with ``region``, ``year`` and ``column``.
    start, end, k : int
        Window and number of years averaged at each end (1 <= k <= half the window, so the
        two ends never share a year).
    skip : DataFrame, optional
        ``region``, ``year`` of years to leave out (e.g. :func:`break_years`): the end then
        moves inward to the next years inside the window, so k years are still averaged.

    Returns
    -------
    DataFrame
        ``region``, ``start_rate``, ``end_rate``, ``start_years`` and ``end_years`` (the years
        averaged, so a reader can check), ``skipped_years`` and ``reason`` naming missing years.
        A mean is NaN unless all its k years have a value (no partial means).
    """
    if not 1 <= k <= (end - start + 1) // 2:
        raise ConfigError(
            f"smoothing k={k} must be between 1 and half the period length, {(end - start + 1) // 2} for "
            f"{start}-{end}, so that the start and end years do not overlap."
        )
    skip_by = {} if skip is None else skip.groupby("region")["year"].apply(lambda s: set(s.astype(int))).to_dict()
    window = list(range(start, end + 1))
    rows = []
    for region, g in rates.groupby("region", sort=True):
        s = g.set_index("year")[column]
        skipped = skip_by.get(region, set())
        rec, reasons, passed_all = {"region": region}, [], []
        for side, order in (("start", window), ("end", window[::-1])):
            years, passed = _end_years(order, k, skipped)
            passed_all += passed
            v = s.reindex(years)
            ok = len(years) == k and v.notna().all()
            rec[f"{side}_rate"] = float(v.mean()) if ok else np.nan
            rec[f"{side}_years"] = ",".join(map(str, years))
            if v.isna().any():
                have = s.dropna().index
                span = f"{have.min()}-{have.max()}" if len(have) else "no years"
                reasons.append(f"{column} missing in {[int(y) for y in v.index[v.isna()]]} (data: {span})")
            elif len(years) < k:
                reasons.append(f"fewer than {k} usable years at the {side} of {start}-{end}")
        shared = set(map(int, filter(None, rec["start_years"].split(",")))) & set(map(int, filter(None, rec["end_years"].split(","))))
        if shared:
            rec["start_rate"] = rec["end_rate"] = np.nan
            reasons.append(f"after skipping, the start and end share year(s) {sorted(shared)}; widen the window")
        rec["skipped_years"] = ",".join(map(str, sorted(set(passed_all))))
        rec["reason"] = "; ".join(reasons)
        rows.append(rec)
    cols = ["region", "start_rate", "end_rate", "start_years", "end_years", "skipped_years", "reason"]
    return pd.DataFrame(rows, columns=cols)


def classify_trend(start_rate, end_rate, *, rel_tol: float = DEFAULT_REL_TOL,
                   abs_tol: float = DEFAULT_ABS_TOL) -> np.ndarray:
    """Migration-trend type of each (start, end) pair of net migration rates.

    Parameters
    ----------
    start_rate, end_rate : array-like of float
        Smoothed rates (per 1,000) at the start and end of the window.
    rel_tol : float, default :data:`DEFAULT_REL_TOL` (0.2)
        Share of the start value by which the end must be lower for an inflow to be
        "clearly lower" (weakening).
    abs_tol : float, default :data:`DEFAULT_ABS_TOL` (0.5)
        Absolute floor of that margin, in rate points of the rates' unit (per 1,000 here;
        scale it with the unit, e.g. 5.0 for rates per 10,000).

    Returns
    -------
    ndarray of object
        One of :data:`TREND_TYPES`, or None where an input is missing or the end rate is 0
        with a positive start (not covered by the table).

    Notes
    -----
    With margin :math:`\\delta = \\max(\\text{rel\\_tol}\\cdot|s|, \\text{abs\\_tol})`:
    s > 0, e > 0: weakening inflow if e < s - δ, else stable inflow (rises are stable);
    s <= 0, e > 0: emerging inflow; s >= 0, e < 0: emerging outflow;
    s < 0, e < 0: intensifying outflow if |e| >= |s|, else weakening outflow (the table has
    no "stable outflow", so outflows are compared by magnitude without a tolerance).
    """
    s = np.asarray(start_rate, dtype="float64")
    e = np.asarray(end_rate, dtype="float64")
    delta = np.maximum(rel_tol * np.abs(s), abs_tol)
    conds = [
        (s > 0) & (e > 0) & (e >= s - delta),
        (s > 0) & (e > 0) & (e < s - delta),
        (s <= 0) & (e > 0),
        (s >= 0) & (e < 0),
        (s < 0) & (e < 0) & (np.abs(e) < np.abs(s)),
        (s < 0) & (e < 0) & (np.abs(e) >= np.abs(s)),
    ]
    return np.select(conds, np.array(TREND_TYPES, dtype=object), default=None)


def _rates(panel: pd.DataFrame) -> pd.DataFrame:
    return migration_rates(panel, per=(1000,), denominator="population_avg")


def migration_trend_types(
    panel: pd.DataFrame, start: int, end: int, *, k: int = DEFAULT_K, rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = DEFAULT_ABS_TOL, flows: Sequence[str] = ("total", "internal", "external"),
    skip: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Stage 3 types of each region for total, internal and external net migration.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``net_migration``, ``population_avg`` and, for internal/external,
        ``interregional_net`` and ``external_net``.
    start, end : int
        Window (inclusive). Start and end rates are means over the first and last ``k`` years.
    k, rel_tol, abs_tol
        Smoothing and tolerance, see :func:`smoothed_ends` and :func:`classify_trend`; defaults
        :data:`DEFAULT_K`, :data:`DEFAULT_REL_TOL`, :data:`DEFAULT_ABS_TOL` (3, 0.2, 0.5).
    skip : DataFrame, optional
        ``region``, ``year`` to leave out of the smoothed ends, typically
        :func:`break_years` (census re-basing and territory transfers absorbed by the
        balancing-equation net migration); applied to every flow.
    flows : sequence of {"total", "internal", "external"}
        A flow whose series does not cover both ends (interregional flows exist only for
        2022-2024) is reported with ``type`` NA and the ``reason``, never invented.

    Returns
    -------
    DataFrame
        ``region``, ``flow``, ``start``, ``end``, ``start_rate``, ``end_rate``, ``type``,
        ``type_code`` (1..6 in :data:`TREND_TYPES` order), ``start_years``, ``end_years``,
        ``skipped_years``, ``reason``; national row excluded.
    """
    rates = _rates(panel)
    return _trend_types(rates.loc[rates["region"] != NATIONAL], start, end, k=k, rel_tol=rel_tol, abs_tol=abs_tol,
                        flows=flows, skip=skip)


def _trend_types(rates: pd.DataFrame, start: int, end: int, *, k: int, rel_tol: float, abs_tol: float,
                 flows: Sequence[str], skip: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`migration_trend_types` of regional rates already computed (:func:`_rates`, national row out)."""
    for f in flows:
        check_option("flow", f, FLOW_RATES, owner="migration_trend_types")
    parts = []
    for flow in flows:
        col = FLOW_RATES[flow]
        if col not in rates.columns:
            t = pd.DataFrame({"region": sorted(rates["region"].unique()), "start_rate": np.nan,
                              "end_rate": np.nan, "start_years": "", "end_years": "", "skipped_years": "",
                              "reason": f"{flow}: series absent from the data"})
        else:
            t = smoothed_ends(rates, col, start, end, k, skip=skip)
        t.insert(1, "flow", flow)
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out.insert(2, "start", start)
    out.insert(3, "end", end)
    out = add_trend_type(out, rel_tol=rel_tol, abs_tol=abs_tol)
    return out[TYPE_COLUMNS]


#: column layout of :func:`migration_trend_types` (shared by the paper method's table)
TYPE_COLUMNS = ["region", "flow", "start", "end", "start_rate", "end_rate", "type", "type_code",
                "start_years", "end_years", "skipped_years", "reason"]


def add_trend_type(ends: pd.DataFrame, *, rel_tol: float, abs_tol: float, unit: str = "per 1,000") -> pd.DataFrame:
    """Add ``type`` and ``type_code`` to a table of ``start_rate``, ``end_rate`` and ``reason``.

    Rows left without a type and without a reason (an end rate of exactly 0 after a positive
    start) get one naming the two rates in ``unit``. Returns a copy.
    """
    out = ends.copy()
    out["type"] = classify_trend(out["start_rate"], out["end_rate"], rel_tol=rel_tol, abs_tol=abs_tol)
    out["type_code"] = out["type"].map({t: i + 1 for i, t in enumerate(TREND_TYPES)}).astype("Int64")
    odd = out["type"].isna() & (out["reason"] == "")
    out.loc[odd, "reason"] = [f"start {s:+.2f}, end {e:+.2f} {unit}: not covered by the six types"
                              for s, e in zip(out.loc[odd, "start_rate"], out.loc[odd, "end_rate"])]
    return out


def rolling_trend_panel(
    panel: pd.DataFrame, *, window: int = DEFAULT_ROLL_WINDOW, k: int = DEFAULT_ROLL_K,
    rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL, flows: Sequence[str] = ("total",), skip: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Region-by-window panel of trend types: the outcome the stage 4 regressions explain.

    Each window ends in a year ``t`` and covers ``t-window+1 .. t``, with start/end rates the
    means of its first/last ``k`` years (defaults :data:`DEFAULT_ROLL_WINDOW` = 5 and
    :data:`DEFAULT_ROLL_K` = 2; tolerances as :func:`classify_trend`); windows end in the years
    where ``net_migration`` has any value. Windows whose ends lack data
    are kept with type NA and the reason. Columns as :func:`migration_trend_types` plus
    ``year`` = ``end``, the window's last year and the panel key (so the type of year t uses
    no data after t; with one flow, ``(region, year)`` is unique).
    """
    if window < 2 or not 1 <= k <= window // 2:
        raise ConfigError(f"rolling_trend_panel: need window >= 2 and 1 <= k <= window // 2; got window={window}, k={k}.")
    years = np.sort(panel.loc[panel["net_migration"].notna(), "year"].unique())
    if len(years) < window:
        raise PanelContractError(f"rolling_trend_panel: window={window} is longer than the panel's years {years.min()}-{years.max()}.")
    rates = _rates(panel)  # once for every window
    rates = rates.loc[rates["region"] != NATIONAL]
    parts = [_trend_types(rates, t - window + 1, t, k=k, rel_tol=rel_tol, abs_tol=abs_tol, flows=flows, skip=skip)
             for t in range(years.min() + window - 1, years.max() + 1)]
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "year", out["end"].astype("int64"))
    return out


def population_change_groups(
    panel: pd.DataFrame, start: int, end: int, *, k: int = DEFAULT_K, regions: Sequence[str] | None = None,
    skip: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Stage 1: the four groups of regions by the character of population change.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``population``, ``population_avg``, ``natural_increase`` and
        ``net_migration``.
    start, end : int
        Period of flows (inclusive), population from 1 Jan ``start`` to 1 Jan ``end + 1``.
    k : int, default :data:`DEFAULT_K` (3)
        Years averaged at each end for the smoothed net migration rates (per 1,000).
    regions : sequence of str, optional
        Units to classify (default: all but the national row). A unit without data for the
        period gets a row with ``group`` NA and the ``reason``.
    skip : DataFrame, optional
        Region-years left out of the smoothed rates (see :func:`smoothed_ends`) and of
        ``net_migration_excl_skipped``, which then decides the sign of M below. The cumulative
        ``net_migration`` always covers every year, since it must satisfy the balancing identity;
        but where net migration is derived from that identity a census re-basing year (e.g. +60
        per 1,000 in 2008) can turn a region of steady out-migration into a net receiver.

    Returns
    -------
    DataFrame
        The columns of :func:`kzmig.features.assessment.indicators.components_of_change` plus
        ``net_migration_excl_skipped``, ``migration_rate_start``, ``migration_rate_end``
        (smoothed, per 1,000) with the years averaged,
        ``natural_decrease`` (cumulative natural increase < 0), ``group`` (1..4, Int64) and
        ``group_label``.

    Notes
    -----
    With ΔP the change, N and M the cumulative natural increase and net migration (M without
    the skipped years when ``skip`` is given),
    :math:`m_0, m_1` the smoothed start and end net migration rates:

    * group 4 if ΔP < 0 (decline; ``natural_decrease`` marks N < 0 too);
    * group 1 if ΔP >= 0 and M >= 0 (the label says so when growth came from migration alone);
    * group 2 if ΔP >= 0, M < 0 and :math:`m_0 \\ge 0 > m_1` (out-migration appeared);
    * group 3 if ΔP >= 0, M < 0 otherwise (out-migration throughout). The label tells apart
      :math:`m_1 < m_0 < 0` (intensifying, the paper's case), easing outflow, and a balance
      back to >= 0 by the end, so the reader sees which variant applies.
    """
    if regions is None:
        regions = sorted(set(panel["region"]) - {NATIONAL})
    comp = components_of_change(panel, start, end, regions=regions)
    ends = smoothed_ends(_rates(panel), "net_migration_rate_per_1000", start, end, k, skip=skip)
    ends = ends.rename(columns={"start_rate": "migration_rate_start", "end_rate": "migration_rate_end",
                                "start_years": "rate_start_years", "end_years": "rate_end_years",
                                "reason": "rate_reason"})
    out = comp.merge(ends, on="region", how="left")
    out["net_migration_excl_skipped"] = _sum_excluding(panel, out["region"], start, end, skip)
    dp, n, m = out["population_change"], out["natural_increase"], out["net_migration_excl_skipped"]
    m0, m1 = out["migration_rate_start"], out["migration_rate_end"]
    g = np.select([dp < 0, (dp >= 0) & (m >= 0), (dp >= 0) & (m < 0) & (m0 >= 0) & (m1 < 0),
                   (dp >= 0) & (m < 0) & m0.notna() & m1.notna()], [4, 1, 2, 3], default=0)
    out["natural_decrease"] = (n < 0).where(n.notna())
    out["group"] = pd.array(np.where(g > 0, g, pd.NA), dtype="Int64")
    out["group_label"] = group_labels(out["group"], n, m0, m1)
    rr = out["rate_reason"].fillna("")
    out["reason"] = [("; ".join(x for x in (a, b) if x)) if gg == 0 else a for a, b, gg in zip(out["reason"], rr, g)]
    return out.drop(columns="rate_reason")


def group_labels(group: pd.Series, natural_increase: pd.Series, m0: pd.Series, m1: pd.Series) -> pd.Series:
    """Label of each stage 1 group, naming the variant that applies.

    :data:`GROUP_LABELS`, except: group 1 with natural decrease (growth from in-migration
    only); group 4 with natural decrease; group 3 whose end rate ``m1`` is back to >= 0, or
    whose outflow eased (``m0 < m1 < 0``). NA where the group is NA.
    """
    g = group.fillna(0).to_numpy(dtype="int64")
    n = natural_increase.to_numpy(dtype="float64")
    m0, m1 = m0.to_numpy(dtype="float64"), m1.to_numpy(dtype="float64")
    labels = group.map(GROUP_LABELS, na_action="ignore")
    labels = labels.where(~((g == 1) & (n < 0)), "growth from net in-migration only (natural decrease)")
    labels = labels.where(~((g == 4) & (n < 0)), GROUP_LABELS[4] + " (with natural decrease)")
    labels = labels.where(~((g == 3) & (m1 >= 0)), "growth from natural increase, net out-migration over the period, balance back to >= 0 by the end")
    return labels.where(~((g == 3) & (m1 < 0) & (m1 > m0)), "growth from natural increase, net out-migration easing")


def _sum_excluding(panel: pd.DataFrame, regions: pd.Series, start: int, end: int,
                   skip: pd.DataFrame | None) -> np.ndarray:
    """Cumulative net migration over start..end without the skipped years (NaN if a kept year is missing)."""
    skipped = set() if skip is None else set(zip(skip["region"].astype(str), skip["year"].astype(int)))
    res = []
    for region in regions:
        s = panel.loc[panel["region"] == region].set_index("year")["net_migration"].reindex(range(start, end + 1))
        keep = [y for y in s.index if (region, y) not in skipped]
        res.append(s.loc[keep].sum(min_count=len(keep)) if keep else np.nan)
    return np.asarray(res, dtype="float64")

