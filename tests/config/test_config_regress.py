"""RegressStudyConfig: every key of a study file reads as written (by attribute, ``.models``,
checked against ``tomllib``'s own reading of the file); values the old parser checked only
after fitting every model are now errors at load time, naming the file and the key path."""
from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from kzmig.config import RegressStudyConfig, load_config


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _assert_reads_as_written(new, path):
    """Every key the file sets has that value as an attribute of its block, and in ``.models``."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for section, keys in raw.items():
        if section == "models":
            continue
        for key, value in keys.items():
            assert _plain(getattr(getattr(new, section), key)) == value, (section, key)
    assert [(m.name, m.kind, {k: _plain(v) for k, v in dict(m.params).items()}) for m in new.models] == [
        (m["name"], m["kind"], m.get("params", {})) for m in raw["models"]]
    assert str(new.path) == str(path)


def test_shipped_study_reads_as_written(regress_toml):
    new = load_config(regress_toml)
    assert isinstance(new, RegressStudyConfig)
    _assert_reads_as_written(new, regress_toml)
    assert new.covariance.types == ("clustered", "driscoll-kraay", "robust")
    assert new.bootstrap.seed == 20240601 and new.data.years() == (2006, 2022)


@pytest.mark.parametrize("extra", [
    "",
    "[outcomes]\ntargets = [\"y\", \"z\"]\n",
    "[covariance]\ntypes = [\"robust\", \"unadjusted\"]\nkernel = \"parzen\"\nbandwidth = 1.5\n",
    "[hausman]\nmethod = \"robust\"\ntime_effects = true\nsigma = \"fe\"\n",
    "[bootstrap]\nmodels = [\"fe\"]\nterms = [\"unemployment_rate_pct_lag1\"]\nB = 199\n"
    "weights = \"rademacher\"\nlevel = 0.9\nseed = 3\n",
    "[discrete]\nenabled = false\nwindow = 6\nk = 3\nrel_tol = 0\nabs_tol = 1\nlag = 0\n"
    "columns = [\"a\"]\nmodels = [\"ordered_logit\"]\ncov_type = \"nonrobust\"\n"
    "order = [\"stable inflow\", \"intensifying outflow\"]\n",
    "[plot]\nlevel = 0.9\n",
    "[[models]]\nname = \"fd\"\nkind = \"first_difference\"\nparams = { lag = 2, missing = \"raise\" }\n",
])
def test_every_key_reads_as_written(write, minimal_regress, extra):
    path = write(minimal_regress + extra)
    _assert_reads_as_written(load_config(path), path)


def test_data_keys_read_the_same(write):
    path = write("[data]\nview = \"harmonised\"\nborders = 2022\nfirst_year = 2010\nlast_year = 2020\nbreaks = \"keep\"\n"
                 "[features]\ncolumns = [\"x\"]\n[[models]]\nname = \"p\"\nkind = \"pooled_ols\"\n")
    _assert_reads_as_written(load_config(path), path)


@pytest.mark.parametrize(("text", "key", "allowed"), [
    ("[bootstrap]\nweights = \"normal\"", "bootstrap.weights", '"rademacher", "webb"'),
    ("[bootstrap]\nlevel = 95", "bootstrap.level", "a number > 0 and < 1"),
    ("[bootstrap]\nB = 10", "bootstrap.B", "an integer >= 99"),
    ("[bootstrap]\nB = 999.0", "bootstrap.B", "an integer"),
    ("[bootstrap]\nmodels = [\"ghost\"]", "bootstrap.models[0]", "a name of [[models]]"),
    ("[bootstrap]\nterms = [\"unemployment_rate_pct\"]\nmodels = [\"fe\"]", "bootstrap.terms[0]",
     '"unemployment_rate_pct_lag1"'),
    ("[covariance]\nbandwidth = -1", "covariance.bandwidth", "a number >= 0"),
    ("[covariance]\ntypes = [\"cluster\"]", "covariance.types[0]", '"clustered", "driscoll-kraay"'),
    ("[covariance]\ntypes = []", "covariance.types", "a non-empty list"),
    ("[covariance]\nkernel = \"gauss\"", "covariance.kernel", '"bartlett", "parzen", "qs"'),
    ("[hausman]\nmethod = \"fast\"", "hausman.method", '"auto", "classical", "robust"'),
    ("[hausman]\nsigma = \"re\"", "hausman.sigma", '"separate", "fe"'),
    ("[hausman]\ntime_effects = \"no\"", "hausman.time_effects", "true or false"),
    ("[discrete]\nlag = -1", "discrete.lag", "an integer >= 0"),
    ("[discrete]\nmodels = [\"probit\"]", "discrete.models[0]", '"ordered_logit", "multinomial_logit"'),
    ("[discrete]\ncov_type = \"robust\"", "discrete.cov_type", '"nonrobust", "clustered"'),
    ("[discrete]\nk = 3", "discrete.k", "at most 2"),
    ("[discrete]\norder = [\"stable inflow\", \"sideways\"]", "discrete.order[1]", '"weakening inflow"'),
    ("[plot]\nlevel = 1", "plot.level", "a number > 0 and < 1"),
    ("[outcomes]\ntargets = [\"../y\"]", "outcomes.targets[0]", "no '..'"),
])
def test_values_are_checked_before_fitting(minimal_regress, text, key, allowed, refused):
    refused(minimal_regress + text + "\n", key, allowed)


@pytest.mark.parametrize(("data", "key", "allowed"), [
    ("first_year = 2022\nlast_year = 2006", "data.last_year", "must be after first_year = 2022"),
    ("last_year = \"2022\"", "data.last_year", "an integer from 1990 to 2100"),
    ("years = [2006, 2020]", "data.years", "write first_year = 2006 and last_year = 2020"),
    ("national = false", "data.national", "the regress study does not read data.national"),
    ("breaks = \"remove\"", "data.breaks", '"drop", "keep"'),
    ("view = \"current\"", "data.borders", "harmonised"),
])
def test_data_block(data, key, allowed, refused):
    refused(f"[data]\nborders = 2018\n{data}\n[features]\ncolumns = [\"x\"]\n"
            "[[models]]\nname = \"fe\"\nkind = \"fixed_effects\"\n", key, allowed)


@pytest.mark.parametrize(("text", "key", "allowed"), [
    ("[features]\ncolumns = []", "features.columns", "a non-empty list"),
    ("[features]\ncolumns = [\"x\"]\nlag = -1", "features.lag", "an integer >= 0"),
    ("[features]\ncolumns = [\"x\"]\nlag = 1.0", "features.lag", "an integer >= 0"),
    ("[features]\ncolumns = [\"x\"]\nmissing = \"fill\"", "features.missing", '"raise", "drop", "keep"'),
    ("[features]\nlag = 1", "features.columns", "missing"),
])
def test_features_block(text, key, allowed, refused):
    refused(text + "\n[[models]]\nname = \"fe\"\nkind = \"fixed_effects\"\n", key, allowed)


@pytest.mark.parametrize(("models", "key", "text"), [
    ('[[models]]\nname = "fe"\nkind = "random_effects"', 'models[1] (name = "fe").name', "unique"),
    ('[[models]]\nname = "x"\nkind = "ols"', 'models[1] (name = "x").kind', '"pooled_ols", "fixed_effects"'),
    ('[[models]]\nname = "x"\nkind = "ordered_logit"', 'models[1] (name = "x").kind', '"first_difference"'),
    ('[[models]]\nname = "x"\nkind = "fixed_effects"\nparams = { effects = "entity" }',
     'models[1] (name = "x").params.effects', '"region", "year", "both"'),
    ('[[models]]\nname = "x"\nkind = "fixed_effects"\nparams = { cov_type = "robust" }',
     'models[1] (name = "x").params.cov_type', "[covariance] types"),
    ('[[models]]\nname = "x"\nkind = "between"\nparams = { lag = "1" }',
     'models[1] (name = "x").params.lag', "an integer"),
    ('[[models]]\nname = "x"\nkind = "fixed_effects"\nparams = { kernel = "qs" }',
     'models[1] (name = "x").params.kernel', "[covariance] kernel"),
    ('[[models]]\nname = "x"\nkind = "between"\nparams = { kernel = "qs" }',
     'models[1] (name = "x").params.kernel', "unknown key; [models[1] (name = \"x\").params] takes lag, missing"),
    ('[[models]]\nname = "a/b"\nkind = "between"', 'models[1] (name = "a/b").name', "no '/'"),
    ('[[models]]\nkind = "between"', "models[1].name", "missing"),
    ('[[models]]\nname = "x"\nkind = "between"\nestimator = "ols"', 'models[1] (name = "x").estimator',
     "unknown key"),
    ('[bootstrap]\nmodels = ["x"]\n[[models]]\nname = "x"\nkind = "random_effects"', "bootstrap.models[0]",
     "the wild bootstrap supports kinds"),
])
def test_models_are_checked(minimal_regress, models, key, text, refused):
    refused(minimal_regress + models + "\n", key, text)


def test_config_is_frozen(regress_toml):
    cfg = load_config(regress_toml)
    assert cfg.features.columns[0] == "unemployment_rate_pct" and cfg.data.years() == (2006, 2022)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.features = None
    with pytest.raises(ValidationError, match="frozen"):
        cfg.data.first_year = 2010


def test_years_default_to_the_outcome_years(write, minimal_regress):
    cfg = load_config(write(minimal_regress))
    assert (cfg.data.first_year, cfg.data.last_year, cfg.data.breaks) == (2006, 2022, "drop")
    cfg = load_config(write(minimal_regress.replace("borders = 2018", "borders = 2018\nlast_year = 2015")))
    assert cfg.data.years() == (2006, 2015)


def test_builders_are_checked_when_the_file_is_read(minimal_regress, refused):
    refused(minimal_regress.replace("[features]", '[features]\nbuilders = ["density", "densityx"]'),
            "features.builders[1]", 'found "densityx"', '"density", "labour"')
