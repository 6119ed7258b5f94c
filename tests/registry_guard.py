"""A test helper: models a block registers are unregistered when it ends (a worked example of the
manual registers one), so that a later test of the same worker process sees the built-in registry."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def models_registered_here_removed() -> Iterator[None]:
    """Unregister, on leaving, the models registered inside the block (tests/models/test_registry.py
    counts the built-in kinds)."""
    from kzmig.models import registry

    before = set(registry.entries())
    try:
        yield
    finally:
        for kind in set(registry.entries()) - before:
            registry.unregister(kind)
