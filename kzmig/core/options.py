"""Checking named options against a registry, with the valid choices in the error."""
from __future__ import annotations

from collections.abc import Iterable

from kzmig.core.errors import ConfigError


def check_option(name: str, value: object, valid: Iterable[object], *, owner: str | None = None) -> None:
    """Raise :class:`~kzmig.core.errors.ConfigError` (a ``ValueError``) if ``value`` is not one of ``valid``,
    listing the valid ones.

    Examples
    --------
    >>> check_option("cov_type", "clustered", ("clustered", "robust"))
    >>> check_option("cov_type", "cluster", ("clustered", "robust"), owner="FE")
    Traceback (most recent call last):
    ...
    kzmig.core.errors.ConfigError: cov_type='cluster' is not supported by FE; choose one of 'clustered', 'robust'.
    """
    valid = tuple(valid)
    if value in valid:
        return
    where = f" by {owner}" if owner else ""
    choices = ", ".join(repr(v) for v in sorted(valid, key=str))
    raise ConfigError(f"{name}={value!r} is not supported{where}; choose one of {choices}.")
