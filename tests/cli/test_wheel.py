"""The built wheel in a fresh virtual environment: one namespace, the dataset and the example
configs as package data, and a planning run from an empty folder.

The environment gets kzmig from the wheel alone (``pip install --no-deps``); its dependencies are
the ones of the environment running the tests, reached through a ``.pth`` line (a path listed in a
``.pth`` file is put on ``sys.path`` but its own ``.pth`` files are not read, so the checkout's
editable kzmig stays invisible). Installing the pinned dependencies again copied every runtime
dependency (118 s of setup on CI) and tested pip rather than kzmig; that the wheel declares every package
kzmig imports is checked instead by ``test_every_imported_package_is_a_declared_dependency``,
and ``pip check`` in the environment checks the declared ranges against what is installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from cli_helpers import write_mini_run

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("kzmig-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(site) / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    inst = _run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    assert inst.returncode == 0, inst.stderr
    check = _run([str(py), "-m", "pip", "check"])
    assert check.returncode == 0, check.stdout + check.stderr
    return env_dir, wheel


def test_wheel_holds_one_namespace_and_the_dataset(installed):
    import zipfile

    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"kzmig", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert "kzmig/data/processed/observations.csv" in names and "kzmig/data/regions.csv" in names
    assert "kzmig/experiments/net_migration.toml" in names
    assert not any(n.startswith("kzmig/experiments/bench") for n in names)


def test_generic_names_are_not_importable_and_kzmig_is(installed, tmp_path):
    env_dir, _ = installed
    py = str(env_dir / "bin" / "python")
    for generic in ("features", "models", "forecast"):
        res = _run([py, "-c", f"import {generic}"], cwd=tmp_path)
        assert res.returncode != 0 and "ModuleNotFoundError" in res.stderr, generic
    res = _run([py, "-c", "import kzmig; print(kzmig.__file__)"], cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith(str(env_dir)), res.stdout + res.stderr  # the wheel, not the checkout
    res = _run([py, "-c", "import kzmig.features.data.dataset as d; print(d.load_panel('harmonised', 2018).shape[0])"],
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) > 300


def test_shipped_configs_check_from_the_wheel(installed, tmp_path):
    """Every example the wheel ships (the main job's baseline with the study configs and targets
    table it names) resolves and validates from the installed package data."""
    env_dir, _ = installed
    kzmig = str(env_dir / "bin" / "kzmig")
    listed = _run([kzmig, "config", "list"], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    examples = dict(line.split(None, 1) for line in listed.stdout.splitlines() if line.strip())
    assert {"baseline", "net_migration", "external_flows", "migration_factors"} <= set(examples)
    paths = [path.strip() for path in examples.values()]
    for name, path in zip(examples, paths):
        assert path.startswith(str(env_dir)), (name, path)  # from the wheel, not the checkout
    res = _run([kzmig, "config", "check", *paths], cwd=tmp_path)  # one process checks them all
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("ok: ") == len(paths), res.stdout


def test_a_planning_run_runs_from_an_empty_folder(installed, tmp_path, small_regress):
    """A planning run of the installed package on the shipped dataset, started in an empty folder,
    writes its run folder there and nothing else. It is the mini run of test_run.py (seconds); the
    main job itself (4 minutes on 2 cores) is measured by experiments/bench/bench_main_job.py and
    run before each submission, not in the suite (the suite's limit is 10 minutes)."""
    env_dir, _ = installed
    config = write_mini_run(tmp_path, small_regress)
    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    res = _run([str(env_dir / "bin" / "kzmig"), "run", str(config), "--charts", "report", "--out", "out"], cwd=work,
               env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert '"status": "complete"' in (work / "out" / "manifest.json").read_text()
    for part in ("assessment/population_change.csv", "forecast/net_migration/forecasts.csv",
                 "planning/forecast_tables.xlsx", "report.html"):
        assert (work / "out" / part).stat().st_size > 1_000, part
    assert sorted(p.name for p in work.iterdir()) == ["out"]  # nothing written beside it (no runs/, no logs)


def _top_level_imports(folder: Path) -> dict[str, str]:
    """Top-level module of every absolute import under ``folder`` -> one file importing it; imports
    inside a ``try`` whose handler catches ``ImportError`` (optional extras) are left out."""
    import ast

    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    "ImportError" in ast.unparse(h.type or ast.Name("BaseException")) for h in node.handlers):
                optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_a_declared_dependency():
    """What the wheel needs to run is what pyproject.toml declares: every third-party package the
    installed code imports maps (through the installed distributions' file lists) to a declared
    dependency, so the wheel environment above, which borrows its dependencies, proves nothing
    that a clean install would not."""
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {norm(re.match(r"[A-Za-z0-9._-]+", dep).group(0)) for dep in project["dependencies"]}
    owners = packages_distributions()
    imported: dict[str, str] = {}
    for folder in ("kzmig", "features", "models", "forecast"):
        for name, where in _top_level_imports(ROOT / folder).items():
            imported.setdefault(name, where)
    third_party = {n: w for n, w in imported.items() if n not in sys.stdlib_module_names and n not in {"kzmig", "__future__"}}
    assert {"numpy", "pandas", "statsmodels"} <= set(third_party)
    missing = {n: w for n, w in third_party.items() if not {norm(d) for d in owners.get(n, [])} & declared}
    assert not missing, f"imported but not declared in pyproject.toml [project] dependencies: {missing}"
