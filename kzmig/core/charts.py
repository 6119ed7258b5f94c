"""What a result holds instead of a drawn figure or a rendered file: the data to render it.

A :class:`Chart` or :class:`Document` names a renderer by ``kind`` and carries its arguments;
:mod:`kzmig.reporting` (the layer that draws and writes) renders it when the result is saved.
They live in ``kzmig.core`` so that any layer that produces results (a study, the forecast
engine) can declare a chart without importing the layer above that draws it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, eq=False)  # compared by identity: the arguments hold DataFrames
class _Rendered:
    """A renderer's ``kind`` and the (read-only) arguments it is called with."""

    kind: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))

    def __reduce__(self):
        """Pickled as its constructor call (a read-only mapping does not pickle): so that a chart
        can be sent to a render worker started by ``spawn`` (macOS, Windows)."""
        return (type(self), (self.kind, self.args, dict(self.kwargs)))


@dataclass(frozen=True, eq=False)
class Chart(_Rendered):
    """The data to draw one figure; :mod:`kzmig.reporting` draws it when the result is saved.

    ``kind`` names a plotter of :data:`kzmig.reporting.results.PLOTTERS` (``"growth_index"``,
    ``"tile_map"``, ``"overview"``, ``"coefficients"`` ...), which is called as
    ``plotter(*args, **kwargs)`` and returns a matplotlib ``Figure``.
    """


def chart(kind: str, *args: Any, **kwargs: Any) -> Chart:
    """``chart("growth_index", table, title="...")``: a :class:`Chart` with these arguments."""
    return Chart(kind, args, kwargs)


@dataclass(frozen=True, eq=False)
class Document(_Rendered):
    """The data of one file rendered by :mod:`kzmig.reporting` (a workbook ...) when the result is saved.

    ``kind`` names a writer of :data:`kzmig.reporting.results.DOCUMENTS` (``"workbook"``,
    ``"regression_workbook"``), called as ``writer(path, *args, **kwargs)``.
    """
