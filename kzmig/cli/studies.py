"""``kzmig regress``, ``kzmig forecast`` and ``kzmig all``: run a study config into a run folder."""
from __future__ import annotations

from pathlib import Path

import typer

from kzmig.cli._common import out_console, print_notes, progress_display, run_folder
from kzmig.core.errors import study_boundary

REGRESS_ARG = typer.Argument(..., help="Regression study TOML, e.g. experiments/migration_factors.toml.")
FORECAST_ARG = typer.Argument(..., help="Forecasting study TOML, e.g. experiments/net_migration.toml.")
DATA_OPT = typer.Option(None, "--data", help="Data file (CSV, TSV or XLSX, long or wide by year) or dataset version "
                        "folder (kzmig data fetch); default: the shipped dataset.")
OVERWRITE_OPT = typer.Option(False, "--overwrite", help="Replace a non-empty --out when the new run is complete.")
OUT_OPT = typer.Option(None, "--out", help="Run folder (new or empty); default runs/<study>/<run id>.")
BACKEND_OPT = typer.Option(None, "--backend", metavar="local|dask",
                           help="Where backtests run: local (process pool) or dask; default: the config's "
                                "execution table, else local. The tables are the same either way.")
WORKERS_OPT = typer.Option(None, "--workers", help="Worker processes (local pool, or the Dask LocalCluster); "
                                                   "default: the config's execution table, else the machine's cores.")
SCHEDULER_OPT = typer.Option(None, "--scheduler", metavar="ADDRESS",
                             help="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (implies "
                                  "--backend dask; its workers need the same kzmig installed).")


LANG_OPT = typer.Option(None, "--lang", metavar="ru|en",
                        help="Language of the report, workbook and charts; default: the config's \\[run] lang, "
                             "else Russian.")


CHARTS_OPT = typer.Option(None, "--charts", metavar="all|report",
                          help="Planning charts to draw: all (a fan chart of every target and region) or report "
                               "(the charts the report shows only; 43 of 91 on the main job); default: the "
                               "config's \\[run] charts, else all.")


def _run(kind: str, config: Path, out: Path | None, data: Path | None, overwrite: bool,
         execution: dict | None = None, lang: str | None = None, charts: str | None = None) -> Path:
    from kzmig.config import load_config, with_execution, with_run_options
    from kzmig.reporting import write
    from kzmig.studies import STUDIES

    cfg = with_run_options(with_execution(load_config(config, kind=kind), execution or {}),
                           {"lang": lang, "charts": charts})
    name = cfg.name
    with run_folder(out, study=name, overwrite=overwrite) as run:
        with progress_display() as progress, run.step(kind), study_boundary(str(config)):
            result = STUDIES[kind](cfg, data, progress=progress)
        with run.step("save"):
            write(result, run.path, stamp=run.stamp)
        path = run.complete(result.manifest())
    print_notes(result.warnings)
    out_console().print(f"{kind} {name!r} written to {path}", markup=False)
    return path


def regress(
    config: Path = REGRESS_ARG,
    out: Path | None = OUT_OPT,
    data: Path | None = DATA_OPT,
    overwrite: bool = OVERWRITE_OPT,
) -> None:
    """Estimate the factors-of-migration panel models of a study config.

    Writes coefficients.csv, models.txt, models.xlsx, hausman.csv, wild_bootstrap.csv,
    marginal_effects.csv, confusion.csv, terciles.csv, skipped.csv, coefficients.png,
    the fitted models (models/<target>/<name>/) and manifest.json.
    """
    _run("regress", config, out, data, overwrite)


def forecast(
    config: Path = FORECAST_ARG,
    out: Path | None = OUT_OPT,
    data: Path | None = DATA_OPT,
    overwrite: bool = OVERWRITE_OPT,
    backend: str | None = BACKEND_OPT,
    workers: int | None = WORKERS_OPT,
    scheduler: str | None = SCHEDULER_OPT,
) -> None:
    """Backtest, fit, forecast and reconcile the study's models; write the run folder.

    Writes forecasts.csv (long table, a national row per target and year, reconciled),
    forecasts_base.csv, backtest_predictions.csv, backtest_metrics.csv, reconciliation.csv,
    reconciliation_backtest.csv, population_forecasts.csv (with a population table), fit_report.csv,
    a fan chart per target, config.toml, manifest.json, run.log and models/<target>/<model>/.
    """
    _run("forecast", config, out, data, overwrite, {"backend": backend, "workers": workers, "address": scheduler})


def run(
    config: Path | None = typer.Argument(None, help="Run TOML, e.g. experiments/baseline.toml."),
    example: str | None = typer.Option(None, "--example", help="A config shipped with kzmig, by name (see kzmig config list)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (new or empty); default runs/<run name>/<run id>."),
    data: Path | None = DATA_OPT,
    overwrite: bool = OVERWRITE_OPT,
    backend: str | None = BACKEND_OPT,
    workers: int | None = WORKERS_OPT,
    scheduler: str | None = SCHEDULER_OPT,
    lang: str | None = LANG_OPT,
    charts: str | None = CHARTS_OPT,
) -> None:
    """Run a planning config: assessment, regression, forecasts, specialists, scenarios, targets,
    and the planning workbook, charts and report, into one run folder.

    Any study config (forecast, regress, assess) runs too: its kind is read from its tables.
    """
    from kzmig.config import detect_kind
    from kzmig.config.load import read_toml

    config = _example_or_path(config, example)
    kind = detect_kind(read_toml(config)[0]) or "run"
    _run(kind, config, out, data, overwrite, {"backend": backend, "workers": workers, "address": scheduler}, lang,
         charts)


def _example_or_path(config: Path | None, example: str | None) -> Path:
    from kzmig.core.errors import ConfigError
    from kzmig.core.resources import example_configs

    if (config is None) == (example is None):
        raise ConfigError("give either a config file or --example NAME (not both); shipped examples: "
                          + ", ".join(example_configs()) + ".")
    if example is None:
        return config
    shipped = example_configs()
    if example not in shipped:
        raise ConfigError(f"--example {example!r} is not a shipped config; choose one of {', '.join(shipped)}.")
    return shipped[example]
