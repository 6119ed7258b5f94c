"""experiments/bench/mutation.py: its workspace, its table and its options (no mutmut run here)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "bench" / "mutation.py"


def _load():
    spec = importlib.util.spec_from_file_location("mutation_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_help_from_another_folder_and_unknown_module(tmp_path):
    res = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("usage:") and "--max-children" in res.stdout
    res = subprocess.run([sys.executable, str(SCRIPT), "forecast/nope.py"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 2 and "unknown module(s) ['forecast/nope.py']; choose from" in res.stderr


def test_workspace_is_laid_out_as_installed_and_restricted_to_the_module(tmp_path):
    m = _load()
    ws = tmp_path / "ws"
    m.make_workspace(ws, "forecast/engine/conformal.py", m.MODULES["forecast/engine/conformal.py"], 1)
    assert (ws / "src" / "kzmig" / "forecast" / "engine" / "conformal.py").read_bytes() == \
        (m.ROOT / "forecast" / "engine" / "conformal.py").read_bytes()
    assert (ws / "src" / "kzmig" / "core" / "errors.py").is_file() and (ws / "tests" / "conftest.py").is_file()
    cfg = tomllib.loads((ws / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert cfg["only_mutate"] == ["src/kzmig/forecast/engine/conformal.py"]
    assert cfg["pytest_add_cli_args_test_selection"] == ["tests/forecast/test_evaluate_conformal.py"]
    for module, tests in m.MODULES.items():  # every module and test file named exists
        assert (m.ROOT / module).is_file(), module
        assert all((m.ROOT / t).is_file() for t in tests), module


def test_table_rows_are_replaced_per_module_between_the_markers(tmp_path):
    m = _load()
    page = tmp_path / "mutation.md"
    page.write_text(f"# title\n\n{m.START}\nold\n{m.END}\n\nafter\n", encoding="utf-8")
    first = {"module": "forecast/engine/conformal.py", "tests": ["tests/forecast/test_evaluate_conformal.py"],
             "seconds": 120.0, "counts": {"killed": 10, "survived": 2, "timeout": 1, "suspicious": 1}}
    m.write_table(page, [first])
    m.write_table(page, [{**first, "module": "models/forecasters/scale.py", "counts": {"killed": 3}}])
    m.write_table(page, [{**first, "counts": {"killed": 12}}])  # a rerun replaces the module's row
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# title\n") and text.endswith("\n\nafter\n") and "old" not in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == ["| `models/forecasters/scale.py` | `test_evaluate_conformal.py` | 3 | 3 | 0 | 0 | 0 | 0 | 2.0 |",
                    "| `forecast/engine/conformal.py` | `test_evaluate_conformal.py` | 12 | 12 | 0 | 0 | 0 | 0 | 2.0 |"]
