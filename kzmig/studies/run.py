"""The planning run: one config composes the studies and the planning outputs (the main job).

``run(config, data=None, *, progress=None) -> RunResult`` runs, in order, the assessment,
the regression study, each forecasting study, the specialist forecasts, the scenarios and
the planning targets that ``config`` declares, and the planning part from their results; it
returns data only. After the forecasting studies, the account (:mod:`kzmig.studies.accounts`)
calibrates the forecasts' intervals on their backtests and reconciles every identity of the
migration account; the specialists, scenarios and targets read those coherent forecasts. ``kzmig.reporting.save(result, folder)`` writes one run folder, rendering
the planning workbook, charts and report from the parts (:mod:`kzmig.reporting.planning_run`)::

    manifest.json            resolved config and hashes, data hashes and vintage, versions, git,
                             seeds, step timings, status (written last)
    assessment/ regression/ forecast/<study>/ specialists/ scenarios/ targets/
    planning/forecast_tables.xlsx, planning/forecast_tables.csv
    charts/*.png, report.html

The data are read once and passed to every study, so all parts see the same vintage.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kzmig.config.run_config import RunConfig
from kzmig.core.parallel import check_scheduler
from kzmig.studies.assess import assess
from kzmig.studies.base import Progress, StudyResult, config_meta, no_progress
from kzmig.studies.data import DataArg, open_data
from kzmig.studies.forecast import forecast
from kzmig.studies.planning import account_part, planning_part, with_account
from kzmig.studies.regress import regress
from kzmig.studies.scenarios import scenario_part
from kzmig.studies.specialists import specialist_part
from kzmig.forecast.planning.targets import read_targets
from kzmig.studies.targets import target_part

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """The results of a planning run: one :class:`StudyResult` per part, keyed by its folder.

    Attributes
    ----------
    name : str
        The run's name (``[run] name``).
    parts : mapping of str to StudyResult
        ``"assessment"``, ``"regression"``, ``"forecast/<study>"``, ``"specialists"``,
        ``"scenarios"``, ``"targets"``, ``"planning"`` ... in the order they ran (read-only).
    steps : tuple of dict
        ``step``, ``started_at`` (UTC), ``seconds`` of each step (manifest only).
    metadata : mapping
        The manifest's run block: resolved config and hashes, data provenance, seeds.
    """

    name: str
    parts: Mapping[str, StudyResult]
    steps: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", MappingProxyType(dict(self.parts)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def manifest(self) -> dict[str, Any]:
        """The run block of the manifest (the run folder adds status, timings of saving, versions)."""
        return {"kind": "run", "name": self.name, "run_steps": list(self.steps), "warnings": list(self.warnings),
                "parts": {sub: part.manifest() for sub, part in self.parts.items()}, **dict(self.metadata)}


class _Steps:
    """Times each step of a run and reports it to the progress callback."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.done, self.log = progress, total, 0, []

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        start, t0 = dt.datetime.now(dt.UTC), time.perf_counter()
        out = fn()
        self.log.append({"step": name, "started_at": start.isoformat(timespec="seconds"),
                         "seconds": round(time.perf_counter() - t0, 3)})
        self.done += 1
        self.progress(f"run: {name}", self.done, self.total)
        logger.info("run step %s done in %.1f s", name, self.log[-1]["seconds"])
        return out


def run(config: RunConfig, data: DataArg = None, *, progress: Progress | None = None) -> RunResult:
    """Run every study and planning step a run config declares.

    Parameters
    ----------
    config : RunConfig
        Validated run config (:mod:`kzmig.config`), e.g. ``experiments/baseline.toml``.
    data : None, path or DataFrame
        The shipped dataset (None), a user file, or a long table; read once for all parts.
    progress : callable, optional
        ``progress(step, done, total)``: the studies' own progress, and one event per finished step.

    Raises
    ------
    ConfigError, DataError, StudyError
        From the studies, naming the part of the run at fault.
    """
    progress = progress or no_progress
    cfg = config
    targets = read_targets(cfg.targets) if cfg.targets is not None else None  # bad targets fail before any work
    for address in sorted({s.execution.address for s in cfg.forecasts.values()
                           if s.execution.backend == "dask" and s.execution.address}):
        check_scheduler(address)  # so does an unreachable cluster, before the assessment and the regression
    source = open_data(data)
    plan = [("assessment", cfg.assess is not None), ("regression", cfg.regress is not None),
            *((f"forecast/{name}", True) for name in cfg.forecasts), ("account", bool(cfg.forecasts)),
            ("specialists", cfg.specialists is not None),
            ("scenarios", bool(cfg.scenario)), ("targets", cfg.targets is not None)]
    steps = _Steps(progress, sum(on for _, on in plan) + bool(cfg.forecasts))
    parts: dict[str, StudyResult] = {}
    if cfg.assess is not None:
        parts["assessment"] = steps("assessment", lambda: assess(cfg.assess, source, progress=progress))
    if cfg.regress is not None:
        parts["regression"] = steps("regression", lambda: regress(cfg.regress, source, progress=progress))
    for name, study in cfg.forecasts.items():  # a run's [execution] is already in each study (RunConfig)
        parts[f"forecast/{name}"] = steps(f"forecast/{name}", lambda s=study: forecast(s, source, progress=progress))
    # one account (METHOD.md 10): the forecasts' intervals calibrated on their backtests and every
    # identity reconciled; specialists, scenarios and targets read the coherent forecasts
    account = steps("account", lambda: account_part(cfg, parts, source)) if cfg.forecasts else None
    coherent = with_account(parts, account)
    if cfg.specialists is not None:
        parts["specialists"] = steps("specialists", lambda: specialist_part(
            cfg, source, coherent[f"forecast/{cfg.specialists.forecast}"]))
    if cfg.scenario:
        parts["scenarios"] = steps("scenarios", lambda: scenario_part(
            cfg, source, parts["regression"], coherent[f"forecast/{cfg.scenarios.forecast}"]))
    if cfg.targets is not None:
        parts["targets"] = steps("targets", lambda: target_part(cfg, source, {**parts, **coherent}, targets))
    warnings = tuple(f"{sub}: {w}" for sub, part in parts.items() for w in part.warnings)
    seeds = {sub: part.metadata.get("seeds") for sub, part in parts.items() if part.metadata.get("seeds")}
    if cfg.forecasts:
        parts["planning"] = steps("planning", lambda: planning_part(cfg, parts, account, source.observations))
    return RunResult(
        name=cfg.name, parts=parts, steps=tuple(steps.log), warnings=warnings,
        metadata={"config": config_meta(cfg), "references": dict(cfg.references),
                  "data": source.meta(), "seeds": seeds},
    )
