"""docs/search-api.md's Python, run as written with plain qdrant-client against an index the
project built, gives `osmose search`'s results: the same chunks, in the same order, with the same
scores.

The index is built through the project's server engine on qdrant-client's in-process
implementation of Qdrant's API (no Qdrant server can run here). What this does not prove: that a
real server ranks alike (its text index folds accents, which the in-process one does not; the
request bodies are checked in tests/core/test_index_server_requests.py)."""

from __future__ import annotations

import re
import warnings

import pytest

from osmose_dagster.core.index.server import ServerEngine
from osmose_dagster.core.index.store import IndexLocation, VectorIndex
from tests.support.indexing import document_points
from tests.support.paths import REPO_ROOT

COLLECTION = "osmose_all_minilm_l6_v2"
QUERIES = [
    "how much GPU time can my team use",  # a question in other words
    "Gross logo churn",  # words of a slide
    "SSH bastion",  # rare words
    "Ausschussquote je Linie",  # German
    "disponibilité des éoliennes",  # French, accents
    "quarterly",
]


def documented_client_code() -> dict:
    text = (REPO_ROOT / "docs" / "search-api.md").read_text()
    (code,) = [
        b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def osmose_search" in b
    ]
    namespace: dict = {}
    exec(compile(code, "docs/search-api.md", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder, sample_decks):
    from qdrant_client import QdrantClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = QdrantClient(path=str(tmp_path_factory.mktemp("api") / "qdrant"))
    index = VectorIndex(
        ServerEngine(client, COLLECTION), IndexLocation(collection=COLLECTION, url="http://x")
    )
    index.replace_documents(document_points(sample_decks.values(), embedder), "all-MiniLM-L6-v2")
    yield client, index
    client.close()


@pytest.mark.parametrize("query", QUERIES)
def test_the_documented_request_gives_the_order_and_scores_of_osmose_search(built, embedder, query):
    client, index = built
    vector = embedder.embed_queries([query])[0]
    ours = index.search(vector, 5, query)
    theirs = documented_client_code()["osmose_search"](
        client, COLLECTION, query, vector.tolist(), limit=5
    )
    assert ours, query
    assert [
        (
            p.payload["document"],
            p.payload["first_slide"],
            p.payload["last_slide"],
            p.payload["text"],
        )
        for p in theirs
    ] == [(h.document, h.first_slide, h.last_slide, h.text) for h in ours]
    assert [p.score for p in theirs] == pytest.approx([h.score for h in ours], abs=1e-6)
