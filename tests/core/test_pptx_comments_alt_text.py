"""Comments (legacy and modern threads with replies) and alt text become text of their slide,
each in its own field; a comment part that cannot be read costs only itself."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from osmose_dagster.core.extract.deck import extract_deck, extract_slides
from tests.support.extraction_decks import alt_text_deck, comments_deck

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")
    return CORPUS / name


def test_legacy_and_modern_comments_with_replies_name_their_authors(tmp_path):
    deck = comments_deck(tmp_path / "comments.pptx")

    slides = extract_slides(deck.path)

    assert slides[0].comments == [
        "Alice Martin: Check the travel numbers",
        "Bruno Diaz: Travel is within plan",
    ]
    assert slides[1].comments == [
        "Chen Wei: Is the forecast final?\nDana Kim: Yes, approved on Monday"
    ]
    assert [slide.text.splitlines() for slide in slides] == deck.expected


def test_corpus_comments_are_found():
    slides = extract_slides(corpus_file("docling-project__docling__powerpoint_comments.pptx"))
    assert slides[0].comments == [
        "John Reviewer: This is a sample reviewer comment",
        "Jane Smith: This is a sample response",
    ]
    tika = extract_slides(corpus_file("apache__tika__testppt_various2.pptx"))
    assert "Timothy Allison: Slide2Comment" in tika[1].comments


def test_a_comment_part_with_broken_xml_is_skipped_and_named(tmp_path):
    deck = comments_deck(tmp_path / "comments.pptx")
    with zipfile.ZipFile(deck.path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(deck.path, "w") as target:
        for info, data in members:
            broken = info.filename == "ppt/comments/comment1.xml"
            target.writestr(info, data[:40] if broken else data)

    extraction = extract_deck(deck.path)

    assert extraction.slides[0].comments == []
    assert extraction.slides[1].comments  # the other slide's thread is still read
    assert [(s.slide, s.part) for s in extraction.skipped] == [(1, "/ppt/comments/comment1.xml")]


def test_alt_text_a_person_wrote_is_kept_in_reading_order(tmp_path):
    deck = alt_text_deck(tmp_path / "pictures.pptx", tmp_path / "photo.png")

    [slide] = extract_slides(deck.path)

    assert slide.alt_text == [
        "Org chart of the sales team",
        "Company logo\nBlue circle with the letters ACME",
    ]
    assert slide.text.splitlines() == deck.expected[0]
    assert "automatically generated" not in slide.text and "photo.png" not in slide.text


def test_markitdown_picture_caption_is_found():
    slides = extract_slides(corpus_file("microsoft__markitdown__test.pptx"))
    assert "This phrase of the caption is Human-written." in slides[5].alt_text
