"""Embedding a run's texts: one call for all decks, and no text encoded twice in a process
(the real packaged MiniLM on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from osmose_dagster.core.extract.deck import extract_slides
from osmose_dagster.core.model.embed import (
    EncodeStats,
    RecentVectors,
    batch_size_for,
    forget_recent_vectors,
    load_embedder,
)
from osmose_dagster.core.model.pipeline import embed_chunks, segment_decks
from osmose_dagster.core.records import ExtractedDeck, Slide
from osmose_dagster.core.settings import Settings

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out


@pytest.fixture(autouse=True)
def _nothing_remembered():
    """Each test starts, and leaves the session's model, without remembered vectors."""
    forget_recent_vectors()
    yield
    forget_recent_vectors()


def _decks(sample_decks) -> dict[str, ExtractedDeck]:
    return {
        name: ExtractedDeck(document=name, file=name, sha256="-", slides=extract_slides(path))
        for name, path in sample_decks.items()
    }


def _fresh(embedder, texts: list[str]) -> np.ndarray:
    """The vectors straight from sentence-transformers, bypassing the project's reuse."""
    return embedder._model.encode(
        [embedder.passage_prefix + t for t in texts], normalize_embeddings=True, batch_size=64
    )


def test_chunk_vectors_are_pooled_from_the_slide_vectors_without_encoding_anything_again(
    embedder, sample_decks
):
    decks = segment_decks(_decks(sample_decks), embedder, penalty=1.0)
    stats = EncodeStats()
    vectors = embed_chunks(decks, embedder, stats)

    chunks = [chunk for deck in decks.values() for chunk in deck.chunks]
    assert any(len(chunk.parts) > 1 for chunk in chunks)
    assert stats.texts == 0  # every part is a slide that segmentation embedded
    assert stats.reused == sum(len(chunk.parts) for chunk in chunks)
    for key, deck in decks.items():
        assert vectors[key].shape == (len(deck.chunks), embedder.dimension)
        np.testing.assert_allclose(np.linalg.norm(vectors[key], axis=1), 1.0, atol=1e-5)
        for chunk, vector in zip(deck.chunks, vectors[key]):
            parts = chunk.part_texts()
            expected = np.array([len(p) for p in parts]) @ _fresh(embedder, parts)
            np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)


def test_a_pooled_chunk_vector_is_nearest_to_its_own_text(embedder, sample_decks):
    """Searching with the encoding of a chunk's whole text finds that chunk first."""
    decks = segment_decks(_decks(sample_decks), embedder, penalty=1.0)
    vectors = embed_chunks(decks, embedder, EncodeStats())
    chunks = [chunk for deck in decks.values() for chunk in deck.chunks]
    pooled = np.vstack([vectors[key] for key in decks])
    whole = _fresh(embedder, [chunk.text for chunk in chunks])
    multi = [i for i, chunk in enumerate(chunks) if len(chunk.parts) > 1]
    assert multi
    for i in multi:
        assert int(np.argmax(pooled @ whole[i])) == i, chunks[i].text[:80]


def test_a_slide_too_long_for_the_model_has_its_pieces_encoded(embedder):
    long_body = [
        f"Line {i}: the cooling loop in hall {i} ran at {20 + i % 7} degrees." for i in range(60)
    ]
    deck = ExtractedDeck("d", "d.pptx", "-", [Slide(1, "Cooling log", long_body)])
    segmented = segment_decks({"d": deck}, embedder, penalty=1.0)
    stats = EncodeStats()
    vectors = embed_chunks(segmented, embedder, stats)["d"]
    chunks = segmented["d"].chunks
    assert len(chunks) >= 2 and stats.texts == sum(len(c.parts) for c in chunks)
    np.testing.assert_allclose(vectors[0], _fresh(embedder, [chunks[0].text])[0], atol=1e-5)


def test_one_call_for_many_decks_gives_each_deck_its_own_vectors(embedder, sample_decks):
    extracted = _decks(sample_decks)
    together = segment_decks(extracted, embedder, penalty=1.0)
    for key, deck in extracted.items():
        forget_recent_vectors()
        alone = segment_decks({key: deck}, embedder, penalty=1.0)[key]
        assert together[key].segments == alone.segments
        assert together[key].chunks == alone.chunks


def test_repeated_texts_are_encoded_once(embedder):
    stats = EncodeStats()
    texts = ["Agenda", "GPU quotas per team", "Agenda", "", "Agenda", ""]
    vectors = embedder.embed_passages(texts, stats)
    assert stats.texts == 3 and stats.reused == 3
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(vectors, _fresh(embedder, texts), atol=1e-5)


def test_recent_vectors_stay_within_their_byte_budget():
    recent = RecentVectors(max_bytes=10 * 384 * 4)
    for i in range(25):
        recent.put(RecentVectors.key(f"text {i}"), np.full(384, i, dtype=np.float32))
    assert len(recent) == 10
    assert recent.get(RecentVectors.key("text 0")) is None  # oldest out first
    assert recent.get(RecentVectors.key("text 24"))[0] == 24


def test_an_unset_batch_size_is_the_devices_default_and_a_set_one_is_kept():
    # The CUDA default is checked as a rule only: no GPU here to load a model on.
    assert batch_size_for("cuda:1") == 256
    assert batch_size_for("cpu") == 64
    assert batch_size_for("cuda:0", 32) == 32
    assert Settings.from_env({}).batch_size == 0
    assert Settings.from_env({"OSMOSE_BATCH_SIZE": "128"}).batch_size == 128
    loaded = load_embedder("all-MiniLM-L6-v2", "cpu")
    assert loaded.batch_size == 64 and loaded is load_embedder("all-MiniLM-L6-v2", "cpu", 64)
