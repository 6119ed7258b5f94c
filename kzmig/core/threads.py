"""One thread for the native thread pools (BLAS, OpenMP), entered once however deeply nested.

The models of kzmig fit thousands of tiny matrices; a multithreaded BLAS makes them many times
slower, so every fit, forecast and backtest task runs with one thread per pool
(:func:`threadpoolctl.threadpool_limits`). Entering that limit inspects every shared library the
process has loaded (``dl_iterate_phdr``) -- about a millisecond, which thousands of nested fits
turned into a tenth of the main job's CPU time. :func:`single_thread` enters the limit at the
outermost level only: inside a block already limited to one thread for every pool, it does
nothing (the limit it would set holds already).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_state = threading.local()


def limited() -> bool:
    """Whether this thread runs inside :func:`single_thread` for every pool."""
    return getattr(_state, "depth", 0) > 0


@contextmanager
def single_thread(user_api: str | None = None) -> Iterator[None]:
    """One thread for the pools of ``user_api`` (``"blas"``, ``"openmp"``; every pool when None).

    Nested inside a block limited for every pool, it is a no-op; the pools' sizes are restored
    when the outermost block ends.

    Examples
    --------
    >>> with single_thread():
    ...     with single_thread("blas"):  # already one thread: nothing is inspected again
    ...         limited()
    True
    """
    if limited():
        yield
        return
    with threadpool_limits(limits=1, user_api=user_api):
        if user_api is not None:
            yield
            return
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            yield
        finally:
            _state.depth -= 1
