"""`from osmose_dagster import search`: what a Python application calls, against an index the
project built in this environment's OSMOSE_HOME (real model, real Qdrant Edge store)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from osmose_dagster import search
from osmose_dagster.cli.main import _hit_row
from osmose_dagster.core.errors import UsageError
from osmose_dagster.core.index import index_location, open_index
from osmose_dagster.core.settings import Settings
from tests.support.indexing import document_points


@pytest.fixture
def indexed(osmose_home, embedder, sample_decks):
    settings = Settings.from_env()
    with open_index(index_location(settings)) as index:
        index.replace_documents(document_points(sample_decks.values(), embedder), settings.model)
    return settings


def test_search_answers_as_the_command_does_and_keeps_to_a_document(indexed):
    results = search("how much GPU quota does each team get", limit=3)
    assert results[0].document == "ml_platform_onboarding_en.pptx"
    # the fields of `osmose search --json`, with the same values
    assert asdict(results[0]) == {**_hit_row(results[0]), "score": results[0].score}
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    kept = search("GPU quota", limit=5, document="quarterly_review_en.pptx")
    assert kept and {r.document for r in kept} == {"quarterly_review_en.pptx"}
    by_file = search("Windenergie", file=["energie_renouvelable_fr.pptx"])
    assert by_file and {r.file for r in by_file} == {"energie_renouvelable_fr.pptx"}


def test_a_query_with_nothing_to_search_for_is_a_clear_error(indexed):
    with pytest.raises(UsageError, match="no letters or digits"):
        search("?!")
