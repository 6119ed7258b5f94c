"""The data tests that need ../shared/data/raw fail in CI when it is absent and skip, saying why, elsewhere."""
from __future__ import annotations

import pytest
from raw_guard import RAW, require_raw


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_absent_raw_folder_fails_in_ci(tmp_path, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"CI is set but raw statistics not present at .*missing"):
        require_raw(tmp_path / "missing")


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_absent_raw_folder_skips_with_the_claims_named_outside_ci(tmp_path, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"arrivals - departures = official net.*the 265 wage rows"):
        require_raw(tmp_path / "missing")


def test_present_raw_folder_is_returned(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (tmp_path / "SOURCES.md").write_text("x", encoding="utf-8")
    assert require_raw(tmp_path) == tmp_path
    assert RAW.name == "raw" and RAW.parent.name == "data" and RAW.parent.parent.name == "shared"
