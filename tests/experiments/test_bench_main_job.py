"""bench_main_job.py's step table, on a made-up manifest (no planning run in the test)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "bench" / "bench_main_job.py"
spec = importlib.util.spec_from_file_location("bench_main_job", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

#: a FAKE manifest, shaped like a run folder's: the run's steps, then the folder's own (save)
MANIFEST = {
    "status": "complete",
    "run_steps": [{"step": "assessment", "started_at": "2026-12-07T01:00:00+00:00", "seconds": 2.5},
                  {"step": "forecast/net_migration", "started_at": "2026-12-07T01:00:03+00:00", "seconds": 40.0},
                  {"step": "planning", "started_at": "2026-12-07T01:00:43+00:00", "seconds": 7.5}],
    "steps": [{"step": "save", "started_at": "2026-12-07T01:00:50+00:00", "seconds": 30.0}],
}
CPU = {"assessment": 2.0, "forecast/net_migration": 76.0, "planning": 7.0, "save": 29.0}


def test_rows_per_step_and_total_by_hand():
    rows = bench.step_rows(MANIFEST, CPU, reference_cpu=4.0)
    assert [r["step"] for r in rows] == ["assessment", "forecast/net_migration", "planning", "save", "total"]
    total = rows[-1]
    assert total["wall"] == pytest.approx(2.5 + 40 + 7.5 + 30)          # 80 s
    assert total["cpu"] == pytest.approx(2 + 76 + 7 + 29)                # 114 s
    assert total["cores"] == pytest.approx(114 / 80)
    assert total["norm"] == pytest.approx(114 / 4)
    fc = rows[1]
    assert fc["share"] == pytest.approx(40 / 80) and fc["cores"] == pytest.approx(1.9) and fc["norm"] == pytest.approx(19)


def test_table_text():
    text = bench.format_table(bench.step_rows(MANIFEST, CPU, reference_cpu=4.0))
    lines = text.splitlines()
    assert lines[0].split() == ["step", "wall", "s", "CPU", "s", "CPU/wall", "share", "norm"]
    fc = next(line for line in lines if line.startswith("forecast/net_migration")).split()
    assert fc == ["forecast/net_migration", "40.0", "76.0", "1.90", "50", "%", "19.0"]
    total = lines[-1].split()
    assert total == ["total", "80.0", "114.0", "1.43", "100", "%", "28.5"]
    assert len({len(line) for line in lines}) == 1  # aligned columns


def test_wall_only_without_measurements_and_empty_manifest_refused():
    rows = bench.step_rows(MANIFEST)
    assert rows[-1]["cpu"] is None and rows[-1]["norm"] is None and rows[-1]["wall"] == pytest.approx(80)
    save = next(line for line in bench.format_table(rows).splitlines() if line.startswith("save")).split()
    assert save == ["save", "30.0", "-", "-", "38", "%", "-"]
    with pytest.raises(ValueError, match="no run_steps"):
        bench.step_rows({"status": "complete"})


def test_manifest_option_prints_the_table_of_a_run_folder(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    res = subprocess.run([sys.executable, str(SCRIPT), "--manifest", str(tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert res.stdout.splitlines()[-1].split()[:2] == ["total", "80.0"]


def test_charts_option_reaches_the_run_config(tmp_path, monkeypatch):
    """``--charts report`` measures the run with ``[run] charts = "report"`` (the study and the save are
    stand-ins here, which write the made-up manifest)."""
    import kzmig.reporting
    import kzmig.studies

    seen = []

    def run_stand_in(cfg, progress=None):
        seen.append(cfg)
        return "result"

    def save_stand_in(result, folder, overwrite=False):
        Path(folder).mkdir(parents=True)
        (Path(folder) / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
        return Path(folder)

    monkeypatch.setattr(kzmig.studies, "run", run_stand_in)
    monkeypatch.setattr(kzmig.reporting, "save", save_stand_in)
    baseline = SCRIPT.parents[1] / "baseline.toml"
    for charts, out in (("report", "a"), (None, "b")):
        assert bench.main(["--config", str(baseline), "--out", str(tmp_path / out), "--no-reference",
                           *(["--charts", charts] if charts else [])]) == 0
    assert [cfg.run.charts for cfg in seen] == ["report", "all"]
