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


def test_data_check_knows_the_wage_and_its_range(tmp_path):
    p = tmp_path / "wages.csv"
    # a wage in thousand KZT under the KZT variable: outside the plausible 5,000-3,000,000 per month
    p.write_text("region,year,variable,value\npavlodar,2020,avg_wage_kzt,213.5\npavlodar,2021,avg_wage_kzt,250000\n",
                 encoding="utf-8")
    res = run_kzmig("data", "check", p)
    assert res.code == 2 and "Traceback" not in res.text
    assert "region='pavlodar', year=2020, variable='avg_wage_kzt', value=213.5 not in [5000, 3e+06]" in res.text
    p.write_text("region,year,variable,value\npavlodar,2020,avg_wage_kzt,213500\n", encoding="utf-8")
    assert run_kzmig("data", "check", p).code == 0
