"""Planning targets in a run: what the forecast says about each, and how far the data got.

For every row of the targets table (``indicator, region, year, value, direction, measure,
source``; :func:`kzmig.forecast.targets.read_targets`):

* when a forecast of the indicator covers the region and year, the selected model's forecast
  value, its 80 % interval and the probability of reaching the target
  (:func:`kzmig.forecast.targets.target_probability`);
* when the data hold the indicator's value for that region and year, the achievement
  (actual against target in the target's direction, :func:`kzmig.features.indicators.target_achievement`);
* otherwise the reason the run cannot speak to it.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kzmig.features.dataset import load_long, to_wide
from kzmig.features.indicators import target_achievement
from kzmig.forecast.target_names import check_indicators, unanswerable_note
from kzmig.forecast.targets import read_targets, target_probability
from kzmig.studies.base import StudyResult
from kzmig.studies.data import DataSource

logger = logging.getLogger(__name__)
KEY = ["indicator", "region", "year"]


def _selected(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    frames = []
    for key, part in parts.items():
        for name in ("forecasts", "specialist_forecasts"):
            if name in part.tables and len(part.tables[name]):
                fc = part.tables[name]
                sel = fc.loc[fc["selected"].astype(bool)] if "selected" in fc else fc
                frames.append(sel.assign(part=key))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _forecast_rows(targets: pd.DataFrame, forecasts: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Probabilities for the targets that a forecast covers; reasons for the others."""
    rows, reasons = [], []
    for i, t in targets.iterrows():
        fc = forecasts.loc[(forecasts["target"] == t["indicator"]) & (forecasts["region"] == t["region"])]
        if fc.empty or int(t["year"]) not in set(fc["year"]):
            reasons.append("")
            continue
        cols = ["model", "region", "origin_year", "year", "point", "lower", "upper", "level"]
        prob = target_probability(fc[cols].assign(target=t["indicator"]).reset_index(drop=True),
                                  targets.loc[[i]].reset_index(drop=True))
        at = fc.loc[(fc["year"] == int(t["year"]))]
        band = at.loc[at["level"] == at["level"].min()]
        rows.append({**{k: t[k] for k in KEY}, "model": prob["model"].iloc[0], "forecast": prob["point"].iloc[0],
                     "forecast_lower": band["lower"].iloc[0], "forecast_upper": band["upper"].iloc[0],
                     "interval_level": band["level"].iloc[0], "probability": prob["probability"].iloc[0]})
        reasons.append("forecast")
    cols = [*KEY, "model", "forecast", "forecast_lower", "forecast_upper", "interval_level", "probability"]
    return pd.DataFrame(rows, columns=cols), reasons


def target_part(cfg: Any, source: DataSource, parts: Mapping[str, StudyResult],
                targets: pd.DataFrame | None = None) -> StudyResult:
    """The targets table of a run with forecast probabilities and achievements (``targets``: the
    table already read from ``cfg.targets``)."""
    targets = read_targets(cfg.targets) if targets is None else targets
    selected = _selected(parts)
    wide = to_wide(load_long("current", observations=source.observations))
    answerable = {*(selected["target"] if len(selected) else ()), *(c for c in wide.columns if c not in KEY)}
    check_indicators(targets, answerable, source=cfg.targets)  # a misspelt indicator is an error (issue 22)
    fc, _ = _forecast_rows(targets, selected)
    known = targets.loc[targets["indicator"].isin(wide.columns)]
    ach = target_achievement(wide, known) if len(known) else pd.DataFrame(columns=[*KEY, "actual"])
    ach = ach.loc[ach["actual"].notna()] if "actual" in ach else ach
    keep = [c for c in ("actual", "achievement_pct", "gap", "met") if c in ach.columns]
    out = targets.merge(fc, on=KEY, how="left").merge(ach[[*KEY, *keep]], on=KEY, how="left")
    has_fc, has_actual = out["forecast"].notna(), out.get("actual", pd.Series(np.nan, index=out.index)).notna()
    out["status"] = np.select([has_fc & has_actual, has_fc, has_actual],
                              ["forecast and actual", "forecast", "actual (no forecast)"],
                              "not answerable: no forecast of this indicator, region and year, and no value in the data")
    n = out["status"].value_counts().to_dict()
    logger.info("targets: %s", ", ".join(f"{v} {k}" for k, v in sorted(n.items())))
    unanswered = out.loc[out["status"].str.startswith("not answerable")]
    return StudyResult(
        study="targets", name=cfg.name, tables={"target_probabilities": out},
        warnings=tuple(f"target {r.indicator} / {r.region} / {r.year}: not answerable by this run "
                       f"({unanswerable_note(selected['target'] if len(selected) else ())})"
                       for r in unanswered.itertuples(index=False)),
        metadata={"targets_file": str(cfg.targets), "status": {str(k): int(v) for k, v in n.items()}},
    )
