"""The manual (docs/, mkdocs.yml) builds with ``mkdocs build --strict``: no missing page, broken link or
anchor, unresolved API object or docstring warning. Offline, a few seconds."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

def nav_pages(nav) -> list[str]:
    """Every Markdown file the nav names, in order."""
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        out += nav_pages(value) if isinstance(value, list) else [value]
    return out


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _build(config_file: Path, site: Path) -> subprocess.CompletedProcess:
    # cwd = the repository root: the snippets (data card, accuracy log) are included from there
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config_file),
                           "-d", str(site)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # Material's banner about MkDocs 2


def test_nav_names_only_pages_that_exist():
    docs = ROOT / _config()["docs_dir"]
    missing = [p for p in nav_pages(_config()["nav"]) if not (docs / p).is_file()]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist: {missing}"


def test_site_builds_strict(tmp_path):
    config_file = ROOT / "mkdocs.yml"
    site = tmp_path / "site"
    res = _build(config_file, site)
    assert res.returncode == 0, res.stderr[-4000:]
    assert (site / "index.html").is_file() and (site / "report.png").is_file()
    # the API reference is generated from the docstrings, the data card included from data/README.md
    api = (site / "api" / "studies" / "index.html").read_text(encoding="utf-8")
    assert "kzmig.studies.run.run" in api and "progress" in api
    # ... and for the folders installed under the namespace (docs/hooks/api_source.py)
    for page, obj in (("features", "kzmig.features.data.panel"), ("models", "kzmig.models.forecasters.scale"),
                      ("forecast", "kzmig.forecast.engine.evaluate")):
        assert obj in (site / "api" / page / "index.html").read_text(encoding="utf-8"), page
    card = (site / "data-card" / "index.html").read_text(encoding="utf-8")
    assert "Data card" in card and "--8&lt;--" not in card and "--8<--" not in card


def test_strict_build_fails_on_a_broken_link(tmp_path):
    """The check has teeth: one page linking to a page that does not exist fails the build."""
    cfg = _config()
    copy = tmp_path / "docs"
    shutil.copytree(ROOT / cfg["docs_dir"], copy)
    (copy / "index.md").write_text((copy / "index.md").read_text(encoding="utf-8")
                                   + "\n[gone](no-such-page.md)\n", encoding="utf-8")
    cfg["docs_dir"] = str(copy)
    cfg["plugins"] = ["search"]  # the link check does not need the API reference; keeps this test quick
    config_file = tmp_path / "mkdocs.yml"
    config_file.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    res = _build(config_file, tmp_path / "site")
    assert res.returncode != 0 and "no-such-page.md" in res.stderr


def test_screenshot_and_main_job_benchmark_are_shown():
    """docs/report.png is shown by the README and the main job's page; the benchmark page quotes the
    script's output together with the machine's load."""
    assert "](docs/report.png)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](../report.png)" in (ROOT / "docs" / "studies" / "run.md").read_text(encoding="utf-8")
    bench = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "bench_main_job.py" in bench and "load average" in bench and "\ntotal " in bench
