import numpy as np
import pandas as pd

from kzmig.features.data.dataset import load_long, to_wide
from kzmig.features.builders.factors import _drop_break_outcomes


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
    from kzmig.features.builders.factors import factor_panel, tercile_table
    from kzmig.features.assessment.typology import migration_trend_types

    long = load_long("harmonised", 2018)
    factor = "unemployment_rate_pct"
    full, skip = factor_panel(long, builders=["labour"], targets=["net_migration_rate_per_1000"],
                              columns=[factor], drop_breaks=True)
    assert {("akmola", 2021), ("almaty_city", 2014), ("pavlodar", 2008)} <= set(zip(skip["region"], skip["year"]))
    kw = dict(k=2, rel_tol=0.2, abs_tol=0.5, flows=("total",))
    with_skip = migration_trend_types(full, 2006, 2022, skip=skip, **kw).set_index("region")["type"]
    without = migration_trend_types(full, 2006, 2022, **kw).set_index("region")["type"]
    assert (with_skip != without).any()  # the census years change some types
    table = tercile_table(full, years=(2006, 2022), factors=[factor], skip=skip, k=2, rel_tol=0.2, abs_tol=0.5)
    counts = table.groupby("type", observed=True)["n"].sum()
    counts = counts[counts > 0]
    counts.index = counts.index.astype(str)
    # independent count: regions with a type and a factor value in the period, by type
    has_factor = full.loc[full["year"].between(2006, 2022)].groupby("region")[factor].apply(lambda s: s.notna().any())
    typed = with_skip.dropna()
    expected = typed[typed.index.isin(has_factor[has_factor].index)].value_counts()
    pd.testing.assert_series_equal(counts.sort_index(), expected.sort_index(), check_names=False,
                                   check_dtype=False, check_index_type=False)
