"""``kzmig data``: build the shipped dataset and check data files."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from kzmig.core.errors import DataFileError, PanelContractError

app = typer.Typer(help="Build the shipped dataset, or check a data file against the contract.", no_args_is_help=True)
logger = logging.getLogger(__name__)
console = Console(width=120) if not Console().is_terminal else Console()


def coverage(long: pd.DataFrame) -> pd.DataFrame:
    """One row per variable: regions, first and last year, values, and holes inside the spans.

    ``holes`` counts region-years missing between a region's first and last year of that variable.
    """
    rows = []
    for var, g in long.groupby("variable", sort=True):
        spans = g.groupby("region")["year"].agg(["min", "max", "size"])
        holes = int(((spans["max"] - spans["min"] + 1) - spans["size"]).sum())
        flagged = int((g.get("flag", pd.Series("", index=g.index)).fillna("") != "").sum())
        rows.append({"variable": var, "regions": int(g["region"].nunique()), "first_year": int(g["year"].min()),
                     "last_year": int(g["year"].max()), "values": len(g), "holes": holes, "flagged": flagged})
    return pd.DataFrame(rows)


@app.command()
def check(
    path: Path | None = typer.Argument(None, help="CSV or XLSX file (long, or wide by year). Default: the shipped data."),
) -> None:
    """Validate a data file and print its coverage (variables x regions x years).

    Exits with status 1 on the first class of error, listing every offending row of that class.
    """
    from kzmig.features.dataset import OBSERVATIONS, read_observations
    from kzmig.features.io import read_user_table
    from kzmig.features.panel import validate_panel

    try:
        if path is None:
            long = validate_panel(read_observations(OBSERVATIONS), source=str(OBSERVATIONS))
        else:
            long = read_user_table(path)
    except (DataFileError, PanelContractError) as exc:
        console.print(f"[bold red]error[/]: {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    cov = coverage(long)
    table = Table(title=f"coverage of {path or OBSERVATIONS}")
    for col in cov.columns:
        table.add_column(col, justify="left" if col == "variable" else "right")
    for rec in cov.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)
    console.print(f"[green]ok[/]: {len(long)} rows, {long['variable'].nunique()} variables, "
                  f"{long['region'].nunique()} regions, years {long['year'].min()}-{long['year'].max()}")


@app.command()
def build(
    raw: Path = typer.Option(None, help="Folder of raw official statistics (default: ../shared/data/raw)."),
    out: Path = typer.Option(None, help="Output data folder (default: the project's data/)."),
) -> None:
    """Rebuild data/ from the raw official statistics (deterministic; atomic writes)."""
    from kzmig.features.build import RAW_DEFAULT, build as build_dataset
    from kzmig.features.regions import DATA_DIR

    try:
        written = build_dataset(raw or RAW_DEFAULT, out or DATA_DIR)
    except DataFileError as exc:
        console.print(f"[bold red]error[/]: {exc}", soft_wrap=True)
        raise typer.Exit(code=1) from None
    for _name, p in written.items():
        console.print(f"wrote {p}")
