"""``kzmig forecast CONFIG [--out DIR] [--data PATH]``: run a forecasting study."""
from __future__ import annotations

import logging
from pathlib import Path

import typer

logger = logging.getLogger(__name__)


def forecast(
    config: Path = typer.Argument(..., help="Study config, e.g. experiments/net_migration.toml."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (new or empty); default runs/<study>/<time>-<sha>."),
    data: Path | None = typer.Option(None, "--data", help="Data file (CSV or XLSX, long or wide by year, as kzmig data check accepts); default: the shipped dataset."),
) -> None:
    """Backtest, fit, forecast and reconcile the study's models; write the run folder.

    Writes forecasts.csv (long table, a national row per target and year, reconciled),
    forecasts_base.csv, backtest_predictions.csv, backtest_metrics.csv, reconciliation.csv,
    reconciliation_backtest.csv, population_forecasts.csv (with [population]), fit_report.csv,
    config.toml, metadata.json, run.log and models/<target>/<model>/.
    """
    from kzmig.core.errors import ConfigError, DataFileError, PanelContractError
    from kzmig.forecast.config import load_config
    from kzmig.forecast.runner import new_run_dir, run_study

    handler = None
    try:
        run_dir = new_run_dir(load_config(config), out)
        handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)  # run.log keeps the INFO trail even without --verbose
        run_study(config, out=run_dir, data=data, progress=True)
    except (ConfigError, DataFileError, PanelContractError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
    typer.echo(f"forecast run written to {run_dir}")
