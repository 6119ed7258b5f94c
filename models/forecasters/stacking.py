"""A weighted combination whose weights are learned on pseudo-origins of the training data (stacking).

At ``fit`` every member is refitted at each pseudo-origin ``s`` inside the training data
(:mod:`kzmig.models.forecasters.tuning`) and forecasts ``1..tune_horizon`` years; the weights are the point
of a simplex grid (steps of ``step``) with the lowest mean scaled absolute error of the
combined forecast over the cells ``s + h <= T``. Then every member is fitted on the whole
training data and combined with those weights. At a backtest origin the weights therefore come
from earlier years only; a member that tunes itself does so again, from its own earlier years,
at each pseudo-origin.
"""
from __future__ import annotations

import itertools
import logging
from collections import OrderedDict

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone

from kzmig.core.errors import ConfigError, StudyError
from kzmig.models.forecasters.forecast_base import BaseForecaster
from kzmig.models.forecasters.schema import coerce_forecast
from kzmig.models.forecasters.tuning import pseudo_origins, region_scales
from kzmig.models import registry
from kzmig.models.registry import register

logger = logging.getLogger(__name__)

KEY = ["region", "origin_year", "year"]


def simplex_grid(m: int, step: float) -> np.ndarray:
    """Every weight vector of ``m`` non-negative multiples of ``step`` summing to 1 (rows).

    Examples
    --------
    >>> simplex_grid(2, 0.5).tolist()
    [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    """
    n = int(round(1 / step))
    if not np.isclose(n * step, 1.0) or n < 1:
        raise ConfigError(f"Stacked: step={step!r} must divide 1 (e.g. 0.1, 0.05, 0.25).")
    rows = [c for c in itertools.product(range(n + 1), repeat=m - 1) if sum(c) <= n]
    return np.array([[*c, n - sum(c)] for c in rows], dtype=float) / n


#: Points of member fits at pseudo-origins, by a hash of (unfitted member, training rows): a rolling
#: backtest refits the stacked model at every origin, and the pseudo-origins of origin T are those
#: of T - 1 plus one, so most member fits repeat exactly. The key holds every parameter and every
#: value the fit sees, so a hit returns what the fit would (the models are deterministic).
_PSEUDO_CACHE: OrderedDict[str, pd.Series] = OrderedDict()
_PSEUDO_CACHE_SIZE = 4096


def _pseudo_points(est, train: pd.DataFrame, horizon: int) -> pd.Series:
    """Point forecasts ``1..horizon`` of the unfitted ``est`` fitted on ``train`` (memoised per process).

    ``train`` is fitted with a fresh row index: the row labels of a pseudo-origin's years differ
    from one backtest origin to the next (the rows of later years are left out before them)."""
    train = train.reset_index(drop=True)
    key = joblib.hash((est, train, horizon))
    hit = _PSEUDO_CACHE.get(key)
    if hit is not None:
        _PSEUDO_CACHE.move_to_end(key)
        return hit.copy()
    points = est.fit(train).predict(horizon, ()).drop_duplicates(KEY).set_index(KEY)["point"].sort_index()
    _PSEUDO_CACHE[key] = points
    if len(_PSEUDO_CACHE) > _PSEUDO_CACHE_SIZE:
        _PSEUDO_CACHE.popitem(last=False)
    return points.copy()


def weighted_forecasts(frames, weights, name: str) -> pd.DataFrame:
    """Weighted mean of member forecast tables (points; bounds of a level every member has)."""
    points = [f.drop_duplicates(KEY).set_index(KEY)["point"].sort_index() for f in frames]
    idx = points[0].index
    for p in points[1:]:
        if not p.index.equals(idx):
            raise StudyError(f"Stacked({name!r}): members forecast different (region, origin_year, year) rows.")
    w = np.asarray(weights, dtype=float)
    base = pd.DataFrame({"point": np.column_stack([p.to_numpy() for p in points]) @ w}, index=idx).reset_index()
    common = sorted(set.intersection(*[set(f["level"].dropna().unique()) for f in frames]))
    parts = []
    for lv in common:
        lo = np.column_stack([f.loc[f["level"] == lv].set_index(KEY).reindex(idx)["lower"].to_numpy() for f in frames])
        hi = np.column_stack([f.loc[f["level"] == lv].set_index(KEY).reindex(idx)["upper"].to_numpy() for f in frames])
        parts.append(base.assign(lower=lo @ w, upper=hi @ w, level=lv))
    if not parts:
        parts = [base.assign(lower=np.nan, upper=np.nan, level=np.nan)]
    return coerce_forecast(pd.concat(parts, ignore_index=True).assign(model=name))


@register("stacked", pools=True, members="members", combine=("weighted",),
          ranges={"tune_horizon": (1, None)})
class Stacked(BaseForecaster):
    """Members combined with weights learned on pseudo-origins inside the training data.

    Parameters
    ----------
    members : list of (str, estimator)
        Named member forecasters (cloned; refitted at every pseudo-origin and on the whole data).
    step : float, default 0.1
        Resolution of the simplex grid of weights.
    tune_horizon : int, default 3
        Horizons scored on the pseudo-origins.
    min_train : int, default 8
        Years up to the first pseudo-origin (counted from the first training year).
    n_origins : int, default 0
        At most this many (the latest) pseudo-origins; 0: every one (on the shipped data, every
        one gave 0.903 / 0.929 of the naive MASE without break years against 0.906 / 0.933 with
        the latest 8, rate / persons).
    name : str, optional
        Model name (default ``"stacked"``).
    breaks : {"bridge", "dummy", "keep"}, default "bridge"
        Passed to the members.

    Attributes
    ----------
    weights_ : Series
        Weight per member.
    tuning_ : DataFrame
        Per member its mean scaled absolute error on the pseudo-origins alone, and the
        combination's (``member = "combination"``), with ``cells`` and ``origins``.

    Notes
    -----
    With no pseudo-origin cell the weights are equal (logged, in ``tuning_``). Bounds are the
    weighted bounds of the members (quantile averaging) where every member has them.
    """

    result_ = None

    def __init__(self, members=(), *, step=0.1, tune_horizon=3, min_train=8, n_origins=0, name=None, breaks="bridge"):
        self.members, self.step, self.tune_horizon = members, step, tune_horizon
        self.min_train, self.n_origins, self.name, self.breaks = min_train, n_origins, name, breaks

    @property
    def min_length(self) -> int:  # type: ignore[override]
        return max([getattr(m, "min_length", 2) for _, m in self.members] or [2])

    @property
    def has_intervals(self) -> bool:  # type: ignore[override]
        return all(getattr(m, "has_intervals", False) for _, m in self.members)

    @property
    def exog_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys(c for _, m in self.members for c in getattr(m, "exog_columns", ())))

    def _member(self, est, inner: bool = False):
        est = clone(est)
        if "breaks" in est.get_params():
            est.set_params(breaks=self.breaks)
        # direct models: at a pseudo-origin, only the horizons scored
        return registry.set_horizon(est, int(self.tune_horizon), at_least=not inner)

    def _fit(self, data: pd.DataFrame) -> None:
        if not self.members:
            raise ConfigError("Stacked: members is empty; give a list of (name, forecaster) pairs.")
        names = [n for n, _ in self.members]
        H = int(self.tune_horizon)
        raw = data.drop(columns=["y_fit"])
        scales = region_scales(data)
        truth = data.set_index(["region", "year"])["y_fit"]
        need = self.min_length
        origins = pseudo_origins(data["year"], min_train=max(int(self.min_train), need), n_max=int(self.n_origins) or None)
        rows = []
        for s in origins:
            train = raw.loc[raw["year"] <= s]
            n = train.groupby("region")["year"].size()
            train = train.loc[train["region"].isin(n.index[n >= need])]
            if train.empty:
                continue
            fcs = [_pseudo_points(self._member(est, inner=True), train, H) for _, est in self.members]
            frame = pd.concat(fcs, axis=1, keys=names).reset_index()
            frame = frame.loc[frame["year"] <= data["year"].max()]
            rows.append(frame)
        cells = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[*KEY, *names])
        if len(cells):
            key = pd.MultiIndex.from_frame(cells[["region", "year"]].astype({"region": object}))
            cells["actual"] = truth.reindex(key).to_numpy()
            cells = cells.loc[cells["actual"].notna() & cells[names].notna().all(axis=1)]
        grid = simplex_grid(len(names), float(self.step))
        if len(cells):
            sc = cells["region"].astype(str).map(scales).to_numpy(dtype=float)
            P = cells[names].to_numpy(dtype=float)
            err = np.abs(P @ grid.T - cells["actual"].to_numpy()[:, None]) / sc[:, None]
            mean = err.mean(axis=0)
            best = int(np.argmin(np.round(mean, 12)))
            own = np.abs(P - cells["actual"].to_numpy()[:, None]) / sc[:, None]
            tuning = [(n, float(own[:, i].mean())) for i, n in enumerate(names)] + [("combination", float(mean[best]))]
        else:
            best = int(np.argmin(np.abs(grid - 1 / len(names)).sum(axis=1)))
            tuning = [(n, np.nan) for n in names] + [("combination", np.nan)]
            logger.warning("%s: no pseudo-origin cell; the members get (nearly) equal weights.", self._name())
        self.weights_ = pd.Series(grid[best], index=names, name="weight")
        self.tuning_ = pd.DataFrame(tuning, columns=["member", "error"]).assign(
            cells=len(cells), origins=int(cells["origin_year"].nunique()) if len(cells) else 0)
        self.fitted_members_ = [(n, self._member(est).fit(raw)) for n, est in self.members]
        logger.info("%s: weights %s from %d pseudo-origin cells.", self._name(), self.weights_.round(2).to_dict(),
                    len(cells))

    @property
    def update_rule(self) -> str:  # type: ignore[override]
        return ("weights kept; members updated: " + "; ".join(f"{n}: {est.update_rule}" for n, est in self.fitted_members_))

    def _update(self, data: pd.DataFrame) -> None:
        raw = data.drop(columns=["y_fit"])
        for _, est in self.fitted_members_:
            est.update(raw)

    def _predict(self, h: int, levels) -> pd.DataFrame:
        frames = [est.predict(h, levels) for _, est in self.fitted_members_]
        return weighted_forecasts(frames, self.weights_.to_numpy(), self._name())

