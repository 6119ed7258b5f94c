"""The regression study leaves out a model the data cannot support, with the reason, and goes on."""
from __future__ import annotations

from kzmig.config import load_config

SMALL = """
[data]
view = "harmonised"
borders = 2018
years = [2009, 2022]

[features]
builders = ["labour", "wages"]
columns = ["unemployment_rate_pct", "income_rel_national_pct", "doctors_per_10000"]
lag = 1
missing = "drop"

[[models]]
name = "pooled"
kind = "pooled_ols"

[[models]]
name = "fe_twoway"
kind = "fixed_effects"
params = { effects = "both" }

[[models]]
name = "between"
kind = "between"

[covariance]
types = ["clustered", "driscoll-kraay"]
bandwidth = 2

[bootstrap]
models = ["fe_twoway"]
B = 99
weights = "webb"
seed = 1

[discrete]
window = 5
lag = 5
columns = ["unemployment_rate_pct", "income_rel_national_pct"]
models = ["ordered_logit", "multinomial_logit"]
"""


def test_unsupported_model_is_skipped_with_its_reason(tmp_path, panel):
    from kzmig.studies.regress import fit_continuous

    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(SMALL.replace(
        'columns = ["unemployment_rate_pct", "income_rel_national_pct", "doctors_per_10000"]',
        'columns = ["x1", "area"]', 1))
    cfg = load_config(cfg_path)
    area = panel["region"].map({r: float(i) for i, r in enumerate(sorted(panel.region.unique()))})
    skipped: list[dict[str, str]] = []
    fitted = fit_continuous(cfg, panel.assign(area=area), "y", skipped)
    assert sorted({name for name, _ in fitted}) == ["between", "pooled"]
    assert {s["model"] for s in skipped} == {"fe_twoway"} and len(skipped) == 2
    assert "['area_lag1'] are explained entirely by the region and year" in skipped[0]["reason"]
