"""The planning outputs of a run, built from its parts: tables, workbook, charts and report.

:func:`planning_parts` takes the results of a run's studies and returns three more parts:
``planning`` (``forecast_tables.xlsx`` and ``forecast_tables.csv``: the selected forecast of
every target by region and year with its 80/95 % variants), ``charts`` (a fan chart per target
and region, a small-multiples overview per target, backtest accuracy per target, the
population projection) and the root part holding ``report.html``. The run id and creation
time go into the workbook cover and the report at write time (:class:`RunInfo`); every table
is otherwise a function of the config and the data.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import pandas as pd

from kzmig.core.atomic import atomic_path
from kzmig.features.regions import NATIONAL
from kzmig.reporting.planning import planning_notes, planning_tables, planning_targets, write_planning_csv
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_overview, plot_population
from kzmig.reporting.planning_workbook import write_planning_workbook
from kzmig.reporting.charts import figure_bytes
from kzmig.reporting.report import FigureBlock, TableBlock, write_report
from kzmig.studies.accounts import run_account
from kzmig.studies.base import StudyResult

logger = logging.getLogger(__name__)

METHOD = ("Each target is forecast by the model with the lowest mean absolute scaled error in a rolling-origin "
          "backtest over earlier years (naive, mean of recent years and historic baselines included); intervals "
          "are conformal (from the backtest errors) or model-based, and regional forecasts are reconciled to the "
          "national total. Population follows from the balancing equation P(t+1) = P(t) + natural increase + "
          "net migration, with a drift of the natural-increase rate.")
BREAKS = ("Regional net migration 2000-2022 is derived by the balancing equation; years with a census "
          "re-basing (2008, the year before the 2009 census; 2021) or a territory transfer (Almaty 2014, "
          "Astana 2017) carry a break flag: models bridge them when fitting, backtests score them as published.")
#: what the shipped data cannot answer (data/README.md, "gaps"), for the notes and the report
GAPS = (
    "Regional arrivals and departures exist only for 2022-2024 (too short to forecast alone).",
    "No annual series of migrants by education or specialty: specialist outflows are composition-based.",
    "No series of foreign students, work permits or labour emigrants; kandas only as secondary press figures.",
    "No flows by non-CIS partner country; partner flows start in 2016.",
    "Regional average wages are annual only for 2020 in the shipped data; money income per capita is the proxy.",
)


#: the variables whose vintage (latest year) the cover sheet and the report state, with the targets'
KEY_VARIABLES = ("population", "births", "deaths", "natural_increase", "net_migration", "interregional_net",
                 "unemployment_rate_pct", "money_income_per_capita_kzt", "external_arrivals", "external_departures")


class RunInfo(dict):
    """Run id and creation time, filled when the run folder is written (cover sheet, report)."""


def _concat(parts: Mapping[str, StudyResult], table: str) -> pd.DataFrame:
    frames = [p.tables[table] for key, p in parts.items() if key.startswith("forecast/") and table in p.tables
              and len(p.tables[table])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _history(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Published values of every target, wide (region, year, one column per target)."""
    out = None
    for key, p in parts.items():
        if key.startswith("forecast/") and "history" in p.tables:
            h = p.tables["history"]
            out = h if out is None else out.merge(h, on=["region", "year"], how="outer",
                                                  suffixes=("", f"_{key.split('/')[1]}"))
    return out if out is not None else pd.DataFrame(columns=["region", "year"])


def _breaks(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    frames = [p.tables["breaks"] for key, p in parts.items() if key.startswith("forecast/") and "breaks" in p.tables]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["target", "region", "year"])


def _scenario_lines(parts: Mapping[str, StudyResult]) -> pd.DataFrame | None:
    """``scenario, target, region, year, point`` of every scenario (one row per year), or None."""
    if "scenarios" not in parts:
        return None
    sc = parts["scenarios"].tables["scenario_forecasts"]
    sc = sc.loc[sc["level"] == sc["level"].min()] if sc["level"].notna().any() else sc
    return sc[["scenario", "target", "region", "year", "point"]].drop_duplicates().reset_index(drop=True)


def _charts(forecasts, history, accuracy, targets, breaks, parts) -> dict:
    studied = {k.removeprefix("forecast_"): f for p in parts.values() for k, f in p.figures.items()
               if k.startswith("forecast_")}
    figures = {}
    for t in targets.itertuples(index=False):
        brk = breaks.loc[breaks["target"] == t.target] if len(breaks) else None
        regions = sorted(set(forecasts.loc[forecasts["target"] == t.target, "region"]))
        if t.target == "population":
            figures["population"] = plot_population(history, forecasts)
        elif len(regions) > 1:  # the forecasting study drew it already
            figures[f"overview_{t.target}"] = studied.get(t.target) or plot_overview(history, forecasts, t.target,
                                                                                     breaks=brk)
        lines = _scenario_lines(parts)
        for region in regions:
            fig = plot_fan(history, forecasts, t.target, region, breaks=brk, scenarios=lines)
            if t.caveat:  # composition-based estimates say so on the chart itself
                fig.text(0.01, 0.005, f"Caveat: {t.caveat}", fontsize=7, color="#a50f15", wrap=True)
            figures[f"fan_{t.target}_{region}"] = fig
        acc = accuracy.loc[accuracy["target"] == t.target] if len(accuracy) else accuracy
        if len(acc):
            aggregate = "all_regions" if (acc["region"] == "all_regions").any() else "all_series"
            figures[f"accuracy_{t.target}"] = plot_accuracy(accuracy, t.target, selected=t.model, region=aggregate)
    return figures


def _chosen_models(accuracy: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
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


def _honest(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
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


def _report_sections(parts, targets, accuracy, figures, notes_text, png) -> list:
    def figure(fig, alt: str) -> FigureBlock:  # embeds the PNG the charts part rendered, when it did
        return FigureBlock(fig, alt=alt, png=png.get(alt))

    sections = []
    if "assessment" in parts:
        a = parts["assessment"].tables
        pop = a["population_change"]
        keep = [c for c in ("region", "growth_index", "natural_increase", "net_migration",
                            "net_migration_excl_skipped", "group", "group_label") if c in pop.columns]
        trends = a["migration_trends"].query("flow == 'total'")[["region", "start_rate", "end_rate", "type"]]
        sections.append(("Headline of the assessment", [
            parts["assessment"].metadata.get("convention", ""),
            TableBlock(pop[keep], caption="Population change and stage 1 group (net migration without the break "
                                          "years decides the group)",
                       formats={c: "{:,.0f}" for c in ("natural_increase", "net_migration", "net_migration_excl_skipped")}),
            TableBlock(trends, caption="Stage 3: net migration trend type (total flow)")]))
    if "regression" in parts:
        coef = parts["regression"].tables["coefficients"]
        main = coef.loc[coef["requested_cov"] == coef["requested_cov"].iloc[0],
                        ["target", "model", "term", "estimate", "std_error", "p_value"]]
        blocks: list[Any] = [TableBlock(main, caption="Coefficients (first covariance of the study)")]
        if "wild_bootstrap" in parts["regression"].tables and len(parts["regression"].tables["wild_bootstrap"]):
            blocks.append(TableBlock(parts["regression"].tables["wild_bootstrap"],
                                     caption="Wild cluster bootstrap (trust these with 17 regions)"))
        sections.append(("Regression table", blocks))
    sections.append(("Accuracy and chosen models", [
        TableBlock(_chosen_models(accuracy, targets), caption="Selected model per target: backtest MASE "
                   "(mean over horizons) against the naive forecast; optimistic, since the selection saw these years"),
        TableBlock(_honest(parts), caption="Honest accuracy: a model chosen at each origin from the errors known "
                   "then (nested selection), against the baselines on the same cells; ratio of MASE with a 90 % "
                   "bootstrap interval (a ratio below 1 beats the baseline)", names=False),
        *[figure(f, alt=k) for k, f in figures.items() if k.startswith("accuracy_")]]))
    sections.append(("Forecast charts", [figure(f, alt=k) for k, f in figures.items()
                                         if k.startswith("overview_") or k == "population"
                                         or (k.startswith("fan_") and k.endswith(f"_{NATIONAL}"))]))
    if "specialists" in parts:
        sp = parts["specialists"].tables["specialist_forecasts"]
        last = sp.loc[(sp["year"] == sp["year"].max()) & (sp["level"] == sp["level"].min()),
                      ["target", "year", "point", "lower", "upper", "method", "share_years"]]
        blocks = [parts["specialists"].metadata.get("caveat", ""),
                  TableBlock(last, caption=f"Departures of specialists in {int(sp['year'].max())} "
                                           f"({int(100 * sp['level'].min())} % interval)", names=False)]
        if "assessment" in parts:
            blocks += [figure(f, alt=k) for k, f in parts["assessment"].figures.items() if k.startswith("external_")]
        sections.append(("External flows and specialists", blocks))
    extra = [TableBlock(parts[k].tables[t], caption=f"{k}: {t}") for k in ("scenarios", "targets")
             if k in parts for t in parts[k].tables if t in ("scenario_summary", "target_probabilities")]
    if "scenarios" in parts:  # baseline and scenarios side by side, where a scenario moves migrants
        moved = parts["scenarios"].tables["scenario_summary"]
        change = [c for c in moved.columns if c.endswith("_change")]
        top = moved.assign(_m=moved[change].abs().max(axis=1)).nlargest(3, "_m")["region"] if change else []
        target = str(parts["scenarios"].metadata.get("target", ""))
        extra += [figure(figures[k], alt=k) for k in (f"fan_{target}_{r}" for r in top) if k in figures]
    sections.append(("Scenarios and targets", extra or ["No scenario or target in this run."]))
    sections.append(("What the data could not answer", list(notes_text)))
    return sections


#: below this backtest coverage of the nominal 80 % interval, a target's sheets and charts say so
POOR_COVERAGE = 0.6


def coverage_caveats(targets: pd.DataFrame, accuracy: pd.DataFrame) -> dict[str, str]:
    """Target -> caveat, for targets whose selected model's 80 % intervals covered fewer than
    :data:`POOR_COVERAGE` of the backtest outcomes (mean over horizons)."""
    if accuracy.empty or "coverage_80" not in accuracy:
        return {}
    agg = accuracy.loc[accuracy["region"].isin(["all_regions", "all_series"]) & (accuracy["horizon"] > 0)]
    cov = agg.groupby(["target", "model"])["coverage_80"].mean()
    out = {}
    for t in targets.itertuples(index=False):
        c = cov.get((t.target, t.model))
        if c is not None and pd.notna(c) and c < POOR_COVERAGE:
            out[t.target] = (f"in the backtest only {c:.0%} of outcomes fell inside the 80 % interval: the intervals "
                             "are too narrow and the forecast is indicative only")
    return out


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


def planning_parts(cfg: Any, parts: Mapping[str, StudyResult], data_meta: Mapping, info: MutableMapping
                   ) -> dict[str, StudyResult]:
    """The planning, charts and report parts of a run (see the module docstring)."""
    forecasts = _concat(parts, "forecasts")
    accuracy = _concat(parts, "backtest_metrics")
    for key in ("specialists",):
        if key in parts and "specialist_forecasts" in parts[key].tables:
            forecasts = pd.concat([forecasts, parts[key].tables["specialist_forecasts"]], ignore_index=True)
    history, breaks = _history(parts), _breaks(parts)
    forecasts, account_tables, account_notes = run_account(parts, forecasts, history)  # one account (issue 18)
    tables = planning_tables(forecasts)
    targets = planning_targets(forecasts)
    skipped = [w for p in parts.values() for w in p.warnings if "not forecast" in w]
    gaps = list(GAPS) + skipped + account_notes
    caveats = coverage_caveats(targets, accuracy)
    merged = {t.target: "; ".join(c for c in (t.caveat, caveats.get(t.target, "")) if c)
              for t in targets.itertuples(index=False)}
    targets = targets.assign(caveat=targets["target"].map(merged))
    consistency = national_consistency(forecasts)
    if len(consistency) and consistency["difference"].abs().max() > 0.5:
        last = consistency.iloc[-1]
        gaps.append(f"National net migration is forecast twice: as a series (net_migration: {last['net_migration']:,.0f} "
                    f"in {int(last['year'])}) and as external arrivals minus departures ({last['arrivals_minus_departures']:,.0f});"
                    " the two models disagree (planning/national_consistency.csv) and neither is reconciled to the "
                    "other; the arrivals and departures series are one year longer (to 2025).")
    notes = planning_notes(targets, accuracy, breaks=BREAKS, gaps=gaps)
    vintage = data_meta.get("vintage", {})
    wanted = set(KEY_VARIABLES) | {t for t in targets["target"] if "_specialty_" not in t and "_education_" not in t}
    meta = {"title": f"kzmig planning run {cfg.name}", "method": METHOD,
            "vintage": {k: v for k, v in vintage.items() if k in wanted}}

    def workbook(path) -> None:
        write_planning_workbook(path, tables=tables, accuracy=accuracy, meta={**meta, **info}, notes=notes,
                                targets=targets)

    figures = _charts(forecasts, history, accuracy, targets, breaks, parts)
    png: dict[str, bytes] = {}  # rendered once: written to charts/ and embedded in report.html

    def chart(name):
        def write(path) -> None:
            png[name] = figure_bytes(figures[name])
            with atomic_path(path) as tmp:
                tmp.write_bytes(png[name])
        return write

    def report(path) -> None:
        write_report(path, _report_sections(parts, targets, accuracy, figures, gaps, png),
                     title=meta["title"], meta={**meta, **info})

    return {
        "planning": StudyResult(study="planning", name=cfg.name,
                                tables={**({"national_consistency": consistency} if len(consistency) else {}),
                                        **account_tables},
                                writers={"forecast_tables.xlsx": workbook,
                                         "forecast_tables.csv": lambda path: write_planning_csv(tables, path)}),
        "charts": StudyResult(study="charts", name=cfg.name, tables={},
                              writers={f"{name}.png": chart(name) for name in figures}),
        "": StudyResult(study="report", name=cfg.name, tables={}, writers={"report.html": report}),
    }


def run_info(run_id: str, created_at: dt.datetime) -> dict[str, str]:
    """The run id and creation time as the workbook and report show them."""
    return {"run_id": run_id, "created_at": created_at.isoformat(timespec="seconds")}
