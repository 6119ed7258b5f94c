"""The account in the outputs: the «Согласованность» sheet and the coverage on chart legends."""
from __future__ import annotations

import openpyxl
import pandas as pd
import xlsxwriter
from matplotlib.figure import Figure

from kzmig.reporting.accounts_sheet import SHEET, meaning, write_consistency_sheet
from kzmig.reporting.planning_run import label_coverage


def test_legend_bands_state_their_backtest_coverage():
    fig = Figure()
    ax = fig.add_subplot()
    for label in ("history", "80%", "50%"):
        ax.plot([0, 1], [0, 1], label=label)
    ax.legend()
    held = {"net_migration": {"80": "в ретроспективной проверке: регионы: 78% / backtest: regions: held 78%"},
            "net_migration_rate_per_1000": {"80": "x / backtest: regions: held 11%"}}
    label_coverage({"fan_net_migration_astana": fig}, held)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["history", "80% (backtest: regions: held 78%)", "50% (not backtested)"]
    # in a Russian run: the Russian half of the measure, "80 %", and a long measure wrapped onto lines
    from kzmig.reporting.i18n import using

    long = "регионы: попало 98 %; республика: откалиброван, попало 92 % вне выборки (до 100 %)"
    for label, text in zip(("80%", "50%"), ax.get_legend().get_texts()[1:]):
        text.set_text(label)
    held["net_migration"]["80"] = f"{long} / backtest: regions: held 98%"
    with using("ru"):
        label_coverage({"fan_net_migration_astana": fig}, held)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[1].startswith("80\u00a0% (") and "\n" in texts[1]
    assert " ".join(texts[1].split()) == " ".join(f"80 % ({long})".split())
    assert texts[2] == "50\u00a0% (не проверялся на ретроспективных данных)"


def test_consistency_sheet_lists_every_row_and_says_how_many_hold(tmp_path):
    c = pd.DataFrame({"identity": ["regions_sum_to_national", "scenario north: population_balance"],
                      "region": ["kazakhstan", "astana"], "year": [2030, 2029], "unit": ["persons", "persons"],
                      "max_abs_deviation": [1e-9, 0.7], "tolerance": [0.5, 0.5], "holds": [True, False], "n": [1, 1]})
    cov = pd.DataFrame({"target": ["external_arrivals"], "scope": ["national"], "level": [0.8], "cells": [41],
                        "coverage": [0.732], "status": ["calibrated"], "factor": [1.336], "coverage_calibrated": [0.829]})
    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    fm = type("F", (), {"title": wb.add_format(), "note": wb.add_format(), "bold": wb.add_format(),
                        "header": wb.add_format()})()
    write_consistency_sheet(wb, fm, {"consistency": c, "interval_coverage": cov}, "run-1")
    wb.close()
    rows = list(openpyxl.load_workbook(path)[SHEET].iter_rows(values_only=True))
    assert rows[2][0] == "Выполнено 1 из 2 / 1 of 2 hold"
    assert rows[5][:4] == ("regions_sum_to_national", meaning("regions_sum_to_national"), "kazakhstan", 2030)
    assert rows[6][7] == "НЕТ / NO" and rows[6][1].startswith("сценарий north:")
    flat = [v for r in rows for v in r if v is not None]
    assert "откалиброван / calibrated" in flat and 41 in flat


def test_coverage_label_is_read_in_the_run_language():
    from kzmig.reporting.i18n import using
    from kzmig.reporting.planning_workbook import held_text

    both = "в ретроспективной проверке: регионы: 78% / backtest: regions: held 78%"
    with using("ru"):
        assert held_text(both) == "в ретроспективной проверке: регионы: 78%"
    with using("en"):
        assert held_text(both) == "backtest: regions: held 78%"
    assert held_text("") == ""


def test_account_notes_in_russian_with_their_numbers():
    """The account study's notes (written as kzmig.studies.accounts writes them) read in Russian, with their
    numbers in the Russian convention and their names as labels; English unchanged; an unknown note as written."""
    from kzmig.reporting.accounts_sheet import account_note
    from kzmig.reporting.i18n import using

    backtest = ("Backtest of the account (WLS), regional persons: MASE 1.208 coherent against 1.224 separate on the "
                "same 401 non-break cells, ratio 0.987 [90 %: 0.928, 1.046]: no difference beyond the bootstrap interval.")
    calibrated = ("Intervals calibrated on the backtest (half-widths scaled by the split-conformal factor of the scaled "
                  "backtest errors, reconciled): external_arrivals (national, 80%): x1.34, held 73% before, 83% leaving "
                  "each origin out.")
    with using("ru"):
        text = account_note(backtest)
        assert text.startswith("Ретроспективная проверка баланса (WLS), регионы, человек: MASE 1,208")
        assert "против 1,224" in text and "401" in text and "[90 %: 0,928; 1,046]" in text
        assert text.endswith("различие не выходит за бутстреп-интервал.")
        text = account_note(calibrated)
        assert "после согласования" in text and "Прибывшие из-за рубежа (республика, 80\u00a0%): ×1,34" in text
        assert "73\u00a0% до калибровки, 83\u00a0% вне выборки" in text
        assert account_note("Something new.") == "Something new."
    assert account_note(backtest) == backtest  # English: the study's own sentence
