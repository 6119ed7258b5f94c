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
    for text in (METHOD, BREAKS, *GAPS, POOR_COVERAGE_TEXT):  # texts of the studies, translated where shown
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
