"""Feasibility of a state programme's target on a sparse national series (METHOD.md section 11).

For a target ``T`` for year ``Y`` of a national series published at a few irregular dates
``(x_i, t_i)`` of ONE definition (:func:`series_points`):

* required growth ``g_req = (T / x_last) ** (1 / (Y - t_last)) - 1`` per year (:func:`required_growth`);
* observed growth between consecutive points ``g_i = (x_{i+1} / x_i) ** (1 / (t_{i+1} - t_i)) - 1``,
  each with its span, and their mean and spread (:func:`observed_growth`);
* with three points or more, the probability of reaching ``T`` under log-linear growth
  ``log x_t = a + b t`` fitted by OLS (statsmodels): the predictive distribution of ``log x_Y``
  (slope and residual uncertainty, Student t with ``n - 2`` degrees of freedom), with a 90 %
  parametric-bootstrap interval for the probability (:func:`loglinear_probability`); below three
  points no probability, "too few points to say";
* a verdict (:func:`verdict`): met, on track, needs faster growth than ever observed, in between.

Definitions are never chained: a series is the rows of one base variable (a calendar- or
academic-year count) or of its stocks at a date (``<base>_at_<day><mon>``, placed at their
date as a fraction of the year); year-to-date and quarter variables are never read
(:func:`kzmig.features.ingest.build_press_series.is_full_year`).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from kzmig.core.errors import DataError
from kzmig.features.ingest.build_press_series import MONTHS, is_full_year

#: below this many points of one definition, no probability (METHOD.md 11)
MIN_POINTS = 3
BOOTSTRAP = 2000
INTERVAL = (0.05, 0.95)
VERDICTS = ("met", "on track", "in between", "needs faster growth than ever observed",
            "no observed growth to compare")
_AT = re.compile(r"_at_(\d{1,2})([a-z]{3})$")


def point_time(variable: str, base: str, year: int) -> float | None:
    """The time of a published point in fractional years: ``year`` for a year count, the date of a
    stock (``_at_1apr`` of 2025 -> 2025.25; ``_at_end_of_year`` -> ``year + 1``), None for a stock
    whose date is not printed or a variable of another definition."""
    if variable == base:
        return float(year)
    if variable == f"{base}_at_end_of_year":
        return float(year + 1)
    m = _AT.fullmatch(variable[len(base):]) if variable.startswith(base) else None
    if m and m.group(2) in MONTHS:
        return year + (MONTHS.index(m.group(2)) + (int(m.group(1)) - 1) / 31) / 12
    return None


def series_points(obs: pd.DataFrame, base: str, *, one_per_year: bool = True) -> pd.DataFrame:
    """Published points of one definition: ``variable, year, t, value, flag, source`` sorted by ``t``.

    Rows flagged ``suspect`` are left out; so are year-to-date, quarter and undated stock rows.
    With ``one_per_year`` a stock keeps its last-dated point of each calendar year (monthly
    releases would otherwise turn month-to-month noise into annual growth rates).
    """
    sub = obs.loc[(obs["region"] == "kazakhstan") & obs["variable"].str.startswith(base)].copy()
    sub["t"] = [point_time(v, base, int(y)) for v, y in zip(sub["variable"], sub["year"])]
    sub = sub.loc[sub["t"].notna()]
    sub = sub.loc[[v == base or not is_full_year(v) for v in sub["variable"]]]  # full year or a stock at a date
    sub = sub.loc[~sub["flag"].fillna("").str.contains("suspect")]
    sub = sub.loc[sub["value"] > 0].sort_values("t", kind="stable")
    if one_per_year:  # the last-dated point of each published year
        sub = sub.drop_duplicates("year", keep="last")
    cols = ["variable", "year", "t", "value", "flag", "source"]
    return sub.reindex(columns=cols).reset_index(drop=True)


def required_growth(target: float, x_last: float, year: float, t_last: float) -> float:
    """``(T / x_last) ** (1 / (Y - t_last)) - 1``; NaN when the target year is not after the last point."""
    if year - t_last <= 0 or x_last <= 0 or target <= 0:
        return math.nan
    return (target / x_last) ** (1.0 / (year - t_last)) - 1.0


def observed_growth(points: pd.DataFrame) -> pd.DataFrame:
    """Annualised growth between consecutive points: ``from_t, to_t, span, from_value, to_value, growth``."""
    p = points.sort_values("t")
    t, x = p["t"].to_numpy(float), p["value"].to_numpy(float)
    span = np.diff(t)
    g = (x[1:] / x[:-1]) ** (1.0 / span) - 1.0 if len(x) > 1 else np.array([])
    return pd.DataFrame({"from_t": t[:-1], "to_t": t[1:], "span": span, "from_value": x[:-1], "to_value": x[1:],
                         "growth": g})


def _fit(t: np.ndarray, y: np.ndarray):
    return sm.OLS(y, sm.add_constant(t, has_constant="add")).fit()


def _prob(res, year: float, log_target: float, direction: str) -> tuple[float, float, float]:
    """P(reach) from the predictive distribution at ``year``; also its mean and scale (log)."""
    pred = res.get_prediction(np.array([[1.0, year]]))
    mean = float(pred.predicted_mean[0])
    se = math.sqrt(float(pred.se_mean[0]) ** 2 + float(res.scale))
    cdf = float(stats.t.cdf((log_target - mean) / se, df=res.df_resid))
    return (1.0 - cdf if direction == "at_least" else cdf), mean, se


def loglinear_probability(points: pd.DataFrame, target: float, year: float, *, direction: str = "at_least",
                          seed: int = 20261207, draws: int = BOOTSTRAP, level: float = 0.8) -> dict:
    """Probability of reaching ``target`` in ``year`` under ``log x_t = a + b t`` (OLS, statsmodels).

    Returns ``probability``, ``probability_lower`` / ``_upper`` (a 90 % parametric bootstrap:
    residuals drawn from N(0, s^2), refitted, probability recomputed), ``slope`` (log points per
    year), ``slope_se``, ``sigma`` (residual s.d.), ``projected`` (exp of the predictive mean) and
    ``projected_lower`` / ``_upper`` (the ``level`` predictive interval), ``n``. With fewer than
    :data:`MIN_POINTS` points every number is NaN and ``reason`` says why.
    """
    n = len(points)
    out = {k: math.nan for k in ("probability", "probability_lower", "probability_upper", "slope", "slope_se",
                                 "sigma", "projected", "projected_lower", "projected_upper")}
    out["n"] = n
    if n < MIN_POINTS:
        out["reason"] = f"too few points to say: {n} published point(s) of this definition, {MIN_POINTS} needed"
        return out
    t, y = points["t"].to_numpy(float), np.log(points["value"].to_numpy(float))
    res = _fit(t, y)
    p, mean, se = _prob(res, year, math.log(target), direction)
    q = stats.t.ppf(0.5 + level / 2, df=res.df_resid)
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(float(res.scale))
    sims = []
    for _ in range(draws):
        ys = res.fittedvalues + rng.normal(0.0, sigma, size=n)
        sims.append(_prob(_fit(t, ys), year, math.log(target), direction)[0])
    lo, hi = np.quantile(sims, INTERVAL)
    out.update(probability=p, probability_lower=float(lo), probability_upper=float(hi),
               slope=float(res.params[1]), slope_se=float(res.bse[1]), sigma=sigma, projected=math.exp(mean),
               projected_lower=math.exp(mean - q * se), projected_upper=math.exp(mean + q * se), reason="")
    return out


def loglinear_path(points: pd.DataFrame, years, level: float = 0.8) -> pd.DataFrame:
    """Point and ``level`` predictive interval of the log-linear fit at ``years`` (``year, point, lower, upper``)."""
    t, y = points["t"].to_numpy(float), np.log(points["value"].to_numpy(float))
    res = _fit(t, y)
    yrs = np.asarray(list(years), float)
    frame = res.get_prediction(sm.add_constant(yrs, has_constant="add")).summary_frame(alpha=1 - level)
    return pd.DataFrame({"year": yrs.astype(int), "point": np.exp(frame["mean"].to_numpy()),
                         "lower": np.exp(frame["obs_ci_lower"].to_numpy()),
                         "upper": np.exp(frame["obs_ci_upper"].to_numpy()), "level": level})


def verdict(latest: float, target: float, g_req: float, growth: pd.Series, direction: str = "at_least") -> str:
    """Met (latest already on the right side of ``target``), on track (``g_req`` no harder than the
    mean observed growth), needs faster growth than ever observed (harder than the best observed),
    in between; "no observed growth to compare" with one point."""
    done = latest >= target if direction == "at_least" else latest <= target
    if done:
        return "met"
    g = growth.dropna()
    if g.empty or math.isnan(g_req):
        return "no observed growth to compare"
    if direction == "at_least":
        return ("on track" if g_req <= g.mean() else
                "needs faster growth than ever observed" if g_req > g.max() else "in between")
    return ("on track" if g_req >= g.mean() else
            "needs faster growth than ever observed" if g_req < g.min() else "in between")


def feasibility(obs: pd.DataFrame, target: pd.Series, *, seed: int = 20261207) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The feasibility row of one target (``indicator`` = a base variable; ``year``, ``value``,
    ``direction``), its points and its observed growth rates."""
    base, T, Y = str(target["indicator"]), float(target["value"]), float(target["year"])
    direction = str(target.get("direction", "at_least"))
    pts = series_points(obs, base)
    if pts.empty:
        raise DataError(f"target {base!r} {int(Y)}: no published point of this definition in the data "
                        "(year-to-date, quarter, undated and suspect rows are never used).")
    last = pts.iloc[-1]
    g_req = required_growth(T, float(last["value"]), Y, float(last["t"]))
    gr = observed_growth(pts)
    if Y <= float(last["t"]):
        prob = {"reason": "the target year is not after the latest published point: that value answers it"}
        prob.update({k: math.nan for k in ("probability", "probability_lower", "probability_upper", "slope",
                                           "sigma", "projected", "projected_lower", "projected_upper")})
    else:
        prob = loglinear_probability(pts, T, Y, direction=direction, seed=seed)
    row = {"indicator": base, "year": int(Y), "target": T, "direction": direction, "n_points": len(pts),
           "first_t": float(pts["t"].iloc[0]), "latest_t": float(last["t"]), "latest_variable": last["variable"],
           "latest": float(last["value"]), "latest_flag": last["flag"] if pd.notna(last["flag"]) else "",
           "required_growth": g_req, "observed_growth_mean": float(gr["growth"].mean()) if len(gr) else math.nan,
           "observed_growth_sd": float(gr["growth"].std(ddof=1)) if len(gr) > 1 else math.nan,
           "observed_growth_min": float(gr["growth"].min()) if len(gr) else math.nan,
           "observed_growth_max": float(gr["growth"].max()) if len(gr) else math.nan,
           "observed_spans": "; ".join(f"{a:.2f}-{b:.2f}: {g:+.1%}" for a, b, g in
                                       zip(gr["from_t"], gr["to_t"], gr["growth"])),
           **{k: prob[k] for k in ("probability", "probability_lower", "probability_upper", "slope", "sigma",
                                   "projected", "projected_lower", "projected_upper")},
           "no_probability_reason": prob.get("reason", "")}
    row["verdict"] = verdict(row["latest"], T, g_req, gr["growth"], direction)
    return row, pts.assign(indicator=base), gr.assign(indicator=base)
