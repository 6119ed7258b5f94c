"""``kzmig assess``: the four-stage assessment, from options or a config file."""
from __future__ import annotations

from pathlib import Path

import typer

from kzmig.cli._common import out_console, progress_display, run_folder
from kzmig.core.errors import study_boundary


def assess(
    config: Path | None = typer.Option(None, "--config", help="Assessment TOML; the options below override its values."),
    start: int | None = typer.Option(None, "--start", help="First year of the period, data.first_year (default 2006)."),
    end: int | None = typer.Option(None, "--end", help="Last year of the period, data.last_year (default 2022)."),
    borders: int | None = typer.Option(None, "--borders", help="Fixed borders: 2022 (20 regions), 2018 (17 units) or 2017 (16 units)."),
    method: str | None = typer.Option(None, "--method", help="'default' (smoothed ends, break years skipped) or 'paper' (the source's conventions)."),
    k: int | None = typer.Option(None, "--k", help="Years averaged at each end of the period (default 3)."),
    rel_tol: float | None = typer.Option(None, "--rel-tol", help="'Clearly lower' inflow: share of the start rate (default 0.2)."),
    abs_tol: float | None = typer.Option(None, "--abs-tol", help="'Clearly lower' inflow: floor in rate points per 1,000 (default 0.5)."),
    region: list[str] | None = typer.Option(None, "--region", help="Restrict to these units (repeatable); each must have data for the whole period."),
    geojson: Path | None = typer.Option(None, "--geojson", help="GeoJSON of region boundaries for a true choropleth (properties.region = code or name)."),
    targets: Path | None = typer.Option(None, "--targets", help="CSV of targets (indicator, region, year, target); adds targets.csv with actual / target."),
    skip_breaks: bool | None = typer.Option(None, "--skip-breaks/--keep-breaks", help="Leave years flagged as breaks out of the smoothed start/end rates (data.breaks = \"drop\", the default) or keep them."),
    data: Path | None = typer.Option(None, "--data", help="Data file (CSV, TSV or XLSX, long or wide by year); default: the shipped dataset."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (new or empty); default runs/assess/<run id>."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out when the new run is complete."),
) -> None:
    """Four-stage assessment: population-change groups, migration-trend types, problem flags, indicators.

    Writes population_change.csv, migration_trends.csv, problems.csv, indicators.csv,
    attractiveness.csv and more, the same tables as sheets of assessment.xlsx (English keys
    and Russian names), growth_index.png, trend_map.png and manifest.json into the run folder.
    """
    from kzmig.config import assess_config
    from kzmig.config.load import ASSESS_OPTIONS
    from kzmig.reporting import write
    from kzmig.studies.assess import assess as run_assess

    given = {"--start": start, "--end": end, "--borders": borders, "--method": method, "--k": k,
             "--rel-tol": rel_tol, "--abs-tol": abs_tol, "--region": list(region) if region else None,
             "--geojson": str(geojson) if geojson else None, "--targets": str(targets) if targets else None,
             "--skip-breaks/--keep-breaks": None if skip_breaks is None else "drop" if skip_breaks else "keep"}
    cfg = assess_config(config, {ASSESS_OPTIONS[opt]: v for opt, v in given.items() if v is not None})
    with run_folder(out, study=cfg.name, overwrite=overwrite) as run:
        with progress_display() as progress, run.step("assess"), study_boundary(str(config or "")):
            result = run_assess(cfg, data, progress=progress)
        with run.step("save"):
            write(result, run.path, stamp=run.stamp)
        path = run.complete(result.manifest())
    pop = result.tables["population_change"]
    out_console().print(f"convention: {result.metadata['convention']}", markup=False)
    sens = result.tables["sensitivity"]
    out_console().print(f"{len(sens)} class(es) differ between the default and the paper method (sensitivity.csv)",
                        markup=False)
    out_console().print(f"assessment {cfg.data.first_year}-{cfg.data.last_year} (borders {cfg.data.borders}, "
                        f"method {cfg.method}): "
                        f"{int(pop['group'].notna().sum())} of {len(pop)} units classified; "
                        f"{len(result.tables)} tables written to {path}", markup=False)
