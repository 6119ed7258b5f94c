"""Layers import one way: cli -> studies -> reporting | config -> forecast -> models -> features -> core.

import-linter cannot see this layout (grimp only walks a top-level package's own folder, and
``kzmig.features``, ``kzmig.models`` and ``kzmig.forecast`` live in top-level folders mapped
into the namespace), so this test reads every import statement of the source, including
imports inside functions, with :mod:`ast`.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: package -> source folder (pyproject.toml [tool.setuptools.package-dir])
FOLDERS = {"kzmig.features": "features", "kzmig.models": "models", "kzmig.forecast": "forecast",
           "kzmig.core": "kzmig/core", "kzmig.config": "kzmig/config", "kzmig.reporting": "kzmig/reporting",
           "kzmig.studies": "kzmig/studies", "kzmig.cli": "kzmig/cli"}
#: higher may import lower; equal rank (siblings) may not import each other unless same package
RANK = {"kzmig.core": 0, "kzmig.features": 1, "kzmig.models": 2, "kzmig.forecast": 3,
        "kzmig.config": 4, "kzmig.reporting": 4, "kzmig.studies": 5, "kzmig.cli": 6}
#: third-party modules that only the command line may use (the library draws no progress bars)
CLI_ONLY = ("rich", "typer", "click")


def _layer(module: str) -> str | None:
    for pkg in sorted(RANK, key=len, reverse=True):
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
    return out


def _violations() -> list[str]:
    bad = []
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
                if RANK[other] >= RANK[pkg]:
                    bad.append(f"{where} ({pkg} may not import {other})")
    return bad


def test_layers_import_one_way():
    bad = _violations()
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_checker_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "features"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from kzmig.studies import forecast\n    import rich\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "FOLDERS", {"kzmig.features": "features"})
    found = _violations()
    assert any("kzmig.features may not import kzmig.studies" in v for v in found)
    assert any("only kzmig.cli may use rich" in v for v in found)


@pytest.mark.parametrize("pkg", sorted(FOLDERS))
def test_every_layer_folder_exists(pkg):
    assert (ROOT / FOLDERS[pkg] / "__init__.py").is_file()
