"""Ordered and multinomial logit of the migration-trend type on lagged features.

The outcome is the six-type classification of :mod:`kzmig.features.assessment.typology` over rolling
windows (a region-by-window panel). Types are ordered explicitly, from inflow to
intensifying outflow (:data:`TREND_ORDER`, configurable with ``order=``); the ordered
logit uses that order, the multinomial logit uses its first observed type as the base.

Both estimators report average marginal effects on the probability of each type and a
confusion table of predicted (most probable) against observed types. Standard errors are
clustered by region by default, because overlapping windows of one region are not
independent.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.core.options import check_option
from kzmig.features.data.panel import MISSING_POLICIES
from kzmig.models.panel.design import SampleEstimator, check_design, estimation_sample
from kzmig.models.panel.results import DiscreteResult
from kzmig.models.persistence.state import Persistable, refit_backend
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

#: The six types of METHOD.md section 3, from inflow to intensifying outflow.
TREND_ORDER = ("stable inflow", "weakening inflow", "emerging inflow",
               "emerging outflow", "weakening outflow", "intensifying outflow")
#: Covariance registry: our name -> statsmodels ``fit`` keywords (groups added at fit).
DISCRETE_COV = {"nonrobust": {"cov_type": "nonrobust"}, "clustered": {"cov_type": "cluster"}}
_CODE = "__type_code"


class _TypeModel(SampleEstimator, Persistable, BaseEstimator):
    """Shared sample handling and output of the logits.

    ``sm_params_`` holds statsmodels' raw parameter vector, from which ``predict_proba``
    computes. A saved model (:mod:`kzmig.models.persistence`) stores it with ``result_``,
    ``sample_``, ``categories_``, ``regions_``, ``years_`` and ``feature_names_``; the
    statsmodels result ``sm_result_`` is not stored: loading refits it on ``sample_`` and
    warns if its estimates differ from the saved ones.
    """

    _estimator = ""
    _rebuilt_attrs = ("sm_result_",)

    def __init__(self, target: str = "type", features: Sequence[str] = (), *,
                 order: Sequence[str] = TREND_ORDER, lag: int = 1,
                 cov_type: str = "clustered", missing: str = "raise", maxiter: int = 500) -> None:
        self.target = target
        self.features = features
        self.order = order
        self.lag = lag
        self.cov_type = cov_type
        self.missing = missing
        self.maxiter = maxiter

    def _sample(self, panel: pd.DataFrame) -> tuple[pd.DataFrame, list[str], tuple[str, ...]]:
        check_option("cov_type", self.cov_type, DISCRETE_COV, owner=self._owner)
        check_option("missing", self.missing, MISSING_POLICIES, owner=self._owner)
        order = tuple(self.order)
        if len(set(order)) != len(order) or len(order) < 2:
            raise ConfigError(f"{self._owner}: order={order!r} must list at least 2 distinct types.")
        if self.target not in panel.columns:
            raise PanelContractError(f"{self._owner}: target column {self.target!r} is absent; "
                                     f"found {list(panel.columns)}.")
        seen = panel[self.target].dropna().astype(str)
        unknown = sorted(set(seen) - set(order))
        if unknown:
            row = panel.loc[seen.index[seen.isin(unknown)][0]]
            raise PanelContractError(
                f"{self._owner}: column {self.target!r} has types {unknown} not in order "
                f"{list(order)}, e.g. (region={row['region']!r}, year={int(row['year'])}).")
        codes = panel[self.target].map({t: float(i) for i, t in enumerate(order)}).astype(float)
        data = panel.drop(columns=[self.target]).assign(**{_CODE: codes})
        sample, names = estimation_sample(data, _CODE, tuple(self.features), lag=self.lag,
                                          missing=self.missing, source=self._owner)
        present = sorted(int(c) for c in sample[_CODE].unique())
        cats = tuple(order[i] for i in present)
        absent = [t for t in order if t not in cats]
        if absent:
            logger.warning("%s: types %s do not occur in the estimation sample and are left out.",
                           self._owner, absent)
        if len(cats) < 2:
            raise PanelContractError(f"{self._owner}: only type {list(cats)} occurs in the "
                                     "estimation sample; a logit needs at least 2.")
        sample[_CODE] = sample[_CODE].map({float(c): i for i, c in enumerate(present)})
        check_design(sample, names, "none", self._owner)
        return sample, names, cats

    def _fit_kwargs(self, sample: pd.DataFrame) -> dict[str, Any]:
        kw = dict(DISCRETE_COV[self.cov_type], disp=False, maxiter=self.maxiter)
        if self.cov_type == "clustered":
            kw["cov_kwds"] = {"groups": pd.factorize(sample["region"], sort=True)[0]}
        return kw

    def _run(self, fit: Any, names: list[str]) -> Any:
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("error", PerfectSeparationWarning)
            # non-convergence is checked below and raised with the model named
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                res = fit()
            except (PerfectSeparationError, PerfectSeparationWarning) as err:
                raise PanelContractError(
                    f"{self._owner}: the types are perfectly separated by {names}; the "
                    "logit has no finite estimate. Drop a feature or merge types.") from err
        finite = (np.all(np.isfinite(np.asarray(res.params)))
                  and np.all(np.isfinite(np.asarray(res.bse))))
        if not finite or np.abs(np.asarray(res.params)).max() > 50:
            raise PanelContractError(
                f"{self._owner}: non-finite or diverging estimates; the types are (quasi-)"
                f"perfectly separated by {names}, so the logit has no finite estimate. "
                "Drop a feature or merge types.")
        if not res.mle_retvals.get("converged", True):
            raise PanelContractError(f"{self._owner}: maximum likelihood did not converge in "
                                     f"{self.maxiter} iterations; raise maxiter or drop features.")
        return res

    def _finish(self, sample: pd.DataFrame, names: list[str], cats: tuple[str, ...],
                probs: np.ndarray, **parts: Any) -> None:
        observed = pd.Categorical.from_codes(sample[_CODE].astype(int), categories=list(cats))
        predicted = pd.Categorical.from_codes(probs.argmax(axis=1), categories=list(cats))
        confusion = pd.crosstab(pd.Series(observed, name="observed"),
                                pd.Series(predicted, name="predicted"), dropna=False)
        self._keep_sample(sample, names)
        self.categories_ = cats
        spec = {"estimator": self._estimator, "target": self.target,
                "features": list(self.features), "lag": int(self.lag), "order": list(self.order),
                "cov_type": self.cov_type}
        self.result_ = DiscreteResult(categories=cats, confusion=confusion, nobs=len(sample),
                                      n_regions=len(self.regions_), years=self.years_, spec=spec,
                                      name=self._estimator, **parts)

    def _set_state(self, values: dict[str, Any]) -> None:
        super()._set_state(values)
        self.sm_result_ = refit_backend(
            self._owner, "sm_result_",
            lambda: self._estimate(self.sample_, list(self.feature_names_), self.categories_),
            lambda res: np.asarray(res.params), self.sm_params_)

    def predict_proba(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Probability of each type for the rows of ``panel`` that have lagged features."""
        check_is_fitted(self, "result_")
        data = panel.drop(columns=[self.target], errors="ignore").assign(**{_CODE: 0.0})
        sample, names = estimation_sample(data, _CODE,
            tuple(self.features), lag=self.lag, missing="drop", source=f"{self._owner}.predict")
        probs = self._probs(sample[names].to_numpy(dtype=float))
        out = pd.DataFrame(probs, columns=list(self.categories_))
        return pd.concat([sample[["region", "year"]].reset_index(drop=True), out], axis=1)


def _ordered_probs_and_ame(raw: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (n x J) and average marginal effects (k x J) of an ordered logit.

    ``raw`` is statsmodels' parameter vector: k slopes, then the first threshold and the
    logs of the threshold increments. With cut points c_0 = -inf < c_1 < ... < c_J = inf,
    P(y = j) = F(c_{j+1} - x'b) - F(c_j - x'b), so
    dP_j/dx_k = b_k [f(c_j - x'b) - f(c_{j+1} - x'b)].
    """
    k = x.shape[1]
    beta, th = raw[:k], raw[k:]
    cuts = np.concatenate([[-np.inf], np.cumsum(np.concatenate([[th[0]], np.exp(th[1:])])),
                           [np.inf]])
    z = cuts[None, :] - (x @ beta)[:, None]
    cdf = stats.logistic.cdf(z)
    pdf = stats.logistic.pdf(z)
    probs = np.diff(cdf, axis=1)
    dens = pdf[:, :-1] - pdf[:, 1:]                      # f(c_j - xb) - f(c_{j+1} - xb)
    ame = beta[:, None] * dens.mean(axis=0)[None, :]
    return probs, ame


def _delta_se(fun: Any, raw: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Delta-method standard errors of ``fun(raw)`` (any shape), central differences."""
    base = fun(raw)
    jac = np.empty((base.size, raw.size))
    for i in range(raw.size):
        h = 1e-6 * max(1.0, abs(raw[i]))
        up, dn = raw.copy(), raw.copy()
        up[i] += h
        dn[i] -= h
        jac[:, i] = (fun(up) - fun(dn)).ravel() / (2 * h)
    return np.sqrt(np.einsum("ij,jk,ik->i", jac, cov, jac)).reshape(base.shape)


@register("ordered_logit", family="discrete")
class OrderedLogitMigration(_TypeModel):
    """Ordered logit of the migration-trend type (statsmodels ``OrderedModel``).

    Parameters
    ----------
    target : str, default "type"
        Column of type labels (strings in ``order``); NaN where a window has no type.
    features : sequence of str
        Feature columns, lagged within region by ``lag`` years relative to the row's year
        (the last year of the window).
    order : sequence of str, default :data:`TREND_ORDER`
        Types from inflow to intensifying outflow; types absent from the sample are
        dropped with a logged warning.
    lag : int, default 1
    cov_type : {"clustered", "nonrobust"}, default "clustered"
    missing : {"raise", "drop", "keep"}, default "raise"
    maxiter : int, default 500

    Notes
    -----
    .. math:: P(y_{iw} \\le j) = F(c_j - x_{i,t-l}'b), \\quad F(z) = 1/(1 + e^{-z})

    so a positive coefficient shifts probability towards the types later in ``order``
    (towards outflow). No constant: the cut points absorb it.
    """

    _estimator = "ordered_logit"

    def fit(self, panel: pd.DataFrame) -> OrderedLogitMigration:
        """Estimate on a region-by-window panel (``region``, ``year``, target, features)."""
        sample, names, cats = self._sample(panel)
        x = sample[names].to_numpy(dtype=float)
        res = self._estimate(sample, names, cats)
        raw, cov = np.asarray(res.params), np.asarray(res.cov_params())
        probs, ame = _ordered_probs_and_ame(raw, x)
        ame_se = _delta_se(lambda p: _ordered_probs_and_ame(p, x)[1], raw, cov)
        k = len(names)
        cut_names = [f"cut: {a} | {b}" for a, b in zip(cats[:-1], cats[1:], strict=True)]
        th = raw[k:]
        jac = np.zeros((len(th), len(th)))
        jac[:, 0] = 1.0
        for j in range(1, len(th)):
            jac[j:, j] = np.exp(th[j])
        cuts = np.cumsum(np.concatenate([[th[0]], np.exp(th[1:])]))
        cut_se = np.sqrt(np.diag(jac @ cov[k:, k:] @ jac.T))
        est = np.concatenate([raw[:k], cuts])
        se = np.concatenate([np.sqrt(np.diag(cov))[:k], cut_se])
        index = [*names, *cut_names]
        p = 2 * stats.norm.sf(np.abs(est / se))
        self.sm_result_, self.sm_params_ = res, raw
        self._finish(
            sample, names, cats, probs,
            params=pd.DataFrame({"coef": est}, index=index),
            std_errors=pd.DataFrame({"coef": se}, index=index),
            pvalues=pd.DataFrame({"coef": p}, index=index),
            marginal_effects=pd.DataFrame(ame, index=names, columns=list(cats)),
            me_std_errors=pd.DataFrame(ame_se, index=names, columns=list(cats)),
            llf=float(res.llf), pseudo_r2=float(res.prsquared))
        return self

    def _estimate(self, sample: pd.DataFrame, names: list[str], cats: tuple[str, ...]) -> Any:
        """The statsmodels fit on an estimation sample."""
        endog = pd.Series(pd.Categorical.from_codes(sample[_CODE].astype(int),
                                                    categories=list(cats), ordered=True))
        model = OrderedModel(endog, pd.DataFrame(sample[names].to_numpy(dtype=float), columns=names),
                             distr="logit")
        kw = self._fit_kwargs(sample)

        def fit() -> Any:
            res = model.fit(method="bfgs", gtol=1e-8, **kw)
            if not res.mle_retvals.get("converged", True):
                # BFGS on the model's numerical gradient can stall a hair short of gtol (how close depends
                # on the machine's rounding); Newton steps from there finish or fail on their own criterion
                res = model.fit(method="newton", start_params=np.asarray(res.params), **kw)
            return res

        return self._run(fit, names)

    def _probs(self, x: np.ndarray) -> np.ndarray:
        return _ordered_probs_and_ame(self.sm_params_, x)[0]


@register("multinomial_logit", family="discrete")
class MultinomialLogitMigration(_TypeModel):
    """Multinomial logit of the migration-trend type (statsmodels ``MNLogit``).

    Parameters are as for :class:`OrderedLogitMigration`; ``order`` only fixes the base
    type (its first observed type) and the column order.

    Notes
    -----
    .. math:: P(y_{iw} = j) = \\frac{\\exp(a_j + x_{i,t-l}'b_j)}{\\sum_m \\exp(a_m + x_{i,t-l}'b_m)},
              \\quad a_0 = 0, b_0 = 0

    Average marginal effects are statsmodels' ``get_margeff(at="overall")`` with
    delta-method standard errors.
    """

    _estimator = "multinomial_logit"

    def fit(self, panel: pd.DataFrame) -> MultinomialLogitMigration:
        """Estimate on a region-by-window panel (``region``, ``year``, target, features)."""
        sample, names, cats = self._sample(panel)
        res = self._estimate(sample, names, cats)
        x = res.model.data.orig_exog
        me = res.get_margeff(at="overall")
        cols = list(cats[1:])
        self.sm_result_, self.sm_params_ = res, np.asarray(res.params)
        self._finish(
            sample, names, cats, np.asarray(res.predict(x)),
            params=pd.DataFrame(np.asarray(res.params), index=x.columns, columns=cols),
            std_errors=pd.DataFrame(np.asarray(res.bse), index=x.columns, columns=cols),
            pvalues=pd.DataFrame(np.asarray(res.pvalues), index=x.columns, columns=cols),
            marginal_effects=pd.DataFrame(me.margeff, index=names, columns=list(cats)),
            me_std_errors=pd.DataFrame(me.margeff_se, index=names, columns=list(cats)),
            llf=float(res.llf), pseudo_r2=float(res.prsquared))
        return self

    @staticmethod
    def _model(sample: pd.DataFrame, names: list[str]) -> Any:
        x = sm.add_constant(sample[names].astype(float), has_constant="add")
        return sm.MNLogit(sample[_CODE].astype(int).to_numpy(), x)

    def _estimate(self, sample: pd.DataFrame, names: list[str], cats: tuple[str, ...]) -> Any:
        """The statsmodels fit on an estimation sample."""
        model = self._model(sample, names)
        return self._run(lambda: model.fit(method="newton", **self._fit_kwargs(sample)), names)

    def _probs(self, x: np.ndarray) -> np.ndarray:
        # statsmodels' results.predict is model.predict(params, exog); the model only fixes
        # the number of outcomes, so a model built on the saved sample serves a loaded estimator
        model = self._model(self.sample_, list(self.feature_names_))
        return np.asarray(model.predict(self.sm_params_, np.column_stack([np.ones(len(x)), x])))
