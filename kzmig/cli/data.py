"""``kzmig data``: build the shipped dataset, check a data file, list the regions, fetch a new version from the official APIs, diff two versions."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kzmig.cli._common import out_console
from kzmig.core.errors import study_boundary
from kzmig.features.ingest.fetch.catalog import SERIES

app = typer.Typer(help="Build the shipped dataset, check a data file, list the regions and their spellings, fetch a new version, compare versions.",
                  no_args_is_help=True)


@app.command()
def check(
    path: Path | None = typer.Argument(None, help="CSV, TSV or XLSX file (long, or wide by year). Default: the shipped data."),
    decimal: str | None = typer.Option(None, "--decimal", help="Decimal mark of the file's numbers: '.' or ','. "
                                       "Default: found from the file (a ';'-separated file has decimal commas)."),
    thousands: str | None = typer.Option(None, "--thousands", help="Thousands separator: ' ' (any space, also "
                                         "non-breaking), ',', '.' or '' (none). Default: found from the file."),
) -> None:
    """Validate a data file and print its coverage (variables x regions x years).

    Exits with status 2 listing every kind of problem found, each with its rows. The table's
    caption says how a file was read (separator, decimal mark, thousands separator).
    """
    from kzmig.features.data.dataset import coverage
    from kzmig.studies.data import open_data

    with study_boundary(str(path or "")):
        if (decimal is not None or thousands is not None) and (path is None or path.is_dir()):
            from kzmig.core.errors import ConfigError

            raise ConfigError("--decimal and --thousands apply to a user file (CSV, TSV or XLSX), not to the "
                              "shipped data or a dataset version folder.")
        source = open_data(path, decimal=decimal, thousands=thousands)
    long = source.observations
    cov = coverage(long)
    console = out_console()
    read_as = long.attrs.get("read_as")
    caption = None
    if read_as:
        how = "a workbook" if read_as["separator"].startswith("none") else f"{read_as['separator']}-separated"
        caption = f"read as {how}, decimal {read_as['decimal']}, thousands separator {read_as['thousands']}"
    table = Table(title=f"coverage of {source.label}", caption=caption)
    for col in cov.columns:
        table.add_column(col, justify="left" if col == "variable" else "right")
    for rec in cov.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)
    console.print(f"ok: {len(long)} rows, {long['variable'].nunique()} variables, "
                  f"{long['region'].nunique()} regions, years {long['year'].min()}-{long['year'].max()}", markup=False)


@app.command()
def regions(
    region: str | None = typer.Argument(None, help="A region code or any spelling of it: list only its spellings."),
) -> None:
    """List the region codes, their ISO 3166-2 and KATO codes and names, and every accepted spelling.

    Any of these spellings may stand in a data file's ``region`` column (or a targets table);
    case, hyphens, dots, quotes and diacritics do not matter.
    """
    from kzmig.core.errors import DataError
    from kzmig.features.data.region_names import region_table, resolve, spellings_of, suggest

    codes = None
    if region is not None:
        code = resolve(region)
        if code is None:
            hint = suggest(region)
            raise DataError(f"region {region!r} is unknown" + (f"; closest known: {hint!r}" if hint else "")
                            + ". Run `kzmig data regions` without an argument for the list.")
        codes = [code]
    tab = region_table()
    if codes is not None:
        tab = tab[tab["region"].isin(codes)]
    console = out_console()
    table = Table(title="regions")
    for col in tab.columns:
        table.add_column(col)
    for rec in tab.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)
    for code in tab["region"]:
        console.print(f"{code}: " + "; ".join(spellings_of(code)), markup=False, highlight=False)
    console.print("Case, hyphens, spaces, dots, quotes and diacritics are ignored; an unknown name gets the "
                  "closest suggestion.", markup=False)


@app.command()
def build(
    raw: Path = typer.Option(None, help="Folder of raw official statistics (default: ../shared/data/raw beside the checkout)."),
    out: Path = typer.Option(None, help="Output data folder (default: the package's data folder)."),
) -> None:
    """Rebuild data/ from the raw official statistics (deterministic; atomic writes)."""
    from kzmig.features.ingest.build import RAW_DEFAULT
    from kzmig.features.ingest.build import build as build_dataset
    from kzmig.features.data.regions import DATA_DIR

    written = build_dataset(raw or RAW_DEFAULT, out or DATA_DIR)
    console = out_console()
    for p in written.values():
        console.print(f"wrote {p}", markup=False)


@app.command()
def fetch(
    series: list[str] = typer.Option(None, "--series", help="A series of the catalogue (repeatable); default: all of "
                                     + ", ".join(SERIES) + "."),
    since: int | None = typer.Option(None, "--since", help="Keep fetched values from this year on."),
    out: Path | None = typer.Option(None, "--out", help="New folder for the version (default: data/versions/<version> "
                                    "beside the shipped data in a source checkout, ./kzmig-data/<version> for an "
                                    "installed package; never the shipped folder)."),
    replay: Path | None = typer.Option(None, "--replay", help="Answer requests from recorded responses in this folder "
                                       "(index.csv + bodies) instead of the network, e.g. tests/data/fetch."),
    timeout: float = typer.Option(30.0, "--timeout", min=1.0, help="Seconds to wait for each response."),
) -> None:
    """Download the official tables behind the dataset (stat.gov.kz, Taldau) into a new dataset version.

    The version holds the whole dataset (the shipped values with the fetched ones in their
    place), validated as the shipped data are, with its data card, fetch log and the responses
    as downloaded. Use it with ``kzmig run CONFIG --data DIR``; compare with ``kzmig data diff``.
    Without network it fails at the first request (exit 2) and writes nothing.
    """
    from kzmig.studies.data import default_version_folder
    from kzmig.studies.data import fetch as fetch_study

    transport = None
    if replay is not None:
        from kzmig.features.ingest.fetch.replay import recorded_transport

        transport = recorded_transport(replay)
    version = fetch_study(series or None, since, transport=transport, timeout=timeout)
    path = version.save(out or default_version_folder(version.version))
    console = out_console()
    table = Table(title=f"fetched tables ({version.version})")
    for col in ("series", "variable", "values", "corrected", "confidential", "sub_regional", "not_annual"):
        table.add_column(col, justify="left" if col in ("series", "variable") else "right")
    for rec in version.fetched.log.itertuples(index=False):
        table.add_row(rec.series, rec.variable, str(rec.values), str(rec.corrected), str(rec.confidential),
                      str(rec.sub_regional), str(rec.not_annual))
    console.print(table)
    ch = version.meta()["changes"]
    console.print(f"version {version.version} written to {path}: {len(version.observations)} rows; against "
                  f"{version.base['label']}: {ch['revised']} revised, {ch['added']} added, {ch['removed']} removed "
                  f"(changes.csv). Use it with: kzmig run CONFIG --data {path}", markup=False)


@app.command()
def diff(
    old: Path = typer.Argument(..., help="Dataset version folder (e.g. data, or data/versions/<version>) or file."),
    new: Path = typer.Argument(..., help="Dataset version folder or file to compare with OLD."),
    out: Path | None = typer.Option(None, "--out", help="Write every change to this CSV file."),
    limit: int = typer.Option(40, "--limit", min=0, help="Changes to print (all are in --out)."),
) -> None:
    """List the values revised, added and removed from OLD to NEW, by variable, region and year."""
    from kzmig.core.atomic import atomic_write_csv
    from kzmig.core.errors import DataFileError
    from kzmig.features.ingest.fetch.diff import summarise
    from kzmig.studies.data import diff as diff_study

    if out is not None:
        _check_out_file(out)  # before the diff, so that a bad --out does not come after a long listing
    changes = diff_study(old, new)
    console = out_console()
    if changes.empty:
        console.print(f"no differences: {old} and {new} hold the same values", markup=False)
        return
    table = Table(title=f"changes from {old} to {new}")
    summary = summarise(changes)
    for col in summary.columns:
        table.add_column(col, justify="left" if col in ("variable", "years") else "right")
    for rec in summary.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)
    rows = Table(title=f"first {min(limit, len(changes))} of {len(changes)} changes")
    for col in ("change", "variable", "region", "year", "old", "new", "difference", "within_rounding", "new_flag"):
        rows.add_column(col)
    for rec in changes.head(limit).itertuples(index=False):
        rows.add_row(rec.change, rec.variable, rec.region, str(rec.year), _num(rec.old), _num(rec.new),
                     _num(rec.difference), "yes" if rec.within_rounding else "", rec.new_flag)
    if limit:
        console.print(rows)
    if out is not None:
        try:
            atomic_write_csv(changes, out, float_format="%.10g")
        except OSError as exc:
            raise DataFileError(f"--out {out}: cannot write the changes there ({exc.strerror or exc}); "
                                "give a CSV file path in a writable folder.") from None
        console.print(f"wrote {out} ({len(changes)} changes)", markup=False)
    counts = changes["change"].value_counts()
    rounding = int(changes["within_rounding"].sum())
    console.print(f"{counts.get('revised', 0)} revised, {counts.get('added', 0)} added, "
                  f"{counts.get('removed', 0)} removed"
                  + (f"; {rounding} of the revisions only within the rounding of OLD (OLD holds the NEW value "
                     "rounded to whole units)" if rounding else ""), markup=False)


def _check_out_file(out: Path) -> None:
    """Raise :class:`DataFileError` unless ``out`` can be a new or replaced file: not a folder, and
    no part of its folder path is a file."""
    from kzmig.core.errors import DataFileError

    if out.is_dir():
        raise DataFileError(f"--out {out}: is a folder; give a file path for the CSV of changes, e.g. {out / 'changes.csv'}.")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataFileError(f"--out {out}: {parent} is a file, not a folder; give a CSV path in a folder.")
            break


def _num(value: float) -> str:
    """A value of the diff as stored (10 significant digits); blank when absent."""
    return "" if value != value else f"{value:.10g}"
