"""Hausman-type comparison of fixed and random effects (linearmodels has none).

Two forms are offered:

* **classical**: :math:`H = (b_{FE} - b_{RE})' [V_{FE} - V_{RE}]^{-1} (b_{FE} - b_{RE})`,
  chi-squared with as many degrees of freedom as compared coefficients, using the
  conventional (unadjusted) covariances of both fits, as R plm's ``phtest`` does. It is
  valid only under homoskedastic, serially uncorrelated errors, and in small samples the
  difference of covariances can be singular or not positive definite, when the statistic
  is undefined (or negative).
* **robust** (Mundlak 1978; Wooldridge 2010, section 10.7.3): pooled OLS of the outcome
  on the features and their region means, with errors clustered by region; the Wald
  statistic of the region-mean coefficients is chi-squared with k degrees of freedom
  under the random-effects null. It is always defined when the design has full rank.

``method="auto"`` computes the classical test and, when the covariance difference is not
positive definite, says so (logged warning and the ``reason`` field) and returns the
robust test instead. No pseudo-inverse is used.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from linearmodels import PanelOLS, PooledOLS, RandomEffects
from scipy import stats

from kzmig.core.errors import PanelContractError
from kzmig.core.options import check_option
from kzmig.models.panel.design import check_design, check_size, estimation_sample
from kzmig.models.panel import COV_TYPES

logger = logging.getLogger(__name__)

METHODS = ("auto", "classical", "robust")
SIGMAS = ("separate", "fe")
#: Smallest eigenvalue of V_FE - V_RE, relative to the largest, for "positive definite".
PD_TOL = 1e-10


@dataclass(frozen=True)
class HausmanResult:
    """Outcome of a Hausman-type test of FE against RE.

    Attributes
    ----------
    statistic, df, pvalue : float, int, float
        Chi-squared statistic, degrees of freedom and upper-tail p-value.
    method : str
        The form actually computed: ``"classical"``, ``"classical (sigma=fe)"`` or
        ``"robust"``.
    terms : tuple of str
        Coefficients compared.
    fell_back : bool
        True when ``method="auto"`` fell back from classical to robust.
    reason : str
        Why it fell back ("" otherwise).
    nobs, n_regions : int
    """

    statistic: float
    df: int
    pvalue: float
    method: str
    terms: tuple[str, ...]
    fell_back: bool = False
    reason: str = ""
    nobs: int = 0
    n_regions: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One-row frame, e.g. for ``hausman.csv``."""
        row = asdict(self)
        row["terms"] = ";".join(self.terms)
        return pd.DataFrame([row])


def classical_statistic(diff: np.ndarray, vdiff: np.ndarray,
                        terms: Sequence[str]) -> tuple[float, int, float]:
    """Return (statistic, df, p-value) of the classical form.

    Raises
    ------
    np.linalg.LinAlgError
        When ``vdiff`` is singular or not positive definite; the message gives the
        smallest and largest eigenvalues.
    """
    vdiff = (vdiff + vdiff.T) / 2
    eig = np.linalg.eigvalsh(vdiff)
    if eig[0] <= PD_TOL * max(abs(eig[-1]), np.finfo(float).tiny):
        kind = "singular" if abs(eig[0]) <= PD_TOL * abs(eig[-1]) else "not positive definite"
        raise np.linalg.LinAlgError(
            f"V_FE - V_RE for {list(terms)} is {kind} (eigenvalues from {eig[0]:.3g} "
            f"to {eig[-1]:.3g}); the classical Hausman statistic is undefined.")
    stat = float(diff @ np.linalg.solve(vdiff, diff))
    k = len(diff)
    return stat, k, float(stats.chi2.sf(stat, k))


def _year_dummies(sample: pd.DataFrame) -> pd.DataFrame:
    d = pd.get_dummies(sample["year"].astype(str), prefix="year", dtype=float)
    return d.iloc[:, 1:].set_axis(sample.index)


def _classical(idx: pd.DataFrame, target: str, names: list[str],
               time_effects: bool, sigma: str = "separate") -> tuple[float, int, float]:
    x = idx[names]
    fe = PanelOLS(idx[target], x, entity_effects=True, time_effects=time_effects).fit()
    xr = x.assign(const=1.0)
    if time_effects:
        xr = pd.concat([xr, _year_dummies(idx.reset_index()).set_axis(idx.index)], axis=1)
    re_ = RandomEffects(idx[target], xr).fit()
    diff = (fe.params[names] - re_.params[names]).to_numpy()
    v_re = re_.cov.loc[names, names].to_numpy()
    if sigma == "fe":  # both covariances on the FE error variance (Stata's sigmaless)
        v_re = v_re * float(fe.s2) / float(re_.s2)
    vdiff = fe.cov.loc[names, names].to_numpy() - v_re
    return classical_statistic(diff, vdiff, names)


def _robust(idx: pd.DataFrame, target: str, names: list[str],
            time_effects: bool) -> tuple[float, int, float]:
    means = idx[names].groupby(level="region").transform("mean")
    means.columns = [f"{n}_region_mean" for n in names]
    x = pd.concat([idx[names].assign(const=1.0), means], axis=1)
    if time_effects:
        x = pd.concat([x, _year_dummies(idx.reset_index()).set_axis(idx.index)], axis=1)
    res = PooledOLS(idx[target], x).fit(**COV_TYPES["clustered"], debiased=True)
    g = res.params[means.columns].to_numpy()
    v = res.cov.loc[means.columns, means.columns].to_numpy()
    stat = float(g @ np.linalg.solve(v, g))
    return stat, len(g), float(stats.chi2.sf(stat, len(g)))


def hausman(panel: pd.DataFrame, target: str, features: Sequence[str], *, lag: int = 1,
            method: str = "auto", time_effects: bool = False, sigma: str = "separate",
            missing: str = "raise") -> HausmanResult:
    """Test fixed against random (region) effects.

    Parameters
    ----------
    panel : DataFrame
        Wide region-year panel with ``target`` and ``features`` (float64).
    target : str
    features : sequence of str
        Entered lagged by ``lag`` years within region, as in :mod:`kzmig.models.panel`.
    lag : int, default 1
    method : {"auto", "classical", "robust"}, default "auto"
    time_effects : bool, default False
        Year effects in both models (year dummies in RE and in the auxiliary regression).
    sigma : {"separate", "fe"}, default "separate"
        Classical form only. ``"separate"``: each model's own error variance (R plm's
        ``phtest``). ``"fe"``: the RE covariance rescaled to the FE error variance (Stata's
        ``hausman, sigmaless``), which makes ``V_FE - V_RE`` positive semi-definite, so the
        statistic is defined whenever the design has full rank.
    missing : {"raise", "drop", "keep"}, default "raise"

    Returns
    -------
    HausmanResult

    Raises
    ------
    PanelContractError
        Bad sample or design (see :mod:`kzmig.models.panel.design`), or ``method="classical"`` with
        a covariance difference that is not positive definite.

    Notes
    -----
    Under H0 (region effects uncorrelated with the features) both FE and RE are
    consistent and RE is efficient; a small p-value favours FE. The robust form tests
    :math:`\\gamma = 0` in :math:`y_{it} = a + x_{it}'b + \\bar x_i'\\gamma + e_{it}`.
    """
    check_option("method", method, METHODS, owner="hausman")
    check_option("sigma", sigma, SIGMAS, owner="hausman")
    sample, names = estimation_sample(panel, target, tuple(features), lag=lag, missing=missing,
                                      source="hausman")
    check_size(sample, owner="hausman", min_regions=len(names) + 2, min_years=2)
    check_design(sample, names, "both" if time_effects else "region", "hausman")
    idx = sample.set_index(["region", "year"])
    common = {"terms": tuple(names), "nobs": len(sample),
              "n_regions": int(sample["region"].nunique())}
    if method in ("auto", "classical"):
        try:
            stat, df, p = _classical(idx, target, names, time_effects, sigma)
            label = "classical" if sigma == "separate" else f"classical (sigma={sigma})"
            return HausmanResult(stat, df, p, label, **common)
        except np.linalg.LinAlgError as err:
            if method == "classical":
                raise PanelContractError(f"hausman: {err} Use method='robust'.") from err
            reason = f"{err} Falling back to the robust (Mundlak) form."
            logger.warning("hausman: %s", reason)
            stat, df, p = _robust(idx, target, names, time_effects)
            return HausmanResult(stat, df, p, "robust", fell_back=True, reason=reason, **common)
    stat, df, p = _robust(idx, target, names, time_effects)
    return HausmanResult(stat, df, p, "robust", **common)
