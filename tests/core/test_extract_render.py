"""What `osmose extract` prints, and slide JSON of older versions still loading."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.extract.render import slides_as_json, slides_as_markdown
from osmose_dagster.core.records import Slide
from tests.support.extraction_decks import comments_deck, table_with_caption


def test_json_gives_each_slide_its_blocks_in_reading_order_and_the_indexed_text(tmp_path):
    slides = extract_slides(table_with_caption(tmp_path / "table.pptx").path)

    [rendered] = json.loads(json.dumps(slides_as_json(slides)))

    assert rendered["title"] == "Regional sales"
    assert [block["kind"] for block in rendered["blocks"]] == ["body", "table", "body"]
    assert rendered["blocks"][1]["rows"][1] == ["North", "42"]
    assert rendered["text"] == slides[0].text


def test_markdown_shows_the_title_text_table_and_comments(tmp_path):
    slides = extract_slides(table_with_caption(tmp_path / "table.pptx").path)
    slides += extract_slides(comments_deck(tmp_path / "comments.pptx").path)

    markdown = slides_as_markdown(slides)

    assert markdown.startswith("## Slide 1: Regional sales\n\nIntroduction above the table\n\n")
    assert "| Region | Sales |\n| --- | --- |\n| North | 42 |\n| South | 17 |" in markdown
    assert markdown.index("South | 17") < markdown.index("Source: internal ledger")
    assert "> *Comment:* Alice Martin: Check the travel numbers" in markdown


def test_slide_json_from_before_version_3_loads_with_its_old_text():
    old = b'{"number":2,"title":"T","body":["b"],"tables":[[["x","y"]]],"notes":"n","hidden":false}'

    slide = TypeAdapter(Slide).validate_json(old)

    assert (slide.comments, slide.alt_text, slide.charts, slide.reading_order) == ([], [], [], [])
    assert slide.text == "T\nb\nx | y\nn"


def test_slide_json_round_trips(tmp_path):
    [slide, _] = extract_slides(comments_deck(tmp_path / "comments.pptx").path)
    adapter = TypeAdapter(Slide)
    assert adapter.validate_json(adapter.dump_json(slide)) == slide
