from pathlib import Path

from typer.testing import CliRunner

import kzmig.commands.assess as assess_mod
import kzmig.commands.data as data_mod
import kzmig.commands.forecast as forecast_mod
import kzmig.commands.regress as regress_mod
from kzmig.cli import app


def test_all_runs_the_four_stages_in_order_with_their_configs(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(data_mod, "check", lambda path: calls.append(("check", path)))
    monkeypatch.setattr(assess_mod, "assess", lambda **kw: calls.append(("assess", kw["out"], kw["borders"])))
    monkeypatch.setattr(regress_mod, "regress", lambda cfg, out, data: calls.append(("regress", Path(cfg).name, out)))
    monkeypatch.setattr(forecast_mod, "forecast", lambda cfg, out, data: calls.append(("forecast", Path(cfg).name)))
    res = CliRunner().invoke(app, ["all", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert calls == [("check", None), ("assess", tmp_path / "assess", 2018),
                     ("regress", "migration_factors.toml", tmp_path / "regress"), ("forecast", "net_migration.toml")]
    for name in ("migration_factors.toml", "net_migration.toml"):
        assert (Path(__file__).resolve().parents[1] / "experiments" / name).exists()
