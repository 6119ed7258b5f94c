"""Reading a config file: TOML bytes -> validated, frozen config object (or one ConfigError).

Which schema applies is ``kind`` when given; otherwise it is read from the tables present
(:func:`detect_kind`), first rule that matches:

1. a ``[run]`` table -> ``"run"`` (:class:`~kzmig.config.run_config.RunConfig`);
2. ``[[models]]``, an array of tables -> ``"regress"`` (:class:`RegressStudyConfig`);
3. ``[models.<name>]`` tables or a ``[study]`` table -> ``"forecast"`` (:class:`ForecastStudyConfig`);
4. an ``[assess]`` table -> ``"assess"`` (:class:`AssessStudyConfig`, the table's body).

A file that matches none is an error asking for ``kind``.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kzmig.config.assess_study import AssessStudyConfig
from kzmig.config.base import ConfigModel, toml_repr
from kzmig.config.blocks import ConfigFile, ExecutionBlock, StudyConfigBase
from kzmig.config.forecast_study import ForecastStudyConfig
from kzmig.config.messages import config_error
from kzmig.config.regress_study import RegressStudyConfig
from kzmig.config.run_config import RunConfig
from kzmig.core.errors import ConfigError

logger = logging.getLogger(__name__)


class AssessFile(ConfigModel):
    """A standalone assessment file: one ``[assess]`` table."""

    assess: AssessStudyConfig = AssessStudyConfig()


#: A validated config of any kind.
StudyConfig = ForecastStudyConfig | RegressStudyConfig | AssessStudyConfig | RunConfig

#: kind -> the model of the whole file.
FILE_MODELS: dict[str, type[BaseModel]] = {
    "forecast": ForecastStudyConfig,
    "regress": RegressStudyConfig,
    "assess": AssessFile,
    "run": RunConfig,
}
KINDS = tuple(FILE_MODELS)


def detect_kind(raw: Mapping[str, Any]) -> str | None:
    """The kind of config a parsed TOML document is (see the module docstring), or None."""
    models = raw.get("models")
    if "run" in raw:
        return "run"
    if isinstance(models, list):
        return "regress"
    if isinstance(models, dict) or "study" in raw:
        return "forecast"
    if "assess" in raw:
        return "assess"
    return None


def _check_kind(kind: str) -> None:
    if kind not in FILE_MODELS:
        raise ConfigError(f"kind={kind!r} is not a config kind; choose one of {', '.join(map(repr, KINDS))}.")


def stamped(cfg: StudyConfigBase, path: Path | None, sha256: str,
            refs: Mapping[str, tuple[Path, str]] | None = None, where: str = "") -> Any:
    """A copy of ``cfg`` that records its source file on it and on the studies it contains.

    ``refs`` (``{"forecasts.net_migration": (file, sha256)}``) gives a contained study its own
    file when a run named it by ``config = "<file>"``. The validated ``cfg`` is left as it is.
    """
    refs = refs or {}
    update: dict[str, Any] = {}

    def one(value: StudyConfigBase, key: str) -> Any:
        own_path, own_sha = refs.get(key, (path, sha256))
        return stamped(value, own_path, own_sha, refs, key + ".")

    for name, value in cfg:  # (field, value) pairs
        if isinstance(value, StudyConfigBase):
            update[name] = one(value, where + name)
        elif isinstance(value, dict) and any(isinstance(v, StudyConfigBase) for v in value.values()):
            update[name] = {k: one(v, f"{where}{name}.{k}") if isinstance(v, StudyConfigBase) else v
                            for k, v in value.items()}
    if isinstance(cfg, StudyConfigBase):
        update["loaded_from"] = ConfigFile(path, sha256)
    if isinstance(cfg, RunConfig) and not where and refs:
        update["referenced_files"] = {k: ConfigFile(p, s) for k, (p, s) in refs.items()}
    return cfg.model_copy(update=update) if update else cfg


def validate_config(raw: Mapping[str, Any], kind: str, *, source: str = "<config>",
                    base_dir: Path | None = None) -> StudyConfig:
    """Validate an already parsed document (a dict as from ``tomllib``) as a ``kind`` config.

    Parameters
    ----------
    raw : mapping
        The document.
    kind : {"forecast", "regress", "assess", "run"}
    source : str
        What to name in messages (the file).
    base_dir : path, optional
        Folder that relative file paths in the config are resolved against; they must
        then exist. ``None`` leaves them as written and unchecked.

    Returns
    -------
    ForecastStudyConfig, RegressStudyConfig, AssessStudyConfig or RunConfig

    Raises
    ------
    ConfigError
        Naming ``source`` and, for every problem, the key path, what was found and what is allowed.
    """
    _check_kind(kind)
    model = FILE_MODELS[kind]
    try:
        cfg = model.model_validate(dict(raw), context={"base_dir": base_dir})
    except ValidationError as err:
        raise config_error(err, model, raw, source, kind) from None
    return cfg.assess if isinstance(cfg, AssessFile) else cfg


def read_toml(path: Path | str) -> tuple[dict[str, Any], str]:
    """The parsed document and the SHA-256 of the file's bytes.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, not UTF-8, or not valid TOML (with line and column).
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found.") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror or err}).") from None
    try:
        raw = tomllib.loads(blob.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}).") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}).") from None
    return raw, hashlib.sha256(blob).hexdigest()


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def resolve_references(raw: Mapping[str, Any], base_dir: Path, source: str) -> tuple[dict[str, Any], dict]:
    """Replace ``config = "<file>"`` in a run's study tables by that file's tables.

    A run may name a study file instead of repeating it: ``[regress] config =
    "migration_factors.toml"``; other keys of the table override the file's (tables merged
    key by key). Returns the resolved document and ``{table path: (file, sha256)}``.

    Raises
    ------
    ConfigError
        A referenced file that is missing or not valid TOML, or an assessment file without
        an ``[assess]`` table.
    """
    doc, refs = dict(raw), {}

    def resolve(table: Any, where: tuple[str, ...]) -> Any:
        if not isinstance(table, Mapping) or "config" not in table:
            return table
        ref = table["config"]
        if not isinstance(ref, str):
            raise ConfigError(f"{source}: {'.'.join(where)}.config: found {toml_repr(ref)}; expected a path to a "
                              "study file, relative to the run file.")
        path = Path(ref) if Path(ref).is_absolute() else base_dir / ref
        body, sha = read_toml(path)
        if where == ("assess",):
            body = body.get("assess", body)
        refs[".".join(where)] = (path, sha)
        return _merge(body, {k: v for k, v in table.items() if k != "config"})

    for key in ("assess", "regress"):
        if key in doc:
            doc[key] = resolve(doc[key], (key,))
    if isinstance(doc.get("forecasts"), Mapping):
        doc["forecasts"] = {k: resolve(v, ("forecasts", k)) for k, v in doc["forecasts"].items()}
    return doc, refs


def load_config(path: Path | str, kind: str | None = None) -> StudyConfig:
    """Read, check and return a config file as a frozen object.

    Parameters
    ----------
    path : path
        A TOML file.
    kind : {"forecast", "regress", "assess", "run"}, optional
        The schema to apply; by default read from the tables present (:func:`detect_kind`).

    Returns
    -------
    ForecastStudyConfig, RegressStudyConfig, AssessStudyConfig or RunConfig
        With ``.path`` (the file) and ``.sha256`` (of its bytes).

    Raises
    ------
    ConfigError
        Missing or unreadable file, invalid TOML, unknown kind, or any invalid key or value:
        the message names the file and each key path (see :mod:`kzmig.config.messages`).

    Examples
    --------
    >>> from kzmig.core.resources import experiments_dir
    >>> cfg = load_config(experiments_dir() / "net_migration.toml")
    >>> cfg.name, cfg.backtest.horizon, cfg.forecast.levels
    ('net_migration', 3, (0.8, 0.95))
    """
    path = Path(path)
    if kind is not None:
        _check_kind(kind)
    raw, sha = read_toml(path)
    kind = kind or detect_kind(raw)
    if kind is None:
        raise ConfigError(f"{path}: cannot tell which kind of config this is (tables {sorted(raw)}); a forecast "
                          "study has [models.<name>] tables, a regression study [[models]] entries, an assessment "
                          "an [assess] table and a run a [run] table. Pass kind= to say which.")
    refs: dict = {}
    if kind == "run":
        raw, refs = resolve_references(raw, path.parent, str(path))
    cfg = stamped(validate_config(raw, kind, source=str(path), base_dir=path.parent), path, sha, refs)
    logger.debug("%s: %s config read (sha256 %s)", path, kind, sha[:12])
    return cfg


def from_resolved(resolved: Mapping[str, Any], kind: str, *, source: str, path: Path | str | None = None,
                  sha256: str = "", models_order: list[str] | None = None) -> StudyConfig:
    """The config whose ``model_dump(mode="json")`` a run manifest holds (``config.resolved``).

    Parameters
    ----------
    resolved : mapping
        The dump: fields by name (``breaks_table``, not the file's ``breaks``).
    kind : {"forecast", "regress", "assess", "run"}
    source : str
        What to name in messages (the manifest and its key).
    path, sha256 : optional
        The config file the run read and its hash (the manifest's ``config.path`` and
        ``config.sha256``), stamped on the result.
    models_order : list of str, optional
        The order of the ``models`` table in the file; a manifest written with sorted keys
        has lost it, and a forecast study's rows follow it.

    Raises
    ------
    ConfigError
        The dump is not a valid config of ``kind``, or does not dump back to itself (a
        manifest written by another version of kzmig).
    """
    _check_kind(kind)
    model = FILE_MODELS[kind]
    aliases = {name: f.alias for name, f in model.model_fields.items() if f.alias}
    raw = {aliases.get(k, k): v for k, v in dict(resolved).items()}
    if models_order is not None and isinstance(raw.get("models"), dict):
        if sorted(models_order) != sorted(raw["models"]):
            raise ConfigError(f"{source}: model order {models_order} does not name the models "
                              f"{sorted(raw['models'])} of the config.")
        raw["models"] = {name: raw["models"][name] for name in models_order}
    cfg = validate_config(raw, kind, source=source)
    if cfg.model_dump(mode="json") != dict(resolved):
        raise ConfigError(f"{source}: the resolved config does not read back to itself; it was written by "
                          "another version of kzmig.")
    return stamped(cfg, Path(path) if path is not None else None, sha256 or "")


#: ``kzmig assess`` options -> the key path of the assessment config each one sets
ASSESS_OPTIONS = {
    "--start": "data.first_year", "--end": "data.last_year", "--borders": "data.borders",
    "--skip-breaks/--keep-breaks": "data.breaks", "--method": "method", "--k": "smooth_k",
    "--rel-tol": "rel_tol", "--abs-tol": "abs_tol", "--region": "regions", "--geojson": "geojson",
    "--targets": "targets",
}


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"data.first_year": 2010}`` -> ``{"data": {"first_year": 2010}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *tables, key = path.split(".")
        node = out
        for t in tables:
            node = node.setdefault(t, {})
        node[key] = value
    return out


def assess_config(path: Path | str | None, options: Mapping[str, Any]) -> AssessStudyConfig:
    """An assessment config from an optional file and command-line options, which override it.

    ``options`` maps key paths of the config (``"data.first_year"``, ``"smooth_k"``; see
    :data:`ASSESS_OPTIONS`) to values; ``None`` = not given. Problems in the file name the
    file; problems in the options name ``command-line options``, the option and the key path
    (``--end (assess.data.last_year)``).

    Raises
    ------
    ConfigError
        The file is not an assessment config, or a value is invalid.
    """
    raw: dict[str, Any] = {}
    sha, base = "", None
    if path is not None:
        doc, sha = read_toml(path)
        if set(doc) - {"assess"}:
            raise ConfigError(f"{path}: an assessment config has one [assess] table; found tables {sorted(doc)}.")
        raw, base = dict(doc.get("assess", {})), Path(path).parent
        validate_config({"assess": raw}, "assess", source=str(path), base_dir=base)
    source = "command-line options" + (f" (with {path})" if path is not None else "")
    given = {k: v for k, v in options.items() if v is not None}
    merged = _merge(raw, _nested(given))
    try:
        cfg = validate_config({"assess": merged}, "assess", source=source, base_dir=base or Path.cwd())
    except ConfigError as err:  # name the option a user typed beside the key path
        text, option = str(err), {key: opt for opt, key in ASSESS_OPTIONS.items()}
        for key in given:
            text = re.sub(rf"^  - assess\.{re.escape(key)}(?![\w])(\S*):", lambda m, key=key: f"  - {option.get(key, key)} "
                          f"(assess.{key}{m.group(1)}):", text, flags=re.M)
        raise ConfigError(text) from None
    return stamped(cfg, Path(path), sha) if path is not None else cfg


#: command-line option -> ``[execution]`` key
EXECUTION_OPTIONS = {"backend": "--backend", "workers": "--workers", "address": "--scheduler"}


def with_execution(cfg: StudyConfig, options: Mapping[str, Any]) -> StudyConfig:
    """``cfg`` (a forecast or run config) with its ``[execution]`` table overridden by command-line
    options (``backend``, ``workers``, ``address``; ``None`` = not given). A scheduler address
    alone means ``backend = "dask"``.

    Raises
    ------
    ConfigError
        An invalid value, named by its option, or options given for a config without backtests.
    """
    given = {k: v for k, v in options.items() if v is not None}
    if not given:
        return cfg
    names = ", ".join(EXECUTION_OPTIONS[k] for k in given)
    if not isinstance(cfg, (ForecastStudyConfig, RunConfig)):
        raise ConfigError(f"{names}: only forecast studies and planning runs have backtests to distribute; "
                          f"{cfg.path or 'this config'} is a {type(cfg).__name__}.")
    if "address" in given and "backend" not in given:
        given["backend"] = "dask"
    current = cfg.execution.model_dump(exclude_none=True) if cfg.execution is not None else {}
    if given.get("backend") == "local":
        current.pop("address", None)
    merged = {**current, **given}
    try:
        block = ExecutionBlock.model_validate(merged)
    except ValidationError as err:
        text = str(config_error(err, ExecutionBlock, merged, f"command-line options ({names})", "execution"))
        for key, opt in EXECUTION_OPTIONS.items():
            text = text.replace(f"  - {key}", f"  - {opt} (execution.{key})")
        raise ConfigError(text) from None
    if isinstance(cfg, RunConfig):  # the run's [execution] holds for each of its forecast studies
        forecasts = {k: f.model_copy(update={"execution": block}) for k, f in cfg.forecasts.items()}
        return cfg.model_copy(update={"execution": block, "forecasts": forecasts})
    return cfg.model_copy(update={"execution": block})


def with_run_options(cfg: StudyConfig, options: Mapping[str, Any]) -> StudyConfig:
    """``cfg`` (a run config) with ``[run] lang`` and ``[run] charts`` overridden by command-line
    options (``--lang``, ``--charts``; ``None`` = not given).

    Raises
    ------
    ConfigError
        A value that is not one of the key's choices, named by its option, or options given for a
        config that is not a planning run.
    """
    from kzmig.config.run_config import CHART_SETS, LANGUAGES

    given = {k: v for k, v in options.items() if v is not None}
    if not given:
        return cfg
    for key, choices in (("lang", LANGUAGES), ("charts", CHART_SETS)):
        if key in given and given[key] not in choices:
            raise ConfigError(f"--{key} {given[key]!r}: choose one of {', '.join(choices)}.")
    if not isinstance(cfg, RunConfig):
        raise ConfigError(f"--{next(iter(given))}: only a planning run writes a report, a workbook and its charts; "
                          f"{cfg.path or 'this config'} is a {type(cfg).__name__}.")
    return cfg.model_copy(update={"run": cfg.run.model_copy(update=given)})


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a ``kind`` config file, for editors (e.g. Taplo, VS Code Even Better TOML).

    Raises
    ------
    ConfigError
        Unknown ``kind``.
    """
    _check_kind(kind)
    schema = FILE_MODELS[kind].model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": f"kzmig {kind} config"}
