"""Charts a study declares (data only): each helper returns a :class:`~kzmig.studies.base.Chart`.

The helpers take the same arguments as the plotter of the same name in :mod:`kzmig.reporting`
(which draws the figure when the result is saved), so a study says *what* to draw without
importing the layer that draws it. Code below the studies (the forecast engine) uses
:func:`kzmig.core.charts.chart` the same way.
"""
from __future__ import annotations

from typing import Any

from kzmig.core.charts import Chart


def plot_overview(*args: Any, **kwargs: Any) -> Chart:
    """Small multiples of one target over regions (:func:`kzmig.reporting.planning_charts.plot_overview`)."""
    return Chart("overview", args, kwargs)


def plot_fan(*args: Any, **kwargs: Any) -> Chart:
    """Fan chart of one target and region (:func:`kzmig.reporting.planning_charts.plot_fan`)."""
    return Chart("fan", args, kwargs)
