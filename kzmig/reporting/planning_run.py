"""The planning outputs of a run, rendered from its parts when it is saved: workbook, charts, report.

:func:`write_planning` reads a :class:`~kzmig.studies.run.RunResult` (data only) and writes

* ``planning/forecast_tables.xlsx`` and ``planning/forecast_tables.csv``: the selected forecast
  of every target by region and year with its 80/95 % variants;
* ``charts/*.png``: a fan chart per target and region, a small-multiples overview per target,
  backtest accuracy per target, the population projection;
* ``report.html``: the headline tables and charts of every part.

The run id and creation time (a :class:`~kzmig.core.runs.RunStamp`) appear on the workbook's
cover and in the report; every table is otherwise a function of the config and the data.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzmig.core.runs import RunStamp
from kzmig.features.data.regions import NATIONAL
from kzmig.reporting.charts import CAVEAT_COLOUR, add_footnote
from kzmig.reporting.accounts_sheet import SHEET as CONSISTENCY_SHEET
from kzmig.reporting.accounts_sheet import SECTION as ACCOUNT_SECTION
from kzmig.reporting.accounts_sheet import account_blocks, write_consistency_sheet
from kzmig.reporting.planning import planning_notes, planning_tables, planning_targets, write_planning_csv
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_overview, plot_population
from kzmig.reporting.planning_workbook import write_planning_workbook
from kzmig.reporting.report import FigureBlock, TableBlock, write_report
from kzmig.reporting.state_targets import SECTION as STATE_SECTION
from kzmig.reporting.state_targets import SHEET as STATE_SHEET
from kzmig.reporting.state_targets import report_blocks, target_charts, write_state_targets_sheet
from kzmig.studies.accounts import coverage_labels
from kzmig.studies.base import StudyResult
from kzmig.studies.planning import (
    BREAKS,
    GAPS,
    KEY_VARIABLES,
    METHOD,
    breaks_table,
    chosen_models,
    coverage_caveats,
    forecast_parts_table,
    history_table,
    honest_accuracy,
    national_consistency,
    run_forecasts,
    scenario_lines,
)

if TYPE_CHECKING:
    from kzmig.reporting.results import Renderer
    from kzmig.studies.run import RunResult

logger = logging.getLogger(__name__)


def _charts(forecasts, history, accuracy, targets, breaks, parts, renderer: Renderer) -> dict:
    published = parts["planning"].tables.get("forecasts_coherent") if "planning" in parts else None
    moved = set(published["target"]) if published is not None else set()  # the study's own chart is pre-account
    studied = {k.removeprefix("forecast_"): f for p in parts.values() for k, f in p.figures.items()
               if k.startswith("forecast_") and k.removeprefix("forecast_") not in moved}
    figures = {}
    lines = scenario_lines(parts)
    for t in targets.itertuples(index=False):
        brk = breaks.loc[breaks["target"] == t.target] if len(breaks) else None
        regions = sorted(set(forecasts.loc[forecasts["target"] == t.target, "region"]))
        if t.target == "population":
            figures["population"] = plot_population(history, forecasts)
        elif len(regions) > 1:  # the forecasting study declared it already: drawn once for both places
            figures[f"overview_{t.target}"] = (renderer.figure(studied[t.target]) if t.target in studied
                                               else plot_overview(history, forecasts, t.target, breaks=brk))
        for region in regions:
            fig = plot_fan(history, forecasts, t.target, region, breaks=brk, scenarios=lines)
            if t.caveat:  # composition-based estimates say so on the chart itself
                add_footnote(fig, f"Caveat: {t.caveat}", color=CAVEAT_COLOUR)
            figures[f"fan_{t.target}_{region}"] = fig
        acc = accuracy.loc[accuracy["target"] == t.target] if len(accuracy) else accuracy
        if len(acc):
            aggregate = "all_regions" if (acc["region"] == "all_regions").any() else "all_series"
            figures[f"accuracy_{t.target}"] = plot_accuracy(accuracy, t.target, selected=t.model, region=aggregate)
    return figures


def label_coverage(figures: Mapping[str, Any], held: Mapping[str, Mapping[str, str]]) -> None:
    """Add the measured backtest coverage to the band labels (``80%``) of the charts' legends; a band
    with no backtest measure (the 50 % band, population, composition-based groups) says so."""
    for name, fig in figures.items():
        if not hasattr(fig, "legends") or not name.startswith(("fan_", "overview_", "population")):
            continue
        target = next((t for t in sorted(held, key=len, reverse=True)
                       if name == f"overview_{t}" or name.startswith(f"fan_{t}_")), None)
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        for lg in legends:
            for text in lg.get_texts():
                label = text.get_text()
                if not re.fullmatch(r"\d+(\.\d+)?%", label):
                    continue
                measured = held.get(target, {}).get(label[:-1], "") if target else ""
                text.set_text(f"{label} (backtest: {measured.split(' / backtest: ', 1)[-1]})" if measured
                              else f"{label} (not backtested)")


def _report_sections(parts: Mapping[str, StudyResult], targets, accuracy, figures, notes_text,
                     renderer: Renderer) -> list:
    def figure(item, alt: str) -> FigureBlock:  # the PNG rendered once, for charts/ and the report
        return FigureBlock(renderer.figure(item), alt=alt, png=renderer.png(item))

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
        TableBlock(chosen_models(accuracy, targets), caption="Selected model per target: backtest MASE "
                   "(mean over horizons) against the naive forecast; optimistic, since the selection saw these years"),
        TableBlock(honest_accuracy(parts), caption="Honest accuracy: a model chosen at each origin from the errors "
                   "known then (nested selection), against the baselines on the same cells; ratio of MASE with a 90 % "
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


def write_planning(result: RunResult, folder: str | Path, stamp: RunStamp, renderer: Renderer) -> list[Path]:
    """Write the planning workbook and CSV, the charts and ``report.html`` of a run (module docstring)."""
    folder, parts = Path(folder), result.parts
    forecasts = run_forecasts(parts)
    accuracy = forecast_parts_table(parts, "backtest_metrics")
    history, breaks = history_table(parts), breaks_table(parts)
    tables = planning_tables(forecasts)
    targets = planning_targets(forecasts)
    skipped = [w for p in parts.values() for w in p.warnings if "not forecast" in w]
    gaps = list(GAPS) + skipped
    caveats = coverage_caveats(targets, accuracy)
    merged = {t.target: "; ".join(c for c in (t.caveat, caveats.get(t.target, "")) if c)
              for t in targets.itertuples(index=False)}
    targets = targets.assign(caveat=targets["target"].map(merged))
    consistency = national_consistency(forecasts)
    planning = parts["planning"] if "planning" in parts else None
    account = planning.tables if planning is not None else {}
    if len(consistency):
        last = consistency.iloc[-1]
        if consistency["difference"].abs().max() < 0.5:
            gaps.append(f"One national balance: net migration {last['net_migration']:,.0f} in {int(last['year'])} = "
                        f"external arrivals {last['external_arrivals']:,.0f} - departures "
                        f"{last['external_departures']:,.0f}, reconciled in one account (planning/consistency.csv).")
        else:
            gaps.append(f"National net migration is forecast twice: as a series (net_migration: "
                        f"{last['net_migration']:,.0f} in {int(last['year'])}) and as external arrivals minus departures "
                        f"({last['arrivals_minus_departures']:,.0f}); the two models disagree "
                        "(planning/national_consistency.csv) and neither is reconciled to the other.")
    account_notes = list(planning.metadata.get("account_notes", [])) if planning is not None else []
    held = coverage_labels(account["interval_coverage"]) if "interval_coverage" in account else {}
    targets = targets.assign(held=[held.get(t, {}) for t in targets["target"]])
    # the published intervals' coverage (measured on the account's backtest) replaces the study's own figure
    own = accuracy.loc[~accuracy["target"].isin(held)] if len(accuracy) and "target" in accuracy else accuracy
    notes = [(h, t + " Published intervals, coverage in the backtest: " + "; ".join(
        f"{lv} %: {text}" for lv, text in held[h[7:]].items()) + "." if h.startswith("Target ") and held.get(h[7:])
              else t) for h, t in planning_notes(targets, own, breaks=BREAKS, gaps=gaps)]
    if account_notes:
        notes.append(("One account / Согласованность", " ".join(account_notes)))
    vintage = result.metadata.get("data", {}).get("vintage", {})
    wanted = set(KEY_VARIABLES) | {t for t in targets["target"] if "_specialty_" not in t and "_education_" not in t}
    meta = {"title": f"kzmig planning run {result.name}", "method": METHOD,
            "vintage": {k: v for k, v in vintage.items() if k in wanted},
            "run_id": stamp.run_id, **({"created_at": stamp.created_at} if stamp.created_at else {})}

    # the state targets part (issue 20): its own sheet, charts and report section
    state = parts["targets"].tables if "targets" in parts and "feasibility" in parts["targets"].tables else None
    extra = () if state is None else ((STATE_SHEET, "state targets: latest value, required and observed growth, "
                                       "probability, verdict", lambda wb, fm, run_id: write_state_targets_sheet(
                                           wb, fm, state, run_id)),)
    if "consistency" in account:  # the account (issue 18): every identity x year x region, interval coverage
        extra += ((CONSISTENCY_SHEET, "тождества баланса миграции и охват интервалов / identities of the migration "
                   "account and interval coverage", lambda wb, fm, run_id: write_consistency_sheet(
                       wb, fm, account, run_id)),)

    (folder / "planning").mkdir(parents=True, exist_ok=True)
    written = [write_planning_workbook(folder / "planning" / "forecast_tables.xlsx", tables=tables, accuracy=accuracy,
                                       meta=meta, notes=notes, targets=targets, extra_sheets=extra),
               write_planning_csv(tables, folder / "planning" / "forecast_tables.csv")]
    figures = _charts(forecasts, history, accuracy, targets, breaks, parts, renderer)
    label_coverage(figures, held)
    state_figures = target_charts(state) if state is not None else {}
    figures.update(state_figures)
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    renderer.render(figures.values())  # in parallel processes; then written one by one
    written += [renderer.write_png(fig, folder / "charts" / f"{name}.png") for name, fig in figures.items()]
    sections = _report_sections(parts, targets, accuracy, figures, gaps, renderer)
    if account_notes or "consistency" in account:  # the account, before "What the data could not answer"
        sections.insert(len(sections) - 1, (ACCOUNT_SECTION, account_blocks(account, account_notes)))
    if state is not None:  # before "What the data could not answer"
        blocks = report_blocks(state, {})
        blocks += [FigureBlock(renderer.figure(f), alt=k, png=renderer.png(f)) for k, f in state_figures.items()]
        sections.insert(len(sections) - 1, (STATE_SECTION, blocks))
    written.append(write_report(folder / "report.html", sections, title=meta["title"], meta=meta))
    logger.info("planning outputs of %s: %d files written to %s", result.name, len(written), folder)
    return [Path(p) for p in written]
