"""single_thread: one thread per native pool, the limit entered once however deeply nested."""
from __future__ import annotations

from unittest import mock

import threadpoolctl

from kzmig.core import threads
from kzmig.core.threads import limited, single_thread


def test_nested_blocks_enter_the_limit_once():
    calls = []
    real = threads.threadpool_limits

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    with mock.patch.object(threads, "threadpool_limits", spy):
        assert not limited()
        with single_thread():
            assert limited()
            for _ in range(5):
                with single_thread("blas"):
                    with single_thread():
                        assert limited()
        assert not limited()
        with single_thread("blas"):  # a limit for one pool does not stand for every pool
            assert not limited()
            with single_thread("blas"):
                pass
    assert calls == [{"limits": 1, "user_api": None}, {"limits": 1, "user_api": "blas"},
                     {"limits": 1, "user_api": "blas"}]


def test_pools_run_one_thread_inside_and_are_restored_after():
    before = {(p["internal_api"], p["filepath"]): p["num_threads"] for p in threadpoolctl.threadpool_info()}
    with single_thread():
        with single_thread("blas"):
            inside = threadpoolctl.threadpool_info()
    assert all(p["num_threads"] == 1 for p in inside)
    after = {(p["internal_api"], p["filepath"]): p["num_threads"] for p in threadpoolctl.threadpool_info()}
    assert after == before
