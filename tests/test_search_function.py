"""`from osmose_dagster import search`: what a Python application calls, against an index the
project built in this environment's OSMOSE_HOME (real model, real Qdrant Edge store)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import pytest

from osmose_dagster import search
from osmose_dagster.core.errors import UsageError
from osmose_dagster.core.extract import extract_deck
from osmose_dagster.core.index import DocumentPoints, index_location, open_index
from osmose_dagster.core.model import EncodeStats, embed_chunks, segment_decks
from osmose_dagster.core.records import ExtractedDeck
from osmose_dagster.core.settings import Settings


@pytest.fixture
def indexed(osmose_home, embedder, sample_decks):
    settings = Settings.from_env()
    decks = {
        name: ExtractedDeck(
            name, name, hashlib.sha256(path.read_bytes()).hexdigest(), extract_deck(path).slides
        )
        for name, path in sample_decks.items()
    }
    segmented = segment_decks(decks, embedder, penalty=settings.segment_penalty)
    vectors = embed_chunks(segmented, embedder, EncodeStats())
    with open_index(index_location(settings)) as index:
        index.replace_documents(
            [DocumentPoints(k, k, d.chunks, vectors[k]) for k, d in segmented.items()],
            settings.model,
        )
    return settings


def test_search_answers_as_the_command_does_and_keeps_to_a_document(indexed):
    results = search("how much GPU quota does each team get", limit=3)
    assert results[0].document == "ml_platform_onboarding_en.pptx"
    assert set(asdict(results[0])) == {
        "document",
        "file",
        "first_slide",
        "last_slide",
        "title",
        "score",
        "text",
    }
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    kept = search("GPU quota", limit=5, document="quarterly_review_en.pptx")
    assert kept and {r.document for r in kept} == {"quarterly_review_en.pptx"}
    by_file = search("Windenergie", file=["energie_renouvelable_fr.pptx"])
    assert by_file and {r.file for r in by_file} == {"energie_renouvelable_fr.pptx"}


def test_a_query_with_nothing_to_search_for_is_a_clear_error(indexed):
    with pytest.raises(UsageError, match="no letters or digits"):
        search("?!")
