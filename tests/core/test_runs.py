"""Run folders: staged, locked, renamed into place when complete, marked failed otherwise."""
from __future__ import annotations

import json

import pytest

from kzmig.core.errors import ConfigError
from kzmig.core.runs import RunFolder, read_manifest


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_complete_run_is_renamed_into_place_with_a_complete_manifest(tmp_path):
    with RunFolder(tmp_path / "out", study="demo") as run:
        assert run.path.name.startswith("out.partial-")
        (run.path / "t.csv").write_text("a\n1\n")
        with run.step("write"):
            pass
        run.complete({"config": {"sha256": "x"}})
    assert _names(tmp_path) == ["out"]  # no staging folder, no lock file left
    man = read_manifest(tmp_path / "out")
    assert man["status"] == "complete" and man["study"] == "demo" and man["steps"][0]["step"] == "write"
    assert man["config"] == {"sha256": "x"}


def test_failure_leaves_a_failed_folder_with_the_error_and_no_out(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with RunFolder(tmp_path / "out", study="demo") as run:
            (run.path / "half.csv").write_text("a\n")
            raise RuntimeError("boom")
    (failed,) = tmp_path.iterdir()
    assert failed.name.startswith("out.failed-")
    man = json.loads((failed / "manifest.json").read_text())
    assert man["status"] == "failed" and man["error"] == {"type": "RuntimeError", "message": "boom"}
    with pytest.raises(ConfigError, match="not complete"):
        read_manifest(failed)


def test_existing_non_empty_out_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("old\n")
    with pytest.raises(ConfigError, match=r"out: the folder exists and is not empty.*--overwrite"):
        RunFolder(out, study="demo").__enter__()
    with RunFolder(out, study="demo", overwrite=True) as run:
        (run.path / "new.csv").write_text("new\n")
        run.complete()
    assert _names(out) == ["manifest.json", "new.csv"]
    assert _names(tmp_path) == ["out"]


def test_out_that_is_a_file_or_unwritable_is_a_config_error(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        RunFolder(f, study="demo").__enter__()
    with pytest.raises(ConfigError, match="cannot create the folder"):
        RunFolder(f / "sub" / "out", study="demo").__enter__()


def test_two_runs_into_one_folder_are_impossible(tmp_path):
    with RunFolder(tmp_path / "out", study="demo"):
        with pytest.raises(ConfigError, match="another kzmig run is writing"):
            RunFolder(tmp_path / "out", study="demo").__enter__()


def test_default_ids_do_not_collide_in_the_same_second(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = [RunFolder(study="demo") for _ in range(20)]
    assert len({r.target for r in runs}) == 20
    assert all(r.target.parent == tmp_path / "runs" / "demo" for r in runs)


def test_manifest_lists_file_checksums_and_check_files_finds_changes(tmp_path):
    import hashlib

    from kzmig.core.errors import DataFileError
    from kzmig.core.runs import check_files

    with RunFolder(tmp_path / "out", study="demo") as run:
        (run.path / "t.csv").write_text("a\n1\n")
        (run.path / "sub").mkdir()
        (run.path / "sub" / "u.csv").write_text("b\n2\n")
        (run.path / "run.log").write_text("written until the run closes\n")
        run.complete({})
    out = tmp_path / "out"
    man = read_manifest(out)
    assert man["files"] == {"sub/u.csv": hashlib.sha256(b"b\n2\n").hexdigest(),
                            "t.csv": hashlib.sha256(b"a\n1\n").hexdigest()}  # no manifest, no log
    assert check_files(out, man, ["t.csv", "sub/u.csv", "other.csv"]) == ["other.csv"]  # unlisted: returned
    (out / "t.csv").write_text("a\n2\n")
    with pytest.raises(DataFileError, match=r"t\.csv: sha256 \w+ differs from \w+ in the run's manifest\.json"):
        check_files(out, man, ["t.csv"])
    (out / "sub" / "u.csv").unlink()
    with pytest.raises(DataFileError, match=r"u\.csv: missing; the run's manifest\.json lists it"):
        check_files(out, man, ["sub/u.csv"])


def test_a_failure_that_cannot_be_renamed_is_logged_and_never_looks_complete(tmp_path, monkeypatch, caplog):
    import kzmig.core.runs as runs

    real = runs.os.replace
    monkeypatch.setattr(runs.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("read-only")))
    with pytest.raises(RuntimeError, match="boom"), caplog.at_level("WARNING", logger="kzmig.core.runs"):
        with RunFolder(tmp_path / "out", study="demo"):
            raise RuntimeError("boom")
    monkeypatch.setattr(runs.os, "replace", real)
    assert "could not be marked failed (read-only)" in caplog.text
    (partial,) = tmp_path.glob("out.partial-*")  # the manifest could not be written either (os.replace)
    with pytest.raises(ConfigError, match="no manifest.json|not complete"):
        read_manifest(partial)
