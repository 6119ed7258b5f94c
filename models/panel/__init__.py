"""Linear panel regressions of a migration rate on lagged regional features.

Five estimators share one surface (``fit(panel)``, ``predict(panel)``, ``result_``,
``regions_``, ``years_``, ``feature_names_``): :class:`PooledOLSMigration`,
:class:`FixedEffectsMigration` (region, year or two-way effects),
:class:`RandomEffectsMigration`, :class:`BetweenMigration` and
:class:`FirstDifferenceMigration`. Estimation is done by linearmodels; this module
checks the design first (see :mod:`kzmig.models.panel.design`) and wraps the result in
:class:`kzmig.models.panel.results.PanelResult`.

Covariance options live in one registry, :data:`COV_TYPES`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from linearmodels import BetweenOLS, PanelOLS, PooledOLS, RandomEffects
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.core.options import check_option
from kzmig.features.builders.lags import difference
from kzmig.features.data.panel import MISSING_POLICIES, validate_panel
from kzmig.models.panel.design import SampleEstimator, check_design, check_size, estimation_sample, lag_within_region
from kzmig.models.panel.results import PanelResult
from kzmig.models.persistence.state import Persistable, refit_backend
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

#: Covariance registry: our name -> linearmodels ``fit`` keywords. Clustered errors are
#: clustered by region with Stata's small-sample factor G/(G-1) (N-1)/(N-K);
#: Driscoll-Kraay adds ``kernel`` and ``bandwidth`` from the estimator.
COV_TYPES: dict[str, dict[str, Any]] = {
    "unadjusted": {"cov_type": "unadjusted"},
    "robust": {"cov_type": "robust"},
    "clustered": {"cov_type": "clustered", "cluster_entity": True, "group_debias": True},
    "driscoll-kraay": {"cov_type": "kernel"},
}
#: Kernels accepted for Driscoll-Kraay (linearmodels names).
KERNELS = ("bartlett", "parzen", "qs")
EFFECTS = ("region", "year", "both")


class _PanelMigrationModel(SampleEstimator, Persistable, BaseEstimator):
    """Shared fitting logic; subclasses set the linearmodels estimator.

    A saved model (:mod:`kzmig.models.persistence`) stores ``result_``, ``sample_``, ``regions_``,
    ``years_`` and ``feature_names_``; predictions and ``result_`` come from them. The
    linearmodels result ``lm_result_`` is not stored: loading refits it on ``sample_`` and
    warns if its estimates differ from the saved ones.
    """

    _rebuilt_attrs = ("lm_result_",)

    _estimator = "pooled_ols"
    _effects_label = "none"
    _transform = "none"
    _min_regions = 2
    _min_years = 1
    _supported_cov: tuple[str, ...] = tuple(COV_TYPES)

    def __init__(self, target: str, features: Sequence[str], *, lag: int = 1,
                 cov_type: str = "clustered", kernel: str = "bartlett",
                 bandwidth: float | None = None, missing: str = "raise") -> None:
        self.target = target
        self.features = features
        self.lag = lag
        self.cov_type = cov_type
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.missing = missing

    # -- hooks --------------------------------------------------------------------
    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_kwargs(self) -> dict[str, Any]:
        return {}

    # -- public API ---------------------------------------------------------------
    def fit(self, panel: pd.DataFrame) -> _PanelMigrationModel:
        """Estimate the model on a wide region-year panel.

        Parameters
        ----------
        panel : DataFrame
            Columns ``region`` (str), ``year`` (int64), ``target`` and every name in
            ``features`` (float64). Features are lagged within region by ``lag`` years.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            An unknown option (the message lists the valid ones).
        PanelContractError
            Missing columns or values, an all-missing feature, too few regions or years,
            absorbed or collinear features (each named), non-finite estimates.
        """
        self._check_options()
        features = tuple(self.features)
        if not features:
            raise ConfigError(f"{self._owner}: features is empty; give at least one column.")
        sample, names = estimation_sample(panel, self.target, features, lag=self.lag,
                                          missing=self.missing, source=self._owner)
        min_years = self._min_years
        if self.cov_type == "driscoll-kraay":
            min_years = max(min_years, int(self.bandwidth or 0) + 2, 3)
        check_size(sample, owner=f"{self._owner}{self._size_note()}",
                   min_regions=self._min_regions_for(len(names)), min_years=min_years)
        check_design(sample, names, self._transform, self._owner)
        res = self._estimate(sample, names)
        if not (np.isfinite(res.params).all() and np.isfinite(res.std_errors).all()):
            bad = list(res.params.index[~(np.isfinite(res.params) & np.isfinite(res.std_errors))])
            raise PanelContractError(f"{self._owner}: non-finite estimates for {bad}.")
        self._keep_sample(sample, names)
        self.lm_result_ = res
        moments = sample[[self.target, *names]].agg(["mean", "std"])
        self.result_ = PanelResult.from_linearmodels(
            res, effects=self._effects_label, cov_type=self.cov_type, regions=len(self.regions_),
            years=self.years_, spec=self._spec(features), moments=moments,
            name=self._estimator)
        logger.info("%s fitted: N=%d, %d regions, years %d-%d.", self._owner, res.nobs,
                    len(self.regions_), self.years_[0], self.years_[-1])
        return self

    def predict(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Linear index ``X b`` (plus the constant where the model has one).

        Absorbed fixed effects are not added: the value is the part of the outcome the
        features explain, which is what scenarios compare. Returns ``region``, ``year``,
        ``point``; rows without lagged features are NaN and logged.
        """
        check_is_fitted(self, "result_")
        features = tuple(self.features)
        validate_panel(panel, required=features, missing="keep", source=f"{self._owner}.predict",
                       regions=sorted(panel["region"].astype(str).unique()), allow_gaps=True)
        sample = lag_within_region(panel, features, self.lag).sort_values(["region", "year"])
        params = self.result_.params
        names = list(self.feature_names_)
        point = sample[names].to_numpy(dtype=float) @ params[names].to_numpy()
        if "const" in params.index:
            point = point + params["const"]
        n_na = int(np.isnan(point).sum())
        if n_na:
            logger.warning("%s.predict: %d rows lack a lagged feature; their point is NaN.",
                           self._owner, n_na)
        return pd.DataFrame({"region": sample["region"].to_numpy(), "year": sample["year"].to_numpy(),
                             "point": point})

    # -- helpers ------------------------------------------------------------------
    def _estimate(self, sample: pd.DataFrame, names: list[str]) -> Any:
        """The linearmodels fit on an estimation sample."""
        indexed = sample.set_index(["region", "year"])
        x = indexed[names]
        if self._transform in ("none", "between"):
            x = x.assign(const=1.0)[["const", *names]]
        try:
            return self._model(indexed[self.target], x).fit(**self._cov_kwargs(),
                                                            **self._fit_kwargs())
        except ValueError as err:  # e.g. linearmodels' rank check on badly scaled columns
            raise PanelContractError(
                f"{self._owner}: linearmodels refused the design of {names}: {err} "
                "Rescale features of very different magnitudes.") from err

    def _set_state(self, values: dict[str, Any]) -> None:
        super()._set_state(values)
        self.lm_result_ = refit_backend(
            self._owner, "lm_result_", lambda: self._estimate(self.sample_, list(self.feature_names_)),
            lambda res: res.params, self.result_.params)

    def _min_regions_for(self, k: int) -> int:
        return self._min_regions

    def _size_note(self) -> str:
        return ""

    def _check_options(self) -> None:
        check_option("cov_type", self.cov_type, self._supported_cov, owner=self._owner)
        check_option("missing", self.missing, MISSING_POLICIES, owner=self._owner)
        if self.cov_type == "driscoll-kraay":
            check_option("kernel", self.kernel, KERNELS, owner=self._owner)
            if self.bandwidth is not None and self.bandwidth < 0:
                raise ConfigError(f"{self._owner}: bandwidth={self.bandwidth!r} must be >= 0.")
        if int(self.lag) != self.lag or self.lag < 0:
            raise ConfigError(f"{self._owner}: lag={self.lag!r} must be a non-negative integer.")

    def _cov_kwargs(self) -> dict[str, Any]:
        kw = dict(COV_TYPES[self.cov_type], debiased=True)
        if self.cov_type == "driscoll-kraay":
            kw["kernel"] = self.kernel
            if self.bandwidth is not None:
                kw["bandwidth"] = float(self.bandwidth)
        return kw

    def _spec(self, features: tuple[str, ...]) -> dict[str, Any]:
        return {"estimator": self._estimator, "target": self.target, "features": list(features),
                "lag": int(self.lag), "cov_type": self.cov_type, "effects": self._effects_label,
                "kernel": self.kernel if self.cov_type == "driscoll-kraay" else None,
                "bandwidth": self.bandwidth if self.cov_type == "driscoll-kraay" else None}


@register("pooled_ols", family="panel")
class PooledOLSMigration(_PanelMigrationModel):
    """Pooled OLS of a migration rate on lagged features, with a constant.

    Parameters
    ----------
    target : str
        Outcome column, e.g. ``"net_migration_rate_per_1000"``.
    features : sequence of str
        Feature columns; each enters lagged by ``lag`` years, within region.
    lag : int, default 1
        Years of lag (0 = contemporaneous; say so when reporting).
    cov_type : {"unadjusted", "robust", "clustered", "driscoll-kraay"}, default "clustered"
        Clustered by region; Driscoll-Kraay uses ``kernel`` and ``bandwidth``.
    kernel : {"bartlett", "parzen", "qs"}, default "bartlett"
    bandwidth : float, optional
        Driscoll-Kraay bandwidth; linearmodels' default rule when None.
    missing : {"raise", "drop", "keep"}, default "raise"

    Notes
    -----
    .. math:: y_{it} = a + x_{i,t-l}'b + e_{it}
    """

    _estimator = "pooled_ols"

    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:
        return PooledOLS(y, x, check_rank=True)


@register("fixed_effects", family="panel", choices={"effects": EFFECTS})
class FixedEffectsMigration(_PanelMigrationModel):
    """Fixed-effects (within) regression with region, year or two-way effects.

    Parameters
    ----------
    target, features, lag, cov_type, kernel, bandwidth, missing
        As for :class:`PooledOLSMigration`.
    effects : {"region", "year", "both"}, default "both"

    Notes
    -----
    .. math:: y_{it} = a_i + g_t + x_{i,t-l}'b + e_{it}

    with :math:`a_i` (region) and/or :math:`g_t` (year) absorbed; no constant is reported.
    With clustered errors and region effects only, the region effects are nested in
    the clusters and are not counted in the degrees of freedom (Stata's ``xtreg, fe``).
    """

    _estimator = "fixed_effects"

    def __init__(self, target: str, features: Sequence[str], *, effects: str = "both",
                 lag: int = 1, cov_type: str = "clustered", kernel: str = "bartlett",
                 bandwidth: float | None = None, missing: str = "raise") -> None:
        super().__init__(target, features, lag=lag, cov_type=cov_type, kernel=kernel,
                         bandwidth=bandwidth, missing=missing)
        self.effects = effects

    def _check_options(self) -> None:
        check_option("effects", self.effects, EFFECTS, owner=self._owner)
        super()._check_options()

    @property
    def _effects_label(self) -> str:  # type: ignore[override]
        return self.effects

    @property
    def _transform(self) -> str:  # type: ignore[override]
        return self.effects

    @property
    def _min_years(self) -> int:  # type: ignore[override]
        return 2

    def _size_note(self) -> str:
        return f"(effects={self.effects!r})"

    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:
        return PanelOLS(y, x, entity_effects=self.effects in ("region", "both"),
                        time_effects=self.effects in ("year", "both"), check_rank=True)


@register("random_effects", family="panel")
class RandomEffectsMigration(_PanelMigrationModel):
    """Random-effects GLS (Swamy-Arora variance components), with a constant.

    Notes
    -----
    .. math:: y_{it} = a + x_{i,t-l}'b + u_i + e_{it}

    estimated on quasi-demeaned data :math:`y_{it} - \\theta_i \\bar y_i`. The variance of
    :math:`u_i` comes from the between regression, so the sample needs more regions than
    coefficients (features + 2).
    """

    _estimator = "random_effects"
    _effects_label = "random"
    _min_years = 2

    def _min_regions_for(self, k: int) -> int:
        return k + 2

    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:
        return RandomEffects(y, x, check_rank=True)


@register("between", family="panel")
class BetweenMigration(_PanelMigrationModel):
    """Between regression: OLS on region means over the sample years, with a constant.

    Notes
    -----
    .. math:: \\bar y_i = a + \\bar x_i'b + \\bar e_i

    With one observation per region, errors clustered by region are the robust ones:
    choose ``cov_type="robust"``. Driscoll-Kraay is not available either.
    """

    _estimator = "between"

    def __init__(self, target: str, features: Sequence[str], *, lag: int = 1,
                 cov_type: str = "robust", missing: str = "raise") -> None:
        super().__init__(target, features, lag=lag, cov_type=cov_type, missing=missing)
    _effects_label = "between"
    _transform = "between"
    _supported_cov = ("unadjusted", "robust")

    def _min_regions_for(self, k: int) -> int:
        return k + 2

    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:
        return BetweenOLS(y, x, check_rank=True)


@register("first_difference", family="panel")
class FirstDifferenceMigration(_PanelMigrationModel):
    """First-difference regression (no constant), differences of consecutive years.

    Differences are taken here, within region and only between years t-1 and t that are both
    in the sample (:func:`kzmig.features.builders.lags.difference`), then estimated by pooled OLS without a
    constant (the FD estimator).
    linearmodels' ``FirstDifferenceOLS`` differences whatever years remain after dropping
    missing rows, so a year missing for every region (e.g. a census year left out of the
    outcome) would turn 2022 - 2020 into a one-year difference.

    Notes
    -----
    .. math:: \\Delta y_{it} = \\Delta x_{i,t-l}'b + \\Delta e_{it}
    """

    _estimator = "first_difference"
    _effects_label = "differenced"
    _transform = "difference"
    _min_years = 3

    def _model(self, y: pd.Series, x: pd.DataFrame) -> Any:
        frame = pd.concat([y, x], axis=1).sort_index().reset_index()
        diff = difference(frame, [y.name, *x.columns], drop_first=True).set_index(["region", "year"])
        return PooledOLS(diff[y.name], diff[list(x.columns)], check_rank=True)
