"""The config reference of docs/configs.md is generated from the JSON Schema and kept up to date."""
from __future__ import annotations

from pathlib import Path

from kzmig.config.reference import BEGIN, END, markdown

PAGE = Path(__file__).parents[2] / "docs" / "configs.md"


def test_docs_page_holds_the_generated_reference(tmp_path):
    """The page is what the command writes, run in a fresh process (a test of this process may have
    registered a model of its own, which the reference would then list)."""
    import shutil
    import subprocess
    import sys

    text = PAGE.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    fresh = tmp_path / "configs.md"
    shutil.copy(PAGE, fresh)
    res = subprocess.run([sys.executable, "-m", "kzmig.config.reference", str(fresh)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert fresh.read_text(encoding="utf-8") == text, ("docs/configs.md is stale: run python -m kzmig.config.reference "
                                                       "docs/configs.md")


def test_reference_rows_come_from_the_schema():
    regress = markdown("regress")
    row = next(line for line in regress.splitlines() if line.startswith("| `builders` |"))
    assert '`"density"`' in row and '`"attractiveness"`' in row  # the Literal choices, not "string"
    forecast = markdown("forecast")
    assert "#### backtest" in forecast and "| `horizon` | integer >= 1 and <= 30 | `3` |" in forecast
    assert "| `name` | string matching" in forecast and "required" in forecast
    assert "#### data" in forecast and "| `first_year` | integer >= 1990 and <= 2100 (optional) | `null` |" in forecast


def test_anchor_links_point_at_headings():
    import re

    from kzmig.config.reference import _anchor

    for kind in ("forecast", "regress", "assess", "run"):
        text = markdown(kind)
        anchors = set(re.findall(r"^#### .+ \{#([\w-]+)\}$", text, flags=re.M))
        assert anchors == {_anchor(h) for h in re.findall(r"^#### (.+) \{#", text, flags=re.M)}
        links = set(re.findall(r"\]\(#([^)]+)\)", text))
        assert links <= anchors, (kind, sorted(links - anchors)[:5])
