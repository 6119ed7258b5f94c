"""The backtest on every execution backend: the same table, byte for byte, as a plain loop over
origins; failed tasks named by key with the other forecasts kept (SYNTHETIC series)."""
from __future__ import annotations

import pandas as pd
import psutil
import pytest
from forecast_helpers import synth_series
from distributed import LocalCluster
from sklearn.base import clone

from kzmig.core.parallel import Backend, TaskValueFailures
from kzmig.forecast.engine.backtest import BacktestTask, _tasks, backtest
from kzmig.forecast.engine.evaluate import series_scales
from kzmig.models.forecasters.baselines import Naive, WindowMean
from kzmig.models.forecasters.ensemble import Ensemble, combine_forecasts
from kzmig.models.forecasters.pooled_ar import PooledAR
from kzmig.models.forecasters.since import Since
from kzmig.models.forecasters.theta import Theta

ORIGINS = (2013, 2016)


def _models() -> dict:
    members = [("naive", Naive()), ("mean3", WindowMean(k=3))]
    return {**dict(members), "theta": Theta(), "pooled_ar": PooledAR(),
            "ens": Ensemble(members, combine="median", name="ens")}


def _plain_loop(series: pd.DataFrame, models: dict, origins, horizon: int) -> pd.DataFrame:
    """The backtest written out: every model fitted on all series up to each origin, no tasks, no groups."""
    frames = []
    for origin in origins:
        train = series.loc[series["year"] <= origin]
        per_model = {}
        for name, est in models.items():
            if isinstance(est, Ensemble):
                per_model[name] = combine_forecasts([per_model[m] for m, _ in est.members], name=name, how=est.combine)
                continue
            fitted = clone(est).fit(train)
            fc = fitted.predict(horizon, (0.8, 0.95)).assign(model=name)
            if hasattr(fitted, "fit_report_"):
                fc = fc.merge(fitted.fit_report_[["region", "spec", "fallback_reason"]], on="region", how="left")
            per_model[name] = fc
        out = pd.concat(per_model.values(), ignore_index=True)
        out["horizon"] = (out["year"] - out["origin_year"]).astype("int64")
        out["scale"] = out["region"].map(series_scales(train)).astype(float)
        frames.append(out)
    preds = pd.concat(frames, ignore_index=True)
    actual = series.set_index(["region", "year"])["y"]
    preds["actual"] = actual.reindex(pd.MultiIndex.from_frame(preds[["region", "year"]])).to_numpy()
    preds = preds.loc[preds["actual"].notna()]
    return preds.sort_values(["model", "region", "origin_year", "year", "level"], kind="mergesort",
                             na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return synth_series(n_regions=7, n_years=14, seed=3)


def test_local_cluster_and_local_give_the_same_bytes(series):
    """Done-when of issue 12: a small backtest on a dask LocalCluster and on local, compared exactly."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    expected = _plain_loop(series, _models(), ORIGINS, 2)
    here = backtest(series, _models(), origins=ORIGINS, horizon=2)
    pooled = backtest(series, _models(), origins=ORIGINS, horizon=2, backend=Backend("local", workers=2), group_size=3)
    # two worker threads in this process: starts in about a second; the address path is the one
    # a run uses for an existing cluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = backtest(series, _models(), origins=ORIGINS, horizon=2, group_size=2,
                           backend=Backend("dask", address=cluster.scheduler_address))
    for got in (here, pooled, on_dask):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert got.to_csv(index=False) == expected.to_csv(index=False)
    assert {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()} <= before


def test_tasks_are_series_groups_by_model_by_origin_and_carry_no_data(series):
    models = _models()
    left_out = {o: [] for o in ORIGINS}
    data = series.sort_values(["region", "year"]).reset_index(drop=True)
    tasks = _tasks(data, models, ORIGINS, left_out, group_size=3)
    keys = [k for k, _ in tasks]
    # per-series models in ceil(7 / 3) = 3 groups; pooled AR in one; the ensemble is combined, not fitted
    assert sum(k.model == "naive" for k in keys) == 3 * len(ORIGINS)
    assert sum(k.model == "pooled_ar" for k in keys) == len(ORIGINS)
    assert not any(k.model == "ens" for k in keys)
    assert BacktestTask(2013, 0, "naive", 1, "D..F") in keys
    # a task's arguments are (origin, model name, row range): the data goes to each worker once
    for _, args in tasks:
        assert not any(isinstance(a, pd.DataFrame) for a in args)
    _, (origin, name, rows) = next(t for t in tasks if t[0].model == "naive" and t[0].group == 1)
    assert set(data.iloc[rows[0]:rows[1]]["region"]) == {"D", "E", "F"}


def test_a_failed_task_is_named_and_the_other_forecasts_are_kept(series):
    # Since(first_year=2011) has no data up to origin 2010 for any series: those tasks fail, twice
    models = {"naive": Naive(), "late": Since(Naive(), first_year=2011)}
    with pytest.raises(TaskValueFailures) as info:
        backtest(series, models, origins=[2010, 2012], horizon=1, group_size=4)
    err = info.value
    assert sorted(err.failed) == [BacktestTask(2010, 1, "late", 0, "A..D"), BacktestTask(2010, 1, "late", 1, "E..G")]
    assert "2 of 8 tasks failed (2 attempts each)" in str(err) and "model='late'" in str(err)
    assert "no year from 2011 on" in str(err)
    kept = err.partial
    assert len(kept) == 3 * 7 * 2  # naive at both origins and late at 2012: 1 year ahead, 7 series, 2 levels
    assert set(zip(kept["model"], kept["origin_year"])) == {("naive", 2010), ("naive", 2012), ("late", 2012)}


def test_progress_counts_finished_origins(series):
    seen = []
    backtest(series, {"naive": Naive(), "mean3": WindowMean(k=3)}, origins=ORIGINS, horizon=1, group_size=2,
             progress=seen.append)
    assert seen == [1, 2]


def test_final_fits_in_worker_processes_are_the_fits_made_here(series):
    """fit_models on a backend of two workers: every model fitted there forecasts what the same model
    fitted in this process does, in model order; a failing fit raises its own error."""
    from kzmig.core.errors import ConfigError
    from kzmig.forecast.engine import fit_models

    models = {k: v for k, v in _models().items() if k != "ens"}
    here = fit_models(series, models)
    there = fit_models(series, models, backend=Backend("local", workers=2))
    assert list(there) == list(models)
    for name in models:
        pd.testing.assert_frame_equal(there[name].predict(4, (0.8, 0.95)), here[name].predict(4, (0.8, 0.95)))
    bad = {**models, "bad": WindowMean(k=0)}  # k must be >= 1: the model's own error
    with pytest.raises(ConfigError) as err:
        fit_models(series, bad, backend=Backend("local", workers=2))
    with pytest.raises(ConfigError) as same:
        fit_models(series, bad)
    assert str(err.value) == str(same.value)
