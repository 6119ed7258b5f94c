"""The planning data of a run, from its parts: the tables and facts the planning outputs show.

:func:`planning_part` takes the results of a run's studies and returns the ``planning`` part
(``national_consistency``: the national net migration forecast beside external arrivals minus
departures). The functions here gather what the planning outputs need from the parts (every
target's forecasts and backtest accuracy, the published history, break years, scenario lines,
the selected models against the naive baseline, honest accuracy, coverage caveats); all are
functions of tables. :mod:`kzmig.reporting.planning_run` renders the workbook
(``planning/forecast_tables.xlsx`` and ``.csv``), the charts and ``report.html`` from them when
the run is saved, with the run id and creation time of the run folder.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from kzmig.config.run_config import RunConfig
from kzmig.features.data.regions import NATIONAL
from kzmig.studies.accounts import run_account, scenario_account
from kzmig.studies.base import StudyResult
from kzmig.studies.forecast import study_panel

METHOD = ("Each target is forecast by the model with the lowest mean absolute scaled error in a rolling-origin "
          "backtest over earlier years (naive, mean of recent years and historic baselines included); intervals "
          "are conformal (from the backtest errors) or model-based, and regional forecasts are reconciled to the "
          "national total. Population follows from the balancing equation P(t+1) = P(t) + natural increase + "
          "net migration, with a drift of the natural-increase rate.")
BREAKS = ("Regional net migration 2000-2022 is derived by the balancing equation; years with a census "
          "re-basing (2008, the year before the 2009 census; 2021) or a territory transfer (Almaty 2014, "
          "Astana 2017) carry a break flag: models bridge them when fitting, backtests score them as published.")
#: what the shipped data cannot answer (data/README.md, "gaps") and no table measures, for the notes and the
#: report; the gaps a table measures are statements of :func:`data_coverage` (rendered by the reporting layer)
GAPS = (
    "Foreign students, work permits, labour emigrants and kandas: only sparse press and ministry figures (SOURCES.md "
    "Round 6), answered by the feasibility of the state targets (targets/feasibility.csv), not as annual series.",
)
#: series whose coverage the notes and the report state, read from the dataset of the run:
#: (name, variables (the first one present is read), what is counted: "regional" years with a value for
#: at least one region, "national" years of the national row, "annual_groups" years in which one of the
#: variables starting with the prefix has a full-year value)
COVERAGE = (
    ("regional_flows", ("interregional_arrivals", "interregional_departures"), "regional"),
    ("regional_wages", ("avg_wage_kzt",), "regional"),
    ("regional_income", ("money_income_per_capita_kzt",), "regional"),
    ("partner_flows", ("external_arrivals_from_cis", "external_departures_to_cis"), "national"),
    ("specialty_flows", ("external_departures_specialty_",), "annual_groups"),
    ("education_flows", ("external_departures_education_", "external_departures_15plus_education_"), "annual_groups"),
)
#: fewer years than this and a series is "too short to forecast alone" in the statements
SHORT_SERIES = 8
#: suffixes of part-year variables, never counted as an annual value
PART_YEAR = ("_jan_jun", "_jan_sep", "_jan_jul", "_jan_oct", "_q1", "_q2", "_q3", "_q4", "_ytd")


def data_coverage(observations: pd.DataFrame | None) -> pd.DataFrame:
    """What the dataset holds of each series of :data:`COVERAGE`, one row each.

    Returns
    -------
    DataFrame
        ``name``, ``variable`` (the one read, or the prefix), ``count`` (how years are counted),
        ``first_year``, ``last_year``, ``n_years`` (distinct years with a value; 0 and NaN years
        when the dataset lacks the series), ``regions`` (regions with a value, national row
        excluded), ``short`` (fewer than :data:`SHORT_SERIES` years).
    """
    rows = []
    obs = observations if observations is not None else pd.DataFrame(columns=["region", "year", "variable", "value"])
    variables = obs["variable"].astype(str)
    for name, candidates, count in COVERAGE:
        if count == "annual_groups":
            mask = variables.str.startswith(tuple(candidates)) & ~variables.str.endswith(PART_YEAR)
            used = candidates[0]
        else:
            used = next((v for v in candidates if (variables == v).any()), candidates[0])
            mask = variables == used
        o = obs.loc[mask & obs["value"].notna()]
        if count == "regional":
            o = o.loc[o["region"] != NATIONAL]
        elif count == "national":
            o = o.loc[o["region"] == NATIONAL]
        years = sorted(int(y) for y in o["year"].unique())
        rows.append({"name": name, "variable": used, "count": count,
                     "first_year": years[0] if years else None, "last_year": years[-1] if years else None,
                     "n_years": len(years), "regions": int(o.loc[o["region"] != NATIONAL, "region"].nunique()),
                     "short": len(years) < SHORT_SERIES})
    out = pd.DataFrame(rows, columns=["name", "variable", "count", "first_year", "last_year", "n_years", "regions",
                                      "short"])
    return out.astype({"first_year": "Int64", "last_year": "Int64"})


#: the variables whose vintage (latest year) the cover sheet and the report state, with the targets'
KEY_VARIABLES = ("population", "births", "deaths", "natural_increase", "net_migration", "interregional_net",
                 "unemployment_rate_pct", "money_income_per_capita_kzt", "external_arrivals", "external_departures")


def forecast_parts_table(parts: Mapping[str, StudyResult], table: str) -> pd.DataFrame:
    """``table`` of every forecasting part (``forecast/<study>``) stacked; empty when none has it."""
    frames = [p.tables[table] for key, p in parts.items() if key.startswith("forecast/") and table in p.tables
              and len(p.tables[table])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def history_table(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Published values of every target, wide (region, year, one column per target)."""
    out = None
    for key, p in parts.items():
        if key.startswith("forecast/") and "history" in p.tables:
            h = p.tables["history"]
            out = h if out is None else out.merge(h, on=["region", "year"], how="outer",
                                                  suffixes=("", f"_{key.split('/')[1]}"))
    return out if out is not None else pd.DataFrame(columns=["region", "year"])


def breaks_table(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Break years (``target, region, year, flag``) of every forecasting part."""
    frames = [p.tables["breaks"] for key, p in parts.items() if key.startswith("forecast/") and "breaks" in p.tables]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["target", "region", "year"])


def scenario_lines(parts: Mapping[str, StudyResult]) -> pd.DataFrame | None:
    """``scenario, target, region, year, point`` of every scenario (one row per year), or None."""
    if "scenarios" not in parts:
        return None
    sc = parts["scenarios"].tables["scenario_forecasts"]
    sc = sc.loc[sc["level"] == sc["level"].min()] if sc["level"].notna().any() else sc
    return sc[["scenario", "target", "region", "year", "point"]].drop_duplicates().reset_index(drop=True)


def chosen_models(accuracy: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Selected model per target with its backtest MASE beside the naive baseline's (all horizons)."""
    if accuracy.empty:
        return pd.DataFrame()
    agg = accuracy.loc[accuracy["region"].isin(["all_regions", "all_series"]) & (accuracy["horizon"] > 0)]
    mean = agg.groupby(["target", "model"])["mase"].mean()
    rows = []
    for t in targets.itertuples(index=False):
        if t.target not in mean.index.get_level_values(0):
            continue
        m = mean.loc[t.target]
        rows.append({"target": t.target, "selected": t.model, "mase_selected": m.get(t.model),
                     "mase_naive": m.get("naive"), "models_compared": len(m)})
    return pd.DataFrame(rows)


def honest_accuracy(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Nested selection against the three baselines, per target (from ``accuracy_honest``)."""
    rows = []
    for key, part in parts.items():
        h = part.tables.get("accuracy_honest")
        if h is None or h.empty:
            continue
        agg = h.loc[h["aggregate"].isin(["all_regions", "all_series"]) & (h["model"] == "nested_selection")]
        for r in agg.itertuples(index=False):
            rows.append({"target": r.target, "cells": r.cells, "mase_nested": r.mase,
                         **{f"vs {b}": f"{getattr(r, f'ratio_{b}'):.3f} [{getattr(r, f'ratio_{b}_lo'):.3f}, "
                                       f"{getattr(r, f'ratio_{b}_hi'):.3f}]"
                            for b in ("naive", "mean", "historic") if pd.notna(getattr(r, f"ratio_{b}", None))},
                         "coverage_80": r.coverage_80, "coverage_95": r.coverage_95})
    return pd.DataFrame(rows)


#: below this backtest coverage of the nominal 80 % interval, a target's sheets and charts say so
POOR_COVERAGE = 0.6


#: the caveat of :func:`coverage_caveats` (``{share}``: the measured coverage); the reporting layer translates it
POOR_COVERAGE_TEXT = ("in the backtest only {share} of outcomes fell inside the 80 % interval: the intervals are too "
                      "narrow and the forecast is indicative only")


def poor_coverage(targets: pd.DataFrame, accuracy: pd.DataFrame) -> dict[str, float]:
    """Target -> the backtest coverage of its selected model's 80 % intervals (mean over horizons),
    for the targets below :data:`POOR_COVERAGE`."""
    if accuracy.empty or "coverage_80" not in accuracy:
        return {}
    agg = accuracy.loc[accuracy["region"].isin(["all_regions", "all_series"]) & (accuracy["horizon"] > 0)]
    cov = agg.groupby(["target", "model"])["coverage_80"].mean()
    out = {}
    for t in targets.itertuples(index=False):
        c = cov.get((t.target, t.model))
        if c is not None and pd.notna(c) and c < POOR_COVERAGE:
            out[t.target] = float(c)
    return out


def coverage_caveats(targets: pd.DataFrame, accuracy: pd.DataFrame) -> dict[str, str]:
    """Target -> caveat, for targets whose selected model's 80 % intervals covered fewer than
    :data:`POOR_COVERAGE` of the backtest outcomes (mean over horizons)."""
    return {t: POOR_COVERAGE_TEXT.format(share=f"{c:.0%}") for t, c in poor_coverage(targets, accuracy).items()}


def national_consistency(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The national net migration forecast beside external arrivals - departures (the same quantity
    in the data: arrivals - departures equals the official national net migration), per year."""
    sel = forecasts.loc[forecasts["selected"].astype(bool) & (forecasts["region"] == NATIONAL)]
    pts = sel.drop_duplicates(["target", "year"]).pivot(index="year", columns="target", values="point")
    need = {"net_migration", "external_arrivals", "external_departures"}
    if not need <= set(pts.columns):
        return pd.DataFrame()
    out = pts[sorted(need)].dropna().reset_index()
    out["arrivals_minus_departures"] = out["external_arrivals"] - out["external_departures"]
    out["difference"] = out["net_migration"] - out["arrivals_minus_departures"]
    return out


def account_part(cfg: RunConfig, parts: Mapping[str, StudyResult], source=None) -> StudyResult:
    """The run's account (not saved as a part of its own; the planning part carries its tables).

    Tables of :func:`kzmig.studies.accounts.run_account`; ``metadata["notes"]`` holds its notes
    (what was calibrated, derived, reconciled and what could not be and why). With the run's
    data ``source``, the published population and natural increase of the study that projects
    population let the account run on the stored backtests too."""
    forecasts = forecast_parts_table(parts, "forecasts")
    panel = None
    study = next((s for s in cfg.forecasts.values() if s.population.enabled), None)
    if source is not None and study is not None:
        wide, _ = study_panel(study, source)
        if {"population", "natural_increase"} <= set(wide.columns):
            panel = wide[["region", "year", "population", "natural_increase"]]
    _, tables, notes = run_account(parts, forecasts, history_table(parts), panel=panel)
    return StudyResult(study="account", name=cfg.name, tables=tables, metadata={"notes": list(notes)})


def with_account(parts: Mapping[str, StudyResult], account: StudyResult | None) -> dict[str, StudyResult]:
    """The forecasting parts with their ``forecasts`` replaced by the published (calibrated, coherent) ones."""
    out = {k: p for k, p in parts.items() if k.startswith("forecast/")}
    if account is None or "forecasts_coherent" not in account.tables:
        return out
    published = account.tables["forecasts_coherent"]
    for key, p in out.items():
        fc = p.tables.get("forecasts")
        if fc is None or fc.empty:
            continue
        mine = published.loc[published["target"].isin(set(fc["target"]))]
        keep = fc.loc[~(fc["selected"].astype(bool) & fc["target"].isin(set(mine["target"])))]
        new = pd.concat([keep, mine[[c for c in fc.columns if c in mine.columns]]], ignore_index=True)
        out[key] = dataclasses.replace(p, tables={**p.tables, "forecasts": new})
    return out


def run_forecasts(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Every forecast of a run, long: the forecasting parts' ``forecasts`` and the specialists'.

    The selected rows are the published ones: where the planning part carries the account's
    ``forecasts_coherent`` (calibrated and reconciled), they replace the studies' own."""
    forecasts = forecast_parts_table(parts, "forecasts")
    pub = parts["planning"].tables.get("forecasts_coherent") if "planning" in parts else None
    if pub is not None and len(pub) and len(forecasts):
        keep = forecasts.loc[~(forecasts["selected"].astype(bool) & forecasts["target"].isin(set(pub["target"])))]
        forecasts = pd.concat([keep, pub[[c for c in forecasts.columns if c in pub.columns]]], ignore_index=True)
    if "specialists" in parts and "specialist_forecasts" in parts["specialists"].tables:
        forecasts = pd.concat([forecasts, parts["specialists"].tables["specialist_forecasts"]], ignore_index=True)
    return forecasts


def planning_part(cfg: RunConfig, parts: Mapping[str, StudyResult], account: StudyResult | None = None,
                  observations: pd.DataFrame | None = None) -> StudyResult:
    """The ``planning`` part of a run: the account's tables (``consistency``: every identity x year
    x region; ``forecasts_coherent``; ``account_weights``; ``interval_coverage``;
    ``scenario_account``), ``national_consistency`` (the national net migration forecast beside
    external arrivals minus departures, equal once reconciled), ``brief`` (the facts the report
    opens with, :func:`kzmig.studies.brief.brief_table`, read from the published, coherent
    forecasts) and ``data_coverage`` (what the dataset ``observations`` holds of the series the
    notes speak of, :func:`data_coverage`)."""
    from kzmig.studies.brief import brief_table

    tables = dict(account.tables) if account is not None else {}
    notes = list(account.metadata.get("notes", [])) if account is not None else []
    probe = {**parts, "planning": StudyResult(study="planning", name=cfg.name, tables=tables)}
    forecasts = run_forecasts(probe)
    consistency = national_consistency(forecasts)
    if len(consistency):
        tables["national_consistency"] = consistency
    if "scenarios" in parts and "consistency" in tables:
        sc = scenario_account(parts["scenarios"].tables["scenario_forecasts"], tables["forecasts_coherent"],
                              tables["account_regional"], tables["consistency"])
        if sc is not None:
            tables["scenario_account"], tables["consistency"] = sc
    scenario = getattr(cfg, "scenario", None) or {}
    shifted = {name: [r for sh in block.shifts for r in (sh.regions if sh.regions != "all" else ())]
               for name, block in scenario.items()}
    history = history_table(parts)
    if "population" not in history.columns and observations is not None:  # the published base of the change
        pop = observations.loc[observations["variable"] == "population", ["region", "year", "value"]]
        history = pop.rename(columns={"value": "population"})
    tables["brief"] = brief_table(parts, forecasts, history, shifted=shifted,
                                  scenario_model=(cfg.scenarios.outcome, cfg.scenarios.model) if scenario else None)
    if observations is not None:
        tables["data_coverage"] = data_coverage(observations)
    shifts = {name: [sh.model_dump(mode="json") for sh in block.shifts] for name, block in scenario.items()}
    lang = getattr(getattr(cfg, "run", None), "lang", None)
    return StudyResult(study="planning", name=cfg.name, tables=tables,
                       metadata={**({"lang": lang} if lang else {}), "scenario_shifts": shifts,
                                 "account_notes": notes})
