"""Stage 2: composition of external migrants by education level and specialty, and the brain-drain view.

The data hold the composition only for single (partial) years, national, from three kinds of
rows (see ``data/README.md``):

* the article of 2022 (flag ``cited``): **full-year 2022** external arrivals and departures by
  8 specialties, and arrivals, departures and net by 4 education levels over **all flows**
  (internal + external; nationally internal moves cancel in the net only);
* SECONDARY press figures (flag ``secondary:press``): 2015 and 2017 (qualified specialists, 3
  specialties), January-September 2017, January-June 2022 (departures by 4 education levels and
  8 specialties), January-September 2023 (arrivals by 7 specialties, departures by 2);
* a user's annual series (``external_departures_specialty_medical`` ...), which this module reads
  like any full-year figure.

A variable's period is its suffix (``_jan_jun``, ``_jan_sep``; none = calendar year). The share
of a group is taken of the **external flow of the same period and direction**: the official
annual ``external_departures`` for a calendar year, the press period total
(``external_departures_jan_jun`` ...) for a partial one; where no total of that period exists
(January-September 2017) the share is missing, never estimated.
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from kzmig.core.options import check_option
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.features.data.variables import EDUCATION_LEVELS, SPECIALTIES

logger = logging.getLogger(__name__)

#: period suffix -> (label, months)
PERIODS = {"": ("", 12), "_jan_jun": ("Jan-Jun", 6), "_jan_sep": ("Jan-Sep", 9)}
DIMENSIONS = {"specialty": SPECIALTIES, "education": EDUCATION_LEVELS, "qualified": ("all_specialties",)}
PREFER = ("longest", "all")
_SFX = "(?P<sfx>_jan_jun|_jan_sep)?"
_PATTERNS = (
    ("external", "specialty", re.compile(
        rf"^external_(?P<dir>arrivals|departures)_specialty_(?P<cat>{'|'.join(SPECIALTIES)}){_SFX}$")),
    ("external", "education", re.compile(
        rf"^external_(?P<dir>arrivals|departures)(?:_15plus)?_education_(?P<cat>{'|'.join(EDUCATION_LEVELS)}){_SFX}$")),
    ("external", "qualified", re.compile(rf"^external_(?P<dir>arrivals|departures)_qualified_specialists{_SFX}$")),
    ("all_flows", "education", re.compile(
        rf"^migration_all_flows_(?P<dir>arrivals|departures|net)_education_(?P<cat>{'|'.join(EDUCATION_LEVELS)})$")),
)
COLUMNS = ["year", "period", "period_suffix", "months", "flow", "direction", "dimension", "category", "value",
           "flow_total", "share_of_flow_pct", "groups_reported", "groups_complete", "share_of_groups_pct",
           "variable", "flag", "source"]


def parse_variable(name: str) -> dict | None:
    """What a composition variable holds: ``flow``, ``direction``, ``dimension``, ``category``,
    ``suffix``; None for any other variable.

    Examples
    --------
    >>> parse_variable("external_departures_specialty_medical_jan_jun")["category"]
    'medical'
    """
    for flow, dim, pat in _PATTERNS:
        m = pat.match(name)
        if m:
            cat = m.groupdict().get("cat") or "all_specialties"
            return {"flow": flow, "direction": m["dir"], "dimension": dim, "category": cat,
                    "suffix": m.groupdict().get("sfx") or ""}
    return None


def period_label(year: int, suffix: str) -> str:
    """``(2022, "_jan_jun")`` -> ``"2022 Jan-Jun"``; a calendar year is the year alone."""
    return f"{year} {PERIODS[suffix][0]}".strip()


def composition_table(long: pd.DataFrame) -> pd.DataFrame:
    """Every observed figure of migrants by education level and specialty, with its shares.

    Parameters
    ----------
    long : DataFrame
        Long table ``region, year, variable, value[, flag, source]``; national rows are used.

    Returns
    -------
    DataFrame
        One row per figure (columns :data:`COLUMNS`): ``period`` (``"2022 Jan-Jun"``),
        ``months``, ``flow`` (``external`` or ``all_flows``), ``direction``, ``dimension``
        (``education``, ``specialty``, ``qualified`` = all specialties together), ``category``,
        ``value``; ``flow_total`` = external flow of that direction and period (NaN for all
        flows and where the period has no total) and ``share_of_flow_pct`` = 100 x value /
        flow_total; ``groups_reported`` (groups of the dimension given for that period and
        direction), ``groups_complete`` and ``share_of_groups_pct`` = 100 x value / sum of the
        groups, **only when every group is reported** (NaN otherwise: a partial list has no
        defensible denominator); ``variable``, ``flag``, ``source``.
    """
    validate_panel(long, source="composition_table")
    nat = long.loc[long["region"] == NATIONAL]
    parsed = {v: parse_variable(str(v)) for v in nat["variable"].unique()}
    rows = nat.loc[nat["variable"].map(lambda v: parsed[v] is not None)]
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    meta = pd.DataFrame([parsed[v] for v in rows["variable"]], index=rows.index)
    out = pd.concat([rows[["year", "variable", "value"]], meta], axis=1)
    out["flag"] = rows["flag"].fillna("").astype(str) if "flag" in rows else ""
    out["source"] = rows["source"].fillna("").astype(str) if "source" in rows else ""
    totals = {(int(y), str(v)): float(x) for y, v, x in zip(nat["year"], nat["variable"], nat["value"])}
    out["flow_total"] = [
        totals.get((int(y), f"external_{d}{s}"), np.nan) if f == "external" else np.nan
        for y, d, s, f in zip(out["year"], out["direction"], out["suffix"], out["flow"])]
    out["share_of_flow_pct"] = 100.0 * out["value"] / out["flow_total"].where(out["flow_total"] > 0)
    key = ["year", "suffix", "flow", "direction", "dimension"]
    g = out.groupby(key, sort=False)
    out["groups_reported"] = g["category"].transform("nunique").astype("int64")
    out["groups_complete"] = out["groups_reported"] == out["dimension"].map(lambda d: len(DIMENSIONS[d]))
    total = g["value"].transform("sum")
    ok = out["groups_complete"] & (out["direction"] != "net") & (out["dimension"] != "qualified") & (total > 0)
    out["share_of_groups_pct"] = np.where(ok, 100.0 * out["value"] / total.where(total > 0), np.nan)
    out["period"] = [period_label(int(y), s) for y, s in zip(out["year"], out["suffix"])]
    out["months"] = out["suffix"].map(lambda s: PERIODS[s][1]).astype("int64")
    out = out.rename(columns={"suffix": "period_suffix"})[COLUMNS]
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    out = out.assign(_d=out["dimension"].map(order)).sort_values(
        ["_d", "flow", "direction", "year", "months", "category"], kind="mergesort").drop(columns="_d")
    return out.astype({"year": "int64"}).reset_index(drop=True)


def observed_shares(long: pd.DataFrame, *, direction: str = "departures", dimension: str = "specialty",
                    prefer: str = "longest") -> pd.DataFrame:
    """Observed shares of each group in the external flow, one period per calendar year.

    Parameters
    ----------
    long : DataFrame
        Long table (national rows used); a user's annual series may be appended to the shipped one.
    direction : {"departures", "arrivals"}
    dimension : {"specialty", "education", "qualified"}
    prefer : {"longest", "all"}, default "longest"
        ``"longest"`` keeps, per group and calendar year, the period covering most months among
        those with a share (2022: the article's full year, not the press's January-June, which
        lies inside it; a year is one observation). ``"all"`` keeps every period (overlapping
        periods then count twice: for sensitivity checks only).

    Returns
    -------
    DataFrame
        ``category, year, period, months, value, total, share`` (a fraction), ``variable``,
        ``flag``; sorted by category and year. Figures without a period total are left out (logged).

    Notes
    -----
    A calendar-year share uses the official annual total, which for 2017 is a later vintage than
    the press figures it divides (arrivals 15,595 against 16,081 printed, departures 37,725
    against 37,704): the 2017 arrivals shares are about 3 % higher than the press's own ratio.
    A partial-year share is taken as representative of its calendar year (no seasonal correction).
    """
    check_option("direction", direction, ("arrivals", "departures"), owner="observed_shares")
    check_option("dimension", dimension, tuple(DIMENSIONS), owner="observed_shares")
    check_option("prefer", prefer, PREFER, owner="observed_shares")
    t = composition_table(long)
    t = t.loc[(t["flow"] == "external") & (t["direction"] == direction) & (t["dimension"] == dimension)]
    no_total = t["share_of_flow_pct"].isna()
    if no_total.any():
        logger.info("observed_shares: %d figures without a total of their period left out (%s).",
                    int(no_total.sum()), sorted(set(t.loc[no_total, "period"])))
    t = t.loc[~no_total]
    if prefer == "longest":
        t = t.sort_values(["category", "year", "months"], kind="mergesort").drop_duplicates(["category", "year"], keep="last")
    out = pd.DataFrame({
        "category": t["category"], "year": t["year"], "period": t["period"], "months": t["months"],
        "value": t["value"], "total": t["flow_total"], "share": t["value"] / t["flow_total"],
        "variable": t["variable"], "flag": t["flag"],
    })
    return out.sort_values(["category", "year", "months"], kind="mergesort").reset_index(drop=True)


def _missing_note(sub: pd.DataFrame, have_net: bool) -> str:
    """What the brain-drain view lacks in one period (``sub``: its composition rows)."""
    if sub.empty:
        return "no figure by education or specialty for this year"
    notes = []
    dep = sub.loc[(sub["flow"] == "external") & (sub["direction"] == "departures")]
    edu = dep.loc[dep["dimension"] == "education"]
    if not have_net:
        notes.append("net by education not available" + (
            " (external departures by education only, no arrivals)" if not edu.empty else ""))
    elif (sub["flow"] == "all_flows").any():
        notes.append("net by education from all flows (nationally equal to the external net)")
    spec = set(dep.loc[dep["dimension"] == "specialty", "category"])
    if not spec:
        notes.append("departures by specialty not reported")
    elif len(spec) < len(SPECIALTIES):
        notes.append("specialties not reported: " + ", ".join(s for s in SPECIALTIES if s not in spec))
    if edu.empty:
        notes.append("external departures by education not reported")
    return "; ".join(notes)


def brain_drain_table(long: pd.DataFrame) -> pd.DataFrame:
    """The brain-drain view per year: net external migration of people with higher or secondary
    vocational education where the data allow it, and departures by specialty.

    Parameters
    ----------
    long : DataFrame
        Long table (national rows used).

    Returns
    -------
    DataFrame
        One row per year and period with composition figures, plus one row per other year with
        external flows (``period`` = the year, every figure NaN): ``year``, ``period``,
        ``months``, ``external_departures`` (of that period: official for a calendar year, the
        press total for a partial one), ``net_higher_vocational`` (external arrivals - departures
        of both groups where both exist; else, for a calendar year, the all-flows net by
        education, in which interregional moves cancel nationally), ``net_basis``,
        ``departures_higher_vocational`` (external departures of both groups),
        ``departures_qualified_specialists``, ``departures_<specialty>`` for the 8 groups,
        ``specialties_reported``, ``flag`` (tokens of the figures used) and ``note`` (what is
        missing that year).
    """
    t = composition_table(long)
    nat = long.loc[(long["region"] == NATIONAL)]
    annual = nat.loc[nat["variable"] == "external_departures"].set_index("year")["value"]
    rows = []
    for (year, sfx), sub in t.groupby(["year", "period_suffix"], sort=True):
        val = {(f, d, dim, c): v for f, d, dim, c, v in
               zip(sub["flow"], sub["direction"], sub["dimension"], sub["category"], sub["value"])}
        hv = ("higher", "secondary_vocational")
        ext = [val.get(("external", d, "education", e)) for d in ("arrivals", "departures") for e in hv]
        net, basis = np.nan, ""
        if all(v is not None for v in ext):
            net, basis = ext[0] + ext[1] - ext[2] - ext[3], "external arrivals - departures by education"
        elif all(("all_flows", "net", "education", e) in val for e in hv):
            net = sum(val[("all_flows", "net", "education", e)] for e in hv)
            basis = "all-flows net by education (internal moves cancel nationally)"
        dep_edu = ext[2:]
        total = sub.loc[(sub["flow"] == "external") & (sub["direction"] == "departures"), "flow_total"].dropna()
        row = {"year": int(year), "period": period_label(int(year), sfx), "months": PERIODS[sfx][1],
               "external_departures": float(total.iloc[0]) if len(total) else (
                   float(annual.get(year, np.nan)) if sfx == "" else np.nan),
               "net_higher_vocational": net, "net_basis": basis,
               "departures_higher_vocational": sum(dep_edu) if all(v is not None for v in dep_edu) else np.nan,
               "departures_qualified_specialists": val.get(("external", "departures", "qualified", "all_specialties"), np.nan)}
        for s in SPECIALTIES:
            row[f"departures_{s}"] = val.get(("external", "departures", "specialty", s), np.nan)
        row["specialties_reported"] = int(sum(pd.notna(row[f"departures_{s}"]) for s in SPECIALTIES))
        row["flag"] = ";".join(sorted({tok for f in sub["flag"] for tok in str(f).split(";") if tok}))
        row["note"] = _missing_note(sub, pd.notna(net))
        rows.append(row)
    seen = {r["year"] for r in rows}
    for year, dep in annual.items():
        if int(year) not in seen:
            rows.append({"year": int(year), "period": str(int(year)), "months": 12, "external_departures": float(dep),
                         "specialties_reported": 0, "flag": "", "net_basis": "",
                         "note": _missing_note(t.iloc[0:0], False)})
    cols = ["year", "period", "months", "external_departures", "net_higher_vocational", "net_basis",
            "departures_higher_vocational", "departures_qualified_specialists",
            *[f"departures_{s}" for s in SPECIALTIES], "specialties_reported", "flag", "note"]
    out = pd.DataFrame(rows).reindex(columns=cols)
    return out.sort_values(["year", "months"], kind="mergesort").astype({"year": "int64", "months": "int64"}).reset_index(drop=True)
