"""The planner's brief as data: the numbers the report's opening sentences state, from the run's tables.

:func:`brief_table` reads the parts of a run (forecasts, scenarios, regression, state targets)
and returns one row per fact of the brief (``planning/brief.csv``); the report renders one
sentence per topic from it (:mod:`kzmig.reporting.brief`). Every threshold is a constant here:

* :data:`TOP_REGIONS` regions gaining and losing most, ranked by the sum of the point forecasts
  of net migration over the forecast years (the last year's value with its interval beside it);
* :data:`LEVEL`: the interval stated beside every number (95 %); an effect whose interval
  holds zero (``spans_zero``) is "not distinguishable from zero" and never ranked or headlined;
* :data:`EXPECTED_SIGN`: the direction METHOD.md section 4 expects of each factor on net
  migration (higher wages, income, output and services attract; unemployment repels); a sign
  against it is flagged (``against_expected``).

Topics (``topic``): ``region_gain``, ``region_loss``, ``national_net``, ``national_arrivals``,
``national_departures``, ``population``, ``scenario`` (one row per scenario and shifted
region), ``factor`` (the scenario model's terms), ``state_target`` (one row per target of the
feasibility table).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from kzmig.features.data.regions import NATIONAL
from kzmig.studies.base import StudyResult

#: regions named as gaining and as losing most
TOP_REGIONS = 3
#: level of the interval stated beside every number of the brief
LEVEL = 0.95
#: expected sign of each factor's effect on net migration (METHOD.md section 4); 0 = no expectation
EXPECTED_SIGN: dict[str, int] = {
    "unemployment_rate_pct": -1, "wage_rel_national_pct": 1, "income_rel_national_pct": 1,
    "grp_rel_national_pct": 1, "doctors_per_10000": 1, "log_pop_density_km2": 0,
    "pop_density_km2": 0, "housing_per_capita_m2": 1, "new_housing_per_1000": 1, "poverty_rate_pct": -1,
}
BRIEF_COLUMNS = ("topic", "rank", "group", "subject", "first_year", "year", "value", "lower", "upper", "level",
                 "total", "base", "base_year", "spans_zero", "expected_sign", "against_expected", "verdict", "note")


def _tag(level: float) -> str:
    return f"{round(100.0 * float(level), 6):g}"


def spans_zero(lower: float, upper: float) -> bool:
    """True when the interval [lower, upper] holds zero (or a bound is missing)."""
    if lower is None or upper is None or (isinstance(lower, float) and math.isnan(lower)) \
            or (isinstance(upper, float) and math.isnan(upper)):
        return True
    return bool(lower <= 0.0 <= upper)


def base_feature(term: str) -> str:
    """``income_rel_national_pct_lag1`` -> ``income_rel_national_pct``."""
    head, sep, tail = str(term).rpartition("_lag")
    return head if sep and tail.isdigit() else str(term)


def expected_sign(term: str) -> int:
    """The sign METHOD.md section 4 expects of ``term`` (a feature, lagged or not), 0 if none."""
    return EXPECTED_SIGN.get(base_feature(term), 0)


def against_expected(term: str, lower: float, upper: float, estimate: float) -> bool:
    """The estimate's sign runs against :func:`expected_sign` (whether or not its interval holds zero)."""
    e = expected_sign(term)
    return bool(e != 0 and np.sign(estimate) == -e)


def _row(**kw) -> dict:
    row = {c: None for c in BRIEF_COLUMNS}
    row.update(kw)
    return row


def _selected(forecasts: pd.DataFrame, target: str, region: str | None = None) -> pd.DataFrame:
    f = forecasts.loc[(forecasts["target"] == target) & forecasts["selected"].astype(bool)]
    if region is not None:
        f = f.loc[f["region"] == region]
    return f


def _at(f: pd.DataFrame, year: int, level: float = LEVEL) -> tuple[float, float, float]:
    """Point and the ``level`` bounds of one (target, region) at ``year`` (NaN bounds when not stored)."""
    y = f.loc[f["year"] == year]
    if y.empty:
        return math.nan, math.nan, math.nan
    point = float(y["point"].iloc[0])
    b = y.loc[np.isclose(y["level"].astype(float), level)]
    if b.empty:
        return point, math.nan, math.nan
    return point, float(b["lower"].iloc[0]), float(b["upper"].iloc[0])


def _regions(forecasts: pd.DataFrame, target: str = "net_migration") -> list[dict]:
    f = _selected(forecasts, target)
    f = f.loc[f["region"] != NATIONAL]
    if f.empty:
        return []
    first, last = int(f["year"].min()), int(f["year"].max())
    points = f.drop_duplicates(["region", "year"]).groupby("region")["point"].sum().sort_values(ascending=False)
    rows = []
    n = min(TOP_REGIONS, len(points) // 2)
    for topic, chosen in (("region_gain", points.index[:n]), ("region_loss", points.index[::-1][:n])):
        for rank, region in enumerate(chosen, start=1):
            total = float(points[region])
            if (topic == "region_gain" and total <= 0) or (topic == "region_loss" and total >= 0):
                continue  # a region without net gain is not "gaining", whatever its rank
            v, lo, hi = _at(f.loc[f["region"] == region], last)
            rows.append(_row(topic=topic, rank=rank, group=target, subject=region, first_year=first, year=last,
                             value=v, lower=lo, upper=hi, level=LEVEL, total=total, spans_zero=spans_zero(lo, hi)))
    return rows


def _national(forecasts: pd.DataFrame, history: pd.DataFrame | None) -> list[dict]:
    rows = []
    net = _selected(forecasts, "net_migration", NATIONAL)
    year = int(net["year"].max()) if len(net) else None
    for topic, target in (("national_net", "net_migration"), ("national_arrivals", "external_arrivals"),
                          ("national_departures", "external_departures")):
        f = _selected(forecasts, target, NATIONAL)
        if f.empty:
            continue
        y = year if year is not None and (f["year"] == year).any() else int(f["year"].max())
        v, lo, hi = _at(f, y)
        rows.append(_row(topic=topic, group=target, subject=NATIONAL, first_year=int(f["year"].min()), year=y,
                         value=v, lower=lo, upper=hi, level=LEVEL, spans_zero=spans_zero(lo, hi)))
    pop = _selected(forecasts, "population", NATIONAL)
    if len(pop):
        y = int(pop["year"].max())
        v, lo, hi = _at(pop, y)
        base, base_year = math.nan, None
        if history is not None and "population" in history.columns:
            h = history.loc[(history["region"] == NATIONAL) & history["population"].notna()]
            h = h.loc[h["year"] < pop["year"].min()] if len(h) else h
            if len(h):
                last = h.sort_values("year").iloc[-1]
                base, base_year = float(last["population"]), int(last["year"])
        rows.append(_row(topic="population", group="population", subject=NATIONAL, first_year=int(pop["year"].min()),
                         year=y, value=v, lower=lo, upper=hi, level=LEVEL, base=base, base_year=base_year,
                         total=v - base if not math.isnan(base) else math.nan))
    return rows


def _scenarios(parts: Mapping[str, StudyResult], shifted: Mapping[str, Iterable[str]]) -> list[dict]:
    if "scenarios" not in parts or "scenario_effects" not in parts["scenarios"].tables:
        return []
    eff = parts["scenarios"].tables["scenario_effects"]
    lo_col, hi_col = f"effect_lower_{_tag(LEVEL)}", f"effect_upper_{_tag(LEVEL)}"
    if lo_col not in eff.columns:
        return []
    rows = []
    for name, e in eff.groupby("scenario", sort=False):
        year = int(e["year"].max())
        last = e.loc[e["year"] == year]
        regions = [r for r in shifted.get(str(name), ()) if (last["region"] == r).any()]
        if not regions:
            regions = list(last["region"])
        for region in regions:
            r = last.loc[last["region"] == region].iloc[0]
            lo, hi = float(r[lo_col]), float(r[hi_col])
            rows.append(_row(topic="scenario", group=str(name), subject=region, first_year=int(e["year"].min()),
                             year=year, value=float(r["effect_point"]), lower=lo, upper=hi, level=LEVEL,
                             spans_zero=spans_zero(lo, hi)))
    return rows


def factor_table(coefficients: pd.DataFrame, bootstrap: pd.DataFrame | None, *, target: str, model: str,
                 level: float = LEVEL) -> pd.DataFrame:
    """The terms of one regression model with their ``level`` interval, whether it spans zero and
    whether the sign runs against METHOD.md section 4 (wild bootstrap bounds where the study has them).

    Returns ``term, estimate, lower, upper, source, spans_zero, expected_sign, against_expected``.
    """
    c = coefficients.loc[(coefficients["target"] == target) & (coefficients["model"] == model)]
    if "requested_cov" in c.columns and len(c):
        c = c.loc[c["requested_cov"] == c["requested_cov"].iloc[0]]
    c = c.loc[~c["term"].astype(str).str.lower().isin(["const", "intercept"])]
    q = float(stats.norm.ppf(0.5 + level / 2))
    boot = {}
    if bootstrap is not None and len(bootstrap) and {"conf_low", "conf_high"} <= set(bootstrap.columns):
        b = bootstrap.loc[(bootstrap["target"] == target) & (bootstrap["model"] == model)]
        boot = {str(r.term): (float(r.conf_low), float(r.conf_high)) for r in b.itertuples(index=False)
                if pd.notna(r.conf_low) and pd.notna(r.conf_high)}
    rows = []
    for r in c.itertuples(index=False):
        term, est = str(r.term), float(r.estimate)
        if term in boot:
            lo, hi, source = *boot[term], "wild cluster bootstrap"
        else:
            lo, hi, source = est - q * float(r.std_error), est + q * float(r.std_error), "normal"
        rows.append({"term": term, "estimate": est, "lower": lo, "upper": hi, "source": source,
                     "spans_zero": spans_zero(lo, hi), "expected_sign": expected_sign(term),
                     "against_expected": against_expected(term, lo, hi, est)})
    return pd.DataFrame(rows, columns=["term", "estimate", "lower", "upper", "source", "spans_zero",
                                       "expected_sign", "against_expected"])


def _factors(parts: Mapping[str, StudyResult], target: str | None, model: str | None) -> list[dict]:
    if "regression" not in parts or target is None or model is None:
        return []
    t = parts["regression"].tables
    if "coefficients" not in t:
        return []
    f = factor_table(t["coefficients"], t.get("wild_bootstrap"), target=target, model=model)
    return [_row(topic="factor", group=model, subject=r.term, value=r.estimate, lower=r.lower, upper=r.upper,
                 level=LEVEL, spans_zero=r.spans_zero, expected_sign=r.expected_sign,
                 against_expected=r.against_expected, note=r.source) for r in f.itertuples(index=False)]


def _state_targets(parts: Mapping[str, StudyResult]) -> list[dict]:
    if "targets" not in parts or "feasibility" not in parts["targets"].tables:
        return []
    rows = []
    for r in parts["targets"].tables["feasibility"].itertuples(index=False):
        rows.append(_row(topic="state_target", group=str(r.direction), subject=str(r.indicator), year=int(r.year),
                         value=float(r.probability), lower=float(r.probability_lower),
                         upper=float(r.probability_upper), level=0.9, total=float(r.target), base=float(r.latest),
                         base_year=float(r.latest_t), verdict=str(r.verdict), note=str(r.no_probability_reason or "")))
    return rows


def brief_table(parts: Mapping[str, StudyResult], forecasts: pd.DataFrame, history: pd.DataFrame | None = None, *,
                shifted: Mapping[str, Iterable[str]] | None = None, scenario_model: tuple[str, str] | None = None
                ) -> pd.DataFrame:
    """The facts of the brief (module notes), one row each.

    Parameters
    ----------
    parts : mapping of str to StudyResult
        The run's parts (``scenarios``, ``regression``, ``targets`` are read when present).
    forecasts : DataFrame
        Every forecast of the run, long (:func:`kzmig.studies.planning.run_forecasts`).
    history : DataFrame, optional
        Published values, wide (:func:`kzmig.studies.planning.history_table`): the base of the
        population change.
    shifted : mapping of str to iterable of str, optional
        Scenario -> the regions its shifts move (the others only receive the offsetting flows).
    scenario_model : (outcome, model), optional
        The regression model that carries the scenarios: its terms are the ``factor`` rows.
    """
    outcome, model = scenario_model if scenario_model is not None else (None, None)
    rows = (_regions(forecasts) + _national(forecasts, history) + _scenarios(parts, shifted or {})
            + _factors(parts, outcome, model) + _state_targets(parts))
    out = pd.DataFrame(rows, columns=list(BRIEF_COLUMNS))
    for c in ("spans_zero", "against_expected"):
        out[c] = out[c].astype("boolean")
    return out
