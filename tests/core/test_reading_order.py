"""Reading order as a person reads: rows with a tolerance, tables and groups among the other
shapes by position, off-slide shapes left out, typed footers kept once per deck."""

from __future__ import annotations

from pathlib import Path

import pytest

from osmose_dagster.core.extract.deck import extract_deck, extract_slides
from tests.support.extraction_decks import (
    footer_deck,
    off_slide_boxes,
    row_of_five,
    scaled_groups,
    table_with_caption,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")
    return CORPUS / name


def test_boxes_on_one_visual_row_read_left_to_right(tmp_path):
    deck = row_of_five(tmp_path / "row.pptx")
    [slide] = extract_slides(deck.path)
    assert slide.body == deck.expected[0]


def test_a_table_sits_between_the_text_above_and_its_caption_below(tmp_path):
    deck = table_with_caption(tmp_path / "table.pptx")

    [slide] = extract_slides(deck.path)

    assert slide.tables == [[["Region", "Sales"], ["North", "42"], ["South", "17"]]]
    assert slide.text.splitlines() == deck.expected[0]


def test_group_children_are_placed_by_their_own_positions_on_the_slide(tmp_path):
    deck = scaled_groups(tmp_path / "groups.pptx")
    [slide] = extract_slides(deck.path)
    assert slide.body == deck.expected[0]


def test_nested_groups_of_unstructured_read_a_to_j():
    # unstructured's test_pptx.py expects exactly these, in this order
    [slide] = extract_slides(corpus_file("unstructured-io__unstructured__group-shapes-nested.pptx"))
    assert slide.body == list("ABCDEFGHIJ")


def test_shapes_entirely_off_the_slide_are_left_out_and_counted(tmp_path):
    deck = off_slide_boxes(tmp_path / "off.pptx")

    extraction = extract_deck(deck.path)

    assert extraction.slides[0].text.splitlines() == deck.expected[0]
    assert extraction.off_slide_shapes == 2


def test_typed_footer_is_kept_once_per_deck_and_fields_are_dropped(tmp_path):
    deck = footer_deck(tmp_path / "footer.pptx")

    extraction = extract_deck(deck.path)

    assert [slide.text.splitlines() for slide in extraction.slides] == deck.expected
    assert extraction.repeated_blocks_dropped == 3
    assert "11/3/2026" not in "\n".join(slide.text for slide in extraction.slides)


def test_date_placeholder_holding_typed_words_is_kept():
    # unstructured's test_partition_pptx_malformed expects both texts
    [slide] = extract_slides(
        corpus_file("unstructured-io__unstructured__fake-power-point-malformed.pptx")
    )
    assert (slide.title, slide.body) == ("Test Slide", ["Problem Date Placeholder"])
