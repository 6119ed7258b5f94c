"""Wage or income level relative to the national value, and its growth."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from kzmig.core.errors import PanelContractError
from kzmig.features.indicators import national_reference
from kzmig.features.lags import add_lags, growth_factor
from kzmig.core.options import check_option
from kzmig.features.panel import KEYS, validate_panel
from kzmig.features.regions import NATIONAL

logger = logging.getLogger(__name__)

#: proxy name -> source column
PROXIES = {"wage": "avg_wage_thousand_kzt", "income": "money_income_per_capita_kzt"}


def choose_proxy(panel: pd.DataFrame, proxy: str = "auto") -> str:
    """Return ``"wage"`` or ``"income"``.

    ``"auto"`` picks the regional average wage when it has a value for every regional row of
    the panel, otherwise money income per capita (the shipped data have regional wages for
    2020 only), and logs the choice. One proxy is used for the whole panel so that a series
    never switches concept between years. In backtests pass the proxy explicitly: ``"auto"``
    looks at every year of the panel it is given.
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


def build_wages(
    panel: pd.DataFrame,
    *,
    proxy: str = "auto",
    cpi: pd.Series | None = None,
    lags: Sequence[int] = (),
    changes: Sequence[int] = (),
) -> pd.DataFrame:
    """Wage (or income) level relative to the national value, nominal and real growth.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``avg_wage_thousand_kzt`` and/or ``money_income_per_capita_kzt``
        (monthly, nominal) and ``population``; the national row gives the national value,
        else the population-weighted mean of the regions is used.
    proxy : {"auto", "wage", "income"}, default "auto"
        Which concept to use, see :func:`choose_proxy`. The output columns carry the proxy's
        name (``wage_*`` or ``income_*``) so a reader always sees which one was used.
    cpi : Series, optional
        Consumer price index, year -> index of year t with t-1 = 100 (national, annual
        average). Without it real growth is not computed.
    lags, changes : sequence of int
        Passed to :func:`kzmig.features.lags.add_lags` for every new column.

    Returns
    -------
    DataFrame
        ``region``, ``year``, ``{p}_level`` (copied), ``{p}_rel_national_pct`` = 100 x regional /
        national, ``{p}_nominal_growth_pct`` = 100 x (x(t)/x(t-1) - 1) within region, and with
        ``cpi`` ``{p}_real_growth_pct`` = 100 x ((x(t)/x(t-1)) / (cpi(t)/100) - 1).
    """
    validate_panel(panel, required=("population",), missing="keep", source="build_wages", allow_gaps=True)
    p = choose_proxy(panel, proxy)
    col = PROXIES[p]
    nat = national_reference(panel, col, weight="population")
    x = panel[col].to_numpy(dtype="float64")
    growth = growth_factor(panel, col)
    out = panel[list(KEYS)].copy()
    out[f"{p}_level"] = x
    out[f"{p}_rel_national_pct"] = 100 * x / panel["year"].map(nat).to_numpy(dtype="float64")
    out[f"{p}_nominal_growth_pct"] = 100 * (growth - 1)
    if cpi is None:
        logger.info("build_wages: no cpi given, %s_real_growth_pct not computed", p)
    else:
        c = panel["year"].map(cpi).to_numpy(dtype="float64")
        out[f"{p}_real_growth_pct"] = 100 * (growth / (c / 100) - 1)
    new = [c for c in out.columns if c not in KEYS]
    if lags or changes:
        out = add_lags(out, new, lags=lags, changes=changes, source="build_wages")
    return out
