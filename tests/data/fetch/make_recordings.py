"""Write the PROJECT-MADE recorded responses of tests/data/fetch (not real downloads).

The stat.gov.kz and Taldau APIs cannot be reached from the machine this project is built on, so
these responses are made by the project, to the shapes documented in
``../shared/data/raw/SOURCES.md`` (section API) and ``api_endpoints.csv``, with every documented
defect: TSV served as ``csv`` with a UTF-8 BOM, space thousands separators and decimal commas,
spurious zero groups, ``x`` for confidential values, period labels such as ``2020 год``,
upper-case Russian region names, districts and towns in the same file, dimension rows
(urban/rural, sex) beside the totals, and a 302 redirect to the static file.

Most values are copied from the shipped ``data/processed/observations.csv``, so that the
fetched version differs from the shipped data only by the PLANTED changes listed in
``PLANTED`` below (and what they imply). Run from the repository root:
``.venv/bin/python tests/data/fetch/make_recordings.py``. Deterministic.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BOM = "\ufeff"
TSV_HEADER = ["NAM", "DAT", "PERIOD", "КАТО(по каталогу)", "LКАТО(по каталогу)"]
#: the planted changes (the tests state the same figures literally)
PLANTED = {
    ("population", "akmola", 2022): 786208,   # shipped 785708: revised +500
    ("population", "akmola", 2024): 788976,   # shipped 787976: revised +1000
    ("grp_per_capita_thousand_kzt", "aktobe", 2022): "4 790,0",  # shipped 4788.2
    # Taldau 702972 feeds avg_wage_kzt (KZT per month, the statistic of BNS element 5676)
    ("avg_wage_kzt", "almaty_city", 2020): "248500",      # shipped 247951: revised +549
    ("avg_wage_kzt", "abai", 2023): "300142",             # shipped 299142: revised +1000 (a member of the
                                                          # 2018-border East Kazakhstan, weighted by employed)
    ("avg_wage_kzt", "kazakhstan", 2015): "126020.76",    # shipped 126021, rounded to whole tenge by a
                                                          # third-party script: revised -0.24 (BNS value, SOURCES.md)
}
NAMES = {"kazakhstan": "РЕСПУБЛИКА КАЗАХСТАН", "akmola": "АКМОЛИНСКАЯ ОБЛАСТЬ", "aktobe": "АКТЮБИНСКАЯ ОБЛАСТЬ",
         "almaty_city": "Г.АЛМАТЫ", "abai": "ОБЛАСТЬ АБАЙ", "east_kazakhstan": "ВОСТОЧНО-КАЗАХСТАНСКАЯ ОБЛАСТЬ"}


def shipped() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "processed" / "observations.csv", dtype=str, keep_default_na=False)


def grouped(value: float | int, decimals: int = 0, comma: bool = False) -> str:
    """A number as the file API prints it: spaces between thousands (and a decimal comma if asked)."""
    text = f"{value:,.{decimals}f}".replace(",", " ")
    return text.replace(".", ",") if comma else text


def tsv(rows: list[list[str]], dims: list[str]) -> bytes:
    header = TSV_HEADER + [c for d in dims for c in (f"{d} (по каталогу)", f"L{d} (по каталогу)")] + ["VAL"]
    lines = ["\t".join(header)] + ["\t".join(r) for r in rows]
    return (BOM + "\r\n".join(lines) + "\r\n").encode("utf-8")


def population(obs: pd.DataFrame) -> bytes:
    pop = obs[obs["variable"] == "population"].set_index(["region", "year"])["value"]
    rows = []
    new_2026 = {"akmola": 786500, "almaty_city": 2350000, "abai": 598000}  # ADDED
    for year in (2023, 2024, 2025, 2026):
        for region in ("akmola", "almaty_city", "abai"):
            v = new_2026[region] if year == 2026 else int(pop[(region, str(year))])
            v = PLANTED.get(("population", region, year), v)
            base = ["Численность населения", f"{year} год", f"{year}01", NAMES[region], "0"]
            rows.append(base + ["Всего", "0", grouped(v)])
            # urban/rural rows (to be filtered out): made-up split
            rows.append(base + ["городская местность", "1", grouped(v * 0.6)])
            rows.append(base + ["сельская местность", "2", grouped(v - round(v * 0.6))])
        # a district and a town of Akmola Region (left out as sub-regional)
        for label, v in (("АККОЛЬСКИЙ РАЙОН", 27000 + year), ("Г.КОКШЕТАУ", 160000 + year)):
            rows.append(["Численность населения", f"{year} год", f"{year}01", label, "1", "Всего", "0", grouped(v)])
    # the planted 2022 revision of Akmola
    rows.insert(0, ["Численность населения", "2022 год", "202201", NAMES["akmola"], "0", "Всего", "0",
                    grouped(PLANTED[("population", "akmola", 2022)])])
    return tsv(rows, ["СПТМ"])


def grp_per_capita() -> bytes:
    cells = [  # (region, year, printed)
        ("akmola", 2020, "3 102,5"),          # decimal comma, = shipped
        ("akmola", 2021, "3 644 900 000.0"),  # spurious zero groups for 3644.9 (= shipped)
        ("akmola", 2022, "4428.5"),           # = shipped
        ("akmola", 2023, "5 012,3"),          # ADDED
        ("aktobe", 2020, "3 329,8"),          # = shipped
        ("aktobe", 2021, "x"),                # confidential: the shipped 3982.1 stays
        ("aktobe", 2022, PLANTED[("grp_per_capita_thousand_kzt", "aktobe", 2022)]),  # REVISED
        ("aktobe", 2023, "5 401,7"),          # ADDED
        ("kazakhstan", 2022, "5 284,7"),      # = shipped
    ]
    rows = [["ВРП на душу населения", f"{y} год", f"{y}12", NAMES[r], "0", v] for r, y, v in cells]
    return tsv(rows, [])


def cube(rows: list[tuple[list[int], list[str], dict[int, str]]], cumulative: bool = False) -> bytes:
    out = []
    for terms, names, values in rows:
        periods = [{"name": f"{y} год", "date": f"31.12.{y}", "value": v} for y, v in sorted(values.items())]
        out.append({"terms": terms, "termNames": names, "periods": periods})
    return json.dumps(out, ensure_ascii=False, indent=1).encode("utf-8")


TOTALS_WAGE = ([741885, 741917, 3629946, 741935], ["Всего", "Всего", "Всего", "Оба пола"])


def wages(obs: pd.DataFrame) -> bytes:
    """Taldau 702972 (annual, KZT per month, values as strings): the statistic of element 5676, so
    the values are the shipped ``avg_wage_kzt`` (printed with or without ``.0``) except the PLANTED
    ones; Akmola 2025 is ADDED (a made-up value); ``x``, a breakdown by sex and a district are left out."""
    t, n = TOTALS_WAGE
    w = obs[obs["variable"] == "avg_wage_kzt"].set_index(["region", "year"])["value"]

    def cells(region: str, years: tuple[int, ...], fmt: str = "{}") -> dict[int, str]:
        return {y: PLANTED.get(("avg_wage_kzt", region, y), fmt.format(w[(region, str(y))])) for y in years}

    return cube([
        ([741880, *t], ["РЕСПУБЛИКА КАЗАХСТАН", *n], cells("kazakhstan", (2015, 2020, 2021, 2023), "{}.0")),
        ([741881, *t], ["АКМОЛИНСКАЯ ОБЛАСТЬ", *n], {**cells("akmola", (2020,)), 2021: "x", 2025: "361204.5"}),
        ([741881, 741885, 741917, 3629946, 741936], ["АКМОЛИНСКАЯ ОБЛАСТЬ", "Всего", "Всего", "Всего", "Женщины"],
         {2020: "140100", 2021: "151000"}),  # a breakdown by sex: filtered out
        ([741900, *t], ["Г.АЛМАТЫ", *n], cells("almaty_city", (2020, 2021))),
        ([741910, *t], [NAMES["abai"], *n], cells("abai", (2023, 2024))),
        ([741911, *t], [NAMES["east_kazakhstan"], *n], cells("east_kazakhstan", (2023, 2024))),
        ([742001, *t], ["АККОЛЬСКИЙ РАЙОН", *n], {2020: "150200"}),  # a district (dictionary 68): left out
    ])


def self_employed() -> bytes:
    t, n = [741885, 741890, 741917, 741935, 741940], ["Всего"] * 5
    return cube([
        ([741880, *t], ["РЕСПУБЛИКА КАЗАХСТАН", *n], {2021: "2118.4", 2022: "2090.7", 2023: "2045.3"}),
        ([741881, *t], ["АКМОЛИНСКАЯ ОБЛАСТЬ", *n], {2021: "95.2", 2022: "93.8", 2023: "x"}),
        ([741900, *t], ["Г.АЛМАТЫ", *n], {2021: "150.6", 2022: "148.9", 2023: "151.2"}),
        ([741881, 741885, 741890, 741918, 741935, 741940],
         ["АКМОЛИНСКАЯ ОБЛАСТЬ", "Всего", "Всего", "Городская местность", "Всего", "Всего"], {2021: "40.1"}),
    ])


def poverty() -> bytes:
    return cube([
        ([741881, 741917], ["АКМОЛИНСКАЯ ОБЛАСТЬ", "Всего"], {2020: "5.9", 2021: "5.1"}),
        ([741881, 741918], ["АКМОЛИНСКАЯ ОБЛАСТЬ", "Городская местность"], {2020: "4.0", 2021: "3.8"}),
        ([741880, 741917], ["РЕСПУБЛИКА КАЗАХСТАН", "Всего"], {2020: "5.3", 2021: "5.2"}),
    ])


def housing(obs: pd.DataFrame) -> bytes:
    """Element 4289 (m2): Akmola 2021-2022 as shipped; no Aktobe rows."""
    h = obs[obs["variable"] == "housing_commissioned_m2"].set_index(["region", "year"])["value"]
    rows = [["Введено в эксплуатацию жилья", f"{y} год", f"{y}12", NAMES["akmola"], "0", "Всего", "0",
             grouped(int(h[("akmola", str(y))]))] for y in (2021, 2022)]
    return tsv(rows, ["СГНЛ"])


def housing_taldau() -> bytes:
    """Taldau 701925, month-cumulative (period=8), thousand m2: only the 31.12 value is a year.

    Akmola 2022 differs from element 4289 (which comes first in the catalogue and wins); Aktobe
    2022 fills the gap of element 4289 (shipped 1,252,272 m2: REVISED to 1,252,300); 2023 is ADDED.
    """
    t, n = [741917, 741918, 741919, 741920], ["Всего", "Всего", "Всего", "Всего"]
    out = []
    for terms, names, months in (
        ([741881, *t], ["АКМОЛИНСКАЯ ОБЛАСТЬ", *n], {"30.11.2022": "540.1", "31.12.2022": "630.0"}),
        ([741882, *t], ["АКТЮБИНСКАЯ ОБЛАСТЬ", *n],
         {"30.11.2022": "1 101,0", "31.12.2022": "1 252,3", "30.11.2023": "1 000,0", "31.12.2023": "1 320,5"}),
    ):
        periods = [{"name": f"январь-{'декабрь' if d.startswith('31.12') else 'ноябрь'} {d[-4:]} года",
                    "date": d, "value": v} for d, v in months.items()]
        out.append({"terms": terms, "termNames": names, "periods": periods})
    return json.dumps(out, ensure_ascii=False, indent=1).encode("utf-8")


def url(u: str, params: dict[str, str] | None = None) -> str:
    return str(httpx.URL(u, params=params)) if params else u


def main(out: Path = HERE) -> None:
    """Write the recordings and ``index.csv`` into ``out`` (default: this folder)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from kzmig.features.ingest.fetch.catalog import SERIES

    obs = shipped()
    files = {
        "population_6584.tsv": population(obs),
        "grp_per_capita_5930.tsv": grp_per_capita(),
        "avg_wage_702972.json": wages(obs),
        "self_employed_702935.json": self_employed(),
        "poverty_share_704498.json": poverty(),
        "housing_4289.tsv": housing(obs),
        "housing_taldau_701925.json": housing_taldau(),
    }
    # broken variants (tests of the errors): an unknown region, a changed column set, a missing key
    pop = files["population_6584.tsv"].decode("utf-8")
    files["broken/population_unknown_region.tsv"] = pop.replace("ОБЛАСТЬ АБАЙ", "НОВАЯ ОБЛАСТЬ").encode("utf-8")
    files["broken/population_no_val.tsv"] = pop.replace("\tVAL\r\n", "\tЗНАЧЕНИЕ\r\n", 1).encode("utf-8")
    wage = json.loads(files["avg_wage_702972.json"])
    wage[1]["values"] = wage[1].pop("periods")
    files["broken/avg_wage_no_periods.json"] = json.dumps(wage, ensure_ascii=False, indent=1).encode("utf-8")
    for name, body in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(body)
    index = []
    for series, name in (("population", "population_6584.tsv"), ("grp_per_capita", "grp_per_capita_5930.tsv"),
                         ("housing_commissioned", "housing_4289.tsv")):
        s = SERIES[series]
        static = f"https://stat.gov.kz/upload/iblock/recorded/{s.id}.csv"
        index.append((url(s.url), 302, "", "", static))
        index.append((static, 200, name, "text/csv", ""))
    for series, name in (("avg_wage", "avg_wage_702972.json"), ("self_employed", "self_employed_702935.json"),
                         ("poverty_share", "poverty_share_704498.json"), ("housing_taldau", "housing_taldau_701925.json")):
        s = SERIES[series]
        index.append((url(s.url, s.params), 200, name, "application/json; charset=utf-8", ""))
    pd.DataFrame(index, columns=["url", "status", "file", "content_type", "location"]).to_csv(
        out / "index.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
