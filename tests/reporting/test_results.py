"""Saving data-only results: tables, charts drawn from their data, documents, texts; read-only results."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from kzmig.core.runs import RunStamp, read_manifest
from kzmig.reporting import results as rr
from kzmig.reporting import save, write
from kzmig.studies.base import Chart, Document, StudyResult, chart

ROOT = Path(__file__).resolve().parents[2]
TABLE = pd.DataFrame({"region": ["astana", "akmola"], "year": [2020, 2020], "value": [1.5, -2.0]})


def _line(values, *, title=""):
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot(list(values))
    ax.set_title(title)
    return fig


class Calls:
    """Titles the toy plotter drew, in this process or in a render worker (appended to a file)."""

    def __init__(self, path):
        self.path = path

    def __eq__(self, other):
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        return text.splitlines() == other

    def __repr__(self):
        return f"Calls({self.path.read_text(encoding='utf-8').splitlines() if self.path.exists() else []})"


@pytest.fixture
def toy_plotter(monkeypatch, tmp_path):
    calls = Calls(tmp_path / "calls.txt")

    def plot(values, *, title=""):
        with open(calls.path, "a", encoding="utf-8") as fh:
            fh.write(title + "\n")
        return _line(values, title=title)

    monkeypatch.setitem(rr.PLOTTERS, "toy_line", plot)
    return calls


def test_save_writes_tables_charts_documents_and_texts(tmp_path, toy_plotter):
    res = StudyResult(study="toy", name="toy", tables={"values": TABLE},
                      figures={"drawn": chart("toy_line", [1, 3, 2], title="t"), "ready": _line([2, 1])},
                      texts={"notes.txt": "one line\n"},
                      documents={"values.xlsx": Document("workbook", ({"values": TABLE},))})
    out = save(res, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == ["drawn.png", "manifest.json", "notes.txt", "ready.png",
                                                     "values.csv", "values.xlsx"]
    # a value without a unit (no variable names it): 6 significant digits, trailing zeros dropped
    assert (out / "values.csv").read_text(encoding="utf-8") == "region,year,value\nastana,2020,1.5\nakmola,2020,-2\n"
    assert (out / "drawn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and toy_plotter == ["t"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "one line\n"
    sheet = pd.read_excel(out / "values.xlsx", sheet_name="values")
    assert list(sheet.columns) == ["region", "region_name_ru", "region_name_en", "year", "value"]  # names beside keys
    manifest = read_manifest(out)
    assert manifest["kind"] == "toy" and set(manifest["files"]) == {"drawn.png", "notes.txt", "ready.png",
                                                                      "values.csv", "values.xlsx"}


def test_a_chart_shown_in_two_places_is_drawn_and_rendered_once(tmp_path, toy_plotter):
    shared = chart("toy_line", [1, 2, 3], title="once")
    renderer = rr.Renderer()
    a = rr.write_study(StudyResult(study="a", name="a", tables={}, figures={"x": shared}), tmp_path / "a", renderer)
    b = rr.write_study(StudyResult(study="b", name="b", tables={}, figures={"y": shared}), tmp_path / "b", renderer)
    assert toy_plotter == ["once"]
    assert a[0].read_bytes() == b[0].read_bytes() == renderer.png(shared)


def _figure(k: int) -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot(range(k + 3), [i * (k + 1) for i in range(k + 3)])
    ax.set_title(f"figure {k}")
    return fig


def test_charts_rendered_in_worker_processes_are_the_bytes_rendered_here(monkeypatch):
    figures = [_figure(k) for k in range(5)]
    here = [rr.figure_bytes(f) for f in figures]
    renderer = rr.Renderer()
    renderer.render([*figures, figures[0]], workers=2)  # one figure twice: rendered once
    monkeypatch.setattr(rr, "figure_bytes", lambda fig: pytest.fail("rendered again in this process"))
    assert [renderer.png(f) for f in figures] == here
    assert len({*here}) == 5


def test_charts_drawn_in_worker_processes_are_the_bytes_drawn_here(tmp_path, toy_plotter):
    charts = [chart("toy_line", [k, 3 - k, 2 * k], title=f"c{k}") for k in range(4)]
    here = [rr.figure_bytes(_line(c.args[0], title=c.kwargs["title"])) for c in charts]
    renderer = rr.Renderer()
    renderer.render(charts, workers=2)
    assert sorted(toy_plotter.path.read_text(encoding="utf-8").split()) == ["c0", "c1", "c2", "c3"]  # drawn there
    assert [renderer.png(c) for c in charts] == here
    assert len(toy_plotter.path.read_text(encoding="utf-8").splitlines()) == 4  # png() drew nothing again


def test_small_multiples_are_sent_to_the_render_workers_first(monkeypatch):
    """A grid of panels costs several single charts: sent first, so that no worker draws one alone at the end;
    each chart still gets its own bytes."""
    items = [chart("fan", "a"), chart("planning", "overview_x", "overview", (), {}), chart("growth_index", "b"),
             chart("planning", "population", "population", (), {}), chart("overview", "c"),
             chart("planning", "fan_x_y", "fan", (), {})]
    sent = []

    def fake_run_tasks(fn, tasks, **kwargs):
        sent.extend(key for key, _ in tasks)
        return sorted((key, f"png{key}".encode()) for key, _ in tasks)

    monkeypatch.setattr(rr, "run_tasks", fake_run_tasks)
    renderer = rr.Renderer()
    renderer.render(items, workers=2)
    assert sent == [1, 3, 4, 0, 2, 5]  # small multiples in their order, then the rest in theirs
    assert [renderer.png(item) for item in items] == [f"png{k}".encode() for k in range(6)]


def test_a_chart_pickles_for_a_spawned_render_worker():
    import pickle

    c = chart("growth_index", TABLE, title="t")
    back = pickle.loads(pickle.dumps(c))
    assert type(back) is Chart and back.kind == "growth_index" and back.kwargs == {"title": "t"}
    assert back.args[0].equals(TABLE)
    with pytest.raises(TypeError):
        back.kwargs["title"] = "u"  # type: ignore[index]  # read-only again


def test_unknown_kinds_are_named_with_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"chart kind 'pie' has no plotter; known kinds: \[.*'growth_index'"):
        write(StudyResult(study="a", name="a", tables={}, figures={"x": Chart("pie")}), tmp_path / "a")
    with pytest.raises(ValueError, match=r"document kind 'pdf' \(r.pdf\) has no writer; known kinds: \['regression_"):
        write(StudyResult(study="a", name="a", tables={}, documents={"r.pdf": Document("pdf")}), tmp_path / "b")
    with pytest.raises(TypeError, match="must be a kzmig.studies.base.Chart or a matplotlib Figure, not str"):
        write(StudyResult(study="a", name="a", tables={}, figures={"x": "growth_index"}), tmp_path / "c")


def test_results_are_read_only():
    tables = {"values": TABLE}
    res = StudyResult(study="a", name="a", tables=tables, metadata={"seed": 1})
    tables["other"] = TABLE  # the caller's dict: the result holds its own copy
    assert list(res.tables) == ["values"]
    with pytest.raises(TypeError):
        res.tables["other"] = TABLE  # type: ignore[index]
    with pytest.raises(TypeError):
        res.metadata["seed"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        res.name = "b"  # type: ignore[misc]
    c = chart("growth_index", TABLE, title="t")
    with pytest.raises(TypeError):
        c.kwargs["title"] = "u"  # type: ignore[index]
    stamp = RunStamp("r1", "2026-01-01T00:00:00+00:00")
    with pytest.raises(AttributeError):
        stamp.run_id = "r2"  # type: ignore[misc]
    assert RunStamp.of_folder("/x/runs/demo") == RunStamp("demo", "")


def _declared_kinds() -> set[tuple[str, str]]:
    """(file, kind) of every ``chart("kind", ...)``, ``Chart("kind", ...)`` and ``Document("kind", ...)`` in
    the layers below reporting (studies, and the forecast and model code they call)."""
    found = set()
    for folder in ("kzmig/studies", "forecast", "models", "features"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("chart", "Chart", "Document")
                        and node.args and isinstance(node.args[0], ast.Constant)):
                    found.add((f"{getattr(node.func, 'id')}", str(node.args[0].value)))
    return found


def test_every_declared_chart_and_document_has_a_renderer():
    declared = _declared_kinds()
    assert {"growth_index", "tile_map", "coefficients", "overview"} <= {k for _, k in declared}
    charts = {k for f, k in declared if f in ("chart", "Chart")}
    docs = {k for f, k in declared if f == "Document"}
    assert charts <= set(rr.PLOTTERS), charts - set(rr.PLOTTERS)
    assert docs <= set(rr.DOCUMENTS), docs - set(rr.DOCUMENTS)


def test_composite_results_write_their_parts_into_subfolders(tmp_path):
    from kzmig.studies.predict import PredictResult

    part = StudyResult(study="predict", name="p", tables={"forecasts": TABLE})
    res = PredictResult(name="p-predict", parts={"": part, "forecast/net": part})
    paths = write(res, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == ["forecast/net/forecasts.csv", "forecasts.csv"]
    with pytest.raises(TypeError, match="cannot save a dict"):
        write({"tables": {}}, tmp_path)
    assert json.dumps(res.manifest())  # plain data


def test_a_run_written_without_a_stamp_shows_the_folder_name_and_no_time(tmp_path):
    """``write(run_result, folder)`` outside a run folder: the cover and report name the folder, with no
    creation time (the workbook's own date is then the fixed one), instead of failing."""
    import openpyxl
    from planning_data import synthetic_accuracy, synthetic_forecasts, synthetic_history

    from kzmig.studies.planning import planning_part
    from kzmig.studies.run import RunResult

    forecast = StudyResult(study="forecast", name="f", tables={
        "forecasts": synthetic_forecasts(), "backtest_metrics": synthetic_accuracy(), "history": synthetic_history()})
    parts = {"forecast/f": forecast}
    parts["planning"] = planning_part(type("Cfg", (), {"name": "demo"})(), parts)
    written = write(RunResult(name="demo", parts=parts), tmp_path / "my-run")
    names = {p.relative_to(tmp_path / "my-run").as_posix() for p in written}
    assert {"planning/forecast_tables.xlsx", "planning/forecast_tables.csv", "report.html"} <= names
    assert any(n.startswith("charts/fan_") for n in names)
    cover = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "my-run" / "planning" / "forecast_tables.xlsx")
             ["Титульный лист"].iter_rows(values_only=True) if r and r[0]}  # Russian: the default language
    assert cover["Идентификатор расчёта"] == "my-run"
    html = (tmp_path / "my-run" / "report.html").read_text(encoding="utf-8")
    assert "<dt>идентификатор расчёта</dt><dd>my-run</dd>" in html and "<dt>дата расчёта</dt>" not in html
