"""The account in the planning outputs: the workbook sheet «Согласованность» (consistency).

Input: the ``consistency`` and ``interval_coverage`` tables of the run's planning part
(:func:`kzmig.studies.accounts.run_account`). Rendering only: every number is computed there.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from kzmig.reporting.i18n import N_, _, cell_text, current, label, number, number_text
from kzmig.reporting.report import TableBlock

SHEET = "Согласованность"
SECTION = N_("One system of accounts")
TITLE = "Согласованность прогнозов / Consistency of the forecasts"
NOTE = ("Каждое тождество баланса миграции по годам и регионам: наибольшее абсолютное отклонение и выполнено ли оно "
        "(допуск 0,5 чел., для коэффициентов 1e-6 на 1000). / Every identity of the migration account by year and "
        "region: its largest absolute deviation and whether it holds (tolerance 0.5 persons, 1e-6 per 1,000 for rates).")
#: identity -> its meaning in Russian (the English name stays beside it)
IDENTITIES_RU = {
    "regions_sum_to_national": "сумма регионов равна сальдо миграции республики",
    "national_is_arrivals_minus_departures": "сальдо миграции республики = прибывшие − выбывшие (внешняя миграция)",
    "arrivals_are_cis_plus_non_cis": "прибывшие = из стран СНГ + из других стран",
    "departures_are_cis_plus_non_cis": "выбывшие = в страны СНГ + в другие страны",
    "natural_increase_regions_sum_to_national": "естественный прирост: сумма регионов равна республике",
    "population_balance": "балансовое уравнение: P(t+1) = P(t) + естественный прирост + сальдо миграции",
    "persons_from_rate": "сальдо (чел.) = коэффициент × среднегодовая численность / 1000",
    "rate_from_persons": "коэффициент = 1000 × сальдо / среднегодовая численность",
    "mean_population": "среднегодовая численность = (P(t) + P(t+1)) / 2",
    "population_continuity": "численность на конец года = на начало следующего",
    "regions_sum_to_national_population_start": "численность: сумма регионов равна республике",
    "regions_sum_to_national_net_migration": "сальдо миграции: сумма регионов равна республике",
    "regions_sum_to_national_natural_increase": "естественный прирост: сумма регионов равна республике",
    "national_balance_unchanged": "сценарий не меняет сальдо миграции республики",
    "internal_sums_to_zero": "межрегиональное сальдо: сумма по регионам равна нулю",
    "internal_plus_external": "сальдо = межрегиональное + внешнее",
}
COLUMNS = (("identity", "Тождество / identity"), ("meaning", "Смысл / meaning"), ("region", "Регион / region"),
           ("year", "Год / year"), ("unit", "Единица / unit"),
           ("max_abs_deviation", "Наибольшее отклонение / largest deviation"),
           ("tolerance", "Допуск / tolerance"), ("holds", "Выполнено / holds"))
COVERAGE_COLUMNS = (("target", "Показатель / target"), ("scope", "Охват / scope"), ("level", "Уровень / level"),
                    ("cells", "Исходов / outcomes"), ("coverage", "Попало в интервал / held"),
                    ("status", "Калибровка / calibration"), ("factor", "Множитель / factor"),
                    ("coverage_calibrated", "После калибровки, вне выборки / held after, out of sample"))


#: the account study's verdicts on coherent against separate forecasts (translated where shown)
VERDICTS = (N_("coherence costs accuracy beyond the bootstrap interval"),
            N_("coherence is more accurate beyond the bootstrap interval"),
            N_("no difference beyond the bootstrap interval"))
_NUM = r"-?\d+(?:\.\d+)?"
#: the notes of :func:`kzmig.studies.accounts.run_account`, as patterns -> catalogue messages; a note that
#: matches none is shown as written (English)
NOTE_PATTERNS = (
    (rf"^Regional net migration: the rate is modelled and persons are derived through the population projection "
     rf"\(persons = rate x mean population / 1,000 exactly\)\.$",
     N_("Regional net migration: the rate is modelled and persons are derived through the population projection "
        "(persons = rate x mean population / 1,000 exactly).")),
    (rf"^Regional net migration: the persons is modelled and the rate is derived through the population projection "
     rf"\(persons = rate x mean population / 1,000 exactly\)\.$",
     N_("Regional net migration: persons are modelled and the rate is derived through the population projection "
        "(persons = rate x mean population / 1,000 exactly).")),
    (r"^Reconciliation weights: identity \(OLS\): every series moves by the same amount in persons\.$",
     N_("Reconciliation weights: identity (OLS): every series moves by the same amount in persons.")),
    (r"^Reconciliation weights: each series' backtest error variance \(WLS\): a series moves in proportion to how "
     r"inaccurate its backtest was\.$",
     N_("Reconciliation weights: each series' backtest error variance (WLS): a series moves in proportion to how "
        "inaccurate its backtest was.")),
    (r"^Not reconciled: (?P<what>.*)\.$", N_("Not reconciled: {what}.")),
    (r"^The forecasts are not reconciled into one account: the run has no population projection\.$",
     N_("The forecasts are not reconciled into one account: the run has no population projection.")),
    (r"^The forecasts are not reconciled into one account: the run does not forecast (?P<targets>.*) \(the account "
     r"needs both views of net migration\)\.$",
     N_("The forecasts are not reconciled into one account: the run does not forecast {targets} (the account needs "
        "both views of net migration).")),
    (r"^WLS reconciliation was not possible \((?P<err>.*)\); the account is reconciled by OLS instead\.$",
     N_("WLS reconciliation was not possible ({err}); the account is reconciled by OLS instead.")),
    (r"^(?P<n>\d+) identity-years miss the tolerance \(planning/consistency\.csv\)\.$",
     N_("{n} identity-years miss the tolerance (planning/consistency.csv).")),
    (rf"^Backtest of the account \((?P<method>\w+)\), (?P<series>.+?): MASE (?P<coherent>{_NUM}) coherent against "
     rf"(?P<separate>{_NUM}) separate on the same (?P<cells>\d+) non-break cells, ratio (?P<ratio>{_NUM}) "
     rf"\[90 %: (?P<lo>{_NUM}), (?P<hi>{_NUM})\]: (?P<verdict>.+)\.$",
     N_("Backtest of the account ({method}), {series}: MASE {coherent} coherent against {separate} separate on the "
        "same {cells} non-break cells, ratio {ratio} [90 %: {lo}, {hi}]: {verdict}.")),
    (r"^Intervals calibrated on the backtest \(half-widths scaled by the split-conformal factor of the scaled "
     r"backtest errors(?P<rec>, reconciled)?\): (?P<items>.*)\.$",
     N_("Intervals calibrated on the backtest (half-widths scaled by the split-conformal factor of the scaled "
        "backtest errors{rec}): {items}.")),
    (r"^Intervals not calibrated \(fewer than (?P<n>\d+) non-break backtest outcomes\): (?P<items>.*); read them as "
     r"indicative\.$",
     N_("Intervals not calibrated (fewer than {n} non-break backtest outcomes): {items}; read them as indicative.")),
)
_CALIBRATED = re.compile(rf"^(?P<target>\w+) \((?P<scope>\w+), (?P<level>\d+)%\): x(?P<factor>{_NUM}), held "
                         rf"(?P<before>\d+)% before, (?P<after>\d+)% leaving each origin out$")
_UNCALIBRATED = re.compile(r"^(?P<target>\w+) \((?P<scope>\w+), (?P<level>\d+)%\): held (?P<held>\d+)% of (?P<n>\d+)$")


def _items(text: str) -> str:
    """The ``; ``-separated calibration items of a note, each in the current language (as written if unknown)."""
    out = []
    for item in text.split("; "):
        m, u = _CALIBRATED.match(item), _UNCALIBRATED.match(item)
        if m:
            out.append(_("{target} ({scope}, {level}): x{factor}, held {before} before, {after} leaving each origin out",
                         target=label(m["target"]), scope=cell_text(m["scope"]), level=number_text(m["level"] + "%"),
                         factor=number_text(m["factor"]), before=number_text(m["before"] + "%"),
                         after=number_text(m["after"] + "%")))
        elif u:
            out.append(_("{target} ({scope}, {level}): held {held} of {n}", target=label(u["target"]),
                         scope=cell_text(u["scope"]), level=number_text(u["level"] + "%"),
                         held=number_text(u["held"] + "%"), n=u["n"]))
        else:
            out.append(item)
    return "; ".join(out)


def account_note(note: str) -> str:
    """A note of the account study (:func:`kzmig.studies.accounts.run_account`) in the current language:
    the catalogue's message of its pattern (:data:`NOTE_PATTERNS`) with its numbers in the language's
    convention and its names as labels; as written when in English or when no pattern matches."""
    if current() == "en":
        return note
    for pattern, message in NOTE_PATTERNS:
        m = re.match(pattern, note)
        if m is None:
            continue
        values = m.groupdict()
        for key in ("coherent", "separate", "ratio", "lo", "hi"):
            if values.get(key) is not None:
                values[key] = number_text(values[key])
        if values.get("series") is not None:
            values["series"] = cell_text(values["series"])
        if values.get("verdict") is not None:
            values["verdict"] = _(values["verdict"])
        if "items" in values:
            values["items"] = _items(values["items"])
        if "rec" in values:
            values["rec"] = _(", reconciled") if values["rec"] else ""
        return _(message, **values)
    return note


def meaning(identity: str) -> str:
    """The Russian meaning of an identity name (a scenario's ``scenario <name>: <identity>`` too)."""
    base = identity.split(": ", 1)[1] if identity.startswith("scenario ") and ": " in identity else identity
    text = IDENTITIES_RU.get(base, "")
    return f"сценарий {identity.split(':', 1)[0][9:]}: {text}" if base != identity and text else text


def consistency_sheet_table(consistency: pd.DataFrame) -> pd.DataFrame:
    """The consistency table with a ``meaning`` column, in the sheet's column order."""
    t = consistency.assign(meaning=[meaning(str(i)) for i in consistency["identity"]])
    return t[[c for c, _ in COLUMNS]]


def write_consistency_sheet(wb, fm, tables: Mapping[str, pd.DataFrame], run_id: str) -> None:
    """Add the sheet «Согласованность» to an open xlsxwriter workbook: a summary line, the
    consistency table, then the measured coverage of the intervals (``interval_coverage``)."""
    c = tables["consistency"]
    ws = wb.add_worksheet(SHEET)
    ws.write(0, 0, TITLE, fm.title)
    ws.write(1, 0, NOTE, fm.note)
    held = int(c["holds"].sum())
    ws.write(2, 0, f"Выполнено {held} из {len(c)} / {held} of {len(c)} hold", fm.bold)
    table = consistency_sheet_table(c)
    sci = wb.add_format({"num_format": "0.0E+00", "border": 1})
    cell = wb.add_format({"border": 1})
    whole = wb.add_format({"num_format": "0", "border": 1})
    for j, (_col, head) in enumerate(COLUMNS):
        ws.write(4, j, head, fm.header)
    for i, rec in enumerate(table.itertuples(index=False), start=5):
        for j, (col, value) in enumerate(zip(table.columns, rec)):
            if col in ("max_abs_deviation", "tolerance"):
                ws.write_number(i, j, float(value), sci)
            elif col == "year":
                ws.write_number(i, j, int(value), whole)
            elif col == "holds":
                ws.write(i, j, "да / yes" if bool(value) else "НЕТ / NO", cell)
            else:
                ws.write(i, j, str(value), cell)
    row = 6 + len(table)
    cov = tables.get("interval_coverage")
    if cov is not None and len(cov):
        ws.write(row, 0, "Интервалы прогноза в ретроспективной проверке / Intervals in the backtest", fm.title)
        ws.write(row + 1, 0, "Доля фактических значений (годы без разрывов), попавших в интервал выбранной модели; "
                             "калибровка: полуширина умножена на конформный множитель, если доля вне ±5 п.п. от "
                             "уровня и исходов не меньше 20. / Share of non-break outcomes inside the selected "
                             "model's interval; calibration scales the half-width when the share is outside "
                             "level ±5 points and there are at least 20 outcomes.", fm.note)
        pct = wb.add_format({"num_format": "0%", "border": 1})
        dec = wb.add_format({"num_format": "0.00", "border": 1})
        for j, (_col, head) in enumerate(COVERAGE_COLUMNS):
            ws.write(row + 2, j, head, fm.header)
        status_ru = {"within": "не нужна / within ±5", "calibrated": "откалиброван / calibrated",
                     "uncalibrated": "НЕ откалиброван (мало исходов) / uncalibrated (too few)"}
        for i, rec in enumerate(cov[[c for c, _ in COVERAGE_COLUMNS]].itertuples(index=False), start=row + 3):
            for j, (col, value) in enumerate(zip([c for c, _ in COVERAGE_COLUMNS], rec)):
                if col in ("level", "coverage", "coverage_calibrated"):
                    ws.write_number(i, j, float(value), pct)
                elif col == "factor":
                    ws.write_number(i, j, float(value), dec)
                elif col == "cells":
                    ws.write_number(i, j, int(value), whole)
                elif col == "status":
                    ws.write(i, j, status_ru.get(str(value), str(value)), cell)
                else:
                    ws.write(i, j, str(value), cell)
    ws.freeze_panes(5, 1)
    ws.set_column(0, 0, 40)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 7, 16)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(4, 4)
    ws.set_header(f"&L&8{SHEET}&R&8run {run_id.replace('&', '&&')}")


def account_blocks(tables: Mapping[str, pd.DataFrame], notes: Sequence[str]) -> list:
    """The report section of the account: its notes, the backtest of coherent against separate
    forecasts, the measured coverage of the intervals and the identities that do not hold (if any)."""
    # the account's notes, in the run's language (the study writes them in English: account_note)
    blocks: list = [" ".join(account_note(n) for n in notes)]
    if "account_accuracy" in tables and len(tables["account_accuracy"]):
        blocks.append(TableBlock(tables["account_accuracy"], caption=_(
                                 "Coherent against separate forecasts on the same "
                                 "non-break backtest cells: MASE, ratio with a 90 % bootstrap interval (below 1: "
                                 "coherence is more accurate), coverage of the 80 / 95 % intervals"), names=False,
                                 formats={c: "{:.3f}" for c in ("mase_separate", "mase_coherent", "ratio", "ci90_lo",
                                                                "ci90_hi")}))
    if "interval_coverage" in tables and len(tables["interval_coverage"]):
        blocks.append(TableBlock(tables["interval_coverage"], caption=_(
                                 "Intervals in the backtest: share of non-break "
                                 "outcomes inside the selected model's interval (reconciled where in the account), "
                                 "and the calibration applied"), names=False,
                                 formats={"coverage": "{:.0%}", "coverage_calibrated": "{:.0%}", "factor": "{:.2f}",
                                          "level": "{:.0%}"}))
    if "consistency" in tables:
        c = tables["consistency"]
        bad = c.loc[~c["holds"]]
        blocks.append(_("{held} of {total} identity x year x region checks hold (planning/consistency.csv).",
                        held=number(int(c["holds"].sum())), total=number(len(c))))
        if len(bad):
            blocks.append(TableBlock(bad, caption=_("Identities that do not hold"), names=False))
    return blocks
