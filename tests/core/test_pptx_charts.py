"""Charts read from their XML: every plot type, Office 2016 chartex parts, values, bounds, and a
broken chart that costs only itself."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pptx import Presentation
from pptx.oxml.ns import qn

from osmose_dagster.core.extract.charts import MAX_POINTS_PER_SERIES, chart_text
from osmose_dagster.core.extract.deck import extract_deck, extract_slides
from tests.support.extraction_decks import (
    CATEGORY_SERIES_LINES,
    REWRITTEN_PLOTS,
    TITLE_ONLY,
    category_chart,
    chart_types,
    chartex_deck,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")
    return CORPUS / name


def rewrite_member(path: Path, member: str, transform) -> None:
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, transform(data) if info.filename == member else data)


def test_every_plot_type_gives_title_series_categories_and_values(tmp_path):
    deck = chart_types(tmp_path / "charts.pptx")
    with zipfile.ZipFile(deck.path) as archive:  # the rewritten plot types are really there
        charts = b"".join(archive.read(n) for n in archive.namelist() if "charts/chart" in n)
    for plot_tag, _, _ in REWRITTEN_PLOTS:
        assert f"<c:{plot_tag}>".encode() in charts

    slides = extract_slides(deck.path)

    assert [slide.title for slide in slides] == [lines[0] for lines in deck.expected]
    for slide, lines in zip(slides, deck.expected):
        assert "\n".join(slide.charts) == "\n".join(lines[1:])
    assert slides[0].charts == ["Three-D bar revenue\n" + "\n".join(CATEGORY_SERIES_LINES)]


def test_office_2016_chartex_parts_are_read_and_their_fallback_is_not(tmp_path):
    deck = chartex_deck(tmp_path / "chartex.pptx")

    slides = extract_slides(deck.path)

    assert [slide.charts for slide in slides] == [
        ["Cash bridge\nCash: Start 100, Sales 40, Costs -25, End 115"],
        ["Revenue mix\nMix: Hardware Laptops 50, Hardware Phones 30, Furniture Chairs 20"],
    ]
    assert not any("isn't available" in slide.text for slide in slides)


def test_chart_without_cached_values_still_gives_title_series_and_categories(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    chart_space = category_chart(slide, "Plan without numbers").chart._chartSpace
    for cache in list(chart_space.iter(qn("c:numCache"))):
        cache.getparent().remove(cache)
    prs.save(tmp_path / "deck.pptx")

    [extracted] = extract_slides(tmp_path / "deck.pptx")

    assert extracted.charts == ["Plan without numbers\nRevenue\nCosts\nQ1, Q2, Q3"]


def test_a_chart_of_100k_points_gives_a_bounded_text():
    points = "".join(f'<c:pt idx="{i}"><c:v>{i * 0.5}</c:v></c:pt>' for i in range(100_000))
    xml = (
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        "<c:chart><c:plotArea><c:lineChart><c:ser><c:tx><c:v>Sensor</c:v></c:tx>"
        f'<c:val><c:numLit><c:ptCount val="100000"/>{points}</c:numLit></c:val>'
        "</c:ser></c:lineChart></c:plotArea></c:chart></c:chartSpace>"
    )
    text = chart_text(etree.fromstring(xml.encode(), parser=etree.XMLParser(huge_tree=True)))

    assert text.startswith("Sensor: 0, 0.5, 1, 1.5")
    assert text.endswith(f"… {100_000 - MAX_POINTS_PER_SERIES} more")
    assert len(text) < 2_000


def test_dates_and_percentages_read_as_the_chart_shows_them():
    xml = (
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        "<c:chart><c:plotArea><c:barChart><c:ser><c:tx><c:v>Share</c:v></c:tx>"
        '<c:cat><c:numRef><c:numCache><c:formatCode>m/d/yyyy</c:formatCode><c:ptCount val="2"/>'
        '<c:pt idx="0"><c:v>45658</c:v></c:pt><c:pt idx="1"><c:v>45689</c:v></c:pt>'
        "</c:numCache></c:numRef></c:cat>"
        '<c:val><c:numRef><c:numCache><c:formatCode>0%</c:formatCode><c:ptCount val="2"/>'
        '<c:pt idx="0"><c:v>0.25</c:v></c:pt><c:pt idx="1"><c:v>0.30000000000000004</c:v></c:pt>'
        "</c:numCache></c:numRef></c:val></c:ser></c:barChart></c:plotArea></c:chart>"
        "</c:chartSpace>"
    )
    assert chart_text(etree.fromstring(xml.encode())) == "Share: 2025-01-01 25%, 2025-02-01 30%"


def test_a_chart_part_with_broken_xml_is_skipped_and_the_deck_still_extracts(tmp_path):
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Still here"
    category_chart(slide, "Broken chart")
    prs.save(tmp_path / "deck.pptx")
    rewrite_member(tmp_path / "deck.pptx", "ppt/charts/chart1.xml", lambda xml: xml[:200])

    extraction = extract_deck(tmp_path / "deck.pptx")

    assert [slide.title for slide in extraction.slides] == ["Still here"]
    [skipped] = extraction.skipped
    assert skipped.slide == 1 and re.match(r"Chart \d+ \(id \d+\)", skipped.part)
    assert "XMLSyntaxError" in skipped.cause
    assert extraction.counts["parts_skipped"] == 1


def test_corpus_charts_give_their_titles_and_values():
    slides = extract_slides(corpus_file("microsoft__markitdown__test.pptx"))
    assert "a3f6004b-6f4f-4ea8-bee3-3741f4dc385f" in slides[3].charts[0]  # markitdown's vectors
    assert "2003" in slides[3].charts[0]

    dated = extract_slides(corpus_file("scanny__python-pptx__cht-chart-type.pptx"))
    assert sum(len(slide.charts) for slide in dated) == 31
    assert "Series 1: 2002-01-05 32, 2002-01-06 32" in dated[0].charts[0]
