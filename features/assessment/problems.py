"""Stage 4 'problem' flags and the factor-by-type cross-tabulation (METHOD.md section 4).

* :func:`problem_flags` and :func:`problem_counts`: a region has a labour-surplus, low-wage,
  low-income, housing or low-attractiveness problem when its indicator is on the wrong side of
  the national value; how many regions carry each problem per year (and which indicator the
  year used: the low-wage flag reads the wage, and falls back to money income per capita only
  in years without any regional wage, 2000-2010 in the shipped data);
* :func:`tercile_crosstab`: each factor's tercile against the migration-trend type, the plain
  table the source paper shows beside the regressions.

Moved here from :mod:`kzmig.features.assessment.typology`, which still re-exports these names.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.core.options import check_option
from kzmig.features.assessment.indicators import national_reference
from kzmig.features.data.panel import KEYS, validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.features.assessment.typology import TREND_TYPES

logger = logging.getLogger(__name__)


#: problem -> (indicator columns in order of preference, "<" or ">", benchmark: "national" or a number)
PROBLEM_RULES = {
    "labour_surplus": (("unemployment_gap_pp",), ">", 0.0),
    # the wage itself; money income per capita only in years no region has a wage
    "low_wage": (("wage_rel_national_pct", "income_rel_national_pct"), "<", 100.0),
    # the income proxy under its own name (the low-wage flag of releases before the 2011-2024 wages)
    "low_income": (("income_rel_national_pct",), "<", 100.0),
    "housing": (("new_housing_m2_per_1000",), "<", "national"),
    "low_attractiveness": (("attractiveness_equal",), "<", 0.0),
}


def problem_flags(features: pd.DataFrame, rules: Mapping[str, tuple] | None = None) -> pd.DataFrame:
    """Stage 4 problem flags per region and year, in long form.

    Parameters
    ----------
    features : DataFrame
        Wide panel of features (the outputs of the builders merged on region and year), with
        ``population`` when a rule's benchmark is ``"national"``.
    rules : mapping, optional
        ``problem -> (columns, op, benchmark)``; the first of ``columns`` present in the
        panel is used, and in a year where no regional row has a value of it, the next
        present column that has one (year by year, so that every region of a year is judged
        on one concept; ``indicator`` says which). A region has the problem when
        ``value op benchmark``. ``"national"`` means the national
        value of that year (:func:`kzmig.features.assessment.indicators.national_reference`, population-weighted
        mean of regions where the national row lacks it). Defaults (:data:`PROBLEM_RULES`):
        labour surplus = unemployment above the national rate; low wage = wage below 100 % of
        the national value (income per capita in years without regional wages); low income =
        money income per capita below 100 % of the national value; housing = new housing per 1,000 below the national
        value; low attractiveness = equal-weight index below 0 (the average region).

    Returns
    -------
    DataFrame
        ``region``, ``year``, ``problem``, ``indicator``, ``value``, ``benchmark``, ``flag``
        (1.0/0.0, NaN where the value or benchmark is missing). Problems whose indicator is
        absent are skipped with a log message. National rows are excluded.
    """
    rules = PROBLEM_RULES if rules is None else rules
    validate_panel(features, missing="keep", source="problem_flags", allow_gaps=True)
    parts = []
    for problem, (cols, op, bench) in rules.items():
        check_option("op", op, ("<", ">"), owner=f"problem_flags[{problem}]")
        present = [c for c in cols if c in features.columns]
        if not present:
            logger.info("problem_flags: %s skipped, none of %s present", problem, list(cols))
            continue
        indicator = _indicator_by_year(features, present, problem)
        v = pd.Series(np.nan, index=features.index, dtype="float64")
        b = pd.Series(np.nan, index=features.index, dtype="float64")
        for col in present:
            rows = indicator == col
            if not rows.any():
                continue
            v[rows] = features.loc[rows, col].astype("float64")
            if bench == "national":
                b[rows] = features.loc[rows, "year"].map(national_reference(features, col, weight="population"))
            else:
                b[rows] = float(bench)
        flag = (v < b) if op == "<" else (v > b)
        parts.append(pd.DataFrame({
            "region": features["region"], "year": features["year"], "problem": problem,
            "indicator": indicator, "value": v, "benchmark": b.astype("float64"),
            "flag": flag.astype("float64").where(v.notna() & b.notna()),
        }))
    if not parts:
        raise PanelContractError(f"problem_flags: no indicator of any rule is present; rules: {dict(rules)}.")
    out = pd.concat(parts, ignore_index=True)
    return out.loc[out["region"] != NATIONAL].reset_index(drop=True)


def _indicator_by_year(features: pd.DataFrame, present: Sequence[str], problem: str) -> pd.Series:
    """Per row, the first column of ``present`` that some regional row of the same year has."""
    regional = features["region"] != NATIONAL
    chosen = pd.Series(present[0], index=features.index, dtype=object)
    years = features["year"]
    for col in reversed(present):  # the most preferred column with a value wins
        has = features.loc[regional & features[col].notna(), "year"].unique()
        chosen[years.isin(has)] = col
    used = chosen[regional].groupby(years[regional]).first()
    for col in present[1:]:
        fell = sorted(int(y) for y in used.index[used == col])
        if fell:
            logger.info("problem_flags: %s uses %s in %d year(s) without %s: %s", problem, col, len(fell),
                        present[0], fell)
    return chosen


def problem_counts(flags: pd.DataFrame) -> pd.DataFrame:
    """Number of regions with each problem per year.

    Columns ``year``, ``problem``, ``n_regions``, ``n_with_data`` and, when ``flags`` has an
    ``indicator`` column, ``indicator``: the indicator of that year (where a rule falls back to
    another column, e.g. ``income_rel_national_pct`` for the low-wage flag before 2011).
    """
    g = flags.groupby(["year", "problem"], sort=True)["flag"]
    # a year with no region's indicator has no count of problems (NaN), not zero
    out = pd.DataFrame({"n_regions": g.sum(min_count=1), "n_with_data": g.count()})
    if "indicator" in flags.columns:
        ind = flags.groupby(["year", "problem"], sort=True)["indicator"].agg(
            lambda s: ";".join(sorted(set(s.dropna().astype(str)))))
        out["indicator"] = ind
    return out.reset_index()


def tercile_crosstab(
    features: pd.DataFrame, types: pd.DataFrame, factors: Sequence[str], *, start: int, end: int,
    flow: str = "total",
) -> pd.DataFrame:
    """Cross-tabulation of each factor's tercile against the migration-trend type.

    Each region's factor value is its mean over ``start``..``end`` (years with a value);
    regions are split into terciles (low / middle / high, by rank, ties broken by order of
    appearance) and counted against ``types`` of the given ``flow``. Returns ``factor``,
    ``tercile``, ``type``, ``n`` (all combinations, zeros included). Regions without a type or
    a factor value are left out and counted in the log.
    """
    missing = [f for f in factors if f not in features.columns]
    if missing:
        raise PanelContractError(f"tercile_crosstab: factor column(s) {missing} absent; found {sorted(set(features.columns) - set(KEYS))}.")
    t = types.loc[(types["flow"] == flow) & types["type"].notna(), ["region", "type"]]
    win = features.loc[features["year"].between(start, end) & (features["region"] != NATIONAL)]
    rows = []
    for f in factors:
        m = win.groupby("region")[f].mean().dropna().rename("value").reset_index().merge(t, on="region")
        if len(m) < 3:
            logger.info("tercile_crosstab: %s has %d regions with a value and a type; skipped", f, len(m))
            continue
        m["tercile"] = pd.qcut(m["value"].rank(method="first"), 3, labels=["low", "middle", "high"])
        ct = pd.crosstab(m["tercile"], pd.Categorical(m["type"], categories=TREND_TYPES), dropna=False)
        long = ct.stack().rename("n").reset_index()
        long.columns = ["tercile", "type", "n"]
        long.insert(0, "factor", f)
        rows.append(long)
    cols = ["factor", "tercile", "type", "n"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
