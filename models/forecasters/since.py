"""Wrappers of a forecaster: fitted from ``first_year`` on (an earlier regime left out), or on logs.

Kazakhstan's external migration of the 1990s (net emigration of 100,000-400,000 a year) is a
regime of its own, not a level a series reverts to. ``Since(model, first_year=2000)`` fits
``model`` on the observations from 2000 on, so a backtest can compare the same model with and
without the earlier regime on the same target years (the MASE scale, from the full published
series, is the same for both). ``Since`` has no parameter of its own: its update takes the same
cut of the newer series and passes it to the wrapped model's update.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.errors import ConfigError, DataError
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.registry import register

logger = logging.getLogger(__name__)


class _Wrapper(BaseForecaster):
    """What a wrapper takes from the forecaster it wraps (``model``, fitted as ``fitted_model_``)."""

    result_ = None

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """What the wrapped model needs (counted on the years it is fitted on)."""
        return int(getattr(self.model, "min_length", 2))

    @property
    def has_intervals(self) -> bool:  # type: ignore[override]
        """Whether the wrapped model gives intervals."""
        return bool(getattr(self.model, "has_intervals", False))

    @property
    def exog_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """Exogenous columns of the wrapped model."""
        return tuple(getattr(self.model, "exog_columns", ()))

    @property
    def fit_report_(self) -> pd.DataFrame:
        """The wrapped model's per-region report (AttributeError when it has none)."""
        return self.fitted_model_.fit_report_


@register("since", family="wrapper", pools=None, members="model")
class Since(_Wrapper):
    """Fit ``model`` only on years ``>= first_year``.

    Parameters
    ----------
    model : forecaster
        The wrapped, unfitted forecaster (cloned on ``fit``).
    first_year : int, default 2000
        First year used for fitting.
    name : str, optional
        Model name in the forecast table.
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        Passed to ``model`` when it takes it.
    """

    def __init__(self, model=None, *, first_year: int = 2000, name: str | None = None, breaks: str = "bridge"):
        self.model, self.first_year, self.name, self.breaks = model, first_year, name, breaks


    def _kept(self, data: pd.DataFrame) -> pd.DataFrame:
        raw = data.drop(columns=["y_fit"])
        kept = raw.loc[raw["year"] >= int(self.first_year)]
        short = sorted(set(raw["region"]) - set(kept["region"]))
        if short:
            raise DataError(f"Since: series {short} have no year from {self.first_year} on.")
        return kept

    def _fit(self, data: pd.DataFrame) -> None:
        if self.model is None:
            raise ConfigError("Since: model is None; give the forecaster to wrap.")
        kept = self._kept(data)
        est = clone(self.model)
        if "breaks" in est.get_params():
            est.set_params(breaks=self.breaks)
        self.fitted_model_ = est.fit(kept)

    @property
    def update_rule(self) -> str:  # type: ignore[override]
        """The cut at ``first_year`` recomputed on the new series; the wrapped model's own rule."""
        return f"years from {self.first_year} on taken from the new series; wrapped model: {self.fitted_model_.update_rule}"

    def _update(self, data: pd.DataFrame) -> None:
        """The same cut of the newer series, passed to the wrapped model's ``update`` (it keeps its parameters)."""
        self.fitted_model_.update(self._kept(data))

    def _predict(self, h: int, levels) -> pd.DataFrame:
        return self.fitted_model_.predict(h, levels).assign(model=self._name())


@register("log", family="wrapper", pools=None, members="model")
class Log(_Wrapper):
    """Fit ``model`` on the logarithm of a positive series; forecasts and bounds come back by ``exp``.

    For counts such as arrivals and departures: intervals stay positive and widen in
    proportion to the level, and a trend is a growth rate. The point is the exponential of the
    log forecast (the median of the implied distribution when the log forecast is its median);
    quantile bounds map exactly, since ``exp`` is increasing.

    Parameters
    ----------
    model : forecaster
        The wrapped, unfitted forecaster (cloned on ``fit``).
    name : str, optional
    breaks : {"bridge", "dummy", "keep"}, default "bridge"

    Raises
    ------
    ValueError
        On ``fit``, when a value is zero or negative (naming the region and year).
    """

    def __init__(self, model=None, *, name: str | None = None, breaks: str = "bridge"):
        self.model, self.name, self.breaks = model, name, breaks


    @staticmethod
    def _logged(data: pd.DataFrame) -> pd.DataFrame:
        raw = data.drop(columns=["y_fit"])
        bad = raw.loc[~(raw["y"] > 0)]
        if len(bad):
            r = bad.iloc[0]
            raise DataError(f"Log: the series must be positive; (region={r['region']!r}, year={int(r['year'])}) "
                             f"is {r['y']}.")
        return raw.assign(y=np.log(raw["y"].to_numpy(dtype=float)))

    def _fit(self, data: pd.DataFrame) -> None:
        if self.model is None:
            raise ConfigError("Log: model is None; give the forecaster to wrap.")
        est = clone(self.model)
        if "breaks" in est.get_params():
            est.set_params(breaks=self.breaks)
        self.fitted_model_ = est.fit(self._logged(data))

    @property
    def update_rule(self) -> str:  # type: ignore[override]
        """The logarithm of the new series, passed to the wrapped model's own update."""
        return f"logarithm of the new series; wrapped model: {self.fitted_model_.update_rule}"

    def _update(self, data: pd.DataFrame) -> None:
        self.fitted_model_.update(self._logged(data))

    def _predict(self, h: int, levels) -> pd.DataFrame:
        fc = self.fitted_model_.predict(h, levels).assign(model=self._name())
        for col in ("point", "lower", "upper"):
            fc[col] = np.exp(fc[col].to_numpy(dtype=float))
        return fc
