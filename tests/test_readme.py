"""The README's Python examples run as written, and its two commands are the ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).splitlines()
    assert first[0].startswith("# main job") and "kzmig run experiments/baseline.toml" in first[1]
    assert first[2] == "# tests" and first[3].endswith("-m pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "# tests" in ci and "README.md" in ci


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_python_example_runs(i, capsys):
    exec(compile(BLOCKS[i], f"README.md python block {i + 1}", "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints what it computed
