"""Languages of the planning outputs: the catalogues, the label table, region names, charts in Russian.

The message ids are extracted from the source with Babel (as ``pybabel extract`` would), not read
from the catalogue itself, so a new English string without a Russian translation fails here.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import kzmig.reporting as reporting_pkg
from kzmig.reporting import i18n
from kzmig.reporting.i18n import _, label, number, percent, region_name, using
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_overview, plot_population
from kzmig.studies.planning import BREAKS, GAPS, METHOD, POOR_COVERAGE_TEXT

PACKAGE = Path(reporting_pkg.__file__).parent
#: placeholders a Russian message may use beyond those of its id (the callers pass them too)
EXTRA_FIELDS = {"target_label", "name", "region_label"}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _extracted() -> set[str]:
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")],
                             keywords={"_": None, "N_": None, "gettext": None}, options_map={})
    return {msg for _f, _l, msg, _c, _x in found if isinstance(msg, str)}


def _po(lang: str):
    with (PACKAGE / "locale" / lang / "LC_MESSAGES" / "kzmig.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _fields(text: str) -> set[str]:
    return {f for _t, f, _s, _c in string.Formatter().parse(text) if f}


def test_every_message_id_has_a_russian_translation():
    ids = _extracted()
    assert len(ids) > 150  # the extraction found the package's messages
    ru = {m.id: m.string for m in _po("ru") if m.id}
    missing = sorted(m for m in ids if not ru.get(m))
    assert not missing, missing[:10]
    from kzmig.studies.targets import QUOTA_PAIRS, SERIES_TO_FORECAST

    study_texts = (METHOD, BREAKS, *GAPS, POOR_COVERAGE_TEXT, *SERIES_TO_FORECAST.values(), *(w for *_x, w in QUOTA_PAIRS))
    for text in study_texts:  # texts of the studies, translated where shown
        assert ru.get(text), text[:60]


def test_russian_messages_use_only_the_placeholders_they_are_given():
    for m in _po("ru"):
        if m.id and m.string:
            assert _fields(m.string) <= _fields(m.id) | EXTRA_FIELDS, m.id
            assert _fields(m.id) - {"target", "name_en", "name_ru", "region"} <= _fields(m.string) | {"target"}, m.id


def test_english_catalogue_falls_back_to_the_ids():
    assert i18n.gettext("Key messages", "en") == "Key messages"
    assert i18n.gettext("Key messages", "ru") == "Главное"
    with using("ru"):
        assert _("Population") == "Численность населения"
    assert _("Population") == "Population"  # outside a run: English
    with pytest.raises(Exception, match="kk"):
        with using("kk"):
            pass


def test_labels_of_whole_compound_and_lagged_names():
    with using("ru"):
        assert label("net_migration") == "Сальдо миграции"
        assert label("external_departures_to_non_cis") == "Выбывшие за рубеж: в другие страны"
        assert label("external_departures_specialty_technical") == "Выбывшие за рубеж: специальность техническая"
        assert label("income_rel_national_pct_lag1") == "Денежные доходы на душу населения, % к республике (t−1)"
    assert label("external_arrivals_from_cis", "en") == "External arrivals: from CIS countries"
    assert label("no_such_name_here", "ru") == "no such name here"  # never a raw identifier
    table = pd.read_csv(PACKAGE / "labels.csv")
    assert not table.duplicated(["name", "kind"]).any()
    assert table[["ru", "en"]].notna().all().all()


def test_region_names_with_kazakh_beside_russian():
    regions = pd.read_csv(PACKAGE.parents[1] / "data" / "regions.csv")
    r = regions.set_index("region").loc["pavlodar"]
    assert region_name("pavlodar", "ru") == f"{r['name_ru']} ({r['name_kk']})"
    assert region_name("pavlodar", "en") == r["name_en"]
    assert region_name("pavlodar", "ru", kazakh=False) == r["name_ru"]


def test_numbers_for_prose():
    assert number(-1078.4, lang="ru") == "−1\u202f078"
    assert number(1078.6, sign=True, lang="en") == "+1,079"
    assert number(-0.1549, 3, lang="ru") == "−0,155"
    assert number(-0.0001, 0, lang="en") == "0"  # no "−0"
    assert percent(0.123, 1, lang="ru") == "12,3\u00a0%"


def _texts(fig) -> list[str]:
    out = [fig.get_suptitle()] if hasattr(fig, "get_suptitle") else []
    for t in fig.texts:
        out.append(t.get_text())
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def test_russian_charts_have_no_raw_variable_names(forecasts, accuracy, history):
    names = set(label_names := i18n.label_names()) | set(forecasts["target"])
    assert "net_migration" in label_names
    with using("ru"):
        figs = [plot_fan(history, forecasts, "net_migration", "astana"),
                plot_overview(history, forecasts, "net_migration"), plot_population(history, forecasts),
                plot_accuracy(accuracy, "net_migration", selected="arima")]
    texts = [t for f in figs for t in _texts(f)]
    assert any("Сальдо миграции" in t for t in texts) and any("год" == t for t in texts)
    raw = [t for t in texts for w in SNAKE.findall(t) if w in names]
    assert not raw, raw
    english = {"history", "year", "persons", "break year", "horizon (years ahead)"}
    assert not english & set(texts)


def test_russian_sheet_names_from_the_short_name_table():
    """Every target of the baseline run gets a whole short name: unique, at most 31 characters with the
    " 95%" suffix, never cut (the name is the short form itself)."""
    from kzmig.reporting.planning_workbook import sheet_names, sheet_text

    cats = {"specialty": ("agricultural", "architecture_construction", "economic", "legal", "medical", "other",
                          "pedagogical", "technical"),
            "education": ("higher", "secondary_vocational", "general_secondary", "basic_secondary")}
    targets = ["net_migration", "net_migration_rate_per_1000", "interregional_net", "external_net", "population",
               "external_arrivals", "external_departures", "external_arrivals_from_cis",
               "external_arrivals_from_non_cis", "external_departures_to_cis", "external_departures_to_non_cis"]
    targets += [f"external_departures_{d}_{c}" for d, cs in cats.items() for c in cs]
    with using("ru"):
        labels = [sheet_text(t, " 95%") for t in targets]
        assert sheet_text("external_departures_specialty_technical") == "Выб. техн. спец."
        names = sheet_names(labels + labels, suffixes=[""] * len(labels) + [" 95%"] * len(labels))
    assert len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 for n in names)
    assert names[:len(labels)] == labels and names[len(labels):] == [f"{x} 95%" for x in labels]
    assert not any(SNAKE.search(n) for n in names)


def _axis_texts(fig) -> list[str]:
    """Every text of ``fig``: titles, labels, legends, tick labels and free texts (tile names)."""
    out = _texts(fig) + ([fig._supxlabel.get_text()] if getattr(fig, "_supxlabel", None) else [])
    for ax in fig.axes:
        out += [ax.get_title(loc="left")] + [t.get_text() for t in ax.get_yticklabels() + ax.texts]
    return [t for t in out if t]


def test_russian_study_charts_speak_russian():
    """The assessment's and the regression's charts in a Russian run: no English word a reader would
    have to translate, no raw name, region and partner names in Russian (SYNTHETIC tables)."""
    from kzmig.reporting.charts import (plot_coefficients, plot_external_flows, plot_growth_index,
                                        plot_partner_flows, plot_tile_map)

    pop = pd.DataFrame({"region": ["astana", "pavlodar", "shymkent"], "growth_index": [130.0, 95.0, None],
                        "group": [1, 4, None]})
    types = pd.DataFrame({"region": ["astana", "pavlodar"], "type": ["stable inflow", None]})
    tidy = pd.DataFrame({"term": ["const", "income_rel_national_pct_lag1"] * 2, "model": ["fe_twoway"] * 2 + ["pooled"] * 2,
                         "estimate": [1.0, -0.155, 0.5, 0.1], "conf_low": [0.5, -0.3, 0.2, -0.1],
                         "conf_high": [1.5, 0.01, 0.8, 0.3], "cov_type": ["clustered"] * 2 + ["robust"] * 2,
                         "requested_cov": "clustered", "target": "net_migration_rate_per_1000"})
    flows = pd.DataFrame({"year": [1991, 1992, 2000, 2001], "arrivals": [1.0e5, 9.0e4, 5.0e4, 4.0e4],
                          "departures": [2.0e5, 1.5e5, 6.0e4, 5.0e4], "publisher": ["CIS Stat"] * 2 + ["BNS"] * 2})
    flows["net"] = flows["arrivals"] - flows["departures"]
    partners = pd.DataFrame({"year": [2020, 2020], "direction": ["arrivals", "departures"], "partner": ["RUS", "UZB"],
                             "partner_name": ["Russia", "Uzbekistan"], "value": [10.0, 5.0]})
    with using("ru"):
        figs = {"growth": plot_growth_index(pop, period=(2006, 2022)), "map": plot_tile_map(types, period=(2006, 2022)),
                "coef": plot_coefficients(tidy, 0.95), "flows": plot_external_flows(flows),
                "partners": plot_partner_flows(partners)}
    texts = {k: " | ".join(_axis_texts(f)) for k, f in figs.items()}
    assert "Индекс роста численности населения по регионам, 2006-2022" in texts["growth"]
    assert "Астана" in texts["growth"] and "не показаны" in texts["growth"]  # shymkent has no index
    assert "Павлодарская\nобласть" not in texts["map"] and "Павлодарская" in texts["map"]
    assert "устойчивый приток" in texts["map"] and "г. Астана" in texts["map"] and "не вычисляется" in texts["map"]
    assert "фиксированные эффекты регионов и лет" in texts["coef"] and "(t−1)" in texts["coef"]
    assert "95\u00a0%" in texts["coef"] and "кластеризованные по регионам" in texts["coef"]
    assert "волна эмиграции 1991-1992" in texts["flows"] and "сальдо" in texts["flows"]
    assert "Россия" in texts["partners"] and "выбывшие" in texts["partners"]
    for key, text in texts.items():
        assert not SNAKE.findall(text), (key, SNAKE.findall(text))
        words = set(re.findall(r"\b[a-z]{4,}\b", text))
        assert not words - {"taldau"}, (key, words)
    with using("en"):  # the library's language keeps the English names
        assert "emigration wave 1991-1992" in " | ".join(_axis_texts(plot_external_flows(flows)))


def test_russian_report_tables_read_as_russian():
    """A report table in a Russian run: numbers in the Russian convention, yes / no in words, known names
    (models, statuses, columns) as their labels, months of a period in Russian; English unchanged."""
    from kzmig.reporting.i18n import cell_text, number_text
    from kzmig.reporting.report import TableBlock, _table

    assert number_text("-14,308", "ru") == "−14\u202f308" and number_text("0.957", "ru") == "0,957"
    assert number_text("83%", "ru") == "83\u00a0%" and number_text("-14,308", "en") == "-14,308"
    assert cell_text("False", "ru") == "нет" and cell_text("fe_twoway", "ru") == "фиксированные эффекты регионов и лет"
    assert cell_text("2017, 2023 Jan-Sep", "ru") == "2017, 2023 янв.-сент." and cell_text("akmola", "ru") == "akmola"
    frame = pd.DataFrame({"model": ["fe_twoway", "naive_2000"], "status": ["calibrated", "uncalibrated"],
                          "mase_separate": [1.2345, 0.5], "net_migration": [-14308.0, 9653.0], "worse": [False, True]})
    with using("ru"):
        html = _table(TableBlock(frame, names=False, formats={"mase_separate": "{:.3f}"}))
    assert "<th>MASE раздельных прогнозов</th>" in html and "<th>Модель</th>" in html
    assert "−14\u202f308" in html and "9\u202f653" in html and "1,234" in html  # 1.2345 -> "1.234" -> "1,234"
    assert "наивный прогноз: ряд с 2000 г." in html and "откалиброван" in html and ">да<" in html
    assert not SNAKE.findall(re.sub(r"<[^>]+>", " ", html))
    with using("en"):
        html = _table(TableBlock(frame, names=False, formats={"mase_separate": "{:.3f}"}))
    assert "<th>mase_separate</th>" in html and "-14,308" in html and ">fe_twoway<" in html


def test_chart_tick_labels_follow_the_language():
    from kzmig.reporting.charts import NumberFormatter

    ru = NumberFormatter("ru")
    ru.set_locs([-400000.0, 0.0, 400000.0])
    assert [ru(x) for x in (-400000.0, 0.0, 400000.0)] == ["−400\u202f000", "0", "400\u202f000"]
    en = NumberFormatter("en")
    en.set_locs([0.0, 2.5, 5.0])
    assert [en(x) for x in (0.0, 2.5, 5.0)] == ["0.0", "2.5", "5.0"]  # a rate keeps its decimals
    ru.set_locs([0.0, 2.5, 5.0])
    assert ru(2.5) == "2,5"


def test_map_text_touches_only_the_text_cells_of_its_columns():
    from kzmig.reporting.tables import map_text

    frame = pd.DataFrame({"model": ["fe_twoway", None, "x"], "n": [1, 2, 3], "other": ["fe_twoway"] * 3})
    out = map_text(frame, ("model", "absent"), str.upper)
    assert out["model"].tolist()[0::2] == ["FE_TWOWAY", "X"] and pd.isna(out["model"].iloc[1])
    assert out["other"].tolist() == ["fe_twoway"] * 3 and out["n"].tolist() == [1, 2, 3]
    assert frame["model"].iloc[0] == "fe_twoway"  # a copy: the caller's frame is unchanged
