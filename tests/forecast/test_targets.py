"""Target probabilities: exact at the stored quantiles, and against a seeded simulation."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from kzmig.forecast.engine.distribution import sd_of_sum, split_normal_cdf
from kzmig.forecast.planning.targets import read_targets, target_probability

Z80, Z95 = 1.2815515655446004, 1.959963984540054  # standard-normal quantiles 0.90 and 0.975


def _fc(points=(100.0, 120.0, 150.0), sd_lo=(10.0, 15.0, 20.0), sd_hi=(10.0, 15.0, 20.0), levels=(0.8, 0.95)):
    rows = []
    for k, (p, lo, hi) in enumerate(zip(points, sd_lo, sd_hi), start=1):
        for lev in levels:
            z = Z80 if lev == 0.8 else Z95
            rows.append(("m", "astana", 2024, 2024 + k, p, p - z * lo, p + z * hi, lev))
    return pd.DataFrame(rows, columns=["model", "region", "origin_year", "year", "point", "lower", "upper", "level"])


def _target(value, year=2027, **kw):
    return pd.DataFrame([{"target": "t", "region": "astana", "year": year, "value": value, **kw}])


def test_probability_is_exact_at_stored_bounds():
    fc = _fc()
    upper80 = fc[(fc.year == 2027) & (fc.level == 0.8)].upper.iloc[0]
    lower95 = fc[(fc.year == 2027) & (fc.level == 0.95)].lower.iloc[0]
    assert target_probability(fc, _target(upper80)).probability.iloc[0] == pytest.approx(0.10, abs=1e-12)
    assert target_probability(fc, _target(lower95)).probability.iloc[0] == pytest.approx(0.975, abs=1e-12)
    assert target_probability(fc, _target(150.0)).probability.iloc[0] == pytest.approx(0.5, abs=1e-12)
    at_most = target_probability(fc, _target(lower95, direction="at_most")).probability.iloc[0]
    assert at_most == pytest.approx(0.025, abs=1e-12)


def test_skewed_interval_keeps_both_bounds_as_quantiles():
    fc = _fc(sd_lo=(5.0, 5.0, 5.0), sd_hi=(30.0, 30.0, 30.0), levels=(0.8,))
    row = fc[fc.year == 2026].iloc[0]
    assert target_probability(fc, _target(row.upper, year=2026)).probability.iloc[0] == pytest.approx(0.1, abs=1e-12)
    got = target_probability(fc, _target(row.lower, year=2026, direction="at_most")).probability.iloc[0]
    assert got == pytest.approx(0.1, abs=1e-12)


def test_cumulative_comonotone_quantiles_add():
    fc = _fc(levels=(0.8,))
    total_upper = fc.upper.sum()
    out = target_probability(fc, _target(total_upper, measure="cumulative"), rho=1.0)
    assert out.point.iloc[0] == pytest.approx(370.0)
    assert out.probability.iloc[0] == pytest.approx(0.10, abs=1e-12)


def test_cumulative_independent_matches_seeded_simulation():
    fc = _fc(levels=(0.95,))
    value = 400.0
    got = target_probability(fc, _target(value, measure="cumulative"), rho=0.0).probability.iloc[0]
    rng = np.random.default_rng(42)
    draws = rng.normal([100.0, 120.0, 150.0], [10.0, 15.0, 20.0], size=(400_000, 3)).sum(axis=1)
    assert got == pytest.approx((draws >= value).mean(), abs=0.003)


def test_one_row_per_model_and_origin():
    fc = pd.concat([_fc(), _fc().assign(model="other", point=lambda d: d.point + 1000,
                                        lower=lambda d: d.lower + 1000, upper=lambda d: d.upper + 1000)])
    out = target_probability(fc, _target(500.0))
    assert out.set_index("model").probability.round(6).to_dict() == {"m": 0.0, "other": 1.0}
    only = target_probability(fc, _target(500.0, model="other"))
    assert only.model.tolist() == ["other"]


def test_no_interval_gives_nan_and_a_warning(caplog):
    fc = _fc(levels=(0.8,)).assign(lower=np.nan, upper=np.nan, level=np.nan)
    with caplog.at_level(logging.WARNING, logger="kzmig.forecast.planning.targets"):
        out = target_probability(fc, _target(100.0))
    assert out.probability.isna().all()
    assert "1 target probabilities are NaN" in caplog.text


def test_sd_of_sum_hand_values():
    assert sd_of_sum(np.array([3.0, 4.0]), 0.0) == pytest.approx(5.0)
    assert sd_of_sum(np.array([3.0, 4.0]), 1.0) == pytest.approx(7.0)
    assert sd_of_sum(np.array([3.0, 4.0]), 0.5) == pytest.approx(np.sqrt(37.0))


def test_row_scales_rejects_bounds_on_the_wrong_side():
    from kzmig.forecast.engine.distribution import row_scales

    fc = _fc()
    fc.loc[2, "lower"] = 1e6
    with pytest.raises(ValueError, match=r"interval does not contain the point for \(model='m', region='astana', year=2026\)"):
        row_scales(fc)
    with pytest.raises(ValueError, match=r"interval level\(s\) \[80\.0\] are not fractions in \(0, 1\)"):
        row_scales(_fc(levels=(0.8,)).assign(level=80.0))


def test_split_normal_cdf_is_continuous_and_monotone():
    x = np.linspace(-50, 50, 201)
    f = split_normal_cdf(x, 0.0, 5.0, 20.0)
    assert (np.diff(f) >= 0).all() and f[100] == pytest.approx(0.5)


# ---------------------------------------------------------------- error paths
def test_year_not_covered_lists_years():
    with pytest.raises(ValueError, match=r"target 't' \(region='astana', year=2030\).*no year\(s\) \[2030\]; it covers \[2025, 2026, 2027\]"):
        target_probability(_fc(), _target(1.0, year=2030))


def test_unknown_direction_and_measure():
    with pytest.raises(ValueError, match=r"direction='above' is not supported by target 't'; choose one of 'at_least', 'at_most'"):
        target_probability(_fc(), _target(1.0, direction="above"))
    with pytest.raises(ValueError, match=r"measure='total'.*'cumulative', 'level'"):
        target_probability(_fc(), _target(1.0, measure="total"))


def test_region_without_forecast_and_missing_columns():
    with pytest.raises(ValueError, match=r"no forecast for region='abai'; forecast regions: \['astana'\]"):
        target_probability(_fc(), pd.DataFrame([{"target": "t", "region": "abai", "year": 2027, "value": 1.0}]))
    with pytest.raises(ValueError, match=r"targets: missing column\(s\) \['value'\]"):
        target_probability(_fc(), pd.DataFrame([{"target": "t", "region": "astana", "year": 2027}]))
    with pytest.raises(ValueError, match=r"target 't' \(region='astana'\) has no value"):
        target_probability(_fc(), _target(np.nan))


def test_interval_not_containing_point_is_named():
    fc = _fc()
    fc.loc[2, "lower"] = 1e6
    with pytest.raises(ValueError, match=r"lower <= point <= upper is violated in 1 row\(s\), e.g. \(model='m', region='astana', origin_year=2024, year=2026"):
        target_probability(fc, _target(1.0))
    with pytest.raises(ValueError, match=r"level is not a fraction in \(0, 1\)"):
        target_probability(_fc(levels=(0.8,)).assign(level=80.0), _target(1.0))


# ---------------------------------------------------------------- several targets in one table
def _study_table():
    """Two variables forecast for the same model, region, origin and years (as the study writes them)."""
    nm = _fc().assign(target="net_migration")
    fs = _fc(points=(1e5, 1.2e5, 1.5e5), sd_lo=(1e4,) * 3, sd_hi=(2e4,) * 3).assign(target="foreign_students")
    return pd.concat([nm, fs], ignore_index=True)


def test_target_rows_match_forecasts_of_their_indicator():
    fc = _study_table()
    targets = pd.DataFrame([{"indicator": "foreign_students", "region": "astana", "year": 2027, "value": 150000.0},
                            {"indicator": "net_migration", "region": "astana", "year": 2027, "value": 150.0}])
    out = target_probability(fc, targets)
    assert out["indicator"].tolist() == ["foreign_students", "net_migration"]
    assert out["point"].tolist() == [150000.0, 150.0]
    np.testing.assert_allclose(out["probability"], [0.5, 0.5], atol=1e-12)
    # each against its own rows only: the same numbers as the single-variable tables
    alone = target_probability(fc.loc[fc.target == "foreign_students"].drop(columns="target"),
                               targets.iloc[[0]].assign(value=170000.0))
    both = target_probability(fc, targets.assign(value=[170000.0, 150.0]))
    assert both["probability"].iloc[0] == pytest.approx(alone["probability"].iloc[0], abs=1e-15)
    assert both["probability"].iloc[0] == pytest.approx(0.158655, abs=1e-6)  # one upper sd above the median
    upper80 = fc.loc[(fc.target == "foreign_students") & (fc.year == 2027) & (fc.level == 0.8), "upper"].iloc[0]
    at_bound = target_probability(fc, targets.iloc[[0]].assign(value=upper80))
    assert at_bound["probability"].iloc[0] == pytest.approx(0.10, abs=1e-12)


def test_indicator_without_forecast_is_an_error_naming_the_forecast_targets():
    """The defect: a foreign_students target run against a net-migration table matched by region only
    and returned a tiny probability instead of an error."""
    fc = _fc().assign(target="net_migration")
    target = pd.DataFrame([{"indicator": "foreign_students", "region": "astana", "year": 2027, "value": 150000.0}])
    with pytest.raises(ValueError, match=r"target 'foreign_students' \(region='astana', year=2027\): the forecast "
                                         r"table has no forecast of indicator 'foreign_students'; it holds the targets "
                                         r"\['net_migration'\]"):
        target_probability(fc, target)
    # the older column name 'target' means the same
    with pytest.raises(ValueError, match=r"no forecast of indicator 'foreign_students'"):
        target_probability(fc, target.rename(columns={"indicator": "target"}))
    with pytest.raises(ValueError, match=r"both 'indicator' and 'target' columns"):
        target_probability(fc, target.assign(target="x"))


def test_untagged_table_takes_one_indicator_only():
    targets = pd.DataFrame([{"indicator": "a", "region": "astana", "year": 2027, "value": 1.0},
                            {"indicator": "b", "region": "astana", "year": 2027, "value": 1.0}])
    with pytest.raises(ValueError, match=r"no 'target' column, so its rows cannot be told apart between the "
                                         r"indicators \['a', 'b'\]"):
        target_probability(_fc(), targets)
    out = target_probability(_fc(), targets.iloc[[0]].assign(source="doc"))
    assert out["indicator"].tolist() == ["a"] and out["source"].tolist() == ["doc"]


# ---------------------------------------------------------------- the targets file
HEADER = "indicator,region,year,value,direction,measure,source\n"


def test_read_targets_maps_regions_and_types(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(HEADER + "foreign_students,kazakhstan,2029,150000,at_least,level,doc A\n"
                 "net_migration,Северо-Казахстанская область,2030,-5000,at_least,cumulative,doc B\n", encoding="utf-8")
    t = read_targets(f)
    assert t["region"].tolist() == ["kazakhstan", "north_kazakhstan"]
    assert t["year"].dtype == "int64" and t["value"].dtype == "float64" and t["indicator"].dtype == "string"
    assert t["value"].tolist() == [150000.0, -5000.0]


@pytest.mark.parametrize("row, match", [
    ("x,atlantis,2029,1,at_least,level,doc", r"row 2, column 'region': found 'atlantis'"),
    ("x,pavlodr,2029,1,at_least,level,doc", r"row 2, column 'region': found 'pavlodr'.*did you mean 'pavlodar'"),
    ("x,pavlodar,2029.5,1,at_least,level,doc", r"row 2, column 'year': found '2029.5'; expected a whole year"),
    ("x,pavlodar,2029,150 000,at_least,level,doc", r"row 2, column 'value': found '150 000'; expected a number"),
    ("x,pavlodar,2029,,at_least,level,doc", r"row 2, column 'value': found ''"),
    ("x,pavlodar,2029,1,above,level,doc", r"row 2, column 'direction': found 'above'; expected one of 'at_least', 'at_most'"),
    ("x,pavlodar,2029,1,at_most,total,doc", r"row 2, column 'measure': found 'total'; expected one of 'level', 'cumulative'"),
    ("x,pavlodar,2029,1,at_most,level,", r"row 2, column 'source': found ''"),
    (",pavlodar,2029,1,at_most,level,doc", r"row 2, column 'indicator': found ''"),
])
def test_read_targets_names_file_row_and_column(tmp_path, row, match):
    from kzmig.core.errors import DataFileError

    f = tmp_path / "t.csv"
    f.write_text(HEADER + row + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"targets .*t\.csv " + match):
        read_targets(f)


def test_read_targets_file_level_errors(tmp_path):
    from kzmig.core.errors import DataFileError

    f = tmp_path / "t.csv"
    f.write_text("indicator,region,year,value\nx,pavlodar,2029,1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"t\.csv: column\(s\) \['direction', 'measure', 'source'\] absent"):
        read_targets(f)
    f.write_text(HEADER, encoding="utf-8")
    with pytest.raises(DataFileError, match="no target rows"):
        read_targets(f)
    f.write_text(HEADER + "x,pavlodar,2029,1,at_least,level,a\nx,Павлодарская область,2029,1,at_least,level,b\n",
                 encoding="utf-8")
    with pytest.raises(DataFileError, match=r"rows \[2, 3\] set the same target \(indicator='x', region='pavlodar'"):
        read_targets(f)
    with pytest.raises(DataFileError, match="cannot read"):
        read_targets(tmp_path / "absent.csv")


def test_shipped_targets_are_valid_sourced_and_speak_to_shipped_data():
    from kzmig.features.data.dataset import load_panel
    from kzmig.features.assessment.indicators import target_achievement
    from kzmig.forecast.planning.targets import shipped_targets_path

    t = read_targets(shipped_targets_path())
    panel = load_panel(view="current")
    from kzmig.studies.targets import PRESS_BASES

    # only targets the shipped data can speak to: panel variables, or a Round-6 definition (feasibility)
    assert set(t["indicator"]) <= set(panel.columns) | PRESS_BASES
    illustration = t["source"].str.startswith("illustration: not an official target")
    assert (illustration | t["source"].str.contains("Order of the Minister|Same order|target|[Qq]uota|President")).all()
    assert t.loc[illustration, "indicator"].tolist() == ["net_migration", "kz_citizens_left_for_work_abroad"]
    assert t["source"].str.contains("raw |illustration|Order|Same order").all()
    t = t.loc[t["indicator"].isin(panel.columns) & ~t["indicator"].isin(PRESS_BASES)]
    out = target_achievement(panel, t).set_index(["indicator", "region"])
    # 2025 resettlement under the regional quota (press figures): 2,176 of 3,144 in North Kazakhstan
    nko = out.loc[("resettled_persons_regional_program", "north_kazakhstan")]
    assert nko["actual"] == 2176 and nko["achievement_pct"] == pytest.approx(100 * 2176 / 3144)
    assert out.loc[("resettled_persons_regional_program_kandas", "kazakhstan"), "achievement_pct"] == pytest.approx(
        100 * 2234 / 2309)


def test_one_reader_for_both_layouts_and_two_documents_are_two_targets(tmp_path):
    """kzmig.studies.assess reads targets with this reader: the older layout (``target`` column)
    gets the defaults; two documents setting two values for one year are two targets."""
    import importlib

    assert importlib.import_module("kzmig.studies.assess").read_targets is read_targets
    f = tmp_path / "old.csv"
    f.write_text("indicator,region,year,target\nnet_migration,Астана,2022,20000\n", encoding="utf-8")
    t = read_targets(f)
    assert t.loc[0, ["region", "year", "value", "direction", "measure"]].tolist() == [
        "astana", 2022, 20000.0, "at_least", "level"]
    f.write_text("indicator,region,year,target\n", encoding="utf-8")
    assert read_targets(f).empty
    f.write_text(HEADER + "x,kazakhstan,2029,150000,at_least,level,ministry\nx,kazakhstan,2029,100000,at_least,level,"
                 "President\n", encoding="utf-8")
    assert read_targets(f)["value"].tolist() == [150000.0, 100000.0]
    f.write_text("indicator,region,year\nx,astana,2022\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"column\(s\) \['value'\] absent \(the older layout calls it 'target'\)"):
        read_targets(f)
