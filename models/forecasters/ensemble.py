"""Combinations of forecasters (mean or median) and selection of a model by backtest score."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.errors import ConfigError, StudyError
from kzmig.core.options import check_option
from kzmig.models.forecasters.schema import coerce_forecast
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

COMBINE = ("mean", "median")
KEY = ["region", "origin_year", "year"]


def combine_forecasts(frames: Sequence[pd.DataFrame], *, name: str, how: str = "mean") -> pd.DataFrame:
    """Combine member forecast tables row by row (same region, origin and year).

    Points are averaged (or their median taken). Bounds of a level are combined the same way
    only when every member has that level (quantile averaging, "Vincentization", which keeps
    ``lower <= point <= upper``); otherwise the combination has no interval (NA) and
    :mod:`kzmig.forecast.engine.conformal` supplies one.

    Raises
    ------
    ValueError
        ``how`` unknown, or members that do not cover the same (region, origin_year, year).
    """
    check_option("how", how, COMBINE, owner="combine_forecasts")
    if not frames:
        raise ValueError("combine_forecasts: no member forecasts to combine.")
    points = [f.drop_duplicates(KEY).set_index(KEY)["point"].sort_index() for f in frames]
    idx = points[0].index
    for f, p in zip(frames, points):
        if not p.index.equals(idx):
            model = f["model"].iloc[0] if len(f) else "?"
            raise StudyError(
                f"combine_forecasts({name!r}): member {model!r} covers {len(p)} (region, origin_year, year) rows, "
                f"the first member {len(idx)}; members must forecast the same regions, origins and years."
            )
    agg = np.mean if how == "mean" else np.median
    point = agg(np.column_stack([p.to_numpy() for p in points]), axis=1)
    base = pd.DataFrame(point, index=idx, columns=["point"]).reset_index()
    level_sets = [set(f["level"].dropna().unique()) for f in frames]
    common = sorted(set.intersection(*level_sets)) if level_sets else []
    parts = []
    for lv in common:
        bounds = []
        for f in frames:
            sub = f.loc[f["level"] == lv].set_index(KEY).sort_index()
            bounds.append(sub.reindex(idx)[["lower", "upper"]].to_numpy())
        stack = np.stack(bounds)
        lo, hi = agg(stack[:, :, 0], axis=0), agg(stack[:, :, 1], axis=0)
        parts.append(base.assign(lower=lo, upper=hi, level=lv))
    if not parts:
        parts = [base.assign(lower=np.nan, upper=np.nan, level=np.nan)]
    out = pd.concat(parts, ignore_index=True).assign(model=name)
    return coerce_forecast(out)


@register("ensemble", pools=True, members="members", combine=COMBINE)
class Ensemble(BaseForecaster):
    """Mean or median of member forecasters.

    Parameters
    ----------
    members : list of (str, estimator)
        Named member forecasters (cloned and fitted on ``fit``).
    combine : {"mean", "median"}, default "mean"
    name : str, optional
        Model name (default ``"ensemble"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        Passed to members that have a ``breaks`` parameter.

    Notes
    -----
    :math:`\\hat y^{ens}_{T+h} = \\frac1M\\sum_m \\hat y^{(m)}_{T+h}` (or the median); bounds
    are combined the same way when every member has them (see :func:`combine_forecasts`).
    The combination has no estimated parameter: :meth:`update` updates each member on the
    newer series (each keeps its own parameters) and the combination is recomputed from them.
    """

    result_ = None

    def __init__(self, members=(), *, combine="mean", name=None, breaks="bridge"):
        self.members, self.combine, self.name, self.breaks = members, combine, name, breaks

    @property
    def min_length(self) -> int:  # type: ignore[override]
        """The longest history any member needs."""
        return max([getattr(m, "min_length", 2) for _, m in self.members] or [2])

    @property
    def has_intervals(self) -> bool:  # type: ignore[override]
        """True when every member gives model-based intervals."""
        return all(getattr(m, "has_intervals", False) for _, m in self.members)

    def _fit(self, data: pd.DataFrame) -> None:
        check_option("combine", self.combine, COMBINE, owner="Ensemble")
        if not self.members:
            raise ConfigError("Ensemble: members is empty; give a list of (name, forecaster) pairs.")
        self.fitted_members_ = []
        raw = data.drop(columns=["y_fit"])
        for mname, est in self.members:
            est = clone(est)
            if "breaks" in est.get_params():
                est.set_params(breaks=self.breaks)
            self.fitted_members_.append((mname, est.fit(raw)))

    @property
    def update_rule(self) -> str:  # type: ignore[override]
        """The combination recomputed from the members, each updated by its own rule."""
        return (f"{self.combine} of the members recomputed; members updated: "
                + "; ".join(f"{n}: {est.update_rule}" for n, est in self.fitted_members_))

    def _update(self, data: pd.DataFrame) -> None:
        """Update every fitted member on the newer series (each keeps its parameters); the
        combination itself has no parameter and is recomputed when predicting."""
        raw = data.drop(columns=["y_fit"])
        for _, est in self.fitted_members_:
            est.update(raw)

    def combine_forecasts(self, frames: Sequence[pd.DataFrame], *, name: str) -> pd.DataFrame:
        """The combination of the members' forecast tables (a backtest combines the members'
        forecasts at each origin instead of refitting them)."""
        return combine_forecasts(frames, name=name, how=self.combine)

    def _predict(self, h: int, levels) -> pd.DataFrame:
        frames = [est.predict(h, levels) for _, est in self.fitted_members_]
        return self.combine_forecasts(frames, name=self._name())


def select_best(metrics: pd.DataFrame, *, by: str = "mase", candidates: Sequence[str] | None = None) -> str:
    """The model with the lowest mean ``by`` over horizons.

    Ties (models with the same points, e.g. a naive forecast fitted on two spans of a series)
    are broken by the mean interval (Winkler) score over the levels scored, then by name.

    Parameters
    ----------
    metrics : DataFrame
        ``model, horizon, <by>`` rows for one target (as from
        :func:`kzmig.forecast.engine.evaluate.score`), optionally ``winkler_<level>`` columns.
    """
    if by not in metrics.columns:
        raise ConfigError(f"select_best: metric {by!r} is not a column; found {list(metrics.columns)}.")
    m = metrics if candidates is None else metrics.loc[metrics["model"].isin(candidates)]
    scores = m.groupby("model")[by].mean().dropna()
    if scores.empty:
        raise StudyError(f"select_best: no model has a finite {by!r}.")
    wink = [c for c in m.columns if c.startswith("winkler_")]
    tie = m.groupby("model")[wink].mean().mean(axis=1) if wink else pd.Series(dtype=float)
    key = lambda kv: (round(kv[1], 12), tie.get(kv[0], np.inf) if pd.notna(tie.get(kv[0], np.nan)) else np.inf, kv[0])  # noqa: E731
    best = sorted(scores.items(), key=key)[0][0]
    logger.info("select_best: %s (mean %s=%.4f) out of %d models.", best, by, scores[best], len(scores))
    return str(best)
