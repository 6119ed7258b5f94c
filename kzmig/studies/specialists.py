"""Departures of specialists by education and specialty in a run (METHOD.md section 9).

There is no annual series of migrants by education or specialty, only single (partial)
years: the forecast of total external departures (a forecast study of the run) times each
group's share observed in those years, with the share's uncertainty from the spread of the
observed years, widened where only one year exists (:mod:`kzmig.forecast.planning.composition`). Every
row says it is composition-based and from which years. A user table of annual series by
group (``[specialists] user_series``) replaces the assumption for the groups it covers: those
are forecast directly and say so (``method = "direct"``).
"""
from __future__ import annotations

import logging

import pandas as pd

from kzmig.config.run_config import RunConfig
from kzmig.core.errors import StudyError
from kzmig.features.assessment.composition import brain_drain_table, composition_table
from kzmig.features.data.dataset import user_observations
from kzmig.forecast.planning.composition import specialist_forecast
from kzmig.studies.base import StudyResult
from kzmig.studies.data import DataSource

logger = logging.getLogger(__name__)


def specialist_part(cfg: RunConfig, source: DataSource, forecast: StudyResult) -> StudyResult:
    """Specialist forecasts of every configured dimension, the composition and the brain-drain view.

    Raises
    ------
    StudyError
        The forecast study has no selected forecast of the configured target.
    """
    s = cfg.specialists
    fc = forecast.tables["forecasts"]
    total = fc.loc[(fc["target"] == s.target) & fc["selected"].astype(bool)].reset_index(drop=True)
    if total.empty:
        raise StudyError(f"specialists: the forecast study {s.forecast!r} has no selected forecast of {s.target!r} "
                         f"(targets forecast: {sorted(set(fc['target']))}).")
    long = source.long("current")
    user = user_observations(s.user_series) if s.user_series is not None else None
    frames, reports = [], []
    for dim in s.dimensions:
        out, report = specialist_forecast(total, long, user, direction=s.direction, dimension=dim,
                                          n_draws=s.n_draws, seed=s.seed)
        frames.append(out.assign(dimension=dim, unit="persons", interval="composition",
                                 model=[f"composition ({m})" for m in out["model"]]))
        reports.append(report.assign(dimension=dim))
    forecasts = pd.concat(frames, ignore_index=True)
    methods = forecasts.groupby("method")["target"].nunique().to_dict()
    logger.info("specialists: %s", ", ".join(f"{n} groups {m}" for m, n in sorted(methods.items())))
    return StudyResult(
        study="specialists", name=cfg.name,
        tables={"specialist_forecasts": forecasts, "specialist_report": pd.concat(reports, ignore_index=True),
                "composition": composition_table(long), "brain_drain": brain_drain_table(long)},
        warnings=tuple(f"{m}: {n} groups" for m, n in sorted(methods.items()) if m == "composition"),
        metadata={"seeds": {"specialists": s.seed}, "total": {"forecast": s.forecast, "target": s.target,
                                                               "model": str(total["model"].iloc[0])},
                  "user_series": str(s.user_series) if s.user_series else None,
                  "caveat": "composition-based: forecast total departures x the share of each group observed "
                            "in the single (partial) years that exist"},
    )
