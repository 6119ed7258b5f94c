"""The base of every config block: strict, frozen, closed; and the value types they share.

:class:`ConfigModel` is a pydantic model with ``extra="forbid"`` (an unknown key is an
error), ``frozen=True`` (no assignment after validation) and ``strict=True`` (``"3"`` is not
an integer, ``"no"`` is not a boolean; an integer is accepted where a number is expected).
TOML arrays arrive as lists; they are turned into tuples before validation, so every
sequence of a validated config is an immutable tuple.

Cross-field rules raise :func:`fail`, which reports each problem at its own key path
(``models.ensemble.members[1]``) with a message that says what was found and what is allowed.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, ValidationError, ValidationInfo
from pydantic import model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kzmig.features.data.panel import YEAR_RANGE


#: Error type of the messages written by this package (used as they are by the formatter).
ERROR_TYPE = "kzmig_config"


@dataclass(frozen=True)
class Hint:
    """What a value may be, in words, when its type alone does not say it (``Annotated`` metadata)."""

    text: str


def toml_repr(value: Any) -> str:
    """A value as it would be written in TOML (strings in double quotes, ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        items = [toml_repr(v) for v in value[:8]]
        return "[" + ", ".join(items) + (", ..." if len(value) > 8 else "") + "]"
    if isinstance(value, dict):
        items = [f"{k} = {toml_repr(v)}" for k, v in list(value.items())[:6]]
        return "{" + ", ".join(items) + (", ..." if len(value) > 6 else "") + "}"
    if isinstance(value, Path):
        return toml_repr(str(value))
    return repr(value)


def error(loc: Sequence[str | int], message: str, value: Any = None) -> InitErrorDetails:
    """One problem at ``loc`` (relative to the model being validated), for :func:`fail`."""
    return InitErrorDetails(type=PydanticCustomError(ERROR_TYPE, "{message}", {"message": message}),
                            loc=tuple(loc), input=value)


def fail(problems: Iterable[InitErrorDetails], title: str = "config") -> None:
    """Raise every problem at once (no-op when there is none).

    Raised inside a validator, pydantic prefixes each ``loc`` with the path of the model or
    field being validated, so a cross-field rule can point at the exact key.
    """
    problems = list(problems)
    if problems:
        raise ValidationError.from_exception_data(title, problems)


class ConfigModel(BaseModel):
    """A config block: unknown keys, wrong types and assignment after validation are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _arrays_as_tuples(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return data


def _unique(values: tuple) -> tuple:
    seen: set = set()
    problems = []
    for i, v in enumerate(values):
        if v in seen:
            problems.append(error((i,), f"{toml_repr(v)} is listed twice; list each value once.", v))
        seen.add(v)
    fail(problems)
    return values


def _sorted_unique(values: tuple) -> tuple:
    return tuple(sorted(_unique(values)))


def _no_dotdot(name: str) -> str:
    if ".." in name:
        raise PydanticCustomError(ERROR_TYPE, "{message}", {
            "message": f"found {toml_repr(name)}; a name may not contain '..' (it names a folder)."})
    return name


def _resolve_path(value: str, info: ValidationInfo) -> Path:
    """A path as written, relative to the config file's folder (``context["base_dir"]``)."""
    path = Path(value)
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    if base is not None and not path.is_file():
        raise PydanticCustomError(ERROR_TYPE, "{message}", {
            "message": f"found {toml_repr(value)}; no such file {str(path)!r} (a path is relative to "
                       "the folder of the config file)."})
    return path


#: Unique items (an error names the second occurrence), order kept.
Unique = AfterValidator(_unique)
#: Unique items, returned sorted.
SortedUnique = AfterValidator(_sorted_unique)

#: A calendar year within the range the data contract accepts.
Year = Annotated[int, Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1])]
#: A non-empty string (a column, a feature, a region code).
Text = Annotated[str, StringConstraints(min_length=1)]
#: A name that becomes a folder or file name: no slash, no '..', no leading dot or dash.
SafeName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"), AfterValidator(_no_dotdot),
    Hint("a name of 1-64 letters, digits, '_', '.' or '-' that starts with a letter or digit "
         "(no '/', no '..')"),
]
#: A fraction strictly between 0 and 1 (a coverage level).
Level = Annotated[float, Field(gt=0, lt=1)]
#: A file path, resolved against the folder of the config file and required to exist when
#: the config is loaded from a file.
FilePath = Annotated[str, StringConstraints(min_length=1), AfterValidator(_resolve_path),
                     PlainSerializer(str, return_type=str),
                     Hint("a path to a file, relative to the folder of the config file")]
