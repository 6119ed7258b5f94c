"""Ordered and multinomial logit of the trend type against independent computations.

statsmodels documents OrderedModel with the UCLA 'ologit' example, whose data the docs
download from stats.idre.ucla.edu; tests may not download, so the ordered logit is checked
instead against a likelihood maximised here with scipy on a seeded dataset.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from sklearn.linear_model import LogisticRegression

from kzmig.core.errors import PanelContractError
from kzmig.models.panel.discrete import TREND_ORDER, MultinomialLogitMigration, OrderedLogitMigration


def _scipy_ordered_logit(x: np.ndarray, y: np.ndarray, n_cat: int) -> np.ndarray:
    """Maximise the ordered-logit likelihood directly: slopes, then free cut points."""
    k = x.shape[1]

    def nll(theta: np.ndarray) -> float:
        b, c = theta[:k], np.sort(theta[k:])
        cuts = np.concatenate([[-np.inf], c, [np.inf]])
        xb = x @ b
        p = stats.logistic.cdf(cuts[y + 1] - xb) - stats.logistic.cdf(cuts[y] - xb)
        return -np.log(np.clip(p, 1e-300, None)).sum()

    start = np.concatenate([np.zeros(k), np.linspace(-2, 2, n_cat - 1)])
    res = optimize.minimize(nll, start, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 40000,
                                     "maxfev": 40000})
    res = optimize.minimize(nll, res.x, method="BFGS", options={"gtol": 1e-9})
    return res.x


def test_ordered_logit_matches_scipy_likelihood(type_panel):
    est = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(type_panel)
    s = est.sample_.sort_index()
    y = s["__type_code"].astype(int).to_numpy()
    ref = _scipy_ordered_logit(s[["x1", "x2"]].to_numpy(), y, 6)
    np.testing.assert_allclose(est.result_.params["coef"].to_numpy(), ref, atol=1e-4)
    assert list(est.result_.params.index[2:]) == [
        f"cut: {a} | {b}" for a, b in zip(TREND_ORDER[:-1], TREND_ORDER[1:], strict=True)]
    # the latent model of the fixture: slopes (1.2, -0.7), cuts (-2.5, -1, 0, 1, 2.5)
    assert abs(est.result_.params.at["x1", "coef"] - 1.2) < 0.35


def test_ordered_marginal_effects_are_derivatives_of_statsmodels_probabilities(type_panel):
    est = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(type_panel)
    res, x = est.sm_result_, est.sample_[["x1", "x2"]].to_numpy()
    h = 1e-6
    for k, name in enumerate(["x1", "x2"]):
        up, dn = x.copy(), x.copy()
        up[:, k] += h
        dn[:, k] -= h
        fd = (res.model.predict(res.params, exog=up) - res.model.predict(res.params, exog=dn))
        np.testing.assert_allclose(est.result_.marginal_effects.loc[name].to_numpy(),
                                   fd.mean(axis=0) / (2 * h), atol=1e-7)
    # probabilities sum to one, so the effects on the six types sum to zero
    np.testing.assert_allclose(est.result_.marginal_effects.sum(axis=1), 0.0, atol=1e-12)
    assert (est.result_.me_std_errors > 0).all().all()


def test_multinomial_logit_matches_sklearn_unpenalised(type_panel):
    est = MultinomialLogitMigration("type", ["x1", "x2"], lag=0,
                                    cov_type="nonrobust").fit(type_panel)
    s = est.sample_
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(
        s[["x1", "x2"]].to_numpy(), s["__type_code"].astype(int).to_numpy())
    coef = np.column_stack([sk.intercept_, sk.coef_])       # softmax, one row per class
    rel = (coef[1:] - coef[0]).T                             # relative to the base type
    np.testing.assert_allclose(est.result_.params.to_numpy(), rel, atol=1e-4)
    res, xc = est.sm_result_, np.column_stack([np.ones(len(s)), s[["x1", "x2"]]])
    up = xc.copy()
    up[:, 1] += 1e-6
    fd = (res.predict(up) - res.predict(xc)).mean(axis=0) / 1e-6
    np.testing.assert_allclose(est.result_.marginal_effects.loc["x1"].to_numpy(), fd, atol=1e-5)


def test_confusion_table_counts(type_panel):
    est = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(type_panel)
    conf = est.result_.confusion
    probs = est.predict_proba(type_panel)
    pred = probs[list(TREND_ORDER)].to_numpy().argmax(axis=1)
    obs = est.sample_["__type_code"].astype(int).to_numpy()
    assert conf.to_numpy().sum() == len(type_panel)
    assert np.trace(conf.to_numpy()) == int((pred == obs).sum())
    assert list(conf.index) == list(TREND_ORDER) == list(conf.columns)
    assert "stable inflow < weakening inflow" in est.result_.summary()


def test_order_is_explicit_and_configurable(type_panel):
    fwd = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(type_panel).result_
    rev = OrderedLogitMigration("type", ["x1", "x2"], lag=0,
                                order=TREND_ORDER[::-1]).fit(type_panel).result_
    np.testing.assert_allclose(rev.params["coef"].iloc[:2], -fwd.params["coef"].iloc[:2],
                               atol=1e-4)
    np.testing.assert_allclose(rev.params["coef"].iloc[2:].to_numpy(),
                               -fwd.params["coef"].iloc[2:].to_numpy()[::-1], atol=1e-4)
    assert rev.categories == TREND_ORDER[::-1]


def test_absent_type_is_left_out_with_a_warning(type_panel, caplog):
    p = type_panel[type_panel["type"] != "emerging inflow"]
    est = OrderedLogitMigration("type", ["x1", "x2"], lag=0).fit(p)
    assert "emerging inflow" not in est.result_.categories
    assert "['emerging inflow'] do not occur" in caplog.text
    assert list(est.result_.marginal_effects.columns) == list(est.result_.categories)


def test_bad_type_inputs(type_panel):
    bad = type_panel.copy()
    bad.loc[5, "type"] = "stable outflow"
    with pytest.raises(PanelContractError, match=r"types \['stable outflow'\] not in order.*"
                                                 r"region='r00', year=2015"):
        OrderedLogitMigration("type", ["x1"], lag=0).fit(bad)
    one = type_panel.assign(type="stable inflow")
    with pytest.raises(PanelContractError, match=r"only type \['stable inflow'\] occurs"):
        MultinomialLogitMigration("type", ["x1"], lag=0).fit(one)
    with pytest.raises(ValueError, match=r"cov_type='robust'.*'clustered', 'nonrobust'"):
        OrderedLogitMigration("type", ["x1"], cov_type="robust").fit(type_panel)
    with pytest.raises(PanelContractError, match=r"target column 'trend' is absent"):
        OrderedLogitMigration("trend", ["x1"]).fit(type_panel)
    sep = type_panel.assign(type=np.where(type_panel["x1"] > 0, "stable inflow",
                                          "intensifying outflow"))
    with pytest.raises(PanelContractError, match=r"perfectly separated by \['x1'\]"):
        MultinomialLogitMigration("type", ["x1"], lag=0).fit(sep)
