"""One validated config schema family for every study (pydantic v2): TOML in, frozen objects out.

Public API
----------
load_config(path, kind=None)
    Read a TOML file and return the validated config; every problem is one ``ConfigError``
    naming the file and each key path.
validate_config(raw, kind, *, source, base_dir)
    The same for an already parsed document.
from_resolved(resolved, kind, *, source, path, sha256, models_order)
    The config a run manifest recorded (``config.resolved``), e.g. for ``kzmig predict``.
assess_config(path, options)
    An assessment config from an optional file and command-line options.
with_execution(cfg, options)
    A forecast or run config with its ``[execution]`` backend overridden by command-line options.
with_run_options(cfg, options)
    A run config with ``[run] lang`` and ``[run] charts`` overridden by command-line options.
detect_kind(raw)
    Which kind of config a parsed document is.
json_schema(kind)
    The JSON Schema of a config file, for editors.
ForecastStudyConfig, RegressStudyConfig, AssessStudyConfig, RunConfig
    The study configs (and the draft planning-run config); ``StudyConfig`` is any of them.
    Every study reads the same ``[data]`` block (:class:`~kzmig.config.blocks.DataBlock`).
check_origins, check_to_year, check_columns
    Checks against the data, run after loading it and before fitting.

Modules: :mod:`.base` (strict frozen base model, shared value types), :mod:`.blocks` (shared
blocks), :mod:`.params` (``params`` tables checked against the estimator classes),
:mod:`.forecast_study`, :mod:`.regress_study`, :mod:`.assess_study`, :mod:`.run_config`,
:mod:`.messages` (errors as one message), :mod:`.load`, :mod:`.checks`.
"""
from __future__ import annotations

from kzmig.config.assess_study import AssessStudyConfig
from kzmig.config.checks import check_columns, check_origins, check_to_year
from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.config.load import (
    KINDS,
    StudyConfig,
    assess_config,
    detect_kind,
    from_resolved,
    json_schema,
    load_config,
    validate_config,
    with_execution,
    with_run_options,
)
from kzmig.config.regress_study import RegressStudyConfig
from kzmig.config.run_config import RunConfig, ScenarioBlock, Shift

__all__ = [
    "KINDS", "StudyConfig", "AssessStudyConfig", "assess_config", "ForecastStudyConfig", "RegressStudyConfig", "RunConfig", "ScenarioBlock",
    "Shift", "check_columns", "check_origins", "check_to_year", "detect_kind", "from_resolved", "json_schema", "load_config",
    "validate_config", "with_execution", "with_run_options",
]
