"""Estimation samples for the panel models: lagging, missing data, rank and absorption checks.

Everything here runs before a library estimator sees the data, so that a bad design is
reported with the names of the columns, regions and years at fault instead of a bare
``LinAlgError`` or a silent NaN coefficient. No pseudo-inverse is ever used to get
around a singular design: a singular design raises.
"""
from __future__ import annotations

import logging
import reprlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.features.builders.lags import difference, values_years_back
from kzmig.features.data.panel import validate_panel

logger = logging.getLogger(__name__)

_short = reprlib.Repr()
_short.maxlist = 6
#: Relative tolerance below which a transformed column counts as absorbed / collinear.
RANK_TOL = 1e-10


def lag_name(feature: str, lag: int) -> str:
    """Name of a lagged feature column: ``x`` for lag 0, ``x_lag1`` for lag 1."""
    return feature if lag == 0 else f"{feature}_lag{lag}"


def lag_within_region(panel: pd.DataFrame, features: Sequence[str], lag: int) -> pd.DataFrame:
    """Return ``panel`` with ``features`` replaced by their values ``lag`` years earlier.

    The value for (region r, year t) is the value of (r, t - lag); it is NaN when that
    row is absent (the first ``lag`` years of a region, or a gap), never borrowed from
    another region or a non-adjacent year. Columns are renamed ``x_lag{lag}``.
    """
    if int(lag) != lag or lag < 0:
        raise ConfigError(f"lag={lag!r} must be a non-negative integer number of years.")
    if lag == 0:
        return panel.copy()
    past = values_years_back(panel, list(features), lag).drop(columns=["region", "year"])
    past = past.rename(columns={f: lag_name(f, lag) for f in features})
    return pd.concat([panel.drop(columns=list(features)).reset_index(drop=True), past], axis=1)


def _years_text(years: Sequence[int]) -> str:
    ys = sorted({int(y) for y in years})
    if not ys:
        return "no years"
    if ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}-{ys[-1]}" if len(ys) > 1 else str(ys[0])
    return _short.repr(ys)


def estimation_sample(panel: pd.DataFrame, target: str, features: Sequence[str], *,
                      lag: int, missing: str, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Validate, lag and subset a wide panel to the rows a model can use.

    Returns the sample (``region``, ``year``, target, lagged features; sorted) and the
    names of the lagged feature columns.

    Raises
    ------
    PanelContractError
        Missing columns or keys (via :func:`validate_panel`); a feature with no value in
        any year where the target is observed (naming the feature and the years); missing
        values with ``missing="raise"``; an empty sample.
    """
    validate_panel(panel, required=(target, *features), missing="keep", source=source,
                   regions=sorted(panel["region"].astype(str).unique()), allow_gaps=True)
    lagged = lag_within_region(panel, features, lag)
    names = [lag_name(f, lag) for f in features]
    has_y = lagged[target].notna()
    if lag:
        # The first `lag` years of each region have no lagged value by construction.
        first = lagged.groupby("region")["year"].transform("min")
        has_y &= lagged["year"] >= first + lag
    cand = lagged.loc[has_y]
    if cand.empty:
        raise PanelContractError(f"{source}: target {target!r} has no values to explain.")
    for f, name in zip(features, names, strict=True):
        if cand[name].notna().any():
            continue
        seen = panel.loc[panel[f].notna(), "year"]
        raise PanelContractError(
            f"{source}: feature {name!r} is missing in every row of the estimation sample "
            f"(years {_years_text(cand['year'])} where {target!r} is observed); {f!r} is "
            f"observed in {_years_text(seen)}. Drop it or widen the years."
        )
    cand = cand.reset_index(drop=True)
    required = [target, *names]
    if missing != "drop":  # "raise" names the first gap; "keep" passes NaN on
        sample = validate_panel(cand, required=required, missing=missing,
                                source=f"{source} (lag {lag})",
                                regions=sorted(cand["region"].astype(str).unique()),
                                allow_gaps=True)
    else:
        na = cand[required].isna()
        sample = cand.loc[~na.any(axis=1)]
        if len(sample) < len(cand):
            counts = {c: int(n) for c, n in na.sum().items() if n}
            logger.warning("%s: %d of %d rows dropped for missing values (per column %s; "
                           "regions %s); %d remain.", source, len(cand) - len(sample),
                           len(cand), counts,
                           _short.repr(sorted(cand.loc[na.any(axis=1), "region"].unique())),
                           len(sample))
    if sample.empty:
        raise PanelContractError(
            f"{source}: no row has {target!r} and all of {names} observed together.")
    cols = ["region", "year", target, *names]
    return sample[cols].sort_values(["region", "year"]).reset_index(drop=True), names


class SampleEstimator:
    """What the regressions on an estimation sample share: their name in messages, and the
    fitted ``feature_names_``, ``regions_``, ``years_`` and ``sample_`` read from the sample."""

    @property
    def _owner(self) -> str:
        return type(self).__name__

    def _keep_sample(self, sample: pd.DataFrame, names: Sequence[str]) -> None:
        self.feature_names_ = tuple(names)
        self.regions_ = tuple(sorted(sample["region"].unique()))
        self.years_ = tuple(int(y) for y in sorted(sample["year"].unique()))
        self.sample_ = sample


def check_size(sample: pd.DataFrame, *, owner: str, min_regions: int, min_years: int) -> None:
    """Raise when the sample has fewer regions or years than the estimator needs."""
    regions = sorted(sample["region"].unique())
    years = sorted(sample["year"].unique())
    if len(regions) >= min_regions and len(years) >= min_years:
        return
    raise PanelContractError(
        f"{owner} needs at least {min_regions} regions and {min_years} years with complete "
        f"data; the estimation sample has {len(regions)} region(s) {_short.repr(regions)} and "
        f"{len(years)} year(s) {_years_text(years)}."
    )


def _residualise(x: np.ndarray, dummies: np.ndarray) -> np.ndarray:
    # Projection off the effect dummies: lstsq on a dummy matrix, which is well posed.
    coef = np.linalg.lstsq(dummies, x, rcond=None)[0]
    return x - dummies @ coef


def transformed_design(sample: pd.DataFrame, names: Sequence[str], transform: str) -> np.ndarray:
    """The regressor matrix as the estimator sees it after removing effects.

    ``transform`` is ``"none"`` (plus a constant), ``"region"``, ``"year"``, ``"both"``
    (within transformations), ``"between"`` (region means plus a constant) or
    ``"difference"`` (first differences within region, consecutive years only).
    """
    x = sample[list(names)].to_numpy(dtype=float)
    if transform == "none":
        return np.column_stack([np.ones(len(x)), x])
    if transform == "between":
        means = sample.groupby("region")[list(names)].mean().to_numpy(dtype=float)
        return np.column_stack([np.ones(len(means)), means])
    if transform == "difference":
        return difference(sample, list(names), drop_first=True)[list(names)].to_numpy(dtype=float)
    keys = {"region": ["region"], "year": ["year"], "both": ["region", "year"]}[transform]
    dummies = pd.get_dummies(sample[keys].astype(str), dtype=float).to_numpy()
    return _residualise(x, dummies)


def check_design(sample: pd.DataFrame, names: Sequence[str], transform: str, owner: str) -> None:
    """Raise naming the features that are absorbed by the effects or perfectly collinear.

    Raises
    ------
    PanelContractError
        A feature constant within every region (region effects, first differences), within
        every year (year effects), or explained by both; or a set of features (with the
        constant) that is perfectly collinear.
    """
    cols = ["const", *names] if transform in ("none", "between") else list(names)
    x = transformed_design(sample, names, transform)
    if x.shape[0] == 0:
        raise PanelContractError(f"{owner}: no consecutive years to difference in the sample.")
    raw = transformed_design(sample, names, "none")[:, 1:]
    scale = np.sqrt((raw**2).mean(axis=0))
    scale[scale == 0] = 1.0  # an all-zero column is caught as absorbed or collinear
    if transform not in ("none", "between"):
        norms = np.sqrt((x**2).mean(axis=0)) / scale
        gone = [n for n, v in zip(names, norms, strict=True) if v < 1e-8]
        if gone:
            why = {"region": "constant within every region, so the region fixed effects absorb it",
                   "year": "constant within every year, so the year fixed effects absorb it",
                   "both": "explained entirely by the region and year fixed effects",
                   "difference": "constant within every region, so first differences remove it",
                   }[transform]
            raise PanelContractError(
                f"{owner}: feature(s) {gone} are {why}; drop them or choose other effects.")
    n_eff = {"region": sample["region"].nunique(), "year": sample["year"].nunique(),
             "both": sample["region"].nunique() + sample["year"].nunique() - 1}.get(transform, 0)
    if x.shape[0] - x.shape[1] - n_eff <= 0:
        raise PanelContractError(
            f"{owner}: {x.shape[0]} usable observations for {x.shape[1]} coefficients and "
            f"{n_eff} fixed effects leave no residual degrees of freedom; need more than "
            f"{x.shape[1] + n_eff} observations. Add data or drop features.")
    xs = x / np.linalg.norm(x, axis=0).clip(min=1e-300)
    _, s, vt = np.linalg.svd(xs, full_matrices=False)
    if s[-1] > RANK_TOL * s[0]:
        return
    null = vt[s <= RANK_TOL * s[0]]
    involved = [c for c, v in zip(cols, np.abs(null).max(axis=0), strict=True) if v > 1e-6]
    raise PanelContractError(
        f"{owner}: regressors {involved} are perfectly collinear in the estimation sample "
        f"(after the '{transform}' transformation); drop one of them. No pseudo-inverse is used."
    )
