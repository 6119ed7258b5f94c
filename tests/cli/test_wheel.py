"""The built wheel in a fresh virtual environment: one namespace, the dataset as package data,
and the main job run from an empty folder.

This is the slowest test (a wheel build, a virtual environment and an install of the pinned
dependencies from pip's cache, then the main job): about 2 minutes on 2 cores.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

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
    inst = _run([str(py), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)])
    assert inst.returncode == 0, inst.stderr
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
    res = _run([py, "-c", "import kzmig.features.data.dataset as d; print(d.load_panel('harmonised', 2018).shape[0])"],
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) > 300


def test_main_job_runs_from_an_empty_folder(installed, tmp_path):
    env_dir, _ = installed
    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"}
    res = _run([str(env_dir / "bin" / "kzmig"), "run", "--example", "baseline", "--out", "out"], cwd=work, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert '"status": "complete"' in (work / "out" / "manifest.json").read_text()
    for part in ("assessment/population_change.csv", "forecast/net_migration/forecasts.csv",
                 "planning/forecast_tables.xlsx", "report.html"):
        assert (work / "out" / part).stat().st_size > 1_000, part
    assert sorted(p.name for p in work.iterdir()) == ["out"]  # nothing written beside it (no runs/, no logs)
