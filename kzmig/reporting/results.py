"""Saving results: the one place where a study's data become files.

:func:`save` writes any result (a :class:`~kzmig.studies.base.StudyResult`, a planning run's
:class:`~kzmig.studies.run.RunResult`, a :class:`~kzmig.studies.predict.PredictResult`) as a
complete run folder (:class:`~kzmig.core.runs.RunFolder`: staged, locked, manifest last,
renamed into place); :func:`write` writes it into a folder the caller manages (the command
line, which times the steps). For each study result:

* ``tables`` -> ``<name>.csv`` (UTF-8, ``\\n``, atomically), numbers by the number policy of
  :mod:`kzmig.reporting.tables` (decimals by unit); the tables a later command reads back
  bit for bit (:data:`FULL_PRECISION`: the backtest predictions ``kzmig predict`` rebuilds its
  intervals from) keep every digit;
* ``figures`` -> ``<name>.png``: a :class:`~kzmig.studies.base.Chart` is drawn by the plotter of
  its kind (:data:`PLOTTERS`), a ``Figure`` saved as it is;
* ``documents`` -> rendered by the writer of their kind (:data:`DOCUMENTS`: workbooks);
* ``texts`` -> files; ``models`` -> ``models/<key>/`` (:func:`kzmig.models.persistence.save_model`).

A planning run adds the planning workbook, the charts and ``report.html``
(:mod:`kzmig.reporting.planning_run`). Studies never import this module; it imports them.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from kzmig.core.atomic import atomic_path, atomic_write_csv, atomic_write_text
from kzmig.core.parallel import run_tasks
from kzmig.core.runs import RunFolder, RunStamp
from kzmig.reporting.charts import (
    figure_bytes,
    plot_coefficients,
    plot_external_flows,
    plot_geojson_map,
    plot_growth_index,
    plot_partner_flows,
    plot_tile_map,
)
from kzmig.reporting.i18n import current, using
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_overview, plot_population
from kzmig.reporting.tables import write_csv, write_regression_workbook, write_workbook
from kzmig.studies.base import Chart, Document, StudyResult
from kzmig.studies.saved_run import BACKTEST

#: CSV files written with every digit (the shortest repr that reads back exactly), since a
#: later command reads them back and must get the run's numbers bit for bit
FULL_PRECISION = frozenset({BACKTEST})

logger = logging.getLogger(__name__)


def _planning_figure(name: str, kind: str, args: tuple, kwargs: Mapping[str, Any], *, caveat: str = "",
                     held: Mapping[str, Mapping[str, str]] | None = None) -> Figure:
    """Planning chart ``name``: the plotter of ``kind`` here, then the caveat and the measured coverage
    (:func:`kzmig.reporting.planning_run.finish_planning_figure`, imported when drawn)."""
    from kzmig.reporting.planning_run import finish_planning_figure

    return finish_planning_figure(_draw(Chart(kind, args, kwargs)), name, caveat=caveat, held=held)


#: chart kind -> plotter ``plot(*args, **kwargs) -> Figure`` (see :class:`kzmig.studies.base.Chart`)
PLOTTERS: dict[str, Callable[..., Figure]] = {
    "growth_index": plot_growth_index,
    "tile_map": plot_tile_map,
    "geojson_map": plot_geojson_map,
    "coefficients": plot_coefficients,
    "external_flows": plot_external_flows,
    "partner_flows": plot_partner_flows,
    "overview": plot_overview,
    "fan": plot_fan,
    "accuracy": plot_accuracy,
    "population": plot_population,
    "planning": _planning_figure,
}

#: document kind -> writer ``write(path, *args, **kwargs)`` (see :class:`kzmig.studies.base.Document`)
DOCUMENTS: dict[str, Callable[..., Any]] = {
    "workbook": lambda path, tables: write_workbook(tables, path),
    "regression_workbook": lambda path, sheets: write_regression_workbook(sheets, path),
}


#: processes that render a save's charts at most (:meth:`Renderer.render`)
RENDER_WORKERS = 4


def _checked(item: Any) -> Chart | Figure:
    if not isinstance(item, (Chart, Figure)):
        raise TypeError(f"a result's figure must be a kzmig.studies.base.Chart or a matplotlib Figure, "
                        f"not {type(item).__name__}.")
    return item


def _draw(item: Chart | Figure) -> Figure:
    """The figure of ``item``: a ``Figure`` as it is, a :class:`Chart` drawn by its kind's plotter."""
    if isinstance(_checked(item), Figure):
        return item
    plot = PLOTTERS.get(item.kind)
    if plot is None:
        raise ValueError(f"chart kind {item.kind!r} has no plotter; known kinds: {sorted(PLOTTERS)}.")
    return plot(*item.args, **item.kwargs)


def _png_task(shared: tuple[tuple[Chart | Figure, ...], str], i: int) -> bytes:
    """In a worker: draw item ``i`` (a Chart; a Figure is only rasterised) in the save's language and
    render its PNG."""
    items, lang = shared
    with using(lang):
        return figure_bytes(_draw(items[i]))


#: chart kinds drawn as a grid of panels (one per region): the slowest charts of a run
SMALL_MULTIPLES = frozenset({"overview", "population"})


def _small_multiples(item: Chart | Figure) -> bool:
    """Whether ``item`` is a grid of panels (a planning chart by the kind it wraps); a drawn Figure is not."""
    kind = getattr(item, "kind", None)
    if kind == "planning":
        kind = item.args[1]
    return kind in SMALL_MULTIPLES


class Renderer:
    """Draws charts and renders their PNG bytes once per save: a chart saved in one folder and
    shown again (the planning charts, the report) is drawn and rendered once.

    :meth:`render` draws and renders many at once in worker processes (a :class:`Chart` is drawn
    in the worker, from its data; a ``Figure`` drawn here is only rasterised there): the same
    bytes as one by one, in about half the time on two cores. The main process keeps the PNG
    bytes only, never a drawn chart.
    """

    def __init__(self) -> None:
        # id of the Chart or Figure -> (it, its PNG); kept with the item, so that its id is not reused
        self._png: dict[int, tuple[Any, bytes]] = {}

    def render(self, items: Iterable[Chart | Figure], workers: int | None = None) -> None:
        """Render the PNGs of ``items`` not rendered yet, in up to ``workers`` processes (default:
        the cores this process may use, at most :data:`RENDER_WORKERS`); :meth:`png` then returns them."""
        todo = {id(item): item for item in map(_checked, items) if id(item) not in self._png}
        if workers is None:
            workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                          RENDER_WORKERS)
        workers = min(workers, len(todo))
        if workers < 2:
            return  # one by one, as png() is asked
        keys = tuple(todo)
        # small multiples first (several times a single chart's work): no worker is left with one at the end
        order = sorted(range(len(keys)), key=lambda i: not _small_multiples(todo[keys[i]]))
        for i, data in run_tasks(_png_task, [(i, (i,)) for i in order], n_jobs=workers,
                                 shared=(tuple(todo.values()), current())):
            self._png[keys[i]] = (todo[keys[i]], data)

    def png(self, item: Chart | Figure) -> bytes:
        """The PNG bytes of ``item`` (:func:`kzmig.reporting.charts.figure_bytes`: no timestamp)."""
        if id(item) not in self._png:
            self._png[id(item)] = (item, figure_bytes(_draw(item)))
        return self._png[id(item)][1]

    def write_png(self, item: Chart | Figure, path: Path) -> Path:
        """Write the PNG of ``item`` to ``path`` atomically."""
        data = self.png(item)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data)
        return path


def write_study(result: StudyResult, folder: str | Path, renderer: Renderer | None = None) -> list[Path]:
    """Write one study result into ``folder`` (each file atomically); return the paths."""
    from kzmig.models.persistence import save_model

    renderer = renderer or Renderer()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    renderer.render(result.figures.values())
    written = [(atomic_write_csv if f"{name}.csv" in FULL_PRECISION else write_csv)(df, folder / f"{name}.csv")
               for name, df in result.tables.items()]
    written += [renderer.write_png(item, folder / f"{name}.png") for name, item in result.figures.items()]
    written += [atomic_write_text(text, folder / name) for name, text in result.texts.items()]
    for name, doc in result.documents.items():
        writer = DOCUMENTS.get(doc.kind)
        if writer is None:
            raise ValueError(f"document kind {doc.kind!r} ({name}) has no writer; known kinds: {sorted(DOCUMENTS)}.")
        writer(folder / name, *doc.args, **doc.kwargs)
        written.append(folder / name)
    for key, saved in result.models.items():
        written.append(save_model(saved.estimator, folder / "models" / key,
                                  {"run_study": result.name, **dict(saved.metadata)}))
    logger.info("%s %s: %d files written to %s", result.study, result.name, len(written), folder)
    return written


def write(result: Any, folder: str | Path, *, stamp: RunStamp | None = None) -> list[Path]:
    """Write ``result`` into ``folder``; return the paths written.

    A result with ``parts`` (a run, a predict result) writes each part into its subfolder
    (``""`` is the folder itself); a planning run then renders its planning outputs, which
    show ``stamp`` (run id and creation time; default: the folder's name, no time). A planning
    run writes everything, its studies' charts included, in its language (``[run] lang``); a
    result of ``kzmig predict`` in the language of the run it predicts from; others in English.
    """
    from kzmig.reporting.planning_run import run_lang
    from kzmig.studies.run import RunResult

    lang = run_lang(result) if isinstance(result, RunResult) else (getattr(result, "metadata", None) or {}).get("lang")
    with using(lang):
        return _write(result, Path(folder), stamp)


def _write(result: Any, folder: Path, stamp: RunStamp | None) -> list[Path]:
    from kzmig.reporting.planning_run import write_planning
    from kzmig.studies.run import RunResult

    renderer = Renderer()
    if isinstance(result, StudyResult):
        return write_study(result, folder, renderer)
    parts: Mapping[str, StudyResult] | None = getattr(result, "parts", None)
    if parts is None:
        raise TypeError(f"cannot save a {type(result).__name__}: expected a study result or a result with parts.")
    written = []
    renderer.render([f for part in parts.values() for f in part.figures.values()])  # every part's charts at once
    for sub, part in parts.items():
        written += write_study(part, folder / sub if sub else folder, renderer)
    if isinstance(result, RunResult) and "planning" in parts:
        written += write_planning(result, folder, stamp or RunStamp.of_folder(folder), renderer)
    return written


def save(result: Any, folder: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write ``result`` as a complete run folder (staged, locked, manifest last, renamed into place).

    ``folder`` defaults to ``./runs/<result name>/<run id>``; an existing non-empty folder is
    refused unless ``overwrite``. Returns the run folder.

    Examples
    --------
    >>> from kzmig.config import load_config                  # doctest: +SKIP
    >>> from kzmig.reporting import save
    >>> from kzmig.studies import forecast
    >>> save(forecast(load_config("experiments/net_migration.toml")), "runs/demo")
    """
    with RunFolder(folder, study=result.name, overwrite=overwrite) as run:
        with run.step("save"):
            write(result, run.path, stamp=run.stamp)
        return run.complete(result.manifest())
