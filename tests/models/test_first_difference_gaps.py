"""First differences never span a gap (a year missing for every region, e.g. a dropped census year)."""
import numpy as np
import pandas as pd

from kzmig.models.panel import FirstDifferenceMigration


def _panel(rng):
    rows = []
    for r in range(6):
        for t in range(2000, 2012):
            x = rng.normal()
            rows.append({"region": f"r{r}", "year": t, "x": x, "y": 0.7 * x + rng.normal(scale=0.5)})
    df = pd.DataFrame(rows).astype({"region": "string", "year": "int64"})
    return df[df["year"] != 2006].reset_index(drop=True)  # gone for every region


def test_fd_matches_a_plain_loop_over_consecutive_years(rng):
    df = _panel(rng)
    res = FirstDifferenceMigration("y", ["x"], lag=0, cov_type="unadjusted").fit(df).result_
    dx, dy = [], []
    for _, g in df.groupby("region"):
        g = g.sort_values("year").to_dict("records")
        for prev, cur in zip(g, g[1:]):
            if cur["year"] - prev["year"] == 1:
                dx.append(cur["x"] - prev["x"])
                dy.append(cur["y"] - prev["y"])
    dx, dy = np.array(dx), np.array(dy)
    assert res.nobs == len(dx) == 6 * (5 + 4)
    np.testing.assert_allclose(res.params["x"], dx @ dy / (dx @ dx), rtol=1e-10)
    resid = dy - dx * (dx @ dy / (dx @ dx))
    se = np.sqrt(resid @ resid / (len(dx) - 1) / (dx @ dx))
    np.testing.assert_allclose(res.std_errors["x"], se, rtol=1e-10)
