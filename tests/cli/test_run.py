"""``kzmig run``: a small planning run on the shipped data, end to end, through the command line.

The config is the baseline's shape with fewer models and origins, so that it runs in seconds:
assessment, regression, two forecasting studies, specialists, a scenario and targets.
"""
from __future__ import annotations

import base64
import re
import json
import os
import signal
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from cli_helpers import MINI_RUN as RUN
from cli_helpers import MINI_TARGETS as TARGETS
from cli_helpers import run_kzmig, write_mini_run

@pytest.fixture(scope="module")
def config(tmp_path_factory, small_regress) -> Path:
    return write_mini_run(tmp_path_factory.mktemp("runcfg"), small_regress)


@pytest.fixture(scope="module")
def run(config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "mini"
    res = run_kzmig("run", config, "--out", out)
    assert res.code == 0, res.text
    return out


def test_run_folder_has_every_part_and_a_complete_manifest(run):
    for sub in ("assessment/population_change.csv", "regression/coefficients.csv",
                "forecast/net_migration/forecasts.csv", "forecast/external/forecasts.csv",
                "specialists/specialist_forecasts.csv", "scenarios/scenario_forecasts.csv",
                "targets/target_probabilities.csv", "planning/forecast_tables.xlsx",
                "planning/forecast_tables.csv", "report.html", "run.log"):
        assert (run / sub).is_file(), sub
    man = json.loads((run / "manifest.json").read_text())
    assert man["status"] == "complete" and man["kind"] == "run" and man["name"] == "mini"
    assert [s["step"] for s in man["run_steps"]] == ["assessment", "regression", "forecast/net_migration",
                                                     "forecast/external", "account", "specialists", "scenarios", "targets",
                                                     "planning"]
    assert man["data"]["sha256"] and man["data"]["vintage"]["population"] >= 2025
    assert man["config"]["sha256"] and man["references"]["regress"]["sha256"]
    assert man["seeds"]["regression"]["bootstrap"] == 1
    assert {"python", "numpy", "kzmig"} <= set(man["versions"])


def _selected(run: Path) -> pd.DataFrame:
    """The published forecasts: the account's (calibrated, coherent) selected rows and the specialists'."""
    frames = [pd.read_csv(run / "planning" / "forecasts_coherent.csv"),
              pd.read_csv(run / "specialists" / "specialist_forecasts.csv")]
    fc = pd.concat(frames, ignore_index=True)
    return fc.loc[fc["selected"].astype(bool)]


def test_cover_and_report_show_the_run_folder_s_id_and_time(run):
    """The run id and creation time reach the workbook and the report from the run folder (RunStamp)."""
    from kzmig.core.runs import read_manifest

    manifest = read_manifest(run)
    cover = {r[0]: r[1] for r in openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")["Титульный лист"]
             .iter_rows(values_only=True) if r and r[0]}
    assert cover["Идентификатор расчёта"] == manifest["run_id"]
    assert cover["Дата расчёта"] == manifest["started_at"]
    html = (run / "report.html").read_text(encoding="utf-8")
    assert (f"<dt>идентификатор расчёта</dt><dd>{manifest['run_id']}</dd><dt>дата расчёта</dt>"
            f"<dd>{manifest['started_at']}</dd>") in html


def test_workbook_numbers_equal_the_long_tables(run):
    fc = _selected(run)
    wb = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")
    assert wb.sheetnames[:2] == ["Титульный лист", "Примечания"] and "Точность" in wb.sheetnames
    sheets = [s for s in wb.sheetnames if s not in ("Титульный лист", "Примечания", "Точность")]
    # Russian sheet names from the short-name table (kzmig/reporting/labels.csv, short_ru)
    assert {"Сальдо миграции", "Сальдо миграции 95%", "Население", "Выбывшие за рубеж"} <= set(sheets)
    checked = 0
    target_of = {"Сальдо миграции": "net_migration", "Население": "population", "Сальдо миграции 95%": "net_migration"}
    for name in ("Сальдо миграции", "Население", "Сальдо миграции 95%"):
        ws = wb[name]
        rows = [[c.value for c in r] for r in ws.iter_rows()]
        head_i = next(i for i, r in enumerate(rows) if r[:3] == ["Код региона", "Регион", "Region"])
        header, body = rows[head_i], rows[head_i + 1:]
        titles = rows[head_i - 1]
        target = target_of[name]
        level = 0.95 if name.endswith("95%") else 0.8
        sub = fc.loc[(fc["target"] == target) & np.isclose(fc["level"], level)]
        body = [r for r in body if r[0]]
        assert body[-1][0] == "kazakhstan" and body[-1][1] == "Республика Казахстан"
        assert dict((r[0], r[1]) for r in body)["astana"] == "г. Астана"
        for j, col in enumerate(header[3:], start=3):
            block = next(t for t in reversed(titles[:j + 1]) if t)  # the block title above the column
            variant = "point" if "точечный" in block.lower() else "lower" if "нижняя" in block.lower() else "upper"
            for r in body:
                want = sub.loc[(sub["region"] == r[0]) & (sub["year"] == int(col)), variant]
                assert len(want) == 1, (name, r[0], col)
                # the workbook keeps every digit, forecasts.csv whole persons (kzmig.reporting.tables)
                assert r[j] == pytest.approx(float(want.iloc[0]), rel=0, abs=0.5)
                checked += 1
    assert checked > 300


def test_planning_csv_has_a_bom_and_the_same_numbers(run):
    raw = (run / "planning" / "forecast_tables.csv").read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    wide = pd.read_csv(run / "planning" / "forecast_tables.csv", encoding="utf-8-sig")
    row = wide.loc[(wide["target"] == "net_migration") & (wide["variant"] == "point") & (wide["region"] == "astana")]
    fc = _selected(run)
    want = fc.loc[(fc["target"] == "net_migration") & (fc["region"] == "astana") & (fc["year"] == 2026), "point"]
    assert row["2026"].iloc[0] == pytest.approx(want.iloc[0], rel=1e-12)
    assert "г. Астана" in set(wide["region_name_ru"])


class _Parts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.images, self.links = 0, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tables += tag == "table"
        if tag == "img":
            self.images.append(a.get("src", ""))
        for v in a.values():
            if v and ("http://" in v or "https://" in v):
                self.links.append(v)


def test_report_is_self_contained_with_tables_and_images(run):
    p = _Parts()
    p.feed((run / "report.html").read_text(encoding="utf-8"))
    assert p.tables >= 6 and len(p.images) >= 5 and not p.links
    for src in p.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    html = (run / "report.html").read_text(encoding="utf-8")
    for heading in ("Главное", "Регионы: сальдо миграции", "Сценарии", "На что данные не позволяют ответить",
                    "Техническое приложение"):
        assert f">{heading}</h2>" in html


def test_report_in_a_browser_images_load_and_no_text_overflows(run, tmp_path):
    """The run's report.html in headless Chromium (skipped, with the reason, without one)."""
    from browser_check import chromium_or_skip, open_page

    chromium_or_skip()
    p = _Parts()
    p.feed((run / "report.html").read_text(encoding="utf-8"))
    found = open_page(run / "report.html")
    assert len(found["images"]) == len(p.images) >= 5
    for img in found["images"]:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
    assert found["overflow"] == [] and found["page_width"] <= found["viewport"]


def test_csv_numbers_have_the_decimals_of_their_unit(run):
    """No 19429.00000000001 in a table of the run: persons whole, per-1,000 rates two decimals."""
    import csv
    import re

    counted = 0
    for path in run.rglob("*.csv"):
        if path.name == "backtest_predictions.csv":  # read back bit for bit by kzmig predict: every digit
            continue
        for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()):
            for cell in row:
                if re.fullmatch(r"-?\d+\.\d+", cell):
                    counted += 1
                    # at most the unit's 2 decimals, or 6 significant digits for a statistic
                    whole, frac = cell.lstrip("-").split(".")
                    digits = (whole + frac).lstrip("0")
                    assert len(digits) <= max(6, len(whole.lstrip("0")) + 2), (path.name, cell)
    assert counted > 100
    fc = (run / "forecast" / "net_migration" / "forecasts.csv").read_text(encoding="utf-8").splitlines()
    head = fc[0].split(",")
    points = [r.split(",")[head.index("point")] for r in fc[1:] if r.startswith("net_migration,")]
    assert points and all(re.fullmatch(r"-?\d+", v) for v in points)  # whole persons


def test_specialists_say_they_are_composition_based(run):
    sp = pd.read_csv(run / "specialists" / "specialist_forecasts.csv")
    assert set(sp["method"]) == {"composition"} and sp["caveat"].str.contains("composition").all()
    wb = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx", read_only=True)
    tech = "Выб. техн. спец."  # the sheet of external_departures_specialty_technical (short-name table)
    text = " ".join(str(c) for r in wb[tech].iter_rows(max_row=4, values_only=True) for c in r if c)
    assert "оценка по структуре" in text


def test_targets_answered_or_said_why_not(run):
    t = pd.read_csv(run / "targets" / "target_probabilities.csv")
    nk = t.loc[t["region"] == "north_kazakhstan"].iloc[0]
    assert 0 < nk["probability"] < 1 and nk["status"] == "forecast"
    assert t.loc[t["indicator"] == "doctoral_graduates", "status"].iloc[0].startswith("not answerable")
    assert t.loc[t["indicator"] == "foreign_students_bns", "status"].iloc[0].startswith("feasibility")


def test_state_targets_in_the_table_workbook_and_report(run):
    import openpyxl

    f = pd.read_csv(run / "targets" / "feasibility.csv", keep_default_na=False)
    row = f.loc[f["indicator"] == "foreign_students_bns"].iloc[0]
    assert row["latest"] == 33500 and row["verdict"] == "needs faster growth than ever observed"
    assert 0 < float(row["probability"]) < float(row["probability_upper"]) < 1
    ws = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")["Государственные цели"]
    assert ws.cell(5, 1).value == "foreign_students_bns"
    assert ">Государственные цели</h2>" in (run / "report.html").read_text(encoding="utf-8")
    assert (run / "charts" / "state_target_foreign_students_bns_2029_150000.png").exists()


def test_the_run_is_one_account(run):
    """Issue 18 on the shipped data: every identity holds (planning/consistency.csv), and the published
    tables agree when recomputed here from the planning CSV alone."""
    c = pd.read_csv(run / "planning" / "consistency.csv")
    assert c["holds"].all(), c.loc[~c["holds"]].head()
    assert {"regions_sum_to_national", "national_is_arrivals_minus_departures", "population_balance",
            "persons_from_rate", "rate_from_persons"} <= set(c["identity"])
    tol = np.where(c["unit"] == "per_1000", 1e-6, 0.5)
    assert (c["max_abs_deviation"] < tol).all()
    wide = pd.read_csv(run / "planning" / "forecast_tables.csv", encoding="utf-8-sig")
    pt = wide.loc[wide["variant"] == "point"].set_index(["target", "region"])
    years = [str(y) for y in range(2025, 2029)]
    for region in set(pt.loc["net_migration"].index):
        for y in years[1:]:  # population of 1 January of y and y+1 from the population sheet
            m = pt.loc[("net_migration", region), y]
            rate = pt.loc[("net_migration_rate_per_1000", region), y]
            p0, p1 = pt.loc[("population", region), y], pt.loc[("population", region), str(int(y) + 1)]
            # the CSV rounds persons to whole numbers and rates to 2 decimals (docs/studies/run.md):
            # the identity holds within what that rounding allows
            tol = 0.005 * (p0 + p1) / 2 / 1000 + 0.5 + abs(rate) / 1000
            assert m == pytest.approx(rate * (p0 + p1) / 2 / 1000, abs=tol), (region, y)
            if region != "kazakhstan":
                continue
            regions = [r for r in set(pt.loc["net_migration"].index) if r != "kazakhstan"]
            assert m == pytest.approx(sum(pt.loc[("net_migration", r), y] for r in regions), abs=0.5 * (len(regions) + 1))
            arr, dep = pt.loc[("external_arrivals", region), y], pt.loc[("external_departures", region), y]
            assert m == pytest.approx(arr - dep, abs=1.5), y
    ws = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")["Согласованность"]
    assert ws.cell(5, 1).value == "Тождество / identity" and ws.max_row >= len(c) + 5


def test_intervals_state_their_backtest_coverage(run):
    cov = pd.read_csv(run / "planning" / "interval_coverage.csv")
    assert {"net_migration_rate_per_1000", "external_departures"} <= set(cov["target"])
    assert set(cov["status"]) <= {"within", "calibrated", "uncalibrated"}
    wb = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")
    for sheet in ("Сальдо миграции", "Выбывшие за рубеж 95%"):
        text = " ".join(str(c) for r in wb[sheet].iter_rows(max_row=4, values_only=True) for c in r if c)
        assert "ретроспективной проверке" in text, sheet  # the run's language (Russian) states the coverage


def test_scenarios_and_specialists_go_through_the_account(run):
    sc = pd.read_csv(run / "planning" / "scenario_account.csv")
    pub = pd.read_csv(run / "planning" / "forecasts_coherent.csv")
    nat = pub.loc[(pub["target"] == "net_migration") & (pub["region"] == "kazakhstan")].drop_duplicates("year")
    for name, g in sc.groupby("scenario"):
        reg = g.loc[g["region"] != "kazakhstan"]
        by_year = reg.groupby("year")["net_migration"].sum()
        want = nat.set_index("year")["point"].reindex(by_year.index)
        # migrants move between regions only (the CSV holds whole persons: rounding of each region)
        assert np.allclose(by_year, want, atol=0.5 * (reg["region"].nunique() + 1)), name
        mean = (reg["population_start"] + reg["population_end"]) / 2
        rate = reg["net_migration_rate_per_1000"]  # 2 decimals in the CSV
        assert (abs(reg["net_migration"] - rate * mean / 1000) <= 0.005 * mean / 1000 + 0.5 + rate.abs() / 1000).all()
        assert np.allclose(reg["population_end"], reg["population_start"] + reg["natural_increase"]
                           + reg["net_migration"], atol=2.0)
    c = pd.read_csv(run / "planning" / "consistency.csv")
    assert c["identity"].str.startswith("scenario ").any()
    sp = pd.read_csv(run / "specialists" / "specialist_forecasts.csv")
    dep = pub.loc[(pub["target"] == "external_departures") & (pub["region"] == "kazakhstan")].drop_duplicates("year")
    # each group is its share of the *reconciled* departures; the groups cover the share of departures
    # with a recorded specialty (aged 15+), so they sum to that share of the total, not to all of it
    point = sp.loc[sp["target"].str.startswith("external_departures_specialty_")].drop_duplicates(["target", "year"])
    want = point["year"].map(dep.set_index("year")["point"]) * point["share"]
    assert np.allclose(point["point"], want, rtol=1e-5, atol=1.0)  # whole persons, shares to 6 digits
    total, share = point.groupby("year")["point"].sum(), point.groupby("year")["share"].sum()
    assert np.allclose(total, share * dep.set_index("year")["point"].reindex(total.index), rtol=1e-5,
                       atol=point.groupby("year").size().max())
    assert (share < 1).all()


@pytest.fixture(scope="module")
def english(config, tmp_path_factory) -> Path:
    """The same config run again, in English (``--lang en``): a second computation of every table; with
    ``--charts report``, so that it draws the charts its report shows only."""
    out = tmp_path_factory.mktemp("run_en") / "en"
    res = run_kzmig("run", config, "--lang", "en", "--charts", "report", "--out", out)
    assert res.code == 0, res.text
    return out


def test_same_config_and_data_give_identical_tables_in_either_language(run, english):
    """The second run computes everything again; the language changes words (report, workbook,
    charts), never a table: every CSV of the two runs is the same bytes."""
    tables = sorted(p.relative_to(run) for p in run.rglob("*.csv"))
    assert len(tables) > 40
    assert tables == sorted(p.relative_to(english) for p in english.rglob("*.csv"))
    for rel in tables:
        assert (run / rel).read_bytes() == (english / rel).read_bytes(), rel


def _embedded(run: Path) -> set[bytes]:
    """The PNG bytes of every image of the run's report."""
    html = (run / "report.html").read_text(encoding="utf-8")
    return {base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)}


def test_charts_report_writes_only_the_charts_the_report_shows(run, english):
    """``--charts report`` (the English run) writes to charts/ the charts its report shows, and all of them; the
    default (the Russian run) writes besides a fan chart of every target and region, and those are the only
    charts it writes that its report does not show."""
    charts_en = {p.name: p.read_bytes() for p in (english / "charts").glob("*.png")}
    charts_ru = {p.name: p.read_bytes() for p in (run / "charts").glob("*.png")}
    assert set(charts_en.values()) <= _embedded(english)
    assert set(charts_en) < set(charts_ru) and "fan_population_akmola.png" in set(charts_ru) - set(charts_en)
    shown_ru = _embedded(run)
    assert {name for name, png in charts_ru.items() if png not in shown_ru} == set(charts_ru) - set(charts_en)
    assert json.loads((english / "manifest.json").read_text())["config"]["resolved"]["run"]["charts"] == "report"


def test_killed_run_leaves_no_table_that_claims_to_be_complete(config, tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "kzmig.cli", "run", str(config), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in proc.stdout:  # progress lines come one per finished step in a pipe
            if "run: assessment" in line:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not out.exists()  # the run never got renamed into place
    (partial,) = tmp_path.glob("killed.partial-*")
    manifest = partial / "manifest.json"
    assert not manifest.exists() or json.loads(manifest.read_text())["status"] != "complete"
    from kzmig.core.errors import ConfigError
    from kzmig.core.runs import read_manifest

    with pytest.raises(ConfigError, match="no manifest.json|not complete"):
        read_manifest(partial)


def test_run_config_errors_name_the_key(config, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(RUN.replace('feature = "unemployment_rate_pct"', 'feature = "unemployment"'), encoding="utf-8")
    for name in ("regress.toml", "targets.csv"):
        (tmp_path / name).write_bytes((config.parent / name).read_bytes())
    res = run_kzmig("run", bad, "--out", tmp_path / "o")
    assert res.code == 2 and 'scenario.jobs.shifts[0].feature: found "unemployment"; the panel model' in res.text
    assert "unemployment_rate_pct" in res.text and not (tmp_path / "o").exists()


def test_bad_targets_table_is_a_user_error_before_any_study(config, tmp_path):
    for name in ("regress.toml", "mini.toml"):
        (tmp_path / name).write_bytes((config.parent / name).read_bytes())
    (tmp_path / "targets.csv").write_text(TARGETS.replace("at_least,level,illustration\n", "at_leest,level,x\n", 1),
                                          encoding="utf-8")
    res = run_kzmig("config", "check", tmp_path / "mini.toml")
    assert res.code == 2 and "targets.csv" in res.text and "at_leest" in res.text
    res = run_kzmig("run", tmp_path / "mini.toml", "--out", tmp_path / "o")
    assert res.code == 2 and "at_leest" in res.text
    (failed,) = tmp_path.glob("o.failed-*")
    assert not (failed / "assessment").exists()  # nothing ran


# ------------------------------------------------------------------------------------ the brief, in Russian

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


class _Prose(HTMLParser):
    """Text of the report by kind: prose and headings (h1, h2, p, li, caption, figcaption, dt, dd), table
    headers (th), alt texts; table cells (td) are data and left out."""

    KINDS = ("h1", "h2", "p", "li", "caption", "figcaption", "th", "dt", "dd", "a")

    def __init__(self):
        super().__init__()
        self.stack, self.texts, self.sections = [], [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.texts.append(("alt", a.get("alt", "")))
        if tag == "section":
            self.sections.append([a.get("id"), None, []])

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        inner = next((t for t in reversed(self.stack) if t in self.KINDS + ("td",)), None)
        if inner and inner != "td" and data.strip():
            self.texts.append((inner, data))
            if self.sections and "section" in self.stack:
                if inner == "h2" and self.sections[-1][1] is None:
                    self.sections[-1][1] = data
                elif inner == "li":
                    self.sections[-1][2].append(data)


def _prose(run: Path) -> _Prose:
    p = _Prose()
    p.feed((run / "report.html").read_text(encoding="utf-8"))
    return p


def test_report_opens_with_the_brief_whose_numbers_are_the_run_s_tables(run):
    """Each number of the brief recomputed from the forecasting and scenario tables of the run folder."""
    from kzmig.reporting.i18n import number, region_name, using

    page = _prose(run)
    sid, heading, sentences = page.sections[0]
    assert (sid, heading) == ("s1", "Главное") and len(sentences) >= 5
    text = "\n".join(sentences)
    # the published forecasts: the account's (planning/forecasts_coherent.csv, full precision)
    fc = pd.read_csv(run / "planning" / "forecasts_coherent.csv")
    nm = fc.loc[fc["selected"].astype(bool) & (fc["target"] == "net_migration")]
    regional = nm.loc[nm["region"] != "kazakhstan"].drop_duplicates(["region", "year"])
    totals = regional.groupby("region")["point"].sum().sort_values(ascending=False)
    last = int(nm["year"].max())
    at95 = nm.loc[(nm["year"] == last) & np.isclose(nm["level"], 0.95)].set_index("region")
    with using("ru"):
        for region in list(totals.index[:3]) + list(totals.index[::-1][:3]):
            t, r = totals[region], at95.loc[region]
            if (region in totals.index[:3]) != (t > 0):
                continue  # a region without a net gain (loss) is not named among the gaining (losing)
            n_years = last - int(nm["year"].min()) + 1  # the CSV's whole persons: the sum is off by rounding only
            pieces = [(f"{region_name(region)}: {number(t + d, sign=True)} за {int(nm['year'].min())}–{last} гг. "
                       f"(в {last} г.: {number(r['point'], sign=True)} (95 %: от {number(r['lower'], sign=True)} "
                       f"до {number(r['upper'], sign=True)}))") for d in range(-(n_years // 2), n_years // 2 + 1)]
            assert any(piece in text for piece in pieces), pieces[len(pieces) // 2]
        nat = at95.loc["kazakhstan"]
        assert (f"Сальдо миграции Республики Казахстан в {last} г.: {number(nat['point'], sign=True)} (95 %: от "
                f"{number(nat['lower'], sign=True)} до {number(nat['upper'], sign=True)})") in text
        pop = pd.read_csv(run / "forecast" / "net_migration" / "population_forecasts.csv")
        eff = pd.read_csv(run / "scenarios" / "scenario_effects.csv")
        e = eff.loc[eff["year"] == eff["year"].max()]
        for r in e.itertuples(index=False):
            piece = (f"{region_name(r.region, kazakh=False)} {number(r.effect_point, sign=True)} (95 %: от "
                     f"{number(r.effect_lower_95, sign=True)} до {number(r.effect_upper_95, sign=True)})")
            assert piece in text, piece
    flagged = (e["effect_lower_95"] <= 0) & (e["effect_upper_95"] >= 0)
    scen = next(s for s in sentences if s.startswith("Сценарий"))
    assert ("ни один эффект статистически не отличим от нуля" in scen) == bool(flagged.all())
    assert len(pop) and any(s.startswith("Численность населения Казахстана на начало") for s in sentences)
    brief = pd.read_csv(run / "planning" / "brief.csv")
    gain = brief.loc[brief["topic"] == "region_gain"].sort_values("rank")
    assert list(gain["subject"]) == [r for r in totals.index[:3] if totals[r] > 0]


def _variable_names(run: Path) -> set[str]:
    from kzmig.reporting.i18n import label_names

    names = set(label_names())
    for f in run.glob("forecast/*/forecasts.csv"):
        names |= set(pd.read_csv(f, usecols=["target"])["target"])
    names |= set(pd.read_csv(run / "regression" / "coefficients.csv", usecols=["term"])["term"])
    names |= set(pd.read_csv(run / "specialists" / "specialist_forecasts.csv", usecols=["target"])["target"])
    return names


def test_russian_report_has_no_raw_variable_name_or_english_message(run):
    import string

    from babel.messages.pofile import read_po

    import kzmig.reporting as rep

    page = _prose(run)
    names = _variable_names(run) - {"region"}
    raw = [(kind, t) for kind, t in page.texts for w in SNAKE.findall(t) if w in names]
    assert not raw, raw[:5]
    prose = "\n".join(t for _k, t in page.texts)
    with (Path(rep.__file__).parent / "locale" / "ru" / "LC_MESSAGES" / "kzmig.po").open("rb") as fh:
        catalogue = [m for m in read_po(fh) if m.id and m.string and m.string != m.id]
    left = []
    for m in catalogue:  # the longest fixed run of words of each English message must not appear
        chunks = [lit for lit, *_r in string.Formatter().parse(m.id) if lit]
        longest = max(chunks, key=len).strip(" ;,.:()") if chunks else ""
        if len(longest) >= 18 and " " in longest and longest in prose:
            left.append(longest)
    assert not left, left[:5]


def test_scenario_effects_flagged_in_the_report_and_the_workbook(run):
    brief = pd.read_csv(run / "planning" / "brief.csv")
    sc = brief.loc[brief["topic"] == "scenario"]
    spans = ((sc["lower"] <= 0) & (sc["upper"] >= 0)).tolist()
    assert sc["spans_zero"].astype(bool).tolist() == spans and len(sc)
    ws = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx")["Сценарии"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    header, body = rows[0], [r for r in rows[1:] if r[0]]
    finding = header.index("Вывод при 95 %")
    low, high = header.index("95 %: от"), header.index("95 %: до")
    assert len(body) == len(sc)
    for r in body:
        assert ("не отличим от нуля" in r[finding]) == (r[low] <= 0 <= r[high])
    html = (run / "report.html").read_text(encoding="utf-8")
    assert html.count("эффект не измерим: статистически не отличим от нуля") >= sum(spans)


def test_bad_language_is_a_user_error(config, tmp_path):
    res = run_kzmig("run", config, "--lang", "kk", "--out", tmp_path / "o")
    assert res.code == 2 and "--lang 'kk'" in res.text and "ru, en" in res.text
    assert not (tmp_path / "o").exists()


def test_english_with_lang_en(english):
    out = english
    page = _prose(out)
    assert page.sections[0][1] == "Key messages"
    assert page.sections[0][2][0].startswith("Regions gaining most by net migration to")
    assert '<html lang="en">' in (out / "report.html").read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(out / "planning" / "forecast_tables.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["cover", "notes"] and "Scenarios" in wb.sheetnames
    assert json.loads((out / "manifest.json").read_text())["config"]["resolved"]["run"]["lang"] == "en"


def test_russian_report_and_workbook_name_models_by_their_labels(run):
    """No model's configured name (``mean3``, ``naive_2000``, ``fe_twoway``) reaches a Russian reader as is:
    the report's table cells and the workbook's cover, notes, target and accuracy sheets show its label."""
    from kzmig.reporting.i18n import label, using

    models = set()
    for f in run.glob("forecast/*/forecasts.csv"):
        models |= set(pd.read_csv(f, usecols=["model"])["model"])
    models |= set(pd.read_csv(run / "regression" / "coefficients.csv", usecols=["model"])["model"])
    assert {"mean3", "naive_2000"} <= models
    with using("ru"):
        assert label("mean3") == "среднее за 3 последних года" and label("naive_2000").endswith("ряд с 2000 г.")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", (run / "report.html").read_text(encoding="utf-8"))
    assert not models & set(cells), sorted(models & set(cells))
    wb = openpyxl.load_workbook(run / "planning" / "forecast_tables.xlsx", read_only=True)
    texts = [str(v) for ws in wb.worksheets if ws.title != "Согласованность"
             for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    words = {w.strip(" ;:.,()") for t in texts for w in re.split(r"[\s;:,()]+", t)}
    assert not models & words, sorted(models & words)


def test_every_account_note_of_the_run_reads_in_russian(run):
    """Each note the account study wrote for the run matches a pattern of the report's translator, so a
    Russian reader never meets the study's English sentence (a new note without a pattern fails here)."""
    from kzmig.reporting.accounts_sheet import account_note
    from kzmig.reporting.i18n import using

    def find(obj):
        if isinstance(obj, dict):
            return obj.get("account_notes") or next((r for v in obj.values() if (r := find(v))), None)
        if isinstance(obj, list):
            return next((r for v in obj if (r := find(v))), None)
        return None

    notes = find(json.loads((run / "manifest.json").read_text()))
    assert notes, "the run's manifest holds the account's notes"
    with using("ru"):
        left = [n for n in notes if account_note(n) == n]
    assert not left, left
