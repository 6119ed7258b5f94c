"""The four-stage assessment (METHOD.md sections 1-4 and 6) as a library study.

``assess(config, data=None, *, progress=None) -> StudyResult`` computes every table and the
data of every chart of the assessment without writing anything;
``kzmig.reporting.save(result, folder)`` draws and writes them. The command ``kzmig assess``
only builds the config from its options, calls this and saves.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from kzmig.config.assess_study import AssessStudyConfig
from kzmig.core.errors import ConfigError, DataError, DataFileError, PanelContractError
from kzmig.features.data.dataset import to_wide
from kzmig.features.assessment.paper import PAPER_RATE_BASE, paper_convention, paper_population_groups, paper_trend_types
from kzmig.features.data.regions import NATIONAL
from kzmig.features.assessment.sensitivity import method_sensitivity
from kzmig.features.builders.registry import ASSESSMENT_BUILDERS, get_builder
from kzmig.forecast.planning.targets import read_targets  # the one targets reader (also the older layout)
from kzmig.studies.base import Document, Progress, StudyResult, chart, config_meta, no_progress
from kzmig.studies.data import DataArg, open_data


logger = logging.getLogger(__name__)

FACTORS = ("unemployment_rate_pct", "wage_rel_national_pct", "income_rel_national_pct", "new_housing_m2_per_1000",
           "attractiveness_equal", "pop_density_km2")
#: what the assessment cannot do without: need -> variables that supply it
REQUIRED = {"population at 1 January": ("population",),
            "natural increase (or births and deaths)": ("natural_increase",)}


def _check_period(panel: pd.DataFrame, start: int, end: int, borders: int) -> None:
    reg = panel.loc[panel["region"] != NATIONAL]
    flows = reg.dropna(subset=["net_migration", "natural_increase"])["year"]
    pop = reg.dropna(subset=["population"])["year"]
    if flows.empty or pop.empty:
        raise DataError(f"borders={borders}: no region has both net migration and population in the data; "
                        "the assessment needs population at 1 January and natural increase per region.")
    first, last = int(max(flows.min(), pop.min())), int(min(flows.max(), pop.max() - 1))
    if start < first or end > last:
        raise ConfigError(
            f"period {start}-{end} is outside the data: with borders={borders}, net migration and natural "
            f"increase cover {int(flows.min())}-{int(flows.max())} and population (1 Jan) "
            f"{int(pop.min())}-{int(pop.max())}, so start/end must lie within {first}-{last}."
        )


def _check_regions(panel: pd.DataFrame, regions: list[str], start: int, end: int, borders: int) -> None:
    avail = sorted(set(panel["region"]) - {NATIONAL})
    unknown = [r for r in regions if r not in avail]
    if unknown:
        raise ConfigError(f"regions {unknown} not in borders={borders}; available: {', '.join(avail)}.")
    for r in regions:
        years = panel.loc[(panel["region"] == r) & panel["population"].notna(), "year"]
        if years.min() > start or years.max() < end + 1:
            raise ConfigError(
                f"region {r} is missing in the period {start}-{end} with borders={borders}: its data cover "
                f"{int(years.min())}-{int(years.max())}; choose a start >= {int(years.min())}, or borders=2017 "
                f"(where it is part of a constant unit)."
            )


def smoothing_k(start: int, end: int, k: int) -> int:
    """Years averaged at each end: ``k``, or half the period when it is shorter than ``2 k``."""
    used = min(k, (end - start + 1) // 2)
    if used < k:
        logger.info("period %d-%d is short: start and end rates are means of %d year(s), not %d", start, end, used, k)
    return used


def read_geojson(path: Path) -> dict:
    """A GeoJSON FeatureCollection of region boundaries, read when the study runs (not when it is saved).

    Raises
    ------
    DataFileError
        The file cannot be read, is not JSON, or holds no ``features`` list.
    """
    try:
        gj = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(gj.get("features"), list):
            raise ValueError("no 'features' list")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataFileError(f"{path}: not a readable GeoJSON FeatureCollection ({exc}).") from None
    return gj


def convention(cfg: AssessStudyConfig) -> str:
    """The conventions of the configured method, in one sentence (printed, and in ``rules.csv``)."""
    start, end = cfg.data.years()
    if cfg.method == "paper":
        return paper_convention(start, end)
    return (f"default: growth index 1 Jan {start} -> 1 Jan {end + 1} (the {start}-{end} flows close "
            f"the balance); start and end rates: means of {cfg.smooth_k} years per 1,000 average population"
            + (", break years skipped" if cfg.data.breaks == "drop" else ", break years kept")
            + "; groups from cumulative net migration and the smoothed rates")


def _rules_table(cfg: AssessStudyConfig, k: int, flags: pd.DataFrame) -> pd.DataFrame:
    from kzmig.features.assessment.problems import PROBLEM_RULES
    from kzmig.features.assessment.typology import GROUP_LABELS, TREND_TYPES

    start, end = cfg.data.years()
    rows = [("method", convention(cfg)),
            ("period", f"{start}-{end}: flows of these years; population from 1 Jan {start} "
                       f"to 1 Jan {end + 1}" + (" (default method; the paper method's index stops at 1 Jan "
                                                    f"{end})" if cfg.method != "paper" else
                                                    f" in the default method; here 1 Jan {start} -> 1 Jan {end}")),
            ("borders", f"harmonised, fixed borders of {cfg.data.borders}"),
            ("smoothing", f"start and end rates are means of the first and last {k} years "
                          f"(configured {cfg.smooth_k}, at most half the period; per 1,000 average population)"
                          + ("; years with a break flag on net migration (census re-basing, territory transfers) are "
                             "skipped and the end moves inward (see start_years/end_years)" if cfg.data.breaks == "drop" else
                             "; break years kept (data.breaks = \"keep\")")),
            ("groups", "; ".join(f"{g}: {v}" for g, v in GROUP_LABELS.items())),
            ("group rule", "4 if change < 0; 1 if change >= 0 and cumulative net migration >= 0; 2 if net migration < 0 "
                           "and smoothed rate turned from >= 0 to < 0; 3 otherwise (label names the variant). "
                           + ("Net migration here excludes the break years (net_migration_excl_skipped); the balancing "
                              "identity uses all years (net_migration)" if cfg.data.breaks == "drop" else "")),
            ("trend types", ", ".join(f"{i + 1} {t}" for i, t in enumerate(TREND_TYPES))),
            ("trend tolerance", f"inflow weakening if end < start - max({cfg.rel_tol} x |start|, {cfg.abs_tol}); "
                                "outflow intensifying if |end| >= |start|"),
            ("rolling panel", f"windows of {cfg.roll_window} years, ends smoothed over {cfg.roll_k} years"),
            ("shares", "component / change x 100 only when both have the same sign; otherwise NaN with share_reason")]
    rows += [(f"problem {p}", _indicator_years(flags, p, cols, op, bench)) for p, (cols, op, bench) in PROBLEM_RULES.items()]
    return pd.DataFrame(rows, columns=["item", "rule"])


def _year_spans(years: list[int]) -> str:
    """``[2006, 2007, 2008, 2010]`` -> ``"2006-2008, 2010"``."""
    spans: list[list[int]] = []
    for y in sorted(years):
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)


def _indicator_years(flags: pd.DataFrame, problem: str, cols: tuple, op: str, bench: Any) -> str:
    """The rule of one problem with the years each indicator was used (a fallback is named)."""
    f = flags.loc[flags["problem"] == problem]
    if f.empty:
        return f"{cols[0]} {op} {bench} (indicator absent: not flagged)"
    by_year = f.loc[f["value"].notna()].groupby("year")["indicator"].first()
    parts = [f"{ind} {op} {bench} in {_year_spans([int(y) for y in by_year.index[by_year == ind]])}"
             + (" (fallback: no regional value of " + cols[0] + " in those years)" if ind != cols[0] else "")
             for ind in dict.fromkeys(c for c in cols if c in set(by_year))]
    empty = sorted(set(int(y) for y in f["year"]) - set(int(y) for y in by_year.index))
    if empty:
        parts.append(f"no value in {_year_spans(empty)}")
    return "; ".join(parts)


def _stage4_tables(flags, feats, trends, factors, units, start, end, notes) -> dict[str, pd.DataFrame]:
    """Problem counts and the factor-tercile table, when the data hold any indicator and factor."""
    from kzmig.features.assessment.problems import problem_counts, tercile_crosstab

    out = {}
    if len(flags):
        out["problem_counts"] = problem_counts(flags.loc[flags["region"].isin(units)])
    if factors:
        out["factor_terciles"] = tercile_crosstab(feats.loc[feats["region"].isin(units)], trends, factors,
                                                     start=start, end=end)
    else:
        notes.append("stage 4: no factor column for the tercile table (factor_terciles.csv not written)")
    return out


def stage2_tables(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Stage 2 (external migration) tables the data can fill: yearly flows since 1991, CIS /
    non-CIS, partner countries, composition by education and specialty, brain drain."""
    from kzmig.features.assessment.composition import brain_drain_table, composition_table
    from kzmig.features.assessment.external import cis_split_table, external_flows_table, partner_table

    out = {"external_flows": external_flows_table(long), "external_cis_split": cis_split_table(long),
           "external_partners": partner_table(long), "migrant_composition": composition_table(long),
           "brain_drain": brain_drain_table(long)}
    return {k: v for k, v in out.items() if len(v)}


def assessment_tables(cfg: AssessStudyConfig, panel: pd.DataFrame, long: pd.DataFrame, targets: pd.DataFrame | None = None,
                      notes: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """All tables of the assessment, keyed by file name (no I/O).

    A feature family whose inputs the data lack (a user table with population and flows only)
    is left out of stage 4 with a line appended to ``notes``; stages 1-3 do not need it.

    ``long`` (the long table of the same view) gives the break flags of net migration, left
    out of the smoothed ends when ``cfg.data.breaks == "drop"``, and the national external series.
    ``targets`` (indicator, region, year, target) adds ``targets``: actual / target, where
    the indicator is any panel column or rate of :func:`kzmig.features.assessment.indicators.migration_rates`.
    """
    from kzmig.features.assessment import typology as ty
    from kzmig.features.assessment.problems import problem_flags
    from kzmig.features.assessment.external import external_series
    from kzmig.features.assessment.indicators import balancing_residual, migration_rates, target_achievement

    notes = [] if notes is None else notes
    start, end = cfg.data.years()
    units = list(cfg.regions) if cfg.regions else sorted(set(panel["region"]) - {NATIONAL})
    k = smoothing_k(start, end, cfg.smooth_k)
    breaks = ty.break_years(long)
    skip = breaks if cfg.data.breaks == "drop" else None
    default_pop = ty.population_change_groups(panel, start, end, k=k, regions=units, skip=skip)
    default_trends = ty.migration_trend_types(panel, start, end, k=k, rel_tol=cfg.rel_tol, abs_tol=cfg.abs_tol,
                                              skip=skip)
    default_trends = default_trends.loc[default_trends["region"].isin(units)].reset_index(drop=True)
    paper_pop = paper_population_groups(panel, start, end, regions=units)
    paper_trends = paper_trend_types(panel, start, end, rel_tol=cfg.rel_tol,
                                     abs_tol=cfg.abs_tol * PAPER_RATE_BASE / 1000)
    paper_trends = paper_trends.loc[paper_trends["region"].isin(units)].reset_index(drop=True)
    pop, trends = (paper_pop, paper_trends) if cfg.method == "paper" else (default_pop, default_trends)
    pop = pop.copy()
    in_period = breaks.loc[breaks["year"].between(start, end)]
    listed: dict[str, list[str]] = {}
    for r, y, f in zip(in_period["region"], in_period["year"], in_period["flag"]):
        listed.setdefault(r, []).append(f"{int(y)}:{f}")
    pop["breaks_in_period"] = [("; ".join(listed.get(r, []))) for r in pop["region"]]
    win = panel.loc[panel["year"].between(start, end)].reset_index(drop=True)
    ind = migration_rates(win).merge(balancing_residual(panel), on=["region", "year"], how="left")
    feats = win[["region", "year", "population"]]
    diagnostics: dict[str, pd.DataFrame] = {}
    for name in ASSESSMENT_BUILDERS:  # the one registry (kzmig.features.builders.registry), as the regression uses it
        try:
            built = get_builder(name).build(win)
        except PanelContractError as err:  # the data lack this family's inputs: stage 4 goes without it
            notes.append(f"stage 4: {name} features not built: {err}")
            logger.warning("%s", notes[-1])
            continue
        diagnostics.update(built.tables)
        feats = feats.merge(built.columns, on=["region", "year"], how="left")
    factors = [f for f in FACTORS if f in feats.columns]
    try:
        flags = problem_flags(feats)
    except PanelContractError as err:  # no indicator of any problem rule: stage 4 has no flags
        notes.append(f"stage 4: no problem flags: {err}")
        logger.warning("%s", notes[-1])
        flags = pd.DataFrame(columns=["region", "year", "problem", "indicator", "value", "benchmark", "flag"])
    tables = {
        "population_change": pop,
        "migration_trends": trends,
        "trend_panel": ty.rolling_trend_panel(panel.loc[panel["year"] <= end], window=cfg.roll_window, k=cfg.roll_k,
                                              rel_tol=cfg.rel_tol, abs_tol=cfg.abs_tol, skip=skip),
        "problems": flags.loc[flags["region"].isin(units)].reset_index(drop=True),
        "indicators": ind,
        **_stage4_tables(flags, feats, trends, factors, units, start, end, notes),
        "features": feats,
        **diagnostics,
        "sensitivity": method_sensitivity(default_pop, paper_pop, default_trends, paper_trends),
        "rules": _rules_table(cfg, k, flags),
        "breaks": breaks,
    }
    tables["external"], tables["external_status"] = external_series(long)
    tables.update(stage2_tables(long))
    if targets is not None:
        rates = migration_rates(panel)
        actual = panel.merge(rates[["region", "year", *[c for c in rates.columns if c not in panel.columns]]],
                             on=["region", "year"], how="left")
        tables["targets"] = target_achievement(actual, targets)
    return tables


def assess(config: AssessStudyConfig, data: DataArg = None, *, progress: Progress | None = None) -> StudyResult:
    """Run the four-stage assessment.

    Parameters
    ----------
    config : AssessStudyConfig
        Validated config (:mod:`kzmig.config`): period, borders, regions, smoothing and
        tolerances, break treatment, targets file, optional GeoJSON of boundaries.
    data : None, path or DataFrame
        The shipped dataset (None), a user file, or a long table (see :func:`open_data`).
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    StudyResult
        Tables (population_change, migration_trends under ``config.method``; sensitivity: every
        region whose class differs between the default and the paper method, with both
        methods' inputs; trend_panel, problems, indicators ...),
        the workbook ``assessment.xlsx`` (English keys and Russian names, rendered when saved), and
        the charts ``growth_index`` and ``trend_map`` (and ``trend_map_geojson`` with a GeoJSON).

    Raises
    ------
    ConfigError
        A period outside the data, or regions that do not exist in the borders or period.
    DataError
        Data without population or natural increase, or that cannot be read.
    """
    progress = progress or no_progress
    cfg = config
    start, end = cfg.data.years()
    goals = read_targets(Path(cfg.targets)) if cfg.targets else None
    source = open_data(data)
    source.require(REQUIRED, study="assessment")
    progress("assessment: load", 0, 3)
    long = source.long("harmonised", cfg.data.borders)
    panel = to_wide(long)
    for col in ("population", "natural_increase", "net_migration"):
        if col not in panel.columns:
            raise DataError(f"{source.label}: no {col.replace('_', ' ')} can be formed in borders={cfg.data.borders} "
                            f"(variable {col!r} is absent after harmonising); check the regions and years of the file.")
    _check_period(panel, start, end, cfg.data.borders)
    if cfg.regions:
        _check_regions(panel, list(cfg.regions), start, end, cfg.data.borders)
    progress("assessment: tables", 1, 3)
    notes: list[str] = []
    tables = assessment_tables(cfg, panel, long, goals, notes)
    progress("assessment: charts", 2, 3)
    total = tables["migration_trends"].query("flow == 'total'")
    # titles are the plotters' own (in the language the result is written in), naming the period
    figures = {"growth_index": chart("growth_index", tables["population_change"], period=(start, end)),
               "trend_map": chart("tile_map", total, period=(start, end))}
    if "external_flows" in tables:
        figures["external_flows"] = chart("external_flows", tables["external_flows"])
    if "external_partners" in tables:
        figures["external_partners"] = chart("partner_flows", tables["external_partners"],
                                             non_cis=tables.get("external_cis_split"))
    if cfg.geojson:
        figures["trend_map_geojson"] = chart("geojson_map", total, read_geojson(Path(cfg.geojson)),
                                             source=str(cfg.geojson), period=(start, end))
    pop = tables["population_change"]
    warnings = tuple([f"{rec.region}: not classified: {rec.reason}"
                      for rec in pop.loc[pop["group"].isna(), ["region", "reason"]].itertuples(index=False)] + notes)
    for w in warnings:
        logger.warning("%s", w)
    logger.info("balancing identity: max |residual| over regions %.0f persons", pop["balancing_residual"].abs().max())
    progress("assessment: done", 3, 3)
    return StudyResult(
        study="assess", name=cfg.name, tables=tables, figures=figures,
        documents={"assessment.xlsx": Document("workbook", (tables,))},
        warnings=warnings,
        metadata={"config": config_meta(cfg), "data": source.meta(), "method": cfg.method,
                  "convention": convention(cfg)},
    )

