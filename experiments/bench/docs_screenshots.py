"""The screenshots of the manual: a run's report and a workbook sheet, in headless Chromium.

    .venv/bin/python experiments/bench/docs_screenshots.py /tmp/base-out docs/img

writes ``report_first_page.png`` (the first screen of ``report.html`` at 1280 x 1000) and
``workbook_sheet.png``: an HTML rendering (pandas Styler) of the first rows and columns of the
workbook sheet ``--sheet`` (default: the first target sheet, the third of the workbook), each value shown with the cell's own
Excel number format, since no spreadsheet program runs here. The picture says so in its caption.
Needs the ``playwright`` package and a Chromium on the machine (``tests/browser_check.py``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from browser_check import find_chromium  # noqa: E402


def _shown(value, number_format: str) -> str:
    """A cell's value as Excel shows it, for the formats the workbook uses."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        fmt = number_format or "General"
        if fmt.startswith("#,##0"):
            decimals = len(fmt.split(".")[1]) if "." in fmt else 0
            return f"{value:,.{decimals}f}"
        if fmt == "0%":
            return f"{value:.0%}"
        if fmt.startswith("0.") or fmt == "0":
            decimals = len(fmt.split(".")[1]) if "." in fmt else 0
            return f"{value:.{decimals}f}"
        return f"{value:g}"
    return str(value)


def sheet_html(workbook: Path, sheet: str | None, rows: int = 24, cols: int = 12) -> str:
    wb = openpyxl.load_workbook(workbook)
    sheet = sheet or wb.sheetnames[2]  # after the cover and the notes: the first target (a Russian run's names)
    ws = wb[sheet]
    cells = [list(r[:cols]) for r in ws.iter_rows(max_row=rows)]
    grid = [[_shown(c.value, c.number_format) for c in r] for r in cells]
    numeric = [[isinstance(c.value, (int, float)) and not isinstance(c.value, bool) for c in r] for r in cells]
    frame = pd.DataFrame(grid, columns=[openpyxl.utils.get_column_letter(i + 1) for i in range(len(grid[0]))])
    frame.index = range(1, len(frame) + 1)
    caption = (f"HTML rendering of the first {rows} rows and {cols} columns of sheet '{sheet}' of "
               f"{workbook.parent.name}/{workbook.name}, each value with its cell's number format (not Excel)")
    styler = (frame.style.set_caption(caption)
              .set_table_styles([{"selector": "td, th", "props": "border:1px solid #bbb;padding:2px 6px;"
                                                             "font:12px Arial,sans-serif;white-space:nowrap"},
                                 {"selector": "th", "props": "background:#eee"},
                                 {"selector": "caption", "props": "caption-side:top;font:bold 13px Arial;"
                                                                  "text-align:left;padding:4px 0"}])
              # numbers right, text left; a long text is cut at its cell as a narrow Excel column shows it
              .apply(lambda _: pd.DataFrame([["text-align:right" if n else "text-align:left;max-width:22em;"
                                              "overflow:hidden;text-overflow:ellipsis" for n in row]
                                             for row in numeric], index=frame.index, columns=frame.columns),
                     axis=None))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:8px}'
            "table{border-collapse:collapse}</style></head><body>" + styler.to_html() + "</body></html>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a planning run folder (kzmig run ... --out RUN)")
    parser.add_argument("out", type=Path, help="folder of the screenshots, e.g. docs/img")
    parser.add_argument("--sheet", default=None, help="sheet name (default: the first target sheet)")
    args = parser.parse_args(argv)
    exe = find_chromium()
    if exe is None:
        print("no Chromium on this machine", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    html = args.out / ".workbook_sheet.html"
    html.write_text(sheet_html(args.run / "planning" / "forecast_tables.xlsx", args.sheet), encoding="utf-8")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto((args.run / "report.html").resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(args.out / "report_first_page.png"))
            page = browser.new_page(viewport={"width": 1280, "height": 600})
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.locator("table").screenshot(path=str(args.out / "workbook_sheet.png"))
            browser.close()
    finally:
        html.unlink(missing_ok=True)
    print(f"wrote {args.out / 'report_first_page.png'} and {args.out / 'workbook_sheet.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
