"""``kzmig predict``: forecasts from the saved models of a run folder, without fitting."""
from __future__ import annotations

from pathlib import Path

import typer

from kzmig.cli._common import out_console, print_notes, progress_display, run_folder
from kzmig.cli.studies import OVERWRITE_OPT
from kzmig.core.errors import study_boundary


def predict(
    run_dir: Path = typer.Argument(..., help="A complete run folder of `kzmig forecast` or `kzmig run`."),
    to_year: int | None = typer.Option(None, "--to-year", help="Last forecast year (default: the run's forecast.to_year); "
                                       "at most forecast.max_years_ahead years after the data."),
    data: Path | None = typer.Option(None, "--data", help="Data file or dataset version folder instead of the run's "
                                     "(default: the run's file, checked against its sha256). Other data than the run's "
                                     "(a newer vintage) update the models without refitting."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (new or empty); default runs/<run name>-predict/<run id>."),
    overwrite: bool = OVERWRITE_OPT,
) -> None:
    """Forecast again from a run's saved models (never refitted): reproduce its forecast tables,
    forecast to another --to-year, or update the forecast with newer --data.

    Writes, per forecasting study of the run (at the top for a forecast run, under
    forecast/<study>/ for a planning run): forecasts.csv, forecasts_base.csv, reconciliation.csv,
    fit_report.csv, population_forecasts.csv (with a population table), history.csv, breaks.csv, the fan
    charts, and manifest.json naming the source run, the data and the models used.
    """
    from kzmig.reporting import write
    from kzmig.studies.predict import predict as predict_study
    from kzmig.studies.predict import predict_name

    name = predict_name(run_dir)
    with run_folder(out, study=name, overwrite=overwrite) as run:
        with progress_display() as progress, run.step("predict"), study_boundary(str(run_dir)):
            result = predict_study(run_dir, to_year=to_year, data=data, progress=progress)
        with run.step("save"):
            write(result, run.path, stamp=run.stamp)
        path = run.complete(result.manifest())
    console = out_console()
    print_notes(result.warnings)
    if result.updates:
        data_meta = result.metadata["data"]
        console.print(f"models updated on {data_meta['label']} (sha256 {str(data_meta['sha256'])[:12]}..., the run "
                      f"used {str(data_meta['run_sha256'])[:12]}...), none refitted:", markup=False)
        seen: dict[tuple[str, str], str] = {}
        for u in result.updates:
            seen.setdefault((u["part"], u["model"]), u["rule"])
        for (part, model), rule in seen.items():
            console.print(f"  {part + ': ' if part else ''}{model}: {rule}", markup=False)
        for part, study in result.parts.items():
            for target, used in study.metadata["targets"].items():
                console.print(f"  {part + ': ' if part else ''}{target}: origin {', '.join(map(str, used['origin_year']['run']))}"
                              f" -> {used['origin_year']['now']}", markup=False)
    else:
        console.print("models used as saved (the run's data), none refitted", markup=False)
    console.print(f"predict {result.metadata['mode']} of {run_dir} written to {path}", markup=False)
