"""Planning targets in a run: what the forecast says about each, and how far the data got.

For every row of the targets table (``indicator, region, year, value, direction, measure,
source``; :func:`kzmig.forecast.planning.targets.read_targets`):

* when a forecast of the indicator covers the region and year, the selected model's forecast
  value, its 80 % interval and the probability of reaching the target
  (:func:`kzmig.forecast.planning.targets.target_probability`);
* when the data hold the indicator's value for that region and year, the achievement
  (actual against target in the target's direction, :func:`kzmig.features.assessment.indicators.target_achievement`);
* otherwise the reason the run cannot speak to it.

Targets on the sparse national series behind the state's programmes (foreign students, labour
emigration, foreign workers against the quota, kandas against the quota; SOURCES.md Round 6) get
the feasibility analysis of METHOD.md section 11 instead (:func:`state_targets`,
:mod:`kzmig.forecast.planning.feasibility`): tables ``feasibility``, ``feasibility_points``,
``feasibility_growth``, ``quota_use`` (outcome against quota, year by year), and
``series_forecasts`` / ``series_models`` for the series with enough annual points (log-linear
trend with predictive intervals) and the reason for the others.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kzmig.config.run_config import RunConfig
from kzmig.features.data.dataset import to_wide
from kzmig.features.assessment.indicators import target_achievement
from kzmig.features.ingest.build_press_series import SHIPPED as PRESS_SERIES, base_of
from kzmig.forecast.planning.feasibility import MIN_POINTS, feasibility, loglinear_path, series_points
from kzmig.forecast.planning.target_names import check_indicators, unanswerable_note
from kzmig.forecast.planning.targets import read_targets, target_probability
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


def target_part(cfg: RunConfig, source: DataSource, parts: Mapping[str, StudyResult],
                targets: pd.DataFrame | None = None) -> StudyResult:
    """The targets table of a run with forecast probabilities and achievements (``targets``: the
    table already read from ``cfg.targets``)."""
    targets = read_targets(cfg.targets) if targets is None else targets
    selected = _selected(parts)
    wide = to_wide(source.long("current"))
    answerable = {*(selected["target"] if len(selected) else ()), *(c for c in wide.columns if c not in KEY),
                  *PRESS_BASES}  # the state targets (issue 20) are answered by their feasibility
    check_indicators(targets, answerable, source=cfg.targets)  # a misspelt indicator is an error (issue 22)
    fc, _ = _forecast_rows(targets, selected)
    known = targets.loc[targets["indicator"].isin(wide.columns)]
    ach = target_achievement(wide, known) if len(known) else pd.DataFrame(columns=[*KEY, "actual"])
    ach = ach.loc[ach["actual"].notna()] if "actual" in ach else ach
    keep = [c for c in ("actual", "achievement_pct", "gap", "met") if c in ach.columns]
    out = targets.merge(fc, on=KEY, how="left").merge(ach[[*KEY, *keep]], on=KEY, how="left")
    has_fc, has_actual = out["forecast"].notna(), out.get("actual", pd.Series(np.nan, index=out.index)).notna()
    sparse = out["indicator"].isin(PRESS_BASES) & (out["region"] == "kazakhstan")
    out["status"] = np.select([has_fc & has_actual, has_fc, sparse, has_actual],
                              ["forecast and actual", "forecast", "feasibility on a sparse national series "
                               "(feasibility.csv)", "actual (no forecast)"],
                              "not answerable: no forecast of this indicator, region and year, and no value in the data")
    state = state_targets(targets.loc[targets["indicator"].isin(PRESS_BASES)], source.observations)
    n = out["status"].value_counts().to_dict()
    logger.info("targets: %s", ", ".join(f"{v} {k}" for k, v in sorted(n.items())))
    unanswered = out.loc[out["status"].str.startswith("not answerable")]
    return StudyResult(
        study="targets", name=cfg.name, tables={"target_probabilities": out, **state},
        warnings=tuple(f"target {r.indicator} / {r.region} / {r.year}: not answerable by this run "
                       f"({unanswerable_note(selected['target'] if len(selected) else ())})"
                       for r in unanswered.itertuples(index=False)),
        metadata={"targets_file": str(cfg.targets), "status": {str(k): int(v) for k, v in n.items()}},
    )


#: the definitions of the Round-6 press series a target may name (base variables, no period suffix)
PRESS_BASES = frozenset(base_of(v) for v, _ in PRESS_SERIES)
#: series forecast where the data allow: base -> (variable, why this one)
SERIES_TO_FORECAST = {
    "kandas_status_granted": "kandas granted status in a calendar year (full years only; 2021 suspect left out)",
    "foreign_workers_leb_permits": "foreign workers on permits of local executive bodies, at the same date each year "
                                   "(the date published in most years)",
}
HORIZON = 2030


def _same_date(obs: pd.DataFrame, base: str) -> pd.DataFrame:
    """The stock variable of ``base`` published in most years (ties: the later date), as annual points."""
    sub = obs.loc[obs["variable"].str.startswith(base + "_at_") & ~obs["variable"].str.endswith(("_unstated",
                                                                                                 "_end_of_year"))]
    counts = sub.groupby("variable")["year"].nunique()
    if counts.empty:
        return pd.DataFrame(columns=["variable", "year", "t", "value", "flag", "source"])
    best = counts[counts == counts.max()].index.max()
    pts = sub.loc[(sub["variable"] == best) & ~sub["flag"].fillna("").str.contains("suspect")]
    return (pts.assign(t=pts["year"].astype(float)).sort_values("t")
            [["variable", "year", "t", "value", "flag", "source"]].reset_index(drop=True))


def series_forecasts(obs: pd.DataFrame, horizon: int = HORIZON) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log-linear trend forecasts (80 % and 95 % predictive intervals) of the series with at least
    :data:`MIN_POINTS` annual points, and one row per Round-6 target series saying what was done and why."""
    frames, models = [], []
    for base, what in SERIES_TO_FORECAST.items():
        pts = _same_date(obs, base) if base == "foreign_workers_leb_permits" else series_points(obs, base)
        years = sorted(pts["year"].astype(int).tolist())
        if len(pts) < MIN_POINTS:
            models.append({"series": base, "what": what, "points": len(pts), "years": str(years), "model": "none",
                           "why": f"{len(pts)} annual point(s): fewer than {MIN_POINTS}"})
            continue
        start = int(pts["year"].max()) + 1
        for level in (0.8, 0.95):
            frames.append(loglinear_path(pts, range(start, horizon + 1), level).assign(
                series=base, variable=pts["variable"].iloc[0], model="loglinear_trend"))
        models.append({"series": base, "what": what, "points": len(pts), "years": str(years),
                       "model": "loglinear_trend",
                       "why": "log-linear trend with slope and residual uncertainty (Student t predictive interval); "
                              "the forecasting study's models (naive, ETS, panel and direct models with a rolling-origin "
                              "backtest) need a regular annual series without gaps and enough years to backtest, which "
                              f"these {len(pts)} points ({', '.join(map(str, years))}) are not"})
    fc = (pd.concat(frames, ignore_index=True)[["series", "variable", "model", "year", "point", "lower", "upper",
                                                 "level"]] if frames else pd.DataFrame())
    return fc, pd.DataFrame(models)


#: outcome against quota, year by year: (outcome definition, quota variables in order of preference, words)
QUOTA_PAIRS = (
    ("foreign_workers_leb_permits", ("foreign_labour_quota_leb_revised", "foreign_labour_quota_leb"),
     "foreign workers employed under permits of local executive bodies (last stock published in the year) "
     "against the year's quota of such permits (the revised quota where one was set)"),
    ("kandas_resettled_in_quota_regions", ("kandas_regional_quota",),
     "kandas resettled to the quota regions in the year against the year's regional quota"),
)


def quota_use(obs: pd.DataFrame) -> pd.DataFrame:
    """Outcome against quota in every year both are published (:data:`QUOTA_PAIRS`): ``use_pct`` =
    100 x outcome / quota; years with only one of the two are not shown."""
    rows = []
    for base, quotas, words in QUOTA_PAIRS:
        pts = series_points(obs, base)
        quota = {}
        for q in reversed(quotas):  # the preferred quota (first) overrides the others
            sub = obs.loc[(obs["variable"] == q) & (obs["region"] == "kazakhstan")]
            quota.update({int(y): (float(v), q) for y, v in zip(sub["year"], sub["value"])})
        for p in pts.itertuples(index=False):
            y = int(p.year)
            if y in quota:
                rows.append({"outcome": base, "year": y, "outcome_variable": p.variable, "outcome_value": p.value,
                             "quota_variable": quota[y][1], "quota": quota[y][0],
                             "use_pct": 100.0 * p.value / quota[y][0], "what": words})
    return pd.DataFrame(rows)


def state_targets(targets: pd.DataFrame, observations: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Feasibility tables of the targets on the Round-6 national series (METHOD.md section 11)."""
    if targets.empty:
        return {}
    rows, points, growth = [], [], []
    for _, t in targets.iterrows():
        row, pts, gr = feasibility(observations, t)
        for col in ("definition", "definition_ru"):  # the targets file's own words (definition_ru: Russian outputs)
            row[col] = str(t[col]) if col in t and pd.notna(t[col]) else ""
        row["source"] = str(t["source"])
        rows.append(row)
        points.append(pts)
        growth.append(gr)
    fc, models = series_forecasts(observations)
    feas = pd.DataFrame(rows)
    logger.info("state targets: %s", ", ".join(f"{r['indicator']} {r['year']} {r['target']:,.0f}: {r['verdict']}"
                                               for r in rows))
    return {"feasibility": feas,
            "feasibility_points": pd.concat(points, ignore_index=True).drop_duplicates(["indicator", "variable", "year"]),
            "feasibility_growth": pd.concat(growth, ignore_index=True).drop_duplicates(["indicator", "from_t", "to_t"]),
            "series_forecasts": fc, "series_models": models, "quota_use": quota_use(observations)}
