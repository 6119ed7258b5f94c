"""Compare two versions of the dataset: revised, added and removed values by variable, region and year.

A revision whose old value is the new value rounded half up to whole units (``floor(new + 0.5)
== old``, the new value not whole), where the old table stores that series in whole units (every
value of the same variable and source in ``old`` is whole: so a rate printed to 0.1 that happens
to be 5.0 does not count), is marked ``within_rounding``: the old copy holds the same figure at a
coarser precision, e.g. the shipped wages of BNS element
5676, which a third-party script rounded to whole tenge, against a live Taldau value with
decimals (126020.76 for the shipped 126021). It stays a revision (the value stored changes), but
it is not a revision of the statistic by the Bureau.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["variable", "region", "year"]
CHANGES = ("revised", "added", "removed")
ROUNDING = "within_rounding"
COLUMNS = ["change", "variable", "region", "year", "old", "new", "difference", ROUNDING, "old_flag", "new_flag",
           "old_source", "new_source"]


def diff_observations(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Every value that differs between two long tables (``region, year, variable, value[, flag, source]``).

    ``revised``: the key is in both and the values differ (a missing value on one side only is
    a revision; missing on both sides is equal); ``added``: only in ``new``; ``removed``: only in
    ``old``. Values are compared exactly, as stored. ``difference`` = new - old (revisions only);
    ``within_rounding``: the revision only undoes a rounding of the old value to whole units (see
    the module docstring).
    Sorted by variable, region, year. An empty table means the two hold the same values.
    """
    cols = [*KEYS, "value", "flag", "source"]

    def side(df: pd.DataFrame) -> pd.DataFrame:
        out = df.reindex(columns=cols).copy()
        out["flag"] = out["flag"].astype("string").fillna("")
        out["source"] = out["source"].astype("string").fillna("")
        out["value"] = out["value"].astype("float64")
        out["year"] = out["year"].astype("int64")
        out["region"] = out["region"].astype("string")
        out["variable"] = out["variable"].astype("string")
        return out

    o_side = side(old)
    whole = o_side["value"] == np.floor(o_side["value"])
    # the old table stores a series (variable and source) in whole units: every value of it is whole
    o_side["_whole_series"] = (whole | o_side["value"].isna()).groupby(
        [o_side["variable"], o_side["source"]]).transform("all").astype(bool)
    m = o_side.merge(side(new), on=KEYS, how="outer", suffixes=("_old", "_new"), indicator=True)
    o, n = m["value_old"], m["value_new"]
    both = m["_merge"] == "both"
    same = (o == n) | (o.isna() & n.isna())
    change = np.select([m["_merge"] == "right_only", m["_merge"] == "left_only", both & ~same],
                       ["added", "removed", "revised"], default="")
    out = pd.DataFrame({
        "change": change, "variable": m["variable"], "region": m["region"], "year": m["year"].astype("int64"),
        "old": o, "new": n, "difference": np.where(change == "revised", n - o, np.nan),
        ROUNDING: ((change == "revised") & m["_whole_series"].eq(True) & (n != np.floor(n))
                   & (np.floor(n + 0.5) == o)),
        "old_flag": m["flag_old"].fillna(""), "new_flag": m["flag_new"].fillna(""),
        "old_source": m["source_old"].fillna(""), "new_source": m["source_new"].fillna(""),
    })
    out = out[out["change"] != ""]
    return out[COLUMNS].sort_values(KEYS, kind="stable").reset_index(drop=True)


def summarise(diff: pd.DataFrame) -> pd.DataFrame:
    """Counts of revised, added and removed values per variable (one row per variable), and of the
    revisions ``within_rounding`` (see the module docstring)."""
    if diff.empty:
        return pd.DataFrame(columns=["variable", *CHANGES, ROUNDING, "regions", "years"])
    counts = pd.crosstab(diff["variable"], diff["change"]).reindex(columns=list(CHANGES), fill_value=0)
    rounding = diff[ROUNDING] if ROUNDING in diff else pd.Series(False, index=diff.index)
    counts[ROUNDING] = rounding.astype(bool).groupby(diff["variable"]).sum().reindex(counts.index).astype("int64")
    spans = diff.groupby("variable").agg(regions=("region", "nunique"), first=("year", "min"), last=("year", "max"))
    out = counts.join(spans).reset_index()
    out["years"] = [f"{a}-{b}" if a != b else str(a) for a, b in zip(out.pop("first"), out.pop("last"))]
    out.columns.name = None
    return out
