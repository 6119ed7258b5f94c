"""``kzmig config``: check a study config, or print the JSON Schema of the configs for editors."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from kzmig.cli._common import out_console

app = typer.Typer(help="Check a study config, or print the JSON Schema of the configs.", no_args_is_help=True)


@app.command()
def check(config: Path = typer.Argument(..., help="A study TOML (forecast, regress, assess or run).")) -> None:
    """Validate a config file (every key, type, range and cross-field rule) without loading data."""
    from kzmig.config import load_config

    cfg = load_config(config)
    if getattr(cfg, "targets", None) is not None and hasattr(cfg, "run"):  # a run's targets table, read as a run would
        from kzmig.forecast.targets import read_targets

        read_targets(cfg.targets)
    out_console().print(f"ok: {config} is a valid {type(cfg).__name__} (name {getattr(cfg, 'name', '-')!r}, "
                        f"sha256 {getattr(cfg, 'sha256', '')[:12]})", markup=False)


@app.command()
def schema(kind: str = typer.Argument("forecast", help="forecast, regress, assess or run.")) -> None:
    """Print the JSON Schema of a config kind (for editors such as VS Code with Even Better TOML)."""
    from kzmig.config import json_schema

    out_console().print(json.dumps(json_schema(kind), indent=2), markup=False)


@app.command("list")
def list_examples() -> None:
    """List the study configs shipped with kzmig and where they are (run one with kzmig run --example NAME)."""
    from kzmig.core.resources import example_configs

    console = out_console()
    for name, path in example_configs().items():
        console.print(f"{name}\t{path}", markup=False)
