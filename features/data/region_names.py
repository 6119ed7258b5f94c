"""Every accepted spelling of a region, built once: the vocabulary behind ``resolve_region``.

Sources, in order of precedence (the first that gives a spelling decides its region):

1. the codes of ``data/regions.csv`` and the alias table ``data/region_aliases.csv`` (labels seen
   in the official sources, the registry's English, Russian and Kazakh names, former names,
   Russian case forms; built by :mod:`kzmig.features.ingest.build`);
2. forms generated here from the registry's names:

   * Russian short forms: ``Акмолинская обл.``, ``обл. Абай``, ``г. Алматы`` / ``город Алматы``,
     the bare adjective ``Акмолинская``; Kazakh ``Алматы қ.``, ``Ақмола обл.``;
   * Latin transliterations of every Russian spelling (BGN/PCGN, the Wikipedia and ICAO 9303
     schemes, ALA-LC and the scientific one, all from :mod:`iuliia`), of every Kazakh name
     (BGN/PCGN, as ISO 3166-2 spells it in :mod:`pycountry`; the national Kazakh Latin alphabet of
     2018 and of 2021, :data:`KK_LATIN_2018`, :data:`KK_LATIN_2021`), with and without the generic
     word (``oblast``, ``oblysy``, ``region``, ``qalasy``, ``city``);
   * ISO 3166-2 codes (``KZ-11`` ...; current codes from :mod:`pycountry`, the letter codes in
     use until 2020 from :data:`FORMER_ISO`), the BNS KATO codes (``110000000`` and its first two
     digits ``11``), and the usual abbreviations :data:`ABBREVIATIONS` (``СКО``, ``SKO`` ...).

Matching is exact on the alias key (:func:`kzmig.features.data.regions.normalise_name`) first; failing
that, on a *folded* key (:func:`fold`): transliterated to ASCII, lower case, without spaces,
hyphens, dots, quotes and diacritics, so ``severo kazakhstanskaya OBLAST``, ``Soltüstık
Qazaqstan oblysy`` and ``СКО`` all resolve. A folded key that two regions share (``almaty`` is
the city in English sources and the region in Kazakh census tables) resolves only through the
exact tier; :func:`ambiguous` names the candidates for messages.
"""
from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

#: The Kazakh Latin alphabet of Presidential Decree No. 637 (19 Feb 2018), lower case; letters of
#: Russian words that the decree leaves out (ц, щ, ё, ю, я, ъ, ь, э) as in its accompanying rules.
KK_LATIN_2018 = {
    "а": "a", "ә": "á", "б": "b", "в": "v", "г": "g", "ғ": "ǵ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "ı", "й": "ı", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ń", "о": "o",
    "ө": "ó", "п": "p", "р": "r", "с": "s", "т": "t", "у": "ý", "ұ": "u", "ү": "ú", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "ıý", "я": "ıa",
}
#: The revised Kazakh Latin alphabet presented by the government in January 2021 (``Ä, Ğ, Ñ, Ö, Ş,
#: Ū, Ü, Ç``; ``ı`` for і, ``i`` for и/й), lower case.
KK_LATIN_2021 = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şç", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}
#: ISO 3166-2:KZ letter codes in use until the 2020 change to numeric codes (ISO 3166-2 newsletter
#: history; Shymkent's KZ-SHY dates from 2018). Current numeric codes come from pycountry.
FORMER_ISO = {
    "KZ-AKM": "akmola", "KZ-AKT": "aktobe", "KZ-ALA": "almaty_city", "KZ-ALM": "almaty_region",
    "KZ-AST": "astana", "KZ-ATY": "atyrau", "KZ-KAR": "karaganda", "KZ-KUS": "kostanay",
    "KZ-KZY": "kyzylorda", "KZ-MAN": "mangystau", "KZ-PAV": "pavlodar", "KZ-SEV": "north_kazakhstan",
    "KZ-VOS": "east_kazakhstan", "KZ-YUZ": "south_kazakhstan", "KZ-ZAP": "west_kazakhstan",
    "KZ-ZHA": "zhambyl", "KZ-SHY": "shymkent",
}
#: Abbreviations of everyday Russian and Kazakh usage and their Latin spellings.
ABBREVIATIONS = {
    "north_kazakhstan": ("СКО", "SKO", "СҚО"),
    "east_kazakhstan": ("ВКО", "VKO", "ШҚО", "ShQO"),
    "west_kazakhstan": ("ЗКО", "ZKO", "БҚО", "BQO"),
    "south_kazakhstan": ("ЮКО", "YuKO", "YUKO", "UKO", "ОҚО", "OQO"),
    "almaty_city": ("Алма-Ата", "Alma-Ata"),
    "kazakhstan": ("РК", "RK", "ҚР", "Kazakhstan", "Казахстан", "Қазақстан", "Qazaqstan", "KZ"),
}
#: Russian transliteration schemes of :mod:`iuliia` applied to every Russian spelling.
RU_SCHEMES = ("BGN_PCGN", "WIKIPEDIA", "ICAO_DOC_9303", "ALA_LC", "SCIENTIFIC", "GOST_779_ALT")
#: Words every region name shares, in every script (after :func:`fold`): no evidence in suggestions.
GENERIC = frozenset({
    "oblast", "oblasti", "obl", "oblysy", "oblys", "region", "regionen", "respublika", "respubliki",
    "respublikasy", "republic", "of", "gorod", "goroda", "g", "qalasy", "kalasy", "q", "k", "city", "the",
})
#: How close the distinctive part of a name must be to a known one to be suggested (difflib ratio).
SUGGEST_CUTOFF = 0.75


def _kazakh_latin(text: str, table: dict[str, str]) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        rep = table.get(low, ch)
        out.append(rep[:1].upper() + rep[1:] if ch != low and rep else rep)
    return "".join(out)


def fold(name: str) -> str:
    """The script-, case-, diacritic- and punctuation-free key of a region label.

    ``'severo kazakhstanskaya OBL.'`` -> ``'severokazakhstanskayaobl'``; a Cyrillic label keeps a
    ``'c:'`` prefix (``'Северо-Казахстанская обл.'`` -> ``'c:severokazakhstanskayaobl'``).
    """
    from anyascii import anyascii

    s = unicodedata.normalize("NFC", str(name)).lower().replace("ё", "е").replace("ı", "i")
    # the Cyrillic soft and hard signs count (a truncated official label 'ОБЛАСТ' is not 'ОБЛАСТЬ');
    # their Latin renderings (', ʹ, `) do not, so each transliteration is a spelling of its own
    s = s.replace("ь", "6").replace("ъ", "7")
    s = re.sub(r"[\"'«»’ʼʹ`]", "", s)
    # a Cyrillic label is matched against Cyrillic spellings only (each has its Latin forms of its own):
    # 'АКМОЛИНСКАЯ ОБЛАСТ' must not pass as the transliteration 'Akmolinskaya oblast'
    script = "c:" if re.search(r"[\u0400-\u04FF]", s) else ""
    return script + re.sub(r"[^a-z0-9]+", "", anyascii(s).lower())


def _tokens(name: str) -> list[str]:
    from anyascii import anyascii

    s = unicodedata.normalize("NFC", str(name)).lower().replace("ё", "е").replace("ı", "i")
    s = re.sub(r"[\"'«»’ʼʹ`]", "", s.replace("ь", "").replace("ъ", ""))
    return [t for t in re.split(r"[^a-z0-9]+", anyascii(s).lower()) if t]


def distinctive(name: str) -> str:
    """:func:`fold` without the generic words (:data:`GENERIC`): what tells one region from another."""
    return "".join(t for t in _tokens(name) if t not in GENERIC)


def _russian_short(name: str) -> list[str]:
    m = re.fullmatch(r"(\S+(?:ая|ий))\s+область", name, flags=re.I)
    if m:
        return [f"{m.group(1)} обл.", f"{m.group(1)} обл", m.group(1)]
    m = re.fullmatch(r"область\s+(\S+)", name, flags=re.I)
    if m:
        return [f"обл. {m.group(1)}", f"{m.group(1)} обл.", f"{m.group(1)} область", m.group(1)]
    m = re.fullmatch(r"(?:г\.|город)\s*(\S+)", name, flags=re.I)
    if m:
        return [f"г. {m.group(1)}", f"город {m.group(1)}", f"{m.group(1)} г.", m.group(1)]
    return []


#: Kazakh letters as Russian texts replace them (``область Жетісу`` -> ``область Жетысу``, ``Жетису``)
_KK_TO_RU = ({"і": "ы", "ұ": "у", "ү": "у", "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "һ": "х"},
             {"і": "и", "ұ": "у", "ү": "у", "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "һ": "х"})


def _russian_letters(name: str) -> list[str]:
    """A Russian name holding Kazakh letters written with Russian ones only (both usual renderings of і)."""
    if not re.search(r"[іұүәғқңөһІҰҮӘҒҚҢӨҺ]", name):
        return []
    out = []
    for table in _KK_TO_RU:
        out.append("".join((table.get(c.lower(), c.lower()).upper() if c.isupper() else table.get(c, c)) for c in name))
    return out


def _kazakh_short(name: str) -> list[str]:
    m = re.fullmatch(r"(.+?)\s+облысы", name, flags=re.I)
    if m:
        return [f"{m.group(1)} обл.", m.group(1)]
    m = re.fullmatch(r"(.+?)\s+қаласы", name, flags=re.I)
    if m:
        return [f"{m.group(1)} қ.", m.group(1)]
    return []


def _latin_variants(name: str) -> list[str]:
    """``'Aqmola oblysy'`` -> also ``'Aqmola'``, ``'Aqmola oblast'``, ``'Aqmola region'``;
    ``'Almaty qalasy'`` -> ``'Almaty'``, ``'Almaty city'``."""
    m = re.fullmatch(r"(.+?)\s+(oblysy|oblast|region)", name, flags=re.I)
    if m:
        return [m.group(1)] + [f"{m.group(1)} {w}" for w in ("oblast", "region", "oblysy")]
    m = re.fullmatch(r"(.+?)\s+(qalasy|city)", name, flags=re.I)
    if m:
        return [m.group(1)] + [f"{m.group(1)} {w}" for w in ("city", "qalasy")]
    return []


@dataclass(frozen=True)
class Vocabulary:
    """The spellings (``spelling, region, kind``) and the lookup tables built from them."""

    spellings: pd.DataFrame
    exact: dict[str, str]
    folded: dict[str, frozenset[str]]
    suggest_pool: dict[str, str]
    iso: dict[str, str]

    def resolve(self, name: str) -> str | None:
        from kzmig.features.data.regions import normalise_name

        key = normalise_name(name)
        if key in self.exact:
            return self.exact[key]
        hit = self.folded.get(fold(name), frozenset())
        return next(iter(hit)) if len(hit) == 1 else None


def _russian_transliterations(text: str) -> list[str]:
    import iuliia

    return [getattr(iuliia, s).translate(text) for s in RU_SCHEMES]


@functools.cache
def vocabulary() -> Vocabulary:
    """The region vocabulary (built on first use, then cached)."""
    import pycountry

    from kzmig.features.data.regions import load_aliases, load_regions, normalise_name

    regions = load_regions()
    codes = set(regions["region"].astype(str))
    rows: list[tuple[str, str, str]] = []
    add = rows.append
    for code in sorted(codes):
        add((code, code, "code"))
    aliases = load_aliases()
    for alias, code, note in zip(aliases["alias"].astype(str), aliases["region"].astype(str),
                                 aliases["note"].fillna("").astype(str)):
        if code in codes:
            add((alias, code, "former name" if note == "former name" else "alias"))
    iso = {s.code: s for s in pycountry.subdivisions.get(country_code="KZ")}
    iso_of: dict[str, str] = {}
    for rec in regions.itertuples(index=False):
        code = str(rec.region)
        ru, kk, en = (str(v) if isinstance(v, str) else "" for v in (rec.name_ru, rec.name_kk, rec.name_en))
        for form in dict.fromkeys([ru, *_russian_letters(ru)]):
            add((form, code, "russian"))
            for s in _russian_short(form):
                add((s, code, "russian short"))
        add((kk, code, "kazakh"))
        for s in _kazakh_short(kk):
            add((s, code, "kazakh short"))
        for form in _russian_letters(kk):  # Қазақстан -> Казакстан, as typed on a Russian keyboard
            add((form, code, "kazakh in russian letters"))
            for s in _kazakh_short(form):
                add((s, code, "kazakh in russian letters"))
        add((en, code, "english"))
        for s in _latin_variants(en):
            add((s, code, "english"))
        for table, kind in ((KK_LATIN_2018, "kazakh latin 2018"), (KK_LATIN_2021, "kazakh latin 2021")):
            lat = _kazakh_latin(kk, table)
            add((lat, code, kind))
            for s in _latin_variants(lat):
                add((s, code, kind))
        kato = str(rec.kato) if isinstance(rec.kato, str) and rec.kato.strip() else ""
        if kato:
            add((kato, code, "kato"))
            if kato[:2] != "00":
                add((kato[:2], code, "kato"))
                iso_code = f"KZ-{kato[:2]}"
                if iso_code in iso:
                    iso_of[code] = iso_code
                    add((iso_code, code, "iso 3166-2"))
                    name = iso[iso_code].name
                    add((name, code, "kazakh bgn/pcgn"))
                    for s in _latin_variants(name):
                        add((s, code, "kazakh bgn/pcgn"))
    iso_of["kazakhstan"] = "KZ"
    for old, code in FORMER_ISO.items():
        add((old, code, "former iso 3166-2"))
    for code, abbrs in ABBREVIATIONS.items():
        for a in abbrs:
            add((a, code, "abbreviation"))
    # Latin transliterations of every Cyrillic spelling collected so far
    for text, code, kind in list(rows):
        if kind in ("russian", "russian short", "alias", "former name") and re.search(r"[А-Яа-яЁё]", text):
            for t in _russian_transliterations(text):
                add((t, code, "russian latin"))
    spellings = pd.DataFrame(rows, columns=["spelling", "region", "kind"])
    spellings = spellings[spellings["spelling"].str.strip() != ""]
    exact: dict[str, str] = {}
    folded: dict[str, set[str]] = {}
    pool: dict[str, str] = {}
    for text, code in zip(spellings["spelling"], spellings["region"]):
        exact.setdefault(normalise_name(text), code)
        key = fold(text)
        if key:
            folded.setdefault(key, set()).add(code)
        d = distinctive(text)
        if d:
            pool.setdefault(d, code)
    # one spelling per region, folded key and script (Cyrillic forms and their Latin transliterations both shown)
    spellings = spellings.assign(key=spellings["spelling"].map(fold),
                                 cyr=spellings["spelling"].str.contains(r"[\u0400-\u04FF]", regex=True))
    spellings = spellings.drop_duplicates(["region", "key", "cyr"]).drop(columns=["key", "cyr"]).reset_index(drop=True)
    return Vocabulary(spellings, exact, {k: frozenset(v) for k, v in folded.items()}, pool, iso_of)


def resolve(name: str) -> str | None:
    """The code of a region spelled ``name`` in any accepted way, or ``None``."""
    if not isinstance(name, str) or not name.strip():
        return None
    return vocabulary().resolve(name.strip())


def ambiguous(name: str) -> tuple[str, ...]:
    """The regions a spelling could mean when it is ambiguous (e.g. ``Almaty``), else ``()``."""
    hit = vocabulary().folded.get(fold(name), frozenset())
    return tuple(sorted(hit)) if len(hit) > 1 else ()


def suggest(name: str) -> str | None:
    """The closest known region code to an unknown ``name``, in any script, or ``None``.

    Names are compared on their distinctive part (:func:`distinctive`: transliterated, without
    the generic words), so ``Павлодарская обл`` -> ``pavlodar``, ``pavlodr`` -> ``pavlodar``,
    ``Sevro-Kazakhstanskaya`` -> ``north_kazakhstan``, but nothing for ``НОВАЯ ОБЛАСТЬ``.
    """
    key = distinctive(name)
    if not key:
        return None
    pool = vocabulary().suggest_pool
    best = difflib.get_close_matches(key, list(pool), n=1, cutoff=SUGGEST_CUTOFF)
    return pool[best[0]] if best else None


def iso_code(code: str) -> str | None:
    """The current ISO 3166-2 code of a region code (``akmola`` -> ``KZ-11``), or None."""
    return vocabulary().iso.get(code)


def spellings_of(code: str) -> list[str]:
    """The accepted spellings of a region (one per folded key, official forms first)."""
    sp = vocabulary().spellings
    return sp.loc[sp["region"] == code, "spelling"].tolist()


def borders_note(code: str) -> str:
    """When a region exists and what it is in the fixed-border views (for ``kzmig data regions``)."""
    from kzmig.features.data.regions import BORDERS, MERGES, load_regions, units

    reg = load_regions().set_index("region")
    if code not in reg.index or code == "kazakhstan":
        return "national total" if code == "kazakhstan" else ""
    rec = reg.loc[code]
    parts = []
    created, abolished = rec.get("year_created"), rec.get("year_abolished")
    if pd.notna(created) and str(created).strip():
        parts.append(f"since {int(float(created))}")
    if pd.notna(abolished) and str(abolished).strip():
        parts.append(f"until {int(float(abolished))}")
    views = []
    for b in sorted(BORDERS, reverse=True):
        if code in MERGES[b]:
            views.append(f"{b} borders: in {MERGES[b][code]}")
        elif code in units(b):
            continue
        else:
            views.append(f"{b} borders: no unit")
    inside = [b for b in BORDERS if code in units(b)]
    if code in MERGES[2017].values() and code == "south_kazakhstan":
        views = [f"a unit of the {', '.join(map(str, inside))} borders view only (Shymkent + Turkestan)"]
    return "; ".join(parts + views)


def region_table() -> pd.DataFrame:
    """One row per region code: ISO 3166-2, KATO, Russian and Kazakh names, borders note."""
    from kzmig.features.data.regions import load_regions

    reg = load_regions()
    v = vocabulary()
    out = pd.DataFrame({
        "region": reg["region"].astype(str),
        "iso_3166_2": reg["region"].map(lambda c: v.iso.get(c, "")),
        "kato": reg["kato"].fillna("").astype(str),
        "name_ru": reg["name_ru"].fillna("").astype(str),
        "name_kk": reg["name_kk"].fillna("").astype(str),
        "borders": reg["region"].map(borders_note),
    })
    return out.sort_values("region", kind="stable").reset_index(drop=True)
