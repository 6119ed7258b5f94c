"""`kzmig predict`: forecasts from a run's saved models, never refitted.

A tiny forecast study runs on SYNTHETIC data (real region codes, made-up values,
:func:`cli_helpers.synthetic_panel`) into a folder; ``kzmig predict`` then reproduces its
forecast tables byte for byte, forecasts further with ``--to-year``, refuses incomplete or
changed run folders and changed data, and updates the models on a newer vintage (the same
synthetic panel with one more, equally synthetic, year).
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import REGIONS, run_kzmig, synthetic_panel
from statsmodels.tsa.arima.model import ARIMA

from kzmig.models.persistence import load_model, read_metadata
from kzmig.studies import predict

CONFIG = """
[study]
name = "tiny"
[data]
view = "harmonised"
borders = 2018
[targets]
names = ["net_migration"]
additive = ["net_migration"]
[backtest]
origins = {from = 2012, to = 2015}
horizon = 2
[forecast]
to_year = 2020
max_years_ahead = 12
levels = [0.8, 0.95]
conformal = "missing"
[reconciliation]
methods = ["ols", "wls"]
use = "wls"
[population]
enabled = true
[models.naive]
kind = "naive"
[models.mean2]
kind = "window_mean"
params = { k = 2 }
[models.arima]
kind = "auto_arima"
[models.ets]
kind = "ets"
[models.theta]
kind = "theta"
[models.pooled_ar]
kind = "pooled_ar"
[models.gbm]
kind = "boosting"
params = { lags = 2, max_iter = 20 }
[models.naive_2008]
kind = "naive"
first_year = 2008
[models.ens]
kind = "ensemble"
members = ["naive", "theta"]
combine = "median"
"""
#: the same study with its three cheapest models, for the tests that need a run of their own, not every model kind
QUICK_CONFIG = CONFIG[:CONFIG.index("[models.arima]")] + """[models.pooled_ar]
kind = "pooled_ar"
"""
#: every table the forecasting study writes that depends on the fitted models, and the data tables beside them
TABLES = ("forecasts.csv", "forecasts_base.csv", "population_forecasts.csv", "reconciliation.csv", "fit_report.csv",
          "history.csv", "breaks.csv", "forecast_net_migration.png")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("study")
    data = d / "data.csv"
    synthetic_panel().to_csv(data, index=False)
    cfg = d / "tiny.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg, data


@pytest.fixture(scope="module")
def quick(study) -> tuple[Path, Path]:
    """:data:`QUICK_CONFIG` beside the study's config, and the study's data."""
    cfg, data = study
    path = cfg.with_name("quick.toml")
    path.write_text(QUICK_CONFIG, encoding="utf-8")
    return path, data


@pytest.fixture(scope="module")
def run(study, tmp_path_factory) -> Path:
    cfg, data = study
    out = tmp_path_factory.mktemp("r") / "run"
    res = run_kzmig("forecast", cfg, "--out", out, "--data", data)
    assert res.code == 0, res.text
    return out


@pytest.fixture(scope="module")
def reproduced(run, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("p") / "pred"
    res = run_kzmig("predict", run, "--out", out)
    assert res.code == 0, res.text
    return out, res.text


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "copy"))


def test_predict_reproduces_every_forecast_table_byte_for_byte(run, reproduced):
    out, text = reproduced
    for name in TABLES:
        assert (out / name).read_bytes() == (run / name).read_bytes(), name
    assert "none refitted" in text


def test_manifest_names_the_models_used(run, reproduced):
    out, _ = reproduced
    man = json.loads((out / "manifest.json").read_text())
    src = json.loads((run / "manifest.json").read_text())
    assert man["status"] == "complete" and man["kind"] == "predict" and man["mode"] == "reproduce"
    assert man["source_run"]["run_id"] == src["run_id"] and man["data"]["same_as_run"] is True
    used = man["parts"][""]["targets"]["net_migration"]
    assert used["selected"] == src["targets"]["net_migration"]["selected"]
    fc = pd.read_csv(out / "forecasts.csv")
    assert set(used["models"]) == set(fc.loc[fc["target"] == "net_migration", "model"])
    meta = read_metadata(run / "models" / "net_migration" / "arima")
    assert used["models"]["arima"]["created_at"] == meta["created_at"]
    assert used["models"]["arima"]["config_sha256"] == meta["config_sha256"] == src["config"]["sha256"]
    assert used["models"]["arima"]["update"] is None
    assert set(man["files"]) >= {"forecasts.csv", "population_forecasts.csv"}


def test_incomplete_run_folder_is_refused(run, tmp_path):
    copy = _copy(run, tmp_path)
    man = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**man, "status": "failed"}))
    res = run_kzmig("predict", copy, "--out", tmp_path / "p")
    assert res.code == 2 and "the run is not complete (status 'failed')" in res.text
    (copy / "manifest.json").unlink()
    res = run_kzmig("predict", copy, "--out", tmp_path / "p")
    assert res.code == 2 and "no manifest.json" in res.text


@pytest.mark.parametrize("changed", ["models/net_migration/arima/arrays.npz", "models/net_migration/gbm/metadata.json",
                                     "backtest_predictions.csv"])
def test_changed_run_folder_is_refused(run, tmp_path, changed):
    copy = _copy(run, tmp_path)
    with open(copy / changed, "ab") as fh:
        fh.write(b"\n")
    res = run_kzmig("predict", copy, "--out", tmp_path / "p")
    assert res.code == 2 and changed.split("/")[-1] in res.text and "differs" in res.text, res.text
    assert "Traceback" not in res.text


def test_missing_model_folder_is_refused(run, tmp_path):
    copy = _copy(run, tmp_path)
    shutil.rmtree(copy / "models" / "net_migration" / "theta")
    res = run_kzmig("predict", copy, "--out", tmp_path / "p")
    assert res.code == 2 and "models/net_migration/theta" in res.text and "missing" in res.text


def test_changed_or_missing_data_is_refused_unless_given(quick, tmp_path):
    cfg, data = quick
    mine = tmp_path / "data.csv"
    shutil.copy(data, mine)
    out = tmp_path / "run"
    assert run_kzmig("forecast", cfg, "--out", out, "--data", mine).code == 0
    want = json.loads((out / "manifest.json").read_text())["data"]["sha256"]
    with open(mine, "a", encoding="utf-8") as fh:  # an edit after the run
        fh.write("kazakhstan,2017,births,1.0,\n")
    res = run_kzmig("predict", out, "--out", tmp_path / "p1")
    assert res.code == 2 and want in res.text and "pass --data" in res.text.replace("Pass", "pass")
    from kzmig.core.provenance import sha256_file

    assert sha256_file(mine) in res.text  # both hashes named
    res = run_kzmig("predict", out, "--out", tmp_path / "p2", "--data", mine)
    assert res.code == 0, res.text
    mine.unlink()
    res = run_kzmig("predict", out, "--out", tmp_path / "p3")
    assert res.code == 2 and "no such file" in res.text and want in res.text and "--data" in res.text
    res = run_kzmig("predict", out, "--out", tmp_path / "p4", "--data", data)  # the same bytes elsewhere: reproduce
    assert res.code == 0 and "models used as saved" in res.text
    assert (tmp_path / "p4" / "forecasts.csv").read_bytes() == (out / "forecasts.csv").read_bytes()


def test_to_year_gives_the_extra_years_with_the_same_models(run, tmp_path):
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--to-year", 2023)
    assert res.code == 0, res.text
    old, new = (pd.read_csv(f / "forecasts_base.csv") for f in (run, tmp_path / "p"))
    assert new["year"].max() == 2023 and set(new.groupby("model")["year"].max()) == {2023}
    key = ["model", "region", "year", "level"]
    same = new.loc[new["year"] <= 2020].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(same, old.sort_values(key).reset_index(drop=True), check_exact=True)
    # conformal intervals beyond the backtested horizon H = 2 grow as q_H * sqrt(h / H)
    g = new.loc[(new["model"] == "gbm") & (new["level"] == 0.8)].set_index(["region", "year"])
    half = g["upper"] - g["point"]  # whole persons in the CSV: each half-width is within 1 of the model's
    np.testing.assert_allclose(half.xs(2021, level="year"), half.xs(2019, level="year") * np.sqrt(4 / 2), rtol=0,
                               atol=1 + np.sqrt(2))
    pop = pd.read_csv(tmp_path / "p" / "population_forecasts.csv")
    assert pop["year"].max() == 2024  # population on 1 January after the last flow year


def test_to_year_beyond_the_limits_is_refused(run, tmp_path):
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--to-year", 2030)
    assert res.code == 2 and "forecast.max_years_ahead = 12" in res.text and "--to-year up to 2029" in res.text
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--to-year", 2026)  # gbm has trees for 1..8 years
    assert res.code == 2 and "models.gbm.params.max_horizon >= 9" in res.text
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--to-year", 2017)
    assert res.code == 2 and "--to-year 2017 is not after the last observed year 2017" in res.text


@pytest.fixture(scope="module")
def newer(study, tmp_path_factory) -> Path:
    """The run's data plus one SYNTHETIC year 2018 (flagged ``synthetic:test`` in the flag column)."""
    _, data = study
    old = pd.read_csv(data)
    rng = np.random.default_rng(2018)
    rows, total = [], 0.0
    for i, r in enumerate(REGIONS):
        v = float(np.round(rng.normal(scale=500.0 * (i + 1))))
        total += v
        rows += [(r, 2018, "net_migration", v, "synthetic:test"),
                 (r, 2018, "population", 5e5 + 100.0 * i + 2018, "synthetic:test"),
                 (r, 2018, "natural_increase", 3000.0 + 10 * 2018 - 20000, "synthetic:test")]
    rows += [("kazakhstan", 2018, "net_migration", total, "synthetic:test"),
             ("kazakhstan", 2018, "population", 3e6 + 2018, "synthetic:test"),
             ("kazakhstan", 2018, "natural_increase", 5 * (3000.0 + 10 * 2018 - 20000), "synthetic:test")]
    path = tmp_path_factory.mktemp("newer") / "data_2018_synthetic.csv"
    pd.concat([old, pd.DataFrame(rows, columns=old.columns)], ignore_index=True).to_csv(path, index=False)
    return path


def test_newer_data_update_the_models_without_refitting(run, newer, tmp_path):
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--data", newer)
    assert res.code == 0, res.text
    assert "models updated on" in res.text and "arima: order, trend and estimated coefficients kept" in res.text
    man = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert man["mode"] == "update" and man["data"]["same_as_run"] is False
    used = man["parts"][""]["targets"]["net_migration"]
    assert used["origin_year"] == {"run": [2017], "now": 2018}
    assert used["models"]["naive"]["update"].startswith("recomputed from the new series")
    assert {u["model"] for u in man["updates"]} == set(used["models"])
    base = pd.read_csv(tmp_path / "p" / "forecasts_base.csv")
    assert (base["origin_year"] == 2018).all() and base["year"].min() == 2019 and base["year"].max() == 2020
    last = pd.read_csv(newer).query("variable == 'net_migration' and year == 2018").set_index("region")["value"]
    naive = base.loc[base["model"] == "naive"]
    np.testing.assert_array_equal(naive["point"], last.reindex(naive["region"]).to_numpy())


def test_updated_arima_keeps_the_saved_parameters(run, newer):
    result = predict(run, data=newer)
    updated = result.models[""]["net_migration"]["arima"]
    saved = load_model(run / "models" / "net_migration" / "arima")
    table = result.parts[""].tables["forecasts_base"]
    panel = pd.read_csv(newer).query("variable == 'net_migration'")
    checked = 0
    for region in ["aktobe", "atyrau", "pavlodar", "kostanay", "kazakhstan"]:  # akmola has a bridged break year
        s, u = saved.states_[region], updated.states_[region]
        if not isinstance(s, dict):  # a region that fell back to the naive model
            continue
        checked += 1
        np.testing.assert_array_equal(np.asarray(u["res"].params), np.asarray(s["res"].params))
        assert (u["order"], u["trend"]) == (s["order"], s["trend"])
        y = panel.loc[panel["region"] == region].sort_values("year")["value"].to_numpy(dtype=float)
        ref = ARIMA(y, order=s["order"], trend=s["trend"], concentrate_scale=True).filter(np.asarray(s["res"].params))
        got = table.loc[(table["model"] == "arima") & (table["region"] == region)].drop_duplicates("year")
        np.testing.assert_allclose(got["point"], ref.get_forecast(2).predicted_mean, rtol=1e-10)
    assert checked >= 4


def _plain_scale(rows: pd.DataFrame, region: str, last: int) -> float:
    """Mean absolute first difference of a region's net migration up to ``last``, a break year
    replaced by the mean of its neighbours (the bridging of the study), by a plain loop."""
    sub = rows.loc[(rows["region"] == region) & (rows["year"] <= last)].sort_values("year")
    years, values, flags = sub["year"].tolist(), sub["value"].tolist(), sub["flag"].fillna("").tolist()
    for i, f in enumerate(flags):
        if "break:" in f:
            values[i] = (values[i - 1] + values[i + 1]) / 2
    assert years == list(range(years[0], last + 1))
    return sum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)


def test_newer_data_keep_the_runs_conformal_quantiles(run, newer, tmp_path):
    """The 95 % conformal half-width of gbm one year ahead is q * s_r, with q the rank
    ceil((n + 1) 0.95) of the run's horizon-1 backtest residuals |actual - point| / scale (a
    plain loop over backtest_predictions.csv) and s_r each series' own naive scale up to the
    origin, for the run (origin 2017) and for the update on newer data (origin 2018, same q)."""
    import csv

    scores = {}
    with open(run / "backtest_predictions.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] == "gbm" and int(row["year"]) - int(row["origin_year"]) == 1:
                key = (row["region"], row["origin_year"])
                scores[key] = abs(float(row["actual"]) - float(row["point"])) / float(row["scale"])
    ranked = sorted(scores.values())
    k = math.ceil((len(ranked) + 1) * 0.95)
    assert len(ranked) == 24 and k == 24  # 6 series x 4 origins (2012-2015)
    q = ranked[k - 1]

    result = predict(run, data=newer)
    new = result.parts[""].tables["forecasts_base"]
    old = pd.read_csv(run / "forecasts_base.csv")
    rows = pd.read_csv(newer).query("variable == 'net_migration'")
    for tab, origin, tol in ((old, 2017, {"abs": 1}), (new, 2018, {"rel": 1e-9})):  # old: whole persons in the CSV
        g = tab.loc[(tab["model"] == "gbm") & (tab["level"] == 0.95) & (tab["year"] == origin + 1)].set_index("region")
        assert len(g) == 6
        for region, r in g.iterrows():
            want = q * _plain_scale(rows, region, origin)
            assert r["upper"] - r["point"] == pytest.approx(want, **tol), \
                f"{region} {origin + 1}: conformal half-width = pooled quantile of scaled residuals x own naive scale"
            assert r["point"] - r["lower"] == pytest.approx(want, **tol)


def test_predict_on_a_planning_run(quick, tmp_path):
    cfg, data = quick
    shutil.copy(cfg, tmp_path / "tiny.toml")
    plan = tmp_path / "plan.toml"
    plan.write_text('[run]\nname = "plan"\n[forecasts.tiny]\nconfig = "tiny.toml"\n', encoding="utf-8")
    res = run_kzmig("run", plan, "--out", tmp_path / "r", "--data", data)
    assert res.code == 0, res.text
    res = run_kzmig("predict", tmp_path / "r", "--out", tmp_path / "p")
    assert res.code == 0, res.text
    for name in TABLES:
        assert (tmp_path / "p" / "forecast" / "tiny" / name).read_bytes() == \
            (tmp_path / "r" / "forecast" / "tiny" / name).read_bytes(), name
    man = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert list(man["parts"]) == ["forecast/tiny"] and man["name"] == "plan-predict"


def test_a_newer_vintage_without_what_the_population_needs_is_a_user_error(run, newer, tmp_path):
    data = pd.read_csv(newer)
    short = tmp_path / "no_natural_increase_2018.csv"
    data.loc[~((data["year"] == 2018) & (data["variable"] == "natural_increase"))].to_csv(short, index=False)
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--data", short)
    assert res.code == 2 and "region='akmola' has neither population in year 2019" in res.text
    assert "set population.enabled = false" in res.text and "internal error" not in res.text


def test_an_older_vintage_is_not_an_update(run, newer, tmp_path):
    older = tmp_path / "older.csv"
    pd.read_csv(newer).query("year <= 2016").to_csv(older, index=False)
    res = run_kzmig("predict", run, "--out", tmp_path / "p", "--data", older)
    assert res.code == 2 and "end in 2016, before the run's models (2017)" in res.text


#: A study whose models have horizon limits of their own or through members: a direct FE model, a
#: boosting model fitted on logs (the log wrapper), and a stacking with the FE model as a member.
LIMITED = """
[study]
name = "limited"
[data]
view = "harmonised"
borders = 2018
[targets]
names = ["population"]
additive = []
[backtest]
origins = {from = 2013, to = 2015}
horizon = 2
[forecast]
to_year = 2019
max_years_ahead = 40
conformal = "missing"
[models.naive]
kind = "naive"
[models.fe]
kind = "fe_direct"
params = { max_horizon = 4, scaled = false }
[models.gbm_log]
kind = "boosting"
log = true
params = { lags = 2, max_iter = 10, max_horizon = 6, random_state = 0 }
[models.st]
kind = "stacked"
members = ["naive", "fe"]
params = { min_train = 6, tune_horizon = 2 }
"""


@pytest.fixture(scope="module")
def limited(study, tmp_path_factory) -> Path:
    _, data = study
    d = tmp_path_factory.mktemp("limited")
    (d / "limited.toml").write_text(LIMITED, encoding="utf-8")
    res = run_kzmig("forecast", d / "limited.toml", "--out", d / "run", "--data", data)
    assert res.code == 0, res.text
    return d / "run"


def test_horizon_limits_of_direct_log_and_stacked_models_are_read_from_the_saved_models(limited):
    from kzmig.forecast.engine import horizon_limits

    models = {name: load_model(limited / "models" / "population" / name) for name in ("naive", "fe", "gbm_log", "st")}
    # the config's max_horizon (the study asked for 2019 - 2017 = 2 years, fewer than each)
    assert horizon_limits(models) == {"fe": (4, "fe", "max_horizon"), "gbm_log": (6, "gbm_log", "max_horizon"),
                                      "st": (4, "fe", "max_horizon")}


def test_predict_past_a_direct_model_horizon_exits_2_naming_the_model_and_its_limit(limited, tmp_path):
    res = run_kzmig("predict", limited, "--out", tmp_path / "far", "--to-year", 2045)
    assert res.code == 2, res.text  # before: "internal error: ValueError: DirectFE: fitted for horizons 1..8", exit 1
    assert "model 'fe'" in res.text and "at most 4 years" in res.text and "up to 2021" in res.text
    assert "models.fe.params.max_horizon >= 28" in res.text and "internal error" not in res.text
    res = run_kzmig("predict", limited, "--out", tmp_path / "ok", "--to-year", 2021)  # within every limit: forecasts
    assert res.code == 0, res.text
    fc = pd.read_csv(tmp_path / "ok" / "forecasts.csv")
    assert set(fc.groupby("model")["year"].max()) == {2021} and set(fc["model"]) == {"naive", "fe", "gbm_log", "st"}


def test_the_limit_of_a_member_or_a_wrapped_model_is_named(limited, tmp_path):
    from kzmig.core.errors import ConfigError
    from kzmig.forecast.engine import check_reach

    st = {"st": load_model(limited / "models" / "population" / "st")}
    with pytest.raises(ConfigError, match=r"model 'st' .* at most 4 years ahead \(through its member 'fe'\).*"
                                          r"models\.fe\.params\.max_horizon >= 5"):
        check_reach(st, 5, origin=2017, target="population", option="--to-year", to_year=2022)
    log = {"gbm_log": load_model(limited / "models" / "population" / "gbm_log")}
    check_reach(log, 6, origin=2017, target="population", option="--to-year", to_year=2023)  # its own reach
    with pytest.raises(ConfigError, match=r"model 'gbm_log' .* at most 6 years.*models\.gbm_log\.params\.max_horizon >= 7"):
        check_reach(log, 7, origin=2017, target="population", option="--to-year", to_year=2024)
