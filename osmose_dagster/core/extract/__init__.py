"""Deck -> slides: sniffing, decryption and conversion, shapes in reading order, charts, comments."""

from osmose_dagster.core.extract.deck import DeckExtraction, extract_deck, extract_slides
from osmose_dagster.core.extract.render import slides_as_json, slides_as_markdown

__all__ = [
    "DeckExtraction",
    "extract_deck",
    "extract_slides",
    "slides_as_json",
    "slides_as_markdown",
]
