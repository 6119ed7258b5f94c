"""``kzmig config``: check a study config, or print the JSON Schema of the configs for editors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kzmig.cli._common import out_console

if TYPE_CHECKING:
    from kzmig.config.load import StudyConfig

app = typer.Typer(help="Check a study config, or print the JSON Schema of the configs.", no_args_is_help=True)


@app.command()
def check(configs: list[Path] = typer.Argument(..., help="One or more study TOMLs (forecast, regress, assess or run).",
                                               metavar="CONFIG")) -> None:
    """Validate config files without loading data: every key, type, range and cross-field rule, and the
    files each names (targets, user series) read as the run reads them. The files are checked in the
    order given; the first one that fails stops the check (exit 2, naming the file and key)."""
    from kzmig.config import load_config

    for config in configs:
        cfg = load_config(config)
        check_files(cfg)
        out_console().print(f"ok: {config} is a valid {type(cfg).__name__} (name {cfg.name!r}, "
                            f"sha256 {cfg.sha256[:12]})", markup=False)


def check_files(cfg: StudyConfig) -> None:
    """Read the files a config names, with the readers its run uses, so that a file the run would
    refuse is refused here (naming the file)."""
    from kzmig.config import AssessStudyConfig, RunConfig

    from kzmig.forecast.planning.targets import read_targets  # the one targets reader, both layouts

    assess = cfg if isinstance(cfg, AssessStudyConfig) else cfg.assess if isinstance(cfg, RunConfig) else None
    if assess is not None and assess.targets is not None:
        read_targets(Path(assess.targets))
    if isinstance(cfg, RunConfig) and cfg.targets is not None:
        read_targets(cfg.targets)
    if isinstance(cfg, RunConfig) and cfg.specialists is not None and cfg.specialists.user_series is not None:
        from kzmig.features.data.dataset import user_observations

        user_observations(cfg.specialists.user_series)


@app.command()
def schema(kind: str = typer.Argument("forecast", help="forecast, regress, assess or run."),
           markdown: bool = typer.Option(False, "--markdown", help="The reference of every table and key as "
                                                                   "Markdown (as docs/configs.md shows it).")) -> None:
    """Print the JSON Schema of a config kind (for editors such as VS Code with Even Better TOML)."""
    from kzmig.config import json_schema
    from kzmig.config.reference import markdown as reference

    out_console().print(reference(kind) if markdown else json.dumps(json_schema(kind), indent=2), markup=False)


@app.command("list")
def list_examples() -> None:
    """List the study configs shipped with kzmig and where they are (run one with kzmig run --example NAME)."""
    from kzmig.core.resources import example_configs

    console = out_console()
    for name, path in example_configs().items():
        console.print(f"{name}\t{path}", markup=False)
