"""Sensitivity of the stage 1 groups and stage 3 types to the method (METHOD.md section 8).

:func:`method_sensitivity` sets the default method's tables
(:func:`kzmig.features.assessment.typology.population_change_groups`, :func:`kzmig.features.assessment.typology.migration_trend_types`)
beside the paper method's (:func:`kzmig.features.assessment.paper.paper_population_groups`,
:func:`kzmig.features.assessment.paper.paper_trend_types`) and lists every region whose class differs, with
both methods' inputs and a ``why`` written from the numbers: the input whose sign differs
between the methods (population change, cumulative net migration, start or end rate), or,
where every sign agrees, the ratio of end to start rate that crosses a threshold.
"""
from __future__ import annotations

import math
import re

import pandas as pd

from kzmig.core.errors import PanelContractError

GROUP_NEED = ("region", "start", "end", "population_change", "growth_index", "net_migration", "group",
              "migration_rate_start", "migration_rate_end", "rate_start_years", "rate_end_years", "reason")
TYPE_NEED = ("region", "flow", "start_rate", "end_rate", "start_years", "end_years", "type", "reason")
#: output columns of :func:`method_sensitivity`
SENSITIVITY_COLUMNS = [
    "region", "stage", "flow", "default_class", "paper_class",
    "default_growth_index", "default_index_period", "paper_growth_index", "paper_index_period",
    "default_population_change", "paper_population_change",
    "default_net_migration", "default_net_migration_excl_skipped", "default_flow_years",
    "paper_net_migration", "paper_flow_years",
    "default_start_rate", "default_start_years", "default_end_rate", "default_end_years",
    "default_skipped_years", "default_rate_unit",
    "paper_start_rate", "paper_start_years", "paper_end_rate", "paper_end_years", "paper_rate_unit",
    "why",
]


def _check(table: pd.DataFrame, need: tuple[str, ...], name: str) -> None:
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise PanelContractError(f"method_sensitivity: {name} lacks column(s) {missing}; found {list(table.columns)}. "
                                 "Pass the tables of the typology and paper functions unchanged.")


def _get(row: pd.Series | None, col: str, default=math.nan):
    if row is None or col not in row.index:
        return default
    v = row[col]
    return default if v is None or (not isinstance(v, str) and pd.isna(v)) else v


def _context(row: pd.Series | None, side: str) -> dict:
    """Region-level inputs of one method from its groups row: index, its dates, cumulative flows."""
    start, end = _get(row, "start"), _get(row, "end")
    i0 = _get(row, "index_start", start)
    i1 = _get(row, "index_end", end + 1 if not pd.isna(end) else math.nan)
    period = "" if pd.isna(i0) or pd.isna(i1) else f"1 Jan {int(i0)} -> 1 Jan {int(i1)}"
    flows = _get(row, "flow_years", "" if pd.isna(start) else f"{int(start)}-{int(end)}")
    out = {f"{side}_growth_index": _get(row, "growth_index"), f"{side}_index_period": period, f"_{side}_index": (i0, i1),
           f"{side}_population_change": _get(row, "population_change"),
           f"{side}_net_migration": _get(row, "net_migration"), f"{side}_flow_years": flows}
    if side == "default":
        out["default_net_migration_excl_skipped"] = _get(row, "net_migration_excl_skipped", out["default_net_migration"])
    return out


def _rates(row: pd.Series | None, side: str, stage: str) -> dict:
    cols = (("migration_rate_start", "migration_rate_end", "rate_start_years", "rate_end_years") if stage == "group"
            else ("start_rate", "end_rate", "start_years", "end_years"))
    out = {f"{side}_{k}": _get(row, c, "" if k.endswith("years") else math.nan)
           for k, c in zip(("start_rate", "end_rate", "start_years", "end_years"), cols)}
    if side == "default":
        out["default_skipped_years"] = _get(row, "skipped_years", "")
    out[f"{side}_rate_unit"] = _get(row, "rate_unit", "per 1,000")
    return out


def _base(unit: str) -> int:
    digits = re.sub(r"\D", "", unit)
    return int(digits) if digits else 1000


def _rate_text(rate: float, unit: str, years: str, skipped: str = "") -> str:
    base = _base(unit)
    txt = f"{rate:+.2f} {unit}" if base == 1000 else f"{rate:+.1f} {unit} (= {rate * 1000 / base:+.2f} per 1,000)"
    ys = [int(y) for y in str(years).split(",") if y]
    if len(ys) > 1:
        inside = [s for s in str(skipped).split(",") if s and min(ys) < int(s) < max(ys)]
        return f"{txt}, mean of {','.join(map(str, ys))}" + (f" ({','.join(inside)} skipped)" if inside else "")
    return f"{txt}, {ys[0]} alone" if ys else txt


def _sign(x: float, three_way: bool) -> str:
    if three_way:
        return "> 0" if x > 0 else ("< 0" if x < 0 else "= 0")
    return ">= 0" if x >= 0 else "< 0"


def _rate_clauses(r: dict, three_way: bool) -> list[str]:
    out = []
    for which in ("start", "end"):
        d, p = r[f"default_{which}_rate"], r[f"paper_{which}_rate"]
        if pd.isna(d) or pd.isna(p) or _sign(d, three_way) == _sign(p, three_way):
            continue
        out.append(f"{which} rate {_sign(d, three_way)} in default, {_sign(p, three_way)} in paper: default "
                   f"{_rate_text(d, r['default_rate_unit'], r[f'default_{which}_years'], r['default_skipped_years'])}; "
                   f"paper {_rate_text(p, r['paper_rate_unit'], r[f'paper_{which}_years'])}")
    return out


def _unclassified(r: dict) -> list[str]:
    return [f"{side} leaves it unclassified: {r[f'_{side}_reason'] or 'no row in its table'}"
            for side in ("default", "paper") if r[f"{side}_class"] == "unclassified"]


def _index_gap(r: dict, gap: float) -> str:
    (d0, d1), (p0, p1) = r["_default_index"], r["_paper_index"]
    if d0 == p0 and d1 != p1:
        longer, (a, b) = ("default", (p1, d1)) if d1 > p1 else ("paper", (d1, p1))
        return f"the {longer}'s index also covers 1 Jan {int(a)} -> 1 Jan {int(b)} ({gap if longer == 'default' else -gap:+,.0f})"
    return f"the two indices differ by {gap:+,.0f} persons"


def _why_group(r: dict) -> str:
    clauses = _unclassified(r)
    if clauses:
        return "; ".join(clauses)
    dd, dp = r["default_population_change"], r["paper_population_change"]
    if (dd >= 0) != (dp >= 0):
        verb = {True: "grows", False: "declines"}
        clauses.append(f"population {verb[dd >= 0]} in default ({dd:+,.0f}, index {r['default_growth_index']:.1f}, "
                       f"{r['default_index_period']}) but {verb[dp >= 0]} in paper ({dp:+,.0f}, index "
                       f"{r['paper_growth_index']:.1f}, {r['paper_index_period']}): " + _index_gap(r, dd - dp))
    elif dd >= 0 and (r["default_class"] == "group 1") != (r["paper_class"] == "group 1"):
        m, m_all = r["default_net_migration_excl_skipped"], r["default_net_migration"]
        excl = f" without break years ({m_all:+,.0f} with them)" if m != m_all else ""
        clauses.append(f"default reads the migration side from cumulative net migration {m:+,.0f} over "
                       f"{r['default_flow_years']}{excl} ({_sign(m, False)}), paper from the single-year rates only")
    if dd >= 0 and dp >= 0:
        clauses += _rate_clauses(r, three_way=False)
    return "; ".join(clauses) or f"{r['default_class']} vs {r['paper_class']}: the inputs above agree in sign"


def _why_type(r: dict) -> str:
    clauses = _unclassified(r) or _rate_clauses(r, three_way=True)
    if clauses:
        return "; ".join(clauses)
    sd, ed, sp, ep = (r[k] for k in ("default_start_rate", "default_end_rate", "paper_start_rate", "paper_end_rate"))
    rates = (f"default {_rate_text(sd, r['default_rate_unit'], r['default_start_years'], r['default_skipped_years'])} -> "
             f"{_rate_text(ed, r['default_rate_unit'], r['default_end_years'], r['default_skipped_years'])}; paper "
             f"{_rate_text(sp, r['paper_rate_unit'], r['paper_start_years'])} -> "
             f"{_rate_text(ep, r['paper_rate_unit'], r['paper_end_years'])}")
    if sd > 0 and sp > 0:
        return (f"same signs, end/start ratio differs: default {ed / sd:.2f} ({r['default_class']}), paper "
                f"{ep / sp:.2f} ({r['paper_class']}); an inflow weakens when the end falls clearly below the "
                f"start (rel_tol, abs_tol); {rates}")
    return (f"same signs, |end|/|start| differs: default {abs(ed / sd):.2f} ({r['default_class']}), paper "
            f"{abs(ep / sp):.2f} ({r['paper_class']}); an outflow intensifies when the ratio is >= 1; {rates}")


def _cls(row: pd.Series | None, stage: str) -> str:
    v = _get(row, "group" if stage == "group" else "type", None)
    if v is None:
        return "unclassified"
    return f"group {int(v)}" if stage == "group" else str(v)


def method_sensitivity(
    default_groups: pd.DataFrame, paper_groups: pd.DataFrame, default_types: pd.DataFrame, paper_types: pd.DataFrame,
) -> pd.DataFrame:
    """Every region whose stage 1 group or stage 3 type differs between the default and paper methods.

    Parameters
    ----------
    default_groups, paper_groups : DataFrame
        :func:`kzmig.features.assessment.typology.population_change_groups` and
        :func:`kzmig.features.assessment.paper.paper_population_groups` for the same period and regions.
    default_types, paper_types : DataFrame
        :func:`kzmig.features.assessment.typology.migration_trend_types` and :func:`kzmig.features.assessment.paper.paper_trend_types`.

    Returns
    -------
    DataFrame
        :data:`SENSITIVITY_COLUMNS`: one row per region and ``stage`` (``"group"``, read from total
        net migration, so ``flow`` is ``"total"``; or ``"type"`` per ``flow``) whose class differs,
        with ``default_class`` and ``paper_class`` (``"group 2"``, a type, or ``"unclassified"``),
        each method's growth index with its dates, population change, cumulative net migration
        with its years (for the default also without break years), start and end rates with
        their years, skipped years and unit, and ``why``. The region-level inputs (index,
        cumulative flows) come from the groups tables and are repeated on the type rows.

    Notes
    -----
    A class differs when the two labels differ, "unclassified" (NA) counting as a label; a
    region unclassified by both (e.g. a unit formed inside the period) is not listed. ``why``
    names, in this order: a side that is unclassified and its reason; a sign of the population
    change that differs (groups); the default's reading of cumulative net migration where only
    one method puts the region in group 1 (groups); each start or end rate whose sign differs,
    with its years and unit (per 10,000 rates also converted to per 1,000); where every sign
    agrees (types), the end/start ratio of each method. Default rates without a ``rate_unit``
    column are taken as per 1,000, the default tables' unit.
    """
    for t, need, name in ((default_groups, GROUP_NEED, "default_groups"), (paper_groups, GROUP_NEED, "paper_groups"),
                          (default_types, TYPE_NEED, "default_types"), (paper_types, TYPE_NEED, "paper_types")):
        _check(t, need, name)
    dg, pg = (g.drop_duplicates("region").set_index("region", drop=False) for g in (default_groups, paper_groups))
    dt, pt = (t.set_index(["region", "flow"], drop=False) for t in (default_types, paper_types))
    rows = []
    keys = [(r, "group", "total") for r in sorted(set(dg.index) | set(pg.index))]
    flows = list(dict.fromkeys([*default_types["flow"], *paper_types["flow"]]))
    keys += [(r, "type", f) for r, f in set(dt.index) | set(pt.index)]
    for region, stage, flow in sorted(set(keys), key=lambda k: (k[1] != "group", flows.index(k[2]) if k[1] == "type" else 0, k[0])):
        d_ctx, p_ctx = (g.loc[region] if region in g.index else None for g in (dg, pg))
        d_row, p_row = ((d_ctx, p_ctx) if stage == "group" else
                        tuple(t.loc[(region, flow)] if (region, flow) in t.index else None for t in (dt, pt)))
        r = {"region": region, "stage": stage, "flow": flow,
             "default_class": _cls(d_row, stage), "paper_class": _cls(p_row, stage)}
        if r["default_class"] == r["paper_class"]:
            continue
        r.update(_context(d_ctx, "default") | _context(p_ctx, "paper"))
        r.update(_rates(d_row, "default", stage) | _rates(p_row, "paper", stage))
        r["_default_reason"], r["_paper_reason"] = _get(d_row, "reason", ""), _get(p_row, "reason", "")
        r["why"] = _why_group(r) if stage == "group" else _why_type(r)
        rows.append(r)
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
