"""Housing features: new housing per 1,000 people and price or rent relative to income or the wage."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.features.builders.lags import add_lags
from kzmig.features.data.panel import KEYS, validate_panel

logger = logging.getLogger(__name__)

#: feature -> (numerator column, denominator column, scale)
FEATURES = {
    "new_housing_m2_per_1000": ("housing_commissioned_m2", "population", 1000.0),
    "price_new_m2_to_monthly_income": ("price_new_housing_kzt_m2", "money_income_per_capita_kzt", 1.0),
    "price_resale_m2_to_monthly_income": ("price_resale_housing_kzt_m2", "money_income_per_capita_kzt", 1.0),
    "rent_m2_to_monthly_income_pct": ("rent_kzt_m2", "money_income_per_capita_kzt", 100.0),
    # METHOD.md section 4: price per m2 relative to the wage (regional wages 2011-2024)
    "price_new_m2_to_monthly_wage": ("price_new_housing_kzt_m2", "avg_wage_kzt", 1.0),
}


def build_housing(
    panel: pd.DataFrame, *, lags: Sequence[int] = (), changes: Sequence[int] = ()
) -> pd.DataFrame:
    """Housing supply and affordability per region and year, as far as the data supports.

    Parameters
    ----------
    panel : DataFrame
        Wide panel. Each feature is built only when both of its source columns are present
        (a feature whose columns are absent is skipped with a log message):

        ========================================  ==============================================
        feature                                   source columns
        ========================================  ==============================================
        ``new_housing_m2_per_1000``               ``housing_commissioned_m2``, ``population``
        ``price_new_m2_to_monthly_income``        ``price_new_housing_kzt_m2``,
                                                  ``money_income_per_capita_kzt``
        ``price_resale_m2_to_monthly_income``     ``price_resale_housing_kzt_m2``,
                                                  ``money_income_per_capita_kzt``
        ``rent_m2_to_monthly_income_pct``         ``rent_kzt_m2``, ``money_income_per_capita_kzt``
        ``price_new_m2_to_monthly_wage``          ``price_new_housing_kzt_m2``, ``avg_wage_kzt``
        ========================================  ==============================================
    lags, changes : sequence of int
        Passed to :func:`kzmig.features.builders.lags.add_lags` for every new column.

    Returns
    -------
    DataFrame
        ``region``, ``year`` and the features above (float64, NaN where an input is missing).

    Notes
    -----
    new housing per 1,000 = 1000 x m2 commissioned in t / population at 1 Jan t (1 Jan, not the
    average, so that year t uses nothing dated after t). Affordability = price of one m2 in
    months of per-capita money income (monthly), or in months of the average wage per employee
    (``*_to_monthly_wage``, where the wage exists: regions 2011-2024 in the shipped data); prices
    and rents are those of the region's main city, income and wage are regional. The data have no dwelling stock series, so floor space per
    person is not built.
    """
    validate_panel(panel, missing="keep", source="build_housing", allow_gaps=True)
    out = panel[list(KEYS)].copy()
    for name, (num, den, scale) in FEATURES.items():
        if not {num, den} <= set(panel.columns):
            logger.info("build_housing: %s skipped, needs %s and %s", name, num, den)
            continue
        d = panel[den].to_numpy(dtype="float64")
        out[name] = scale * panel[num].to_numpy(dtype="float64") / np.where(d > 0, d, np.nan)
    new = [c for c in out.columns if c not in KEYS]
    if not new:
        logger.warning("build_housing: no housing feature could be built from columns %s", list(panel.columns))
    if new and (lags or changes):
        out = add_lags(out, new, lags=lags, changes=changes, source="build_housing")
    return out
