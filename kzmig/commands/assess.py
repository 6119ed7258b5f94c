"""``kzmig assess``: the four-stage assessment of METHOD.md sections 1-4 and 6 as tables and charts."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import typer

from kzmig.core.errors import ConfigError, DataFileError, PanelContractError
from kzmig.features.regions import BORDERS, NATIONAL

logger = logging.getLogger(__name__)

#: thresholds of the typologies used by the command (documented in the workbook's "rules" sheet)
SMOOTH_K = 3
REL_TOL, ABS_TOL = 0.2, 0.5
ROLL_WINDOW, ROLL_K = 5, 2
FACTORS = ("unemployment_rate_pct", "income_rel_national_pct", "new_housing_m2_per_1000",
           "attractiveness_equal", "pop_density_km2")


def _load(borders: int, data: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The harmonised long table and its wide panel (one read of the data)."""
    from kzmig.features.dataset import load_long, to_wide

    if borders not in BORDERS:
        raise ConfigError(f"--borders {borders} is not available; choose one of {', '.join(map(str, BORDERS))}.")
    if data is not None and not Path(data).exists():
        raise DataFileError(f"--data {data}: file not found.")
    long = load_long(view="harmonised", borders=borders, path=data)
    return long, to_wide(long)


def _check_period(panel: pd.DataFrame, start: int, end: int, borders: int) -> None:
    reg = panel.loc[panel["region"] != NATIONAL]
    flows = reg.dropna(subset=["net_migration", "natural_increase"])["year"]
    pop = reg.dropna(subset=["population"])["year"]
    first, last = int(max(flows.min(), pop.min())), int(min(flows.max(), pop.max() - 1))
    if start < first or end > last:
        raise ConfigError(
            f"period {start}-{end} is outside the data: with borders={borders}, net migration and natural "
            f"increase cover {int(flows.min())}-{int(flows.max())} and population (1 Jan) "
            f"{int(pop.min())}-{int(pop.max())}, so --start/--end must lie within {first}-{last}."
        )


def _check_regions(panel: pd.DataFrame, regions: list[str], start: int, end: int, borders: int) -> None:
    avail = sorted(set(panel["region"]) - {NATIONAL})
    unknown = [r for r in regions if r not in avail]
    if unknown:
        raise ConfigError(f"--region {unknown} not in borders={borders}; available: {', '.join(avail)}.")
    for r in regions:
        years = panel.loc[(panel["region"] == r) & panel["population"].notna(), "year"]
        if years.min() > start or years.max() < end + 1:
            raise ConfigError(
                f"--region {r} is missing in the period {start}-{end} with borders={borders}: its data cover "
                f"{int(years.min())}-{int(years.max())}; choose a start >= {int(years.min())}, or borders=2017 "
                f"(where it is part of a constant unit)."
            )


def smoothing_k(start: int, end: int) -> int:
    """Years averaged at each end: SMOOTH_K, or half the period when it is shorter than 2 x SMOOTH_K."""
    k = min(SMOOTH_K, (end - start + 1) // 2)
    if k < SMOOTH_K:
        logger.info("period %d-%d is short: start and end rates are means of %d year(s), not %d", start, end, k, SMOOTH_K)
    return k


def _rules_table(start: int, end: int, borders: int, skip_breaks: bool, flags: pd.DataFrame) -> pd.DataFrame:
    from kzmig.features.typology import GROUP_LABELS, PROBLEM_RULES, TREND_TYPES

    rows = [("period", f"{start}-{end}: flows of these years; population from 1 Jan {start} to 1 Jan {end + 1}"),
            ("borders", f"harmonised, fixed borders of {borders}"),
            ("smoothing", f"start and end rates are means of the first and last {smoothing_k(start, end)} years "
                          f"(default {SMOOTH_K}, at most half the period; per 1,000 average population)"
                          + ("; years with a break flag on net migration (census re-basing, territory transfers) are "
                             "skipped and the end moves inward (see start_years/end_years)" if skip_breaks else
                             "; break years kept (--keep-breaks)")),
            ("groups", "; ".join(f"{k}: {v}" for k, v in GROUP_LABELS.items())),
            ("group rule", "4 if change < 0; 1 if change >= 0 and cumulative net migration >= 0; 2 if net migration < 0 "
                           "and smoothed rate turned from >= 0 to < 0; 3 otherwise (label names the variant). "
                           + ("Net migration here excludes the break years (net_migration_excl_skipped); the balancing "
                              "identity uses all years (net_migration)" if skip_breaks else "")),
            ("trend types", ", ".join(f"{i + 1} {t}" for i, t in enumerate(TREND_TYPES))),
            ("trend tolerance", f"inflow weakening if end < start - max({REL_TOL} x |start|, {ABS_TOL}); "
                                "outflow intensifying if |end| >= |start|"),
            ("rolling panel", f"windows of {ROLL_WINDOW} years, ends smoothed over {ROLL_K} years"),
            ("shares", "component / change x 100 only when both have the same sign; otherwise NaN with share_reason")]
    used = flags.drop_duplicates("problem").set_index("problem")["indicator"]
    rows += [(f"problem {p}", f"{used.get(p, cols[0])} {op} {bench}" + ("" if p in used.index else " (indicator absent: not flagged)"))
             for p, (cols, op, bench) in PROBLEM_RULES.items()]
    return pd.DataFrame(rows, columns=["item", "rule"])


def read_targets(path: Path) -> pd.DataFrame:
    """Read a targets CSV (``indicator``, ``region``, ``year``, ``target``), naming what is wrong."""
    try:
        t = pd.read_csv(path, dtype={"indicator": "string", "region": "string"})
    except (OSError, ValueError) as exc:
        raise DataFileError(f"--targets {path}: cannot read it as CSV ({exc}).") from None
    need = ["indicator", "region", "year", "target"]
    absent = [c for c in need if c not in t.columns]
    if absent:
        raise DataFileError(f"--targets {path}: column(s) {absent} absent; found {list(t.columns)}; expected {need}.")
    try:
        return t.astype({"year": "int64", "target": "float64"})
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"--targets {path}: 'year' must be whole numbers and 'target' numeric ({exc}).") from None


def build_assessment(panel: pd.DataFrame, long: pd.DataFrame | None, start: int, end: int, borders: int,
                     regions: list[str] | None = None, skip_breaks: bool = True,
                     targets: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """All tables of the assessment, keyed by file name (no I/O).

    ``long`` (the long table of the same view) gives the break flags of net migration, left
    out of the smoothed ends when ``skip_breaks``, and the national external series.
    ``targets`` (indicator, region, year, target) adds ``targets``: actual / target, where
    the indicator is any panel column or rate of :func:`features.indicators.migration_rates`.
    """
    from kzmig.features import typology as ty
    from kzmig.features.attractiveness import AttractivenessIndex
    from kzmig.features.density import build_density
    from kzmig.features.external import external_series
    from kzmig.features.housing import build_housing
    from kzmig.features.indicators import balancing_residual, migration_rates, target_achievement
    from kzmig.features.labour import build_labour
    from kzmig.features.wages import build_wages

    units = regions or sorted(set(panel["region"]) - {NATIONAL})
    k = smoothing_k(start, end)
    breaks = ty.break_years(long) if long is not None else pd.DataFrame(columns=["region", "year", "flag"])
    skip = breaks if skip_breaks else None
    pop = ty.population_change_groups(panel, start, end, k=k, regions=units, skip=skip)
    in_period = breaks.loc[breaks["year"].between(start, end)]
    listed: dict[str, list[str]] = {}
    for r, y, f in zip(in_period["region"], in_period["year"], in_period["flag"]):
        listed.setdefault(r, []).append(f"{int(y)}:{f}")
    pop["breaks_in_period"] = [("; ".join(listed.get(r, []))) for r in pop["region"]]
    trends = ty.migration_trend_types(panel, start, end, k=k, rel_tol=REL_TOL, abs_tol=ABS_TOL, skip=skip)
    trends = trends.loc[trends["region"].isin(units)].reset_index(drop=True)
    win = panel.loc[panel["year"].between(start, end)].reset_index(drop=True)
    ind = migration_rates(win).merge(balancing_residual(panel), on=["region", "year"], how="left")
    att_model = AttractivenessIndex().fit(win)
    att = att_model.transform(win)
    feats = win[["region", "year", "population"]]
    for f in (build_labour(win), build_wages(win, proxy="income"), build_housing(win), build_density(win),
              att[["region", "year", "attractiveness_equal", "attractiveness_pc1"]]):
        feats = feats.merge(f, on=["region", "year"], how="left")
    flags = ty.problem_flags(feats)
    factors = [f for f in FACTORS if f in feats.columns]
    tables = {
        "population_change": pop,
        "migration_trends": trends,
        "trend_panel": ty.rolling_trend_panel(panel.loc[panel["year"] <= end], window=ROLL_WINDOW, k=ROLL_K,
                                              rel_tol=REL_TOL, abs_tol=ABS_TOL, skip=skip),
        "problems": flags.loc[flags["region"].isin(units)].reset_index(drop=True),
        "problem_counts": ty.problem_counts(flags.loc[flags["region"].isin(units)]),
        "factor_terciles": ty.tercile_crosstab(feats.loc[feats["region"].isin(units)], trends, factors, start=start, end=end),
        "indicators": ind,
        "features": feats,
        "attractiveness": att,
        "attractiveness_loadings": att_model.loadings_.assign(
            explained_variance_ratio_pc1=att_model.explained_variance_ratio_),
        "attractiveness_missing": att_model.missing_components_,
        "rules": _rules_table(start, end, borders, skip_breaks, flags),
        "breaks": breaks,
    }
    if long is not None:
        tables["external"], tables["external_status"] = external_series(long)
    if targets is not None:
        rates = migration_rates(panel)
        actual = panel.merge(rates[["region", "year", *[c for c in rates.columns if c not in panel.columns]]],
                             on=["region", "year"], how="left")
        tables["targets"] = target_achievement(actual, targets)
    return tables


def _write(tables: dict[str, pd.DataFrame], out: Path, start: int, end: int, geojson: Path | None) -> None:
    from kzmig import report

    out.mkdir(parents=True, exist_ok=True)
    report.write_tables(tables, out)
    report.write_workbook(tables, out / "assessment.xlsx")
    report.plot_growth_index(tables["population_change"], out / "growth_index.png",
                             title=f"Population growth index {start}-{end} (start = 100)")
    total = tables["migration_trends"].query("flow == 'total'")
    report.plot_tile_map(total, out / "trend_map.png", title=f"Net migration trend type {start}-{end} (schematic)")
    if geojson is not None:
        report.plot_geojson_map(total, geojson, out / "trend_map_geojson.png", title=f"Net migration trend type {start}-{end}")


def assess(
    start: int = typer.Option(2006, "--start", help="First year of the period (flows of this year included)."),
    end: int = typer.Option(2022, "--end", help="Last year of the period (population taken at 1 Jan of end+1)."),
    borders: int = typer.Option(2018, "--borders", help="Fixed borders: 2022 (20 regions), 2018 (17 units) or 2017 (16 units)."),
    data: Path | None = typer.Option(None, "--data", help="Data file (CSV or XLSX, long or wide by year, as kzmig data check accepts); default: the shipped dataset."),
    out: Path = typer.Option(Path("out/assess"), "--out", help="Folder for the tables, workbook and charts."),
    region: list[str] | None = typer.Option(None, "--region", help="Restrict to these units (repeatable); each must have data for the whole period."),
    geojson: Path | None = typer.Option(None, "--geojson", help="GeoJSON of region boundaries for a true choropleth (properties.region = code or name)."),
    targets: Path | None = typer.Option(None, "--targets", help="CSV of targets (indicator, region, year, target); adds targets.csv with actual / target."),
    skip_breaks: bool = typer.Option(True, "--skip-breaks/--keep-breaks", help="Leave years flagged as breaks (census re-basing, territory transfers) out of the smoothed start/end rates."),
) -> None:
    """Four-stage assessment: population-change groups, migration-trend types, problem flags, indicators.

    Writes population_change.csv, migration_trends.csv, problems.csv, indicators.csv,
    attractiveness.csv and more into --out, the same tables as sheets of assessment.xlsx
    (English keys and Russian names), growth_index.png and trend_map.png.
    """
    t0 = time.perf_counter()
    try:
        if end <= start:
            raise ConfigError(f"--end {end} is not after --start {start}; the period needs at least 2 years "
                              "(a start and an end to compare).")
        goals = read_targets(targets) if targets is not None else None
        long, panel = _load(borders, data)
        _check_period(panel, start, end, borders)
        if region:
            _check_regions(panel, list(region), start, end, borders)
        tables = build_assessment(panel, long, start, end, borders, regions=list(region) if region else None,
                                  skip_breaks=skip_breaks, targets=goals)
        _write(tables, Path(out), start, end, geojson)
    except (ConfigError, DataFileError, PanelContractError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    pop = tables["population_change"]
    incomplete = pop.loc[pop["group"].isna(), ["region", "reason"]]
    for rec in incomplete.itertuples(index=False):
        logger.warning("%s: not classified: %s", rec.region, rec.reason)
    logger.info("balancing identity: max |residual| over regions %.0f persons",
                pop["balancing_residual"].abs().max())
    logger.info("assess %d-%d borders=%d: %d tables written to %s in %.1f s",
                start, end, borders, len(tables), out, time.perf_counter() - t0)
