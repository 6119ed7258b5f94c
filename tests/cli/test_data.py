from cli_helpers import run_kzmig


def test_data_check_shipped_prints_coverage_and_exits_0():
    res = run_kzmig("data", "check")
    assert res.code == 0, res.text
    assert "net_migration" in res.out and "ok:" in res.out


def test_data_check_bad_file_exits_2_naming_the_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("region,year,variable,value,unit\nakmola,2015,births,-3,persons\n", encoding="utf-8")
    res = run_kzmig("data", "check", p)
    assert res.code == 2
    assert "region='akmola', year=2015" in res.text and "Traceback" not in res.text


def test_data_build_missing_raw_folder_exits_2(tmp_path):
    res = run_kzmig("data", "build", "--raw", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert res.code == 2
    assert "raw file not found" in res.text
    assert not (tmp_path / "o" / "processed" / "observations.csv").exists()
