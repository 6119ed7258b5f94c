"""The execution backend from the config ([execution]) and the command line (--backend, --workers,
--scheduler): the run folder's tables are the same bytes on every backend (SYNTHETIC data)."""
from __future__ import annotations

import importlib
import json
import socket
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run_kzmig, synthetic_panel
from distributed import LocalCluster

from kzmig.config import load_config, validate_config, with_execution
from kzmig.core.errors import ConfigError
from kzmig.core.parallel import Backend, check_scheduler, tcp_host_port

CONFIG = """
[study]
name = "tiny"
[targets]
names = ["net_migration"]
additive = ["net_migration"]
[backtest]
origins = {from = 2012, to = 2015}
horizon = 2
[forecast]
to_year = 2020
[reconciliation]
methods = ["ols"]
use = "ols"
[models.naive]
kind = "naive"
[models.mean2]
kind = "window_mean"
params = { k = 2 }
[models.pooled_ar]
kind = "pooled_ar"
[models.ens]
kind = "ensemble"
members = ["naive", "mean2"]
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("backend")
    data = d / "data.csv"
    synthetic_panel().to_csv(data, index=False)
    cfg = d / "tiny.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return cfg, data


def test_forecast_tables_are_the_same_bytes_on_every_backend(study, tmp_path):
    cfg, data = study
    one = run_kzmig("forecast", cfg, "--out", tmp_path / "one", "--data", data, "--backend", "local", "--workers", "1")
    # an existing cluster, reached by its address (here an in-process one: threads, quick to start)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = run_kzmig("forecast", cfg, "--out", tmp_path / "dask", "--data", data,
                         "--scheduler", cluster.scheduler_address)
    assert one.code == dask.code == 0, one.text + dask.text
    tables = sorted(p.name for p in (tmp_path / "one").glob("*.csv"))
    assert "backtest_predictions.csv" in tables and "forecasts.csv" in tables
    for name in tables:
        ref = (tmp_path / "one" / name).read_bytes()
        assert (tmp_path / "dask" / name).read_bytes() == ref, name
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))
    assert "dask" in json.dumps(manifest) and cluster.scheduler_address in json.dumps(manifest)


def test_the_backend_comes_from_the_config_and_the_options_override_it(study):
    cfg, _ = study
    base = load_config(cfg)
    assert base.execution.resolve(base.backtest) == Backend("local", workers=None)
    raw = {"study": {"name": "x"}, "models": {"naive": {"kind": "naive"}}, "backtest": {"n_jobs": 3},
           "execution": {"backend": "dask", "workers": 2}}
    both = validate_config(raw, "forecast")
    assert both.execution.resolve(both.backtest) == Backend("dask", workers=2)
    only_n_jobs = validate_config({**raw, "execution": {}}, "forecast")  # the older key still sets the pool
    assert only_n_jobs.execution.resolve(only_n_jobs.backtest) == Backend("local", workers=3)
    moved = with_execution(both, {"address": "tcp://10.0.0.5:8786", "backend": None, "workers": None})
    assert moved.execution.resolve(moved.backtest) == Backend("dask", workers=2, address="tcp://10.0.0.5:8786")
    assert moved.path == both.path and moved.models == both.models
    back = with_execution(moved, {"backend": "local"})  # local drops the address the config gave
    assert back.execution.resolve() == Backend("local", workers=2)


def test_bad_backend_settings_name_the_key_or_option(study, tmp_path):
    cfg, data = study
    with pytest.raises(ConfigError, match=r"execution.address: found \"tcp://h:1\"; a scheduler address needs "
                                          r"backend = \"dask\", not \"local\""):
        validate_config({"study": {"name": "x"}, "models": {"naive": {"kind": "naive"}},
                         "execution": {"address": "tcp://h:1"}}, "forecast")
    res = run_kzmig("forecast", cfg, "--out", tmp_path / "bad", "--data", data, "--backend", "spark")
    assert res.code == 2 and "--backend (execution.backend): found \"spark\"" in res.text and "Traceback" not in res.text
    res = run_kzmig("forecast", cfg, "--out", tmp_path / "bad", "--data", data, "--workers", "0")
    assert res.code == 2 and "--workers (execution.workers): found 0" in res.text
    assert not (tmp_path / "bad").exists()  # option errors stop before any folder is made
    with pytest.raises(ConfigError, match="--workers: only forecast studies and planning runs have backtests"):
        with_execution(validate_config({"assess": {}}, "assess"), {"workers": 2})


def test_a_runs_execution_holds_for_its_forecast_studies(monkeypatch):
    seen = []

    class Stop(Exception):
        pass

    def fake_forecast(study, source, progress=None):
        seen.append(study.execution)
        raise Stop

    run_module = importlib.import_module("kzmig.studies.run")  # the module (kzmig.studies.run is also the function)
    monkeypatch.setattr(run_module, "forecast", fake_forecast)
    probed = []
    monkeypatch.setattr(run_module, "check_scheduler", probed.append)
    cfg = validate_config({"run": {"name": "r"}, "execution": {"backend": "dask", "address": "tcp://h:8786"},
                           "forecasts": {"net": {"models": {"naive": {"kind": "naive"}},
                                                 "execution": {"backend": "local", "workers": 1}}}}, "run")
    # the resolved config (written to the manifest) says what runs: the run's table, not the study's own
    assert cfg.model_dump(mode="json")["forecasts"]["net"]["execution"] == {
        "backend": "dask", "workers": None, "address": "tcp://h:8786"}
    with pytest.raises(Stop):
        run_module.run(cfg)
    assert seen[0].resolve() == Backend("dask", address="tcp://h:8786")
    assert probed == ["tcp://h:8786"]  # the scheduler is probed once, before any part of the run
    # options on the command line reach the studies too
    local = with_execution(cfg, {"backend": "local", "workers": 2})
    assert local.forecasts["net"].execution.model_dump() == {"backend": "local", "workers": 2, "address": None}


@pytest.mark.parametrize(("address", "expected"), [
    ("tcp://10.0.0.5:8786", ("10.0.0.5", 8786)), ("10.0.0.5:8786", ("10.0.0.5", 8786)),
    ("tls://sched.example:443", ("sched.example", 443)), ("tcp://[::1]:8786", ("::1", 8786)),
    ("ucx://10.0.0.5:13337", True), ("notaurl", None), ("tcp://host", None), ("tcp://:8786", None),
    ("tcp://h:0", None), ("tcp://h:70000", None), ("tcp://h:87a6", None), ("tcp://h:8786/x", None)])
def test_scheduler_addresses_are_parsed_by_hand_worked_cases(address, expected):
    assert tcp_host_port(address) == expected


def test_a_malformed_scheduler_address_is_refused_before_dask_sees_it(study, tmp_path):
    cfg, data = study
    with pytest.raises(ConfigError, match=r"execution.address: found \"notaurl\"; a scheduler address is HOST:PORT"):
        validate_config({"study": {"name": "x"}, "models": {"naive": {"kind": "naive"}},
                         "execution": {"backend": "dask", "address": "notaurl"}}, "forecast")
    res = run_kzmig("forecast", cfg, "--out", tmp_path / "bad", "--data", data, "--scheduler", "notaurl")
    assert res.code == 2 and "--scheduler (execution.address): found \"notaurl\"" in res.text, res.text
    assert "Traceback" not in res.text and "Client" not in res.text and not (tmp_path / "bad").exists()


def test_check_scheduler_opens_a_connection_and_names_an_address_nobody_listens_at():
    with socket.socket() as server:  # a listening socket stands for a scheduler
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_scheduler(f"tcp://127.0.0.1:{port}", timeout=5)
    # the port is closed now: connection refused, at once
    with pytest.raises(ConfigError, match=rf"execution address 'tcp://127.0.0.1:{port}': no Dask scheduler answered"):
        check_scheduler(f"tcp://127.0.0.1:{port}", timeout=5)
    check_scheduler("ucx://10.0.0.5:13337")  # other schemes are left to dask


def test_an_unreachable_scheduler_stops_a_run_before_its_first_part(monkeypatch):
    run_module = importlib.import_module("kzmig.studies.run")
    started = []
    monkeypatch.setattr(run_module, "assess", lambda *a, **k: started.append("assess"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        cfg = validate_config({"run": {"name": "r"}, "assess": {},
                               "execution": {"backend": "dask", "address": f"tcp://127.0.0.1:{port}"},
                               "forecasts": {"net": {"models": {"naive": {"kind": "naive"}}}}}, "run")
        with pytest.raises(ConfigError, match="no Dask scheduler answered.*nothing was run"):
            run_module.run(cfg)
    assert started == []


def test_failed_tasks_are_named_and_the_others_written_to_the_failed_folder(study, tmp_path):
    cfg, data = study
    bad = tmp_path / "late.toml"
    # a model fitted from 2014 on has no data up to the origins 2012 and 2013, one year at 2014: those tasks fail twice
    bad.write_text(CONFIG + '[models.late]\nkind = "naive"\nfirst_year = 2014\n', encoding="utf-8")
    res = run_kzmig("forecast", bad, "--out", tmp_path / "late", "--data", data, "--workers", "1")
    assert res.code == 2 and "Traceback" not in res.text
    assert "the backtest (backtest.origins, backtest.horizon) cannot run: 3 of 16 tasks failed (2 attempts each)" in res.text
    assert "BacktestTask(origin=2012, order=3, model='late', group=0, regions='all'): DataError: Since: series " in res.text
    failed = next(tmp_path.glob("late.failed-*"))
    partial = pd.read_csv(failed / "backtest_partial.csv")
    # the 13 tasks that ran: naive, mean2 and pooled AR at 2012-2015 (the ensemble is combined later), late at 2015
    assert set(zip(partial["model"], partial["origin_year"])) == (
        {(m, o) for m in ("naive", "mean2", "pooled_ar") for o in range(2012, 2016)} | {("late", 2015)})
    assert "backtest_partial.csv" in res.text
