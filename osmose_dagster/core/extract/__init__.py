"""Deck -> slides: sniffing, decryption and conversion, shapes in reading order, charts, comments,
and the text of pictures (OCR)."""

from osmose_dagster.core.extract.deck import (
    DeckExtraction,
    extract_deck,
    extract_slides,
    ocr_budget_warning,
)
from osmose_dagster.core.extract.ocr import OcrStats
from osmose_dagster.core.extract.render import slides_as_json, slides_as_markdown

__all__ = [
    "DeckExtraction",
    "OcrStats",
    "extract_deck",
    "extract_slides",
    "ocr_budget_warning",
    "slides_as_json",
    "slides_as_markdown",
]
