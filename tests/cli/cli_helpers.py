"""Calling the ``kzmig`` command line in-process, as the console script does (:func:`kzmig.cli.main`)."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path



@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr, with line wrapping removed (messages are checked as one line)."""
        return (self.out + self.err).replace("\n", " ")


def run_kzmig(*args) -> Result:
    from kzmig.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


REGIONS = ["akmola", "aktobe", "atyrau", "pavlodar", "kostanay"]


def synthetic_panel(first: int = 2004, last: int = 2017, *, short: dict[str, int] | None = None, seed: int = 7):
    """SYNTHETIC long table (real region codes, made-up values): net migration, population and
    natural increase for five regions and the national total, regions summing to the national row.

    ``short`` maps a region to the first year it has data (a series too short to forecast).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for yr in range(first, last + 1):
        total = 0.0
        for i, r in enumerate(REGIONS):
            v = float(np.round(rng.normal(scale=500.0 * (i + 1))))
            total += v
            if short and yr < short.get(r, first):
                continue
            flag = "break:census_2009" if (yr == 2008 and r == "akmola") else ""
            rows += [(r, yr, "net_migration", v, flag), (r, yr, "population", 5e5 + 100.0 * i + yr, ""),
                     (r, yr, "natural_increase", 3000.0 + 10 * yr - 20000, "")]
        rows += [("kazakhstan", yr, "net_migration", total, ""), ("kazakhstan", yr, "population", 3e6 + yr, ""),
                 ("kazakhstan", yr, "natural_increase", 5 * (3000.0 + 10 * yr - 20000), "")]
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value", "flag"])


#: A small planning run on the shipped data (tests/cli/test_run.py, and the wheel's run from an empty
#: folder): the baseline's shape with fewer models and origins, so that it runs in seconds:
#: assessment, regression, two forecasting studies, specialists, a scenario and targets.
MINI_RUN = """
[run]
name = "mini"
targets = "targets.csv"

[assess.data]
first_year = 2015
last_year = 2022

[regress]
config = "regress.toml"

[forecasts.net_migration]
[forecasts.net_migration.targets]
names = ["net_migration", "net_migration_rate_per_1000"]
additive = ["net_migration"]
[forecasts.net_migration.backtest]
origins = { from = 2016, to = 2021 }
horizon = 2
[forecasts.net_migration.forecast]
to_year = 2028
conformal = "all"
[forecasts.net_migration.reconciliation]
methods = ["ols"]
use = "ols"
[forecasts.net_migration.population]
enabled = true
[forecasts.net_migration.models.naive]
kind = "naive"
[forecasts.net_migration.models.mean3]
kind = "window_mean"
params = { k = 3 }
[forecasts.net_migration.models.pooled_ar]
kind = "pooled_ar"

[forecasts.external]
[forecasts.external.data]
view = "current"
[forecasts.external.targets]
names = ["external_arrivals", "external_departures"]
additive = []
[forecasts.external.breaks]
treatment = "keep"
[forecasts.external.backtest]
origins = { from = 2012, to = 2022 }
horizon = 2
[forecasts.external.forecast]
to_year = 2028
conformal = "missing"
[forecasts.external.models.naive_2000]
kind = "naive"
first_year = 2000
[forecasts.external.models.mean3]
kind = "window_mean"
params = { k = 3 }

[specialists]
forecast = "external"
target = "external_departures"
dimensions = ["specialty"]
n_draws = 2000

[scenarios]
forecast = "net_migration"
model = "fe_twoway"
n_draws = 2000

[scenario.jobs]
description = "unemployment 1 point lower everywhere from 2024"
shifts = [{ feature = "unemployment_rate_pct", regions = "all", from_year = 2024, kind = "absolute", value = -1.0 }]
"""
MINI_TARGETS = ("indicator,region,year,value,direction,measure,source\n"
           "net_migration,north_kazakhstan,2028,0,at_least,level,illustration\n"
           "net_migration,astana,2027,30000,at_least,level,illustration\n"
           "doctoral_graduates,kazakhstan,2029,150000,at_least,level,illustration (no such series)\n"
           "foreign_students_bns,kazakhstan,2029,150000,at_least,level,ministry target (press)\n")


def write_mini_run(folder: Path, regress: str) -> Path:
    """Write ``mini.toml`` (:data:`MINI_RUN`), the ``regress.toml`` it names (the text ``regress``)
    and ``targets.csv`` (:data:`MINI_TARGETS`) into ``folder``; return the path of ``mini.toml``."""
    (folder / "regress.toml").write_text(regress, encoding="utf-8")
    (folder / "targets.csv").write_text(MINI_TARGETS, encoding="utf-8")
    path = folder / "mini.toml"
    path.write_text(MINI_RUN, encoding="utf-8")
    return path
