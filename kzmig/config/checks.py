"""Checks of a config against the data, run after loading the data and before fitting.

They take plain values (years, column names), not studies or frames, so every study and the
command line can call them. Each error is a :class:`~kzmig.core.errors.ConfigError` that
names the config key (``backtest.origins``, ``forecast.to_year``, ``features.columns[2]``),
the value and what the data allow; ``source`` (the config file) prefixes the message.
"""
from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from kzmig.core.errors import ConfigError

logger = logging.getLogger(__name__)

#: Longest list of available columns written out in a message.
SHOW_COLUMNS = 40


def _prefix(source: str | Path | None) -> str:
    return f"{source}: " if source else ""


def _span(years: Iterable[int]) -> tuple[int, int]:
    years = [int(y) for y in years]
    if not years:
        raise ConfigError("no observed years to check the config against.")
    return min(years), max(years)


def check_origins(origins: Sequence[int], years: Iterable[int], *, series: str | None = None,
                  source: str | Path | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Backtest origins inside the observed years of a series: (kept, dropped).

    An origin needs a year to fit on before it and a year to score after it, so it must lie
    strictly between the first and the last observed year (as
    :func:`kzmig.forecast.engine.backtest.check_origins` requires).
    Dropped origins are logged as a warning naming them and the data years.

    Parameters
    ----------
    origins : sequence of int
        ``backtest.origins``.
    years : iterable of int
        Years with an observation of the series (any order, repeats allowed).
    series : str, optional
        The target's name, for messages.
    source : str or path, optional
        The config file, for messages.

    Raises
    ------
    ConfigError
        When no origin is left (naming ``backtest.origins`` and the data years).

    Examples
    --------
    >>> check_origins([2010, 2012, 2020], range(2011, 2021))
    ((2012,), (2010, 2020))
    """
    first, last = _span(years)
    kept = tuple(o for o in origins if first < o < last)
    dropped = tuple(o for o in origins if not first < o < last)
    of = f" of {series!r}" if series else ""
    if not kept:
        raise ConfigError(f"{_prefix(source)}backtest.origins: none of {list(origins)} lies inside the data years "
                          f"{first}-{last}{of}; an origin needs observed years before and after it, so choose "
                          f"origins from {first + 1} to {last - 1}.")
    if dropped:
        logger.warning("%sbacktest.origins %s lie outside the data years %d-%d%s and are left out.",
                       _prefix(source), list(dropped), first, last, of)
    return kept, dropped


def check_to_year(to_year: int, last_observed: int, max_years_ahead: int, *, series: str | None = None,
                  source: str | Path | None = None) -> int:
    """Years to forecast ahead, ``to_year - last_observed``, checked against the limits.

    Raises
    ------
    ConfigError
        ``forecast.to_year`` is not after the last observed year, or lies more than
        ``forecast.max_years_ahead`` years after it.

    Examples
    --------
    >>> check_to_year(2030, 2024, 30)
    6
    """
    ahead = int(to_year) - int(last_observed)
    of = f" of {series!r}" if series else ""
    if ahead < 1:
        raise ConfigError(f"{_prefix(source)}forecast.to_year = {to_year} is not after the last observed year "
                          f"{last_observed}{of}; choose a to_year of at least {last_observed + 1}.")
    if ahead > max_years_ahead:
        raise ConfigError(f"{_prefix(source)}forecast.to_year = {to_year} is {ahead} years after the last observed "
                          f"year {last_observed}{of}, more than forecast.max_years_ahead = {max_years_ahead}; "
                          f"choose a to_year up to {last_observed + max_years_ahead}, or raise "
                          "forecast.max_years_ahead if you mean it.")
    return ahead


def check_columns(wanted: Sequence[str], available: Iterable[str], *, key: str = "features.columns",
                  source: str | Path | None = None) -> None:
    """Every configured column exists in the data; otherwise one error naming each missing one.

    Parameters
    ----------
    wanted : sequence of str
        Configured column names (``features.columns``, ``discrete.columns`` ...).
    available : iterable of str
        Columns of the panel (keys ``region``/``year`` may be included; they are not offered).
    key : str
        The config key of ``wanted``, for messages (``features.columns[i]``).

    Raises
    ------
    ConfigError
        Naming ``key[i]`` of each missing column, a close match when there is one, and the
        available columns.

    Examples
    --------
    >>> check_columns(["unemployment_rate"], ["region", "year", "unemployment_rate_pct"])
    Traceback (most recent call last):
    ...
    kzmig.core.errors.ConfigError: features.columns[0] = "unemployment_rate" is not a column of the data (did you mean "unemployment_rate_pct"?); available: unemployment_rate_pct.
    """
    cols = sorted({str(c) for c in available} - {"region", "year"})
    missing = [(i, c) for i, c in enumerate(wanted) if c not in cols]
    if not missing:
        return
    parts = []
    for i, c in missing:
        close = difflib.get_close_matches(c, cols, n=1)
        parts.append(f'{key}[{i}] = "{c}" is not a column of the data'
                     + (f' (did you mean "{close[0]}"?)' if close else ""))
    shown = ", ".join(cols[:SHOW_COLUMNS]) + (f", ... ({len(cols) - SHOW_COLUMNS} more)" if len(cols) > SHOW_COLUMNS else "")
    raise ConfigError(f"{_prefix(source)}" + "; ".join(parts) + f"; available: {shown or '(none)'}.")
