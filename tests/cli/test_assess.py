"""``kzmig assess`` end to end on the shipped data, and its option errors."""
import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_kzmig
from openpyxl import load_workbook


def _invoke(args):
    """Through the ``kzmig`` command line."""
    return run_kzmig("assess", *args)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    path = tmp_path_factory.mktemp("assess")
    res = _invoke(["--start", "2006", "--end", "2022", "--borders", "2018", "--out", str(path)])
    assert res.code == 0, res.text
    return path


def test_writes_every_table_and_chart(out):
    for name in ("population_change.csv", "migration_trends.csv", "problems.csv", "indicators.csv",
                 "attractiveness.csv", "attractiveness_loadings.csv", "assessment.xlsx", "growth_index.png",
                 "trend_map.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))  # no half-written leftovers


#: units of the 2018 borders that the 2022 split divided: their 2022 members are summed back
MEMBERS_2018 = {"east_kazakhstan": ("east_kazakhstan", "abai"), "almaty_region": ("almaty_region", "jetisu"),
                "karaganda": ("karaganda", "ulytau")}


def test_population_change_matches_a_plain_loop_over_the_shipped_rows(out):
    """population_change.csv against the shipped observations read with the csv module: P at
    1 Jan 2006 and 1 Jan 2023, N and M summed over 2006-2022 (a 2018-border unit split in 2022
    is the sum of its members in the years they exist, its net migration the balancing
    equation on those sums)."""
    import csv

    from kzmig.core.resources import data_dir

    values: dict[tuple[str, int, str], float] = {}
    with open(data_dir() / "processed" / "observations.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["variable"] in ("population", "natural_increase", "net_migration") and row["value"] != "":
                values[(row["region"], int(row["year"]), row["variable"])] = float(row["value"])

    def unit(region: str, year: int, variable: str) -> float:
        if variable == "net_migration" and region in MEMBERS_2018:
            # regional net migration before 2023 is derived by the balancing equation; a split
            # unit's shipped rows hold the new borders from 1 Jan 2022, so derive it on the unit
            return (unit(region, year + 1, "population") - unit(region, year, "population")
                    - unit(region, year, "natural_increase"))
        return sum(values.get((m, year, variable), 0.0) for m in MEMBERS_2018.get(region, (region,)))

    pop = pd.read_csv(out / "population_change.csv").set_index("region")
    ok = pop.loc[pop["group"].notna()]
    assert len(ok) == 15  # 17 units in 2018 borders; Shymkent and Turkestan exist from 2017
    for region, got in ok.iterrows():
        p0, p1 = unit(region, 2006, "population"), unit(region, 2023, "population")
        n = sum(unit(region, y, "natural_increase") for y in range(2006, 2023))
        m = sum(unit(region, y, "net_migration") for y in range(2006, 2023))
        np.testing.assert_allclose(
            got[["population_start", "population_end", "natural_increase", "net_migration"]].astype(float),
            [p0, p1, n, m], rtol=1e-9, err_msg=region)
        # an index without a unit: written with 6 significant digits (kzmig.reporting.tables.SIGNIFICANT)
        assert got["growth_index"] == pytest.approx(100 * p1 / p0, rel=5e-6), region
        # the balancing residual: what P(2023) - P(2006) - N - M leaves (census re-basing, transfers)
        assert got["balancing_residual"] == pytest.approx(p1 - p0 - n - m, abs=1e-6)
    late = pop.loc[["shymkent", "turkestan"]]
    assert late["group"].isna().all() and late["reason"].str.contains("no population at 1 Jan 2006").all()
    assert set(ok["group"]) <= {1, 2, 3, 4}


def test_trends_internal_absent_and_workbook_has_russian_names(out):
    tr = pd.read_csv(out / "migration_trends.csv")
    internal = tr.loc[tr["flow"] == "internal"]
    assert internal["type"].isna().all() and internal["reason"].str.contains("2022-2024").all()
    wb = load_workbook(out / "assessment.xlsx", read_only=True)
    assert {"population_change", "migration_trends", "problems", "indicators", "attractiveness"} <= set(wb.sheetnames)
    header = [c.value for c in next(wb["population_change"].iter_rows(max_row=1))]
    assert header[:3] == ["region", "region_name_ru", "region_name_en"]
    names = {r[0]: r[1] for r in wb["population_change"].iter_rows(min_row=2, max_col=2, values_only=True)}
    assert names["astana"] == "г. Астана"


@pytest.mark.parametrize("args, message", [
    (["--start", "2020", "--end", "2010"],
     "--end (assess.data.last_year): found 2010; last_year must be after first_year = 2020"),
    (["--borders", "2019"],
     "--borders (assess.data.borders): found 2019 (an integer); expected one of 2017, 2018, 2022"),
    (["--k", "0"], "--k (assess.smooth_k): found 0 (an integer); expected an integer >= 1"),
    (["--start", "1990", "--end", "2022"], "period 1990-2022 is outside the data"),
    (["--region", "shymkent"], "region shymkent is missing in the period 2006-2022 with borders=2018: its data cover 2017-"),
    (["--region", "abai"], '--region (assess.regions[0]): found "abai"; not a unit of borders = 2018: akmola'),
])
def test_bad_options_exit_2_with_message(args, message, tmp_path):
    res = _invoke([*args, "--out", str(tmp_path / "x")])
    assert res.code == 2, res.text
    assert message in res.text and "Traceback" not in res.text
    assert not (tmp_path / "x").exists()  # no complete-looking folder


def test_restricting_to_regions_runs_only_them(tmp_path):
    res = _invoke(["--start", "2017", "--end", "2022", "--region", "shymkent", "--region", "astana",
                   "--out", str(tmp_path)])
    assert res.code == 0, res.text
    pop = pd.read_csv(tmp_path / "population_change.csv")
    assert sorted(pop["region"]) == ["astana", "shymkent"] and pop["group"].notna().all()


def test_tile_map_places_every_unit_of_every_view():
    from kzmig.features.data.regions import units
    from kzmig.reporting.charts import TILES

    for borders in (2022, 2018, 2017):
        us = units(borders)
        assert set(us) <= set(TILES), borders
        spots = [TILES[u] for u in us]
        assert len(set(spots)) == len(spots), borders  # no two units share a tile


def test_geojson_choropleth_and_bad_file(tmp_path):
    import json

    from kzmig.core.errors import DataFileError
    from kzmig.reporting.charts import plot_geojson_map

    sq = lambda x: {"type": "Polygon", "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]}
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region": "astana"}, "geometry": sq(0)},
        {"type": "Feature", "properties": {"region": "Алматы"}, "geometry": {"type": "MultiPolygon", "coordinates": [sq(2)["coordinates"]]}},
    ]}
    path = tmp_path / "k.geojson"
    path.write_text(json.dumps(gj), encoding="utf-8")
    types = pd.DataFrame({"region": ["astana", "almaty_city"], "type": ["stable inflow", None]})
    fig = plot_geojson_map(types, path)
    ax = fig.axes[0]
    assert len(ax.patches) == 2  # one ring each: astana, and Алматы (a known spelling of almaty_city)
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] != colours[1]  # a type, and "not computable"
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"features": [{"properties": {"region": "atlantis"}, "geometry": null}]}', encoding="utf-8")
    with pytest.raises(DataFileError, match="no feature's properties\\['region'\\] names a known region"):
        plot_geojson_map(types, bad)
    (tmp_path / "junk.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(DataFileError, match="not a readable GeoJSON"):
        plot_geojson_map(types, tmp_path / "junk.geojson")


def test_missing_data_file(tmp_path):
    res = _invoke(["--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x")])
    assert res.code == 2 and "nope.csv: no such file" in res.text


def test_targets_table(tmp_path):
    (tmp_path / "t.csv").write_text("indicator,region,year,target\nnet_migration,astana,2022,20000\n"
                                    "net_migration_rate_per_1000,almaty_city,2022,-5\n", encoding="utf-8")
    res = _invoke(["--start", "2018", "--end", "2022", "--targets", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")])
    assert res.code == 0, res.text
    t = pd.read_csv(tmp_path / "o" / "targets.csv")
    assert t.loc[0, "achievement_pct"] == pytest.approx(100 * t.loc[0, "actual"] / 20000, rel=5e-6)
    assert np.isnan(t.loc[1, "achievement_pct"]) and "opposite signs" in t.loc[1, "reason"]
    (tmp_path / "bad.csv").write_text("indicator,region,year\nx,astana,2022\n", encoding="utf-8")
    res = _invoke(["--targets", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o2")])
    assert res.code == 2 and "column(s) ['value'] absent (the older layout calls it 'target')" in res.text


def test_same_data_gives_byte_identical_tables(out, tmp_path):
    res = _invoke(["--start", "2006", "--end", "2022", "--borders", "2018", "--out", str(tmp_path), "--overwrite"])
    assert res.code == 0, res.text
    tables = sorted(p.name for p in out.glob("*.csv"))
    assert len(tables) >= 10
    for name in tables:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_paper_method_reproduces_the_source_conventions(tmp_path):
    res = _invoke(["--method", "paper", "--start", "2006", "--end", "2022", "--out", str(tmp_path / "p")])
    assert res.code == 0, res.text
    assert "convention: paper: growth index 1 Jan 2006 -> 1 Jan 2022" in res.text
    pop = pd.read_csv(tmp_path / "p" / "population_change.csv")
    # independent: P(1 Jan 2022) / P(1 Jan 2006) x 100 from the shipped panel
    from kzmig.features.data.dataset import load_panel

    panel = load_panel("harmonised", 2018).set_index(["region", "year"])["population"]
    for rec in pop.dropna(subset=["group"]).itertuples():
        assert rec.growth_index == pytest.approx(100 * panel[(rec.region, 2022)] / panel[(rec.region, 2006)], rel=5e-6)
    groups = pop.set_index("region")["group"]
    assert groups[["akmola", "aktobe", "karaganda"]].tolist() == [2, 2, 2]  # 2006 alone was an inflow year
    sens = pd.read_csv(tmp_path / "p" / "sensitivity.csv")
    assert set(sens["region"]) == {"akmola", "aktobe", "karaganda", "astana"}


def test_default_tables_do_not_depend_on_the_paper_method(out, tmp_path):
    res = _invoke(["--out", str(tmp_path / "d"), "--method", "default"])
    assert res.code == 0, res.text
    for name in ("population_change.csv", "migration_trends.csv", "sensitivity.csv"):
        assert (out / name).read_bytes() == (tmp_path / "d" / name).read_bytes(), name
