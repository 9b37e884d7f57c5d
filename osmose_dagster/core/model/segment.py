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
from dataclasses import dataclass

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

    No chunk holds a fragment alone (a title, a short line, the tail of a long paragraph): a
    piece of a split slide carries that slide's title as context at the start of its text (so
    the model and BM25 both see it) and at least `MIN_PIECE_TOKENS` of the slide's own text, and
    a short slide that would stand alone beside full chunks of its segment shares a chunk with
    a piece of its neighbour, which is split for it. A segment that is one short slide stays one
    chunk.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens={max_tokens} is too small to chunk text")
    by_number = {slide.number: slide for slide in slides}
    chunks: list[Chunk] = []
    for segment in segments:
        members = [by_number[n] for n in range(segment.first_slide, segment.last_slide + 1)]
        for packed in _pack(members, count_tokens, max_tokens):
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


MIN_PIECE_TOKENS = 32  # less is a fragment: it joins a neighbour instead of being a point alone
CONTEXT_SHARE = 4  # a title given to every piece of its slide takes at most 1/4 of the budget


def _min_tokens(max_tokens: int) -> int:
    return min(MIN_PIECE_TOKENS, max_tokens // 4)


def _pack(
    slides: Sequence[Slide], count_tokens: Callable[[str], int], max_tokens: int
) -> list[list[tuple[int, str]]]:
    """One segment's slides as chunks of (slide number, text) parts, each within `max_tokens`.

    Greedy, slide by slide: a slide joins the open chunk if it fits, else opens the next one.
    A slide is split (`_fit`) when it is too long for a chunk, and also where keeping it whole
    would leave a fragment alone: the open chunk is short (its first piece fills that chunk),
    or the rest of the segment is short (its last piece keeps room for that rest). Each text is
    counted once and the counts added, as in `_words`: re-counting the whole growing chunk for
    every piece made chunking quadratic in a segment's length."""
    separator = count_tokens(PART_SEPARATOR)
    least = _min_tokens(max_tokens)
    items = [(slide, text, count_tokens(text)) for slide in slides if (text := slide.text.strip())]
    after = [0] * len(items)  # tokens of the slides after each one, joined
    for k in range(len(items) - 2, -1, -1):
        after[k] = after[k + 1] + (separator if after[k + 1] else 0) + items[k + 1][2]
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    used = 0
    for k, (slide, text, size) in enumerate(items):
        reserve = separator + after[k] if 0 < after[k] < least else 0
        join = separator if current else 0
        if used + join + size + reserve <= max_tokens:
            current.append((slide.number, text))
            used += join + size
            continue
        if current and used >= least and size + reserve <= max_tokens:
            chunks.append(current)
            current, used = [(slide.number, text)], size
            continue
        if current and used >= least:
            chunks.append(current)
            current, used, join = [], 0, 0
        pieces = _fit(
            slide, count_tokens, max_tokens, first_room=max_tokens - used - join, reserve=reserve
        )
        for position, (piece, piece_size) in enumerate(pieces):
            if position == 0 and current:
                current.append((slide.number, piece))
                used += join + piece_size
                continue
            if current:
                chunks.append(current)
            current, used = [(slide.number, piece)], piece_size
    if current:
        chunks.append(current)
    return chunks


@dataclass
class _Atom:
    """A run of text that goes into a piece whole: a line, a word, or a cut of a huge word."""

    text: str
    tokens: int
    joiner: str  # written before it when it follows another atom: "\n" starts a line
    line: bool = False  # a whole line of several words: it may still be cut between words


def _fit(
    slide: Slide,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    *,
    first_room: int,
    reserve: int,
) -> list[tuple[str, int]]:
    """One slide's text as (piece, tokens): the whole text where it fits, else pieces cut at
    line, then word boundaries. The first piece fits in `first_room` tokens (what is left of
    the open chunk), the others in `max_tokens`, and the last leaves `reserve` tokens free in
    its chunk. Each piece starts with the slide's title as context, then holds at least
    `_min_tokens` of the rest where the text allows it."""
    text = slide.text.strip()
    size = count_tokens(text)
    if size <= first_room - reserve:
        return [(text, size)]
    title = slide.title.strip()
    context = " ".join(title.split())
    context_tokens = count_tokens(context) if context else 0
    if context and text.startswith(title) and context_tokens <= max_tokens // CONTEXT_SHARE:
        body = text[len(title) :]
    else:
        body, context, context_tokens = text, "", 0
    budgets = (first_room - context_tokens, max_tokens - context_tokens, reserve)
    atoms = _atoms(body, count_tokens, min(budgets[:2]) - reserve)
    pieces = _settle(
        _fill(atoms, count_tokens, budgets, max_tokens),
        count_tokens,
        budgets,
        _min_tokens(max_tokens),
    )
    out = []
    for atoms in pieces:
        joined = "".join((a.joiner if i else "") + a.text for i, a in enumerate(atoms))
        tokens = sum(a.tokens for a in atoms)
        out.append(
            (f"{context}\n{joined}", context_tokens + tokens) if context else (joined, tokens)
        )
    return out


def _atoms(body: str, count_tokens: Callable[[str], int], budget: int) -> list[_Atom]:
    """The body's lines as atoms; a line longer than `budget` as its words, and a word longer
    than `budget` as cuts of it."""
    atoms: list[_Atom] = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        size = count_tokens(line)
        if size <= budget:
            atoms.append(_Atom(line, size, "\n", line=len(line.split()) > 1))
        else:
            atoms += _words(line, "\n", count_tokens, budget)
    return atoms


def _words(line: str, joiner: str, count_tokens: Callable[[str], int], budget: int) -> list[_Atom]:
    # Token counts of whitespace-separated words add up (both WordPiece and SentencePiece split
    # on spaces first), so one count per word keeps a 1 MB slide linear, not quadratic.
    atoms: list[_Atom] = []
    for word in re.findall(r"\S+", line):
        size = count_tokens(word)
        if size <= budget:
            atoms.append(_Atom(word, size, joiner if not atoms else " "))
        else:  # one enormous "word": cut by characters
            for cut in _split_chars(word, count_tokens, budget):
                atoms.append(_Atom(cut, count_tokens(cut), joiner if not atoms else " "))
    return atoms


def _expanded(atoms: list[_Atom], count_tokens: Callable[[str], int]) -> list[_Atom]:
    out: list[_Atom] = []
    for atom in atoms:
        out += _words(atom.text, atom.joiner, count_tokens, atom.tokens) if atom.line else [atom]
    return out


def _fill(
    atoms: list[_Atom],
    count_tokens: Callable[[str], int],
    budgets: tuple[int, int, int],
    max_tokens: int,
) -> list[list[_Atom]]:
    """Greedy pieces within the first budget, then the middle one. A whole line that does not fit
    beside a piece still shorter than the minimum is cut between words to fill that piece, so
    a short line goes at the start of the next piece's text instead of being left alone."""
    least = _min_tokens(max_tokens)
    pieces: list[list[_Atom]] = []
    current: list[_Atom] = []
    used = 0
    stream = atoms[::-1]
    while stream:
        atom = stream.pop()
        budget = budgets[0] if not pieces else budgets[1]
        if used + atom.tokens <= budget:
            current.append(atom)
            used += atom.tokens
        elif atom.line and used < least:
            stream += _expanded([atom], count_tokens)[::-1]
        else:
            pieces.append(current)
            current, used = [atom], atom.tokens
    if current:
        pieces.append(current)
    return [piece for piece in pieces if piece]


def _settle(
    pieces: list[list[_Atom]],
    count_tokens: Callable[[str], int],
    budgets: tuple[int, int, int],
    least: int,
) -> list[list[_Atom]]:
    """Make the last piece leave its reserve, then merge or re-cut each piece shorter than
    `least` with its neighbour (the next one, or the previous one for the last).
    `budgets`: (first piece, other pieces, reserve of the last)."""

    def budget(position: int, count: int) -> int:
        own = budgets[0] if position == 0 else budgets[1]
        return own - budgets[2] if position == count - 1 else own

    def size(atoms: list[_Atom]) -> int:
        return sum(atom.tokens for atom in atoms)

    while pieces and size(pieces[-1]) > budget(len(pieces) - 1, len(pieces)):
        last = len(pieces) - 1
        cut = _recut(
            pieces[-1], budget(last, last + 2), budget(last + 1, last + 2), count_tokens, least
        )
        if cut is None:
            break  # an unbreakable run: it keeps the middle budget
        pieces[-1:] = list(cut)
    position = 0
    while position < len(pieces):
        if len(pieces) > 1 and size(pieces[position]) < least:
            first = position if position + 1 < len(pieces) else position - 1
            both = pieces[first] + pieces[first + 1]
            if size(both) <= budget(first, len(pieces) - 1):
                pieces[first : first + 2] = [both]
                continue  # the merged piece may still be short
            else:
                cut = _recut(
                    both,
                    budget(first, len(pieces)),
                    budget(first + 1, len(pieces)),
                    count_tokens,
                    least,
                )
                if cut is not None:
                    pieces[first : first + 2] = list(cut)
        position += 1
    return pieces


def _recut(
    atoms: list[_Atom],
    left_budget: int,
    right_budget: int,
    count_tokens: Callable[[str], int],
    least: int,
) -> tuple[list[_Atom], list[_Atom]] | None:
    """Two pieces within their budgets: cut at a line boundary where both keep `least` tokens,
    else between words; the most even such cut. None where no cut fits."""
    atoms = _expanded(atoms, count_tokens)
    total = sum(atom.tokens for atom in atoms)
    best: tuple[tuple[bool, bool, int], int] | None = None
    left = 0
    for cut in range(1, len(atoms)):
        left += atoms[cut - 1].tokens
        right = total - left
        if left > left_budget or right > right_budget:
            continue
        rank = (min(left, right) < least, atoms[cut].joiner != "\n", abs(left - right))
        if best is None or rank < best[0]:
            best = (rank, cut)
    if best is None:
        return None
    return atoms[: best[1]], atoms[best[1] :]


def _split_chars(word: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    out, start, size = [], 0, max_tokens
    while start < len(word):
        while size > 1 and count_tokens(word[start : start + size]) > max_tokens:
            size //= 2
        out.append(word[start : start + size])
        start += size
    return out
