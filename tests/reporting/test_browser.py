"""report.html in a real browser (headless Chromium through Playwright): images load, no text overflows.

The page is the SYNTHETIC report of ``test_report.py`` (tables, fan and accuracy charts, a
long caveat under a chart, a long unbroken word); the planning run's own report is checked the
same way in ``tests/cli/test_run.py``. Skipped, with the reason, where no Chromium is installed.
"""
from __future__ import annotations

import pandas as pd
from browser_check import chromium_or_skip, open_page
from test_report import META, _sections

from kzmig.reporting.charts import add_footnote
from kzmig.reporting.planning_charts import plot_fan
from kzmig.reporting.report import TableBlock, write_report


def _page(tmp_path, forecasts, accuracy, history):
    sections = _sections(forecasts, accuracy, history)
    fan = plot_fan(history, forecasts, "net_migration", "akmola")
    add_footnote(fan, "Caveat: " + "composition-based estimate, read it as an order of magnitude; " * 4)
    wide = pd.DataFrame({f"column_{i}_with_a_long_name": [1234.5 * i] for i in range(14)})
    sections.append(("Wide and long content", [
        fan, TableBlock(wide, caption="fourteen columns"),
        "a_very_long_identifier_" * 12,
    ]))
    return write_report(tmp_path / "report.html", sections, title="Synthetic run", meta=META)


def test_images_load_and_no_text_overflows(tmp_path, forecasts, accuracy, history):
    chromium_or_skip()
    found = open_page(_page(tmp_path, forecasts, accuracy, history))
    assert len(found["images"]) == 4
    for img in found["images"]:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
    assert found["overflow"] == []
    assert found["page_width"] <= found["viewport"]  # nothing makes the page scroll sideways


def test_the_check_sees_an_overflow_and_a_broken_image(tmp_path):
    """Control: a fixed-width cell with an unbroken word, and an image that cannot load, are caught."""
    chromium_or_skip()
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p style="width:80px;overflow:hidden">'
                    + "x" * 200 + '</p><img src="data:image/png;base64,AAAA" alt="broken"></body></html>',
                    encoding="utf-8")
    found = open_page(page)
    assert [o["tag"] for o in found["overflow"]] == ["p"]
    assert found["images"][0]["width"] == 0
