"""``kzmig data check`` on Russian-locale files, its --decimal/--thousands options, and ``kzmig data regions`` (issue 22)."""
from cli_helpers import run_kzmig

ISSUE_FILE = ("region;year;variable;value\n"
              "Северо-Казахстанская область;2023;population;530 100\n"
              "Акмолинская область;2023;unemployment_rate_pct;4,7\n")


def _write(tmp_path, text, name="user.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def test_the_issue_file_passes_and_says_how_it_was_read(tmp_path):
    res = run_kzmig("data", "check", _write(tmp_path, ISSUE_FILE))
    assert res.code == 0, res.text
    assert "read as semicolon-separated, decimal comma, thousands separator space" in res.text
    assert "ok: 2 rows" in res.text


def test_decimal_option_settles_an_ambiguous_tab_file(tmp_path):
    p = _write(tmp_path, "region\tyear\tvariable\tvalue\nСКО\t2023\tunemployment_rate_pct\t4,700\n")
    res = run_kzmig("data", "check", p)
    assert res.code == 2 and "Traceback" not in res.text
    assert "--decimal ," in res.text and "--thousands ," in res.text
    res = run_kzmig("data", "check", p, "--decimal", ",")
    assert res.code == 0, res.text
    assert "tab-separated, decimal comma" in res.text


def test_thousands_option(tmp_path):
    p = _write(tmp_path, 'region,year,variable,value\nakmola,2023,population,"736,100"\n')
    res = run_kzmig("data", "check", p, "--thousands", ",")
    assert res.code == 0, res.text
    assert "decimal point, thousands separator comma" in res.text
    p2 = _write(tmp_path, "region;year;variable;value\nakmola;2023;population;736\u00a0100\n", "nbsp.csv")
    assert run_kzmig("data", "check", p2, "--thousands", " ").code == 0
    res = run_kzmig("data", "check", p2, "--thousands", "")
    assert res.code == 2 and r"'736\xa0100' looks like a number" in res.text  # the cell's repr names the NBSP


def test_bad_option_values_exit_2(tmp_path):
    p = _write(tmp_path, ISSUE_FILE)
    res = run_kzmig("data", "check", p, "--decimal", "x")
    assert res.code == 2 and "decimal='x'" in res.text and "Traceback" not in res.text
    res = run_kzmig("data", "check", "--decimal", ",")
    assert res.code == 2 and "apply to a user file" in res.text


def test_three_kinds_of_problem_in_one_run(tmp_path):
    p = _write(tmp_path, "region,year,variable,value\nАкмолинская обл.,2020,population,n/a\n"
                         "Nova oblast,2020,population,1000\nkostanay,2020,births,-5\n")
    res = run_kzmig("data", "check", p)
    assert res.code == 2 and "Traceback" not in res.text
    assert "3 kinds of problem" in res.text
    for kind in ("- unknown regions:", "- non-numeric values:", "- negative counts:"):
        assert kind in res.out + res.err
    assert "`kzmig data regions`" in res.text


def test_data_regions_lists_codes_and_spellings():
    res = run_kzmig("data", "regions")
    assert res.code == 0, res.text
    assert "KZ-59" in res.text and "590000000" in res.text
    assert "north_kazakhstan:" in res.out and "; ско;" in res.out.lower() and "Soltústik Qazaqstan oblysy" in res.out


def test_data_regions_for_one_region_and_an_unknown_one():
    res = run_kzmig("data", "regions", "SKO")
    assert res.code == 0, res.text
    assert "north_kazakhstan:" in res.out and "pavlodar:" not in res.out
    res = run_kzmig("data", "regions", "Pavlodarskya")
    assert res.code == 2 and "closest known: 'pavlodar'" in res.text
