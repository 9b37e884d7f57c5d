"""The steps between extraction and indexing, as plain functions the assets and the CLI share."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from osmose_dagster.core.model.embed import Embedder, EncodeStats
from osmose_dagster.core.model.segment import chunk_segments, segment_slides
from osmose_dagster.core.records import ExtractedDeck, SegmentedDeck

# Bump when extraction, segmentation or chunking changes what gets indexed: the scheduled
# re-index then rebuilds every document (it is part of the model assets' code version).
# 2: chunk vectors pooled from their slides' vectors
# 3: extraction changed what is indexed: chart values and every chart type, comments, alt text,
#    typed footer/date text (once per deck), reading order by rows, off-slide shapes left out
# 4: BM25 words: Chinese and Japanese in character pairs, Arabic without tatweel, accents folded on
#    Latin letters only; chunking leaves no fragment alone: each piece of a split slide starts
#    with the slide's title, a short line or slide beside full neighbours shares a piece
# 5: the text read from a slide's pictures (OCR, issue 23) follows the slide's own text
PIPELINE_VERSION = "5"


def segment_deck(deck: ExtractedDeck, embedder: Embedder, *, penalty: float) -> SegmentedDeck:
    """Embed each slide, cut the deck into topic segments, and split those into model-sized chunks."""
    return segment_decks({deck.document: deck}, embedder, penalty=penalty)[deck.document]


def segment_decks(
    decks: Mapping[str, ExtractedDeck],
    embedder: Embedder,
    *,
    penalty: float,
    stats: EncodeStats | None = None,
) -> dict[str, SegmentedDeck]:
    """`segment_deck` for a run's decks, with every slide of every deck embedded in one call."""
    texts = [slide.text.strip() for deck in decks.values() for slide in deck.slides]
    vectors = _split(embedder.embed_passages(texts, stats), [len(d.slides) for d in decks.values()])
    return {
        key: _segment(deck, slide_vectors, embedder, penalty)
        for (key, deck), slide_vectors in zip(decks.items(), vectors)
    }


def _segment(
    deck: ExtractedDeck, slide_vectors: np.ndarray, embedder: Embedder, penalty: float
) -> SegmentedDeck:
    segments = segment_slides(deck.slides, slide_vectors, penalty=penalty)
    chunks = chunk_segments(
        deck.slides, segments, count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens
    )
    return SegmentedDeck(
        document=deck.document, file=deck.file, sha256=deck.sha256, segments=segments, chunks=chunks
    )


def embed_chunks(
    decks: Mapping[str, SegmentedDeck],
    embedder: Embedder,
    stats: EncodeStats,
) -> dict[str, np.ndarray]:
    """One vector per chunk of each deck, all decks in one call; `stats` counts texts and seconds.

    A chunk's vector is the mean of its parts' vectors, weighted by their length in characters,
    normalized. Its parts are the slide texts segmentation already embedded in this process, so no
    word is encoded twice (only the pieces of a split slide are new: a slide too long for the
    model, or one split to give a short neighbour company; each piece repeats the slide's title,
    chunk_segments in segment.py). Encoding each
    chunk whole instead added a third to the encoding time and ranked no better: on the judged
    queries of bench/retrieval_eval.py, MRR@10 0.751 pooled against 0.713 encoded.
    """
    chunks = [chunk for deck in decks.values() for chunk in deck.chunks]
    parts = [chunk.part_texts() for chunk in chunks]
    part_vectors = embedder.embed_passages([text for texts in parts for text in texts], stats)
    vectors = pool_vectors(part_vectors, parts, embedder.dimension)
    return dict(zip(decks, _split(vectors, [len(deck.chunks) for deck in decks.values()])))


def pool_vectors(part_vectors: np.ndarray, parts: list[list[str]], dimension: int) -> np.ndarray:
    """One normalized vector per chunk: its parts' vectors (rows of `part_vectors`, in order)
    averaged with the parts' lengths in characters as weights."""
    pooled = np.zeros((len(parts), dimension), dtype=np.float32)
    start = 0
    for row, texts in enumerate(parts):
        weights = np.array([len(text) for text in texts], dtype=np.float32)
        vector = weights @ part_vectors[start : start + len(texts)]
        norm = float(np.linalg.norm(vector))
        pooled[row] = vector / norm if norm > 0 else vector
        start += len(texts)
    return pooled


def _split(vectors: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    if not sizes:
        return []
    return np.split(vectors, np.cumsum(sizes)[:-1])


def vector_problems(vectors: np.ndarray, dimension: int) -> list[str]:
    """What is wrong with a batch of vectors, for the asset check (empty list: all good)."""
    problems = []
    if vectors.ndim != 2 or (len(vectors) and vectors.shape[1] != dimension):
        problems.append(f"shape {vectors.shape} does not match dimension {dimension}")
    bad = int((~np.isfinite(vectors)).any(axis=-1).sum()) if vectors.size else 0
    if bad:
        problems.append(f"{bad} vector(s) hold NaN or infinity")
    return problems
