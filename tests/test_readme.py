"""The README's and the manual's Python examples run as written, and the README's two commands are the
ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from registry_guard import models_registered_here_removed

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: the README and every page of the manual (docs/**/*.md); an example shown on two pages runs once
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a page, in order."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M)


#: every page with a Python example; a page's blocks run in order in one namespace (later blocks
#: of a worked example use what the earlier ones defined). A ```py block is a fragment to paste into a
#: file (a line of a registry), shown but not run.
EXAMPLES = {str(p.relative_to(ROOT)): python_blocks(p) for p in PAGES if python_blocks(p)}


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).splitlines()
    assert first[0].startswith("# main job") and "kzmig run experiments/baseline.toml" in first[1]
    assert first[2] == "# tests" and first[3].endswith("-m pytest -n auto --dist loadfile")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "# tests" in ci and "README.md" in ci


def test_readme_has_a_python_example_and_stays_short():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^```python\n", text, flags=re.M), "the README keeps one Python example"
    assert len(text.splitlines()) <= 210, "the README is the front door (about 200 lines); the manual is docs/"


def test_examples_are_found_in_the_manual_too():
    assert "README.md" in EXAMPLES and any(page.startswith("docs") for page in EXAMPLES)


@pytest.mark.parametrize("page", list(EXAMPLES))
def test_python_examples_run(page, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that saves a run writes it here, not into the checkout
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # the shipped configs, as from the root
    namespace: dict = {}
    with models_registered_here_removed():  # an example that registers a model (architecture.md) leaves none
        for i, block in enumerate(EXAMPLES[page]):
            exec(compile(block, f"{page} python block {i + 1}", "exec"), namespace)
            if "print(" in block:  # an example that shows a result prints it
                assert capsys.readouterr().out.strip(), f"{page} python block {i + 1} printed nothing"
