"""The brief's sentences and the data statements, in the language of the context (:mod:`.i18n`).

:func:`brief_sentences` turns the ``brief`` table of a run (:func:`kzmig.studies.brief.brief_table`)
into one sentence per topic, each with its number and interval; :func:`coverage_statements`
turns the ``data_coverage`` table (:func:`kzmig.studies.planning.data_coverage`) into the data-gap
statements of the notes and the report. Rendering only: every number comes from the tables.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from kzmig.reporting.i18n import N_, _, label, number, percent, region_name

#: verdicts of the state targets (kzmig.forecast.planning.feasibility.verdict), for the catalogue
VERDICTS = (N_("met"), N_("on track"), N_("needs faster growth than ever observed"), N_("in between"),
            N_("no observed growth to compare"))
NOT_MEASURABLE = N_("no measurable effect: not distinguishable from zero at 95 %")


def interval(lower: float, upper: float, digits: int = 0, *, level: float = 0.95, sign: bool = True) -> str:
    """``"95 %: −2 400 … +250"`` in the current language; ``""`` when a bound is missing."""
    if lower is None or upper is None or pd.isna(lower) or pd.isna(upper):
        return ""
    return _("{level} %: {lower} to {upper}", level=f"{round(100 * level, 6):g}",
             lower=number(lower, digits, sign=sign), upper=number(upper, digits, sign=sign))


def with_interval(value: float, lower: float, upper: float, digits: int = 0, *, sign: bool = True,
                  level: float = 0.95) -> str:
    """``"+1 078 (95 %: … )"``: a number and its interval in brackets."""
    text = number(value, digits, sign=sign)
    iv = interval(lower, upper, digits, level=level, sign=sign)
    return f"{text} ({iv})" if iv else text


def effect_flag(spans_zero: bool) -> str:
    """The plain flag of an effect whose interval holds zero ("" when it does not)."""
    return _(NOT_MEASURABLE) if bool(spans_zero) else ""


def sign_note(term: str, against: bool, expected: int) -> str:
    """Beside a factor whose sign runs against METHOD.md section 4."""
    if not bool(against):
        return ""
    return _("sign against the expected direction (expected {sign})", sign="+" if expected > 0 else "−")


def _regions(rows: pd.DataFrame, topic: str) -> str | None:
    r = rows.loc[rows["topic"] == topic].sort_values("rank")
    if r.empty:
        return None
    items = [_("{region}: {total} in {first}–{last} ({year}: {value})", region=region_name(x.subject),
               total=number(x.total, sign=True), first=int(x.first_year), last=int(x.year), year=int(x.year),
               value=with_interval(x.value, x.lower, x.upper)) for x in r.itertuples(index=False)]
    head = _("Regions gaining most by net migration to {year}") if topic == "region_gain" else \
        _("Regions losing most by net migration to {year}")
    return head.format(year=int(r["year"].iloc[0])) + ": " + "; ".join(items) + "."


def _national(rows: pd.DataFrame) -> str | None:
    get = {t: rows.loc[rows["topic"] == t].iloc[0] for t in ("national_net", "national_arrivals",
                                                             "national_departures") if (rows["topic"] == t).any()}
    if "national_net" not in get:
        return None
    n = get["national_net"]
    text = _("National net migration in {year}: {value}", year=int(n.year),
             value=with_interval(n.value, n.lower, n.upper))
    if "national_arrivals" in get and "national_departures" in get:
        a, d = get["national_arrivals"], get["national_departures"]
        parts = dict(arr=with_interval(a.value, a.lower, a.upper, sign=False),
                     dep=with_interval(d.value, d.lower, d.upper, sign=False), year=int(a.year))
        if int(a.year) == int(n.year) and abs(float(a.value) - float(d.value) - float(n.value)) < 1.0:
            # one account (issue 18): the balance is arrivals minus departures
            text += _("; it is external arrivals {arr} minus departures {dep} in {year} (one account)", **parts)
        else:
            text += _("; external arrivals {arr} and departures {dep} in {year} (separate models: their difference "
                      "need not equal the net balance)", **parts)
    if bool(n.spans_zero):
        text += _("; the interval holds zero: the sign of the balance is not certain")
    return text + "."


def _population(rows: pd.DataFrame) -> str | None:
    p = rows.loc[rows["topic"] == "population"]
    if p.empty:
        return None
    p = p.iloc[0]
    text = _("Population of Kazakhstan at the start of {year}: {value}", year=int(p.year),
             value=with_interval(p.value, p.lower, p.upper, sign=False))
    if pd.notna(p.base) and pd.notna(p.base_year):
        text += _(", {change} against {base} published for {base_year}", change=number(p.total, sign=True),
                  base=number(p.base), base_year=int(p.base_year))
    return text + "."


def _scenarios(rows: pd.DataFrame, descriptions: Mapping[str, str]) -> list[str]:
    out = []
    s = rows.loc[rows["topic"] == "scenario"]
    for name, g in s.groupby("group", sort=False):
        desc = descriptions.get(str(name)) or str(name)
        items = [_("{region} {value}", region=region_name(x.subject, kazakh=False),
                   value=with_interval(x.value, x.lower, x.upper)) for x in g.itertuples(index=False)]
        year = int(g["year"].iloc[0])
        measurable = g.loc[~g["spans_zero"].astype(bool)]
        text = _("Scenario «{desc}»: net migration in {year} changes by {items}", desc=desc, year=year,
                 items="; ".join(items))
        if measurable.empty:
            text += " — " + _("no effect is distinguishable from zero at 95 %: not a finding")
        else:
            text += " — " + _("distinguishable from zero at 95 % in {n} of {m} regions",
                              n=len(measurable), m=len(g))
        out.append(text + ".")
    return out


def _factors(rows: pd.DataFrame) -> str | None:
    f = rows.loc[rows["topic"] == "factor"]
    if f.empty:
        return None
    clear = f.loc[~f["spans_zero"].astype(bool)]
    against = f.loc[f["against_expected"].astype(bool)]
    if clear.empty:
        text = _("Factors of migration (model {model}): none of the {n} factors is distinguishable from zero at 95 %",
                 model=label(f["group"].iloc[0]), n=len(f))
    else:
        items = [f"{label(x.subject)} {with_interval(x.value, x.lower, x.upper, 3)}" for x in clear.itertuples()]
        text = _("Factors of migration (model {model}) distinguishable from zero at 95 %: {items}; the other {k} "
                 "are not", model=label(f["group"].iloc[0]), items="; ".join(items), k=len(f) - len(clear))
    if len(against):
        text += "; " + _("against the expected direction: {items}", items="; ".join(
            f"{label(x.subject)} {with_interval(x.value, x.lower, x.upper, 3)}" for x in against.itertuples()))
    return text + "."


def _targets(rows: pd.DataFrame) -> list[str]:
    out = []
    for x in rows.loc[rows["topic"] == "state_target"].itertuples(index=False):
        sign = "≥" if x.group == "at_least" else "≤"
        text = _("State target {indicator} {sign} {target} by {year}: latest {latest}; {verdict}",
                 indicator=label(x.subject), sign=sign, target=number(x.total), year=int(x.year),
                 latest=number(x.base), verdict=_(str(x.verdict)))
        if pd.notna(x.value):
            text += "; " + _("probability {p} (90 %: {lo} to {hi})", p=percent(x.value), lo=percent(x.lower),
                             hi=percent(x.upper))
        else:
            text += "; " + _("no probability: too few published points")
        out.append(text + ".")
    return out


def shift_text(shifts: list[Mapping]) -> str:
    """A scenario in words from its shifts (``[scenario.NAME] shifts`` of the config), in the current
    language: «Денежные доходы на душу населения, % к республике: +10 % в регионах …, с 2026 г.»."""
    parts = []
    for sh in shifts:
        value = float(sh["value"])
        amount = percent(value, 0, sign=True) if sh["kind"] == "relative" else number(value, 1, sign=True)
        regions = sh.get("regions", "all")
        where = (_("in all regions") if regions == "all" else
                 _("in {regions}", regions=", ".join(region_name(r, kazakh=False) for r in regions)))
        years = (_("from {first}", first=sh["from_year"]) if not sh.get("to_year") else
                 _("in {first}–{last}", first=sh["from_year"], last=sh["to_year"]))
        parts.append(f"{label(sh['feature'])} {amount} {where} {years}")
    return "; ".join(parts)


def descriptions_of(shifts: Mapping[str, list[Mapping]]) -> dict[str, str]:
    """Scenario -> :func:`shift_text` of its shifts."""
    return {name: shift_text(s) for name, s in shifts.items()}


def brief_sentences(brief: pd.DataFrame, *, descriptions: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per topic of the brief, in order: regions gaining, losing, the national balance,
    population, each scenario, the factors, each state target."""
    if brief is None or brief.empty:
        return []
    out = [s for s in (_regions(brief, "region_gain"), _regions(brief, "region_loss"), _national(brief),
                       _population(brief)) if s]
    out += _scenarios(brief, descriptions or {})
    factors = _factors(brief)
    if factors:
        out.append(factors)
    out += _targets(brief)
    return out


def coverage_statements(coverage: pd.DataFrame | None) -> list[str]:
    """The data statements of :func:`kzmig.studies.planning.data_coverage`, one sentence per series."""
    if coverage is None or coverage.empty:
        return []
    what = {"regional_flows": N_("Regional arrivals and departures (interregional)"),
            "regional_wages": N_("Regional average wages"),
            "regional_income": N_("Regional money income per capita"),
            "partner_flows": N_("External flows by partner country group (CIS, other countries)"),
            "specialty_flows": N_("External departures by specialty (full-year figures)"),
            "education_flows": N_("External departures by education (full-year figures)")}
    out = []
    for r in coverage.itertuples(index=False):
        name = _(what.get(r.name, r.name))
        if r.n_years == 0 or pd.isna(r.first_year):
            out.append(_("{what}: not in the data of this run.", what=name))
            continue
        years = (_("{n} year(s), {first}–{last}", n=int(r.n_years), first=int(r.first_year), last=int(r.last_year))
                 if int(r.first_year) != int(r.last_year) else _("one year, {first}", first=int(r.first_year)))
        text = _("{what}: {years}", what=name, years=years)
        if r.count == "regional":
            text += _(" in {k} regions", k=int(r.regions))
        if bool(r.short):
            text += _(" — too short to forecast alone")
            if r.name == "regional_wages":
                text += _("; money income per capita is the proxy")
            if r.name in ("specialty_flows", "education_flows"):
                text += _("; specialist outflows are composition-based")
        out.append(text + ".")
    return out


def finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))
