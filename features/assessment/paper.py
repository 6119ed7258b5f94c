"""The source assessment's own conventions (METHOD.md section 8): the "paper" method.

kzmig's default method (:mod:`kzmig.features.assessment.typology`) smooths the start and end rates over
:data:`~kzmig.features.assessment.typology.DEFAULT_K` years, skips break years, reads the stage 1 groups from
cumulative net migration and closes the growth index at 1 January of ``end + 1``. The source
assessment does none of that. This module reproduces its conventions, as far as its tables
show them:

* **growth index** = 100 x P(1 Jan ``start``) -> P(1 Jan ``end``): the flows of the end year are
  not in the index; cumulative natural increase and net migration are summed over
  ``start .. end - 1`` so that the balancing identity still closes (``flow_years``);
* **start and end rates**: single years, net migration per 10,000 of average annual population
  in ``start`` and in ``end``; no smoothing, no years skipped, break years kept;
* **stage 1 groups** from the sign of the population change and of the two single-year rates
  (:func:`paper_population_groups`);
* **stage 3 types** from the same single-year rates and the six-type table
  (:func:`kzmig.features.assessment.typology.classify_trend`, with the absolute tolerance scaled to per 10,000,
  :data:`PAPER_ABS_TOL`) (:func:`paper_trend_types`);
* **units formed after the start year** (Shymkent and Turkestan, split in 2018; the shipped data
  give them from 2017) are shown from the first year the data give them, with the reason, and
  are not classified over the period.

Where the source's rules leave a case open, the choices below are departures, stated so:

* a growing region whose rate turns from < 0 to >= 0 fits none of the four groups; it is left
  unclassified with the reason (``emerging_inflow="group1"`` reads it as group 1 instead);
* "clearly lower" has no figure in the source; the default tolerance is used, its absolute
  floor scaled to per 10,000 (:data:`PAPER_ABS_TOL`);
* units formed inside the period get no class over it (their own period is shorter);
* the shipped regional net migration of 2006-2022 is derived from the balancing equation
  (flag ``derived:balancing``), so a single-year rate carries any reclassification of that year;
  the source's registered-migration figures may differ.

Both tables keep the column names of the default tables where the concept is the same, so the
two can be diffed, and add ``index_start``, ``index_end``, ``flow_years``, ``rate_unit`` and
``convention``. :func:`method_sensitivity` (defined in :mod:`kzmig.features.assessment.sensitivity`, importable
from here) lists the regions whose class differs between the two methods.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.core.options import check_option
from kzmig.features.assessment.indicators import components_of_change, migration_rates
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.features.assessment.sensitivity import SENSITIVITY_COLUMNS, method_sensitivity
from kzmig.features.assessment.typology import (DEFAULT_ABS_TOL, DEFAULT_REL_TOL, FLOW_PREFIX, TYPE_COLUMNS, add_trend_type,
                                     group_labels)

__all__ = ["PAPER_ABS_TOL", "PAPER_RATE_BASE", "PAPER_RATE_UNIT", "SENSITIVITY_COLUMNS", "first_years",
           "method_sensitivity", "paper_convention", "paper_population_groups", "paper_trend_types",
           "single_year_ends"]

#: rate base of the source's tables
PAPER_RATE_BASE = 10000
PAPER_RATE_UNIT = "per 10,000"
#: the default absolute tolerance (rate points per 1,000) in points per 10,000: 0.5 -> 5.0, so
#: that a rate and its tolerance scale together and the classification does not depend on the unit
PAPER_ABS_TOL = DEFAULT_ABS_TOL * PAPER_RATE_BASE / 1000
#: treatment of a growing region whose rate turns from < 0 to >= 0 (outside the four groups)
EMERGING_INFLOW = ("unclassified", "group1")
EMERGING_INFLOW_LABEL = ("growth from natural increase, net in-migration emerging (rate < 0 at the start, "
                         ">= 0 at the end; group 1 read from the end rate)")
#: the default groups table's columns (:func:`kzmig.features.assessment.typology.population_change_groups`), then the extras
GROUP_COLUMNS = ["region", "start", "end", "population_start", "population_end", "population_change",
                 "growth_index", "natural_increase", "net_migration", "balancing_residual",
                 "share_natural_increase_pct", "share_net_migration_pct", "share_reason", "reason",
                 "migration_rate_start", "migration_rate_end", "rate_start_years", "rate_end_years",
                 "skipped_years", "net_migration_excl_skipped", "natural_decrease", "group", "group_label"]
EXTRA_COLUMNS = ["index_start", "index_end", "flow_years", "rate_unit", "convention"]


def paper_convention(start: int, end: int) -> str:
    """The paper method's conventions for ``start``-``end`` in one sentence (the ``convention`` column)."""
    return (f"paper: growth index 1 Jan {start} -> 1 Jan {end} (flows of {start}-{end - 1}; the {end} flows are "
            f"not in it); start and end rates: net migration per 10,000 average annual population in {start} "
            f"and in {end} alone (no smoothing, break years kept)")


def _check_period(start: int, end: int, owner: str) -> None:
    if end <= start:
        raise ConfigError(f"{owner}: end={end} must be after start={start}; the paper's index runs from "
                         f"1 Jan {start} to 1 Jan {end}, so the period needs at least two years.")


def first_years(panel: pd.DataFrame, start: int, end: int, regions: Sequence[str]) -> dict[str, int | None]:
    """Start year of each region: ``start``, or the first year of a unit formed inside the period.

    A region whose first population (1 Jan) in the panel is later than ``start`` but not
    later than ``end`` is a unit formed inside the period (Shymkent and Turkestan: 2017 in the
    shipped data) and starts in that year; a region with data from ``start`` or earlier starts
    in ``start`` (a gap at ``start`` is then reported as missing, not bridged); None where the
    region has no population up to ``end``. Uses ``population``, or ``population_avg`` where
    the panel has no ``population`` column.
    """
    col = "population" if "population" in panel.columns else "population_avg"
    first = panel.loc[panel[col].notna() & (panel["year"] <= end)].groupby("region")["year"].min()
    return {r: (max(int(first[r]), start) if r in first.index else None) for r in regions}


def _late_reason(first: int, start: int, end: int) -> str:
    return (f"unit formed after {start}: the data give it from {first}, so its inputs are shown from {first} "
            f"(index 1 Jan {first} -> 1 Jan {end}, start rate of {first}) and it is not classified over "
            f"{start}-{end}; an earlier figure in the source, if any, is not in the shipped data")


def single_year_ends(rates: pd.DataFrame, column: str, end: int, first: dict[str, int | None]) -> pd.DataFrame:
    """The value of ``column`` in each region's first year and in ``end``, with the years and reasons.

    Parameters
    ----------
    rates : DataFrame
        ``region``, ``year`` and ``column``.
    column : str
        Rate column.
    end : int
        Last year of the period.
    first : dict
        Region -> its start year (see :func:`first_years`); None: no data in the period.

    Returns
    -------
    DataFrame
        ``region``, ``start_rate``, ``end_rate``, ``start_years``, ``end_years``, ``skipped_years``
        (always ``""``: nothing is skipped) and ``reason`` naming a missing year and the years the
        series covers. No year is substituted for a missing one.
    """
    rows = []
    for region, y0 in first.items():
        s = rates.loc[rates["region"] == region].set_index("year")[column] if column in rates.columns else pd.Series(dtype="float64")
        have = s.dropna().index
        span = f"{int(have.min())}-{int(have.max())}" if len(have) else "no years"
        rec = {"region": region, "start_years": "" if y0 is None else str(y0), "end_years": str(end), "skipped_years": ""}
        reasons = []
        for side, year in (("start", y0), ("end", end)):
            v = s.get(year, np.nan) if year is not None else np.nan
            rec[f"{side}_rate"] = float(v)
            if year is None:
                reasons.append(f"{column}: no data in the period")
            elif pd.isna(v):
                reasons.append(f"{column} missing in {year} (data: {span})")
        rec["reason"] = "; ".join(dict.fromkeys(reasons))
        rows.append(rec)
    return pd.DataFrame(rows, columns=["region", "start_rate", "end_rate", "start_years", "end_years",
                                       "skipped_years", "reason"])


def _rates(panel: pd.DataFrame) -> pd.DataFrame:
    return migration_rates(panel, per=(PAPER_RATE_BASE,), denominator="population_avg")


def _rate_column(flow: str) -> str:
    return f"{FLOW_PREFIX[flow]}_rate_per_{PAPER_RATE_BASE}"


def paper_population_groups(
    panel: pd.DataFrame, start: int, end: int, *, regions: Sequence[str] | None = None,
    emerging_inflow: str = "unclassified",
) -> pd.DataFrame:
    """Stage 1 groups under the source's conventions (METHOD.md section 8).

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``population`` (1 Jan), ``population_avg``, ``natural_increase`` and
        ``net_migration``.
    start, end : int
        Period (``end > start``). Population from 1 Jan ``start`` to 1 Jan ``end``; cumulative
        flows over ``start .. end - 1``; rates of the single years ``start`` and ``end``.
    regions : sequence of str, optional
        Units to report (default: all but the national row).
    emerging_inflow : {"unclassified", "group1"}, default "unclassified"
        A growing region whose rate turns from < 0 to >= 0 fits none of the source's four
        groups. "unclassified" (default, a stated departure) leaves its group NA with the
        reason; "group1" reads it as group 1 from the end rate, with a label saying so.

    Returns
    -------
    DataFrame
        The columns of :func:`kzmig.features.assessment.typology.population_change_groups` (``migration_rate_start``
        and ``migration_rate_end`` are per 10,000 here, single years in ``rate_start_years`` and
        ``rate_end_years``; ``skipped_years`` is ``""``; ``net_migration_excl_skipped`` equals
        ``net_migration``), then ``index_start`` and ``index_end`` (years of the 1 January
        populations), ``flow_years``, ``rate_unit`` and ``convention``.

    Notes
    -----
    With ΔP = P(1 Jan end) - P(1 Jan start) and :math:`m_0, m_1` the rates of ``start`` and ``end``:

    * group 4 if ΔP < 0 (``natural_decrease`` marks cumulative natural decrease);
    * group 1 if ΔP >= 0, :math:`m_0 \\ge 0` and :math:`m_1 \\ge 0`;
    * group 2 if ΔP >= 0, :math:`m_0 \\ge 0 > m_1`;
    * group 3 if ΔP >= 0, :math:`m_0 < 0` and :math:`m_1 < 0` (the label tells an easing outflow,
      :math:`m_0 < m_1 < 0`, from the intensifying one the source names);
    * ΔP >= 0, :math:`m_0 < 0 \\le m_1`: see ``emerging_inflow``.

    Cumulative net migration is reported but does not decide the group, as in the source.
    A unit formed after ``start`` is shown from its first year and not classified.
    """
    _check_period(start, end, "paper_population_groups")
    check_option("emerging_inflow", emerging_inflow, EMERGING_INFLOW, owner="paper_population_groups")
    validate_panel(panel, required=("population", "population_avg", "natural_increase", "net_migration"),
                   missing="keep", source="paper_population_groups", allow_gaps=True)
    regions = sorted(set(panel["region"]) - {NATIONAL}) if regions is None else list(regions)
    first = first_years(panel, start, end, regions)
    pieces = []
    for y0 in sorted({y if y is not None else start for y in first.values()}):
        units = [r for r in regions if (first[r] if first[r] is not None else start) == y0]
        c = components_of_change(panel, y0, end - 1, regions=units)
        pieces.append(c.assign(index_start=y0, flow_years=f"{y0}-{end - 1}"))
    comp = pd.concat(pieces, ignore_index=True).set_index("region").loc[regions].reset_index()
    comp["start"], comp["end"], comp["index_end"] = start, end, end
    ends = single_year_ends(_rates(panel), _rate_column("total"), end, first)
    ends = ends.rename(columns={"start_rate": "migration_rate_start", "end_rate": "migration_rate_end",
                                "start_years": "rate_start_years", "end_years": "rate_end_years",
                                "reason": "rate_reason"})
    out = comp.merge(ends, on="region", how="left")
    out["net_migration_excl_skipped"] = out["net_migration"]
    dp, n = out["population_change"], out["natural_increase"]
    m0, m1 = out["migration_rate_start"], out["migration_rate_end"]
    late = np.array([first[r] is not None and first[r] > start for r in out["region"]])
    ok = dp.notna() & m0.notna() & m1.notna() & ~late
    emerging = ok & (dp >= 0) & (m0 < 0) & (m1 >= 0)
    g = np.select([ok & (dp < 0), ok & (m0 >= 0) & (m1 >= 0), ok & (m0 >= 0) & (m1 < 0), ok & (m0 < 0) & (m1 < 0),
                   emerging & (emerging_inflow == "group1")], [4, 1, 2, 3, 1], default=0)
    out["natural_decrease"] = (n < 0).where(n.notna())
    out["group"] = pd.array(np.where(g > 0, g, pd.NA), dtype="Int64")
    out["group_label"] = group_labels(out["group"], n, m0, m1).where(~emerging, EMERGING_INFLOW_LABEL)
    out.loc[out["group"].isna(), "group_label"] = pd.NA
    reasons = []
    for i, rec in enumerate(out.itertuples(index=False)):
        parts = [rec.reason] if rec.reason else []
        if late[i]:
            parts.insert(0, _late_reason(first[rec.region], start, end))
        elif emerging[i] and emerging_inflow == "unclassified":
            parts.append(f"rate turned from {rec.migration_rate_start:+.1f} ({start}) to {rec.migration_rate_end:+.1f} "
                         f"({end}) per 10,000 with the population growing: none of the source's four groups "
                         "(departure: left unclassified; emerging_inflow='group1' reads it as group 1)")
        if g[i] == 0 and rec.rate_reason:
            parts.append(rec.rate_reason)
        reasons.append("; ".join(dict.fromkeys(parts)))
    out["reason"] = reasons
    out["rate_unit"] = PAPER_RATE_UNIT
    out["convention"] = paper_convention(start, end)
    return out[GROUP_COLUMNS + EXTRA_COLUMNS]


def paper_trend_types(
    panel: pd.DataFrame, start: int, end: int, *, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = PAPER_ABS_TOL,
    flows: Sequence[str] = ("total", "internal", "external"),
) -> pd.DataFrame:
    """Stage 3 types under the source's conventions: single-year rates per 10,000.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``net_migration``, ``population_avg`` and, for internal/external,
        ``interregional_net`` and ``external_net``.
    start, end : int
        Period (``end > start``): the rates of the single years ``start`` and ``end``.
    rel_tol : float, default :data:`kzmig.features.assessment.typology.DEFAULT_REL_TOL` (0.2)
        Share of the start rate by which an inflow must fall to be "clearly lower"; a share, so
        it does not depend on the unit.
    abs_tol : float, default :data:`PAPER_ABS_TOL` (5.0)
        Absolute floor of that margin in points **per 10,000**: the default's 0.5 per 1,000
        scaled by 10, so that both methods draw the line at the same population share.
    flows : sequence of {"total", "internal", "external"}
        A flow without a value in ``start`` or ``end`` (regional internal and external flows
        exist only for 2022-2024) gets ``type`` NA and the reason.

    Returns
    -------
    DataFrame
        The columns of :func:`kzmig.features.assessment.typology.migration_trend_types` (``start_rate`` and
        ``end_rate`` per 10,000, single years in ``start_years`` and ``end_years``,
        ``skipped_years`` ``""``), then ``rate_unit`` and ``convention``. Units formed after
        ``start`` show the rate of their first year, with ``type`` NA and the reason.
    """
    _check_period(start, end, "paper_trend_types")
    for f in flows:
        check_option("flow", f, FLOW_PREFIX, owner="paper_trend_types")
    validate_panel(panel, required=("net_migration", "population_avg"), missing="keep", source="paper_trend_types",
                   allow_gaps=True)
    rates = _rates(panel)
    regions = sorted(set(rates["region"]) - {NATIONAL})
    first = first_years(panel, start, end, regions)
    late = {r: _late_reason(y, start, end) for r, y in first.items() if y is not None and y > start}
    parts = []
    for flow in flows:
        col = _rate_column(flow)
        t = single_year_ends(rates, col, end, first)
        if col not in rates.columns:
            t["reason"] = f"{flow}: series absent from the data"
        t.insert(1, "flow", flow)
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out.insert(2, "start", start)
    out.insert(3, "end", end)
    out = add_trend_type(out, rel_tol=rel_tol, abs_tol=abs_tol, unit=PAPER_RATE_UNIT)
    is_late = out["region"].isin(list(late))
    out.loc[is_late, ["type", "type_code"]] = pd.NA
    out.loc[is_late, "reason"] = ["; ".join(x for x in (late[r], why) if x)
                                  for r, why in zip(out.loc[is_late, "region"], out.loc[is_late, "reason"])]
    out["rate_unit"] = PAPER_RATE_UNIT
    out["convention"] = paper_convention(start, end)
    return out[TYPE_COLUMNS + ["rate_unit", "convention"]]
