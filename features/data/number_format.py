"""How the numbers of a user file are written: decimal point or comma, thousands separator.

Excel with Russian (or Kazakh) regional settings writes ``530 100`` (a space, often a
non-breaking one, U+00A0 or U+202F, between groups of three digits) and ``4,7`` (a decimal
comma), and separates the fields of a CSV with ``;``. :func:`decide` finds the convention of a
column from its cells; :func:`normalise` rewrites each cell that follows it into the plain
``530100`` / ``4.7`` that :func:`pandas.to_numeric` reads. A cell that follows no convention is
left as it is, for the value check to report.

Rules of :func:`decide` (when the caller does not give ``decimal``)
    * a comma that cannot be a thousands separator (``4,7``, ``1234,5``, ``1 234,5``) means a
      decimal comma; a decimal point (``4.7``), or commas grouping thousands in a way that
      cannot be a decimal (``1,234,567``, ``1,234.5``), means a decimal point. Both in one
      column is an error (:class:`AmbiguousNumbers`).
    * ``d,ddd`` cells alone (``1,234``: one thousand two hundred thirty-four, or 1.234?) are read
      with a decimal comma in a ``;``-separated file (Excel writes ``;`` exactly when the
      decimal is a comma); anywhere else they are an error naming the options that settle it.
    * Groups of three digits separated by a space, NBSP (U+00A0), narrow NBSP (U+202F) or thin
      space (U+2009) are thousands whatever the decimal: a number never holds a space otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from kzmig.core.errors import ConfigError

#: the space characters read as a thousands separator when the thousands separator is " "
SPACES = " \u00a0\u202f\u2009"
_SP = f"[{SPACES}]"
_EXP = r"(?:[eE][+-]?\d+)?"
_POINT = re.compile(rf"^[+-]?(?:\d+\.\d*|\.\d+){_EXP}$")          # 4.7, .5, 1.5e3
_INT = re.compile(rf"^[+-]?\d+{_EXP}$")
_COMMA_DEC = re.compile(rf"^[+-]?\d+,\d+{_EXP}$")                  # 4,7  1234,5  1,234 (ambiguous)
_COMMA_GROUP_ONE = re.compile(r"^[+-]?\d{1,3},\d{3}$")            # 1,234: decimal or thousands?
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPACE_GROUPS = re.compile(rf"^[+-]?\d{{1,3}}(?:{_SP}\d{{3}})+(?:([.,])\d+)?$")

DECIMALS = (".", ",")
THOUSANDS = {" ": "space", ",": "comma", ".": "point", "": "none"}
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", None: "none (workbook cells)"}


@dataclass(frozen=True)
class NumberFormat:
    """A decimal mark (``"."`` or ``","``) and a thousands separator (``" "`` = any space, ``","``,
    ``"."`` or ``""`` for none)."""

    decimal: str = "."
    thousands: str = " "

    def describe(self) -> str:
        dec = "decimal point" if self.decimal == "." else "decimal comma"
        th = {" ": "space thousands separator", ",": "comma thousands separator",
              ".": "point thousands separator", "": "no thousands separator"}[self.thousands]
        return f"{dec}, {th}"


class AmbiguousNumbers(ValueError):
    """The cells of a column do not tell how its numbers are written; ``examples`` are (index, cell)."""

    def __init__(self, reason: str, examples: list[tuple[object, str]]):
        super().__init__(reason)
        self.reason = reason
        self.examples = examples


def check_options(decimal: str | None, thousands: str | None, *, owner: str = "read_user_table") -> None:
    """Raise :class:`~kzmig.core.errors.ConfigError` for a decimal or thousands option kzmig cannot use."""
    if decimal is not None and decimal not in DECIMALS:
        raise ConfigError(f"{owner}: decimal={decimal!r} (--decimal); give '.' or ','.")
    if thousands is not None and thousands not in THOUSANDS and thousands not in set(SPACES):
        raise ConfigError(f"{owner}: thousands={thousands!r} (--thousands); give ' ' (any space, also "
                          "non-breaking), ',', '.' or '' (none).")
    if decimal is not None and thousands is not None and decimal == thousands:
        raise ConfigError(f"{owner}: decimal and thousands are both {decimal!r}; they must differ.")


def _texts(cells: pd.Series) -> pd.Series:
    """The non-blank text cells of ``cells`` (numbers already typed, as in XLSX, are left out)."""
    is_text = cells.map(lambda v: isinstance(v, str))
    s = cells[is_text].astype("string").str.strip()
    return s[s.notna() & (s != "")]


def decide(cells: pd.Series, *, separator: str | None, decimal: str | None = None,
           thousands: str | None = None) -> NumberFormat:
    """The number format of a column (see the module docstring).

    Raises
    ------
    AmbiguousNumbers
        When the cells mix a decimal comma and a decimal point, or hold only ``d,ddd`` cells
        outside a ``;``-separated file, and ``decimal`` is not given.
    """
    check_options(decimal, thousands)
    if thousands is not None and thousands in set(SPACES):
        thousands = " "
    s = _texts(cells)
    if decimal is None and thousands in (",", "."):
        decimal = "," if thousands == "." else "."
    if decimal is None:
        space = s.str.match(_SPACE_GROUPS)
        frac = s.str.extract(_SPACE_GROUPS)[0]
        one = s.str.match(_COMMA_GROUP_ONE)
        comma = (s.str.match(_COMMA_DEC) & ~one) | (space & (frac == ","))
        point = s.str.match(_POINT) | (s.str.match(_COMMA_GROUPS) & ~one) | (space & (frac == "."))
        if comma.any() and point.any():
            ex = [(i, s[i]) for i in s.index[comma][:2]] + [(i, s[i]) for i in s.index[point][:2]]
            raise AmbiguousNumbers("mixes decimal commas and decimal points", ex)
        if comma.any():
            decimal = ","
        elif point.any():
            decimal = "."
        elif one.any():
            if separator != ";":
                raise AmbiguousNumbers("holds numbers such as '1,234' that may have a decimal comma (1.234) or a "
                                       "comma between thousands (1234)", [(i, s[i]) for i in s.index[one][:3]])
            decimal = ","
        else:
            decimal = "."
    if thousands is None:
        thousands = "," if decimal == "." and s.str.match(_COMMA_GROUPS).any() and not s.str.match(_SPACE_GROUPS).any() else " "
    return NumberFormat(decimal, thousands)


def normalise(cells: pd.Series, fmt: NumberFormat) -> pd.Series:
    """``cells`` with every text cell that follows ``fmt`` rewritten as a plain number (``4.7``).

    Typed numbers, blanks and cells that follow no convention (``'n/a'``, ``'1 23'``) are
    returned as they are.
    """
    th = re.escape(fmt.thousands) if fmt.thousands != " " else _SP
    dec = re.escape(fmt.decimal)
    grouped = re.compile(rf"^[+-]?\d{{1,3}}(?:{th}\d{{3}})+(?:{dec}\d+)?{_EXP}$") if fmt.thousands else None
    plain = re.compile(rf"^[+-]?(?:\d+(?:{dec}\d*)?|{dec}\d+){_EXP}$")

    def one(v: object) -> object:
        if not isinstance(v, str):
            return v
        t = v.strip()
        if not t or not re.search(r"\d", t):
            return v
        if grouped is not None and grouped.match(t):
            t = re.sub(th, "", t)
        elif not plain.match(t):
            return v
        return t.replace(fmt.decimal, ".") if fmt.decimal != "." else t

    return cells.map(one)


def foreign(cells: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Text cells holding a decimal point in a column read with a decimal comma (``4.7`` where the
    file writes ``4,7``): :func:`pandas.to_numeric` would read them, but in this convention
    ``1.234`` may mean 1234, so they are reported instead."""
    if fmt.decimal != "," or fmt.thousands == ".":
        return pd.Series(False, index=cells.index)
    return cells.map(lambda v: isinstance(v, str) and "." in v and bool(re.search(r"\d", v)))
