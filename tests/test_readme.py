"""The README's and the manual's Python examples run as written, and the README's two commands are the
ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: the README and every page of the manual (docs/**/*.md); an example shown on two pages runs once
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(pages: list[Path]) -> dict[str, str]:
    """Each distinct ```python block -> where it first appears (``page block N``)."""
    blocks: dict[str, str] = {}
    for page in pages:
        found = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M)
        for i, block in enumerate(found):
            blocks.setdefault(block, f"{page.relative_to(ROOT)} python block {i + 1}")
    return blocks


BLOCKS = python_blocks(PAGES)


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).splitlines()
    assert first[0].startswith("# main job") and "kzmig run experiments/baseline.toml" in first[1]
    assert first[2] == "# tests" and first[3].endswith("-m pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "# tests" in ci and "README.md" in ci


def test_readme_has_a_python_example_and_stays_short():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^```python\n", text, flags=re.M), "the README keeps one Python example"
    assert len(text.splitlines()) <= 210, "the README is the front door (about 200 lines); the manual is docs/"


def test_examples_are_found_in_the_manual_too():
    where = list(BLOCKS.values())
    assert any(w.startswith("README.md") for w in where) and any(w.startswith("docs") for w in where)


@pytest.mark.parametrize("block", list(BLOCKS), ids=list(BLOCKS.values()))
def test_python_example_runs(block, capsys):
    exec(compile(block, BLOCKS[block], "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints what it computed
