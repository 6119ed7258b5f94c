"""Languages of the planning outputs: gettext catalogues (Babel), a label table, region names.

The run's report, workbook and charts are written in Russian (``ru``, the default of a run,
``[run] lang``) or English (``en``). Strings come from two places, both package data:

* ``locale/<lang>/LC_MESSAGES/kzmig.po``: the gettext catalogue of every sentence, heading and
  caption; message ids are the English text. The ``.po`` is read with
  :func:`babel.messages.pofile.read_po` when first needed, so an installed wheel needs no
  compile step. An empty or missing translation falls back to the English id.
* ``labels.csv``: a human-readable label (``ru``, ``en``) for every variable, target, feature,
  column and code the outputs show; compound names (``external_departures_to_rus``,
  ``..._specialty_technical``, ``..._lag1``) are read from their parts (``kind = part``).

The language is a context (:func:`using`): functions that draw or write text call :func:`_`
and :func:`label`, which read it, so that the public functions keep their signatures. Outside
:func:`using` the language is English (the library's language; a run switches to its own).
"""
from __future__ import annotations

import contextlib
import contextvars
import csv
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Literal

from kzmig.core.errors import ConfigError

Lang = Literal["ru", "en"]
LANGS: tuple[str, ...] = ("ru", "en")
DOMAIN = "kzmig"
DEFAULT_LANG: Lang = "en"  # outside a run; a run's default is RunBlock.lang ("ru")

_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("kzmig_lang", default=DEFAULT_LANG)


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGS`, else a :class:`ConfigError` naming the choices."""
    if lang not in LANGS:
        raise ConfigError(f"language {lang!r} is not available; choose one of {', '.join(LANGS)}.")
    return lang


def current() -> str:
    """The language of the current context (:func:`using`), ``"en"`` outside one."""
    return _LANG.get()


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Within the block, :func:`_` and :func:`label` speak ``lang`` (``None``: unchanged)."""
    if lang is None:
        yield current()
        return
    token = _LANG.set(check_lang(lang))
    try:
        yield lang
    finally:
        _LANG.reset(token)


def _files():
    return resources.files("kzmig.reporting")


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Message id -> translation of the ``lang`` catalogue (translated entries only)."""
    from babel.messages.pofile import read_po

    path = _files() / "locale" / check_lang(lang) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in cat if m.id and isinstance(m.id, str) and m.string}


def gettext(message: str, lang: str | None = None) -> str:
    """``message`` (an English id) in ``lang`` (default: the current language); the id when untranslated."""
    lang = lang or current()
    return catalog(lang).get(message, message) if lang != "en" else catalog("en").get(message, message)


def _(message: str, /, **values) -> str:
    """:func:`gettext` of ``message``, then ``str.format(**values)`` when values are given."""
    text = gettext(message)
    return text.format(**values) if values else text


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (translated where shown)."""
    return message


# --------------------------------------------------------------------------------------------- labels

@lru_cache(maxsize=None)
def _label_table() -> tuple[dict[str, dict[str, str]], list[tuple[str, dict[str, str]]], dict[str, dict[str, str]]]:
    names: dict[str, dict[str, str]] = {}
    parts: list[tuple[str, dict[str, str]]] = []
    stems: dict[str, dict[str, str]] = {}
    with (_files() / "labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            entry = {"ru": row["ru"], "en": row["en"], "short_ru": row.get("short_ru") or ""}
            if row["kind"] == "part":
                parts.append((row["name"], entry))
            elif row["kind"] == "stem":
                stems[row["name"]] = entry
            else:
                names[row["name"]] = entry
    parts.sort(key=lambda p: -len(p[0]))  # the longest part first: "_to_non_cis" before "_to_..."
    return names, parts, stems


def label_names() -> dict[str, dict[str, str]]:
    """Name -> {"ru", "en"} of every whole name in the label table (not the parts)."""
    return dict(_label_table()[0])


def _split(key: str) -> tuple[str, list[dict[str, str]]] | None:
    """``(base, [part entries])`` of a compound name, or None."""
    names, parts, _stems = _label_table()
    for base in sorted(names, key=len, reverse=True):
        if key.startswith(base + "_"):
            rest, found = key[len(base):], []
            while rest:
                part = next(((p, e) for p, e in parts if rest.startswith(p)), None)
                if part is None:
                    break
                found.append(part[1])
                rest = rest[len(part[0]):]
            if not rest and found:
                return base, found
    return None


def sheet_label(name: str) -> str | None:
    """The Russian sheet name of a variable from the short-name table (``short_ru`` of ``labels.csv``):
    a whole name's short form, or a compound's stem and its parts' short forms
    (``external_departures_specialty_technical`` -> ``"Выб. техн. спец."``); None when the table has none."""
    names, _parts, stems = _label_table()
    key = str(name)
    if key in names and names[key]["short_ru"]:
        return names[key]["short_ru"]
    split = _split(key)
    if split is None or split[0] not in stems or not all(p["short_ru"] for p in split[1]):
        return None
    return " ".join([stems[split[0]]["short_ru"], *(p["short_ru"] for p in split[1])])


_LAG = re.compile(r"^(?P<base>.+)_lag(?P<k>\d+)$")


def label(name: str, lang: str | None = None) -> str:
    """A human-readable label of a variable, target, feature, column or code, in ``lang``.

    Whole names are looked up in ``labels.csv``; a name ``<base>_lag<k>`` is the label of
    ``base`` with "(t-k)"; a compound name is a known base followed by known parts
    (``external_departures`` + ``_to_rus``; ``+ _specialty_technical``), each part's label
    joined with ", ". An unknown name is returned with its underscores as spaces, so that a
    raw identifier never reaches a reader (and a test of the labels finds it).
    """
    lang = lang or current()
    names, _parts, _stems = _label_table()
    key = str(name)
    if key in names:
        return names[key][lang] or names[key]["en"]
    m = _LAG.match(key)
    if m:
        return f"{label(m['base'], lang)} (t−{m['k']})"
    split = _split(key)
    if split is not None:
        base, found = split
        return f"{names[base][lang] or names[base]['en']}: " + ", ".join(p[lang] or p["en"] for p in found)
    return key.replace("_", " ")


def shown_name(name: str) -> str:
    """The name of a variable as the outputs of the current language show it: its :func:`label` in
    Russian; in English the name itself where the English outputs have always shown it (sheet titles,
    the cover's listing), so that English readers and scripts keep finding it."""
    return str(name) if current() == "en" else label(name)


# --------------------------------------------------------------------------------------------- regions

@lru_cache(maxsize=None)
def _regions() -> dict[str, dict[str, str]]:
    from kzmig.features.data.regions import load_regions

    reg = load_regions()
    cols = [c for c in ("name_ru", "name_en", "name_kk") if c in reg.columns]
    return {str(r["region"]): {c: ("" if not isinstance(r[c], str) else r[c]) for c in cols}
            for _, r in reg.iterrows()}


def region_name(code: str, lang: str | None = None, *, kazakh: bool = True) -> str:
    """The name of a region in ``lang``; in Russian with the Kazakh name beside it when ``kazakh``:
    ``"Павлодарская область (Павлодар облысы)"``. An unknown code is returned as is."""
    lang = lang or current()
    r = _regions().get(str(code))
    if r is None:
        return str(code)
    if lang == "ru":
        ru, kk = r.get("name_ru", ""), r.get("name_kk", "")
        return f"{ru} ({kk})" if kazakh and kk and kk != ru else ru or str(code)
    return r.get("name_en") or str(code)


def region_short(code: str, lang: str | None = None) -> str:
    """The region's name in ``lang`` without the Kazakh name (chart panels, legends)."""
    return region_name(code, lang, kazakh=False)


# --------------------------------------------------------------------------------------------- numbers

def number(value: float, digits: int = 0, *, sign: bool = False, lang: str | None = None) -> str:
    """A number for prose: thousands separated (a thin space in Russian, a comma in English),
    ``digits`` decimals (a decimal comma in Russian), a real minus sign, ``+`` when ``sign``."""
    lang = lang or current()
    text = f"{abs(float(value)):,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    if float(value) < 0 and float(text.replace("\u202f", "").replace(",", ".")) != 0:
        return "−" + text
    return ("+" if sign and float(value) > 0 else "") + text


def percent(value: float, digits: int = 0, *, sign: bool = False, lang: str | None = None) -> str:
    """``value`` (a fraction) as a percentage for prose: ``0.123 -> "12 %"`` (``"12,3 %"`` with one digit in Russian)."""
    return number(100 * float(value), digits, sign=sign, lang=lang) + "\u00a0%"


def number_text(text: str, lang: str | None = None) -> str:
    """A number already written the English way (``"-14,308"``, ``"0.957"``, ``"83%"``) in the
    convention of ``lang``: in Russian a thin space between thousands, a decimal comma, a real minus
    sign and a no-break space before ``%`` (``"−14\u202f308"``, ``"0,957"``, ``"83\u00a0%"``)."""
    if (lang or current()) == "en":
        return text
    out = text.replace(",", "\u202f").replace(".", ",")
    if out.startswith("-"):
        out = "−" + out[1:]
    if out.endswith("%") and not out.endswith((" %", "\u00a0%")):
        out = out[:-1] + "\u00a0%"
    return out


#: how a true / false cell reads in each language
_BOOLS = {"ru": {"True": "да", "False": "нет"}, "en": {}}


def cell_text(text: str, lang: str | None = None) -> str:
    """A text cell of a table in ``lang``: a yes / no in words, a name the label table knows as its
    label (a model, a status, a variable: ``fe_twoway`` -> «фиксированные эффекты регионов и лет»),
    anything else as it is."""
    lang = lang or current()
    if lang == "en":
        return text
    if text in _BOOLS.get(lang, {}):
        return _BOOLS[lang][text]
    if lang == "ru" and _PERIODS.match(text):  # "2022, 2023 Jan-Sep" -> "2022, 2023 янв.-сент."
        return re.sub(r"[A-Z][a-z]{2}", lambda m: _MONTHS_RU.get(m.group(0), m.group(0)), text)
    wrapped = re.fullmatch(r"([a-z]\w*) \(([a-z]\w*)\)", text)  # "composition (theta)": a method and its model
    if wrapped and wrapped.group(1) in _label_table()[0]:
        return f"{label(wrapped.group(1), lang)} ({cell_text(wrapped.group(2), lang)})"
    known = text in _label_table()[0] or (re.fullmatch(r"[a-z][a-z0-9_]*", text) is not None
                                          and (_split(text) is not None or _LAG.match(text) is not None))
    return label(text, lang) if known else text


#: years with an optional span of months, as the studies write the years of a share ("2017, 2023 Jan-Sep")
_PERIODS = re.compile(r"^\d{4}(?: [A-Z][a-z]{2}-[A-Z][a-z]{2})?(?:, \d{4}(?: [A-Z][a-z]{2}-[A-Z][a-z]{2})?)*$")
_MONTHS_RU = dict(zip(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
                      ("янв.", "февр.", "март", "апр.", "май", "июнь", "июль", "авг.", "сент.", "окт.", "нояб.", "дек.")))
