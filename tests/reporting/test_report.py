"""report.html on the SYNTHETIC run: parsed back with the standard library's html.parser."""
from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import pandas as pd
import pytest
from matplotlib.figure import Figure

from kzmig.reporting.planning import planning_targets
from kzmig.reporting.planning_charts import plot_accuracy, plot_fan, plot_population
from kzmig.reporting.report import STANDARD_SECTIONS, FigureBlock, TableBlock, build_report, write_report

META = {"run_id": "r-42", "created_at": "2025-03-01T10:00:00Z", "vintage": {"population": 2025, "net_migration": 2024}}


class Page(HTMLParser):
    """Tags with their attributes, the text of every cell and caption, and the plain text."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack, self.cells, self.ids = [], [], [], [], []
        self.table_rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)
        if tag == "tr":
            self.table_rows.append([])
        if "id" in dict(attrs):
            self.ids.append(dict(attrs)["id"])

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        self.text.append(data)
        if self.stack and self.stack[-1] in ("td", "th"):
            self.table_rows[-1].append(data)


def _parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    p.close()
    return p


def _sections(forecasts, accuracy, history):
    targets = planning_targets(forecasts)
    acc = accuracy.loc[accuracy["horizon"] > 0]
    regression = pd.DataFrame({"term": ["unemployment_rate_pct", "wage_index"], "estimate": [-0.412, 1.3],
                               "std_error": [0.1, 0.52]})
    scen = pd.DataFrame({"scenario": ["high", "low"], "region": ["astana", "kazakhstan"], "year": [2027, 2027],
                         "point": [1500.0, 800.0]})
    return [
        (STANDARD_SECTIONS[0], ["Net migration to the capital stays positive (synthetic).",
                                "Source tables: https://taldau.stat.gov.kz (plain text, not a link)."]),
        (STANDARD_SECTIONS[1], [TableBlock(regression, caption="Two-way fixed effects", formats={"estimate": "{:.3f}"})]),
        (STANDARD_SECTIONS[2], [TableBlock(targets[["target", "model", "interval"]], caption="Chosen models"),
                                acc, FigureBlock(plot_accuracy(accuracy, "net_migration", selected="arima"),
                                                 alt="MASE by horizon", caption="naive dashed")]),
        (STANDARD_SECTIONS[3], [plot_fan(history, forecasts, "net_migration", "astana"), plot_population(history, forecasts)]),
        (STANDARD_SECTIONS[4], [TableBlock(scen, caption="Scenarios, 2027", formats={"point": "{:,.0f}"})]),
        (STANDARD_SECTIONS[5], [["No flows by specialty before 2017.", "No district-level data."]]),
        ("Empty", []),
    ]


@pytest.fixture
def page_text(forecasts, accuracy, history):
    return build_report(_sections(forecasts, accuracy, history), title="Synthetic run", meta=META)


def test_every_table_and_image_is_present_and_decodes(page_text):
    page = _parse(page_text)
    assert sum(t == "table" for t, _ in page.tags) == 4
    imgs = [a for t, a in page.tags if t == "img"]
    assert len(imgs) == 3
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,") and a["alt"]
        data = base64.b64decode(a["src"].split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert {a["alt"] for a in imgs} >= {"MASE by horizon", "net_migration: Astana city / г. Астана"}
    assert sum(t == "caption" for t, _ in page.tags) == 3


def test_no_network_reference_outside_plain_text(page_text):
    page = _parse(page_text)
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object", "embed")]
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert "http://" not in (value or "") and "https://" not in (value or ""), (tag, name)
    assert "https://taldau.stat.gov.kz" in "".join(page.text)  # allowed: shown as text
    assert "@import" not in page_text and "url(" not in page_text


def test_structure_toc_sections_names_and_formats(page_text):
    page = _parse(page_text)
    links = [a["href"] for t, a in page.tags if t == "a"]
    assert links == [f"#s{i}" for i in range(1, 8)]
    assert [i for i in page.ids if i.startswith("s")] == [f"s{i}" for i in range(1, 8)]
    headings = [d for d in page.text if d in STANDARD_SECTIONS]
    assert headings[:6] == list(STANDARD_SECTIONS)  # in the contents
    rows = page.table_rows
    assert ["term", "estimate", "std_error"] in rows and ["unemployment_rate_pct", "-0.412", "0.1"] in rows  # statistics: 3 significant digits
    assert ["scenario", "region", "region_name_ru", "region_name_en", "year", "point"] in rows
    assert ["high", "astana", "г. Астана", "Astana city", "2027", "1,500"] in rows
    text = "".join(page.text)
    assert "No district-level data." in text and "Nothing to report." in text
    assert "population to 2025; net migration to 2024" in text and "r-42" in text


def test_same_input_same_bytes(forecasts, accuracy, history, tmp_path):
    a = write_report(tmp_path / "a.html", _sections(forecasts, accuracy, history), title="t", meta=META)
    b = write_report(tmp_path / "b.html", _sections(forecasts, accuracy, history), title="t", meta=META)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().startswith(b"<!DOCTYPE html>")


def test_text_is_escaped_and_unknown_blocks_are_refused():
    out = build_report([("<b>x</b>", ["a < b & c"])], title="T&T", meta={})
    assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out and "a &lt; b &amp; c" in out
    with pytest.raises(TypeError, match="int"):
        build_report([("h", [42])], title="t", meta={})


def test_missing_values_and_bare_figure():
    fig = Figure()
    fig.subplots().set_title("a chart")
    out = build_report([("h", [pd.DataFrame({"x": [1.5, None]}), fig])], title="t", meta={})
    page = _parse(out)
    assert ["–"] in page.table_rows and ["1.5"] in page.table_rows
    assert [a["alt"] for t, a in page.tags if t == "img"] == ["a chart"]
    assert io.BytesIO(base64.b64decode(out.split("base64,")[1].split('"')[0])).read(4) == b"\x89PNG"
