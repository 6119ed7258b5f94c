"""Stage 2: national external (international) migration series and the shares quoted from them.

The series are read from the long table (``kzmig.features.data.dataset.load_long``) by variable name;
a series of the catalogue that the data do not hold is reported **absent**, never filled.

* :func:`external_series`: every catalogue series and share found, with a status table;
* :func:`external_flows_table`: arrivals, departures and net per year since 1991, with the
  publisher of each year (CIS Stat for 1991-1999, BNS from 2000);
* :func:`cis_split_table`: CIS / non-CIS by direction with shares (2016-2025);
* :func:`partner_table`: flows by CIS partner country, with English name and share of the CIS total.

The composition of migrants (education, specialty) and the brain-drain view are in
:mod:`features.composition`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import NATIONAL
from kzmig.features.data.variables import CIS_PARTNERS, EDUCATION_LEVELS, SPECIALTIES

logger = logging.getLogger(__name__)

EDUCATION = EDUCATION_LEVELS

#: series -> long-table variables tried in order (national rows)
CATALOGUE: dict[str, tuple[str, ...]] = {
    "external_net": ("external_net", "net_migration"),
    "external_arrivals": ("external_arrivals",),
    "external_departures": ("external_departures",),
    "external_arrivals_from_cis": ("external_arrivals_from_cis",),
    # the shipped dataset names the non-CIS aggregates as CIS Stat does (``*_non_cis``)
    "external_arrivals_from_other_countries": ("external_arrivals_from_other_countries",
                                               "external_arrivals_from_non_cis"),
    "external_departures_to_cis": ("external_departures_to_cis",),
    "external_departures_to_other_countries": ("external_departures_to_other_countries",
                                               "external_departures_to_non_cis"),
    **{f"external_arrivals_education_{e}": (f"external_arrivals_education_{e}",) for e in EDUCATION},
    **{f"external_departures_education_{e}": (f"external_departures_education_{e}",) for e in EDUCATION},
    **{f"external_departures_specialty_{s}": (f"external_departures_specialty_{s}",) for s in SPECIALTIES},
    **{f"external_arrivals_specialty_{s}": (f"external_arrivals_specialty_{s}",) for s in SPECIALTIES},
    **{f"external_departures_to_cis_specialty_{s}": (f"external_departures_to_cis_specialty_{s}",)
       for s in SPECIALTIES},
    # all flows by education (national): interregional moves cancel nationally, so the net is the
    # external net of each education group (arrivals and departures still include internal moves)
    **{f"all_flows_{d}_education_{e}": (f"migration_all_flows_{d}_education_{e}",)
       for d in ("arrivals", "departures", "net") for e in EDUCATION},
    "kandas_arrivals": ("kandas_arrivals",),
    "foreign_workers_permits": ("foreign_workers_permits",),
}
#: share -> (numerator series, denominator series); numerators may be a "+"-joined sum
SHARES = {
    "departures_to_cis_pct": ("external_departures_to_cis", "external_departures"),
    "arrivals_from_cis_pct": ("external_arrivals_from_cis", "external_arrivals"),
    "departures_higher_or_vocational_pct": (
        "external_departures_education_higher+external_departures_education_secondary_vocational",
        "external_departures"),
    **{f"departures_specialty_{s}_pct": (
        f"external_departures_specialty_{s}", "+".join(f"external_departures_specialty_{x}" for x in SPECIALTIES))
       for s in SPECIALTIES},
}


class _ByVariable(Mapping):
    """``variable -> build(rows of that variable)`` for the variables of ``frame``, each built when
    first asked for: a caller looks up a few of the dataset's hundreds of national variables."""

    def __init__(self, frame: pd.DataFrame, build: Callable[[pd.DataFrame], object]) -> None:
        self._frame, self._build, self._built = frame, build, {}
        self._rows = {str(v): ix for v, ix in frame.groupby("variable", sort=True).indices.items()}

    def __getitem__(self, variable: str):
        if variable not in self._built:
            self._built[variable] = self._build(self._frame.iloc[self._rows[variable]])
        return self._built[variable]

    def __contains__(self, variable: object) -> bool:
        return variable in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def external_series(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """National external migration series, shares, and a status table of what is present.

    Parameters
    ----------
    long : DataFrame
        Long table ``region, year, variable, value`` (``unit``, ``source``, ``flag`` optional).
        Only national rows (``region == "kazakhstan"``) are used.

    Returns
    -------
    series : DataFrame
        ``year``, ``series``, ``value``, ``variable`` (the long-table variable used), ``flag``
        (the row's flag, e.g. ``secondary:press`` or ``cited``; empty for computed shares): the
        catalogue series found, plus shares (``share:<name>``, in %) where numerator and
        denominator exist in the same year. ``brain_drain_net_higher_vocational`` = arrivals
        minus departures of people with higher or secondary vocational education (external
        series where present, else the national all-flows net by education, in which
        interregional moves cancel).
    status : DataFrame
        One row per catalogue series and share: ``series``, ``present`` (bool), ``variable``,
        ``first_year``, ``last_year``, ``n_years``, ``note``.

    Notes
    -----
    At national level the all-flows net migration equals the international net, so
    ``external_net`` falls back on the national ``net_migration``. Interregional moves have
    no external counterpart and are not used here.
    """
    validate_panel(long, source="external_series")
    nat = long.loc[long["region"] == NATIONAL]
    have = _ByVariable(nat, lambda g: g.set_index("year")["value"].astype("float64"))
    flags = _ByVariable(nat, lambda g: g.set_index("year")["flag"].fillna("").astype(str)) if "flag" in nat.columns else {}
    found, status = {}, []
    for name, candidates in CATALOGUE.items():
        var = next((v for v in candidates if v in have and have[v].notna().any()), None)
        if var is None:
            status.append({"series": name, "present": False, "variable": "", "note": f"absent from the data (looked for {list(candidates)})"})
            continue
        s = have[var].dropna()
        found[name] = (var, s)
        note = "national all-flows balance = international net" if var == "net_migration" else ""
        status.append({"series": name, "present": True, "variable": var, "first_year": int(s.index.min()),
                       "last_year": int(s.index.max()), "n_years": len(s), "note": note})
    rows = [pd.DataFrame({"year": s.index.astype("int64"), "series": n, "value": s.to_numpy(), "variable": v,
                          "flag": flags[v].reindex(s.index).to_numpy() if v in flags else ""})
            for n, (v, s) in found.items()]
    for share, (num, den) in SHARES.items():
        nums, dens = [found.get(p) for p in num.split("+")], [found.get(d) for d in den.split("+")]
        if any(p is None for p in nums + dens):
            missing = list(dict.fromkeys(p for p in num.split("+") + den.split("+") if p not in found))
            status.append({"series": f"share:{share}", "present": False, "variable": "", "note": f"needs {missing}"})
            continue
        n = sum(p[1] for p in nums)
        d = sum(p[1] for p in dens)
        r = (100 * n / d.where(d > 0)).dropna()
        status.append({"series": f"share:{share}", "present": len(r) > 0, "variable": "",
                       "first_year": int(r.index.min()) if len(r) else np.nan,
                       "last_year": int(r.index.max()) if len(r) else np.nan, "n_years": len(r),
                       "note": "" if len(r) else "no year with numerator and denominator"})
        if len(r):
            rows.append(pd.DataFrame({"year": r.index.astype("int64"), "series": f"share:{share}",
                                      "value": r.to_numpy(), "variable": ""}))
    edu = [f"external_{d}_education_{e}" for d in ("arrivals", "departures") for e in ("higher", "secondary_vocational")]
    all_flows = [f"all_flows_net_education_{e}" for e in ("higher", "secondary_vocational")]
    if all(e in found for e in edu):
        net = found[edu[0]][1] + found[edu[1]][1] - found[edu[2]][1] - found[edu[3]][1]
    elif all(e in found for e in all_flows):  # national: internal moves cancel in the net
        net = found[all_flows[0]][1] + found[all_flows[1]][1]
    else:
        net = None
    if net is not None:
        rows.append(pd.DataFrame({"year": net.dropna().index.astype("int64"), "series": "brain_drain_net_higher_vocational",
                                  "value": net.dropna().to_numpy(), "variable": ""}))
    cols = ["year", "series", "value", "variable", "flag"]
    series = pd.concat(rows, ignore_index=True).reindex(columns=cols) if rows else pd.DataFrame(columns=cols)
    series["flag"] = series["flag"].fillna("")
    status = pd.DataFrame(status, columns=["series", "present", "variable", "first_year", "last_year", "n_years", "note"])
    status = status.astype({"first_year": "Int64", "last_year": "Int64", "n_years": "Int64"})
    logger.info("external_series: %d of %d series present", int(status["present"].sum()), len(status))
    return series, status


# --- stage 2 tables ------------------------------------------------------------------------------

DIRECTIONS = ("arrivals", "departures")
#: direction -> (CIS variable, non-CIS variable, total variable)
CIS_SPLIT = {
    "arrivals": ("external_arrivals_from_cis", "external_arrivals_from_non_cis", "external_arrivals"),
    "departures": ("external_departures_to_cis", "external_departures_to_non_cis", "external_departures"),
}
#: direction -> stem of the partner variables (``<stem>_<iso3>``)
PARTNER_STEM = {"arrivals": "external_arrivals_from", "departures": "external_departures_to"}


def _national_rows(long: pd.DataFrame, source: str) -> Mapping[str, pd.DataFrame]:
    """National rows per variable: ``year``-indexed frames with ``value``, ``flag``, ``source``."""
    validate_panel(long, source=source)
    nat = long.loc[long["region"] == NATIONAL].copy()
    for col in ("flag", "source"):
        nat[col] = nat[col].fillna("").astype(str) if col in nat.columns else ""
    return _ByVariable(nat, lambda g: g.set_index("year")[["value", "flag", "source"]].astype({"value": "float64"})
                       .sort_index())


def _join_flags(*flags: str) -> str:
    return ";".join(sorted({t for f in flags for t in str(f).split(";") if t}))


def external_flows_table(long: pd.DataFrame) -> pd.DataFrame:
    """National external arrivals, departures and net per year, with the publisher of each year.

    Parameters
    ----------
    long : DataFrame
        Long table ``region, year, variable, value[, flag, source]`` (national rows used).

    Returns
    -------
    DataFrame
        One row per year with arrivals or departures: ``year``, ``arrivals``, ``departures``,
        ``net`` (arrivals - departures, NaN unless both exist), ``net_migration_bns`` (the
        published national all-flows balance, BNS element 6567, where present: it equals
        ``net`` exactly 2000-2024), ``publisher`` (``"CIS Stat"`` where a row is flagged
        ``source:cisstat``, else ``"BNS"``), ``source`` (of the arrivals row, else of the
        departures row) and ``flag`` (tokens of both rows).
    """
    have = _national_rows(long, "external_flows_table")
    arr = have.get("external_arrivals", pd.DataFrame(columns=["value", "flag", "source"]))
    dep = have.get("external_departures", pd.DataFrame(columns=["value", "flag", "source"]))
    years = sorted(set(arr.index) | set(dep.index))
    a, d = arr.reindex(years), dep.reindex(years)
    flag = [_join_flags(x if isinstance(x, str) else "", y if isinstance(y, str) else "")
            for x, y in zip(a["flag"], d["flag"])]
    out = pd.DataFrame({
        "year": pd.Series(years, dtype="int64"),
        "arrivals": a["value"].to_numpy(dtype=float), "departures": d["value"].to_numpy(dtype=float),
    })
    out["net"] = out["arrivals"] - out["departures"]
    bns = have.get("net_migration")
    out["net_migration_bns"] = bns["value"].reindex(years).to_numpy(dtype=float) if bns is not None else np.nan
    out["publisher"] = ["CIS Stat" if "source:cisstat" in f.split(";") else "BNS" for f in flag]
    out["source"] = a["source"].fillna(d["source"]).fillna("").to_numpy()
    out["flag"] = flag
    logger.info("external_flows_table: %d years (%d from CIS Stat)", len(out), int((out["publisher"] == "CIS Stat").sum()))
    return out


def cis_split_table(long: pd.DataFrame) -> pd.DataFrame:
    """External flows to and from CIS and non-CIS countries, by direction, with shares.

    Returns
    -------
    DataFrame
        One row per year, direction (``arrivals``, ``departures``) and ``group`` (``cis``,
        ``non_cis``) where the group value exists: ``value``, ``total`` (all external flows
        of that direction and year), ``share_pct`` = 100 x value / total, ``sum_minus_total``
        (CIS + non-CIS - total; 0 on the shipped data), ``flag``.
    """
    have = _national_rows(long, "cis_split_table")
    rows = []
    for direction, (cis, non, total) in CIS_SPLIT.items():
        tot = have.get(total)
        parts = {g: have.get(v) for g, v in (("cis", cis), ("non_cis", non))}
        years = sorted(set().union(*(p.index for p in parts.values() if p is not None)))
        for year in years:
            vals = {g: (p.loc[year] if p is not None and year in p.index else None) for g, p in parts.items()}
            t = float(tot.loc[year, "value"]) if tot is not None and year in tot.index else np.nan
            both = sum(float(v["value"]) for v in vals.values()) if all(v is not None for v in vals.values()) else np.nan
            for g, v in vals.items():
                if v is None:
                    continue
                rows.append({"year": int(year), "direction": direction, "group": g, "value": float(v["value"]),
                             "total": t, "share_pct": 100.0 * float(v["value"]) / t if t > 0 else np.nan,
                             "sum_minus_total": both - t, "flag": v["flag"]})
    cols = ["year", "direction", "group", "value", "total", "share_pct", "sum_minus_total", "flag"]
    return pd.DataFrame(rows, columns=cols).astype({"year": "int64"})


def partner_table(long: pd.DataFrame) -> pd.DataFrame:
    """External flows by CIS partner country (Kazakhstan's own record), every year the data has.

    Returns
    -------
    DataFrame
        One row per year, direction and partner with a value: ``partner`` (ISO 3166 alpha-3,
        upper case), ``partner_name`` (English), ``value``, ``cis_total`` (the CIS total of that
        direction and year), ``share_of_cis_pct`` = 100 x value / CIS total, ``flag``.
        Non-CIS countries have no partner rows (only the ``*_non_cis`` aggregate exists).
    """
    have = _national_rows(long, "partner_table")
    rows = []
    for direction, stem in PARTNER_STEM.items():
        cis = have.get(CIS_SPLIT[direction][0])
        for iso, name in CIS_PARTNERS.items():
            p = have.get(f"{stem}_{iso}")
            if p is None:
                continue
            for year, r in p.iterrows():
                t = float(cis.loc[year, "value"]) if cis is not None and year in cis.index else np.nan
                rows.append({"year": int(year), "direction": direction, "partner": iso.upper(), "partner_name": name,
                             "value": float(r["value"]), "cis_total": t,
                             "share_of_cis_pct": 100.0 * float(r["value"]) / t if t > 0 else np.nan, "flag": r["flag"]})
    cols = ["year", "direction", "partner", "partner_name", "value", "cis_total", "share_of_cis_pct", "flag"]
    out = pd.DataFrame(rows, columns=cols).astype({"year": "int64"})
    return out.sort_values(["direction", "year", "partner"], kind="mergesort").reset_index(drop=True)
