"""Which official table feeds which variable of the dataset (the fetcher's catalogue).

One :class:`Series` per table: the API (``statgov`` file API or ``taldau`` index API), its id,
its parameters, the dataset variable it feeds, and the factor that converts the published unit
to the variable's unit. Ids and parameters are those of ``../shared/data/raw/SOURCES.md``
(section API) and ``api_endpoints.csv``. Only annual tables are listed: a quarterly table is not
summed or averaged into a year here (that would be a new, derived figure).

Where two tables feed one variable (housing commissioned: BNS element 4289, then Taldau
701925), a region-year takes the first table in catalogue order that has it, as the build's
``SELECT`` does for vintages.

The average wage (``avg_wage``, Taldau 702972) feeds ``avg_wage_kzt``, the wage the features,
the low-wage flag, the regressions and the scenarios use; the shipped copy of element 5676 was
rounded to whole tenge by a third-party script, while Taldau may publish decimals, so a fetch can
revise a wage by less than 1 KZT (see the version's data card). ``avg_wage_thousand_kzt`` (the
2020 Taldau copy, rounded to 0.1 thousand) is not fetched and stays as shipped.
"""
from __future__ import annotations

from dataclasses import dataclass

STATGOV = "https://stat.gov.kz/api/iblock/element/{id}/{fmt}/file/ru/"
TALDAU = "https://taldau.stat.gov.kz/ru/Api/GetIndexData/{id}"
#: Taldau period codes (SOURCES.md): 7 = year, 8 = month cumulative
YEAR, MONTH_CUMULATIVE = 7, 8


@dataclass(frozen=True)
class Series:
    """One official table and the dataset variable it feeds.

    ``scale`` multiplies the published value into ``unit`` (e.g. 0.001 for tenge to thousand
    tenge). ``period``/``dics`` are Taldau's parameters; for a month-cumulative table the
    December value (period end 31.12) is the year's total.
    """

    name: str
    variable: str
    system: str  # "statgov" | "taldau"
    id: int
    unit: str
    what: str
    scale: float = 1.0
    fmt: str = "csv"  # statgov: csv (a TSV) or json
    period: int = YEAR
    dics: tuple[int, ...] = ()

    @property
    def url(self) -> str:
        if self.system == "statgov":
            return STATGOV.format(id=self.id, fmt=self.fmt)
        return TALDAU.format(id=self.id)

    @property
    def params(self) -> dict[str, str] | None:
        if self.system == "statgov":
            return None
        return {"period": str(self.period), "dics": ",".join(str(d) for d in self.dics)}

    @property
    def source(self) -> str:
        """The ``source`` string of the rows it gives (the request, without the host's scheme)."""
        if self.system == "statgov":
            return f"stat.gov.kz:api/iblock/element/{self.id}/{self.fmt}/file/ru/"
        return f"taldau.stat.gov.kz:Api/GetIndexData/{self.id}?period={self.period}&dics={self.params['dics']}"


_S = Series
#: demography dics and LFS dics of Taldau (the dictionary list must match the index exactly)
_LFS = (67, 915, 749, 576, 1773, 1793)

CATALOG: tuple[Series, ...] = (
    _S("population", "population", "statgov", 6584, "persons", "population at 1 January by region"),
    _S("births", "births", "statgov", 6548, "persons", "live births by region"),
    _S("deaths", "deaths", "statgov", 6550, "persons", "deaths by region"),
    _S("natural_increase", "natural_increase", "statgov", 6547, "persons", "natural increase by region"),
    _S("net_migration", "net_migration", "statgov", 6567, "persons",
       "net migration, all flows (national 2000+, regions 2023+)"),
    _S("labour_force", "labour_force_persons", "statgov", 102800, "persons", "labour force by region, annual"),
    _S("money_income", "money_income_per_capita_kzt", "statgov", 19298, "KZT per month",
       "per-capita nominal money income by region"),
    _S("grp_per_capita", "grp_per_capita_thousand_kzt", "statgov", 5930, "thousand KZT",
       "GRP per capita by region (the CSV has spurious zero groups)"),
    _S("housing_commissioned", "housing_commissioned_m2", "statgov", 4289, "m2 of total floor area",
       "housing commissioned by region"),
    _S("unemployment_rate", "unemployment_rate_pct", "taldau", 702944, "%", "unemployment rate by region, annual",
       dics=(67, 749, 576, 1773, 1793)),
    _S("employed", "employed_population", "taldau", 702840, "thousand persons",
       "employed population by region, annual LFS", dics=_LFS),
    _S("self_employed", "self_employed_thousand_persons", "taldau", 702935, "thousand persons",
       "self-employed by region, annual LFS", dics=_LFS),
    # Taldau 702972 (annual) is the statistic of BNS element 5676, the shipped avg_wage_kzt (SOURCES.md,
    # Round 4: round(value/1000, 1) equals the 2020 Taldau copy for all 18 rows), published in KZT: it
    # refreshes the wage the models use. avg_wage_thousand_kzt (that 2020 copy) is not fetched.
    _S("avg_wage", "avg_wage_kzt", "taldau", 702972, "KZT per month",
       "average monthly nominal wage by region, annual (the statistic of BNS element 5676)",
       dics=(68, 859, 776, 2813, 576)),
    _S("poverty_share", "poverty_share_pct", "taldau", 704498, "%",
       "share of population with income below the subsistence minimum", dics=(67, 749)),
    _S("housing_taldau", "housing_commissioned_m2", "taldau", 701925, "m2 of total floor area",
       "housing commissioned, month-cumulative (December = year; published in thousand m2)",
       scale=1000.0, period=MONTH_CUMULATIVE, dics=(68, 776, 59, 853, 2987)),
)
SERIES = {s.name: s for s in CATALOG}
