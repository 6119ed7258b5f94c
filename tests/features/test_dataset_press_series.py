"""The Round-6 press series in the shipped dataset, rebuilt by a plain loop over the raw CSVs."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from kzmig.features.ingest.build_press_series import FILES, SHIPPED, is_full_year, period_type
from kzmig.features.data.dataset import read_observations
from kzmig.features.data.regions import DATA_DIR
from kzmig.features.data.variables import VARIABLES

RAW = DATA_DIR.parent.parent / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(not (RAW / FILES[0]).exists(), reason="raw folder ../shared/data/raw absent")


def _raw_rows():
    """(file, row, series, year, value, period_note, url) of every raw row, by a plain csv loop."""
    out = []
    for name in FILES:
        with open(RAW / name, encoding="utf-8", newline="") as fh:
            for i, rec in enumerate(csv.DictReader(fh)):
                out.append((name, i + 2, rec["series"], int(rec["year"]), float(rec["value"]), rec["period_note"],
                            rec["source_url_or_repo_path"]))
    return out


def _shipped() -> pd.DataFrame:
    obs = read_observations()
    return obs.loc[obs["note"].fillna("").str.contains(r"raw: \S+_press_secondary\.csv row \d+", regex=True)
                   & obs["note"].fillna("").str.contains("period: ")]


def test_every_shipped_value_traces_back_to_its_raw_row():
    raw = {(f, r): (s, y, v, url) for f, r, s, y, v, _n, url in _raw_rows()}
    shipped = _shipped()
    assert len(shipped) > 150
    for rec in shipped.itertuples(index=False):
        ref = rec.note.rsplit("raw: ", 1)[1].split(";")[0].split()
        key = (ref[0], int(ref[2]))
        assert key in raw, key
        series, year, value, url = raw[key]
        assert (rec.year, rec.value, rec.source, rec.region) == (year, value, url, "kazakhstan"), key
        assert rec.flag.split(";")[0] in ("official", "secondary:press")


def test_every_raw_row_is_shipped_or_listed_or_the_same_value_as_a_shipped_row():
    """Nothing silently dropped: a raw row is shipped, printed the same value as the shipped row of
    its variable and year (named in the note), or is listed in vintage_disagreements.csv."""
    shipped = _shipped()
    cited = set()
    for n in shipped["note"]:
        cited |= {(part.split(" row ")[0].split("(")[-1].strip(), int(part.split(" row ")[1].split(")")[0]))
                  for part in n.split("same value also printed by: ")[-1].split("; ") if " row " in part and
                  "same value also printed by" in n}
        ref = n.rsplit("raw: ", 1)[1].split(";")[0].split()
        cited.add((ref[0], int(ref[2])))
    dis = pd.read_csv(DATA_DIR / "processed" / "vintage_disagreements.csv")
    listed = {(n.split("other: ")[1].split(" row ")[0], int(n.split("other: ")[1].split(" row ")[1].split(";")[0]
                                                           .split(")")[0].split()[0]))
              for n in dis["note"].fillna("") if "other: " in n and " row " in n.split("other: ")[1]}
    obs = read_observations()
    # rows kept out because the same key came from kandas_resettlement_press_secondary.csv with the same value
    earlier = obs.loc[obs["source"].str.contains("kokshetau|caravan|orda|baq", na=False)]
    missing = [r for r in _raw_rows() if (r[0], r[1]) not in cited and (r[0], r[1]) not in listed
               and not ((earlier["year"] == r[3]) & (earlier["value"] == r[4])).any()]
    assert missing == []


def test_year_to_date_is_never_a_full_year():
    shipped = _shipped()
    for rec in shipped.itertuples(index=False):
        words = rec.note.split("period: ")[1].split(";")[0]
        partial = words.startswith(("January", "since 1 January", "1 January", "quarter"))
        assert is_full_year(rec.variable) is not partial or rec.variable.endswith(("_at_1jul", "_at_1oct")) \
            or "_at_" in rec.variable, (rec.variable, words)
        if period_type(rec.variable) == "year-to-date":
            assert not is_full_year(rec.variable)
    # raw rows whose series or period note says year-to-date never land in a full-year variable
    ytd_rows = [(f, r) for f, r, s, _y, _v, n, _u in _raw_rows() if s.endswith("_ytd") or "year-to-date" in n]
    assert len(ytd_rows) >= 30
    where = {(ref.split()[0], int(ref.split()[2])): v for v, n in zip(shipped["variable"], shipped["note"])
             for ref in [n.rsplit("raw: ", 1)[1].split(";")[0]]}
    assert all(not is_full_year(where[k]) for k in ytd_rows if k in where)
    assert not is_full_year("kandas_status_granted_jan_aug") and is_full_year("kandas_status_granted")


def test_definitions_are_never_chained():
    obs = read_observations().set_index(["variable", "year"])["value"]
    assert obs[("foreign_students_bns", 2024)] == 28458 and obs[("foreign_students_bns", 2025)] == 33500
    assert obs[("foreign_students_mnvo", 2024)] == 31500 and obs[("foreign_students_mnvo", 2025)] == 35075
    assert ("foreign_students_higher_ed", 2024) not in obs.index
    assert obs[("foreign_students_target_mnvo", 2029)] == 150000
    assert obs[("foreign_students_target_president", 2029)] == 100000


def test_conflicts_are_listed_with_the_value_used():
    dis = pd.read_csv(DATA_DIR / "processed" / "vintage_disagreements.csv").set_index(["variable", "year"])
    bns = dis.loc[("foreign_students_bns", 2024)]
    assert (bns["chosen"], bns["other"]) == (28458, 28500) and "exact figure" in bns["note"]
    quota = dis.loc[("kandas_regional_quota", 2024)]
    assert (quota["chosen"], quota["other"]) == (2433, 3033)
    assert "suspect" in dis.loc[("kandas_status_granted", 2021), "note"]


def test_registry_lists_what_is_shipped():
    shipped = set(_shipped()["variable"])
    assert shipped <= {v for v, _ in SHIPPED}
    assert {v for v, _ in SHIPPED} - shipped <= {"kandas_status_granted_jan_sep", "kandas_status_granted_jan_feb"}
    assert all(v in VARIABLES for v, _ in SHIPPED) and "foreign_workers_leb_permits" in VARIABLES
