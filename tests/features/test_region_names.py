"""Every region of data/regions.csv under every usual spelling (issue 22).

The expected spellings are an independent table written by hand for this test from the
administrative names (Russian official and short forms, Kazakh names, the BGN/PCGN
romanization of the Russian name, the national Kazakh Latin alphabet of 2021, and the ISO
3166-2:KZ codes of the 2020 revision with the 2022 regions), not from the code's vocabulary.
"""
import pandas as pd
import pytest

from kzmig.core.resources import data_dir
from kzmig.features.data.region_names import ambiguous, borders_note, region_table
from kzmig.features.data.regions import resolve_region, suggest_region

# code: (Russian full, Russian short, Kazakh, BGN/PCGN of the Russian, Kazakh Latin 2021, ISO 3166-2)
SPELLINGS = {
    "abai": ("область Абай", "обл. Абай", "Абай облысы", "oblast' Abay", "Abai oblysy", "KZ-10"),
    "akmola": ("Акмолинская область", "Акмолинская обл.", "Ақмола облысы", "Akmolinskaya oblast'", "Aqmola oblysy",
               "KZ-11"),
    "aktobe": ("Актюбинская область", "Актюбинская обл.", "Ақтөбе облысы", "Aktyubinskaya oblast'", "Aqtöbe oblysy",
               "KZ-15"),
    "almaty_city": ("город Алматы", "г. Алматы", "Алматы қаласы", "gorod Almaty", "Almaty qalasy", "KZ-75"),
    "almaty_region": ("Алматинская область", "Алматинская обл.", "Алматы облысы", "Almatinskaya oblast'",
                      "Almaty oblysy", "KZ-19"),
    "astana": ("город Астана", "г. Астана", "Астана қаласы", "gorod Astana", "Astana qalasy", "KZ-71"),
    "atyrau": ("Атырауская область", "Атырауская обл.", "Атырау облысы", "Atyrauskaya oblast'", "Atyrau oblysy",
               "KZ-23"),
    "east_kazakhstan": ("Восточно-Казахстанская область", "Восточно-Казахстанская обл.", "Шығыс Қазақстан облысы",
                        "Vostochno-Kazakhstanskaya oblast'", "Şyğys Qazaqstan oblysy", "KZ-63"),
    "jetisu": ("область Жетысу", "обл. Жетісу", "Жетісу облысы", "oblast' Zhetysu", "Jetısu oblysy", "KZ-33"),
    "karaganda": ("Карагандинская область", "Карагандинская обл.", "Қарағанды облысы", "Karagandinskaya oblast'",
                  "Qarağandy oblysy", "KZ-35"),
    "kazakhstan": ("Республика Казахстан", "РК", "Қазақстан Республикасы", "Respublika Kazakhstan",
                   "Qazaqstan Respublikasy", "KZ"),
    "kostanay": ("Костанайская область", "Костанайская обл.", "Қостанай облысы", "Kostanayskaya oblast'",
                 "Qostanai oblysy", "KZ-39"),
    "kyzylorda": ("Кызылординская область", "Кызылординская обл.", "Қызылорда облысы", "Kyzylordinskaya oblast'",
                  "Qyzylorda oblysy", "KZ-43"),
    "mangystau": ("Мангистауская область", "Мангистауская обл.", "Маңғыстау облысы", "Mangistauskaya oblast'",
                  "Mañğystau oblysy", "KZ-47"),
    "north_kazakhstan": ("Северо-Казахстанская область", "Северо-Казахстанская обл.", "Солтүстік Қазақстан облысы",
                         "Severo-Kazakhstanskaya oblast'", "Soltüstık Qazaqstan oblysy", "KZ-59"),
    "pavlodar": ("Павлодарская область", "Павлодарская обл.", "Павлодар облысы", "Pavlodarskaya oblast'",
                 "Pavlodar oblysy", "KZ-55"),
    "shymkent": ("город Шымкент", "г. Шымкент", "Шымкент қаласы", "gorod Shymkent", "Şymkent qalasy", "KZ-79"),
    "south_kazakhstan": ("Южно-Казахстанская область", "Южно-Казахстанская обл.", "Оңтүстік Қазақстан облысы",
                         "Yuzhno-Kazakhstanskaya oblast'", "Oñtüstık Qazaqstan oblysy", "KZ-YUZ"),
    "turkestan": ("Туркестанская область", "Туркестанская обл.", "Түркістан облысы", "Turkestanskaya oblast'",
                  "Türkıstan oblysy", "KZ-61"),
    "ulytau": ("область Ұлытау", "обл. Ұлытау", "Ұлытау облысы", "oblast' Ulytau", "Ūlytau oblysy", "KZ-62"),
    "west_kazakhstan": ("Западно-Казахстанская область", "Западно-Казахстанская обл.", "Батыс Қазақстан облысы",
                        "Zapadno-Kazakhstanskaya oblast'", "Batys Qazaqstan oblysy", "KZ-27"),
    "zhambyl": ("Жамбылская область", "Жамбылская обл.", "Жамбыл облысы", "Zhambylskaya oblast'", "Jambyl oblysy",
                "KZ-31"),
}
FORMS = ("russian", "russian_short", "kazakh", "bgn_pcgn", "kazakh_latin", "iso_3166_2")
CASES = [pytest.param(code, form, text, id=f"{code}-{form}")
         for code, texts in SPELLINGS.items() for form, text in zip(FORMS, texts)]


def test_the_table_covers_every_region_of_the_registry():
    codes = set(pd.read_csv(data_dir() / "regions.csv", dtype=str)["region"])
    assert codes == set(SPELLINGS)


@pytest.mark.parametrize(("code", "form", "text"), CASES)
def test_every_region_in_every_usual_spelling(code, form, text):
    assert resolve_region(text) == code


@pytest.mark.parametrize(("code", "form", "text"), CASES)
def test_case_hyphens_and_spaces_do_not_matter(code, form, text):
    mangled = text.upper().replace("-", " ").replace("'", "")
    assert resolve_region(mangled) == code
    assert resolve_region("  " + text.lower().replace(" ", "-") + " ") == code


@pytest.mark.parametrize(("text", "code"), [
    ("СКО", "north_kazakhstan"), ("SKO", "north_kazakhstan"), ("ВКО", "east_kazakhstan"), ("VKO", "east_kazakhstan"),
    ("ЗКО", "west_kazakhstan"), ("ZKO", "west_kazakhstan"), ("ЮКО", "south_kazakhstan"), ("YuKO", "south_kazakhstan"),
    ("590000000", "north_kazakhstan"), ("110000000", "akmola"), ("kz-sev", "north_kazakhstan"),
    ("Soltústik Qazaqstan oblysy", "north_kazakhstan"),   # Kazakh Latin of 2018 (acute accents)
    ("Shyghys Qazaqstan oblysy", "east_kazakhstan"),      # BGN/PCGN of the Kazakh name (as ISO 3166-2 spells it)
    ("North Kazakhstan Region", "north_kazakhstan"), ("Chimkent", "shymkent"), ("Nur-Sultan", "astana"),
])
def test_abbreviations_codes_and_other_latin_forms(text, code):
    assert resolve_region(text) == code


def test_a_truncated_official_label_is_not_taken_for_a_transliteration():
    assert resolve_region("АКМОЛИНСКАЯ ОБЛАСТ") is None
    assert suggest_region("АКМОЛИНСКАЯ ОБЛАСТ") == "akmola"


@pytest.mark.parametrize(("text", "code"), [
    ("Severo-Kazakhstanskya oblast", "north_kazakhstan"), ("Солтүстік Казахстан", "north_kazakhstan"),
    ("Pavlodarskya", "pavlodar"), ("Шығыс Казахстан обл", "east_kazakhstan"), ("Aqtobe oblys", "aktobe"),
    ("Karagandinskya", "karaganda"),
])
def test_unknown_names_get_the_closest_region_in_any_script(text, code):
    assert resolve_region(text) is None
    assert suggest_region(text) == code


def test_no_suggestion_for_a_name_that_is_close_to_nothing():
    assert suggest_region("НОВАЯ ОБЛАСТЬ") is None and suggest_region("Novaya oblast") is None


def test_almaty_alone_is_ambiguous_between_city_and_region():
    assert ambiguous("Almaty") == ("almaty_city", "almaty_region")
    assert ambiguous("Almaty oblysy") == ()


def test_the_former_south_kazakhstan_region_and_its_borders_view():
    assert resolve_region("Южно-Казахстанская") == "south_kazakhstan"
    note = borders_note("south_kazakhstan")
    assert "until 2018" in note and "2017" in note
    assert "2018 borders: in karaganda" in borders_note("ulytau")


def test_region_table_has_iso_codes_of_the_independent_table():
    tab = region_table().set_index("region")
    for code, texts in SPELLINGS.items():
        if texts[-1].startswith("KZ-") and len(texts[-1]) == 5:
            assert tab.at[code, "iso_3166_2"] == texts[-1]
