"""Decks indexed as ingestion indexes them, without Dagster: the project's own extraction,
segmentation and chunk vectors, ready for `VectorIndex.replace_documents`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from osmose_dagster.core.extract import extract_deck
from osmose_dagster.core.index import DocumentPoints
from osmose_dagster.core.model import EncodeStats, embed_chunks, segment_decks
from osmose_dagster.core.records import ExtractedDeck
from osmose_dagster.core.settings import DEFAULT_SEGMENT_PENALTY


def document_points(paths: Iterable[Path], embedder) -> list[DocumentPoints]:
    """One DocumentPoints per deck, keyed by its file name."""
    decks = {
        path.name: ExtractedDeck(
            path.name,
            path.name,
            hashlib.sha256(path.read_bytes()).hexdigest(),
            extract_deck(path).slides,
        )
        for path in paths
    }
    segmented = segment_decks(decks, embedder, penalty=DEFAULT_SEGMENT_PENALTY)
    vectors = embed_chunks(segmented, embedder, EncodeStats())
    return [DocumentPoints(k, k, deck.chunks, vectors[k]) for k, deck in segmented.items()]


def write_deck(path: Path, slides: list[tuple[str, str]]) -> Path:
    """A small real deck: one title-and-content slide per (title, body)."""
    from pptx import Presentation

    deck = Presentation()
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.save(path)
    return path
