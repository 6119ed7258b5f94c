"""Tampered model files are refused, and loading them never runs the attacker's code.

Each payload, when unpickled (or built by skops), creates a marker file; every test checks
both that ``load_model`` raises and that the marker does not exist afterwards. Files are
tampered twice: leaving the checksum in ``metadata.json`` (caught by the checksum), and
with the checksum updated as an attacker who can write the folder would (caught by the
format itself: JSON, NPZ without pickles, skops with a trusted list, an allow-list of classes).
"""
from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from skops import io as sio

from kzmig.core.errors import DataFileError
from kzmig.models.registry import make_model
from kzmig.models import persistence
from kzmig.models.forecasters.ensemble import Ensemble
from kzmig.models.persistence import load_model, save_model


class Payload:
    """Unpickling this object calls ``Path.touch(marker)``: what malicious code could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = Path(marker)

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class SkopsPayload:
    """An object that touches its marker when skops restores its state."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state):
        Path(state["marker"]).touch()
        self.__dict__.update(state)


def _series() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [(r, 2000 + t, float(rng.normal(scale=1 + i)), float(rng.normal()))
            for i, r in enumerate("ABC") for t in range(12)]
    return pd.DataFrame(rows, columns=["region", "year", "y", "x"]).astype({"region": "string", "year": "int64"})


@pytest.fixture
def folder(tmp_path) -> Path:
    """A boosting model: it has all three artifact kinds (JSON, NPZ, skops)."""
    est = make_model("boosting", {"max_horizon": 2, "max_iter": 10, "exog": ["x"]}, name="gbm").fit(_series())
    out = save_model(est, tmp_path / "gbm")
    assert sorted(p.name for p in out.iterdir()) == [
        "arrays.npz", "estimators.skops", "metadata.json", "model.json"]
    return out


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PWNED"


def _rehash(folder: Path, name: str) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    meta["artifacts"][name] = persistence.sha256_file(folder / name)
    (folder / "metadata.json").write_text(json.dumps(meta))


def test_the_payloads_are_live(tmp_path):
    """Guard for the tests below: loading the payloads without protection creates the marker."""
    live = tmp_path / "live"
    pickle.loads(pickle.dumps(Payload(live)))
    assert live.exists()
    live_skops = tmp_path / "live-skops"
    sio.dump({"e0": SkopsPayload(live_skops)}, tmp_path / "p.skops")
    sio.load(tmp_path / "p.skops", trusted=[f"{__name__}.SkopsPayload"])  # trusting it runs its code
    assert live_skops.exists()


@pytest.mark.parametrize("name", ["model.json", "arrays.npz", "estimators.skops"])
@pytest.mark.parametrize("rehash", [False, True], ids=["checksum-kept", "checksum-updated"])
def test_pickle_in_place_of_an_artifact_is_refused(folder, marker, name, rehash):
    joblib.dump(Payload(marker), folder / name)
    if rehash:
        _rehash(folder, name)
    expected = {False: "differs from the metadata's", True: {
        "model.json": "not valid JSON", "arrays.npz": "not an NPZ archive of plain arrays",
        "estimators.skops": "not a readable skops file"}[name]}[rehash]
    with pytest.raises(DataFileError, match=rf"{name}: .*{expected}"):
        load_model(folder)
    with pytest.raises(DataFileError, match=name):
        load_model(folder, trusted=True)  # trusted=True never unpickles the safe format's files
    assert not marker.exists()


def test_pickle_in_place_of_the_metadata_is_refused(folder, marker):
    (folder / "metadata.json").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(DataFileError, match=r"metadata\.json: not valid JSON"):
        load_model(folder)
    assert not marker.exists()


def test_npz_holding_a_pickled_object_array_is_refused(folder, marker):
    buf = io.BytesIO()
    np.savez(buf, a0=np.array([Payload(marker)], dtype=object))  # savez pickles object arrays
    (folder / "arrays.npz").write_bytes(buf.getvalue())
    _rehash(folder, "arrays.npz")
    with pytest.raises(DataFileError, match=r"arrays\.npz: holds an array that is not plain data"):
        load_model(folder)
    assert not marker.exists()


def test_edited_arrays_are_refused_by_checksum(folder):
    with np.load(folder / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    key = next(k for k, v in arrays.items() if v.dtype.kind == "f")
    arrays[key] = arrays[key] + 1.0
    with open(folder / "arrays.npz", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(DataFileError, match=r"arrays\.npz: sha256 .* differs from the metadata's"):
        load_model(folder)


def _refused_by_checksum_then(folder: Path, name: str, match: str) -> None:
    """An edited ``name`` is refused by its checksum; with the checksum updated, by ``match``."""
    with pytest.raises(DataFileError, match=rf"{re.escape(name)}: sha256 .* differs"):
        load_model(folder)
    _rehash(folder, name)
    with pytest.raises(DataFileError, match=match):
        load_model(folder)


def _edit_model_json(folder: Path, edit) -> None:
    doc = json.loads((folder / "model.json").read_text())
    edit(doc)
    (folder / "model.json").write_text(json.dumps(doc))


def test_edited_class_name_is_refused(folder):
    _edit_model_json(folder, lambda d: d["model"].update({"class": "os.system"}))
    _refused_by_checksum_then(folder, "model.json",
                              r"model\.json: cannot rebuild the model: class 'os\.system' is not in the allow-list")


def test_edited_nested_class_names_are_refused(tmp_path):
    members = [("naive", make_model("naive", name="naive")), ("drift", make_model("drift", name="drift"))]
    run = save_model(Ensemble(members, name="ens").fit(_series()), tmp_path / "ens")
    text = (run / "model.json").read_text()
    for old, new in [("kzmig.models.forecasters.baselines.Drift", "builtins.eval"),
                     ("kzmig.models.forecasters.baselines.Naive", "subprocess.Popen")]:
        (run / "model.json").write_text(text.replace(old, new))
        _rehash(run, "model.json")
        with pytest.raises(DataFileError, match=rf"class '{new}' is not in the allow-list"):
            load_model(run)


def test_edited_result_class_is_refused(panel, tmp_path):
    from kzmig.models.panel import PooledOLSMigration

    run = save_model(PooledOLSMigration("y", ["x1"]).fit(panel), tmp_path / "ols")
    text = (run / "model.json").read_text().replace("kzmig.models.panel.results.PanelResult", "pickle.loads")
    (run / "model.json").write_text(text)
    _rehash(run, "model.json")
    with pytest.raises(DataFileError, match=r"class 'pickle\.loads' is not in the allow-list"):
        load_model(run)


def test_unknown_format_and_mismatched_class_are_refused(folder):
    _edit_model_json(folder, lambda d: d.update({"format_version": 99}))
    _rehash(folder, "model.json")
    with pytest.raises(DataFileError, match=r"format version 99; this kzmig reads version 1"):
        load_model(folder)
    _edit_model_json(folder, lambda d: d.update({"format_version": 1}))
    _rehash(folder, "model.json")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["model_class"] = "kzmig.models.forecasters.baselines.Naive"
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DataFileError, match=r"holds kzmig\.models\.forecasters\.boosting\.GradientBoosting, while"):
        load_model(folder)


@pytest.mark.parametrize("how", ["drop-one", "drop-all", "extra-file"])
def test_missing_checksums_are_refused(folder, how):
    meta = json.loads((folder / "metadata.json").read_text())
    if how == "drop-one":
        del meta["artifacts"]["arrays.npz"]
        match = r"arrays\.npz: metadata\.json holds no sha256 for this file"
    elif how == "drop-all":
        del meta["artifacts"]
        match = r"metadata\.json: no 'artifacts' checksums"
    else:
        meta["artifacts"]["payload.pkl"] = "0" * 64
        match = r"lists unknown model files \['payload\.pkl'\]"
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DataFileError, match=match):
        load_model(folder)


def test_skops_file_with_an_untrusted_type_is_refused(folder, marker):
    est = sio.load(folder / "estimators.skops", trusted=list(persistence.SKOPS_TRUSTED))
    est["e99"] = SkopsPayload(marker)
    sio.dump(est, folder / "estimators.skops")
    assert f"{__name__}.SkopsPayload" in sio.get_untrusted_types(file=folder / "estimators.skops")
    _refused_by_checksum_then(folder, "estimators.skops", rf"estimators\.skops: holds types outside the trusted "
                                                          rf"list: \['{__name__}\.SkopsPayload'\]")
    assert not marker.exists()


def _legacy_save(model, folder: Path, payload: bytes | None = None) -> Path:
    """A model folder as earlier kzmig versions wrote it: a joblib pickle and its checksum."""
    folder.mkdir(parents=True)
    art = folder / "model.joblib"
    joblib.dump(model, art)
    meta = {"versions": persistence.versions(), "feature_names": list(model.feature_names_),
            "model_class": persistence.class_name(model), "artifact": "model.joblib",
            "artifact_sha256": persistence.sha256_file(art)}
    if payload is not None:
        art.write_bytes(payload)
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_legacy_joblib_loads_only_with_trusted(tmp_path):
    est = make_model("theta", name="theta").fit(_series())
    run = _legacy_save(est, tmp_path / "legacy")
    with pytest.raises(DataFileError, match=r"model\.joblib: a pickle \(joblib\) model file .* "
                                            r"load_model\(folder, trusted=True\)"):
        load_model(run)
    loaded = load_model(run, trusted=True)
    pd.testing.assert_frame_equal(loaded.predict(3), est.predict(3), check_exact=True)
    save_model(loaded, run)  # re-saving converts the folder to the safe format
    assert not (run / "model.joblib").exists()
    pd.testing.assert_frame_equal(load_model(run).predict(3), est.predict(3), check_exact=True)


def test_malicious_legacy_joblib_is_refused(tmp_path, marker):
    est = make_model("naive", name="naive").fit(_series())
    run = _legacy_save(est, tmp_path / "legacy", payload=pickle.dumps(Payload(marker)))
    with pytest.raises(DataFileError, match=r"model\.joblib: a pickle .* refuses it"):
        load_model(run)
    assert not marker.exists()
    with pytest.raises(DataFileError, match=r"model\.joblib: sha256 .* differs"):
        load_model(run, trusted=True)  # even trusted, a changed pickle is never opened
    assert not marker.exists()
    meta = json.loads((run / "metadata.json").read_text())
    del meta["artifact_sha256"]
    (run / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DataFileError, match=r"model\.joblib: metadata\.json holds no sha256"):
        load_model(run, trusted=True)
    assert not marker.exists()
    # what trusted=True means: with a matching checksum the pickle runs, which is why it is opt-in
    meta["artifact_sha256"] = persistence.sha256_file(run / "model.joblib")
    (run / "metadata.json").write_text(json.dumps(meta))
    load_model(run, trusted=True)
    assert marker.exists()
