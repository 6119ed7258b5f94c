"""Typed errors of the toolkit.

Every message names the file, column, region and year at fault where they are known
(see ``../shared/STYLE.md`` section 7).
"""
from __future__ import annotations


class PanelContractError(ValueError):
    """A panel or data file breaks the region-year contract."""


class DataFileError(ValueError):
    """A user data file cannot be read at all (empty, truncated, wrong encoding, wrong format)."""


class ConfigError(ValueError):
    """A study configuration (TOML) or command-line option is invalid."""
