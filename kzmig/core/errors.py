"""Typed errors of the toolkit, and what the command line does with them.

Every message names the file, key, column, region and year at fault where they are known
(see ``../shared/STYLE.md`` section 7). :class:`KzmigError` and its children are *user*
errors: the command line prints the message and exits with status 2. Anything else is an
internal error: exit status 1, a one-line message, the traceback in the run's log.

Each user error also derives from :class:`ValueError`, so library callers that catch
``ValueError`` keep working. :func:`study_boundary` is the one place where a command meets a
study; ``kzmig.cli.main`` turns what crosses it into the exit status (:func:`exit_status`).
See ``docs/errors.md``.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator


class KzmigError(ValueError):
    """A user-facing error: bad input, bad config, or a study that cannot give a result."""


class ConfigError(KzmigError):
    """A study configuration (TOML), a command-line option or an option argument of a library function
    is invalid (names the file and key path, or the argument)."""


class DataError(KzmigError):
    """Data that cannot be used: names the file, row, column, region and year where known."""


class DataFileError(DataError):
    """A data file cannot be read at all (missing, empty, truncated, wrong encoding, wrong format)."""


class PanelContractError(DataError):
    """A panel or data file breaks the region-year contract."""


class StudyError(KzmigError):
    """A study cannot produce a result from this input (an empty or degenerate result), with the reason."""


class StateError(DataFileError):
    """A value cannot be packed into a model file, or a packed tree cannot be rebuilt (the loader names
    the file)."""


class ModelVersionError(DataFileError, RuntimeError):
    """A saved model was made with library versions that cannot (or, strictly, must not) load.

    Also a :class:`RuntimeError`, as it was before it joined the family."""


#: exit status of a user error (:class:`KzmigError`) and of an internal error (anything else)
EXIT_USER, EXIT_INTERNAL = 2, 1


def exit_status(err: BaseException) -> int:
    """The command line's exit status for ``err``: 2 for a user error, 1 for anything else."""
    return EXIT_USER if isinstance(err, KzmigError) else EXIT_INTERNAL


@contextlib.contextmanager
def study_boundary(where: str) -> Iterator[None]:
    """The edge of a study, as every command crosses it: a library error leaves naming ``where``.

    ``where`` is what the user gave (the config file, the run folder, the data file). A
    :class:`KzmigError` whose message does not name it already gets it as a prefix (the same
    exception, so its class, attributes and cause are kept); any other exception passes
    unchanged: it is an internal error (exit 1, traceback in the run's log).

    Examples
    --------
    >>> with study_boundary("study.toml"):
    ...     raise StudyError("target 'x': no series is long enough")
    Traceback (most recent call last):
    ...
    kzmig.core.errors.StudyError: study.toml: target 'x': no series is long enough
    """
    try:
        yield
    except KzmigError as err:
        text = str(err)
        if where and where not in text:
            err.args = (f"{where}: {text}",)
        raise
