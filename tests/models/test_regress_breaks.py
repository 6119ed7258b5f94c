import numpy as np

from kzmig.features.dataset import load_long, to_wide
from kzmig.commands.regress_data import _drop_break_outcomes


def test_break_years_leave_the_outcome_only():
    long = load_long("harmonised", 2018)
    panel = to_wide(long)
    target = "net_migration_rate_per_1000"
    out = _drop_break_outcomes(panel, long, [target])
    o = out.set_index(["region", "year"])
    p = panel.set_index(["region", "year"])
    # flagged in the data card: census 2009 (year 2008), Almaty transfer (2014), census 2021
    for key in [("pavlodar", 2008), ("almaty_city", 2014), ("kostanay", 2021), ("astana", 2016)]:
        assert np.isfinite(p.loc[key, target]) and np.isnan(o.loc[key, target])
    assert o.loc[("pavlodar", 2015), target] == p.loc[("pavlodar", 2015), target]
    assert o.loc[("almaty_city", 2014), "population"] == p.loc[("almaty_city", 2014), "population"]
    dropped = int(p[target].notna().sum() - o[target].notna().sum())
    assert dropped == 2 * 17 - 2 + 4  # two census years (Shymkent/Turkestan absent in 2008) + 2 transfers x 2 regions


def test_trend_types_in_regress_skip_breaks_like_assess():
    from kzmig.features.typology import migration_trend_types
    from kzmig.commands.regress_config import load_config
    from kzmig.commands.regress_data import study_panel, tercile_table

    cfg = load_config("experiments/migration_factors.toml")
    full, skip = study_panel(cfg.sections, None)
    assert {("akmola", 2021), ("almaty_city", 2014), ("pavlodar", 2008)} <= set(zip(skip["region"], skip["year"]))
    d = cfg.sections["discrete"]
    kw = dict(k=d["k"], rel_tol=d["rel_tol"], abs_tol=d["abs_tol"], flows=("total",))
    with_skip = migration_trend_types(full, 2006, 2022, skip=skip, **kw).set_index("region")["type"]
    without = migration_trend_types(full, 2006, 2022, **kw).set_index("region")["type"]
    assert (with_skip != without).any()  # the census years change some types
    table = tercile_table(full, cfg.sections, skip)
    first = table[table["factor"] == table["factor"].iloc[0]]
    counts = first.groupby("type")["n"].sum()
    expected = with_skip.dropna().value_counts()
    for t, n in counts.items():
        assert n <= expected.get(t, 0)  # a region without a factor value drops out of the table
    assert counts.sum() > 0
