"""Migration indicators of METHOD.md sections 1 and 6.

* :func:`migration_rates`: net, gross, internal and external rates per 1,000 and 10,000, and the
  migration effectiveness index, per region and year;
* :func:`components_of_change`: population change over a period split into cumulative natural
  increase, cumulative net migration and the balancing residual, with the growth index;
* :func:`target_achievement`: actual against target, read in the target's direction, from a
  user table of targets;
* :func:`same_sign_ratio`: the only ratio of signed quantities this toolkit returns;
* :func:`national_reference`: the national value of an indicator per year (the benchmark of
  the problem flags and of "relative to national" features).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kzmig.features.assessment.balance import next_year_value
from kzmig.core.errors import ConfigError, PanelContractError
from kzmig.core.options import check_option
from kzmig.features.data.panel import KEYS, validate_panel
from kzmig.features.data.regions import NATIONAL

logger = logging.getLogger(__name__)

DENOMINATORS = ("population_avg", "population")
#: directions of a planning target (on the signed value) and what it counts
TARGET_DIRECTIONS = ("at_least", "at_most")
TARGET_MEASURES = ("level", "cumulative")
#: flows of :func:`migration_rates`: output prefix -> columns summed into the numerator
RATE_SOURCES = {
    "net_migration": ("net_migration",),
    "internal_net": ("interregional_net",),
    "external_net": ("external_net",),
    "gross_internal": ("interregional_arrivals", "interregional_departures"),
}


def same_sign_ratio(num, den, *, what: str = "ratio") -> tuple[np.ndarray, np.ndarray]:
    """Divide signed quantities only when both have the same strict sign.

    Parameters
    ----------
    num, den : array-like of float
        Numerator and denominator, aligned.
    what : str
        Name of the ratio, used in the reason text.

    Returns
    -------
    ratio : ndarray of float64
        ``num / den`` where both are non-zero with the same sign, else NaN.
    reason : ndarray of object
        ``""`` where the ratio was computed, else why not (opposite signs, zero, missing).

    Notes
    -----
    METHOD.md section 1 forbids percentage changes of signed quantities: dividing a negative
    balance by a positive one gives meaningless figures (a "4,239 % growth" of a balance).
    """
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    ok = np.isfinite(num) & np.isfinite(den) & (np.sign(num) == np.sign(den)) & (den != 0)
    ratio = np.full(num.shape, np.nan)
    np.divide(num, den, out=ratio, where=ok)
    reason = np.full(num.shape, "", dtype=object)
    reason[~(np.isfinite(num) & np.isfinite(den))] = f"{what}: an input is missing"
    zero = np.isfinite(num) & np.isfinite(den) & ((num == 0) | (den == 0))
    reason[zero] = f"{what}: numerator or denominator is zero"
    opposite = np.isfinite(num) & np.isfinite(den) & (np.sign(num) * np.sign(den) < 0)
    reason[opposite] = f"{what}: numerator and denominator have opposite signs"
    return ratio, reason


def national_reference(
    panel: pd.DataFrame, column: str, *, weight: str | None = "population"
) -> pd.Series:
    """National value of ``column`` per year, indexed by year.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``region``, ``year``, ``column`` and, for the fallback, ``weight``.
    column : str
        Indicator column.
    weight : str or None, default "population"
        Where the national row (``region == "kazakhstan"``) has no value for a year, the
        national value is the ``weight``-weighted mean of the regional values of that year,
        provided every region of that year has both. ``None`` disables the fallback.

    Returns
    -------
    Series of float64
        Indexed by year; NaN where neither source gives a value.

    Notes
    -----
    For per-capita indicators ``x_r = X_r / P_r`` the population-weighted mean
    :math:`\\sum_r P_r x_r / \\sum_r P_r = \\sum_r X_r / \\sum_r P_r` is exactly the national
    per-capita value; for other indicators it is an approximation, logged as such.
    """
    validate_panel(panel, required=(column,), missing="keep", source="national_reference", allow_gaps=True)
    years = np.sort(panel["year"].unique())
    nat = panel.loc[panel["region"] == NATIONAL].set_index("year")[column].reindex(years)
    if weight is None or not nat.isna().any():
        return nat.astype("float64").rename(column)
    if weight not in panel.columns:
        raise PanelContractError(
            f"national_reference: column {weight!r} (weight of the fallback for {column!r}) is absent."
        )
    reg = panel.loc[panel["region"] != NATIONAL, ["year", column, weight]]
    complete = reg.groupby("year")[[column, weight]].apply(lambda g: bool(g.notna().all().all()))
    wsum = (reg[column] * reg[weight]).groupby(reg["year"]).sum(min_count=1)
    agg = (wsum / reg.groupby("year")[weight].sum(min_count=1)).where(complete)
    filled = nat.isna() & agg.reindex(years).notna()
    if filled.any():
        logger.info(
            "national %s: no national row for %d year(s) %s; using the %s-weighted mean of regions",
            column, int(filled.sum()), [int(y) for y in years[filled.to_numpy()]], weight,
        )
    return nat.fillna(agg.reindex(years)).astype("float64").rename(column)


def migration_rates(
    panel: pd.DataFrame, *, per: Sequence[int] = (1000, 10000), denominator: str = "population_avg"
) -> pd.DataFrame:
    """Migration rates and the migration effectiveness index per region and year.

    Parameters
    ----------
    panel : DataFrame
        Wide panel. Needs ``net_migration`` and ``denominator``; uses ``interregional_net``,
        ``external_net``, ``interregional_arrivals`` and ``interregional_departures`` when present.
    per : sequence of int, default (1000, 10000)
        Rate bases; 1,000 is the demographic convention, the source paper quotes 10,000.
    denominator : {"population_avg", "population"}, default "population_avg"
        Average annual population (mean of 1 Jan t and t+1) or 1 Jan population.

    Returns
    -------
    DataFrame
        ``region``, ``year`` and ``{flow}_rate_per_{base}`` for flow in net_migration,
        internal_net, external_net, gross_internal (where the inputs exist), plus
        ``effectiveness_index_internal`` (only where arrivals and departures exist).

    Notes
    -----
    rate = base x flow / population; gross rate = base x (arrivals + departures) / population;
    effectiveness index E = 100 x (arrivals - departures) / (arrivals + departures), in
    [-100, 100]. Gross flows exist only for interregional moves (2022-2024); in a harmonised
    unit formed from several regions they are missing (a move between the parts is an
    interregional arrival before the merge and none after it, so gross flows are not summed).
    """
    check_option("denominator", denominator, DENOMINATORS, owner="migration_rates")
    validate_panel(panel, required=("net_migration", denominator), missing="keep",
                   source="migration_rates", allow_gaps=True)
    out = panel[list(KEYS)].copy()
    pop = panel[denominator].to_numpy(dtype="float64")
    bad_pop = ~(pop > 0) & ~np.isnan(pop)
    if bad_pop.any():
        raise PanelContractError(
            f"migration_rates: column {denominator!r} has {int(bad_pop.sum())} non-positive values, e.g. "
            f"(region={panel['region'][bad_pop].iloc[0]!r}, year={int(panel['year'][bad_pop].iloc[0])})."
        )
    for flow, cols in RATE_SOURCES.items():
        if not set(cols) <= set(panel.columns):
            logger.info("migration_rates: %s not computed, column(s) %s absent", flow, cols)
            continue
        value = sum(panel[c].to_numpy(dtype="float64") for c in cols)
        for base in per:
            out[f"{flow}_rate_per_{base}"] = base * value / pop
    if {"interregional_arrivals", "interregional_departures"} <= set(panel.columns):
        arr = panel["interregional_arrivals"].to_numpy(dtype="float64")
        dep = panel["interregional_departures"].to_numpy(dtype="float64")
        gross = arr + dep
        out["effectiveness_index_internal"] = np.where(gross > 0, 100 * (arr - dep) / np.where(gross > 0, gross, 1), np.nan)
    return out


def balancing_residual(panel: pd.DataFrame) -> pd.DataFrame:
    """Residual of the balancing equation per region and year.

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``population`` (1 Jan), ``natural_increase`` and ``net_migration``.

    Returns
    -------
    DataFrame
        ``region``, ``year``, ``population_next`` (1 Jan of t+1, same region),
        ``balancing_residual`` = P(t+1) - P(t) - N(t) - M(t); NaN where an input is missing.

    Notes
    -----
    A large residual flags a data or border problem (census re-basing, territory transfers),
    not a number to hide. Where net migration is itself derived from the balancing equation
    the residual is zero by construction.
    """
    req = ("population", "natural_increase", "net_migration")
    validate_panel(panel, required=req, missing="keep", source="balancing_residual", allow_gaps=True)
    out = panel[list(KEYS)].copy()
    out["population_next"] = next_year_value(panel, "population").to_numpy()
    out["balancing_residual"] = (
        out["population_next"].to_numpy() - panel["population"].to_numpy()
        - panel["natural_increase"].to_numpy() - panel["net_migration"].to_numpy()
    )
    return out


def _period_row(g: pd.DataFrame, start: int, end: int) -> dict:
    pop = g.set_index("year")["population"]
    flows = g.set_index("year")[["natural_increase", "net_migration"]].reindex(range(start, end + 1))
    p0, p1 = pop.get(start, np.nan), pop.get(end + 1, np.nan)
    reasons = []
    if np.isnan(p0):
        reasons.append(f"no population at 1 Jan {start}")
    if np.isnan(p1):
        reasons.append(f"no population at 1 Jan {end + 1} (end of {end})")
    for col in flows:
        gaps = flows.index[flows[col].isna()].tolist()
        if gaps:
            reasons.append(f"{col} missing in {gaps[0]}" + (f"-{gaps[-1]} ({len(gaps)} years)" if len(gaps) > 1 else ""))
    n = flows["natural_increase"].sum(min_count=len(flows))
    m = flows["net_migration"].sum(min_count=len(flows))
    return {"population_start": p0, "population_end": p1, "natural_increase": n,
            "net_migration": m, "reason": "; ".join(reasons)}


def components_of_change(
    panel: pd.DataFrame, start: int, end: int, *, regions: Sequence[str] | None = None
) -> pd.DataFrame:
    """Components of population change over the years ``start`` .. ``end`` (inclusive).

    Parameters
    ----------
    panel : DataFrame
        Wide panel with ``population`` (1 Jan), ``natural_increase`` and ``net_migration``.
    start, end : int
        First and last year of flows. The period runs from 1 Jan ``start`` to 1 Jan
        ``end + 1`` (= 31 Dec ``end``).
    regions : sequence of str, optional
        Units to report; default every region in the panel. A region without data for the
        period gets a row with NaN values and a ``reason``, it does not stop the others.

    Returns
    -------
    DataFrame
        One row per region: ``population_start``, ``population_end``, ``population_change``,
        ``growth_index`` = 100 x P(end) / P(start), cumulative ``natural_increase`` and
        ``net_migration``, ``balancing_residual`` = change - N - M,
        ``share_natural_increase_pct`` and ``share_net_migration_pct`` (100 x component / change,
        only where component and change have the same sign; else NaN with the reason in
        ``share_reason``), and ``reason`` (why a row is incomplete, ``""`` if complete).

    Notes
    -----
    :math:`P_{end+1} - P_{start} = \\sum_{t=start}^{end} N_t + \\sum_{t=start}^{end} M_t + R`.
    Sums are taken only over complete years: one missing year makes the sum NaN (with the
    year named in ``reason``) rather than a silent partial sum.
    """
    if end < start:
        raise ConfigError(f"components_of_change: end={end} is before start={start}.")
    req = ("population", "natural_increase", "net_migration")
    validate_panel(panel, required=req, missing="keep", source="components_of_change", allow_gaps=True)
    regions = sorted(panel["region"].unique()) if regions is None else list(regions)
    rows = []
    for region in regions:
        g = panel.loc[panel["region"] == region]
        row = _period_row(g, start, end) if len(g) else {"reason": f"region {region!r} not in the panel"}
        rows.append({"region": region, "start": start, "end": end, **row})
    out = pd.DataFrame(rows)
    for c in ("population_start", "population_end", "natural_increase", "net_migration"):
        out[c] = out[c].astype("float64")
    out["population_change"] = out["population_end"] - out["population_start"]
    out["growth_index"] = 100 * out["population_end"] / out["population_start"]
    out["balancing_residual"] = out["population_change"] - out["natural_increase"] - out["net_migration"]
    sn, rn = same_sign_ratio(out["natural_increase"], out["population_change"], what="natural increase share")
    sm, rm = same_sign_ratio(out["net_migration"], out["population_change"], what="net migration share")
    out["share_natural_increase_pct"], out["share_net_migration_pct"] = 100 * sn, 100 * sm
    out["share_reason"] = ["; ".join(x for x in pair if x) for pair in zip(rn, rm)]
    order = ["region", "start", "end", "population_start", "population_end", "population_change",
             "growth_index", "natural_increase", "net_migration", "balancing_residual",
             "share_natural_increase_pct", "share_net_migration_pct", "share_reason", "reason"]
    return out[order]


def target_achievement(actual: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Degree of achievement of target indicators, read in the target's direction.

    Parameters
    ----------
    actual : DataFrame
        Wide panel (``region``, ``year`` and indicator columns).
    targets : DataFrame
        User table with columns ``indicator`` (a column of ``actual``), ``region``, ``year``, the
        target figure as ``target`` (float) or ``value`` (the layout of
        :func:`kzmig.forecast.planning.targets.read_targets`), and optionally ``direction``
        (``"at_least"``, the default, or ``"at_most"``) and ``measure`` (``"level"``, the default,
        or ``"cumulative"``). Other columns (``source`` ...) are kept.

    Returns
    -------
    DataFrame
        ``targets`` with ``direction``, ``actual``, ``achievement_pct``, ``gap``, ``met`` and
        ``reason`` (why ``achievement_pct`` is missing).

    Raises
    ------
    PanelContractError
        If ``targets`` lacks a column, names an indicator absent from ``actual``, or has an
        unknown direction or measure.

    Notes
    -----
    ``direction`` applies to the signed value, as in
    :func:`kzmig.forecast.planning.targets.target_probability`: ``at_least v`` is met when
    actual >= v, ``at_most v`` when actual <= v. So "cut the net outflow to at most 5 per
    1,000" is ``value = -5, direction = at_least``; "at most 30,000 labour emigrants" is
    ``value = 30000, direction = at_most``.

    ``achievement_pct`` is 100 % when the target is met exactly and above 100 % when the actual
    is better than the target in the target's direction; it is a ratio of the two figures,
    computed only when both have the same strict sign (:func:`same_sign_ratio`):

    * a larger magnitude is better (``at_least`` a positive value, ``at_most`` a negative one):
      100 x actual / target;
    * a smaller magnitude is better (``at_least`` a negative value, ``at_most`` a positive one):
      100 x target / actual.

    E.g. a net migration rate of -8.66 against ``at_least -5`` scores 100 x -5 / -8.66 = 57.7 %
    (the outflow is 1.73 times the one allowed); the plain actual / target would give 173 %,
    reading a worse outcome as an over-fulfilment. 40,000 emigrants against ``at_most 30000``
    score 75 %. ``gap`` is the signed distance in the indicator's unit, positive when the
    actual is better than the target (actual - target for ``at_least``, target - actual for
    ``at_most``), and ``met`` is ``gap >= 0``; both are defined when the signs differ and the
    ratio is not. Cumulative targets need the start of the counted period, which the table
    does not give: they get no achievement, with a reason.
    """
    figure = "target" if "target" in targets.columns else "value" if "value" in targets.columns else None
    absent = [c for c in ("indicator", "region", "year") if c not in targets.columns]
    if figure is None:
        absent.append("target")
    if absent:
        raise PanelContractError(f"target_achievement: targets table lacks column(s) {absent}"
                                 + (" (the target figure; 'value' is accepted too)" if figure is None else "")
                                 + f"; found {list(targets.columns)}.")
    unknown = sorted(set(targets["indicator"]) - (set(actual.columns) - set(KEYS)))
    if unknown:
        raise PanelContractError(
            f"target_achievement: indicator(s) {unknown} are not columns of the panel; "
            f"available: {sorted(set(actual.columns) - set(KEYS))}."
        )
    t = targets.reset_index(drop=True).copy()
    t["direction"] = t["direction"].fillna("at_least") if "direction" in t.columns else "at_least"
    measure = t["measure"].fillna("level") if "measure" in t.columns else pd.Series("level", index=t.index)
    for i in t.index:
        where = f"target_achievement: target row {i} ({t.at[i, 'indicator']!r}, {t.at[i, 'region']!r})"
        try:
            check_option("direction", t.at[i, "direction"], TARGET_DIRECTIONS, owner=where)
            check_option("measure", measure.at[i], TARGET_MEASURES, owner=where)
        except ValueError as err:
            raise PanelContractError(str(err)) from None
    validate_panel(actual, required=tuple(sorted(set(targets["indicator"]))), missing="keep",
                   source="target_achievement", allow_gaps=True)
    long = actual.melt(id_vars=list(KEYS), var_name="indicator", value_name="actual")
    out = t.merge(long, on=["indicator", "region", "year"], how="left", validate="many_to_one")
    act = out["actual"].to_numpy(dtype="float64")
    goal = out[figure].to_numpy(dtype="float64")
    at_least = (out["direction"] == "at_least").to_numpy()
    larger_is_better = at_least == (goal > 0)
    num, den = np.where(larger_is_better, act, goal), np.where(larger_is_better, goal, act)
    ratio, reason = same_sign_ratio(num, den, what="achievement")
    cumulative = (measure == "cumulative").to_numpy()
    ratio[cumulative] = np.nan
    reason[cumulative] = "achievement: a cumulative target needs the start of its period, which the table does not give"
    out["achievement_pct"] = 100 * ratio
    gap = np.where(at_least, act - goal, goal - act)
    gap[cumulative] = np.nan
    out["gap"] = gap
    out["met"] = pd.array(np.where(np.isfinite(gap), gap >= 0, pd.NA), dtype="boolean")
    out["reason"] = reason
    return out
