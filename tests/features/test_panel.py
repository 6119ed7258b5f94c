import pandas as pd
import pytest

from kzmig.core.errors import PanelContractError
from kzmig.core.options import check_option
from kzmig.features.data.panel import validate_panel

TOY = ["A", "B", "C"]


def test_valid_panel_passes_unchanged(toy_panel):
    out = validate_panel(toy_panel, required=("x", "y"), regions=TOY)
    pd.testing.assert_frame_equal(out, toy_panel)


def test_duplicate_key_is_named(toy_panel):
    with pytest.raises(PanelContractError, match=r"region='A', year=2001\) appears 2 times"):
        validate_panel(pd.concat([toy_panel, toy_panel.iloc[[1]]]), regions=TOY)


def test_unknown_region_suggests_closest_code():
    df = pd.DataFrame({"region": pd.array(["pavlodr"], dtype="string"), "year": [2015], "x": [1.0]})
    with pytest.raises(PanelContractError, match=r"'pavlodr'.*did you mean 'pavlodar'"):
        validate_panel(df)


def test_missing_value_names_region_and_year(toy_panel):
    toy_panel.loc[4, "x"] = float("nan")
    with pytest.raises(PanelContractError, match=r"column 'x' has 1 missing values, e.g. \(region='A', year=2004\)"):
        validate_panel(toy_panel, required=("x",), regions=TOY)


def test_missing_drop_policy_drops_and_counts(toy_panel, caplog):
    toy_panel.loc[4, "x"] = float("nan")
    out = validate_panel(toy_panel, required=("x",), missing="drop", regions=TOY)
    assert len(out) == len(toy_panel) - 1
    assert "dropping those 1 rows" in caplog.text


def test_gap_inside_span_is_named(toy_panel):
    with pytest.raises(PanelContractError, match=r"region='B' has gaps .* years \[2002\]"):
        validate_panel(toy_panel.drop(index=8), regions=TOY)


def test_year_dtype_and_range(toy_panel):
    with pytest.raises(PanelContractError, match="'year' must be int64"):
        validate_panel(toy_panel.assign(year=toy_panel["year"].astype(float)), regions=TOY)
    with pytest.raises(PanelContractError, match=r"outside 1990-2100.*year=1980"):
        validate_panel(toy_panel.assign(year=toy_panel["year"] - 20), regions=TOY)


def test_unknown_missing_policy_lists_choices(toy_panel):
    with pytest.raises(ValueError, match="choose one of 'drop', 'keep', 'raise'"):
        validate_panel(toy_panel, missing="fill", regions=TOY)


def test_check_option_message():
    with pytest.raises(ValueError, match=r"cov_type='cluster' is not supported by FE; choose one of 'clustered'"):
        check_option("cov_type", "cluster", ("clustered", "robust"), owner="FE")


def test_long_table_without_region_column_is_named():
    df = pd.DataFrame({"variable": ["births"], "value": [1.0], "year": [2000]})
    with pytest.raises(PanelContractError, match=r"x.csv: missing column\(s\) \['region'\]"):
        validate_panel(df, source="x.csv")
