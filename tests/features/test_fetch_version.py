"""A fetched dataset version on the project-made recorded responses (tests/data/fetch): the planted
revisions come out exactly, the version passes the shipped data's validation, is written next to the
shipped data and never over it, and the study can run on it."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pandas as pd
import pytest

from kzmig.core.errors import ConfigError
from kzmig.core.provenance import sha256_file
from kzmig.features.data.dataset import OBSERVATIONS, read_observations
from kzmig.features.ingest.fetch.client import FetchError
from kzmig.features.ingest.fetch.replay import recorded_transport
from kzmig.features.ingest.fetch.version import assemble
from kzmig.features.data.regions import DATA_DIR
from kzmig.studies.data import fetch, open_data

REC = Path(__file__).resolve().parents[1] / "data" / "fetch"
RECORDED = ["population", "grp_per_capita", "avg_wage", "self_employed", "poverty_share"]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

#: the planted changes of tests/data/fetch/make_recordings.py, and what they imply (worked by hand
#: from the shipped values): (change, variable, region, year, old, new)
EXPECTED = {
    ("revised", "population", "akmola", 2022, 785708, 786208),
    ("revised", "population", "akmola", 2024, 787976, 788976),
    # national population 2024 = sum of the 20 regions (derived:sum_of_regions): +1000
    ("revised", "population", "kazakhstan", 2024, 20033842, 20034842),
    # Akmola net migration by the balancing equation: 2021 = P2022 - P2021 - NI2021 (+500),
    # 2022 = P2023 - P2022 - NI2022 (-500)
    ("revised", "net_migration", "akmola", 2021, 46759, 47259),
    ("revised", "net_migration", "akmola", 2022, -2095, -2595),
    ("revised", "grp_per_capita_thousand_kzt", "aktobe", 2022, 4788.2, 4790.0),
    # the wage of the models (Taldau 702972 = element 5676, KZT): two planted revisions, and the national
    # 2015 wage with its decimals (126020.76) against the shipped copy rounded to whole tenge
    ("revised", "avg_wage_kzt", "almaty_city", 2020, 247951, 248500),
    ("revised", "avg_wage_kzt", "abai", 2023, 299142, 300142),
    ("revised", "avg_wage_kzt", "kazakhstan", 2015, 126021, 126020.76),
    ("added", "population", "akmola", 2026, None, 786500),
    ("added", "population", "almaty_city", 2026, None, 2350000),
    ("added", "population", "abai", 2026, None, 598000),
    ("added", "grp_per_capita_thousand_kzt", "akmola", 2023, None, 5012.3),
    ("added", "grp_per_capita_thousand_kzt", "aktobe", 2023, None, 5401.7),
    ("added", "avg_wage_kzt", "akmola", 2025, None, 361204.5),
    ("added", "poverty_share_pct", "akmola", 2021, None, 5.1),
    ("added", "poverty_share_pct", "kazakhstan", 2021, None, 5.2),
    *{("added", "self_employed_thousand_persons", r, y, None, v) for r, y, v in [
        ("kazakhstan", 2021, 2118.4), ("kazakhstan", 2022, 2090.7), ("kazakhstan", 2023, 2045.3),
        ("akmola", 2021, 95.2), ("akmola", 2022, 93.8),
        ("almaty_city", 2021, 150.6), ("almaty_city", 2022, 148.9), ("almaty_city", 2023, 151.2)]},
}


def as_set(changes: pd.DataFrame) -> set[tuple]:
    return {(c, v, r, int(y), None if pd.isna(o) else o, n)
            for c, v, r, y, o, n in changes[["change", "variable", "region", "year", "old", "new"]].itertuples(index=False)}


@pytest.fixture(scope="module")
def version():
    return fetch(RECORDED, transport=recorded_transport(REC), backoff=0, now=NOW)


@pytest.fixture(scope="module")
def saved(version, tmp_path_factory) -> Path:
    return version.save(tmp_path_factory.mktemp("versions") / version.version)


def test_planted_revisions_come_out_exactly(version):
    assert version.version == "fetch-20261201T120000Z"
    assert as_set(version.changes) == EXPECTED
    assert version.meta()["changes"] == {"revised": 9, "added": 16, "removed": 0}
    # only the national 2015 wage is a revision within the shipped whole-tenge rounding
    rounding = version.changes[version.changes["within_rounding"]]
    assert [tuple(r) for r in rounding[["variable", "region", "year"]].itertuples(index=False)] == \
        [("avg_wage_kzt", "kazakhstan", 2015)]
    assert rounding["difference"].round(6).tolist() == [-0.24]


def test_the_fetched_wage_is_the_models_wage_and_the_thousand_kzt_copy_stays(version):
    obs = version.observations.set_index(["variable", "region", "year"])
    row = obs.loc[("avg_wage_kzt", "almaty_city", 2020)]
    assert (row["value"], row["unit"]) == (248500.0, "KZT per month")
    assert row["source"].startswith("taldau.stat.gov.kz:Api/GetIndexData/702972?period=7")
    assert obs.loc[("avg_wage_kzt", "akmola", 2021), "value"] == 203006  # 'x' in the table: the shipped value stays
    assert obs.loc[("avg_wage_thousand_kzt", "almaty_city", 2020), "value"] == 248.0  # not fetched: as shipped
    assert "avg_wage_thousand_kzt" not in set(version.changes["variable"])


def test_merged_border_views_of_the_version_weight_the_fetched_wage_by_employed_persons(version):
    from kzmig.features.data.dataset import load_long

    long = load_long("harmonised", 2018, observations=version.observations).set_index(["region", "year", "variable"])
    row = long.loc[("east_kazakhstan", 2023, "avg_wage_kzt")]
    # East Kazakhstan in 2018 borders = East Kazakhstan + Abai; the shipped employed persons (thousand) for 2023
    # are 368.832 and 292.461; the wages are the shipped 339,854 and the revised (fetched) 300,142
    expected = (339854 * 368.832 + 300142 * 292.461) / (368.832 + 292.461)
    assert row["value"] == pytest.approx(expected, rel=1e-12)
    assert "derived:weighted_employed" in row["flag"]
    shipped = load_long("harmonised", 2018).set_index(["region", "year", "variable"])
    assert shipped.loc[("east_kazakhstan", 2023, "avg_wage_kzt"), "value"] == pytest.approx(
        (339854 * 368.832 + 299142 * 292.461) / (368.832 + 292.461), rel=1e-12)


def test_confidential_value_keeps_the_shipped_one_and_the_correction_is_flagged(version):
    obs = version.observations.set_index(["variable", "region", "year"])
    assert obs.loc[("grp_per_capita_thousand_kzt", "aktobe", 2021), "value"] == 3982.1  # 'x' in the table
    row = obs.loc[("grp_per_capita_thousand_kzt", "akmola", 2021)]
    assert row["value"] == 3644.9 and row["flag"] == "corrected:zero_groups"
    assert row["source"] == "stat.gov.kz:api/iblock/element/5930/csv/file/ru/"


def test_assembling_unchanged_values_reproduces_the_shipped_values_and_flags():
    shipped = read_observations(OBSERVATIONS)
    same = shipped[(shipped["variable"] == "population") & (shipped["region"].isin(["akmola", "abai"]))]
    out = assemble(shipped, same.assign(source="elsewhere", note=""))
    key = ["variable", "region", "year"]
    a = shipped.sort_values(key).reset_index(drop=True)
    b = out.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[[*key, "value", "flag", "unit"]], b[[*key, "value", "flag", "unit"]],
                                  check_dtype=False)


def test_saved_version_passes_the_shipped_validation_and_names_its_version(saved):
    files = sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file())
    assert files == ["README.md", "changes.csv", "fetch_log.csv", "processed/observations.csv",
                     "raw/avg_wage_taldau_702972.json", "raw/grp_per_capita_statgov_5930.tsv",
                     "raw/population_statgov_6584.tsv", "raw/poverty_share_taldau_704498.json",
                     "raw/self_employed_taldau_702935.json", "skipped.csv", "sources.csv", "version.json"]
    src = open_data(saved)  # validated as the shipped data are
    meta = src.meta()
    assert meta["version"] == "fetch-20261201T120000Z" and meta["vintage"]["population"] == 2026
    assert meta["sha256"] == sha256_file(saved / "processed" / "observations.csv")
    assert open_data(saved / "processed" / "observations.csv").version == meta["version"]
    assert open_data(None).meta()["version"] == "shipped"
    info = json.loads((saved / "version.json").read_text())
    assert info["base"]["sha256"] == sha256_file(OBSERVATIONS) and info["series"] == RECORDED
    assert (saved / "raw" / "population_statgov_6584.tsv").read_bytes() == (REC / "population_6584.tsv").read_bytes()
    card = (saved / "README.md").read_text()
    assert "fetch-20261201T120000Z" in card and "| population | 3 | 3 | 0 | 0 | 4 | 2022-2026 |" in card
    assert "| avg_wage_kzt | 3 | 1 | 0 | 1 | 4 | 2015-2025 |" in card
    assert "Here 3 wage value(s) are revised, 1 of them only within the shipped rounding" in card
    assert "`avg_wage_thousand_kzt` (the 2020 Taldau copy in thousand KZT, rounded to 0.1) is not fetched" in card


def test_changes_file_reads_back_to_the_same_set(saved):
    ch = pd.read_csv(saved / "changes.csv")
    assert as_set(ch) == EXPECTED


def test_same_responses_give_a_byte_identical_version(version, saved, tmp_path):
    again = fetch(RECORDED, transport=recorded_transport(REC), backoff=0, now=NOW).save(tmp_path / "v")
    for name in ("processed/observations.csv", "changes.csv", "fetch_log.csv", "skipped.csv", "version.json"):
        assert (again / name).read_bytes() == (saved / name).read_bytes(), name


def test_never_written_over_the_shipped_data_or_another_version(version, saved, tmp_path):
    before = sha256_file(OBSERVATIONS)
    for target in (DATA_DIR, DATA_DIR.parent):
        with pytest.raises(ConfigError, match="over the shipped dataset"):
            version.save(target)
    with pytest.raises(ConfigError, match="not an empty folder"):
        version.save(saved)
    assert sha256_file(OBSERVATIONS) == before
    assert not list(saved.parent.glob(".*partial*"))


def test_since_keeps_later_values_only():
    v = fetch(["population"], since=2026, transport=recorded_transport(REC), backoff=0, now=NOW)
    assert set(v.fetched.observations["year"]) == {2026}
    assert set(v.changes["change"]) == {"added"} and len(v.changes) == 3


def test_http_error_mid_fetch_writes_nothing(tmp_path):
    inner = recorded_transport(REC)

    def handler(request: httpx.Request) -> httpx.Response:
        if "taldau" in request.url.host:
            return httpx.Response(500)
        return inner.handle_request(request)

    with pytest.raises(FetchError, match=r"702972.*HTTP 500 .* after 2 attempt"):
        fetch(RECORDED, transport=httpx.MockTransport(handler), attempts=2, backoff=0, now=NOW)
    assert not (DATA_DIR / "versions" / "fetch-20261201T120000Z").exists()


@pytest.mark.parametrize("kwargs, match", [({"series": ["wages"]}, r"--series \['wages'\]: not in the catalogue"),
                                           ({"since": 1850}, r"--since 1850")])
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        fetch(transport=recorded_transport(REC), backoff=0, **kwargs)


def test_two_tables_for_one_variable_first_wins_and_december_is_the_year():
    v = fetch(["housing_commissioned", "housing_taldau"], transport=recorded_transport(REC), backoff=0, now=NOW)
    got = {(r, int(y)): (val, src.split(":")[0]) for r, y, val, src in
           v.fetched.observations[["region", "year", "value", "source"]].itertuples(index=False)}
    # element 4289 (first in the catalogue) keeps Akmola 2022 (Taldau says 630.0 thousand m2);
    # Taldau fills Aktobe from its 31.12 values (1 252,3 and 1 320,5 thousand m2), not the 30.11 ones
    assert got == {("akmola", 2021): (596303.0, "stat.gov.kz"), ("akmola", 2022): (625875.0, "stat.gov.kz"),
                   ("aktobe", 2022): (1252300.0, "taldau.stat.gov.kz"), ("aktobe", 2023): (1320500.0, "taldau.stat.gov.kz")}
    assert as_set(v.changes) == {("revised", "housing_commissioned_m2", "aktobe", 2022, 1252272, 1252300),
                                 ("added", "housing_commissioned_m2", "aktobe", 2023, None, 1320500)}
    log = v.fetched.log.set_index("series")
    assert log.loc["housing_taldau", "not_annual"] == 3 and log.loc["housing_taldau", "values"] == 3


def test_a_fetch_with_no_value_is_an_error():
    from kzmig.core.errors import StudyError

    with pytest.raises(StudyError, match=r"no values from 2099 on"):
        fetch(["poverty_share"], since=2099, transport=recorded_transport(REC), backoff=0, now=NOW)


def test_value_that_stays_implausible_fails_validation_naming_region_and_year(tmp_path):
    from kzmig.core.errors import PanelContractError

    tsv = ("\ufeffNAM\tDAT\tКАТО(по каталогу)\tVAL\r\n"
           "Численность\t2024 год\tАКМОЛИНСКАЯ ОБЛАСТЬ\t787976000\r\n").encode("utf-8")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=tsv)

    with pytest.raises(PanelContractError, match=r"6584/csv/file/ru/ \(population\): 1 value.*region='akmola', year=2024"):
        fetch(["population"], transport=httpx.MockTransport(handler), backoff=0, now=NOW)


def test_the_default_folder_of_a_version_is_beside_a_checkout_and_under_the_cwd_when_installed(tmp_path):
    from kzmig.studies.data import default_version_folder

    checkout = tmp_path / "repo" / "data"
    assert default_version_folder("v1", checkout, tmp_path / "cwd") == checkout / "versions" / "v1"
    installed = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "kzmig" / "data"
    assert default_version_folder("v1", installed, tmp_path / "cwd") == tmp_path / "cwd" / "kzmig-data" / "v1"
