"""Targets whose indicator the run does not forecast: a misspelling is an error, a new one is listed (issue 22)."""
from types import SimpleNamespace

import pandas as pd
import pytest

from kzmig.core.errors import DataError
from kzmig.forecast.planning.target_names import check_indicators, closest_indicator, unanswerable_note

ANSWERABLE = ["net_migration", "population", "unemployment_rate_pct", "resettled_persons_regional_program"]


def _targets(*indicators):
    return pd.DataFrame({"indicator": list(indicators), "region": "north_kazakhstan",
                         "year": range(2026, 2026 + len(indicators)), "value": 0.0})


@pytest.mark.parametrize(("name", "closest"), [
    ("net_migraton", "net_migration"), ("net_migratoin", "net_migration"), ("Net_Migration ", "net_migration"),
    ("populaton", "population"), ("migration_balance", "net_migration"), ("сальдо миграции", "net_migration"),
    ("unemployment rate", "unemployment_rate_pct"),
])
def test_misspelling_or_synonym_names_the_closest(name, closest):
    assert closest_indicator(name, ANSWERABLE) == closest
    with pytest.raises(DataError, match=rf"targets t.csv, column 'indicator': 1 indicator.*{name!r} \(row 3, "
                       rf"region 'north_kazakhstan', year 2027\) -> .*{closest!r}"):
        check_indicators(_targets("population", name), ANSWERABLE, source="t.csv")


def test_a_new_indicator_is_returned_not_raised():
    assert check_indicators(_targets("foreign_students", "population"), ANSWERABLE) == ["foreign_students"]
    assert closest_indicator("foreign_students", ANSWERABLE) is None


def test_the_note_lists_what_the_run_answers():
    assert unanswerable_note(["population", "net_migration"]) == "this run can answer: net_migration, population"
    assert unanswerable_note([]) == "this run answers no indicator"
    assert unanswerable_note([f"v{i:02d}" for i in range(15)], limit=3) == "this run can answer: v00, v01, v02 and 12 more"


def test_target_part_rejects_a_misspelt_indicator_and_lists_a_new_one(tmp_path):
    from kzmig.studies.base import StudyResult
    from kzmig.studies.data import open_data
    from kzmig.studies.targets import target_part

    source = open_data(None)
    # a made-up forecast of one indicator: the run forecasts net_migration only
    fc = pd.DataFrame({"target": "net_migration", "region": "north_kazakhstan", "year": [2030, 2030],
                       "origin_year": 2024, "model": "m", "point": -1000.0, "lower": [-3000.0, -4000.0],
                       "upper": [1000.0, 2000.0], "level": [0.8, 0.95], "selected": True})
    parts = {"forecast": StudyResult(study="forecast", name="f", tables={"forecasts": fc})}
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,region,year,value,direction,measure,source\n"
                   "net_migraton,north_kazakhstan,2030,0,at_least,level,illustration\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'net_migraton' \(row 2, region 'north_kazakhstan', year 2030\) -> "
                                        r"closest indicator of this run: 'net_migration'"):
        target_part(SimpleNamespace(targets=bad, name="t"), source, parts)
    # the shipped data hold foreign students by two definitions: a bare name is not one of them
    bare = tmp_path / "bare.csv"
    bare.write_text("indicator,region,year,value,direction,measure,source\n"
                    "foreign_students,kazakhstan,2029,150000,at_least,level,illustration\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'foreign_students' .* closest indicator of this run: 'foreign_students_"):
        target_part(SimpleNamespace(targets=bare, name="t"), source, parts)
    new = tmp_path / "new.csv"
    new.write_text("indicator,region,year,value,direction,measure,source\n"
                   "doctoral_graduates,kazakhstan,2029,150000,at_least,level,illustration\n", encoding="utf-8")
    res = target_part(SimpleNamespace(targets=new, name="t"), source, parts)
    assert res.tables["target_probabilities"]["status"].iloc[0].startswith("not answerable")
    assert res.warnings == ("target doctoral_graduates / kazakhstan / 2029: not answerable by this run "
                            "(this run can answer: net_migration)",)
