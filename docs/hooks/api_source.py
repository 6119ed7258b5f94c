"""MkDocs hook: let mkdocstrings (griffe) see kzmig's installed layout.

kzmig installs its top-level folders ``features/``, ``models/`` and ``forecast/`` as
``kzmig.features``, ``kzmig.models`` and ``kzmig.forecast`` (setuptools ``package-dir``), a
mapping griffe cannot read from the source tree. Before the build this hook lays out
``build/api_source/kzmig/`` (beside ``mkdocs.yml``) as symbolic links to the folders the installed
package is made of, found with :func:`importlib.util.find_spec`, and ``mkdocs.yml`` points the
python handler at ``build/api_source``: the API pages are read from the sources as they are.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from mkdocs.plugins import event_priority

MAPPED = ("features", "models", "forecast")


def _folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"docs/hooks/api_source.py: package {name!r} is not installed (pip install -e .)")
    return Path(list(spec.submodule_search_locations)[0])


@event_priority(100)  # before mkdocstrings reads its search paths
def on_config(config, **kwargs):
    pkg = Path(config["config_file_path"]).resolve().parent / "build" / "api_source" / "kzmig"
    if pkg.parent.exists():
        shutil.rmtree(pkg.parent)
    pkg.mkdir(parents=True)
    top = _folder("kzmig")
    for entry in top.iterdir():
        if entry.name != "__pycache__" and entry.name not in MAPPED:
            (pkg / entry.name).symlink_to(entry)
    for name in MAPPED:
        (pkg / name).symlink_to(_folder(f"kzmig.{name}"), target_is_directory=True)
    return config
