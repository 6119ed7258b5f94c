"""The README's accuracy table, from a forecast run folder.

Reads ``accuracy_honest.csv`` and ``backtest_metrics.csv`` of a ``kzmig forecast`` run (or of
a planning run's ``forecast/<study>/`` folder; a planning run's own folder prints one table per
study) and prints, per target:

* the model the study selected and its backtest MASE as the study reports it (mean over
  horizons; optimistic, because the selection saw those years);
* the MASE of the nested selection (at each origin the model with the best score on the errors
  known there, :func:`kzmig.forecast.engine.honest.nested_selection`), and on the same cells the MASE
  of the naive forecast, the mean of the last years and the historic mean;
* the ratio of the nested selection's MASE to the best of those three baselines (chosen after
  the fact, which favours the baselines), with its bootstrap interval (regions resampled; origins
  for a national-only target);
* the cells scored, and the 80 % / 95 % interval coverage of the nested selection on every
  year and on the years without a break (over the cells that have an interval at that level:
  conformal intervals need enough earlier residuals, so early origins may have none; the
  table says on how many cells when that is fewer).

Nothing is recomputed: every number is read from the run's tables. Run with kzmig's
dependencies installed, from any folder::

    python experiments/bench/accuracy_table.py RUN_DIR [--format markdown|csv]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

AGGREGATES = ("all_regions", "all_series")  # kzmig.forecast.engine.steps.AGGREGATES, the study's selection rows
NESTED = "nested_selection"
ROLES = {"naive": "naive", "mean": "mean of last years", "historic": "historic mean"}


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.0f} %"


def _num(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.3f}"


def _coverage(row: pd.Series) -> str:
    """``"80 % / 95 %"`` coverage of a score row, naming the cells and those without an interval."""
    text = f"{_pct(row.get('coverage_80'))} / {_pct(row.get('coverage_95'))} ({int(row['cells'])} cells"
    short = [f"{lv} % interval on {int(row[f'interval_cells_{lv}'])}" for lv in (80, 95)
             if f"interval_cells_{lv}" in row and row[f"interval_cells_{lv}"] < row["cells"]]
    return text + ("; " + ", ".join(short) if short else "") + ")"


def accuracy_table(run_dir: str | Path) -> pd.DataFrame:
    """One row per target of a forecast run folder: the README's accuracy table.

    Parameters
    ----------
    run_dir : path
        Folder holding ``accuracy_honest.csv`` and ``backtest_metrics.csv``.

    Returns
    -------
    DataFrame
        Formatted (string) columns, in the order printed.
    """
    run_dir = Path(run_dir)
    acc = pd.read_csv(run_dir / "accuracy_honest.csv")
    metrics = pd.read_csv(run_dir / "backtest_metrics.csv")
    rows = []
    for target, a in acc.groupby("target", sort=False):
        every = a.loc[a["aggregate"].isin(AGGREGATES)].set_index("model")
        clean = a.loc[~a["aggregate"].isin(AGGREGATES)].set_index("model")
        nested = every.loc[NESTED]
        selected = every.index[every["study_selected"].astype(bool)][0]
        m = metrics.loc[(metrics["target"] == target) & metrics["region"].isin(AGGREGATES)]
        as_selected = m.loc[m["model"] == selected, "mase"].mean()
        base = {r: every.index[every["role"].fillna("").str.split("+").apply(lambda x, r=r: r in x)]
                for r in ROLES}
        base = {r: names[0] for r, names in base.items() if len(names)}
        best = min(base, key=lambda r: every.loc[base[r], "mase"])
        ratio, lo, hi = (nested[f"ratio_{best}{s}"] for s in ("", "_lo", "_hi"))
        pct = round(100 * nested["interval_level"])
        cells = (f"{int(nested['cells'])} ({int(nested['series'])} series x {int(nested['origins'])} origins; "
                 f"{int(nested['origins_left_out'])} left out)")
        row = {"target": target, "selected (study)": selected, "MASE as selected": _num(as_selected),
               "nested-selection MASE": _num(nested["mase"])}
        for r, label in ROLES.items():
            row[label] = f"{_num(every.loc[base[r], 'mase'])} ({base[r]})" if r in base else "n/a"
        row[f"nested / best baseline [{pct} % CI]"] = (f"{_num(ratio)} [{_num(lo)}, {_num(hi)}] vs {base[best]}, "
                                                       f"{nested['resampled']} resampled")
        row["cells"] = cells
        row["coverage 80/95 all years"] = _coverage(nested)
        row["coverage 80/95 no break years"] = _coverage(clean.loc[NESTED]) if NESTED in clean.index else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of string columns."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def _study_name(folder: Path) -> str:
    manifest = folder / "manifest.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("name", folder.name))
    return folder.name


def _folders(run_dir: Path) -> list[Path]:
    if (run_dir / "accuracy_honest.csv").is_file():
        return [run_dir]
    found = sorted(p.parent for p in run_dir.glob("forecast/*/accuracy_honest.csv"))
    if not found:
        raise SystemExit(f"{run_dir}: no accuracy_honest.csv here or in forecast/<study>/; run `kzmig forecast` "
                         "(or `kzmig run`) with this version of kzmig first.")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="forecast run folder, a planning run's forecast/<study>/, or a "
                                                   "planning run folder")
    parser.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    args = parser.parse_args(argv)
    for folder in _folders(args.run_dir):
        table = accuracy_table(folder)
        if args.format == "csv":
            table.assign(run=str(folder)).to_csv(sys.stdout, index=False)
        else:
            print(f"{_study_name(folder)} ({folder}):\n\n{markdown(table)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
