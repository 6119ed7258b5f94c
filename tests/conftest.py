"""Shared fixtures: a hand-checkable toy panel and paths to the shipped and raw data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
from raw_guard import RAW, require_raw  # noqa: E402  (tests/ is on sys.path for its conftest)


#: A small regression study on the shipped data (continuous models, both covariances, a
#: bootstrap and the discrete models), shared by the command-line and model tests.
SMALL_REGRESS = """
[data]
view = "harmonised"
borders = 2018
first_year = 2009
last_year = 2022

[features]
builders = ["labour", "wages"]
columns = ["unemployment_rate_pct", "income_rel_national_pct", "doctors_per_10000"]
lag = 1
missing = "drop"

[[models]]
name = "pooled"
kind = "pooled_ols"

[[models]]
name = "fe_twoway"
kind = "fixed_effects"
params = { effects = "both" }

[[models]]
name = "between"
kind = "between"

[covariance]
types = ["clustered", "driscoll-kraay"]
bandwidth = 2

[bootstrap]
models = ["fe_twoway"]
B = 99
weights = "webb"
seed = 1

[discrete]
window = 5
lag = 5
columns = ["unemployment_rate_pct", "income_rel_national_pct"]
models = ["ordered_logit", "multinomial_logit"]
"""


@pytest.fixture(scope="session")
def small_regress() -> str:
    """TOML text of :data:`SMALL_REGRESS`; tests write it (or an edited copy) to a file."""
    return SMALL_REGRESS


@pytest.fixture
def toy_panel() -> pd.DataFrame:
    """3 regions x 6 years from 2000 (SYNTHETIC): y = 2 x + region effect, values checkable by hand."""
    regions = ["A", "B", "C"]
    rows = []
    for i, r in enumerate(regions):
        for t in range(6):
            x = float(t + i)
            rows.append({"region": r, "year": 2000 + t, "x": x, "y": 2.0 * x + 10.0 * i})
    df = pd.DataFrame(rows)
    df["region"] = df["region"].astype("string")
    df["year"] = df["year"].astype("int64")
    return df


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """``../shared/data/raw`` (:func:`require_raw`)."""
    return require_raw(RAW)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Name the data tests that skipped for want of the raw folder, so that no skip goes unseen."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "raw statistics not present" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} data test(s) skipped: raw statistics not present at {RAW}",
                                   yellow=True)
        terminalreporter.write_line("Their claims about the shipped data went unchecked; "
                                    "see docs/development/testing.md. In CI they fail instead.")


#: the test files that take longest (planning runs, the wheel, forecast runs), slowest first:
#: collected before the others, so that ``-n auto --dist loadfile`` starts them first on different
#: workers and the many short files fill in around them (xdist's reordering by number of tests
#: is off in pyproject.toml). The order of the tests inside a file is kept.
SLOW_FIRST = ("tests/cli/test_run.py", "tests/cli/test_wheel.py", "tests/cli/test_predict.py",
              "tests/cli/test_assess.py", "tests/cli/test_forecast.py", "tests/test_readme.py",
              "tests/test_examples_numbers.py", "tests/cli/test_errors.py", "tests/cli/test_backend.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: every other file, and every file's tests, keep their order
