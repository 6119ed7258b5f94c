"""The ``kzmig`` command line. Only this entry point configures logging handlers."""
from __future__ import annotations

import logging

import typer
from rich.logging import RichHandler

from kzmig.commands import all as all_cmd
from kzmig.commands import assess as assess_cmd
from kzmig.commands import data
from kzmig.commands import forecast as forecast_cmd
from kzmig.commands.regress import regress

app = typer.Typer(
    help="kzmig: regional migration econometrics and forecasting for Kazakhstan.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.command("assess")(assess_cmd.assess)
app.command("regress")(regress)
app.command("forecast")(forecast_cmd.forecast)
app.command("all")(all_cmd.run_all)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages.")) -> None:
    """Set up logging for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
        force=True,
    )
