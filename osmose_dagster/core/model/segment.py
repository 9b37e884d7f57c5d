"""Slides (and their vectors) to topic segments, and segments to model-sized chunks.

Segmentation is an exact optimum, not a sliding window: among all ways to cut the deck into runs
of consecutive slides, pick the one minimising

    sum over segments of (dispersion of its slide vectors) + penalty * (number of segments)

where a segment's dispersion is sum_k (1 - cos(v_k, centroid)) = n - |sum_k v_k| for unit vectors.
`penalty` is the one knob: 0 puts every slide alone, larger values give fewer, longer segments
(1.0 found the topics of the sample decks; docs/configuration.md, OSMOSE_SEGMENT_PENALTY).

Vectors are centred on the deck's mean first: sentence embeddings share a large common component
(all slides of a deck look alike to the model), and removing it makes "same topic" and "other
topic" far apart, so one penalty suits short and long decks alike. Slides without text carry a
zero vector: they cost nothing and join their neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from osmose_dagster.core.records import PART_SEPARATOR, Chunk, Segment, Slide

MAX_SEGMENT_SLIDES = 40  # bounds the search to O(slides * 40); a longer topic is cut at 40
MIN_SLIDES_TO_CENTRE = 4  # centring 2 or 3 vectors pushes them apart artificially


def segment_slides(
    slides: Sequence[Slide],
    vectors: np.ndarray,
    *,
    penalty: float,
    max_segment_slides: int = MAX_SEGMENT_SLIDES,
) -> list[Segment]:
    """Deterministic topic segments covering every slide once, in order."""
    n = len(slides)
    if n == 0:
        return []
    if vectors.shape[0] != n:
        raise ValueError(f"{vectors.shape[0]} vectors for {n} slides")
    weights = np.array([1.0 if slide.text.strip() else 0.0 for slide in slides])
    unit = _centred(np.nan_to_num(vectors.astype(np.float64)), weights > 0) * weights[:, None]
    prefix = np.vstack([np.zeros(unit.shape[1]), np.cumsum(unit, axis=0)])
    count_prefix = np.concatenate([[0.0], np.cumsum(weights)])

    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    cut_before = np.zeros(n + 1, dtype=int)
    for end in range(1, n + 1):
        starts = np.arange(max(0, end - max_segment_slides), end)
        norms = np.linalg.norm(prefix[end] - prefix[starts], axis=1)
        costs = best[starts] + (count_prefix[end] - count_prefix[starts]) - norms + penalty
        # Ties go to the earliest start (longest segment), so equal decks cut equally.
        choice = int(np.argmin(np.round(costs, 9)))
        best[end] = costs[choice]
        cut_before[end] = starts[choice]

    bounds = []
    end = n
    while end > 0:
        bounds.append((cut_before[end], end))
        end = cut_before[end]
    bounds.reverse()
    return [
        Segment(
            index=i,
            first_slide=int(start) + 1,
            last_slide=int(stop),
            title=_title(slides[start:stop], unit[start:stop]),
        )
        for i, (start, stop) in enumerate(bounds)
    ]


def _centred(vectors: np.ndarray, has_text: np.ndarray) -> np.ndarray:
    if has_text.sum() < MIN_SLIDES_TO_CENTRE:
        return vectors
    shifted = vectors - vectors[has_text].mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.divide(shifted, norms, out=np.zeros_like(shifted), where=norms > 1e-9)


def _title(slides: Sequence[Slide], vectors: np.ndarray) -> str:
    """The title of the slide most typical of the segment (closest to its centroid), so that a
    cover or agenda slide that joined the first topic does not name it."""
    closeness = vectors @ vectors.sum(axis=0)
    for position in sorted(range(len(slides)), key=lambda k: (-round(closeness[k], 9), k)):
        slide = slides[position]
        if slide.title.strip():
            return " ".join(slide.title.split())
    for slide in slides:
        for line in slide.text.splitlines():
            if line.strip():
                return " ".join(line.split())[:120]
    first, last = slides[0].number, slides[-1].number
    return f"Slide {first}" if first == last else f"Slides {first}-{last}"


def chunk_segments(
    slides: Sequence[Slide],
    segments: Sequence[Segment],
    *,
    count_tokens: Callable[[str], int],
    max_tokens: int,
) -> list[Chunk]:
    """One chunk per segment, or several where the text would exceed `max_tokens`.

    Cuts fall between slides first, then between lines, then between words, so that no text is
    dropped by the model's truncation. Each chunk keeps the slide range it came from.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens={max_tokens} is too small to chunk text")
    by_number = {slide.number: slide for slide in slides}
    chunks: list[Chunk] = []
    for segment in segments:
        pieces = [
            (number, piece)
            for number in range(segment.first_slide, segment.last_slide + 1)
            for piece in _fit(by_number[number].text, count_tokens, max_tokens)
        ]
        for packed in _pack(pieces, count_tokens, max_tokens):
            chunks.append(
                Chunk(
                    segment=segment.index,
                    index=len(chunks),
                    first_slide=packed[0][0],
                    last_slide=packed[-1][0],
                    title=segment.title,
                    text=PART_SEPARATOR.join(text for _, text in packed),
                    parts=[len(text) for _, text in packed],
                )
            )
    return chunks


def _fit(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Split one slide's text into pieces that each fit, at line, then word boundaries."""
    text = text.strip()
    if not text:
        return []
    if count_tokens(text) <= max_tokens:
        return [text]
    pieces: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if count_tokens(line) <= max_tokens:
            pieces.append(line)
        else:
            pieces += _split_words(line, count_tokens, max_tokens)
    return _merge(pieces, count_tokens, max_tokens, separator="\n")


def _split_words(line: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    # Token counts of whitespace-separated words add up (both WordPiece and SentencePiece split
    # on spaces first), so one count per word keeps a 1 MB slide linear, not quadratic.
    out: list[str] = []
    current: list[str] = []
    used = 0
    for word in re.findall(r"\S+", line):
        size = count_tokens(word)
        if size > max_tokens:  # one enormous "word": cut by characters
            if current:
                out.append(" ".join(current))
                current, used = [], 0
            out += _split_chars(word, count_tokens, max_tokens)
            continue
        if current and used + size > max_tokens:
            out.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += size
    if current:
        out.append(" ".join(current))
    return out


def _split_chars(word: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    out, start, size = [], 0, max_tokens
    while start < len(word):
        while size > 1 and count_tokens(word[start : start + size]) > max_tokens:
            size //= 2
        out.append(word[start : start + size])
        start += size
    return out


def _merge(pieces: list[str], count_tokens, max_tokens: int, separator: str) -> list[str]:
    merged: list[str] = []
    for piece in pieces:
        candidate = f"{merged[-1]}{separator}{piece}" if merged else piece
        if merged and count_tokens(candidate) <= max_tokens:
            merged[-1] = candidate
        else:
            merged.append(piece)
    return merged


def _pack(pieces: list[tuple[int, str]], count_tokens, max_tokens: int):
    """Greedily pack (slide number, text) pieces into chunks; yields each chunk's pieces.

    Each piece is counted once and the counts added, as in `_split_words`: re-counting the whole
    growing chunk for every piece made chunking quadratic in a segment's length."""
    separator = count_tokens(PART_SEPARATOR)
    current: list[tuple[int, str]] = []
    used = 0
    for number, piece in pieces:
        size = count_tokens(piece)
        if current and used + separator + size > max_tokens:
            yield current
            current, used = [], 0
        used += (separator if current else 0) + size
        current.append((number, piece))
    if current:
        yield current
