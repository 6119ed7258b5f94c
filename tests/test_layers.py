"""Layers import one way, in the order ``../shared/DESIGN.md`` draws them, with no exception:

    kzmig.cli -> kzmig.reporting -> kzmig.studies -> kzmig.config -> kzmig.forecast
              -> kzmig.models -> kzmig.features -> kzmig.core

A module may import its own layer and any layer below it, never one above. Studies return
data; ``kzmig.reporting`` renders them, so a study never imports reporting.

import-linter cannot see this layout (grimp only walks a top-level package's own folder, and
``kzmig.features``, ``kzmig.models`` and ``kzmig.forecast`` live in top-level folders mapped
into the namespace), so this test reads every import statement of the source, including
imports inside functions and under ``TYPE_CHECKING``, with :mod:`ast`.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT.parent / "shared" / "DESIGN.md"
#: the layers, top first (DESIGN.md, "Layers"): each may import only itself and those after it
ORDER = ("kzmig.cli", "kzmig.reporting", "kzmig.studies", "kzmig.config", "kzmig.forecast", "kzmig.models",
         "kzmig.features", "kzmig.core")
#: package -> source folder (pyproject.toml [tool.setuptools.package-dir])
FOLDERS = {"kzmig.features": "features", "kzmig.models": "models", "kzmig.forecast": "forecast",
           "kzmig.core": "kzmig/core", "kzmig.config": "kzmig/config", "kzmig.reporting": "kzmig/reporting",
           "kzmig.studies": "kzmig/studies", "kzmig.cli": "kzmig/cli"}
#: third-party modules that only the command line may use (the library draws no progress bars)
CLI_ONLY = ("rich", "typer", "click")


def _rank() -> dict[str, int]:
    return {pkg: len(ORDER) - i for i, pkg in enumerate(ORDER)}


def _layer(module: str) -> str | None:
    for pkg in sorted(ORDER, key=len, reverse=True):
        if module == pkg or module.startswith(pkg + "."):
            return pkg
    return None


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                out.append((node.lineno, f"{base}.{node.module}" if node.module else base))
            elif node.module:
                out.append((node.lineno, node.module))
                # ``from kzmig import reporting`` names the layer in the alias
                out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "kzmig"]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))  # importlib.import_module("kzmig.x") counts too
    return out


def _violations() -> list[str]:
    rank, bad = _rank(), []
    for pkg, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            package = ".".join([pkg, *rel.parts[:-1]])
            for line, target in _imports(path, package):
                where = f"{path.relative_to(ROOT)}:{line} imports {target}"
                if target.split(".")[0] in CLI_ONLY and pkg != "kzmig.cli":
                    bad.append(f"{where} (only kzmig.cli may use {target.split('.')[0]})")
                if target.split(".")[0] in ("features", "models", "forecast"):
                    bad.append(f"{where} (a generic top-level name; use kzmig.{target})")
                other = _layer(target)
                if other is None or other == pkg:
                    continue
                if rank[other] > rank[pkg]:
                    bad.append(f"{where} ({pkg} may not import {other}, a layer above it)")
    return bad


def test_layers_import_one_way():
    bad = _violations()
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_checker_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "features"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from kzmig.studies import forecast\n    import rich\n")
    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "render.py").write_text("from kzmig.reporting.charts import plot_fan\n"
                                       "from kzmig import reporting\nimport kzmig.config\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "FOLDERS", {"kzmig.features": "features",
                                                          "kzmig.studies": "studies"})
    found = _violations()
    assert any("kzmig.features may not import kzmig.studies" in v for v in found)
    assert any("only kzmig.cli may use rich" in v for v in found)
    assert sum("kzmig.studies may not import kzmig.reporting" in v for v in found) == 2  # both spellings
    assert not any("kzmig.config" in v for v in found)  # a lower layer is allowed


def test_every_layer_has_a_distinct_rank():
    """No two layers are siblings: the order is a line, as DESIGN.md draws it."""
    assert len(set(ORDER)) == len(ORDER) == len(FOLDERS) and set(ORDER) == set(FOLDERS)


@pytest.mark.skipif(not DESIGN.is_file(), reason="../shared/DESIGN.md is not beside the checkout")
def test_the_order_is_design_md_s():
    text = DESIGN.read_text(encoding="utf-8")
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    drawn = []
    for line in block.splitlines():  # top-level entries only: "kzmig/cli/" or "kzmig.forecast"
        m = re.match(r"^kzmig[/.](\w+)", line)
        if m and f"kzmig.{m.group(1)}" not in drawn:
            drawn.append(f"kzmig.{m.group(1)}")
    assert tuple(drawn) == ORDER


@pytest.mark.parametrize("pkg", sorted(FOLDERS))
def test_every_layer_folder_exists(pkg):
    assert (ROOT / FOLDERS[pkg] / "__init__.py").is_file()
