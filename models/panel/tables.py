"""Side-by-side regression tables, as econometric papers print them.

One column per model; for each term a coefficient row with significance stars and a
standard-error row in brackets; then N, regions, years, R2 within/between/overall, the
effects and the covariance. Built from each result's ``tidy()``, so the table and
``coefficients.csv`` cannot disagree. Rendered as plain text here; workbooks are written by
:func:`kzmig.reporting.tables.write_regression_workbook`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


#: p-value thresholds and their marks, strictest last.
STARS = ((0.1, "*"), (0.05, "**"), (0.01, "***"))
FOOTER = ("N", "Regions", "Years", "R2 within", "R2 between", "R2 overall", "Effects", "Cov")


def star(p: float, stars: Sequence[tuple[float, str]] = STARS) -> str:
    """Significance mark of a p-value: '***' below 0.01, '**' below 0.05, '*' below 0.1."""
    mark = ""
    for cut, sym in stars:
        if np.isfinite(p) and p < cut:
            mark = sym
    return mark


def _labelled_tidy(result: Any) -> pd.DataFrame:
    t = result.tidy()
    if "outcome" in t.columns and t["outcome"].nunique() > 1:
        t = t.assign(term=t["outcome"].astype(str) + ": " + t["term"].astype(str))
    return t


def _footer(result: Any, digits: int) -> dict[str, str]:
    years = getattr(result, "years", ())
    def r2(name: str) -> str:
        v = getattr(result, name, None)
        return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"
    return {"N": str(result.nobs), "Regions": str(result.n_regions),
            "Years": f"{years[0]}-{years[-1]}" if years else "",
            "R2 within": r2("r2_within"), "R2 between": r2("r2_between"),
            "R2 overall": r2("r2_overall"),
            "Effects": str(getattr(result, "effects", result.spec.get("estimator", ""))),
            "Cov": str(getattr(result, "cov_type", result.spec.get("cov_type", "")))}


def side_by_side(results: Sequence[Any], *, names: Sequence[str] | None = None,
                 digits: int = 3, stars: Sequence[tuple[float, str]] = STARS) -> pd.DataFrame:
    """Table of several results, one column each, as strings.

    Parameters
    ----------
    results : sequence of PanelResult or DiscreteResult
    names : sequence of str, optional
        Column titles; defaults to each result's ``name`` (made unique with ``(2)``...).
    digits : int, default 3

    Returns
    -------
    DataFrame
        Index: for each term, ``term`` (coefficient with stars) then ``""`` (standard error
        in brackets), then the footer rows of :data:`FOOTER`. Terms appear in order of
        first appearance across models; a cell is empty where a model lacks the term.
    """
    if not results:
        raise ValueError("side_by_side: no results given.")
    titles = list(names) if names is not None else [r.name for r in results]
    if len(titles) != len(results):
        raise ValueError(f"side_by_side: {len(titles)} names for {len(results)} results.")
    seen: dict[str, int] = {}
    for i, t in enumerate(titles):
        seen[t] = seen.get(t, 0) + 1
        if seen[t] > 1:
            titles[i] = f"{t} ({seen[t]})"
    tidies = [_labelled_tidy(r) for r in results]
    terms = list(dict.fromkeys(t for td in tidies for t in td["term"]))
    index = [lab for term in terms for lab in (term, f"{term} (se)")] + list(FOOTER)
    table = pd.DataFrame("", index=index, columns=titles, dtype=object)
    for title, td, res in zip(titles, tidies, results, strict=True):
        for row in td.itertuples(index=False):
            table.at[row.term, title] = f"{row.estimate:.{digits}f}{star(row.p_value, stars)}"
            table.at[f"{row.term} (se)", title] = f"[{row.std_error:.{digits}f}]"
        for key, val in _footer(res, digits).items():
            table.at[key, title] = val
    return table


def to_text(table: pd.DataFrame, *, title: str = "") -> str:
    """Render a :func:`side_by_side` table as aligned plain text with a star legend."""
    shown = table.rename(index=lambda s: "" if s.endswith(" (se)") else s)
    body = shown.to_string()
    legend = "Standard errors in brackets. * p<0.1, ** p<0.05, *** p<0.01."
    return "\n".join(x for x in (title, body, legend) if x) + "\n"
