"""Where a result came from: file hashes, library versions and the git state of the code."""
from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path

#: Distributions whose versions are stamped into manifests and model metadata.
PACKAGES = ("kzmig", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "scikit-learn",
            "skops", "joblib", "pydantic")
#: the source checkout, when kzmig runs from one (an installed wheel has no git state)
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Installed versions of Python and of :data:`PACKAGES` ("absent" when not installed)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _git(args: list[str], repo: Path) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                          timeout=10).stdout.strip()


def git_state(repo: Path = SOURCE_ROOT) -> tuple[str | None, bool | None]:
    """(commit sha, dirty flag) of the source checkout kzmig runs from, or (None, None).

    Only a work tree whose top level is ``repo`` counts: a wheel installed into a virtual
    environment that happens to sit inside some other git work tree reports no git state.
    """
    try:
        if Path(_git(["rev-parse", "--show-toplevel"], repo)).resolve() != Path(repo).resolve():
            return None, None
        sha = _git(["rev-parse", "HEAD"], repo)
        dirty = _git(["status", "--porcelain", "--untracked-files=no"], repo) != ""
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha, dirty
