"""Read-only results of the migration regressions: one type per model family.

:class:`PanelResult` holds a linear panel regression (pooled, fixed or random effects,
between, first differences); :class:`DiscreteResult` holds an ordered or multinomial
logit of the migration-trend type. Both have ``params``, ``std_errors``, ``pvalues``,
``conf_int(level)``, ``summary()`` and ``tidy()`` (one row per term), after
linearmodels' ``PanelEffectsResults`` and pyfixest's ``tidy()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kzmig.core.errors import StudyError
from kzmig.models.forecasters.schema import check_level


@dataclass(frozen=True)
class PanelResult:
    """Estimates of one linear panel regression.

    Attributes
    ----------
    params, std_errors, pvalues : Series
        Indexed by term (feature name, ``const`` where the model has one).
    cov_type : str
        Covariance used for ``std_errors`` (e.g. ``"clustered"``, ``"driscoll-kraay"``).
    nobs, n_regions : int
        Observations and regions in the estimation sample.
    years : tuple of int
        Years in the estimation sample, sorted.
    r2_within, r2_between, r2_overall : float
        Fit measures as linearmodels defines them.
    effects : str
        Absorbed effects: ``"none"``, ``"region"``, ``"year"`` or ``"both"``;
        ``"random"`` for random effects, ``"differenced"`` for first differences.
    spec : dict
        Specification: estimator, target, features, lag, cov options.
    df_resid : int
        Residual degrees of freedom; with ``dist="t"`` the p-values and intervals use
        the t distribution with these degrees of freedom.
    dist : {"t", "normal"}
    moments : DataFrame, optional
        Mean and standard deviation of the target and of each feature in the sample
        (index ``mean``, ``std``), for standardised coefficients and elasticities.
    name : str
        Label used in tables.
    """

    params: pd.Series
    std_errors: pd.Series
    pvalues: pd.Series
    cov_type: str
    nobs: int
    n_regions: int
    years: tuple[int, ...]
    r2_within: float
    r2_between: float
    r2_overall: float
    effects: str
    spec: dict[str, Any] = field(default_factory=dict)
    df_resid: int = 0
    dist: str = "t"
    moments: pd.DataFrame | None = None
    name: str = "model"

    @property
    def tstats(self) -> pd.Series:
        """Coefficient over its standard error."""
        return self.params / self.std_errors

    def _critical(self, level: float) -> float:
        q = 0.5 + check_level(level) / 2
        if self.dist == "t" and self.df_resid > 0:
            return float(stats.t.ppf(q, self.df_resid))
        return float(stats.norm.ppf(q))

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals, columns ``lower`` and ``upper``, one row per term."""
        c = self._critical(level)
        return pd.DataFrame({"lower": self.params - c * self.std_errors,
                             "upper": self.params + c * self.std_errors})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: estimate, standard error, statistic, p-value, interval."""
        ci = self.conf_int(level)
        out = pd.DataFrame({
            "model": self.name, "term": self.params.index.astype(str),
            "estimate": self.params.to_numpy(), "std_error": self.std_errors.to_numpy(),
            "statistic": self.tstats.to_numpy(), "p_value": self.pvalues.to_numpy(),
            "conf_low": ci["lower"].to_numpy(), "conf_high": ci["upper"].to_numpy(),
        })
        out["cov_type"] = self.cov_type
        out["effects"] = self.effects
        out["nobs"] = self.nobs
        return out.reset_index(drop=True)

    def standardised(self) -> pd.Series:
        """Beta coefficients: change in target SDs per one-SD change of each feature."""
        m = self._moments()
        terms = [t for t in self.params.index if t in m.columns and t != self._target]
        return self.params[terms] * m.loc["std", terms] / m.loc["std", self._target]

    def elasticities(self) -> pd.Series:
        """Elasticities at the sample means: ``b * mean(x) / mean(y)``.

        Raises
        ------
        ValueError
            When the target mean is zero (a net migration rate can average zero).
        """
        m = self._moments()
        ybar = float(m.loc["mean", self._target])
        if ybar == 0.0:
            raise StudyError(f"elasticity undefined: mean of {self._target!r} is 0 in the sample.")
        terms = [t for t in self.params.index if t in m.columns and t != self._target]
        return self.params[terms] * m.loc["mean", terms] / ybar

    @property
    def _target(self) -> str:
        return str(self.spec.get("target"))

    def _moments(self) -> pd.DataFrame:
        if self.moments is None:
            raise ValueError(f"{self.name}: sample moments were not stored with this result.")
        return self.moments

    def summary(self, level: float = 0.95) -> str:
        """A plain-text table of the estimates with the sample and fit description."""
        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "-"
        head = [
            f"{self.name}: {self.spec.get('estimator', '')} of {self._target}",
            f"effects: {self.effects}   cov: {self.cov_type}   N = {self.nobs}   "
            f"regions = {self.n_regions}   years = {years}",
            f"R2 within = {self.r2_within:.4f}   between = {self.r2_between:.4f}   "
            f"overall = {self.r2_overall:.4f}",
        ]
        body = self.tidy(level)[["term", "estimate", "std_error", "statistic", "p_value",
                                 "conf_low", "conf_high"]]
        return "\n".join(head) + "\n" + body.to_string(index=False, float_format="%.4f")

    @classmethod
    def from_linearmodels(cls, res: Any, *, effects: str, cov_type: str, regions: int,
                          years: tuple[int, ...], spec: dict[str, Any],
                          moments: pd.DataFrame | None = None, name: str = "model",
                          debiased: bool = True) -> PanelResult:
        """Wrap a linearmodels panel result (``PanelEffectsResults`` or ``PanelResults``)."""
        def _r2(attr: str) -> float:
            v = getattr(res, attr, np.nan)
            return float(v) if v is not None else float("nan")

        return cls(
            params=res.params.copy(), std_errors=res.std_errors.copy(),
            pvalues=res.pvalues.copy(), cov_type=cov_type, nobs=int(res.nobs),
            n_regions=int(regions), years=tuple(int(y) for y in years),
            r2_within=_r2("rsquared_within"), r2_between=_r2("rsquared_between"),
            r2_overall=_r2("rsquared_overall"), effects=effects, spec=dict(spec),
            df_resid=int(res.df_resid), dist="t" if debiased else "normal",
            moments=moments, name=name,
        )


@dataclass(frozen=True)
class DiscreteResult:
    """Estimates of an ordered or multinomial logit of the migration-trend type.

    Attributes
    ----------
    params, std_errors, pvalues : DataFrame
        Rows are terms; columns are ``"coef"`` for the ordered logit (thresholds
        appear as terms ``"cut: a/b"``) or the non-base outcome types for the
        multinomial logit.
    categories : tuple of str
        The outcome types in their configured order.
    marginal_effects : DataFrame
        Average marginal effects: rows features, columns types (probabilities).
    me_std_errors : DataFrame or None
        Delta-method standard errors of the marginal effects where available.
    confusion : DataFrame
        Observed (rows) against predicted (columns) types, counts.
    nobs, n_regions, years, spec, name, llf, pseudo_r2 : as named.
    """

    params: pd.DataFrame
    std_errors: pd.DataFrame
    pvalues: pd.DataFrame
    categories: tuple[str, ...]
    marginal_effects: pd.DataFrame
    me_std_errors: pd.DataFrame | None
    confusion: pd.DataFrame
    nobs: int
    n_regions: int
    years: tuple[int, ...]
    llf: float
    pseudo_r2: float
    spec: dict[str, Any] = field(default_factory=dict)
    name: str = "model"

    def conf_int(self, level: float = 0.95) -> dict[str, pd.DataFrame]:
        """Normal-approximation intervals: ``{"lower": frame, "upper": frame}``."""
        c = float(stats.norm.ppf(0.5 + check_level(level) / 2))
        return {"lower": self.params - c * self.std_errors,
                "upper": self.params + c * self.std_errors}

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per (outcome, term) with estimate, SE, z, p-value and interval."""
        ci = self.conf_int(level)
        rows = []
        for outcome in self.params.columns:
            for term in self.params.index:
                est, se = self.params.at[term, outcome], self.std_errors.at[term, outcome]
                rows.append({"model": self.name, "outcome": str(outcome), "term": str(term),
                             "estimate": est, "std_error": se, "statistic": est / se,
                             "p_value": self.pvalues.at[term, outcome],
                             "conf_low": ci["lower"].at[term, outcome],
                             "conf_high": ci["upper"].at[term, outcome]})
        return pd.DataFrame(rows)

    def tidy_marginal_effects(self) -> pd.DataFrame:
        """Average marginal effects in long form: model, feature, type, ame, std_error."""
        me = self.marginal_effects.rename_axis(index="feature", columns="type")
        out = me.stack().rename("ame").reset_index()
        if self.me_std_errors is not None:
            se = self.me_std_errors.rename_axis(index="feature", columns="type").stack()
            out["std_error"] = se.to_numpy()
        else:
            out["std_error"] = np.nan
        out.insert(0, "model", self.name)
        return out

    def summary(self) -> str:
        """Plain text: coefficients, marginal effects and the confusion table."""
        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "-"
        parts = [
            f"{self.name}: {self.spec.get('estimator', '')} of {self.spec.get('target', '')}",
            f"N = {self.nobs}   regions = {self.n_regions}   windows ending {years}   "
            f"log-lik = {self.llf:.3f}   pseudo R2 = {self.pseudo_r2:.4f}",
            "types (in order): " + " < ".join(self.categories),
            "coefficients:", self.params.to_string(float_format="%.4f"),
            "average marginal effects on P(type):",
            self.marginal_effects.to_string(float_format="%.4f"),
            "confusion (rows observed, columns predicted):", self.confusion.to_string(),
        ]
        return "\n".join(parts)
