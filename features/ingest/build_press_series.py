"""SECONDARY national series behind the state's migration targets (SOURCES.md, "Round 6"), for the dataset build.

Six raw files (:data:`FILES`: foreign students, foreign labour, labour emigration, Kazakh students
abroad, kandas arrivals, border crossings; 231 rows, SOURCES.md says 236 values) print what ministries and the BNS said in
public. :func:`press_series` turns every row into an observation row of the national total, as
what it is:

* **one variable per definition.** The raw series name, lower case, with the period in the
  name. The raw ``foreign_students_higher_ed`` mixes three counts; it is split into
  ``foreign_students_bns`` (the BNS count of non-residents at the start of the academic year),
  ``foreign_students_mnvo`` (the Ministry of Science and Higher Education's count) and
  ``foreign_students_cip`` (the 2016-2018 statements of the Centre for International
  Programmes, definition not printed) by :data:`STUDENT_DEFINITION`; its targets into
  ``foreign_students_target_{mnvo,president,cip}`` (:data:`TARGET_OWNER`: two documents, two
  targets). Definitions are never chained.
* **the period in the name** (:func:`classify`): none for a calendar year, a quota, a target or
  an academic year (``year`` = the start year, 2024 = 2024/25); ``_jan_<mon>`` for a
  year-to-date figure with its cut-off (``_jan_sep`` = as of 1 October, the raw ``_ytd`` dropped),
  ``_q1`` ... for a quarter, ``_ytd_cutoff_unstated`` where the page prints no cut-off; for a
  stock, ``_at_<day><mon>`` (``_at_1apr`` = as of 1 April of ``year``) or ``_at_end_of_year``
  (as of 1 January of ``year + 1``, as the raw file files it) or ``_at_date_unstated``.
  :func:`period_type` reads the kind of period back from a name; a year-to-date or partial
  variable is never a full year (:func:`is_full_year`).
* **flags**: ``official`` (gov.kz, enbek.gov.kz, oq.gov.kz or a law text) or ``secondary:press``
  (news media quoting a ministry or the BNS), plus ``secondary:retelling`` (analysts, IOM, foreign
  media; raw confidence ``secondary``), ``approximate`` (the page printed a rounded "about ..."),
  ``lower_bound`` / ``upper_bound`` ("more than ...", "fewer than ..."), ``rounded`` (printed in
  thousands or millions), ``cutoff_probable`` (the date is the compiler's reading),
  ``period_unclear`` (the page does not print the reference period plainly) and ``suspect``
  (:data:`SUSPECT`: SOURCES.md doubts it).
* **provenance**: ``source`` is the page's URL (or repository path), ``note`` holds the period,
  the unit as printed, the quote, the page title, the raw confidence and ``raw: <file> row <n>``
  (header = row 1), so every value traces back to its raw row.
* **one row per year and variable**: where several pages print a value for the same variable and
  year, an exact figure beats a rounded or bounded one, then ``official`` beats press, press beats
  retelling, then the first row of the file. Pages printing the same value are named in the note;
  a different value goes to :func:`press_series_disagreements` with the value used and why.

Values are stored as printed (persons, permits, families, percent ...); nothing is estimated,
interpolated or differenced.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kzmig.core.errors import DataFileError

logger = logging.getLogger(__name__)

NATIONAL = "kazakhstan"
FILES = ("foreign_students_press_secondary.csv", "foreign_labour_press_secondary.csv",
         "labour_emigration_press_secondary.csv", "kz_students_abroad_press_secondary.csv",
         "kandas_arrivals_press_secondary.csv", "border_crossings_press_secondary.csv")
RAW_COLUMNS = ("series", "year", "value", "unit", "period_note", "source_title", "source_url_or_repo_path",
               "quote", "confidence")
CONFIDENCE_FLAG = {"official": "official", "press-quoting-official": "secondary:press",
                   "secondary": "secondary:press;secondary:retelling"}
_RANK = {"official": 0, "press-quoting-official": 1, "secondary": 2}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

#: foreign_students_higher_ed (year, value) -> definition: the BNS count of non-residents at the
#: start of the academic year, the ministry's (MNVO) count, or the Centre for International
#: Programmes' 2016-2018 statements (definition not printed). SOURCES.md Round 6, section 1.
STUDENT_DEFINITION: dict[tuple[int, float], str] = {
    (2016, 13000.0): "cip", (2017, 14000.0): "cip", (2018, 14000.0): "cip",
    (2023, 25000.0): "bns", (2024, 28500.0): "bns", (2024, 28458.0): "bns", (2025, 33500.0): "bns",
    (2024, 31500.0): "mnvo", (2024, 31000.0): "mnvo", (2025, 35075.0): "mnvo", (2025, 35000.0): "mnvo",
}
#: foreign_students_target (year, value) -> whose target it is (the three are different targets, not vintages)
TARGET_OWNER: dict[tuple[int, float], str] = {(2025, 50000.0): "cip", (2029, 100000.0): "president",
                                             (2029, 150000.0): "mnvo"}
STUDENT_WORDS = {
    "bns": "BNS count of non-residents enrolled in higher education at the start of the academic year",
    "mnvo": "Ministry of Science and Higher Education (MNVO) count of foreign students (probably incl. non-degree)",
    "cip": "Centre for International Programmes statements, 2016-2018 (definition not printed)",
    "target_cip": "target of the Centre for International Programmes (stated about 2018)",
    "target_president": "target stated by the President (31 Oct 2025)",
    "target_mnvo": "target of the Ministry of Science and Higher Education (Government target, 2026)",
}
#: (file, series, year, value) -> why SOURCES.md doubts the row (flag ``suspect``)
SUSPECT: dict[tuple[str, str, int, float], str] = {
    ("kandas_arrivals_press_secondary.csv", "kandas_status_granted", 2021, 12500.0):
        "SOURCES.md: the ministry's own figures are higher (17,358 by 1 Dec 2021); probably 2020's 12.3k carried over",
    ("kandas_arrivals_press_secondary.csv", "kandas_cumulative_since_1991", 2021, 1082800.0):
        "SOURCES.md: printed beside the suspect 12.5k; below the 1,087.7k of 1 Dec 2021",
    ("kandas_arrivals_press_secondary.csv", "oralman_status_granted", 2018, 14541.0):
        "SOURCES.md: 'since July' in the text, possibly garbled; lower bound",
}
#: series counted at a date (stocks), not over a period
_STOCK = re.compile(r"stock|cumulative|employed_leb_permits|permits_leb_valid|permanently_registered|"
                    r"permanent_residents|temp_residence_for_work")
_DATE = re.compile(r"(?:as of|as at|on|at|to)\s+(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
                   r"\s+(\d{4})", re.I)
_RANGE = re.compile(r"\bjan(?:uary)?\s*[-\u2013]\s*(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*", re.I)


@dataclass(frozen=True)
class Period:
    """The period of one raw row: its kind, the suffix of the shipped name, and extra flag tokens."""

    kind: str  # calendar year | academic year | quota | target | year-to-date | quarter | stock at a date ...
    suffix: str
    words: str
    flags: str = ""


#: (file, series, year, value) -> the period, where the note alone does not say it plainly
OVERRIDES: dict[tuple[str, str, int, float], Period] = {
    ("border_crossings_press_secondary.csv", "foreign_citizens_exits", 2022, 4155000.0):
        Period("year-to-date", "_ytd_cutoff_unstated", "since 1 January, at the autumn-2022 briefing of the entries "
               "row above (cut-off not printed)"),
    ("border_crossings_press_secondary.csv", "foreign_citizens_entries_by_country_ytd_uzbekistan", 2024, 1598656.0):
        Period("year-to-date", "_ytd_to_10may", "1 January to 10 May"),
    ("labour_emigration_press_secondary.csv", "kz_citizens_left_abroad_mostly_for_work_ytd", 2023, 194000.0):
        Period("year-to-date", "_ytd_cutoff_unstated", "since 1 January 2023 or the first quarter (the two "
               "retellings differ); cut-off not printed", "period_unclear"),
    ("kandas_arrivals_press_secondary.csv", "oralman_status_granted", 2018, 14541.0):
        Period("calendar year", "", "calendar year 2018, as reported 'as of Jan. 1' [2019]"),
}


def _ytd_from_date(n: str, low: str) -> Period | None:
    d = re.search(r"probably (as of \d.*)", n)
    d = _DATE.search(d.group(1)) if d else _DATE.search(n)
    if d is None or "as of" not in low:
        return None
    day, mon = int(d.group(1)), d.group(2).lower()
    k = MONTHS.index(mon)
    probable = "cutoff_probable" if re.search(r"probably|likely", low) else ""
    if day == 1 and k > 0:
        last = MONTHS[k - 1]
        return Period("year-to-date", f"_jan_{last}" if last != "jan" else "_jan",
                      f"January-{last.title()} (as of 1 {mon.title()})", probable)
    return Period("year-to-date", f"_ytd_to_{day}{mon}", f"1 January to {day} {mon.title()}", probable)


def _partial(n: str, low: str) -> Period:
    q = re.search(r"\bq([1-4])\b|(first quarter)", low)
    if q:
        k = q.group(1) or "1"
        return Period("quarter", f"_q{k}", f"quarter {k}")
    m = _RANGE.search(n)
    if m:
        last = m.group(1).lower()
        return Period("year-to-date", f"_jan_{last}" if last != "jan" else "_jan", f"January-{last.title()}",
                      "cutoff_probable" if re.search(r"probably|likely", low) else "")
    if re.search(r"\bh1\b|first half", low):
        return Period("year-to-date", "_jan_jun", "January-June")
    if "five months" in low:
        return Period("year-to-date", "_jan_may", "January-May")
    if re.search(r"january \d{4}", low):
        return Period("year-to-date", "_jan", "January")
    if "cut-off not printed" in low and "probably as of" not in low:
        return Period("year-to-date", "_ytd_cutoff_unstated", "since 1 January, cut-off date not printed")
    got = _ytd_from_date(n, low)
    if got is not None:
        return got
    return Period("year-to-date", "_ytd_cutoff_unstated", "since 1 January, cut-off date not printed")


def classify(series: str, note: str, key: tuple[str, str, int, float] | None = None) -> Period:
    """The period of a raw row from its series name and ``period_note`` (see the module notes);
    :data:`OVERRIDES` decides where the note does not say it plainly."""
    if key is not None and key in OVERRIDES:
        return OVERRIDES[key]
    s, n = series.lower(), note
    low = n.lower()
    unclear = "period_unclear" if re.search(r"not printed|date uncertain|not in (the )?stored text", low) else ""
    if s.endswith("_target"):
        return Period("target", "", "target for the year")
    if "quota" in s:
        return Period("quota", "", "quota for the calendar year")
    if _STOCK.search(s):
        if "= end of" in low:
            return Period("stock at a date", "_at_end_of_year",
                          "stock at the end of the year (as of 1 January of the next)")
        if "end of h1" in low:
            return Period("stock at a date", "_at_1jul", "stock at the end of June (end of the first half)")
        m = _DATE.search(n)
        if m and (m.start() < 12 or "probably as of" in low):
            probable = "cutoff_probable" if "probably" in low else ""
            return Period("stock at a date", f"_at_{int(m.group(1))}{m.group(2).lower()}",
                          f"stock as of {int(m.group(1))} {m.group(2).title()} {m.group(3)}", probable)
        if "academic year" in low:
            return Period("academic year", "", "academic year (year = start year)")
        if "9 месяцев" in n or "jan-sep" in low:
            return Period("stock at a date", "_at_1oct", "stock at the end of September", "cutoff_probable")
        return Period("stock at a date", "_at_date_unstated", "stock at a date the page does not print")
    suffixed = re.search(r"_(ytd|quarter|h1)$", s) is not None
    if suffixed or re.search(r"year-to-date|\bjan(uary)?\s*-|\bq[1-4]\b|first quarter|\bh1\b|first half|five months",
                             low):
        if not suffixed and re.search(r"calendar|full year", low):
            pass
        else:
            return _partial(n, low)
    if "two years" in low:
        return Period("two calendar years", "", "two calendar years combined")
    if "academic year" in low:
        return Period("academic year", "", "academic year (year = start year)", unclear)
    if re.search(r"calendar|full year", low):
        return Period("calendar year", "", "calendar year", unclear)
    return Period("calendar year", "", "the year as the page states it (period not printed plainly)",
                  "period_unclear")


def period_type(variable: str) -> str:
    """``full year`` or the partial kind of a shipped press-series name (by its suffix)."""
    if re.search(r"_jan(_[a-z]{3})?$|_ytd_cutoff_unstated$|_ytd_to_[0-9a-z]+$", variable):
        return "year-to-date"
    if re.search(r"_q[1-4]$", variable):
        return "quarter"
    if re.search(r"_at_[a-z0-9_]+$", variable):
        return "stock at a date"
    return "full year"


def is_full_year(variable: str) -> bool:
    """False for a year-to-date, quarter or at-a-date variable (never read as a calendar year)."""
    return period_type(variable) == "full year"


def _base(file: str, series: str, year: int, value: float) -> str:
    s = series.lower()
    if s == "foreign_students_higher_ed":
        key = (year, value)
        if key not in STUDENT_DEFINITION:
            raise DataFileError(f"{file}: foreign_students_higher_ed year {year} value {value:g} has no definition in "
                                "kzmig.features.ingest.build_press_series.STUDENT_DEFINITION (BNS, MNVO or CIP count); add one.")
        return f"foreign_students_{STUDENT_DEFINITION[key]}"
    if s == "foreign_students_target":
        if (year, value) not in TARGET_OWNER:
            raise DataFileError(f"{file}: foreign_students_target year {year} value {value:g} has no owner in "
                                "kzmig.features.ingest.build_press_series.TARGET_OWNER; add one.")
        return f"foreign_students_target_{TARGET_OWNER[(year, value)]}"
    s = re.sub(r"_(ytd|quarter|h1)$", "", s)
    s = re.sub(r"_ytd_headline$", "_headline", s).replace("_by_country_ytd_", "_")
    return s.replace("foreign_workers_employed_leb_permits", "foreign_workers_leb_permits")


def _flags(row: dict, period: Period, suspect: str) -> str:
    text = (row["unit"] + " " + row["period_note"]).lower()
    tokens = CONFIDENCE_FLAG[row["confidence"]].split(";")
    exact_sum = "sum of printed components" in text
    if re.search(r"approx|about|около|почти|порядка|приблизилось", text) and not exact_sum:
        tokens.append("approximate")
    if re.search(r"lower bound|more than|свыше|более", text) and not exact_sum:
        tokens.append("lower_bound")
    if re.search(r"upper bound|fewer than", text):
        tokens.append("upper_bound")
    if re.search(r"thousand|тыс|минг|мың|myń|млн|mln|million|миллион", row["unit"], re.I) and not exact_sum:
        tokens.append("rounded")  # printed in thousands or millions
    tokens += [t for t in period.flags.split(";") if t]
    if suspect:
        tokens.append("suspect")
    return ";".join(dict.fromkeys(tokens))


def read_press_file(raw: Path, name: str) -> pd.DataFrame:
    """One Round-6 raw file as text, with ``row`` = its line in the file (header = row 1)."""
    path = raw / name
    if not path.exists():
        raise DataFileError(f"{path}: raw file not found; pass --raw pointing at shared/data/raw.")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in RAW_COLUMNS if c not in df.columns]
    if absent:
        raise DataFileError(f"{path}: column(s) {absent} absent; expected {list(RAW_COLUMNS)}.")
    bad = sorted(set(df["confidence"]) - set(CONFIDENCE_FLAG))
    if bad:
        raise DataFileError(f"{path}: confidence {bad} not one of {sorted(CONFIDENCE_FLAG)}.")
    return df.assign(row=range(2, len(df) + 2), file=name)


def candidates(raw: Path) -> pd.DataFrame:
    """Every raw row of :data:`FILES` as a candidate observation (before one is kept per year and variable)."""
    out = []
    for name in FILES:
        for r in read_press_file(raw, name).to_dict("records"):
            try:
                year, value = int(r["year"]), float(r["value"])
            except ValueError:
                raise DataFileError(f"{raw / name} row {r['row']}: year {r['year']!r} or value {r['value']!r} "
                                    "is not a number.") from None
            period = classify(r["series"], r["period_note"], (name, r["series"], year, value))
            suspect = SUSPECT.get((name, r["series"], year, value), "")
            variable = _base(name, r["series"], year, value) + period.suffix
            unit = shipped_unit(_base(name, r["series"], year, value),
                                re.split(r"\s*\(", r["unit"], maxsplit=1)[0].strip())
            definition = STUDENT_WORDS.get(variable.removeprefix("foreign_students_"), "")
            note = "; ".join(t for t in (
                f"period: {period.words}", definition and f"definition: {definition}",
                f"as printed: {r['period_note']}", f"unit as printed: {r['unit']}", suspect and f"SUSPECT: {suspect}",
                f"quote: «{r['quote']}»", f"page: {r['source_title']}", f"confidence: {r['confidence']}",
                f"raw: {name} row {r['row']}") if t)
            out.append({"region": NATIONAL, "year": year, "variable": variable, "value": value, "unit": unit,
                        "source": r["source_url_or_repo_path"], "flag": _flags(r, period, suspect), "note": note,
                        "_file": name, "_row": r["row"], "_rank": _RANK[r["confidence"]],
                        "_inexact": int(bool(re.search(r"approximate|lower_bound|upper_bound|rounded", _flags(r, period, "")))),
                        "_suspect": int(bool(suspect)), "_title": r["source_title"], "_kind": period.kind})
    return pd.DataFrame(out)


def _ordered(cand: pd.DataFrame) -> pd.DataFrame:
    """Candidates in order of preference within each (variable, year): not suspect, exact, official, file order."""
    return cand.sort_values(["variable", "year", "_suspect", "_inexact", "_rank", "_file", "_row"], kind="stable")


def _why(chosen: pd.Series, other: pd.Series) -> str:
    if chosen["_suspect"] < other["_suspect"]:
        return "the other value is doubted by SOURCES.md (suspect)"
    if chosen["_inexact"] < other["_inexact"]:
        return "an exact figure is preferred to a rounded or bounded one"
    if chosen["_rank"] < other["_rank"]:
        return "an official page is preferred to the press, the press to a retelling"
    return "equal standing: the first row of the raw file is kept"


def press_series(raw: Path, existing: pd.DataFrame | None = None) -> pd.DataFrame:
    """Observation rows (``region, year, variable, value, unit, source, flag, note``) of the Round-6 files.

    ``existing``: observation rows built before (the kandas figures of
    ``kandas_resettlement_press_secondary.csv``); a row of the same key is not shipped twice (the
    earlier row is kept and the equal value logged; a different value is a disagreement).
    """
    cand = _ordered(candidates(raw))
    keep = cand.drop_duplicates(["variable", "year"], keep="first").copy()
    extra = cand.loc[~cand.index.isin(keep.index)]
    also = {}
    for r in extra.to_dict("records"):
        k = keep.loc[(keep["variable"] == r["variable"]) & (keep["year"] == r["year"])].iloc[0]
        if r["value"] == k["value"]:
            also.setdefault((r["variable"], r["year"]), []).append(f"{r['_title']} ({r['_file']} row {r['_row']})")
    keep["note"] = [n + ("; same value also printed by: " + "; ".join(also[(v, y)]) if (v, y) in also else "")
                    for n, v, y in zip(keep["note"], keep["variable"], keep["year"])]
    if existing is not None and len(existing):
        have = set(zip(existing["region"], existing["year"], existing["variable"]))
        dup = [(NATIONAL, y, v) in have for y, v in zip(keep["year"], keep["variable"])]
        for r in keep.loc[dup].to_dict("records"):
            logger.info("press series: %s %d already shipped from another raw file; %s row %d not shipped twice",
                        r["variable"], r["year"], r["_file"], r["_row"])
        keep = keep.loc[[not d for d in dup]]
    logger.info("press series: %d rows (%d variables) from %d raw rows of %s", len(keep), keep["variable"].nunique(),
                len(cand), FILES)
    return keep[["region", "year", "variable", "value", "unit", "source", "flag", "note"]].reset_index(drop=True)


#: conflicts across variables that SOURCES.md names (variable, year, other variable, why)
CROSS_CONFLICTS = (
    ("kandas_status_granted", 2021, "kandas_status_granted_jan_nov",
     "full year 2021 printed as 12,500 (arbatmedia, Apr 2022), below the ministry's own January-November figure "
     "17,358: the 12,500 is shipped flagged suspect and is not used by the target feasibility or forecasts; "
     "the full 2021 value is unknown but at least 17,358"),
    ("oralman_status_granted_ytd_to_5dec", 2019, "kandas_status_granted",
     "the minister's 'about 13 thousand' of 5 Dec 2019 against Egemen's full-year 17,661; different bases or "
     "late registrations: the full-year 17,661 is the one used"),
)


def press_series_disagreements(raw: Path, columns: list[str]) -> pd.DataFrame:
    """Values printed for the same variable and year but not shipped, with the value used and why,
    plus the conflicts across variables of :data:`CROSS_CONFLICTS`."""
    cand = _ordered(candidates(raw))
    rows = []
    for (var, year), g in cand.groupby(["variable", "year"], sort=True):
        chosen = g.iloc[0]
        for _, o in g.iloc[1:].iterrows():
            if o["value"] != chosen["value"]:
                unstated = ("; the pages print no cut-off date, so the two may be of different dates"
                            if var.endswith(("_cutoff_unstated", "_date_unstated")) else "")
                rows.append({"variable": var, "region": NATIONAL, "year": int(year), "chosen": chosen["value"],
                             "other": o["value"], "chosen_source": chosen["source"], "other_source": o["source"],
                             "other_flag": o["flag"],
                             "note": f"value used: {chosen['value']:g} ({chosen['_file']} row {chosen['_row']}), "
                                     f"because {_why(chosen, o)}; other: {o['_file']} row {o['_row']}{unstated}"})
    for var, year, other_var, why in CROSS_CONFLICTS:
        a = cand.loc[(cand["variable"] == var) & (cand["year"] == year)]
        b = cand.loc[(cand["variable"] == other_var) & (cand["year"] == year)]
        if a.empty or b.empty:
            raise DataFileError(f"press series: the conflict {var} / {other_var} {year} named by SOURCES.md is no "
                                "longer in the raw files; update CROSS_CONFLICTS.")
        a, b = a.iloc[0], b.iloc[0]
        rows.append({"variable": var, "region": NATIONAL, "year": year, "chosen": a["value"], "other": b["value"],
                     "chosen_source": a["source"], "other_source": b["source"], "other_flag": b["flag"],
                     "note": f"{why} (other: {other_var}, {b['_file']} row {b['_row']})"})
    out = pd.DataFrame(rows)
    out["difference"] = out["other"] - out["chosen"]
    return out[columns]


#: raw unit (before any parenthesis) -> shipped unit; the unit as printed stays in the note
UNIT = {"units": "permits", "persons/entries": "persons", "persons/exits": "persons", "arrivals": "crossings",
        "persons/arrivals": "crossings", "departures": "crossings", "exits": "crossings",
        "persons/departures": "crossings", "percent of economically active population": "percent of labour force"}
#: base variable -> shipped unit where the raw rows print different words for one unit
UNIT_OF_BASE = {"foreign_labour_quota_leb": "permits"}
_SUFFIX = re.compile(r"(_jan(_[a-z]{3})?|_ytd_cutoff_unstated|_ytd_to_[0-9a-z]+|_q[1-4]|_at_[a-z0-9_]+)$")


def base_of(variable: str) -> str:
    """The definition a shipped variable belongs to (its name without the period suffix)."""
    return _SUFFIX.sub("", variable)


def shipped_unit(base: str, raw_unit: str) -> str:
    """The unit a row is shipped in (see :data:`UNIT`, :data:`UNIT_OF_BASE`)."""
    return UNIT_OF_BASE.get(base, UNIT.get(raw_unit, raw_unit))


def describe(variable: str) -> str:
    """Words for a shipped press-series name: its definition and its period."""
    base = base_of(variable)
    sfx = variable[len(base):]
    what = STUDENT_WORDS.get(base.removeprefix("foreign_students_"), base.replace("_", " "))
    if not sfx:
        when = "target or quota" if ("target" in base or "quota" in base) else "calendar (or academic) year"
    elif sfx.startswith("_at_"):
        when = "stock " + ("at a date the page does not print" if sfx == "_at_date_unstated" else
                           "at the end of the year" if sfx == "_at_end_of_year" else f"as of {sfx[4:]}")
    elif sfx.startswith("_q"):
        when = f"quarter {sfx[2]}"
    else:
        when = f"year-to-date ({sfx[1:].replace('_', ' ')}), never a full year"
    return f"{what}, national; {when}; SECONDARY press or official page (SOURCES.md Round 6)"


def press_variables() -> list[tuple[str, str, str, str, float, float, str]]:
    """(name, unit, kind, aggregate, lo, hi, description) of every shipped Round-6 variable
    (:data:`SHIPPED`), for :data:`kzmig.features.data.variables.VARIABLES`."""
    out = []
    for name, unit in SHIPPED:
        hi = 100.0 if unit.startswith("percent") else 1e8
        out.append((name, unit, "share" if unit.startswith("percent") else "count", "none", 0.0, hi, describe(name)))
    names = {n for n, _ in SHIPPED}
    # the generic name a user file may give its own national series of one definition (never shipped)
    out.append(("foreign_students", "persons", "count", "none", 0.0, 1e7,
                "foreign students, a user-supplied national series of ONE definition (name for a user file; not "
                "shipped: the shipped counts are foreign_students_bns and foreign_students_mnvo)"))
    for name, unit in SHIPPED:  # a stock family's own name: what a target names (forecast/planning/feasibility.py)
        base = base_of(name)
        if name.startswith(base + "_at_") and base not in names:
            names.add(base)
            out.append((base, unit, "count", "none", 0.0, 1e8, f"{describe(base).split(';')[0]}; stock at any "
                        f"published date: the name a target uses; shipped only as {base}_at_<day><month> (never stored)"))
    return out


#: every variable the Round-6 build ships, with its unit. A test checks this list equals the
#: build's output, so a new raw row with a new period or definition fails loudly.
SHIPPED: tuple[tuple[str, str], ...] = (
    ('arrivals_stated_purpose_work_q1', 'persons'),
    ('border_crossings_all_persons_both_directions_jan_jul', 'person-crossings'),
    ('eaeu_russian_citizens_entered_for_employment', 'persons'),
    ('foreign_citizens_entries_headline_ytd_cutoff_unstated', 'persons'),
    ('foreign_citizens_entries_jan_oct', 'persons'),
    ('foreign_citizens_entries_uzbekistan_ytd_to_10may', 'persons'),
    ('foreign_citizens_entries_ytd_cutoff_unstated', 'persons'),
    ('foreign_citizens_exits_jan_oct', 'persons'),
    ('foreign_citizens_exits_ytd_cutoff_unstated', 'persons'),
    ('foreign_citizens_permanently_registered_at_date_unstated', 'persons'),
    ('foreign_labour_quota_leb', 'permits'),
    ('foreign_labour_quota_leb_cat1', 'permits'),
    ('foreign_labour_quota_leb_cat2', 'permits'),
    ('foreign_labour_quota_leb_cat3', 'permits'),
    ('foreign_labour_quota_leb_cat4', 'permits'),
    ('foreign_labour_quota_leb_pct', 'percent of labour force'),
    ('foreign_labour_quota_leb_redistributed', 'permits'),
    ('foreign_labour_quota_leb_revised', 'permits'),
    ('foreign_labour_quota_leb_seasonal', 'persons'),
    ('foreign_labour_quota_priority_projects', 'persons'),
    ('foreign_permanent_residents_stock_at_31oct', 'persons'),
    ('foreign_students_bns', 'persons'),
    ('foreign_students_cip', 'persons'),
    ('foreign_students_higher_ed_india', 'persons'),
    ('foreign_students_higher_ed_turkmenistan', 'persons'),
    ('foreign_students_mnvo', 'persons'),
    ('foreign_students_target_cip', 'persons'),
    ('foreign_students_target_mnvo', 'persons'),
    ('foreign_students_target_president', 'persons'),
    ('foreign_temp_residence_permits_issued', 'persons'),
    ('foreign_temp_residence_permits_issued_jan_oct', 'persons'),
    ('foreign_tourists_in_accommodation_jan_jun', 'persons'),
    ('foreign_tourists_in_accommodation_jan_sep', 'persons'),
    ('foreign_workers_leb_permits_at_1apr', 'persons'),
    ('foreign_workers_leb_permits_at_1aug', 'persons'),
    ('foreign_workers_leb_permits_at_1dec', 'persons'),
    ('foreign_workers_leb_permits_at_1feb', 'persons'),
    ('foreign_workers_leb_permits_at_1jan', 'persons'),
    ('foreign_workers_leb_permits_at_1jul', 'persons'),
    ('foreign_workers_leb_permits_at_1jun', 'persons'),
    ('foreign_workers_leb_permits_at_1mar', 'persons'),
    ('foreign_workers_leb_permits_at_1nov', 'persons'),
    ('foreign_workers_leb_permits_at_1oct', 'persons'),
    ('foreign_workers_leb_permits_at_1sep', 'persons'),
    ('foreign_workers_leb_permits_at_date_unstated', 'persons'),
    ('international_migrant_arrivals_border_service_q1', 'crossings'),
    ('international_migrant_arrivals_border_service_q3', 'crossings'),
    ('international_migrant_arrivals_border_service_q4', 'crossings'),
    ('international_migrant_departures_border_service_q1', 'crossings'),
    ('international_migrant_departures_border_service_q2', 'crossings'),
    ('international_migrant_departures_border_service_q3', 'crossings'),
    ('kandas_arrived_president_statement', 'persons'),
    ('kandas_cumulative_since_1991_at_1apr', 'persons'),
    ('kandas_cumulative_since_1991_at_1dec', 'persons'),
    ('kandas_cumulative_since_1991_at_1nov', 'persons'),
    ('kandas_cumulative_since_1991_at_1oct', 'persons'),
    ('kandas_cumulative_since_1991_at_1sep', 'persons'),
    ('kandas_cumulative_since_1991_at_date_unstated', 'persons'),
    ('kandas_cumulative_since_1991_at_end_of_year', 'persons'),
    ('kandas_regional_quota', 'persons'),
    ('kandas_resettled_in_quota_regions', 'persons'),
    ('kandas_status_granted', 'persons'),
    ('kandas_status_granted_jan', 'persons'),
    ('kandas_status_granted_jan_apr', 'persons'),
    ('kandas_status_granted_jan_aug', 'persons'),
    ('kandas_status_granted_jan_feb', 'persons'),
    ('kandas_status_granted_jan_jul', 'persons'),
    ('kandas_status_granted_jan_jun', 'persons'),
    ('kandas_status_granted_jan_mar', 'persons'),
    ('kandas_status_granted_jan_may', 'persons'),
    ('kandas_status_granted_jan_nov', 'persons'),
    ('kandas_status_granted_jan_oct', 'persons'),
    ('kandas_status_granted_jan_sep', 'persons'),
    ('kandas_status_granted_q1', 'persons'),
    ('kandas_status_granted_ytd_cutoff_unstated', 'persons'),
    ('kz_citizens_departed_for_study', 'persons'),
    ('kz_citizens_left_abroad_mostly_for_work_ytd_cutoff_unstated', 'persons'),
    ('kz_citizens_left_for_work_abroad', 'persons'),
    ('kz_citizens_left_for_work_abroad_2yr', 'persons'),
    ('kz_citizens_left_for_work_to_russia_ytd_cutoff_unstated', 'persons'),
    ('kz_citizens_working_abroad_stock_at_1jul', 'persons'),
    ('kz_citizens_working_abroad_stock_at_1oct', 'persons'),
    ('kz_citizens_working_abroad_stock_mfa_at_date_unstated', 'persons'),
    ('kz_citizens_working_abroad_stock_russia_at_1oct', 'persons'),
    ('kz_school_graduates_enrolled_abroad', 'persons'),
    ('kz_students_abroad_academic_mobility', 'persons'),
    ('kz_students_abroad_bolashak', 'persons'),
    ('kz_students_abroad_total', 'persons'),
    ('kz_students_in_china', 'persons'),
    ('kz_students_in_russia', 'persons'),
    ('kz_students_transferred_back_from_foreign_univ', 'persons'),
    ('labour_immigrant_permits_issued_or_extended_jan_jun', 'permits'),
    ('labour_immigrant_permits_issued_via_migration_centers', 'permits'),
    ('labour_immigrants_household_permits_issued', 'permits'),
    ('labour_immigrants_household_quota', 'permits'),
    ('labour_immigrants_household_quota_pct', 'percent of labour force'),
    ('nonresident_tourists_overnight', 'persons'),
    ('nonresident_visitors_arrived', 'persons'),
    ('nonresident_visitors_arrived_jan_jun', 'persons'),
    ('oralman_citizenship_granted_jan_aug', 'persons'),
    ('oralman_cumulative_since_1991_at_date_unstated', 'persons'),
    ('oralman_families_arrived', 'families'),
    ('oralman_immigration_quota_families', 'families'),
    ('oralman_regional_quota_families', 'families'),
    ('oralman_status_granted', 'persons'),
    ('oralman_status_granted_jan_aug', 'persons'),
    ('oralman_status_granted_jan_sep', 'persons'),
    ('oralman_status_granted_q1', 'persons'),
    ('oralman_status_granted_ytd_cutoff_unstated', 'persons'),
    ('oralman_status_granted_ytd_to_5dec', 'persons'),
    ('russian_citizens_entries', 'persons'),
    ('russian_citizens_temp_residence_for_work_at_27mar', 'persons'),
    ('work_permits_issued_and_extended_leb', 'permits'),
    ('work_permits_issued_leb', 'permits'),
    ('work_permits_issued_leb_jan_sep', 'permits'),
    ('work_permits_leb_valid_at_1jul', 'permits'),
    ('work_permits_leb_valid_at_1jun', 'permits'),
    ('work_permits_leb_valid_at_1nov', 'permits'),
    ('work_permits_leb_valid_at_1sep', 'permits'),
)
