"""``kzmig regress`` end to end on the shipped data, through the command line, with a small config."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from cli_helpers import run_kzmig

from kzmig.config import load_config
from kzmig.core.errors import ConfigError
from kzmig.core.resources import experiments_dir
from kzmig.models.persistence import load_model, read_metadata

OUTPUTS = ("coefficients.csv", "models.txt", "models.xlsx", "hausman.csv",
           "wild_bootstrap.csv", "marginal_effects.csv", "confusion.csv", "coefficients.png",
           "skipped.csv", "terciles.csv")


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_regress) -> Path:
    tmp = tmp_path_factory.mktemp("regress")
    cfg = tmp / "small.toml"
    cfg.write_text(small_regress)
    out = tmp / "out"
    result = run_kzmig("regress", cfg, "--out", out)
    assert result.code == 0, result.text
    return out


def test_all_outputs_written(run):
    for name in OUTPUTS:
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert (run / "coefficients.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(run.glob(".*"))  # no temporary files left behind
    assert '"status": "complete"' in (run / "manifest.json").read_text()


def test_side_by_side_table_matches_tidy_coefficients(run):
    tidy = pd.read_csv(run / "coefficients.csv")
    wb = openpyxl.load_workbook(run / "models.xlsx")
    assert wb.sheetnames == ["contents", "clustered", "driscoll-kraay", "trend type logit"]
    sheet = "clustered"
    rows = [[c.value for c in r] for r in wb[sheet].iter_rows()]
    header, body = rows[0], rows[1:]
    main = tidy[tidy["requested_cov"] == "clustered"]
    checked = 0
    for i, row in enumerate(body):
        term = row[0]
        if term in (None, "", "N", "Regions", "Years", "R2 within", "R2 between",
                    "R2 overall", "Effects", "Cov"):
            continue
        for col, cell in zip(header[1:], row[1:], strict=True):
            ref = main[(main["model"] == col) & (main["term"] == term)]
            if cell in (None, ""):
                assert ref.empty
                continue
            est = float(re.match(r"-?\d+\.\d+", cell).group(0))
            # the sheet shows 3 decimals, the CSV 6 significant digits: both roundings apart
            assert est == pytest.approx(ref["estimate"].iloc[0], abs=5e-4 + 5e-6 * abs(est))
            se = float(str(body[i + 1][header.index(col)]).strip("[]"))
            assert se == pytest.approx(ref["std_error"].iloc[0], abs=5e-4 + 5e-6 * abs(se))
            checked += 1
    assert checked == 4 + 3 + 4  # pooled (3 + const), fe (3), between (3 + const)
    n_row = next(r for r in body if r[0] == "N")
    assert int(n_row[header.index("pooled")]) == int(main.loc[main.model == "pooled", "nobs"].iloc[0])
    assert "pooled" in (run / "models.txt").read_text()


def test_run_contents(run):
    tidy = pd.read_csv(run / "coefficients.csv")
    assert set(tidy["requested_cov"]) == {"clustered", "driscoll-kraay"}
    assert set(tidy.loc[tidy.model == "between", "cov_type"]) == {"robust"}
    assert tidy["estimate"].notna().all() and tidy["std_error"].gt(0).all()
    fe = tidy[(tidy.model == "fe_twoway") & (tidy.requested_cov == "clustered")]
    assert list(fe["term"]) == ["unemployment_rate_pct_lag1", "income_rel_national_pct_lag1",
                                "doctors_per_10000_lag1"]
    hz = pd.read_csv(run / "hausman.csv")
    assert len(hz) == 1 and hz["df"].iloc[0] == 3 and 0 <= hz["pvalue"].iloc[0] <= 1
    wb = pd.read_csv(run / "wild_bootstrap.csv")
    assert list(wb["term"]) == list(fe["term"]) and (wb["B"] == 99).all()
    np.testing.assert_allclose(wb["estimate"], fe["estimate"], rtol=1e-10)
    assert ((wb["conf_low"] < wb["estimate"]) & (wb["estimate"] < wb["conf_high"])).all()
    me = pd.read_csv(run / "marginal_effects.csv")
    assert set(me["model"]) == {"ordered_logit", "multinomial_logit"}
    # effects on the probabilities of all types sum to zero for each feature
    sums = me.groupby(["model", "feature"])["ame"].sum()
    np.testing.assert_allclose(sums, 0.0, atol=1e-6)  # each effect written with 6 significant digits
    terc = pd.read_csv(run / "terciles.csv")
    assert set(terc["factor"]) == {"unemployment_rate_pct", "income_rel_national_pct",
                                   "doctors_per_10000"}
    per_factor = terc.groupby("factor")["n"].sum()
    assert per_factor.nunique() == 1 and 3 <= per_factor.iloc[0] <= 17  # regions with a type
    saved = run / "models" / "net_migration_rate_per_1000" / "fe_twoway"
    model = load_model(saved, feature_names=list(fe["term"]))
    meta = read_metadata(saved)
    assert meta["config_sha256"] and meta["data"]["sha256"]
    np.testing.assert_allclose(model.result_.params.to_numpy(), fe["estimate"].to_numpy(), rtol=5e-6)  # CSV: 6 digits


def test_config_errors_name_key_and_file(tmp_path, small_regress):
    bad = tmp_path / "bad.toml"
    bad.write_text(small_regress.replace("lag = 1\n", "lag = 1\nlags = 2\n", 1))
    with pytest.raises(ConfigError, match=r"bad\.toml: 1 problem .*\n  - features\.lags: unknown key"):
        load_config(bad)
    bad.write_text(small_regress.replace('kind = "pooled_ols"', 'kind = "pooled"'))
    with pytest.raises(ConfigError, match=r'models\[0\] \(name = "pooled"\)\.kind: found "pooled"'):
        load_config(bad)
    bad.write_text(small_regress.replace('models = ["fe_twoway"]', 'models = ["fe"]'))
    with pytest.raises(ConfigError, match=r'bootstrap\.models\[0\]: found "fe"'):
        load_config(bad)
    bad.write_text(small_regress.replace("B = 99", 'B = "many"'))
    with pytest.raises(ConfigError, match=r'bootstrap\.B: found "many" \(a string\); expected an integer'):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    res = run_kzmig("regress", bad, "--out", tmp_path / "o")
    assert res.code == 2 and "bootstrap.B" in res.text and not (tmp_path / "o").exists()


def test_shipped_config_parses():
    cfg = load_config(experiments_dir() / "migration_factors.toml")
    assert [m.kind for m in cfg.models] == ["pooled_ols", "fixed_effects", "fixed_effects",
                                            "random_effects", "between", "first_difference"]
    assert cfg.data.borders == 2018 and cfg.features.lag == 1 and cfg.data.years() == (2006, 2022)
    assert cfg.outcomes.targets[0] == "net_migration_rate_per_1000"
