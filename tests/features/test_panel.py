import numpy as np
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


def test_gaps_found_in_the_first_region_with_one_as_a_plain_loop_finds_them():
    """The vectorised gap check names the same region and missing years as a loop over the sorted
    regions would, on 300 random SYNTHETIC panels (shuffled rows, duplicate years, one or no gap)."""
    import re

    from kzmig.features.data.panel import _check_gaps

    def by_loop(df):
        for region in sorted(set(df["region"])):
            ys = sorted(set(df.loc[df["region"] == region, "year"]))
            holes = sorted(set(range(ys[0], ys[-1] + 1)) - set(ys))
            if holes:
                return region, holes
        return None

    rng = np.random.default_rng(20261207)
    found = 0
    for trial in range(300):
        rows = []
        for region in rng.permutation(["r0", "r1", "r2", "r3", "r4", "r5"]):
            start, n = int(rng.integers(1995, 2010)), int(rng.integers(1, 12))
            years = list(range(start, start + n))
            if n > 2 and rng.random() < 0.3:
                years.pop(int(rng.integers(1, n - 1)))
            if rng.random() < 0.2:
                years.append(years[0])
            rows += [(str(region), y) for y in years]
        df = pd.DataFrame(rows, columns=["region", "year"]).sample(frac=1, random_state=trial)
        want = by_loop(df)
        if want is None:
            _check_gaps(df, "t")
            continue
        found += 1
        with pytest.raises(PanelContractError) as err:
            _check_gaps(df, "t")
        got = re.search(r"region='(\w+)' has gaps .*: years (\[.*\]) are missing", str(err.value))
        assert (got.group(1), got.group(2)) == (want[0], str(want[1])), trial
    assert found > 50
