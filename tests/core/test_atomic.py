"""Atomic writes: rename on success, the suffix kept, nothing left on failure, umask respected, never changed."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pandas as pd
import pytest

from kzmig.core import atomic
from kzmig.core.atomic import atomic_path, atomic_write_csv, atomic_write_text


def test_renamed_onto_the_target_and_suffix_kept(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".table.csv.") and tmp.suffix == ".csv"
        assert tmp.exists() and not target.exists()
        tmp.write_text("a\n1\n")
    assert target.read_text() == "a\n1\n" and os.listdir(target.parent) == ["table.csv"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = atomic_write_text("old", tmp_path / "note.txt")
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_path(target) as tmp:
            tmp.write_text("new, half")
            raise RuntimeError("half-way")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["note.txt"]


def test_a_taken_name_is_never_reused(tmp_path, monkeypatch):
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".x.csv.aaaa.csv").write_text("someone else's")
    with atomic_path(tmp_path / "x.csv") as tmp:
        assert tmp.name == ".x.csv.bbbb.csv"
        tmp.write_text("mine")
    assert (tmp_path / ".x.csv.aaaa.csv").read_text() == "someone else's"


def test_the_process_umask_is_never_touched(tmp_path, monkeypatch):
    def forbidden(*_):
        raise AssertionError("os.umask called")

    monkeypatch.setattr(os, "umask", forbidden)
    atomic_write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "a\n1\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_mode_is_0o666_less_the_umask(tmp_path, umask, mode):
    # in a child process, so that this test does not change the umask of the test run either
    code = (f"import os; os.umask({umask}); from kzmig.core.atomic import atomic_write_text; "
            f"atomic_write_text('x', {str(tmp_path / 'f.txt')!r})")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == mode
