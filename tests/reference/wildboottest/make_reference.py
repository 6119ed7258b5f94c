"""Reference values from the PyPI package ``wildboottest`` 0.3.2 (Fischer & Michuda).

Not run by the tests: it needs ``wildboottest==0.3.2`` (and numba), which kzmig does not
depend on. It was run once in a throw-away virtualenv (numpy 2.4.6, pandas 3.1.1,
statsmodels 0.15.0, numba 0.68.1):

    python -m venv /tmp/wbvenv && /tmp/wbvenv/bin/pip install wildboottest==0.3.2
    /tmp/wbvenv/bin/python tests/reference/wildboottest/make_reference.py design.csv

``design.csv`` (x1, x2, region dummies, y, cluster) was written with kzmig's venv from the
seeded panel of ``tests/models/conftest.py``::

    p = make_panel(n_regions=8, n_years=6, seed=21, beta=(0.2, 0.0))
    X = pd.concat([p[["x1", "x2"]],
                   pd.get_dummies(p.region.astype(str), prefix="r", dtype=float)], axis=1)
    X["y"], X["cluster"] = p["y"], pd.factorize(p.region, sort=True)[0]
    X.to_csv("design.csv", index=False, float_format="%.17g")

The output ``enumeration.csv`` holds, for
the coefficients of x1 and x2, wildboottest's t statistic, its WCR11 p-value, and the
sorted |t*| of the full Rademacher enumeration (2**8 = 256 draws for 8 clusters).
"""
import sys

import numpy as np
import pandas as pd
from wildboottest.wildboottest import WildboottestCL

d = pd.read_csv(sys.argv[1])
y, g = d.pop("y").to_numpy(), d.pop("cluster").to_numpy()
X = d.to_numpy()
rows = []
for k, name in enumerate(["x1", "x2"]):
    R = np.zeros(X.shape[1])
    R[k] = 1.0
    wb = WildboottestCL(X=X, Y=y, cluster=g, R=R, B=9999, seed=1)  # B > 2**G: enumeration
    wb.get_scores(bootstrap_type="11", impose_null=True)
    wb.get_weights(weights_type="rademacher")
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    wb.get_pvalue(pval_type="two-tailed")
    tb = np.sort(np.abs(np.ravel(wb.t_boot)))
    rows.append(pd.DataFrame({"term": name, "t_stat": float(np.ravel(wb.t_stat)[0]),
                              "p_value": float(wb.pvalue), "abs_tstar_sorted": tb}))
pd.concat(rows).to_csv("enumeration.csv", index=False, float_format="%.12g")
