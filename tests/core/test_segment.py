"""Topic segmentation and chunking, on the sample decks with the real packaged MiniLM."""

from __future__ import annotations

import base64
import math
import random
import re
from dataclasses import dataclass

import numpy as np
import pytest

from osmose_dagster.cli.samples import SAMPLE_DECKS, DeckSpec, write_sample_decks
from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.model.embed import load_embedder
from osmose_dagster.core.model.segment import MIN_PIECE_TOKENS, chunk_segments, segment_slides
from osmose_dagster.core.records import Chunk, Segment, Slide
from osmose_dagster.core.settings import DEFAULT_SEGMENT_PENALTY

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

ENGLISH_DECKS = ["quarterly_review_en.pptx", "ml_platform_onboarding_en.pptx"]
OTHER_LANGUAGE_DECKS = ["energie_renouvelable_fr.pptx", "produktion_qualitaet_de.pptx"]


@dataclass(frozen=True)
class Deck:
    spec: DeckSpec
    slides: list[Slide]
    vectors: np.ndarray


@pytest.fixture(scope="module")
def minilm():
    # load_embedder caches per process: every module asking for it shares one model load.
    return load_embedder("all-MiniLM-L6-v2", "cpu", 64)


@pytest.fixture(scope="module")
def decks(minilm, tmp_path_factory) -> dict[str, Deck]:
    """Each sample deck, extracted from its .pptx and embedded slide by slide."""
    paths = write_sample_decks(tmp_path_factory.mktemp("segment-samples"))
    specs = {spec.filename: spec for spec in SAMPLE_DECKS}
    out = {}
    for path in paths:
        slides = extract_slides(path)
        vectors = minilm.embed_passages([slide.text for slide in slides])
        out[path.name] = Deck(specs[path.name], slides, vectors)
    return out


def starts(segments: list[Segment]) -> list[int]:
    return [segment.first_slide for segment in segments]


def assert_covers(segments: list[Segment], n_slides: int) -> None:
    """Every slide exactly once, in order, 1-based inclusive, no gaps, indices 0..k-1."""
    assert segments, "a deck with slides must have at least one segment"
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[0].first_slide == 1
    assert segments[-1].last_slide == n_slides
    for segment in segments:
        assert segment.first_slide <= segment.last_slide, segment
    for before, after in zip(segments, segments[1:]):
        assert after.first_slide == before.last_slide + 1, (before, after)
    covered = [n for s in segments for n in range(s.first_slide, s.last_slide + 1)]
    assert covered == list(range(1, n_slides + 1))


def renumbered(slides: list[Slide]) -> list[Slide]:
    return [
        Slide(number=i, title=s.title, body=list(s.body), tables=s.tables, notes=s.notes)
        for i, s in enumerate(slides, start=1)
    ]


# --------------------------------------------------------------------------- segmentation


@pytest.mark.parametrize("name", [spec.filename for spec in SAMPLE_DECKS])
def test_segments_are_deterministic_and_cover_every_slide_once(decks, name):
    deck = decks[name]
    assert len(deck.slides) == deck.spec.slide_count
    first = segment_slides(deck.slides, deck.vectors, penalty=DEFAULT_SEGMENT_PENALTY)
    second = segment_slides(deck.slides, deck.vectors.copy(), penalty=DEFAULT_SEGMENT_PENALTY)
    assert first == second
    assert_covers(first, len(deck.slides))
    for segment in first:
        assert segment.title.strip(), segment


@pytest.mark.parametrize("name", ENGLISH_DECKS)
def test_default_penalty_finds_the_true_topics_of_english_decks(decks, name):
    deck = decks[name]
    true_starts = [first for _, first, _ in deck.spec.topic_ranges()]
    segments = segment_slides(deck.slides, deck.vectors, penalty=DEFAULT_SEGMENT_PENALTY)
    # Slide 1 is the title slide: it may stand alone or open the first topic's segment.
    accepted = ([1] + true_starts, [1] + true_starts[1:])
    assert starts(segments) in accepted, (
        f"{name}: segments start at {starts(segments)}, topics start at {true_starts}"
    )
    # Each topic's segment is named after one of that topic's slides.
    for segment, (_, first, last) in zip(segments[-len(true_starts) :], deck.spec.topic_ranges()):
        topic_titles = {" ".join(s.title.split()) for s in deck.slides[first - 1 : last]}
        assert segment.title in topic_titles | {" ".join(deck.slides[0].title.split())}


@pytest.mark.parametrize("name", OTHER_LANGUAGE_DECKS)
def test_default_penalty_finds_most_topic_starts_of_french_and_german_decks(decks, name):
    # MiniLM is trained on English: ask for most boundaries and no fragmentation, not all of them.
    deck = decks[name]
    true_starts = [first for _, first, _ in deck.spec.topic_ranges()]
    segments = segment_slides(deck.slides, deck.vectors, penalty=DEFAULT_SEGMENT_PENALTY)
    found = set(starts(segments)) & set(true_starts)
    assert len(found) >= len(true_starts) - 1, (
        f"{name}: segments start at {starts(segments)}, topics start at {true_starts}"
    )
    assert len(segments) <= len(true_starts) + 2, starts(segments)


def test_penalty_zero_puts_every_slide_alone(decks):
    for name, deck in decks.items():
        segments = segment_slides(deck.slides, deck.vectors, penalty=0.0)
        assert [(s.first_slide, s.last_slide) for s in segments] == [
            (n, n) for n in range(1, len(deck.slides) + 1)
        ], name


@pytest.fixture(scope="module")
def long_deck(decks) -> tuple[list[Slide], np.ndarray]:
    """All sample decks back to back, twice: 92 slides, more than one 40-slide segment holds."""
    slides, vectors = [], []
    for _ in range(2):
        for spec in SAMPLE_DECKS:
            slides += decks[spec.filename].slides
            vectors.append(decks[spec.filename].vectors)
    return renumbered(slides), np.vstack(vectors)


def test_a_huge_penalty_gives_few_segments_of_at_most_40_slides(long_deck):
    slides, vectors = long_deck
    n = len(slides)
    assert n > 80
    segments = segment_slides(slides, vectors, penalty=1e6)
    assert_covers(segments, n)
    assert len(segments) <= math.ceil(n / 40)
    assert all(s.last_slide - s.first_slide + 1 <= 40 for s in segments)


def test_segment_count_never_increases_with_the_penalty(decks, long_deck):
    penalties = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0]
    cases = [(d.slides, d.vectors) for d in decks.values()] + [long_deck]
    for slides, vectors in cases:
        counts = [len(segment_slides(slides, vectors, penalty=p)) for p in penalties]
        assert counts == sorted(counts, reverse=True), dict(zip(penalties, counts))
        assert counts[0] == len(slides) and counts[-1] < counts[0]


@pytest.mark.parametrize("penalty", [0.0, DEFAULT_SEGMENT_PENALTY])
def test_slides_without_text_join_their_neighbours(minilm, decks, penalty):
    deck = decks["quarterly_review_en.pptx"]
    blank = Slide(number=0)
    whitespace_only = Slide(number=0, title="  ", body=["", " \n "])
    # Blanks inside topics (after slides 3 and 6), at a topic boundary (after 4) and at the end.
    layout: list[tuple[Slide, int | None]] = []  # (slide, original number or None for a blank)
    for slide in deck.slides:
        layout.append((slide, slide.number))
        if slide.number in (3, 6):
            layout.append((blank, None))
        if slide.number == 4:
            layout.append((whitespace_only, None))
    layout.append((blank, None))
    slides = renumbered([slide for slide, _ in layout])
    assert not any(slides[i].text.strip() for i, (_, orig) in enumerate(layout) if orig is None)
    blank_vectors = minilm.embed_passages([blank.text, whitespace_only.text])
    vectors = np.vstack(
        [
            deck.vectors[orig - 1]
            if orig is not None
            else blank_vectors[0 if slide is blank else 1]
            for slide, orig in layout
        ]
    )

    with_blanks = segment_slides(slides, vectors, penalty=penalty)
    assert_covers(with_blanks, len(slides))
    groups = []
    for segment in with_blanks:
        originals = [layout[n - 1][1] for n in range(segment.first_slide, segment.last_slide + 1)]
        text_slides = [n for n in originals if n is not None]
        assert text_slides, f"segment {segment} holds only slides without text"
        groups.append(text_slides)

    # The slides with text are grouped exactly as in the deck without the blanks.
    without = segment_slides(deck.slides, deck.vectors, penalty=penalty)
    assert groups == [list(range(s.first_slide, s.last_slide + 1)) for s in without]


def test_segment_slides_rejects_a_vector_count_that_does_not_match(decks):
    deck = decks["quarterly_review_en.pptx"]
    with pytest.raises(ValueError):
        segment_slides(deck.slides, deck.vectors[:-1], penalty=DEFAULT_SEGMENT_PENALTY)


# --------------------------------------------------------------------------- chunking

WORDS = [
    "revenue",
    "pipeline",
    "customer",
    "churn",
    "retention",
    "hiring",
    "budget",
    "quota",
    "cluster",
    "training",
    "dataset",
    "turbine",
    "solar",
    "inspection",
    "defect",
    "supplier",
    "warehouse",
    "invoice",
    "contract",
    "renewal",
    "forecast",
]


def long_text_slides() -> list[Slide]:
    rng = random.Random(7)
    many_words = " ".join(f"{rng.choice(WORDS)}{i}" for i in range(3000))
    # One 5,000-character "word": base64 data such as a pasted data URI (no spaces at all).
    blob = base64.b64encode(rng.randbytes(3750)).decode("ascii")
    assert len(blob) == 5000 and not re.search(r"\s", blob)
    lines = [
        f"Line {i}: the {rng.choice(WORDS)} review covers {rng.choice(WORDS)} and {rng.choice(WORDS)}."
        for i in range(120)
    ]
    return [
        Slide(number=1, title="Appendix: raw export", body=[many_words]),
        Slide(number=2, title="Embedded data", body=[blob]),
        Slide(number=3, title="Meeting notes", body=["\n".join(lines)], notes="Read aloud."),
        Slide(number=4, title="Summary", body=["Revenue grew 12% in EMEA."]),
        Slide(number=5, title="", body=["Next steps: hire two engineers."]),
    ]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def without_context(chunks: list[Chunk], titles: list[str]) -> list[str]:
    """The chunks' parts in order, each piece after a slide's first without the slide title it
    starts with as context."""
    seen: set[str] = set()
    out = []
    for part in (part for chunk in chunks for part in chunk.part_texts()):
        title = next((t for t in titles if part.startswith(t + "\n")), None)
        if title in seen:
            part = part[len(title) + 1 :]  # type: ignore[arg-type]
        elif title is not None:
            seen.add(title)
        out.append(part)
    return out


def test_long_segments_are_cut_into_chunks_the_model_reads_whole(minilm):
    slides = long_text_slides()
    segments = [
        Segment(index=0, first_slide=1, last_slide=3, title="Appendix: raw export"),
        Segment(index=1, first_slide=4, last_slide=5, title="Summary"),
    ]
    chunks = chunk_segments(
        slides, segments, count_tokens=minilm.count_tokens, max_tokens=minilm.max_tokens
    )

    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.segment for c in chunks] == sorted(c.segment for c in chunks)
    long_chunks = [c for c in chunks if c.segment == 0]
    short_chunks = [c for c in chunks if c.segment == 1]
    assert len(long_chunks) >= 2

    tokenizer = minilm._model.tokenizer
    for chunk in chunks:
        segment = segments[chunk.segment]
        assert segment.first_slide <= chunk.first_slide <= chunk.last_slide <= segment.last_slide
        assert chunk.title == segment.title
        assert minilm.count_tokens(chunk.text) <= minilm.max_tokens, chunk.index
        # What the model itself would see: nothing beyond its maximum sequence length.
        assert len(tokenizer(chunk.text)["input_ids"]) <= minilm._model.max_seq_length
    # Chunks walk through the slides in order.
    assert [c.first_slide for c in chunks] == sorted(c.first_slide for c in chunks)

    # No text is dropped or repeated: all chunks in order hold every character of every slide,
    # once the title each piece of a split slide carries as context is taken off again.
    titles = [s.title for s in slides[:3]]
    assert squeeze("".join(without_context(long_chunks, titles))) == squeeze(
        "".join(s.text for s in slides[:3])
    )
    for chunk in long_chunks:
        part = chunk.part_texts()[0]
        assert any(part.startswith(title + "\n") for title in titles), part[:60]
    chunk_words = {word for c in long_chunks for word in c.text.split()}
    for slide in (slides[0], slides[2]):
        missing = [w for w in slide.text.split() if w not in chunk_words]
        assert not missing, missing[:10]
    # The long word spans several chunks, since it alone exceeds what the model reads.
    assert minilm.count_tokens(slides[1].text) > minilm.max_tokens
    assert sum(1 for c in long_chunks if c.first_slide <= 2 <= c.last_slide) >= 2

    # A short segment is one chunk that carries every one of its slides.
    assert len(short_chunks) == 1
    only = short_chunks[0]
    assert (only.first_slide, only.last_slide) == (4, 5)
    for slide in slides[3:]:
        assert slide.text in only.text
    # Each chunk records its parts (a slide's text, or a piece of a long one): the chunk's vector
    # is pooled from the parts' vectors, so they must give back exactly the chunk's text.
    for chunk in chunks:
        assert "\n\n".join(chunk.part_texts()) == chunk.text
        assert len(chunk.part_texts()) == len(chunk.parts) >= 1
    assert only.part_texts() == [slides[3].text, slides[4].text]


def test_sample_deck_chunks_fit_the_model_and_cover_every_slide(minilm, decks):
    deck = decks["ml_platform_onboarding_en.pptx"]
    segments = segment_slides(deck.slides, deck.vectors, penalty=DEFAULT_SEGMENT_PENALTY)
    chunks = chunk_segments(
        deck.slides, segments, count_tokens=minilm.count_tokens, max_tokens=minilm.max_tokens
    )
    for chunk in chunks:
        assert minilm.count_tokens(chunk.text) <= minilm.max_tokens
    covered = {n for c in chunks for n in range(c.first_slide, c.last_slide + 1)}
    assert sorted(covered) == list(range(1, len(deck.slides) + 1))


def test_empty_deck_has_no_segments_and_no_chunks(minilm):
    segments = segment_slides([], np.zeros((0, minilm.dimension), dtype=np.float32), penalty=1.0)
    assert segments == []
    chunks = chunk_segments(
        [], segments, count_tokens=minilm.count_tokens, max_tokens=minilm.max_tokens
    )
    assert chunks == []


# --------------------------------------------------------------------------- fragments (issue 22)

FINANCE_WORDS = [
    "revenue",
    "margin",
    "forecast",
    "budget",
    "invoice",
    "cash",
    "accruals",
    "receivables",
    "payables",
    "audit",
    "variance",
    "ledger",
    "quarter",
    "treasury",
    "expenses",
]


def paragraph(words: int, seed: int = 22) -> str:
    """One line of `words` words: sentences of eight words built from FINANCE_WORDS."""
    rng = random.Random(seed)
    out = []
    for i in range(words):
        word = rng.choice(FINANCE_WORDS)
        out.append(f"{word}." if i % 8 == 7 else word)
    return " ".join(out)


def body_of(chunk_text: str, title: str) -> str:
    """A piece's text without the title it carries as context."""
    assert chunk_text.startswith(title + "\n"), chunk_text[:80]
    return chunk_text[len(title) + 1 :]


def test_a_title_above_a_long_paragraph_is_no_point_of_its_own(embedder):
    """The reported case: "Finance notes" over a 1,400-word paragraph gave 9 points, one of them
    the 2-word title alone (it did not fit beside the paragraph's first piece)."""
    title = "Finance notes"
    text = paragraph(1400)
    slides = [Slide(number=1, title=title, body=[text])]
    segments = [Segment(index=0, first_slide=1, last_slide=1, title=title)]
    chunks = chunk_segments(
        slides, segments, count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens
    )

    assert len(chunks) >= 2
    assert all(chunk.text.strip() != title for chunk in chunks)
    for chunk in chunks:
        assert (chunk.first_slide, chunk.last_slide, chunk.title) == (1, 1, title)
        assert embedder.count_tokens(chunk.text) <= embedder.max_tokens
        # Every piece carries the slide's title as context, then a real share of the paragraph.
        assert embedder.count_tokens(body_of(chunk.text, title)) >= MIN_PIECE_TOKENS
        assert chunk.part_texts() == [chunk.text]
    # The pieces hold the paragraph, every word once, in order.
    assert " ".join(body_of(c.text, title) for c in chunks).split() == text.split()


def chunks_of(embedder, slides: list[Slide], segments: list[Segment]) -> list[Chunk]:
    return chunk_segments(
        slides, segments, count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens
    )


def test_a_short_slide_beside_a_full_one_shares_a_chunk_with_a_piece_of_it(embedder):
    # Each short slide alone was a point of its own: it fit beside neither the full slide before
    # it nor the one after it. The full slides are now split so that each short one has company.
    full: list[str] = []  # lines that fill what the model reads, a few tokens short
    for words in [12] * 40 + [1] * 40:
        line = f"Line {len(full)}: {paragraph(words, seed=len(full))}"
        if embedder.count_tokens("Invoice detail\n" + "\n".join(full + [line])) <= 250:
            full.append(line)
    slides = [
        Slide(number=1, title="Agenda", body=["Budget review"]),
        Slide(number=2, title="Budget detail", body=full),
        Slide(number=3, title="Cash", body=["Cash is tight"]),
        Slide(number=4, title="Invoice detail", body=full),
        Slide(number=5, title="Questions?"),
    ]
    assert embedder.max_tokens == 254
    for slide in (slides[1], slides[3]):
        assert 240 < embedder.count_tokens(slide.text) <= 250
    segments = [Segment(index=0, first_slide=1, last_slide=5, title="Budget detail")]
    chunks = chunks_of(embedder, slides, segments)

    for chunk in chunks:
        assert embedder.count_tokens(chunk.text) <= embedder.max_tokens
        assert embedder.count_tokens(chunk.text) >= MIN_PIECE_TOKENS, chunk.text
        assert chunk.first_slide < chunk.last_slide, chunk  # no slide or piece alone
    assert (chunks[0].first_slide, chunks[-1].last_slide) == (1, 5)
    assert chunks[0].part_texts()[0] == slides[0].text
    assert chunks[-1].part_texts()[-1] == slides[4].text
    titles = [s.title for s in slides]
    assert squeeze("".join(without_context(chunks, titles))) == squeeze(
        "".join(s.text for s in slides)
    )
    # Every line of the full slides stays whole in one piece (cuts fall between lines).
    texts = [chunk.text for chunk in chunks]
    assert all(any(line in text for text in texts) for line in full)


def test_a_short_line_between_long_ones_starts_the_next_piece(embedder):
    # Each long line fills the piece beside the title: the short line fits beside neither.
    title = "Notes from the review"
    long_line = [
        line
        for line in (paragraph(words) for words in range(60, 250))
        if embedder.count_tokens(line) <= 250
    ][-1]
    slide = Slide(number=1, title=title, body=[long_line, "See appendix", long_line])
    short = embedder.count_tokens(title) + embedder.count_tokens("See appendix")
    assert embedder.count_tokens(long_line) + short > embedder.max_tokens
    assert embedder.count_tokens(long_line) + embedder.count_tokens(title) <= embedder.max_tokens
    chunks = chunks_of(embedder, [slide], [Segment(0, 1, 1, title)])

    bodies = [body_of(chunk.text, title) for chunk in chunks]
    assert all(embedder.count_tokens(body) >= MIN_PIECE_TOKENS for body in bodies), bodies
    assert any(body.startswith("See appendix\n") for body in bodies), bodies
    assert "\n".join(bodies).split() == slide.text.split()[len(title.split()) :]


@pytest.mark.parametrize("seed", range(12))
def test_random_segments_have_no_fragment_alone(embedder, seed):
    """Short slides, long lines, paragraphs of every length, in any order: every chunk fits the
    model, keeps its slide range, and holds a fragment alone only where its segment is one
    short text; every piece of a split slide starts with its title and has text of its own."""
    rng = random.Random(seed)
    slides: list[Slide] = []
    for number in range(1, rng.randint(2, 9)):
        kind = rng.choice(["short", "lines", "paragraph", "untitled"])
        title = f"Topic {number} {rng.choice(FINANCE_WORDS)}"
        if kind == "short":
            body = [paragraph(rng.randint(0, 6), seed=number)]
        elif kind == "lines":
            body = [paragraph(rng.randint(1, 60), seed=i) for i in range(rng.randint(1, 30))]
        else:
            body = [paragraph(rng.randint(100, 900), seed=number)]
        slides.append(Slide(number, "" if kind == "untitled" else title, body))
    cuts = sorted(rng.sample(range(2, len(slides) + 1), k=min(2, len(slides) - 1)))
    bounds = list(zip([1] + cuts, [c - 1 for c in cuts] + [len(slides)]))
    segments = [Segment(i, first, last, f"S{i}") for i, (first, last) in enumerate(bounds)]
    chunks = chunks_of(embedder, slides, segments)

    assert [c.index for c in chunks] == list(range(len(chunks)))
    for segment in segments:
        own = [c for c in chunks if c.segment == segment.index]
        assert own and own[0].first_slide == segment.first_slide, segment
        assert own[-1].last_slide == segment.last_slide, segment
        for before, after in zip(own, own[1:]):
            assert after.first_slide in (before.last_slide, before.last_slide + 1)
        for chunk in own:
            assert embedder.count_tokens(chunk.text) <= embedder.max_tokens
            if len(own) > 1:
                assert embedder.count_tokens(chunk.text) >= MIN_PIECE_TOKENS, chunk.text
        members = slides[segment.first_slide - 1 : segment.last_slide]
        titles = [s.title for s in members if s.title]
        assert squeeze("".join(without_context(own, titles))) == squeeze(
            "".join(s.text for s in members)
        )
    for slide in slides:
        if embedder.count_tokens(slide.text) <= embedder.max_tokens or not slide.title:
            continue
        pieces = [
            part
            for c in chunks
            if c.first_slide <= slide.number <= c.last_slide
            for part in c.part_texts()
            if part.startswith(slide.title + "\n")
        ]
        assert len(pieces) >= 2
        for piece in pieces:
            assert embedder.count_tokens(body_of(piece, slide.title)) >= MIN_PIECE_TOKENS
