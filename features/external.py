"""Stage 2: national external (international) migration series and the shares quoted from them.

The series are read from the long table (``kzmig.features.dataset.load_long``) by variable name;
a series of the catalogue that the data do not hold is reported **absent**, never filled.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kzmig.features.panel import validate_panel
from kzmig.features.regions import NATIONAL

logger = logging.getLogger(__name__)

EDUCATION = ("higher", "secondary_vocational", "general_secondary", "basic_secondary")
SPECIALTIES = ("technical", "pedagogical", "medical", "economic", "legal", "agricultural",
               "architecture_construction", "other")

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
        ``year``, ``series``, ``value``, ``variable`` (the long-table variable used): the
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
    have = {v: g.set_index("year")["value"].astype("float64") for v, g in nat.groupby("variable")}
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
    rows = [pd.DataFrame({"year": s.index.astype("int64"), "series": n, "value": s.to_numpy(), "variable": v})
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
    cols = ["year", "series", "value", "variable"]
    series = pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
    status = pd.DataFrame(status, columns=["series", "present", "variable", "first_year", "last_year", "n_years", "note"])
    status = status.astype({"first_year": "Int64", "last_year": "Int64", "n_years": "Int64"})
    logger.info("external_series: %d of %d series present", int(status["present"].sum()), len(status))
    return series, status
