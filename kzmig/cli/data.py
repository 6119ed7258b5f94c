"""``kzmig data``: build the shipped dataset, and check a data file against the contract."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kzmig.cli._common import out_console

app = typer.Typer(help="Build the shipped dataset, or check a data file against the contract.", no_args_is_help=True)


@app.command()
def check(
    path: Path | None = typer.Argument(None, help="CSV, TSV or XLSX file (long, or wide by year). Default: the shipped data."),
) -> None:
    """Validate a data file and print its coverage (variables x regions x years).

    Exits with status 2 on the first class of error, listing every offending row of that class.
    """
    from kzmig.features.dataset import coverage
    from kzmig.studies.data import open_data

    source = open_data(path)
    long = source.observations
    cov = coverage(long)
    console = out_console()
    table = Table(title=f"coverage of {source.label}")
    for col in cov.columns:
        table.add_column(col, justify="left" if col == "variable" else "right")
    for rec in cov.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)
    console.print(f"ok: {len(long)} rows, {long['variable'].nunique()} variables, "
                  f"{long['region'].nunique()} regions, years {long['year'].min()}-{long['year'].max()}", markup=False)


@app.command()
def build(
    raw: Path = typer.Option(None, help="Folder of raw official statistics (default: ../shared/data/raw beside the checkout)."),
    out: Path = typer.Option(None, help="Output data folder (default: the package's data folder)."),
) -> None:
    """Rebuild data/ from the raw official statistics (deterministic; atomic writes)."""
    from kzmig.features.build import RAW_DEFAULT
    from kzmig.features.build import build as build_dataset
    from kzmig.features.regions import DATA_DIR

    written = build_dataset(raw or RAW_DEFAULT, out or DATA_DIR)
    console = out_console()
    for p in written.values():
        console.print(f"wrote {p}", markup=False)
