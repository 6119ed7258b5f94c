"""Typed errors of the toolkit, and what the command line does with them.

Every message names the file, key, column, region and year at fault where they are known
(see ``../shared/STYLE.md`` section 7). :class:`KzmigError` and its children are *user*
errors: the command line prints the message and exits with status 2. Anything else is an
internal error: exit status 1, a one-line message, the traceback in the run's log.

Each user error also derives from :class:`ValueError`, so library callers that catch
``ValueError`` keep working.
"""
from __future__ import annotations


class KzmigError(ValueError):
    """A user-facing error: bad input, bad config, or a study that cannot give a result."""


class ConfigError(KzmigError):
    """A study configuration (TOML) or command-line option is invalid (names the file and key path)."""


class DataError(KzmigError):
    """Data that cannot be used: names the file, row, column, region and year where known."""


class DataFileError(DataError):
    """A data file cannot be read at all (missing, empty, truncated, wrong encoding, wrong format)."""


class PanelContractError(DataError):
    """A panel or data file breaks the region-year contract."""


class StudyError(KzmigError):
    """A study cannot produce a result from this input (an empty or degenerate result), with the reason."""
