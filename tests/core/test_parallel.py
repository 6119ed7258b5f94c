"""The task runner: results sorted by key whatever the backend, and workers die with the parent."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest

from kzmig.core.parallel import run_tasks


def _square(x: int) -> int:
    return x * x


def test_results_sorted_by_key_and_identical_across_backends():
    tasks = [(k, (k,)) for k in (5, 1, 4, 2, 3)]
    seen = []
    serial = run_tasks(_square, tasks, n_jobs=1, progress=lambda key, done, total: seen.append((done, total)))
    pooled = run_tasks(_square, tasks, n_jobs=2)
    assert serial == pooled == [(1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]
    assert seen[-1] == (5, 5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unique"):
        run_tasks(_square, [(1, (1,)), (1, (2,))])
    with pytest.raises(ValueError, match="n_jobs"):
        run_tasks(_square, [(1, (1,))], n_jobs=0)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfd_open to wait without sleeping")
@pytest.mark.parametrize("backend", ["Backend('local', workers=2)", "Backend('dask', workers=2)"])
def test_workers_die_when_the_parent_is_killed(backend):
    """The local pool's workers (PDEATHSIG) and a dask LocalCluster's (the nanny's pipe to its parent)."""
    script = textwrap.dedent(f"""
        import os, sys, threading
        from kzmig.core.parallel import Backend, run_tasks

        def block(i):
            os.write(1, f"{{os.getpid()}}\\n".encode())  # one write: two workers' lines never interleave
            threading.Event().wait()

        run_tasks(block, [(0, (0,)), (1, (1,))], backend={backend})
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(parent.stdout.readline()) for _ in range(2)]
        fds = [os.pidfd_open(pid) for pid in workers]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    # a pidfd becomes readable when its process exits; wait up to 60 s, without polling
    pending = list(fds)
    while pending:
        ready, _, _ = select.select(pending, [], [], 60)
        assert ready, f"worker(s) still alive 60 s after the parent was killed: {workers}"
        pending = [fd for fd in pending if fd not in ready]
    for fd in fds:
        os.close(fd)


# --- backends, shared data, retries and failures -------------------------------------------------

from pathlib import Path  # noqa: E402

from kzmig.core.errors import ConfigError  # noqa: E402
from kzmig.core.parallel import Backend, TaskFailures, TaskValueFailures  # noqa: E402


def _scaled(shared: dict, x: int) -> int:
    return shared["factor"] * x


def _flaky(folder: str, x: int) -> int:
    """Fails the first time it sees ``x`` (a marker file remembers it across processes), then works."""
    marker = Path(folder) / f"seen-{x}"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError(f"transient failure of {x}")
    return x


def _bad_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x * 10


@pytest.fixture(scope="module")
def dask_address():
    """An in-process dask cluster (threads, no processes: starts in about a second)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_shared_data_reaches_every_task(where, request):
    backend = {"here": Backend("local", workers=1), "pool": Backend("local", workers=2),
               "dask": Backend("dask", address=request.getfixturevalue("dask_address")) if where == "dask" else None}[where]
    tasks = [(k, (k,)) for k in (3, 1, 2)]
    assert run_tasks(_scaled, tasks, backend=backend, shared={"factor": 7}) == [(1, 7), (2, 14), (3, 21)]


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_a_failing_task_is_retried_once(where, request, tmp_path):
    backend = {"here": Backend("local", workers=1), "pool": Backend("local", workers=2),
               "dask": Backend("dask", address=request.getfixturevalue("dask_address")) if where == "dask" else None}[where]
    out = run_tasks(_flaky, [(k, (k,)) for k in (1, 2)], backend=backend, shared=str(tmp_path))
    assert out == [(1, 1), (2, 2)] and sorted(p.name for p in tmp_path.iterdir()) == ["seen-1", "seen-2"]
    with pytest.raises(TaskFailures, match=r"1 of 1 tasks failed \(1 attempt each\)"):
        run_tasks(_flaky, [(9, (9,))], backend=backend, shared=str(tmp_path), retries=0)


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_failed_keys_are_reported_and_the_other_results_kept(where, request):
    backend = {"here": Backend("local", workers=1), "pool": Backend("local", workers=2),
               "dask": Backend("dask", address=request.getfixturevalue("dask_address")) if where == "dask" else None}[where]
    with pytest.raises(TaskValueFailures) as info:
        run_tasks(_bad_three, [(k, (k,)) for k in (4, 3, 1, 2)], backend=backend)
    err = info.value
    assert isinstance(err, ValueError)  # every failure was a ValueError: callers that catch it keep working
    assert list(err.failed) == [3] and isinstance(err.failed[3], ValueError)
    assert err.results == [(1, 10), (2, 20), (4, 40)]
    assert "1 of 4 tasks failed (2 attempts each); the other 3 results are kept. Failed keys: [3]" in str(err)
    assert "3: ValueError: three is not allowed" in str(err)


def test_the_same_results_on_every_backend(dask_address):
    tasks = [((k % 3, -k), (k,)) for k in range(12)]  # tuple keys, not in order
    here = run_tasks(_scaled, tasks, shared={"factor": 3})
    assert here == sorted(((k % 3, -k), 3 * k) for k in range(12))
    assert run_tasks(_scaled, tasks, backend=Backend("local", workers=2), shared={"factor": 3}) == here
    assert run_tasks(_scaled, tasks, backend=Backend("dask", address=dask_address), shared={"factor": 3}) == here


def test_backend_arguments_are_checked():
    with pytest.raises(ValueError, match="backend 'spark' is unknown; choose one of local, dask"):
        Backend("spark")
    with pytest.raises(ValueError, match="workers=0 must be an integer >= 1"):
        Backend("local", workers=0)
    with pytest.raises(ValueError, match="needs backend 'dask', not 'local'"):
        Backend("local", address="tcp://localhost:8786")
    with pytest.raises(ValueError, match="n_jobs or backend, not both"):
        run_tasks(_square, [(1, (1,))], n_jobs=2, backend=Backend())
    assert Backend("dask", address="tcp://h:8786").describe() == "dask (tcp://h:8786)"
    assert Backend("local", workers=2).describe() == "local (2 workers)"


def test_an_unreachable_scheduler_is_a_config_error(monkeypatch):
    pytest.importorskip("distributed")
    import kzmig.core.parallel as parallel

    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError, match=r"execution address 'tcp://127.0.0.1:9': no Dask scheduler answered"):
        run_tasks(_square, [(1, (1,))], backend=Backend("dask", address="tcp://127.0.0.1:9"))
