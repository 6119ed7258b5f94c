"""Warnings of a run: all of them in ``run.log``, one console line per kind with its count.

A stand-in study (the ``regress`` entry of :data:`kzmig.studies.STUDIES`, replaced for the
test) logs the same warning 30 times, a templated warning from three models, and one Python
warning; the run goes through the real command line, run folder and writer.
"""
from __future__ import annotations

import logging
import re
import warnings

import pandas as pd
import pytest
from cli_helpers import run_kzmig

from kzmig.cli._common import WarningSummary
from kzmig.studies.base import StudyResult

REPEATED = "area unknown for 10 row(s); density left missing"


class StandInWarning(UserWarning):
    pass


def _noisy_study(cfg, data=None, *, progress=None):
    log = logging.getLogger("kzmig.models.stand_in")
    for _ in range(30):
        log.warning(REPEATED)
    for model in ("PooledOLS", "FixedEffects", "Between"):
        log.warning("%s: %d of %d rows dropped for missing values", model, 79, 229)
    warnings.warn("the stand-in study did not converge", StandInWarning, stacklevel=1)
    log.error("an error is shown at once, not summarised")
    log.warning("almaty: not classified: no population at 1 Jan 2006")
    notes = ("assessment: almaty: not classified: no population at 1 Jan 2006",  # said by the warning above
             "specialists: composition: 12 groups", "specialists: composition: 12 groups")
    return StudyResult(study="regress", name=cfg.name, tables={"t": pd.DataFrame({"x": [1, 2]})}, warnings=notes)


@pytest.fixture
def noisy_run(tmp_path, small_regress, monkeypatch):
    from kzmig import studies

    monkeypatch.setitem(studies.STUDIES, "regress", _noisy_study)
    cfg = tmp_path / "small.toml"
    cfg.write_text(small_regress, encoding="utf-8")
    out = tmp_path / "out"
    res = run_kzmig("regress", cfg, "--out", out)
    assert res.code == 0, res.text
    return res, out


def test_thirty_warnings_one_console_line_thirty_log_lines(noisy_run):
    res, out = noisy_run
    console = res.err.splitlines()
    repeated = [ln for ln in console if REPEATED in ln]
    assert len(repeated) == 1 and repeated[0].rstrip().endswith("(x30)"), console
    log = (out / "run.log").read_text(encoding="utf-8").splitlines()
    assert sum(REPEATED in ln for ln in log) == 30
    assert all(" WARNING kzmig.models.stand_in: " + REPEATED in ln for ln in log if REPEATED in ln)


def test_templated_warnings_are_one_kind_with_their_variants(noisy_run):
    res, out = noisy_run
    dropped = [ln for ln in res.err.splitlines() if "rows dropped" in ln]
    assert len(dropped) == 1 and "PooledOLS: 79 of 229" in dropped[0] and dropped[0].rstrip().endswith(
        "(x3, 3 variants)")
    log = (out / "run.log").read_text(encoding="utf-8")
    for model in ("PooledOLS", "FixedEffects", "Between"):
        assert f"{model}: 79 of 229 rows dropped for missing values" in log


def test_python_warnings_reach_the_log_and_the_summary_and_errors_show_at_once(noisy_run):
    res, out = noisy_run
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "StandInWarning: the stand-in study did not converge" in log
    head = [ln for ln in res.err.splitlines() if "warnings of" in ln]
    # 30 + 3 + 1 + 1: the error is not a warning
    assert len(head) == 1 and head[0].startswith("35 warnings of 4 kinds (all in ") and str(out / "run.log") in head[0]
    assert sum("StandInWarning" in ln for ln in res.err.splitlines()) == 1
    assert "an error is shown at once, not summarised" in res.err
    # the summary comes after the run's work, in order of frequency
    kinds = [ln.strip() for ln in res.err.splitlines() if re.search(r"\(x\d+", ln)]
    assert [int(re.search(r"\(x(\d+)", k).group(1)) for k in kinds] == [30, 3, 1, 1]


def test_notes_of_the_result_once_and_not_what_the_summary_said(noisy_run):
    res, _out = noisy_run
    notes = [ln for ln in res.out.splitlines() if ln.startswith("note: ")]
    assert notes == ["note: specialists: composition: 12 groups"], res.out


def test_summary_handler_counts_by_logger_and_template():
    s = WarningSummary()
    log = logging.getLogger("kzmig.test_summary")
    log.addHandler(s)
    log.propagate = False
    try:
        for i in range(5):
            log.warning("region %s: value %d dropped", "astana", i)
        log.warning("region astana: value 0 dropped")  # formatted before logging: its own kind
        log.info("not a warning")
    finally:
        log.removeHandler(s)
        log.propagate = True
    assert s.total == 6 and len(s.kinds) == 2
    assert s.lines() == ["WARNING kzmig.test_summary: region astana: value 0 dropped (x5, 5 variants)",
                         "WARNING kzmig.test_summary: region astana: value 0 dropped (x1)"]
    long = WarningSummary()
    long.handle(logging.makeLogRecord({"name": "x", "levelno": 30, "levelname": "WARNING", "msg": "y" * 500}))
    assert len(long.lines(width=50)[0]) < 80 and long.lines(width=50)[0].endswith("... (x1)")


def _worker_warns():
    logging.getLogger("kzmig.forecast.worker").warning("no pseudo-origin cell for %s", "astana")


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_a_forked_worker_s_warnings_are_counted_in_the_parent(tmp_path):
    import multiprocessing

    s = WarningSummary(tmp_path / "spool.jsonl")
    log = logging.getLogger("kzmig.forecast.worker")
    log.addHandler(s)
    log.propagate = False
    try:
        procs = [multiprocessing.get_context("fork").Process(target=_worker_warns) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        _worker_warns()  # and one in this process
    finally:
        log.removeHandler(s)
        log.propagate = True
    assert s.total == 1  # the workers' records wait in the spool
    s.collect()
    assert s.total == 4 and s.lines() == ["WARNING kzmig.forecast.worker: no pseudo-origin cell for astana (x4)"]
