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
def test_workers_die_when_the_parent_is_killed():
    script = textwrap.dedent("""
        import os, sys, threading
        from kzmig.core.parallel import run_tasks

        def block(i):
            os.write(1, f"{os.getpid()}\\n".encode())  # one write: two workers' lines never interleave
            threading.Event().wait()

        run_tasks(block, [(0, (0,)), (1, (1,))], n_jobs=2)
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
