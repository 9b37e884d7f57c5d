"""The steps between extraction and indexing, as plain functions the assets and the CLI share."""

from __future__ import annotations

from .embed import Embedder, EncodeStats
from .records import ExtractedDeck, SegmentedDeck
from .segment import chunk_segments, segment_slides

import numpy as np

# Bump when extraction, segmentation or chunking changes what gets indexed: the scheduled
# re-index then rebuilds every document (it is part of the model assets' code version).
PIPELINE_VERSION = "1"


def segment_deck(deck: ExtractedDeck, embedder: Embedder, *, penalty: float) -> SegmentedDeck:
    """Embed each slide, cut the deck into topic segments, and split those into model-sized chunks."""
    slide_vectors = embedder.embed_passages([slide.text for slide in deck.slides])
    segments = segment_slides(deck.slides, slide_vectors, penalty=penalty)
    chunks = chunk_segments(
        deck.slides, segments, count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens
    )
    return SegmentedDeck(
        document=deck.document, file=deck.file, sha256=deck.sha256, segments=segments, chunks=chunks
    )


def embed_chunks(deck: SegmentedDeck, embedder: Embedder, stats: EncodeStats) -> np.ndarray:
    """One vector per chunk; `stats` accumulates texts and seconds over the decks of a run."""
    return embedder.embed_passages([chunk.text for chunk in deck.chunks], stats)


def vector_problems(vectors: np.ndarray, dimension: int) -> list[str]:
    """What is wrong with a batch of vectors, for the asset check (empty list: all good)."""
    problems = []
    if vectors.ndim != 2 or (len(vectors) and vectors.shape[1] != dimension):
        problems.append(f"shape {vectors.shape} does not match dimension {dimension}")
    bad = int((~np.isfinite(vectors)).any(axis=-1).sum()) if vectors.size else 0
    if bad:
        problems.append(f"{bad} vector(s) hold NaN or infinity")
    return problems
