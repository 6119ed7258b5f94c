"""One way to run independent tasks in parallel, with workers that die with the parent.

Backtests (and later scenario grids) are lists of tasks keyed by (series group, model,
origin ...). :func:`run_tasks` runs them in this process (``n_jobs=1``) or in a local process
pool, and returns the results **sorted by key**, so the output is identical whichever way it
ran. Each worker asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG`` on
Linux) and otherwise watches its parent's pid, so a killed run leaves no worker behind.
"""
from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int, interval: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(interval)


def die_with_parent(parent: int | None = None, interval: float = 1.0) -> None:
    """Make this process exit when ``parent`` (default: the current parent) is gone.

    On Linux the kernel sends SIGKILL at once (``prctl(PR_SET_PDEATHSIG)``); elsewhere a
    daemon thread checks the parent pid every ``interval`` seconds.
    """
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError) as err:
            logger.debug("prctl(PR_SET_PDEATHSIG) unavailable (%s); watching the parent pid instead.", err)
    threading.Thread(target=_watch_parent, args=(parent, interval), daemon=True).start()


def _init_worker(parent: int) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _context() -> multiprocessing.context.BaseContext:
    # fork is fast and safe on Linux for these pure-computation tasks; elsewhere spawn
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Hashable, tuple]],
    *,
    n_jobs: int = 1,
    progress: Callable[[Hashable, int, int], None] | None = None,
) -> list[tuple[Hashable, Any]]:
    """Run ``fn(*args)`` for every ``(key, args)`` task; return ``[(key, result)]`` sorted by key.

    Parameters
    ----------
    fn : callable
        A module-level function (it is sent to worker processes).
    tasks : sequence of (key, args)
        Keys must be unique and sortable; they order the output.
    n_jobs : int, default 1
        1 runs in this process; more uses a local process pool of at most that many workers.
    progress : callable, optional
        Called as ``progress(key, done, total)`` each time a task finishes (in completion order).

    Raises
    ------
    ValueError
        Duplicate keys or ``n_jobs < 1``.
    """
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("run_tasks: task keys must be unique.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"run_tasks: n_jobs={n_jobs!r} must be an integer >= 1.")
    total, results = len(tasks), {}
    if n_jobs == 1 or total <= 1:
        for i, (key, args) in enumerate(tasks, 1):
            results[key] = fn(*args)
            if progress:
                progress(key, i, total)
    else:
        with ProcessPoolExecutor(max_workers=min(n_jobs, total), mp_context=_context(),
                                 initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(fn, *args): key for key, args in tasks}
            try:
                for i, fut in enumerate(as_completed(futures), 1):
                    key = futures[fut]
                    results[key] = fut.result()
                    if progress:
                        progress(key, i, total)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    return sorted(results.items(), key=lambda kv: kv[0])
