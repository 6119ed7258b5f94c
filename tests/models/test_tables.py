"""The side-by-side table against the tidy coefficients it is built from."""
from __future__ import annotations

import re

import numpy as np
import openpyxl
import pytest

from kzmig.models.panel.discrete import OrderedLogitMigration
from kzmig.models.panel import FixedEffectsMigration, PooledOLSMigration, RandomEffectsMigration
from kzmig.models.panel.tables import FOOTER, side_by_side, star, to_text
from kzmig.reporting.tables import write_regression_workbook as to_xlsx


@pytest.fixture
def fitted(panel):
    feats = ["x1", "x2"]
    return [PooledOLSMigration("y", feats).fit(panel).result_,
            FixedEffectsMigration("y", feats, effects="region").fit(panel).result_,
            FixedEffectsMigration("y", ["x1"], effects="both").fit(panel).result_,
            RandomEffectsMigration("y", feats).fit(panel).result_]


def test_star_thresholds():
    assert [star(p) for p in (0.2, 0.1, 0.099, 0.049, 0.0099, np.nan)] == [
        "", "", "*", "**", "***", ""]


def test_table_cells_equal_tidy_coefficients(fitted):
    table = side_by_side(fitted, digits=4)
    assert list(table.columns) == ["pooled_ols", "fixed_effects", "fixed_effects (2)",
                                   "random_effects"]
    for col, res in zip(table.columns, fitted, strict=True):
        tidy = res.tidy()
        for row in tidy.itertuples():
            cell = table.at[row.term, col]
            m = re.fullmatch(r"(-?\d+\.\d{4})(\**)", cell)
            assert m, cell
            assert float(m.group(1)) == pytest.approx(row.estimate, abs=5e-5)
            n_stars = (row.p_value < 0.1) + (row.p_value < 0.05) + (row.p_value < 0.01)
            assert len(m.group(2)) == n_stars
            se = table.at[f"{row.term} (se)", col]
            assert float(se.strip("[]")) == pytest.approx(row.std_error, abs=5e-5)
        assert table.at["N", col] == str(res.nobs)
        assert table.at["Effects", col] == res.effects
        assert table.at["R2 within", col] == f"{res.r2_within:.4f}"
    # x2 is absent from the third model: its cells are empty, not NaN
    assert table.at["x2_lag1", "fixed_effects (2)"] == ""
    assert "const" in table.index and list(table.index[-len(FOOTER):]) == list(FOOTER)


def test_text_and_xlsx_outputs(fitted, tmp_path, type_panel):
    table = side_by_side(fitted)
    text = to_text(table, title="Net migration")
    assert text.startswith("Net migration") and "* p<0.1" in text
    assert table.at["x1_lag1", "pooled_ols"] in text
    ordered = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(type_panel).result_
    disc = side_by_side([ordered])
    path = to_xlsx({"continuous": table, "ordered logit": disc}, tmp_path / "models.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["continuous", "ordered logit"]
    ws = wb["continuous"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][1:] == list(table.columns)
    x1 = next(r for r in values if r[0] == "x1_lag1")
    assert x1[1:] == [table.at["x1_lag1", c] for c in table.columns]
    assert not list(tmp_path.glob(".models.xlsx*"))  # temporary file renamed away


def test_bad_table_inputs(fitted):
    with pytest.raises(ValueError, match="no results"):
        side_by_side([])
    with pytest.raises(ValueError, match="1 names for 4 results"):
        side_by_side(fitted, names=["a"])
