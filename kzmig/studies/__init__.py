"""Studies as library functions: ``study(config, data=None, *, progress=None) -> StudyResult``.

>>> from kzmig.config import load_config                  # doctest: +SKIP
>>> from kzmig.studies import forecast
>>> result = forecast(load_config("experiments/net_migration.toml"))
>>> result.tables["forecasts"].head(); result.save("runs/demo")
"""
from __future__ import annotations

from kzmig.studies.assess import assess
from kzmig.studies.base import SavedModel, StudyResult
from kzmig.studies.forecast import forecast
from kzmig.studies.predict import PredictResult, predict
from kzmig.studies.regress import regress
from kzmig.studies.run import RunResult, run

#: kind -> study function
STUDIES = {"assess": assess, "regress": regress, "forecast": forecast, "run": run}

__all__ = ["STUDIES", "PredictResult", "RunResult", "SavedModel", "StudyResult", "assess", "forecast", "predict",
           "regress", "run"]
