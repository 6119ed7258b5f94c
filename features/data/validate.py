"""Content checks of a long region-year-variable table, every class of problem in one pass.

Each check adds the offending rows of its class to a :class:`Problems` report; the report is
raised once, grouped by kind, listing the offending rows of each kind (the first
:data:`MAX_LISTED`, then a count of the rest) with file row, region, year and variable. The
column schema itself (names, dtypes, year range) is a pandera schema.

A table read from a file (:func:`kzmig.features.data.io.read_user_table`) carries where each row came
from in two helper columns, ``_row`` (the file's row number, header = row 1) and ``_sheet``
(XLSX only), next to ``year``: a wide-by-year cell is located by its row *and* its year.
Messages use them when present, else the frame's index.
"""
from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from kzmig.core.errors import PanelContractError
from kzmig.features.data.variables import RATE_BASES, RATE_OF, VARIABLES, known_variables

logger = logging.getLogger(__name__)

MAX_LISTED = 8
ROW_COL, SHEET_COL = "_row", "_sheet"  # file location of a row (see module docstring)
SCALE_RATIO = 300.0  # a value this many times off both neighbours is a scale slip, not data
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")  # variable names
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+(,\d+)?$|^[+-]?\d+,\d+$")

SCHEMA = pa.DataFrameSchema(
    {
        "region": pa.Column(str, nullable=False),
        "year": pa.Column(int, pa.Check.in_range(1990, 2100), nullable=False),
        "variable": pa.Column(str, pa.Check.str_matches(_SNAKE.pattern), nullable=False),
        "value": pa.Column(float, nullable=True),
        "unit": pa.Column(str, nullable=True, required=False),
    },
    strict=False,
    coerce=False,
)


@dataclass
class Problems:
    """The problems found in one table, by kind, raised together by :meth:`raise_if_any`.

    Each kind is one line of the message: what is wrong, the first :data:`MAX_LISTED` rows
    (file row, region, year, column), a count of the rest, and how to fix it.
    """

    source: str
    kinds: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        """Record a kind of problem; ``text`` is its one-line description (without the source)."""
        self.kinds.append((kind, text))

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def message(self) -> str:
        if len(self.kinds) == 1:
            return f"{self.source}: {self.kinds[0][1]}"
        head = (f"{self.source}: {len(self.kinds)} kinds of problem ("
                + ", ".join(k for k, _ in self.kinds) + "); all are listed, fix them and check again:")
        return head + "".join(f"\n- {k}: {t}" for k, t in self.kinds)

    def raise_if_any(self) -> None:
        """Raise :class:`PanelContractError` listing every kind recorded, if any."""
        if self.kinds:
            raise PanelContractError(self.message())


def location(record: pd.Series, label: object = None) -> str:
    """Where a row of a table came from: ``"row 7"`` or ``"sheet 'b' row 7"``.

    Uses the ``_row`` / ``_sheet`` columns of a table read from a file, else ``label``
    (the frame's index label of the row).
    """
    row = record.get(ROW_COL, label)
    sheet = record.get(SHEET_COL)
    where = f"row {row}"
    return where if sheet is None or pd.isna(sheet) else f"sheet {sheet!r} {where}"


def _rows(df: pd.DataFrame, mask: pd.Series, extra: Callable[[pd.Series], str] | None = None) -> str:
    bad = df[mask]
    items = []
    for idx, r in bad.head(MAX_LISTED).iterrows():
        txt = f"{location(r, idx)}: (region={r['region']!r}, year={r['year']}, variable={r['variable']!r}"
        txt += f", value={r['value']!r})" if extra is None else f", {extra(r)})"
        items.append(txt)
    more = f"; ... and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return "; ".join(items) + more


def non_numeric(df: pd.DataFrame) -> pd.Series:
    """Cells of ``value`` that are not finite numbers (blank cells are missing, not errors).

    ``inf`` and ``1e999`` are flagged too: no statistic is infinite.
    """
    raw = df["value"]
    if pd.api.types.is_numeric_dtype(raw):
        return pd.Series(np.isinf(raw.astype("float64")), index=df.index)
    s = raw.astype("string").str.strip()
    num = pd.to_numeric(s, errors="coerce")
    return (num.isna() & s.notna() & (s != "")) | np.isinf(num.astype("float64"))


def _hint(value: str) -> str:
    if _GROUPED_NUMBER.match(str(value).strip()):
        return (f"{value!r} looks like a number written with a space as thousands separator and/or a "
                "decimal comma, but the file is read otherwise; give the file's convention (decimal=',' "
                "and/or thousands=' ' in Python, --decimal , / --thousands ' ' on the command line) or "
                "write it with a decimal point and no spaces (e.g. '1 234,5' -> 1234.5)")
    if np.isinf(pd.to_numeric(pd.Series([str(value).strip()]), errors="coerce").iloc[0]):
        return f"{value!r} is infinite; give a finite number, or leave the cell blank if the value is missing"
    return f"{value!r} is not a number"


def check_long(df: pd.DataFrame, source: str = "table", problems: Problems | None = None) -> pd.DataFrame:
    """Validate a long table and return it with ``value`` as float64.

    Every class of problem is looked for in one pass: non-numeric values, schema (types, year
    range), duplicate keys, mixed units for one variable, negative counts, values outside a
    plausible range, values ~1000x off their neighbours. Non-numeric cells are left out of
    the checks on values.

    Parameters
    ----------
    problems : Problems, optional
        A report to add to (the caller raises it); by default one is made and raised here.

    Raises
    ------
    PanelContractError
        Listing every class found (only when ``problems`` is not given).
    """
    absent = [c for c in ("region", "year", "variable", "value") if c not in df.columns]
    if absent:
        raise PanelContractError(f"{source}: missing column(s) {absent}; found columns {list(df.columns)}.")
    report = Problems(source) if problems is None else problems
    bad = non_numeric(df)
    if bad.any():
        report.add("non-numeric values", f"column 'value' has {int(bad.sum())} non-numeric cell(s): "
                   + _rows(df, bad, lambda r: _hint(r["value"])))
    raw = df["value"] if pd.api.types.is_numeric_dtype(df["value"]) else df["value"].astype("string").str.strip()
    value = pd.to_numeric(raw, errors="coerce").astype("float64")
    df = df.assign(value=value.where(~bad))
    try:
        SCHEMA.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        first = fc.iloc[0]
        labels = fc.loc[fc["column"] == first["column"], "index"].dropna().head(MAX_LISTED).tolist()
        col = first["column"]
        where = f"; e.g. {_rows(df, df.index.isin(labels))}" if labels else ""
        # names that are not snake_case are already reported (with suggestions) as unknown variables
        if not (col == "variable" and any(k == "unknown variables" for k, _ in report.kinds)):
            report.add("schema", f"column {col!r} fails {first['check']!r} in {len(fc)} row(s){where}. "
                       "Years must be whole numbers in 1990-2100; variables snake_case.")
    dup = df.duplicated(["region", "year", "variable"], keep=False)
    if dup.any():
        report.add("duplicate keys", f"{int(dup.sum())} rows repeat a (region, year, variable) key; each must be "
                   "unique: " + _rows(df, dup))
    if "unit" in df:
        units = df.groupby("variable")["unit"].nunique(dropna=True)
        for v in units[units > 1].index.tolist()[:MAX_LISTED]:
            seen = sorted(df.loc[df["variable"] == v, "unit"].dropna().unique().tolist())
            mask = (df["variable"] == v) & (df["unit"] != df.loc[df["variable"] == v, "unit"].mode().iloc[0])
            report.add("mixed units", f"variable {v!r} mixes units {seen}; convert to one unit first. Rows in the "
                       f"minority unit: " + _rows(df, mask, lambda r: f"unit={r['unit']!r}"))
    kinds = df["variable"].map(lambda v: VARIABLES[v].kind if v in VARIABLES else None)
    neg = (kinds == "count") & (df["value"] < 0)
    if neg.any():
        report.add("negative counts", f"{int(neg.sum())} negative count(s): " + _rows(df, neg))
    lo = df["variable"].map(lambda v: VARIABLES[v].lo if v in VARIABLES else -np.inf)
    hi = df["variable"].map(lambda v: VARIABLES[v].hi if v in VARIABLES else np.inf)
    out = ((df["value"] < lo) | (df["value"] > hi)) & ~neg  # a negative count is reported once, as such
    if out.any():
        report.add("implausible values", f"{int(out.sum())} value(s) outside the plausible range of their "
                   "variable: " + _rows(df, out, lambda r: f"value={r['value']!r} not in "
                                    f"[{VARIABLES[r['variable']].lo:g}, {VARIABLES[r['variable']].hi:g}]"))
    slip = scale_slips(df)
    if slip.any():
        report.add("scale slips", f"{int(slip.sum())} value(s) are ~1000x off both neighbouring years of their "
                   "series (the BNS export scale defect: extra groups of zeros, see SOURCES.md); check and "
                   "divide by the right power of 1000: " + _rows(df, slip))
    if problems is None:
        report.raise_if_any()
    return df


def scale_slips(df: pd.DataFrame) -> pd.Series:
    """True where |value| is >= 300x (or <= 1/300) both the previous and next year's value.

    A neighbour equal to 0 gives no ratio and counts as absent: a small count after a zero
    (1 emigrant to Tajikistan after 0) is not a scale slip.
    """
    d = df[["region", "variable", "year", "value"]].copy()
    d = d.sort_values(["region", "variable", "year"], kind="stable")
    g = d.groupby(["region", "variable"], sort=False)["value"]
    prev, nxt = g.shift(1).abs(), g.shift(-1).abs()
    prev, nxt = prev.where(prev > 0), nxt.where(nxt > 0)
    v = d["value"].abs()
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = v / prev, v / nxt
    high = (r1 >= SCALE_RATIO) & (r2 >= SCALE_RATIO)
    low = (r1 <= 1 / SCALE_RATIO) & (r2 <= 1 / SCALE_RATIO) & (v > 0)
    # series ends: only one neighbour
    end_high = (prev.isna() & (r2 >= SCALE_RATIO)) | (nxt.isna() & (r1 >= SCALE_RATIO))
    flag = (high | low | end_high).fillna(False)
    return flag.reindex(df.index).astype(bool)


NEAR_MISS = 0.85  # difflib ratio from which an unknown name is taken for a misspelling


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    swap = a[i:i + 2] == b[i:i + 2][::-1] and a[i + 2:] == b[i + 2:]
    return a[i + 1:] == b[i + 1:] or a[i:] == b[i + 1:] or a[i + 1:] == b[i:] or swap


def near_misses(name: str, known: Iterable[str]) -> list[str]:
    """Known names that ``name`` is most likely a misspelling of (case and separators ignored)."""
    low = re.sub(r"[\s.\-]+", "_", name.strip().lower())
    return [k for k in known if k == low or _one_edit(low, k)
            or difflib.SequenceMatcher(None, low, k).ratio() >= NEAR_MISS]


def _declared(df: pd.DataFrame, name: str) -> bool:
    """Every row of ``name`` gives a non-blank ``unit`` and ``source``."""
    if not {"unit", "source"} <= set(df.columns):
        return False
    rows = df.loc[df["variable"] == name, ["unit", "source"]].astype("string")
    return bool(rows.apply(lambda c: c.str.strip().fillna("") != "").all(axis=None))


def check_variables(df: pd.DataFrame, source: str = "table", allow_new: bool | Iterable[str] = False,
                    problems: Problems | None = None) -> None:
    """Reject variable names the toolkit does not know, suggesting the closest known ones.

    Parameters
    ----------
    df : DataFrame
        Long table with a ``variable`` column (and optionally ``unit``, ``source``).
    source : str
        File name used in messages.
    allow_new : bool or iterable of str, default False
        Names of new series to accept as they are; ``True`` accepts every new name that is
        not a near-miss of a known one.
    problems : Problems, optional
        A report to add to (the caller raises it); by default the error is raised here.

    Raises
    ------
    PanelContractError
        On a blank variable cell, or an unknown name that is not a new series (only when
        ``problems`` is not given).

    Notes
    -----
    Known names are :func:`kzmig.features.data.variables.known_variables` (shipped, derived, rates).
    An unknown name is a *new series* when it is listed in ``allow_new``, or, unless it is a
    near-miss of a known name (one edit away, or a difflib ratio >= 0.85, ignoring case),
    when ``allow_new=True`` or the file declares it by giving a ``unit`` and a ``source`` on
    every one of its rows. New series may cover any regions, e.g. only ``kazakhstan``.
    """
    report = Problems(source) if problems is None else problems
    names = df["variable"].astype("string").str.strip()
    blank = names.isna() | (names == "")
    if blank.any():
        report.add("blank variables", f"column 'variable' is blank in {int(blank.sum())} row(s): "
                   + _rows(df, blank, lambda r: f"value={r['value']!r}") + "; name the series of each row.")
    names = names[~blank]
    known = known_variables()
    listed = {allow_new} if isinstance(allow_new, str) else set() if isinstance(allow_new, bool) else set(allow_new)
    parts, bad, new = [], [], []
    for name in sorted(set(names) - set(known) - listed):
        near = near_misses(name, known)
        if not near and (allow_new is True or _declared(df, name)):
            new.append(name)
            continue
        close = near or difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        rows = names == name
        first = df.loc[rows[rows].index].iloc[0]
        hint = f" -> closest known: {', '.join(map(repr, close))}" if close else " -> no close known name"
        if not _SNAKE.match(name):
            hint += " (names are snake_case: lower-case letters, digits and '_')"
        elif near and _declared(df, name):
            hint += " (it has a unit and a source like a new series, but is too close to a known name to be one)"
        bad.append(repr(name))
        parts.append(f"{name!r} ({location(first, rows[rows].index[0])}: region={first['region']!r}, "
                     f"year={first['year']}; {int(rows.sum())} row(s) in all){hint}")
    if new:
        logger.info("%s: new series (not in features/data/variables.py): %s", source, ", ".join(new))
    if parts:
        report.add("unknown variables",
                   f"column 'variable' has {len(parts)} unknown name(s): " + "; ".join(parts[:MAX_LISTED])
                   + (f"; ... and {len(parts) - MAX_LISTED} more" if len(parts) > MAX_LISTED else "")
                   + ". Known names are those of features/data/variables.py, plus population_avg, external_net and "
                   "<count>_rate_per_1000/_per_10000, which the loader computes. To load a genuinely new series, "
                   f"give it a 'unit' and a 'source' on each of its rows, or pass allow_new=[{', '.join(bad[:3])}].")
    if problems is None:
        report.raise_if_any()


def _derived_inputs(name: str) -> tuple[str, ...]:
    """Inputs from which ``kzmig.features.data.dataset`` computes ``name`` (empty when it is not derived)."""
    if name == "population_avg":
        return ("population",)
    if name == "external_net":
        return ("net_migration", "interregional_net")
    for suffix in RATE_BASES:
        base = name.removesuffix(f"_rate_{suffix}")
        if base != name and base in RATE_OF:
            return (base, "population")
    return ()


def _derivable(name: str, present: set[str]) -> bool:
    if name == "net_migration":  # by the balancing equation, where BNS publishes none
        return {"population", "natural_increase"} <= present
    inputs = _derived_inputs(name)
    return bool(inputs) and all(i in present or _derivable(i, present) for i in inputs)


def check_derived(df: pd.DataFrame, source: str = "table", problems: Problems | None = None) -> None:
    """Reject a derived variable given together with the inputs the loader computes it from.

    :func:`kzmig.features.data.dataset.load_long` adds ``population_avg``, ``external_net`` and rates
    from their inputs; a file holding both would give two values for one key.

    Raises
    ------
    PanelContractError
        Naming the derived variable, its inputs and its first rows.
    """
    report = Problems(source) if problems is None else problems
    present = set(df["variable"].dropna())
    for name in sorted(present):
        if _derived_inputs(name) and _derivable(name, present):
            inputs = ", ".join(map(repr, _derived_inputs(name)))
            report.add("derived variables given", 
                       f"variable {name!r} is computed by the loader from {inputs}, which the file also "
                       f"holds, so it would get two values per region-year: " + _rows(df, df["variable"] == name)
                       + f". Delete the {name!r} rows (the loader derives them) or the rows of its inputs.")
    if problems is None:
        report.raise_if_any()
