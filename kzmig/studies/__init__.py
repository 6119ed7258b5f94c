"""Studies as library functions: ``study(config, data=None, *, progress=None) -> StudyResult``.

Studies return data only (tables, the data of charts and workbooks, models, warnings,
metadata); :func:`kzmig.reporting.save` renders and writes a result as a run folder.

>>> from kzmig.config import load_config                  # doctest: +SKIP
>>> from kzmig.reporting import save
>>> from kzmig.studies import forecast
>>> result = forecast(load_config("experiments/net_migration.toml"))
>>> result.tables["forecasts"].head(); save(result, "runs/demo")
"""
from __future__ import annotations

from kzmig.studies.assess import assess
from kzmig.studies.base import Chart, Document, SavedModel, StudyResult
from kzmig.studies.forecast import forecast
from kzmig.studies.predict import PredictResult, predict
from kzmig.studies.regress import regress
from kzmig.studies.run import RunResult, run

#: kind -> study function
STUDIES = {"assess": assess, "regress": regress, "forecast": forecast, "run": run}

__all__ = ["STUDIES", "Chart", "Document", "PredictResult", "RunResult", "SavedModel", "StudyResult", "assess", "forecast", "predict",
           "regress", "run"]
