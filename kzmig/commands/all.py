"""``kzmig all``: the main job, every stage on the shipped data (or ``--data``) in one call."""
from __future__ import annotations

import logging
from pathlib import Path

import typer

logger = logging.getLogger(__name__)


def run_all(
    out: Path = typer.Option(Path("out"), "--out", help="Parent folder: out/assess, out/regress, out/forecast/<run>."),
    data: Path | None = typer.Option(None, "--data", help="Data file instead of the shipped dataset."),
) -> None:
    """Check the data, run the assessment, the panel regressions and the forecasting study.

    Equivalent to ``kzmig data check``, ``kzmig assess``, ``kzmig regress
    experiments/migration_factors.toml`` and ``kzmig forecast experiments/net_migration.toml``
    with their defaults; each stage writes its own folder under ``--out`` and a failing stage
    stops the job with its own exit code.
    """
    from kzmig.commands.assess import assess
    from kzmig.commands.data import check
    from kzmig.commands.forecast import forecast
    from kzmig.commands.regress import regress

    from kzmig.core.resources import experiments_dir

    EXPERIMENTS = experiments_dir()
    out = Path(out)
    stages = [
        ("data check", lambda: check(data)),
        ("assess", lambda: assess(start=2006, end=2022, borders=2018, data=data, out=out / "assess", region=None,
                                  geojson=None, targets=None, skip_breaks=True)),
        ("regress", lambda: regress(EXPERIMENTS / "migration_factors.toml", out=out / "regress", data=data)),
        ("forecast", lambda: forecast(EXPERIMENTS / "net_migration.toml", out=None, data=data)),
    ]
    for i, (name, stage) in enumerate(stages, 1):
        logger.info("[%d/%d] %s", i, len(stages), name)
        stage()
    logger.info("all stages done; tables and charts under %s and runs/", out)
