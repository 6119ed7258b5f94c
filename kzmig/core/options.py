"""Checking named options against a registry, with the valid choices in the error."""
from __future__ import annotations

from collections.abc import Iterable


def check_option(name: str, value: object, valid: Iterable[object], *, owner: str | None = None) -> None:
    """Raise ``ValueError`` if ``value`` is not one of ``valid``, listing the valid ones.

    Examples
    --------
    >>> check_option("cov_type", "clustered", ("clustered", "robust"))
    >>> check_option("cov_type", "cluster", ("clustered", "robust"), owner="FE")
    Traceback (most recent call last):
    ...
    ValueError: cov_type='cluster' is not supported by FE; choose one of 'clustered', 'robust'.
    """
    valid = tuple(valid)
    if value in valid:
        return
    where = f" by {owner}" if owner else ""
    choices = ", ".join(repr(v) for v in sorted(valid, key=str))
    raise ValueError(f"{name}={value!r} is not supported{where}; choose one of {choices}.")
