"""The surface every forecaster shares: ``fit(df)`` on a long frame, ``predict(h, levels)``.

:class:`BaseForecaster` validates the input, treats flagged break years, records
``regions_``, ``years_``, ``feature_names_`` and ``origin_years_``, and turns point forecasts and
bounds into the long forecast table of :mod:`kzmig.models.forecasters.schema`. :class:`LocalForecaster` fits
one series per region and falls back to a simpler model (recorded in ``fit_report_``) when a
fit fails.

Break years (census re-basing, territory transfers) carry values that are not migration. With
``breaks="bridge"`` (default) their values are replaced, for fitting only, by linear
interpolation between the nearest unflagged years (held constant at the ends of a series);
``"dummy"`` adds a pulse dummy where the model accepts regressors (ARIMA) and bridges
otherwise; ``"keep"`` fits the published values.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from kzmig.core.threads import single_thread
from kzmig.core.errors import PanelContractError
from kzmig.core.options import check_option
from kzmig.models.registry import make_model
from kzmig.models.forecasters.schema import BREAK_COLUMN, check_horizon, check_levels, coerce_forecast, validate_series
from kzmig.models.persistence.state import Persistable

logger = logging.getLogger(__name__)

BREAK_TREATMENTS = ("bridge", "dummy", "keep")
DEFAULT_LEVELS = (0.8, 0.95)


def bridge_breaks(years: np.ndarray, y: np.ndarray, is_break: np.ndarray) -> np.ndarray:
    """Replace flagged values by linear interpolation over the unflagged years.

    Examples
    --------
    >>> bridge_breaks(np.array([1, 2, 3]), np.array([1.0, 99.0, 3.0]), np.array([False, True, False]))
    array([1., 2., 3.])
    """
    is_break = np.asarray(is_break, dtype=bool)
    if not is_break.any() or is_break.all():
        return np.asarray(y, dtype=float).copy()
    out = np.asarray(y, dtype=float).copy()
    out[is_break] = np.interp(years[is_break], years[~is_break], out[~is_break])
    return out


def normal_bounds(point: np.ndarray, sigma: np.ndarray, levels: Iterable[float]) -> dict:
    """Symmetric normal bounds ``point -/+ z_{(1+level)/2} * sigma`` for each level."""
    return {lv: (point - norm.ppf(0.5 + lv / 2) * sigma, point + norm.ppf(0.5 + lv / 2) * sigma) for lv in levels}


def forecast_frame(
    model: str, region: str, origin_year: int, point: np.ndarray, bounds: dict | None, levels
) -> pd.DataFrame:
    """Stack a point path and ``{level: (lower, upper)}`` into forecast-table rows."""
    h = len(point)
    years = origin_year + np.arange(1, h + 1)
    levels = list(levels)
    if not bounds or not levels:  # points only: one row per year, no level
        bounds, levels = None, [np.nan]
    parts = []
    for lv in levels:
        lo, hi = bounds[lv] if bounds else (np.full(h, np.nan), np.full(h, np.nan))
        parts.append(
            pd.DataFrame(
                {"model": model, "region": region, "origin_year": origin_year, "year": years,
                 "point": point, "lower": lo, "upper": hi, "level": lv if bounds else np.nan}
            )
        )
    return pd.concat(parts, ignore_index=True)


class BaseForecaster(Persistable, BaseEstimator):
    """Common validation, break treatment and output for all forecasters.

    Subclasses set ``min_length`` (fewest observations per series), ``accepts_dummy`` and
    ``has_intervals``, and implement ``_fit(data)`` and ``_predict(h, levels)``, and
    ``_update(data)`` with an :attr:`update_rule` for :meth:`update`. The fitted
    attributes are saved by :mod:`kzmig.models.persistence` (see :class:`kzmig.models.persistence.state.Persistable`).
    """

    min_length = 2
    accepts_dummy = False
    has_intervals = True
    exog_columns: tuple[str, ...] = ()

    def _name(self) -> str:
        return getattr(self, "name", None) or type(self).__name__.lower()

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        check_option("breaks", self.breaks, BREAK_TREATMENTS, owner=type(self).__name__)
        data = validate_series(df, exog=self.exog_columns, min_length=self.min_length, model=type(self).__name__)
        if BREAK_COLUMN not in data.columns:
            data[BREAK_COLUMN] = False
        data["y_fit"] = data["y"].astype(float)
        treat = self.breaks if (self.breaks != "dummy" or self.accepts_dummy) else "bridge"
        if treat == "bridge" and data[BREAK_COLUMN].any():
            years, y, flags = (data[c].to_numpy() for c in ("year", "y", BREAK_COLUMN))
            y_fit = data["y_fit"].to_numpy(copy=True)
            for idx in data.groupby("region", sort=False).indices.values():  # row positions, in row order
                y_fit[idx] = bridge_breaks(years[idx], y[idx], flags[idx])
            data["y_fit"] = y_fit
            logger.info("%s: bridged %d flagged break year(s).", self._name(), int(data[BREAK_COLUMN].sum()))
        self.break_treatment_ = treat
        self.regions_ = tuple(str(r) for r in data["region"].unique())
        self.years_ = tuple(int(y) for y in sorted(data["year"].unique()))
        self.origin_years_ = {str(r): int(g.max()) for r, g in data.groupby("region", sort=False)["year"]}
        self.feature_names_ = tuple(self.exog_columns)
        return data

    def fit(self, df: pd.DataFrame) -> BaseForecaster:
        """Fit on ``df`` (``region, year, y[, exog, is_break]``, see :func:`validate_series`)."""
        data = self._prepare(df)
        # one BLAS thread: threading the tiny matrices of annual models is many times slower
        with single_thread("blas"):
            self._fit(data)
        return self

    #: How :meth:`update` conditions this model on newer data (reported by ``kzmig predict``).
    update_rule = "no update: the model has to be refitted"

    def update(self, df: pd.DataFrame) -> BaseForecaster:
        """Condition the fitted model on ``df`` (a newer vintage) without estimating it again.

        The model keeps what it estimated (orders, coefficients, smoothing parameters, trees)
        and takes the newer observations as its history, so that ``predict`` forecasts from
        the new last year of each region. :attr:`update_rule` says what each class keeps and
        what it recomputes. The model is changed in place.

        Parameters
        ----------
        df : DataFrame
            ``region, year, y[, exog, is_break]`` as for :meth:`fit`, with the regions the
            model was fitted on and, normally, the same first year (a later first year is
            logged: parameters that refer to the start of a series, such as an initial level,
            are then applied to another start).

        Returns
        -------
        self

        Raises
        ------
        PanelContractError
            ``df`` holds other regions than the fitted model (naming them), or breaks the
            series contract (:func:`validate_series`).
        NotImplementedError
            The class has no update (refit it).
        """
        check_is_fitted(self, "regions_")
        fitted, first = set(self.regions_), self.years_[0]
        data = validate_series(df, exog=self.exog_columns, min_length=self.min_length, model=type(self).__name__)
        given = {str(r) for r in data["region"].unique()}
        if given != fitted:
            raise PanelContractError(
                f"{type(self).__name__} ({self._name()}): update needs the regions it was fitted on; "
                f"missing {sorted(fitted - given)}, new {sorted(given - fitted)}. Refit the model for other regions.")
        data = self._prepare(df)
        if self.years_[0] != first:
            logger.warning("%s: updated on data starting in %d, fitted on data starting in %d.", self._name(),
                           self.years_[0], first)
        with single_thread("blas"):
            self._update(data)
        return self

    def _update(self, data: pd.DataFrame) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot be updated on new data; refit it.")

    def predict(self, h: int, levels: Iterable[float] = DEFAULT_LEVELS) -> pd.DataFrame:
        """Forecast ``h`` years past each region's last year.

        Returns
        -------
        DataFrame
            The long forecast table (``model, region, origin_year, year, point, lower,
            upper, level``), levels stacked; NA bounds and level where the model has no
            interval.
        """
        check_is_fitted(self, "regions_")
        h = check_horizon(h)
        levels = check_levels(levels)
        with single_thread("blas"):
            out = self._predict(h, levels)
        return coerce_forecast(out.sort_values(["region", "level", "year"], kind="mergesort").reset_index(drop=True))


def _is_fallback(state) -> bool:
    return isinstance(state, tuple) and len(state) == 3 and state[0] == "fallback"


class LocalForecaster(BaseForecaster):
    """One model per series, with a recorded fallback when a fit fails.

    Subclasses implement ``_fit_one(years, y, is_break) -> state``,
    ``_forecast_one(state, h, levels) -> (point, {level: (lower, upper)})`` and, for
    :meth:`~BaseForecaster.update`, ``_update_one(state, years, y, is_break) -> state``; ``_fallback()``
    returns the simpler forecaster used when ``_fit_one`` raises. A state holding a library
    object (statsmodels results) overrides ``_dump_one(state)`` to turn it into a
    specification, parameters and data, and ``_load_one(state)`` to rebuild it on load.
    """

    result_ = None

    def _fallback(self) -> BaseForecaster | None:
        return make_model("naive")

    def _fit(self, data: pd.DataFrame) -> None:
        self.states_, report = {}, []
        for region, part in data.groupby("region", sort=False):
            yrs, y, brk = part["year"].to_numpy(), part["y_fit"].to_numpy(), part[BREAK_COLUMN].to_numpy()
            try:
                state = self._fit_one(yrs, y, brk)
                report.append((str(region), self._describe(state), ""))
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as err:
                fb = self._fallback()
                if fb is None:
                    raise
                state = ("fallback", fb._fit_one(yrs, y, brk), fb)
                report.append((str(region), type(fb).__name__, f"{type(err).__name__}: {err}"))
                logger.warning("%s: region=%r fell back to %s (%s).", self._name(), region, type(fb).__name__, err)
            self.states_[str(region)] = state
        self.fit_report_ = pd.DataFrame(report, columns=["region", "spec", "fallback_reason"])

    def _update(self, data: pd.DataFrame) -> None:
        for region, part in data.groupby("region", sort=False):
            yrs, y, brk = part["year"].to_numpy(), part["y_fit"].to_numpy(), part[BREAK_COLUMN].to_numpy()
            state = self.states_[str(region)]
            if _is_fallback(state):  # the region keeps its fallback model, updated by that model's rule
                self.states_[str(region)] = ("fallback", state[2]._update_one(state[1], yrs, y, brk), state[2])
            else:
                self.states_[str(region)] = self._update_one(state, yrs, y, brk)

    def _update_one(self, state, years, y, is_break):
        """The state of one region conditioned on a newer series (default: no update)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be updated on new data; refit it.")

    def _describe(self, state) -> str:
        return type(self).__name__

    def _dump_one(self, state):
        return state

    def _load_one(self, state):
        return state

    def _state_values(self) -> dict:
        values = super()._state_values()
        if "states_" in values:
            values["states_"] = {r: ("fallback", s[2]._dump_one(s[1]), s[2]) if _is_fallback(s) else self._dump_one(s)
                                 for r, s in self.states_.items()}
        return values

    def _set_state(self, values: dict) -> None:
        if "states_" in values:
            values = {**values, "states_": {
                r: ("fallback", s[2]._load_one(s[1]), s[2]) if _is_fallback(s) else self._load_one(s)
                for r, s in values["states_"].items()}}
        super()._set_state(values)

    def _predict(self, h: int, levels) -> pd.DataFrame:
        parts = []
        for region, state in self.states_.items():
            if _is_fallback(state):
                point, bounds = state[2]._forecast_one(state[1], h, levels)
            else:
                point, bounds = self._forecast_one(state, h, levels)
            parts.append(forecast_frame(self._name(), region, self.origin_years_[region], point, bounds, levels))
        return pd.concat(parts, ignore_index=True)
