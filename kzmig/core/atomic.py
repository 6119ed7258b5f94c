"""Write files atomically: to a temporary name in the same folder, then rename.

A crash or a bad input half-way never leaves a half-written output, and a file that was
there before stays intact until the new one is complete. The file gets the usual
permissions (0o666 less the umask): the temporary file is created with mode 0o666 and the
kernel applies the umask, so the process umask is never read or changed. This is the one
place in the project that does it.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only an annotation here: the command line starts without importing pandas
    import pandas as pd

_CREATE = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
_ATTEMPTS = 100


def _create_beside(path: Path) -> Path:
    """Create an empty, new file ``.<name>.<random><suffix>`` in ``path``'s folder and return it.

    ``O_EXCL`` makes the creation fail rather than reuse a file that exists; a collision
    (64 random bits) is retried with another name.
    """
    for _ in range(_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}{path.suffix}")
        try:
            os.close(os.open(tmp, _CREATE, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{path.parent}: no free temporary name for {path.name} after {_ATTEMPTS} attempts.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix, so writers that infer the format from it
    (``to_excel``, ``savefig``) behave as for ``path``. The file is created empty with mode
    0o666 less the umask; on failure it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_beside(path)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """``df.to_csv`` through :func:`atomic_path`, UTF-8, ``\\n`` line endings, no index."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    return atomic_write(path, lambda tmp: df.to_csv(tmp, encoding="utf-8", **kwargs))


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) through :func:`atomic_path`."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
