"""The numbers that the Python examples of the README and of the manual (docs/**/*.md) print
match values computed here independently (plain loops over the shipped observations).

(``tests/test_readme.py`` checks that every example runs.) Each check finds its example by
what the code calls (``load_panel(``, ``assess(``, ``forecast(``), not by its position or page,
so that the examples can move between pages.
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path

import pytest
from registry_guard import models_registered_here_removed

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))] if (ROOT / "docs").is_dir() else [README]
BLOCKS = [(page, i, code) for page in PAGES
          for i, code in enumerate(re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                                              flags=re.S | re.M))
          if ">>>" not in code]
OBSERVATIONS = ROOT / "data" / "processed" / "observations.csv"
#: 2018-border units that the 2022 split divided, and their members in the current view
MEMBERS_2018 = {"east_kazakhstan": ("east_kazakhstan", "abai"), "almaty_region": ("almaty_region", "jetisu"),
                "karaganda": ("karaganda", "ulytau")}

_RUNS: dict[tuple[str, int], tuple[str, dict]] = {}


def _run(page: Path, i: int, code: str) -> tuple[str, dict]:
    """What the example prints and its namespace (each example runs once per session)."""
    key = (str(page), i)
    if key not in _RUNS:
        out, ns = io.StringIO(), {}
        with contextlib.redirect_stdout(out), models_registered_here_removed():
            exec(compile(code, f"{page.name} python block {i + 1}", "exec"), ns)
        _RUNS[key] = (out.getvalue(), ns)
    return _RUNS[key]


def _example(*calls: str) -> tuple[str, dict, str]:
    """Printed text, namespace and code of the first example that contains every one of ``calls``."""
    for page, i, code in BLOCKS:
        if all(c in code for c in calls):
            out, ns = _run(page, i, code)
            return out, ns, code
    pytest.fail(f"no Python example in {[p.name for p in PAGES]} calls {calls}")


def _shipped() -> dict[tuple[str, int, str], float]:
    values = {}
    with open(OBSERVATIONS, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["value"] != "":
                values[(row["region"], int(row["year"]), row["variable"])] = float(row["value"])
    return values


def test_dataset_example_prints_the_shipped_years_and_values():
    out, ns, _ = _example("load_panel(", "load_long(")
    values = _shipped()
    years = {y for _, y, _ in values}
    # the printed line ends with the first and last year of the long table
    last = out.strip().splitlines()[-1].split()
    # 2029: the state targets' stated values sit at their target year (issue 20, flagged rows)
    assert [int(last[-2]), int(last[-1])] == [min(years), max(years)] == [1991, 2029]
    panel = next(v for v in ns.values() if hasattr(v, "columns") and "population" in v.columns
                 and "variable" not in v.columns)
    checked = 0
    for region, year, pop in panel[["region", "year", "population"]].itertuples(index=False):
        if region in MEMBERS_2018 or pop != pop:  # merged units and missing years: not plain copies
            continue
        assert pop == values[(region, int(year), "population")], (region, year)
        checked += 1
    assert checked > 300


def test_assessment_example_prints_growth_indices_computed_from_the_rows():
    """growth_index = 100 P(1 Jan end + 1) / P(1 Jan start) in 2018 borders, by a plain loop; under
    the source paper's conventions (method="paper") the index runs to 1 Jan ``end`` instead."""
    out, _, code = _example("assess(", "population_change")
    assert '"first_year": 2006, "last_year": 2022, "borders": 2018' in code
    last = 2022 if 'method="paper"' in code else 2023
    values = _shipped()

    def pop(region: str, year: int) -> float:
        return sum(values.get((m, year, "population"), 0.0) for m in MEMBERS_2018.get(region, (region,)))

    rows = [line.split() for line in out.splitlines()]
    printed = {r[1]: float(r[2]) for r in rows  # "0  akmola  105.230817  2": row, region, index, group
               if len(r) == 4 and r[0].isdigit() and re.fullmatch(r"[\d.]+", r[2]) and r[3] in ("1", "2", "3", "4")}
    assert len(printed) >= 5
    for region, index in printed.items():
        assert index == pytest.approx(100 * pop(region, last) / pop(region, 2006), abs=5e-6), region


def test_forecast_example_prints_a_coherent_national_forecast():
    """The national rows printed are the sum of the regional reconciled points (OLS keeps the
    hierarchy coherent), inside their interval, one per year to 2028."""
    out, ns, _ = _example("forecast(cfg)")
    fc = next(v for v in ns.values() if hasattr(v, "columns") and {"selected", "level", "point"} <= set(v.columns))
    sel = fc.loc[fc["selected"] & (fc["level"] == 0.8)]
    national = sel.loc[sel["region"] == "kazakhstan"].set_index("year")
    regional = {}
    for region, year, point in sel.loc[sel["region"] != "kazakhstan", ["region", "year", "point"]].itertuples(index=False):
        regional[year] = regional.get(year, 0.0) + point
    assert list(national.index) == sorted(regional) and max(regional) == 2028
    for year, row in national.iterrows():
        assert row["point"] == pytest.approx(regional[year], rel=1e-9), year
        assert row["lower"] < row["point"] < row["upper"]
    # the printed table shows those numbers (pandas rounds them to 6 significant digits)
    printed = [line.split() for line in out.strip().splitlines()[1:]]
    assert [int(r[1]) for r in printed] == list(national.index)
    for r, (_, row) in zip(printed, national.iterrows()):
        assert float(r[2]) == pytest.approx(row["point"], rel=1e-5)
