"""Tables for people: region names beside the keys, and workbooks with one sheet per table."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from kzmig.core.atomic import atomic_path
from kzmig.features.data.regions import load_regions


def with_names(df: pd.DataFrame) -> pd.DataFrame:
    """Insert ``region_name_ru`` and ``region_name_en`` right after ``region`` (English key kept)."""
    if "region" not in df.columns:
        return df
    reg = load_regions().set_index("region")
    out = df.copy()
    pos = list(out.columns).index("region") + 1
    out.insert(pos, "region_name_ru", out["region"].map(reg["name_ru"]).astype("string"))
    out.insert(pos + 1, "region_name_en", out["region"].map(reg["name_en"]).astype("string"))
    return out


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per table (name cut to Excel's 31 characters), Russian and English names beside keys."""
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
            for name, df in tables.items():
                sheet = name[:31]
                frame = with_names(df)
                frame.to_excel(xl, sheet_name=sheet, index=False)
                ws = xl.sheets[sheet]
                ws.freeze_panes(1, 0)
                for i, col in enumerate(frame.columns):
                    longest = max((len(str(v)) for v in frame[col]), default=0)
                    ws.set_column(i, i, min(60, max(10, len(str(col)) + 2, longest + 1)))
    return Path(path)


def write_regression_workbook(tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Side-by-side regression tables (:func:`kzmig.models.panel.tables.side_by_side`), one sheet each, atomically.

    Sheet names are cut to Excel's 31 characters; standard-error rows lose their label.
    """
    def write(tmp: str) -> None:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as xw:
            for sheet, tab in tables.items():
                out = tab.rename(index=lambda s: "" if s.endswith(" (se)") else s)
                out.to_excel(xw, sheet_name=str(sheet)[:31], index_label="term")
                xw.sheets[str(sheet)[:31]].set_column(0, len(tab.columns), 18)
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)
