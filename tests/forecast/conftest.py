"""Seeded synthetic annual series for the forecasting tests (SYNTHETIC: no file, no network)."""
from __future__ import annotations

import pandas as pd
import pytest
from forecast_helpers import synth_series


@pytest.fixture
def series() -> pd.DataFrame:
    return synth_series()
