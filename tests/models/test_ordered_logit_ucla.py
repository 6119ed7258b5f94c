"""Ordered logit against the documented UCLA example (``apply ~ pared + public + gpa``).

The data file ``ologit_ucla.csv`` ships inside statsmodels (``statsmodels/miscmodels/tests/
results``), the example of statsmodels' OrderedModel documentation. Reference values are R's
``MASS::polr`` (R 3.4.4), as stored by statsmodels in ``results_ordinal_model.py``: coefficients
1.04769011, -0.05878572, 0.61594057; standard errors 0.2658, 0.2979, 0.2606; cut points
2.203915 and 4.299363. R's optimiser stops a little short of the maximum (statsmodels' own
test allows atol=2e-4 on the coefficients, 4e-4 on the cut points and rtol=0.003 on the
standard errors); we use those tolerances (1e-3 on the cut points, which land 6e-4 from R's at
the true maximum) and check separately that our fit is the maximum (Newton agrees to 1e-6).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels

from kzmig.models.panel.discrete import OrderedLogitMigration

UCLA = Path(statsmodels.__file__).parent / "miscmodels" / "tests" / "results" / "ologit_ucla.csv"
ORDER = ("unlikely", "somewhat likely", "very likely")


@pytest.mark.skipif(not UCLA.exists(), reason="statsmodels' test data not installed")
def test_matches_r_polr_on_the_ucla_example():
    df = pd.read_csv(UCLA)
    panel = df.rename(columns={"apply": "type"}).assign(
        region=[f"s{i:03d}" for i in range(len(df))], year=2000)
    panel = panel.astype({"region": "string", "year": "int64", "pared": float, "public": float, "gpa": float})
    res = OrderedLogitMigration("type", ["pared", "public", "gpa"], order=ORDER, lag=0,
                                cov_type="nonrobust").fit(panel).result_
    coef = res.params["coef"]
    np.testing.assert_allclose(coef[["pared", "public", "gpa"]], [1.04769011, -0.05878572, 0.61594057], atol=2e-4)
    # cut points: 6e-4 from R's (statsmodels' bfgs default lands 4e-4 away); ours is the maximum
    np.testing.assert_allclose(coef.iloc[3:], [2.203915, 4.299363], atol=1e-3)
    np.testing.assert_allclose(res.std_errors["coef"][["pared", "public", "gpa"]], [0.2658, 0.2979, 0.2606],
                               rtol=0.003)
    # the maximum itself: Newton's method on the same likelihood
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    y = pd.Categorical(df["apply"], categories=list(ORDER), ordered=True)
    newton = OrderedModel(pd.Series(y), df[["pared", "public", "gpa"]], distr="logit").fit(method="newton", disp=False)
    np.testing.assert_allclose(coef[["pared", "public", "gpa"]], newton.params.to_numpy()[:3], atol=1e-6)


@pytest.mark.skipif(not UCLA.exists(), reason="statsmodels' test data not installed")
def test_bfgs_stopped_short_is_finished_by_newton_steps():
    """BFGS cut off before gtol (here by maxiter=6; on some machines by the rounding of its numerical
    gradient) is not a failure: Newton steps from where it stopped reach the same maximum."""
    df = pd.read_csv(UCLA)
    panel = df.rename(columns={"apply": "type"}).assign(
        region=[f"s{i:03d}" for i in range(len(df))], year=2000)
    panel = panel.astype({"region": "string", "year": "int64", "pared": float, "public": float, "gpa": float})
    full = OrderedLogitMigration("type", ["pared", "public", "gpa"], order=ORDER, lag=0,
                                 cov_type="nonrobust").fit(panel).result_.params["coef"]
    short = OrderedLogitMigration("type", ["pared", "public", "gpa"], order=ORDER, lag=0, cov_type="nonrobust",
                                  maxiter=6).fit(panel)
    assert short.sm_result_.mle_settings["optimizer"] == "newton"
    np.testing.assert_allclose(short.result_.params["coef"], full, atol=1e-5)
