"""Social attractiveness: a composite index of quality-of-life indicators (METHOD.md section 4).

Components are standardised within each year across regions and signed so that higher means
more attractive; the index is built two ways, with equal weights and as the first principal
component (scikit-learn PCA), and the weights/loadings are reported.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.core.options import check_option
from kzmig.features.data.panel import KEYS, validate_panel
from kzmig.features.data.regions import NATIONAL

logger = logging.getLogger(__name__)

#: component -> (numerator column, per-capita scale or None for a level, direction)
COMPONENTS = {
    "income": ("money_income_per_capita_kzt", None, 1),
    "grp_per_capita": ("grp_per_capita_thousand_kzt", None, 1),
    "doctors_per_10000": ("doctors", 1e4, 1),
    "hospitals_per_100000": ("hospitals", 1e5, 1),
    "life_expectancy": ("life_expectancy_years", None, 1),
    "emissions_t_per_capita": ("air_emissions_thousand_t", 1e3, -1),
    "poverty_share": ("poverty_share_pct", None, -1),
    "unemployment": ("unemployment_rate_pct", None, -1),
}
DEFAULT_COMPONENTS = ("income", "grp_per_capita", "doctors_per_10000", "hospitals_per_100000",
                      "life_expectancy", "emissions_t_per_capita")


def component_values(panel: pd.DataFrame, components: Sequence[str]) -> pd.DataFrame:
    """Raw component values (per-capita where the catalogue says so), regions only."""
    for c in components:
        check_option("component", c, COMPONENTS, owner="AttractivenessIndex")
    cols = sorted({COMPONENTS[c][0] for c in components} | {"population"})
    validate_panel(panel, required=cols, missing="keep", source="AttractivenessIndex", allow_gaps=True)
    reg = panel.loc[panel["region"] != NATIONAL].reset_index(drop=True)
    out = reg[list(KEYS)].copy()
    for c in components:
        col, scale, _ = COMPONENTS[c]
        x = reg[col].to_numpy(dtype="float64")
        out[c] = x if scale is None else scale * x / reg["population"].to_numpy(dtype="float64")
    return out


def standardise_by_year(values: pd.DataFrame, components: Sequence[str]) -> pd.DataFrame:
    """Signed z-scores within each year: ``direction x (x - mean_t) / sd_t`` (sd with ddof=0)."""
    g = values.groupby("year")[list(components)]
    z = (values[list(components)] - g.transform("mean")) / g.transform("std", ddof=0)
    signs = np.array([COMPONENTS[c][2] for c in components], dtype="float64")
    return pd.concat([values[list(KEYS)], z * signs], axis=1)


class AttractivenessIndex(BaseEstimator):
    """Composite social-attractiveness index of regions.

    Parameters
    ----------
    components : tuple of str, default DEFAULT_COMPONENTS
        Keys of :data:`COMPONENTS`: income, grp_per_capita, doctors_per_10000,
        hospitals_per_100000, life_expectancy, emissions_t_per_capita (negative direction),
        poverty_share (negative; regional data 2020 only), unemployment (negative).

    Attributes
    ----------
    loadings_ : DataFrame
        One row per component: ``direction``, ``weight_equal`` (1/K), ``loading_pc1``.
    explained_variance_ratio_ : float
        Share of the variance of the standardised components explained by PC1.
    missing_components_ : DataFrame
        ``year``, ``component``, ``n_missing``, ``regions``: components that lack a value for
        some region in a year, and are therefore left out of that year's equal-weight index
        (and make PC1 missing for those rows).
    n_complete_rows_ : int
        Region-years with every component, on which PC1 was fitted.
    pca_mean_ : ndarray
        Mean of the standardised components over those rows (PCA centring).

    Notes
    -----
    With signed z-scores :math:`z_{r,t,k} = d_k (x_{r,t,k} - \\bar x_{t,k}) / s_{t,k}`:
    equal weights :math:`A^{eq}_{r,t} = \\frac{1}{|K_t|}\\sum_{k \\in K_t} z_{r,t,k}` over the
    components :math:`K_t` complete in year t; first principal component
    :math:`A^{pc}_{r,t} = \\sum_k w_k z_{r,t,k}` with :math:`w` the first eigenvector of the
    pooled correlation of z (``PCA(n_components=1)``), its sign chosen so that the loadings
    sum to a positive number. Standardising within year makes both indices relative to the
    other regions of that year (0 = the average region), so the national benchmark of the
    low-attractiveness flag is 0. Year t uses only data of year t; PC1 loadings use the years
    given to ``fit``.
    """

    def __init__(self, components: tuple[str, ...] = DEFAULT_COMPONENTS):
        self.components = components

    def fit(self, panel: pd.DataFrame) -> "AttractivenessIndex":
        comps = list(self.components)
        if len(comps) < 2:
            raise ConfigError(f"AttractivenessIndex needs at least 2 components, got {comps}.")
        z = standardise_by_year(component_values(panel, comps), comps)
        self.missing_components_ = self._missing(z, comps)
        complete = z[comps].notna().all(axis=1)
        self.n_complete_rows_ = int(complete.sum())
        if self.n_complete_rows_ < len(comps) + 1:
            raise PanelContractError(
                f"AttractivenessIndex: only {self.n_complete_rows_} region-years have all components "
                f"{comps}; PC1 needs at least {len(comps) + 1}. Missing: "
                f"{self.missing_components_.groupby('component')['n_missing'].sum().to_dict()}."
            )
        pca = PCA(n_components=1).fit(z.loc[complete, comps].to_numpy())
        w = pca.components_[0]
        w = w if w.sum() >= 0 else -w
        self.loadings_ = pd.DataFrame({
            "component": comps,
            "source_column": [COMPONENTS[c][0] for c in comps],
            "direction": [COMPONENTS[c][2] for c in comps],
            "weight_equal": 1.0 / len(comps),
            "loading_pc1": w,
        })
        self.explained_variance_ratio_ = float(pca.explained_variance_ratio_[0])
        self.pca_mean_ = pca.mean_
        logger.info("AttractivenessIndex: PC1 explains %.1f %% on %d complete region-years",
                    100 * self.explained_variance_ratio_, self.n_complete_rows_)
        return self

    @staticmethod
    def _missing(z: pd.DataFrame, comps: list[str]) -> pd.DataFrame:
        rows = []
        for year, g in z.groupby("year"):
            for c in comps:
                na = g[c].isna()
                if na.any():
                    rows.append({"year": int(year), "component": c, "n_missing": int(na.sum()),
                                 "regions": ", ".join(sorted(g.loc[na, "region"]))})
        return pd.DataFrame(rows, columns=["year", "component", "n_missing", "regions"])

    def transform(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Return ``region``, ``year``, ``z_{component}``, ``attractiveness_equal``, ``attractiveness_pc1``."""
        check_is_fitted(self, "loadings_")
        comps = list(self.components)
        z = standardise_by_year(component_values(panel, comps), comps)
        year_complete = z.groupby("year")[comps].transform(lambda s: s.notna().all())
        used = z[comps].where(year_complete.astype(bool))
        out = z[list(KEYS)].copy()
        for c in comps:
            out[f"z_{c}"] = z[c]
        out["attractiveness_equal"] = used.mean(axis=1)
        out["n_components_equal"] = used.notna().sum(axis=1).astype("float64")
        w = self.loadings_["loading_pc1"].to_numpy()
        out["attractiveness_pc1"] = (z[comps].to_numpy() - self.pca_mean_) @ w
        return out

    def fit_transform(self, panel: pd.DataFrame) -> pd.DataFrame:
        return self.fit(panel).transform(panel)
