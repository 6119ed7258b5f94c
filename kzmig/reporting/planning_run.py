"""The planning outputs of a run, rendered from its parts when it is saved: workbook, charts, report.

:func:`write_planning` reads a :class:`~kzmig.studies.run.RunResult` (data only) and writes

* ``planning/forecast_tables.xlsx`` and ``planning/forecast_tables.csv``: the selected forecast
  of every target by region and year with its 80/95 % variants;
* ``charts/*.png``: a fan chart per target and region, a small-multiples overview per target,
  backtest accuracy per target, the population projection;
* ``report.html``: the brief (one sentence per message with its number and interval, from the
  ``brief`` table of the planning part), a section per topic, and the full tables (coefficients,
  every model's accuracy) in a technical appendix.

Everything is written in the run's language (``[run] lang``, ``kzmig run --lang``; Russian by
default), through the catalogue and label table of :mod:`kzmig.reporting.i18n`.

The run id and creation time (a :class:`~kzmig.core.runs.RunStamp`) appear on the workbook's
cover and in the report; every table is otherwise a function of the config and the data.
"""
from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kzmig.core.runs import RunStamp
from kzmig.features.data.regions import NATIONAL
from kzmig.reporting.charts import CAVEAT_COLOUR, add_footnote, widen_for_side_legends
from kzmig.reporting.accounts_sheet import SHEET as CONSISTENCY_SHEET
from kzmig.reporting.accounts_sheet import SECTION as ACCOUNT_SECTION
from kzmig.reporting.accounts_sheet import account_blocks, account_note, write_consistency_sheet
from kzmig.reporting.brief import brief_sentences, coverage_statements, descriptions_of, effect_flag, sign_note
from kzmig.reporting.i18n import N_, _, cell_text, current, label, number, number_text, percent, region_name, using
from kzmig.reporting.planning import planning_notes, planning_tables, planning_targets, write_planning_csv
from kzmig.reporting.planning_workbook import held_text, write_planning_workbook
from kzmig.reporting.report import FigureBlock, TableBlock, write_report
from kzmig.reporting.tables import map_text
from kzmig.reporting.state_targets import SECTION as STATE_SECTION
from kzmig.reporting.state_targets import SHEET as STATE_SHEET
from kzmig.reporting.state_targets import report_blocks, target_charts, write_state_targets_sheet
from kzmig.studies.accounts import coverage_labels
from kzmig.studies.base import Chart, StudyResult, chart
from kzmig.studies.brief import factor_table
from kzmig.studies.planning import (
    BREAKS,
    GAPS,
    KEY_VARIABLES,
    METHOD,
    breaks_table,
    chosen_models,
    POOR_COVERAGE_TEXT,
    forecast_parts_table,
    history_table,
    honest_accuracy,
    national_consistency,
    poor_coverage,
    run_forecasts,
    scenario_lines,
)

if TYPE_CHECKING:
    from kzmig.reporting.results import Renderer
    from kzmig.studies.run import RunResult

logger = logging.getLogger(__name__)


#: section headings of the report, in order (the catalogue translates them)
SECTIONS = {"brief": N_("Key messages"), "regions": N_("Regions: net migration"),
            "population": N_("Population"), "external": N_("External flows and specialists"),
            "scenarios": N_("Scenarios"), "gaps": N_("What the data could not answer"),
            "appendix": N_("Technical appendix")}
BRIEF_NOTE = N_("Generated from this run's tables. Each number is given with its 95 % prediction interval "
                "(state targets: a 90 % interval of the probability); an effect whose 95 % interval holds zero "
                "is flagged as not distinguishable from zero and is not a finding.")
TREND_TYPES = (N_("stable inflow"), N_("weakening inflow"), N_("emerging inflow"), N_("emerging outflow"),
               N_("weakening outflow"), N_("intensifying outflow"))
GROUP_TEXTS = (N_("growth from natural increase and net in-migration"),
               N_("growth from natural increase, net out-migration appearing"),
               N_("growth from natural increase, net out-migration intensifying"),
               N_("population decline: out-migration exceeds natural increase"),
               N_("population decline: out-migration exceeds natural increase (with natural decrease)"),
               N_("growth from net in-migration only (natural decrease)"),
               N_("growth from natural increase, net out-migration over the period, balance back to >= 0 by the end"),
               N_("growth from natural increase, net out-migration easing"),
               N_("growth from natural increase, net in-migration emerging (rate < 0 at the start, >= 0 at the end; "
                  "group 1 read from the end rate)"))


def skipped_text(warning: str) -> str:
    """A forecasting study's "<target>: not forecast: <reason>" in the current language."""
    m = re.match(r"^(?:[\w/]+: )?(\w+): not forecast: no series has the (\d+) years the models need$", warning)
    if m:
        return _("{target}: not forecast: no series has the {n} years the models need", target=label(m.group(1)),
                 n=m.group(2))
    m = re.match(r"^(?:[\w/]+: )?(\w+): not forecast: (.*)$", warning)
    return f"{label(m.group(1))}: {_('not forecast')}: {m.group(2)}" if m else warning


def caveat_text(caveat: str) -> str:
    """A forecast's caveat in the current language: the composition-based estimate's (with the years of its
    shares) or a caveat the catalogue holds; others as written."""
    if not caveat:
        return ""
    m = re.search(r"composition-based estimate: .*? share observed in (.+?)(?: \(|;)", caveat)
    if m and current() != "en":
        return _("composition-based estimate from the share of each group observed in {years}; not a forecast of "
                 "an observed series", years=cell_text(m.group(1)))
    return _(caveat)


def _charts(forecasts, history, accuracy, targets, breaks, parts, held: Mapping[str, Mapping[str, str]]) -> dict:
    """The planning charts as :class:`~kzmig.core.charts.Chart` data of kind ``"planning"`` (the
    plotter's kind and arguments, then :func:`finish_planning_figure`), drawn and rendered in the
    save's worker processes."""
    published = parts["planning"].tables.get("forecasts_coherent") if "planning" in parts else None
    moved = set(published["target"]) if published is not None else set()  # the study's own chart is pre-account
    studied = {k.removeprefix("forecast_"): f for p in parts.values() for k, f in p.figures.items()
               if k.startswith("forecast_") and k.removeprefix("forecast_") not in moved}
    figures = {}
    lines = scenario_lines(parts)
    lang_en = _("Caveat") == "Caveat"

    def planning(name: str, kind: str, *args, caveat: str = "", **kwargs) -> Chart:
        return chart("planning", name, kind, args, kwargs, caveat=caveat, held=held)

    for t in targets.itertuples(index=False):
        brk = breaks.loc[breaks["target"] == t.target] if len(breaks) else None
        regions = sorted(set(forecasts.loc[forecasts["target"] == t.target, "region"]))
        if t.target == "population":
            figures["population"] = planning("population", "population", history, forecasts)
        elif len(regions) > 1:  # the forecasting study's English chart (already rendered) serves an English report only
            name = f"overview_{t.target}"
            figures[name] = (studied[t.target] if t.target in studied and lang_en
                             else planning(name, "overview", history, forecasts, t.target, breaks=brk))
        for region in regions:
            name = f"fan_{t.target}_{region}"  # composition-based estimates say so on the chart itself
            figures[name] = planning(name, "fan", history, forecasts, t.target, region, breaks=brk, scenarios=lines,
                                     caveat=f"{_('Caveat')}: {t.caveat}" if t.caveat else "")
        acc = accuracy.loc[accuracy["target"] == t.target] if len(accuracy) else accuracy
        if len(acc):
            aggregate = "all_regions" if (acc["region"] == "all_regions").any() else "all_series"
            figures[f"accuracy_{t.target}"] = planning(f"accuracy_{t.target}", "accuracy", accuracy, t.target,
                                                       selected=t.model, region=aggregate)
    return figures


def finish_planning_figure(fig, name: str, *, caveat: str = "", held: Mapping[str, Mapping[str, str]] | None = None):
    """Finish planning chart ``name`` once drawn: the caveat under it (in red) and the measured backtest
    coverage on its band labels (:func:`label_coverage`). Returns ``fig``."""
    if caveat:
        add_footnote(fig, caveat, color=CAVEAT_COLOUR)
    label_coverage({name: fig}, held or {})
    return fig


#: characters per line of a band's label in a chart legend (the measured coverage wraps onto more lines)
LEGEND_WIDTH = 60


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
                band = number_text(label)  # "95 %" in Russian
                text.set_text(textwrap.fill(f"{band} ({held_text(measured)})", LEGEND_WIDTH) if measured
                              else f"{band} {_('(not backtested)')}")
        widen_for_side_legends(fig)


def _labelled(frame: pd.DataFrame, columns=("target", "term", "indicator")) -> pd.DataFrame:
    """Values of name columns shown as labels (``net_migration`` -> «Сальдо миграции»)."""
    return map_text(frame, columns, label)


def _translated(frame: pd.DataFrame, columns=("type", "group_label", "verdict")) -> pd.DataFrame:
    """Values of message columns (trend types, group texts, verdicts) in the current language."""
    return map_text(frame, columns, _)


def region_table(forecasts: pd.DataFrame, target: str = "net_migration", level: float = 0.95) -> pd.DataFrame:
    """Per region: the sum of the point forecasts of ``target`` over the forecast years, and the last
    year's point with its ``level`` interval (``region, total, year, point, lower, upper``), largest first."""
    f = forecasts.loc[(forecasts["target"] == target) & forecasts["selected"].astype(bool)
                      & (forecasts["region"] != NATIONAL)]
    if f.empty:
        return pd.DataFrame()
    last = int(f["year"].max())
    total = f.drop_duplicates(["region", "year"]).groupby("region")["point"].sum().rename("total")
    y = f.loc[(f["year"] == last) & (f["level"].round(6) == round(level, 6)), ["region", "point", "lower", "upper"]]
    out = y.merge(total.reset_index(), on="region").assign(year=last)
    return out[["region", "total", "year", "point", "lower", "upper"]].sort_values("total", ascending=False)


def scenario_effect_table(brief: pd.DataFrame, descriptions: dict) -> pd.DataFrame:
    """The scenario rows of the brief as a table for people: scenario, region, year, effect, its 95 %
    bounds and the flag (no ranking: regions in the order of the scenario's shifts)."""
    s = brief.loc[brief["topic"] == "scenario"] if brief is not None and len(brief) else pd.DataFrame()
    if s.empty:
        return pd.DataFrame()
    return pd.DataFrame({"scenario": [descriptions.get(g, g) for g in s["group"]], "region": s["subject"].to_numpy(),
                         "year": s["year"].astype(int).to_numpy(), "effect": s["value"].to_numpy(float),
                         "effect_lower_95": s["lower"].to_numpy(float), "effect_upper_95": s["upper"].to_numpy(float),
                         "finding": [effect_flag(z) or _("distinguishable from zero") for z in s["spans_zero"]]})


def _coefficients(parts: Mapping[str, StudyResult]) -> pd.DataFrame:
    """Every model's terms of the first covariance with the 95 % interval, the flag and the sign note."""
    reg = parts["regression"].tables
    coef = reg["coefficients"]
    coef = coef.loc[coef["requested_cov"] == coef["requested_cov"].iloc[0]]
    frames = []
    for (target, model), _g in coef.groupby(["target", "model"], sort=False):
        f = factor_table(coef, reg.get("wild_bootstrap"), target=target, model=model)
        frames.append(f.assign(target=target, model=model))
    if not frames:
        return pd.DataFrame()
    f = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({"target": f["target"], "model": f["model"], "term": f["term"], "estimate": f["estimate"],
                         "ci95_lower": f["lower"], "ci95_upper": f["upper"],
                         "finding": [effect_flag(z) or _("distinguishable from zero") for z in f["spans_zero"]],
                         "sign_note": [sign_note(t, a, e) for t, a, e in zip(f["term"], f["against_expected"],
                                                                               f["expected_sign"])]})


def _report_sections(parts: Mapping[str, StudyResult], targets, accuracy, figures, notes_text,
                     figure: Callable[[Any, str], FigureBlock], *, brief: pd.DataFrame | None = None,
                     forecasts: pd.DataFrame | None = None, descriptions: dict | None = None) -> list:
    """The report's sections; ``figure(chart, alt)`` makes the block of a chart the report shows."""
    descriptions = descriptions or {}
    fmt0 = "{:,.0f}"
    sections = []
    sentences = brief_sentences(brief, descriptions=descriptions) if brief is not None else []
    sections.append((_(SECTIONS["brief"]), [sentences, _(BRIEF_NOTE)] if sentences else []))
    if forecasts is not None and len(forecasts):
        regions = region_table(forecasts)
        if len(regions):
            first = int(forecasts.loc[forecasts["target"] == "net_migration", "year"].min())
            blocks: list[Any] = [TableBlock(regions, labels=True,
                                            caption=_("Net migration by region: sum of the point forecasts "
                                                      "{first}–{last} and the {last} forecast with its 95 % interval "
                                                      "(persons)", first=first, last=int(regions["year"].iloc[0])),
                                            formats={"total": fmt0, "point": fmt0, "lower": fmt0,
                                                     "upper": fmt0})]
            if "overview_net_migration" in figures:
                blocks.append(figure(figures["overview_net_migration"], alt=_("Net migration by region")))
            sections.append((_(SECTIONS["regions"]), blocks))
    if "population" in figures:
        sections.append((_(SECTIONS["population"]), [figure(figures["population"], alt=label("population"))]))
    if "specialists" in parts:
        sp = parts["specialists"].tables["specialist_forecasts"]
        last = sp.loc[(sp["year"] == sp["year"].max()) & (sp["level"] == sp["level"].min()),
                      ["target", "year", "point", "lower", "upper", "method", "share_years"]]
        blocks = [_(parts["specialists"].metadata.get("caveat", "")) if parts["specialists"].metadata.get("caveat")
                  else "", TableBlock(_labelled(last), labels=True, names=False, formats={c: fmt0 for c in (
                      "point", "lower", "upper")}, caption=_("Departures of specialists in {year} ({pct} % interval)",
                                                             year=int(sp["year"].max()), pct=int(100 * sp["level"].min())))]
        blocks += [figure(figures[k], alt=label(k.removeprefix("fan_").removesuffix(f"_{NATIONAL}")))
                   for k in figures if k.startswith("fan_external_") and k.endswith(f"_{NATIONAL}")
                   and "_specialty_" not in k and "_education_" not in k]
        sections.append((_(SECTIONS["external"]), [b for b in blocks if not isinstance(b, str) or b]))
    if "scenarios" in parts:
        table = scenario_effect_table(brief, descriptions)
        blocks = [_("Effects are the scenario's change of net migration against the baseline, in persons, with "
                    "their 95 % interval; an interval that holds zero means the data cannot tell the effect from no "
                    "effect, whatever the point says. Regions are listed in the order of the scenario's shifts, not by "
                    "size.")]
        if len(table):
            blocks.append(TableBlock(table, labels=True, caption=_("Scenario effects"),
                                     formats={c: "{:+,.0f}" for c in ("effect", "effect_lower_95", "effect_upper_95")}))
            target = str(parts["scenarios"].metadata.get("target", ""))
            shown = list(dict.fromkeys(table["region"]))
            blocks += [figure(figures[k], alt=f"{label(target)}: {region_name(r)}") for r in shown
                       for k in [f"fan_{target}_{r}"] if k in figures]
        sections.append((_(SECTIONS["scenarios"]), blocks))
    sections.append((_(SECTIONS["gaps"]), list(notes_text)))

    appendix: list[Any] = [_("The full tables behind the messages: the assessment, every regression term with its "
                             "95 % interval, every model's backtest accuracy and the forecast charts.")]
    if "assessment" in parts:
        a = parts["assessment"].tables
        pop = a["population_change"]
        keep = [c for c in ("region", "growth_index", "natural_increase", "net_migration",
                            "net_migration_excl_skipped", "group", "group_label") if c in pop.columns]
        trends = a["migration_trends"].query("flow == 'total'")[["region", "start_rate", "end_rate", "type"]]
        convention = parts["assessment"].metadata.get("convention", "")
        appendix += [convention if convention and current() == "en" else "",  # a sentence of the study, in English
                     TableBlock(_translated(pop[keep]), labels=True,
                                caption=_("Population change and stage 1 group (net migration without the break years "
                                          "decides the group)"),
                                formats={c: fmt0 for c in ("natural_increase", "net_migration",
                                                           "net_migration_excl_skipped")}),
                     TableBlock(_translated(trends), labels=True, caption=_("Stage 3: net migration trend type "
                                                                            "(total flow)"))]
    if "regression" in parts:
        coef = _coefficients(parts)
        if len(coef):
            appendix.append(TableBlock(_labelled(coef), labels=True, caption=_(
                "Regression terms with their 95 % interval (wild cluster bootstrap where the study ran one, else "
                "normal): a term whose interval holds zero is not a finding; the sign column says where the sign "
                "runs against the direction the method expects"), formats={c: "{:+.3f}" for c in (
                    "estimate", "ci95_lower", "ci95_upper")}))
    appendix += [
        TableBlock(_labelled(chosen_models(accuracy, targets)), labels=True, caption=_(
            "Selected model per target: backtest MASE (mean over horizons) against the naive forecast; optimistic, "
            "since the selection saw these years"), formats={c: "{:.3f}" for c in ("mase_selected", "mase_naive")}),
        TableBlock(_labelled(honest_accuracy(parts)), labels=True, names=False, caption=_(
            "Honest accuracy: a model chosen at each origin from the errors known then (nested selection), against the "
            "baselines on the same cells; ratio of MASE with a 90 % bootstrap interval (a ratio below 1 beats the "
            "baseline)"), formats={c: "{:.0%}" for c in ("coverage_80", "coverage_95")} | {"mase_nested": "{:.3f}"}),
        *[figure(f, alt=label(k.removeprefix("accuracy_"))) for k, f in figures.items() if k.startswith("accuracy_")],
        *[figure(f, alt=label(k.removeprefix("overview_"))) for k, f in figures.items()
          if k.startswith("overview_") and k != "overview_net_migration"],
        *[figure(f, alt=label(k.removeprefix("fan_").removesuffix(f"_{NATIONAL}"))) for k, f in figures.items()
          if k.startswith("fan_") and k.endswith(f"_{NATIONAL}") and not k.startswith("fan_external_")]]
    sections.append((_(SECTIONS["appendix"]), [b for b in appendix if not isinstance(b, str) or b]))
    return sections


def _resolved_run(result: RunResult) -> Mapping[str, Any]:
    """The ``[run]`` table of the run's resolved config (empty when the result has none)."""
    resolved = result.metadata.get("config", {}).get("resolved", {}) if isinstance(result.metadata, Mapping) else {}
    return resolved.get("run", {})


def run_charts(result: RunResult) -> str:
    """Which planning charts a run draws: ``[run] charts`` of the resolved config (``"all"`` when absent)."""
    return str(_resolved_run(result).get("charts") or "all")


def run_lang(result: RunResult) -> str:
    """The language of a run's outputs: the planning part's ``lang``, else ``[run] lang`` of the
    resolved config, else Russian."""
    planning = result.parts.get("planning")
    if planning is not None and planning.metadata.get("lang"):
        return str(planning.metadata["lang"])
    return str(_resolved_run(result).get("lang") or "ru")


def write_planning(result: RunResult, folder: str | Path, stamp: RunStamp, renderer: Renderer) -> list[Path]:
    """Write the planning workbook and CSV, the charts and ``report.html`` of a run (module docstring),
    in the run's language (:func:`run_lang`)."""
    with using(run_lang(result)):
        return _write_planning(result, folder, stamp, renderer)


def _write_planning(result: RunResult, folder: str | Path, stamp: RunStamp, renderer: Renderer) -> list[Path]:
    folder, parts = Path(folder), result.parts
    forecasts = run_forecasts(parts)
    accuracy = forecast_parts_table(parts, "backtest_metrics")
    history, breaks = history_table(parts), breaks_table(parts)
    tables = planning_tables(forecasts)
    targets = planning_targets(forecasts)
    planning = parts["planning"].tables if "planning" in parts else {}
    skipped = [w for p in parts.values() for w in p.warnings if "not forecast" in w]
    gaps = coverage_statements(planning.get("data_coverage")) + [_(g) for g in GAPS] + [skipped_text(w) for w in skipped]
    caveats = {t: _(POOR_COVERAGE_TEXT, share=percent(c)) for t, c in poor_coverage(targets, accuracy).items()}
    merged = {t.target: "; ".join(c for c in (caveat_text(t.caveat), caveats.get(t.target, "")) if c)
              for t in targets.itertuples(index=False)}
    targets = targets.assign(caveat=targets["target"].map(merged))
    consistency = national_consistency(forecasts)
    planning = parts["planning"] if "planning" in parts else None
    account = planning.tables if planning is not None else {}
    if len(consistency):
        last = consistency.iloc[-1]
        if consistency["difference"].abs().max() < 0.5:
            gaps.append(_("One national balance: net migration {net} in {year} = external arrivals {arrivals} - "
                          "departures {departures}, reconciled in one account (planning/consistency.csv).",
                          net=number(last["net_migration"]), year=int(last["year"]),
                          arrivals=number(last["external_arrivals"]), departures=number(last["external_departures"])))
        else:
            gaps.append(_("National net migration is forecast twice: as a series ({net} in {year}) and as external "
                          "arrivals minus departures ({diff}); the two models disagree "
                          "(planning/national_consistency.csv) and neither is reconciled to the other.",
                          net=number(last["net_migration"]), year=int(last["year"]),
                          diff=number(last["arrivals_minus_departures"])))
    account_notes = list(planning.metadata.get("account_notes", [])) if planning is not None else []
    held = coverage_labels(account["interval_coverage"]) if "interval_coverage" in account else {}
    targets = targets.assign(held=[held.get(t, {}) for t in targets["target"]])
    # the published intervals' coverage (measured on the account's backtest) replaces the study's own figure
    own = accuracy.loc[~accuracy["target"].isin(held)] if len(accuracy) and "target" in accuracy else accuracy
    headings = {_("Target {target}", target=t, target_label=label(t)): t for t in targets["target"]}
    notes = []
    for heading, text in planning_notes(targets, own, breaks=_(BREAKS), gaps=gaps):
        t = headings.get(heading)
        if t is not None and held.get(t):
            text += " " + _("Published intervals, coverage in the backtest:") + " " + "; ".join(
                f"{lv} %: {held_text(x)}" for lv, x in held[t].items()) + "."
        notes.append((heading, text))
    if account_notes:
        notes.append((_("One account"), " ".join(account_note(n) for n in account_notes)))
    vintage = result.metadata.get("data", {}).get("vintage", {})
    wanted = set(KEY_VARIABLES) | {t for t in targets["target"] if "_specialty_" not in t and "_education_" not in t}
    meta = {"title": _("kzmig planning run {name}", name=result.name), "method": _(METHOD),
            "vintage": {label(k): v for k, v in vintage.items() if k in wanted},
            "run_id": stamp.run_id, **({"created_at": stamp.created_at} if stamp.created_at else {})}
    brief = account.get("brief")
    shifts = parts["planning"].metadata.get("scenario_shifts", {}) if "planning" in parts else {}
    descriptions = descriptions_of(shifts) if shifts else \
        dict(parts["scenarios"].metadata.get("scenarios", {})) if "scenarios" in parts else {}

    # the state targets part (issue 20): its own sheet, charts and report section
    state = parts["targets"].tables if "targets" in parts and "feasibility" in parts["targets"].tables else None
    extra = () if state is None else ((STATE_SHEET, _("state targets: latest value, required and observed growth, "
                                                      "probability, verdict"), lambda wb, fm, run_id:
                                       write_state_targets_sheet(wb, fm, state, run_id)),)
    if "consistency" in account:  # the account (issue 18): every identity x year x region, interval coverage
        extra += ((CONSISTENCY_SHEET, _("identities of the migration account and interval coverage"),
                   lambda wb, fm, run_id: write_consistency_sheet(wb, fm, account, run_id)),)
    effects = scenario_effect_table(brief, descriptions) if brief is not None else pd.DataFrame()
    if len(effects):
        from kzmig.reporting.planning_workbook import write_scenario_sheet

        extra = (*extra, (_("Scenarios"), _("scenario effects on net migration with their 95 % interval and whether "
                                            "they are distinguishable from zero"),
                          lambda wb, fm, run_id: write_scenario_sheet(wb, fm, effects, run_id)))

    (folder / "planning").mkdir(parents=True, exist_ok=True)
    written = [write_planning_workbook(folder / "planning" / "forecast_tables.xlsx", tables=tables, accuracy=accuracy,
                                       meta=meta, notes=notes, targets=targets, extra_sheets=extra),
               write_planning_csv(tables, folder / "planning" / "forecast_tables.csv")]
    figures = _charts(forecasts, history, accuracy, targets, breaks, parts, held)
    state_figures = target_charts(state) if state is not None else {}
    figures.update(state_figures)
    shown: dict[int, Any] = {}  # the charts the report shows, by id

    def figure(item, alt: str) -> FigureBlock:  # rendered below, with the others, before the report is written
        shown[id(item)] = item
        return FigureBlock(None, alt=alt, png=lambda: renderer.png(item))

    sections = _report_sections(parts, targets, accuracy, figures, gaps, figure, brief=brief, forecasts=forecasts,
                                descriptions=descriptions)
    if account_notes or "consistency" in account:  # the account, before "What the data could not answer"
        sections.insert(len(sections) - 1, (_(ACCOUNT_SECTION), account_blocks(account, account_notes)))
    if state is not None:  # before "What the data could not answer"
        blocks = report_blocks(state, {})
        blocks += [figure(f, k) for k, f in state_figures.items()]
        sections.insert(len(sections) - 2, (_(STATE_SECTION), blocks))
    if run_charts(result) == "report":
        figures = {name: fig for name, fig in figures.items() if id(fig) in shown}
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    renderer.render(figures.values())  # in parallel processes; then written one by one
    written += [renderer.write_png(fig, folder / "charts" / f"{name}.png") for name, fig in figures.items()]
    written.append(write_report(folder / "report.html", sections, title=meta["title"], meta=meta,
                                classes={0: "brief"}))
    logger.info("planning outputs of %s: %d files written to %s", result.name, len(written), folder)
    return [Path(p) for p in written]
