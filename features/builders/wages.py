"""Wage and income levels relative to the national value, and their growth (METHOD.md section 4).

Two concepts, each under its own name so that a reader always sees which one a column holds:

* ``wage``: the average monthly nominal wage per employee (``avg_wage_kzt``, BNS element 5676;
  shipped for the regions 2011-2024 and nationally 2000-2024);
* ``income``: nominal money income per capita (``money_income_per_capita_kzt``, 2000-2024), the
  proxy the toolkit used while regional wages existed for 2020 only.

The shipped data hold no consumer price index, so without ``cpi`` growth is **nominal** and
named so (``*_nominal_growth_pct``); ``*_real_growth_pct`` exists only when a CPI is passed.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.features.assessment.indicators import national_reference
from kzmig.features.builders.lags import add_lags, growth_factor
from kzmig.core.options import check_option
from kzmig.features.data.panel import KEYS, validate_panel
from kzmig.features.data.regions import NATIONAL, load_regions

logger = logging.getLogger(__name__)

#: concept -> source column
PROXIES = {"wage": "avg_wage_kzt", "income": "money_income_per_capita_kzt"}
#: concept -> weight of the national value where the panel has no national row (wage: per
#: employee, so employed persons; income: per capita, so population)
NATIONAL_WEIGHTS = {"wage": "employed_population", "income": "population"}
#: ``proxy`` choices of :func:`build_wages`
CHOICES = ("both", "auto", *PROXIES)


def choose_proxy(panel: pd.DataFrame, proxy: str = "auto") -> str:
    """Return ``"wage"`` or ``"income"`` (one concept for the whole panel).

    ``"auto"`` picks the regional average wage when it has a value for every regional row of
    the panel, otherwise money income per capita, and logs the choice: a series never
    switches concept between years. The shipped wages start in 2011, so on a panel reaching
    back before 2011 ``"auto"`` gives income. In backtests pass the concept explicitly:
    ``"auto"`` looks at every year of the panel it is given.
    """
    check_option("proxy", proxy, ("auto", *PROXIES), owner="build_wages")
    if proxy != "auto":
        if PROXIES[proxy] not in panel.columns:
            raise PanelContractError(f"build_wages: proxy={proxy!r} needs column {PROXIES[proxy]!r}, absent; found {list(panel.columns)}.")
        return proxy
    reg = panel.loc[panel["region"] != NATIONAL]
    wage = PROXIES["wage"]
    if wage in panel.columns and reg[wage].notna().all():
        chosen = "wage"
    elif PROXIES["income"] in panel.columns:
        chosen = "income"
    else:
        raise PanelContractError(f"build_wages: neither {wage!r} (complete) nor {PROXIES['income']!r} is in the panel.")
    logger.info("build_wages: using %s (%s) as the wage proxy", chosen, PROXIES[chosen])
    return chosen


def split_years(panel: pd.DataFrame) -> pd.Series:
    """True for rows whose region lost territory to a new region that year (current borders).

    A region splits in year ``y`` when a region whose registry ``parent`` it is, created in
    ``y``, has a row in the panel that year (East Kazakhstan, Almaty Region and Karaganda in
    2022 in the ``current`` view). A growth rate across that year compares two territories;
    in a fixed-border view the new regions are merged back and no row is marked.
    """
    reg = load_regions()
    kids = reg.loc[reg["parent"].notna() & reg["year_created"].notna(), ["region", "parent", "year_created"]]
    present = set(zip(panel["region"].astype(str), panel["year"].astype(int)))
    split = {(str(p), int(y)) for c, p, y in kids.itertuples(index=False) if (str(c), int(y)) in present}
    return pd.Series([(str(r), int(y)) in split for r, y in zip(panel["region"], panel["year"])],
                     index=panel.index, dtype=bool)


def _concepts(panel: pd.DataFrame, proxy: str) -> tuple[str, ...]:
    check_option("proxy", proxy, CHOICES, owner="build_wages")
    if proxy != "both":
        return (choose_proxy(panel, proxy),)
    found = tuple(p for p, col in PROXIES.items() if col in panel.columns)
    if not found:
        raise PanelContractError(f"build_wages: neither {PROXIES['wage']!r} nor {PROXIES['income']!r} is in the "
                                 f"panel; found {list(panel.columns)}.")
    for p in set(PROXIES) - set(found):
        logger.info("build_wages: %s columns not built, %r absent", p, PROXIES[p])
    return found


def build_wages(
    panel: pd.DataFrame,
    *,
    proxy: str = "both",
    cpi: pd.Series | None = None,
    lags: Sequence[int] = (),
    changes: Sequence[int] = (),
) -> pd.DataFrame:
    """Wage and/or income level relative to the national value, nominal (and real) growth.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``avg_wage_kzt`` and/or ``money_income_per_capita_kzt`` (monthly,
        nominal KZT) and ``population``; the national row gives the national value, else the
        weighted mean of the regions is used (:data:`NATIONAL_WEIGHTS`: employed persons for
        the wage, population for income).
    proxy : {"both", "auto", "wage", "income"}, default "both"
        ``"both"`` builds every concept whose column is in the panel, each under its own
        name; the wage columns are missing (never filled from income) where the wage is.
        ``"auto"``, ``"wage"``, ``"income"``: one concept, see :func:`choose_proxy`.
    cpi : Series, optional
        Consumer price index, year -> index of year t with t-1 = 100 (national, annual
        average). The shipped data have none; without it real growth is not computed.
    lags, changes : sequence of int
        Passed to :func:`kzmig.features.builders.lags.add_lags` for every new column.

    Returns
    -------
    DataFrame
        ``region``, ``year`` and per concept ``p``: ``{p}_level`` (copied),
        ``{p}_rel_national_pct`` = 100 x regional / national, ``{p}_nominal_growth_pct`` =
        100 x (x(t)/x(t-1) - 1) within region (missing in the year a region lost territory,
        :func:`split_years`), and with ``cpi`` ``{p}_real_growth_pct`` =
        100 x ((x(t)/x(t-1)) / (cpi(t)/100) - 1).
    """
    validate_panel(panel, required=("population",), missing="keep", source="build_wages", allow_gaps=True)
    concepts = _concepts(panel, proxy)
    split = split_years(panel).to_numpy()
    if split.any():
        logger.info("build_wages: growth left missing in %d region-year(s) of a territorial split", int(split.sum()))
    out = panel[list(KEYS)].copy()
    for p in concepts:
        col = PROXIES[p]
        weight = NATIONAL_WEIGHTS[p] if NATIONAL_WEIGHTS[p] in panel.columns else None
        nat = national_reference(panel, col, weight=weight)
        x = panel[col].to_numpy(dtype="float64")
        growth = np.where(split, np.nan, growth_factor(panel, col))
        out[f"{p}_level"] = x
        out[f"{p}_rel_national_pct"] = 100 * x / panel["year"].map(nat).to_numpy(dtype="float64")
        out[f"{p}_nominal_growth_pct"] = 100 * (growth - 1)
        if cpi is None:
            logger.info("build_wages: no cpi given, %s growth is nominal only (%s_nominal_growth_pct)", p, p)
        else:
            c = panel["year"].map(cpi).to_numpy(dtype="float64")
            out[f"{p}_real_growth_pct"] = 100 * (growth / (c / 100) - 1)
    new = [c for c in out.columns if c not in KEYS]
    if lags or changes:
        out = add_lags(out, new, lags=lags, changes=changes, source="build_wages")
    return out
