"""AssessStudyConfig (an ``[assess]`` table) and the draft RunConfig that composes studies."""
from __future__ import annotations

import pytest

from kzmig.config import AssessStudyConfig, RunConfig, load_config


def test_assess_defaults_are_the_command_defaults(write):
    cfg = load_config(write("[assess]\n"))
    assert isinstance(cfg, AssessStudyConfig)
    assert (cfg.data.first_year, cfg.data.last_year, cfg.data.borders, cfg.regions, cfg.targets) == (
        2006, 2022, 2018, None, None)
    assert cfg.data.breaks == "drop" and cfg.method == "default"
    # METHOD.md / README: k = 3 smoothed years, 20 % and 0.5 per 1,000 tolerances, 5-year windows of k = 2
    assert (cfg.smooth_k, cfg.rel_tol, cfg.abs_tol, cfg.roll_window, cfg.roll_k) == (3, 0.2, 0.5, 5, 2)


def test_assess_full_table_and_relative_targets(write):
    targets = write("indicator,region,year,target\n", name="goals.csv")
    cfg = load_config(write('[assess]\nregions = ["abai", "astana"]\n'
                            'targets = "goals.csv"\nmethod = "paper"\nsmooth_k = 2\n'
                            "rel_tol = 0\nabs_tol = 1\nroll_window = 6\nroll_k = 3\n"
                            '[assess.data]\nfirst_year = 2010\nlast_year = 2020\nborders = 2022\nbreaks = "keep"\n',
                            name="a.toml"))
    assert cfg.targets == targets and cfg.regions == ("abai", "astana") and cfg.rel_tol == 0.0
    assert cfg.data.years() == (2010, 2020) and (cfg.data.borders, cfg.data.breaks) == (2022, "keep")
    assert cfg.path.name == "a.toml" and len(cfg.sha256) == 64


@pytest.mark.parametrize(("line", "key", "allowed"), [
    ("data = { last_year = 2006 }", "assess.data.last_year", "after first_year = 2006"),
    ("data = { first_year = \"2006\" }", "assess.data.first_year", "an integer from 1990 to 2100"),
    ("data = { borders = 2019 }", "assess.data.borders", "one of 2017, 2018, 2022"),
    ("data = { view = \"current\" }", "assess.data.view", "needs view = \"harmonised\""),
    ("data = { national = false }", "assess.data.national", "does not read data.national"),
    ("data = { breaks = true }", "assess.data.breaks", '"drop", "keep"'),
    ("start = 2006", "assess.start", "write first_year = 2006 in [assess.data]"),
    ("end = 2020", "assess.end", "write last_year = 2020 in [assess.data]"),
    ("borders = 2017", "assess.borders", "write borders = 2017 in [assess.data]"),
    ("method = \"papers\"", "assess.method", 'one of "default", "paper"'),
    ("smooth_k = 0", "assess.smooth_k", "an integer >= 1"),
    ("rel_tol = -0.1", "assess.rel_tol", "a number >= 0"),
    ("abs_tol = \"0.5\"", "assess.abs_tol", "a number >= 0"),
    ("roll_window = 1", "assess.roll_window", "an integer >= 2"),
    ("roll_k = 3", "assess.roll_k", "at most 2"),
    ("skip_breaks = false", "assess.skip_breaks", 'write breaks = "drop" (skip them) or "keep" in [assess.data]'),
    ("regions = []", "assess.regions", "a non-empty list"),
    ("targets = \"nope.csv\"", "assess.targets", "no such file"),
    ("region = [\"abai\"]", "assess.region", "did you mean regions?"),
    ("regions = [\"astana\", \"abai\"]", "assess.regions[1]", "not a unit of borders = 2018: akmola"),
    ("regions = [\"astanna\"]", "assess.regions[0]", 'did you mean "astana"'),
])
def test_assess_values(line, key, allowed, refused):
    refused(f"[assess]\n{line}\n", key, allowed)


RUN = """
[run]
name = "plan_2030"
description = "a draft"

[assess.data]
first_year = 2010

[regress]
features = { columns = ["unemployment_rate_pct", "income_rel_national_pct"] }
[[regress.models]]
name = "fe"
kind = "fixed_effects"

[scenarios]
model = "fe"

[forecasts.net_migration]
models = { naive = { kind = "naive" }, ens = { kind = "ensemble", members = ["naive", "drift"] }, drift = { kind = "drift" } }
backtest = { origins = [2015, 2012], horizon = 2 }

[scenario.jobs]
description = "unemployment 10 % lower in two cities from 2026"
shifts = [
  { feature = "unemployment_rate_pct", regions = ["almaty_city", "astana"], from_year = 2026, kind = "relative", value = -0.1 },
  { feature = "income_rel_national_pct", regions = "all", from_year = 2026, to_year = 2030, kind = "absolute", value = 5 },
]
"""


def test_run_config_composes_studies(write):
    cfg = load_config(write(RUN, name="run.toml"))
    assert isinstance(cfg, RunConfig) and cfg.name == "plan_2030" and cfg.targets is None
    assert cfg.assess.data.first_year == 2010 and cfg.regress.models[0].kind == "fixed_effects"
    fc = cfg.forecasts["net_migration"]
    assert fc.name == "net_migration" and [m.name for m in fc.models] == ["naive", "drift", "ens"]
    assert fc.backtest.origins == (2012, 2015) and fc.path == cfg.path and fc.sha256 == cfg.sha256
    shifts = cfg.scenario["jobs"].shifts
    assert shifts[0].regions == ("almaty_city", "astana") and shifts[0].to_year is None
    assert shifts[1].regions == "all" and shifts[1].value == 5.0


@pytest.mark.parametrize(("old", "new", "key", "allowed"), [
    ('name = "plan_2030"', 'name = "../plan"', "run.name", "no '..'"),
    ('description = "a draft"', 'targets = "none.csv"', "run.targets", "no such file"),
    ("first_year = 2010", "first_year = 2030", "assess.data.last_year", "after first_year = 2030"),
    ('columns = ["unemployment_rate_pct", "income_rel_national_pct"]', "columns = []", "regress.features.columns",
     "a non-empty list"),
    ('model = "fe"', 'model = "fe2"', "scenarios.model", 'a [[regress.models]] entry: ["fe"]'),
    ('{ feature = "income_rel_national_pct"', '{ feature = "income"', "scenario.jobs.shifts[1].feature",
     "the panel model's features are"),
    ("[scenarios]\n", "[scenarios]\ntarget = \"population\"\n", "scenarios.target",
     'a target of [forecasts.net_migration]: ["net_migration"]'),
    ("[scenarios]\n", "[specialists]\nforecast = \"net_migration\"\ntarget = \"departures\"\n[scenarios]\n",
     "specialists.target", 'a target of [forecasts.net_migration]: ["net_migration"]'),
    ('"almaty_city", "astana"]', '"almaty_city", "astanna"]', "scenario.jobs.shifts[0].regions[1]",
     'did you mean "astana"'),
    ('kind = "fixed_effects"', 'kind = "fe"', 'regress.models[0] (name = "fe").kind', '"fixed_effects"'),
    ('"naive", "drift"]', '"naive", "theta"]', "forecasts.net_migration.models.ens.members[1]", "another model"),
    ("horizon = 2", "horizon = 0", "forecasts.net_migration.backtest.horizon", "from 1 to 30"),
    ("[scenario.jobs]", "[scenario.\"a/b\"]", 'scenario."a/b" (the table name)', "no '/'"),
    ('regions = "all"', "regions = 3", "scenario.jobs.shifts[1].regions", 'or "all"'),
    ('kind = "absolute"', 'kind = "abs"', "scenario.jobs.shifts[1].kind", '"relative", "absolute"'),
    ("to_year = 2030", "to_year = 2020", "scenario.jobs.shifts[1].to_year", "not be before from_year"),
    ("value = -0.1", "value = -1", "scenario.jobs.shifts[0].value", "> -1"),
])
def test_run_config_errors(old, new, key, allowed, refused):
    assert old in RUN
    refused(RUN.replace(old, new, 1), key, allowed, name="run.toml")


def test_run_forecast_study_name_is_its_table_name(refused):
    refused(RUN.replace("[forecasts.net_migration]", "[forecasts.net_migration]\nstudy = { name = \"other\" }"),
            "forecasts.net_migration.study.name", "table name")


def test_assess_config_built_in_python_gets_the_period_defaults():
    from kzmig.config.blocks import DataBlock

    cfg = AssessStudyConfig(data=DataBlock(borders=2022), method="paper")
    assert (cfg.data.years(), cfg.data.borders) == ((2006, 2022), 2022)
    cfg = AssessStudyConfig(data={"first_year": 2010, "last_year": 2020})
    assert (cfg.data.years(), cfg.data.borders, cfg.data.breaks) == ((2010, 2020), 2018, "drop")
