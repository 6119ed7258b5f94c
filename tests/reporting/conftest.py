"""Fixtures of the reporting tests: the SYNTHETIC run of ``planning_data.py``."""
from __future__ import annotations

import pandas as pd
import pytest
from planning_data import synthetic_accuracy, synthetic_forecasts, synthetic_history


@pytest.fixture
def forecasts() -> pd.DataFrame:
    return synthetic_forecasts()


@pytest.fixture
def accuracy() -> pd.DataFrame:
    return synthetic_accuracy()


@pytest.fixture
def history() -> pd.DataFrame:
    return synthetic_history()
