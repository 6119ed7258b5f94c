"""The regression study leaves out a model the data cannot support, with the reason, and goes on."""
from __future__ import annotations

from kzmig.config import load_config


def test_unsupported_model_is_skipped_with_its_reason(tmp_path, panel, small_regress):
    from kzmig.studies.regress import fit_continuous

    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(small_regress.replace(
        'columns = ["unemployment_rate_pct", "income_rel_national_pct", "doctors_per_10000"]',
        'columns = ["x1", "area"]', 1))
    cfg = load_config(cfg_path)
    area = panel["region"].map({r: float(i) for i, r in enumerate(sorted(panel.region.unique()))})
    skipped: list[dict[str, str]] = []
    fitted = fit_continuous(cfg, panel.assign(area=area), "y", skipped)
    assert sorted({name for name, _ in fitted}) == ["between", "pooled"]
    assert {s["model"] for s in skipped} == {"fe_twoway"} and len(skipped) == 2
    assert "['area_lag1'] are explained entirely by the region and year" in skipped[0]["reason"]
