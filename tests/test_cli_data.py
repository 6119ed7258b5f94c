from typer.testing import CliRunner

from kzmig.cli import app

runner = CliRunner()


def test_data_check_shipped_prints_coverage_and_exits_0():
    res = runner.invoke(app, ["data", "check"])
    assert res.exit_code == 0, res.output
    assert "net_migration" in res.output and "ok:" in res.output


def test_data_check_bad_file_exits_1_naming_the_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("region,year,variable,value,unit\nakmola,2015,births,-3,persons\n", encoding="utf-8")
    res = runner.invoke(app, ["data", "check", str(p)])
    assert res.exit_code == 1
    assert "region='akmola', year=2015" in res.output.replace("\n", "")


def test_data_build_missing_raw_folder_exits_1(tmp_path):
    res = runner.invoke(app, ["data", "build", "--raw", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "raw file not found" in res.output.replace("\n", "")
    assert not (tmp_path / "o" / "processed" / "observations.csv").exists()
