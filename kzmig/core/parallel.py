"""One way to run independent tasks in parallel: a local process pool or a Dask cluster.

Backtests (and later scenario grids) are lists of tasks keyed by (series group, model,
origin ...). :func:`run_tasks` runs them on an execution :class:`Backend` and returns the
results **sorted by key**, so the output is identical whichever backend and how many workers
ran it:

- ``local``: in this process (one worker) or a local process pool. Each worker asks the kernel
  to kill it when its parent dies (``PR_SET_PDEATHSIG`` on Linux) and otherwise watches its
  parent's pid, so a killed run leaves no worker behind.
- ``dask``: :mod:`dask.distributed`, on a ``LocalCluster`` started for the call (and closed
  after it) when no address is given, or on an existing cluster through its scheduler address.

Data every task needs (the series, the models) is passed once as ``shared``: it is sent to
each worker once (the pool's initializer; ``Client.scatter(..., broadcast=True)`` on Dask),
never with each task. A task that raises is retried once (``retries``); the tasks that still
fail are reported together, by key, in a :class:`TaskFailures` error that also holds every
result that did arrive.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import reprlib
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from kzmig.core.errors import ConfigError, KzmigError, StudyError

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
#: ``backend`` choices of an :class:`Backend` (and of ``[execution] backend``).
BACKENDS = ("local", "dask")
#: seconds to wait for an existing Dask scheduler to answer
CONNECT_TIMEOUT = "10s"
_NO_SHARED = object()
_SHARED: dict[str, Any] = {}  # what a local pool worker received from its initializer, by call token


def machine_workers() -> int:
    """Cores this process may run on (the default number of workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Backend:
    """Where tasks run.

    Parameters
    ----------
    kind : {"local", "dask"}, default "local"
    workers : int, optional
        Worker processes: for ``local`` the pool size (1 runs in this process), for ``dask`` the
        workers of the ``LocalCluster`` started when no address is given (ignored with an
        address: the cluster has its own). Default: the cores of this machine.
    address : str, optional
        ``dask`` only: the scheduler of an existing cluster, e.g. ``"tcp://10.0.0.5:8786"``.
    """

    kind: str = "local"
    workers: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise ConfigError(f"backend {self.kind!r} is unknown; choose one of {', '.join(BACKENDS)}.")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise ConfigError(f"backend workers={self.workers!r} must be an integer >= 1.")
        if self.address is not None and self.kind != "dask":
            raise ConfigError(f"a scheduler address ({self.address!r}) needs backend 'dask', not {self.kind!r}.")

    @property
    def n_workers(self) -> int:
        """Workers this backend starts (``workers`` or the machine's cores)."""
        return self.workers if self.workers is not None else machine_workers()

    def describe(self) -> str:
        """One line for logs and manifests, e.g. ``dask (tcp://host:8786)`` or ``local (2 workers)``."""
        if self.kind == "dask" and self.address:
            return f"dask ({self.address})"
        what = "LocalCluster, " if self.kind == "dask" else ""
        return f"{self.kind} ({what}{self.n_workers} worker{'s' if self.n_workers != 1 else ''})"


#: schemes whose address is HOST:PORT over TCP (the ones :func:`check_scheduler` can probe)
_TCP_SCHEMES = ("tcp", "tls")


def tcp_host_port(address: str) -> tuple[str, int] | None | bool:
    """``(host, port)`` of a TCP scheduler address (``tcp://host:port``, ``tls://host:port`` or
    ``host:port``; IPv6 hosts in brackets), ``True`` for another scheme (``ucx://...``, left to
    dask), ``None`` when the address is malformed (no host, no port, or a port outside 1-65535).
    Parsed by dask.distributed's own address functions, which accept an empty host and any port."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address.strip())
    except ValueError:
        return None
    if scheme not in _TCP_SCHEMES:
        return True if location else None
    try:
        host, port = parse_host_port(location)
    except ValueError:
        return None
    return (host, port) if host and 1 <= port <= 65535 else None


def check_scheduler(address: str, timeout: float = 10.0) -> None:
    """Fail fast, before any work, when nothing listens at a TCP scheduler address.

    Raises
    ------
    ConfigError
        The address is malformed, or no connection opened within ``timeout`` seconds.
    """
    where = tcp_host_port(address)
    if where is None:
        raise ConfigError(f"execution address {address!r}: a scheduler address is HOST:PORT, optionally with "
                          "a scheme (tcp://10.0.0.5:8786).")
    if where is True:
        return
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError as err:
        raise ConfigError(f"execution address {address!r}: no Dask scheduler answered within {timeout:g} s "
                          f"({type(err).__name__}: {err}); start one (dask scheduler) or check the address; "
                          "nothing was run.") from None


@contextlib.contextmanager
def open_backend(backend: Backend) -> Iterator[Backend]:
    """Start what ``backend`` needs once for several :func:`run_tasks` calls.

    For ``dask`` without an address, a ``LocalCluster`` of ``backend.n_workers`` processes is
    started here and closed on exit, and the yielded backend points at its scheduler, so a
    study with several targets pays the cluster's start-up (seconds) once. Any other backend is
    yielded as it is.
    """
    if backend.kind != "dask" or backend.address:
        yield backend
        return
    from distributed import LocalCluster

    with LocalCluster(n_workers=backend.n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        logger.info("dask: LocalCluster of %d workers at %s.", backend.n_workers, cluster.scheduler_address)
        yield Backend("dask", workers=backend.workers, address=cluster.scheduler_address)


class TaskFailures(Exception):
    """Tasks that failed twice (once retried), by key; the results of the others are kept.

    Attributes
    ----------
    failed : dict
        key -> the exception of the last attempt.
    results : list of (key, result)
        Every task that succeeded, sorted by key.
    """

    def __init__(self, failed: dict[Hashable, BaseException], results: list[tuple[Hashable, Any]], total: int,
                 attempts: int) -> None:
        self.failed, self.results, self.total = failed, results, total
        keys = sorted(failed)
        short = reprlib.Repr()
        short.maxlist, short.maxtuple, short.maxstring, short.maxother = 20, 20, 200, 200
        lines = [f"  {k!r}: {type(failed[k]).__name__}: {str(failed[k]).splitlines()[0] if str(failed[k]) else ''}"
                 for k in keys[:10]]
        more = f"\n  ... and {len(keys) - 10} more" if len(keys) > 10 else ""
        super().__init__(
            f"{len(keys)} of {total} tasks failed ({attempts} attempt{'s' if attempts > 1 else ''} each); "
            f"the other {total - len(keys)} results are kept. Failed keys: {short.repr(keys)}\n"
            + "\n".join(lines) + more)


class TaskValueFailures(TaskFailures, ValueError):
    """:class:`TaskFailures` whose every failure is a ``ValueError`` (bad input, not a crash)."""


class TaskUserFailures(TaskValueFailures, StudyError):
    """:class:`TaskFailures` whose every failure is a user error (:class:`~kzmig.core.errors.KzmigError`):
    a user error itself (exit 2)."""


def _failures(failed: dict, results: dict, total: int, attempts: int) -> TaskFailures:
    errors = failed.values()
    cls = (TaskUserFailures if all(isinstance(e, KzmigError) for e in errors) else
           TaskValueFailures if all(isinstance(e, ValueError) for e in errors) else TaskFailures)
    err = cls(failed, sorted(results.items(), key=lambda kv: kv[0]), total, attempts)
    err.__cause__ = failed[sorted(failed)[0]]
    return err


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


def _init_worker(parent: int, token: str | None = None, shared: Any = None) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if token is not None:
        _SHARED[token] = shared


def _call(fn: Callable[..., Any], token: str | None, args: tuple) -> Any:
    return fn(_SHARED[token], *args) if token is not None else fn(*args)


def _context() -> multiprocessing.context.BaseContext:
    # fork is fast and safe on Linux for these pure-computation tasks; elsewhere spawn
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Hashable, tuple]],
    *,
    n_jobs: int | None = None,
    backend: Backend | None = None,
    shared: Any = _NO_SHARED,
    retries: int = 1,
    progress: Callable[[Hashable, int, int], None] | None = None,
) -> list[tuple[Hashable, Any]]:
    """Run ``fn(*args)`` (or ``fn(shared, *args)``) for every ``(key, args)`` task; return
    ``[(key, result)]`` sorted by key.

    Parameters
    ----------
    fn : callable
        A module-level function (it is sent to worker processes).
    tasks : sequence of (key, args)
        Keys must be unique and sortable; they order the output and name failed tasks.
    n_jobs : int, optional
        Shorthand for ``backend=Backend("local", workers=n_jobs)``; give one or the other.
        Neither: one worker, in this process.
    backend : Backend, optional
        Where to run (see :class:`Backend`).
    shared : object, optional
        Passed as the first argument of every call and sent to each worker once.
    retries : int, default 1
        Times a task that raised is run again before it counts as failed.
    progress : callable, optional
        Called as ``progress(key, done, total)`` each time a task finishes (in completion order).

    Raises
    ------
    ValueError
        Duplicate keys (a bug of the caller).
    ConfigError
        ``n_jobs < 1``, or both ``n_jobs`` and ``backend``.
    TaskFailures
        Tasks that failed on every attempt, by key, with the other results in ``.results``
        (a :class:`TaskValueFailures`, also a ``ValueError``, when every failure was one; a
        :class:`TaskUserFailures`, also a ``StudyError``, when every failure was a user error).
    ConfigError
        The Dask scheduler at ``backend.address`` cannot be reached.
    """
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("run_tasks: task keys must be unique.")
    if n_jobs is not None:
        if backend is not None:
            raise ConfigError("run_tasks: give n_jobs or backend, not both.")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ConfigError(f"run_tasks: n_jobs={n_jobs!r} must be an integer >= 1.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"run_tasks: retries={retries!r} must be an integer >= 0.")
    backend = backend or Backend("local", workers=n_jobs or 1)
    state = _State(len(tasks), progress)
    if backend.kind == "dask":
        _run_dask(fn, tasks, shared, backend, retries, state)
    elif backend.n_workers == 1 or len(tasks) <= 1:
        _run_here(fn, tasks, shared, retries, state)
    else:
        _run_pool(fn, tasks, shared, min(backend.n_workers, len(tasks)), retries, state)
    if state.failed:
        raise _failures(state.failed, state.results, len(tasks), retries + 1)
    return sorted(state.results.items(), key=lambda kv: kv[0])


class _State:
    """Results, failures and progress of one :func:`run_tasks` call."""

    def __init__(self, total: int, progress: Callable | None) -> None:
        self.total, self.progress = total, progress
        self.results: dict[Hashable, Any] = {}
        self.failed: dict[Hashable, BaseException] = {}

    def done(self, key: Hashable, *, result: Any = None, error: BaseException | None = None) -> None:
        if error is None:
            self.results[key] = result
        else:
            self.failed[key] = error
            logger.info("task %r failed: %s: %s", key, type(error).__name__, error)  # raised together at the end
        if self.progress:
            self.progress(key, len(self.results) + len(self.failed), self.total)


def _retrying(key: Hashable, attempt: int, retries: int, err: BaseException) -> bool:
    if attempt <= retries:
        logger.warning("task %r failed (%s: %s); retrying (attempt %d).", key, type(err).__name__, err, attempt + 1)
        return True
    return False


def _run_here(fn, tasks, shared, retries, state: _State) -> None:
    for key, args in tasks:
        call = (shared, *args) if shared is not _NO_SHARED else args
        for attempt in range(1, retries + 2):
            try:
                result = fn(*call)
            except Exception as err:  # noqa: BLE001 - reported by key after the retries
                if _retrying(key, attempt, retries, err):
                    continue
                state.done(key, error=err)
            else:
                state.done(key, result=result)
            break


def _run_pool(fn, tasks, shared, n_workers, retries, state: _State) -> None:
    token = None if shared is _NO_SHARED else uuid.uuid4().hex
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=_context(), initializer=_init_worker,
                             initargs=(os.getpid(), token, None if token is None else shared)) as pool:
        running = {pool.submit(_call, fn, token, args): (key, args, 1) for key, args in tasks}
        try:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key, args, attempt = running.pop(fut)
                    err = fut.exception()
                    if err is None:
                        state.done(key, result=fut.result())
                    elif isinstance(err, Exception) and _retrying(key, attempt, retries, err):
                        try:
                            running[pool.submit(_call, fn, token, args)] = (key, args, attempt + 1)
                        except RuntimeError as broken:  # the pool broke (a worker died): no retry possible
                            state.done(key, error=broken)
                    elif isinstance(err, Exception):
                        state.done(key, error=err)
                    else:
                        raise err
        except BaseException:
            for fut in running:
                fut.cancel()
            raise


def _run_dask(fn, tasks, shared, backend: Backend, retries, state: _State) -> None:
    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(open_backend(backend))
        try:
            client = stack.enter_context(Client(backend.address, timeout=CONNECT_TIMEOUT, set_as_default=False))
        except (OSError, TimeoutError) as err:
            raise ConfigError(f"execution address {backend.address!r}: no Dask scheduler answered within "
                              f"{CONNECT_TIMEOUT} ({type(err).__name__}: {err}); start one (dask scheduler) "
                              "or check the address.") from err
        logger.info("dask: %d tasks on %s (%d workers).", len(tasks), client.scheduler.address,
                    len(client.scheduler_info().get("workers", {})))
        lead: tuple = ()
        if shared is not _NO_SHARED:
            lead = (client.scatter([shared], broadcast=True, hash=False)[0],)
        token = uuid.uuid4().hex[:12]
        name = getattr(fn, "__name__", "task")
        futures = {client.submit(fn, *lead, *args, key=f"kzmig-{name}-{token}-{i}", retries=retries, pure=False): key
                   for i, (key, args) in enumerate(tasks)}
        for fut in as_completed(list(futures), loop=client.loop):
            key = futures.pop(fut)
            if fut.status == "finished":
                state.done(key, result=fut.result())
            else:
                err = fut.exception()
                if not isinstance(err, Exception):
                    raise err
                state.done(key, error=err)
            fut.release()

