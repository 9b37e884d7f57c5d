"""What osmose sends to a Qdrant server (QDRANT_URL): the HTTP requests qdrant-client makes for
our collection, points and searches, captured by a small local HTTP server that records each
request and answers as Qdrant's REST API would.

What this proves: the collection is made with the dense vector and the `bm25` sparse vector with
the IDF modifier, the payload indexes (`document` keyword, `text` full-text with phrase matching
and accent folding), every point carries the BM25 vector core/index/bm25.py computes (the same as the
embedded engine stores), and a search sends what docs/search-api.md shows: the best BM25 hits,
count requests for each word's document frequency, then one query that prefetches the dense and
the BM25 lists and ranks them by the score formula (with a quoted phrase as a `phrase` match on
`text`, and the whole query as a condition that puts a chunk holding it word for word first). What it does not prove: that a real Qdrant server
of the docker-compose version accepts these bodies and ranks as Edge does; the stub's answers
are canned (tests/core/test_index.py runs the same engine code on qdrant-client's in-process
implementation of the API for behaviour).
"""

from __future__ import annotations

import numpy as np
import pytest

from osmose_dagster.core.index.bm25 import document_vector, query_vector
from osmose_dagster.core.index.store import IndexLocation, open_index
from osmose_dagster.core.records import Chunk
from tests.support.qdrant_recorder import COLLECTION, Recorder, recording_qdrant


@pytest.fixture
def server():
    hit = {
        "id": "00000000-0000-0000-0000-000000000001",
        "version": 1,
        "score": 1.0,
        "payload": {"text": "Pump fault E-4417: Überdruck am Auslass.", "document": "deck"},
    }
    with recording_qdrant(hit) as url:
        yield url


def test_a_server_gets_the_same_hybrid_points_and_queries_as_the_embedded_engine(server):
    chunks = [
        Chunk(0, 0, 1, 2, "Störungen", "Fehler E-4417: Überdruck am Auslass der Pumpe."),
        Chunk(1, 1, 3, 3, "Énergie", "La disponibilité des éoliennes a atteint 97 %."),
    ]
    vectors = np.eye(2, 4, dtype=np.float32)
    location = IndexLocation(collection=COLLECTION, url=server, connect_attempts=1)
    with open_index(location) as index:
        index.replace_document("deck", "deck.pptx", chunks, vectors, "all-MiniLM-L6-v2")
        index.search(vectors[0], 5, 'pump "Überdruck am Auslass"')

    sent = Recorder.requests
    (create,) = [body for method, path, body in sent if method == "PUT" and path.count("/") == 2]
    assert create["vectors"] == {"size": 4, "distance": "Cosine"}
    assert create["sparse_vectors"] == {"bm25": {"modifier": "idf"}}

    indexes = {
        body["field_name"]: body["field_schema"]
        for method, path, body in sent
        if path.endswith("/index")
    }
    assert indexes["document"] == "keyword"
    assert indexes["text"]["type"] == "text"
    assert indexes["text"]["tokenizer"] == "word"
    assert indexes["text"]["phrase_matching"] is True
    assert indexes["text"]["ascii_folding"] is True
    assert indexes["text"]["lowercase"] is True

    (upsert,) = [body for method, path, body in sent if path.endswith("/points")]
    points = upsert["points"]
    assert len(points) == 2
    for point, chunk, vector in zip(points, chunks, vectors):
        expected = document_vector(chunk.title, chunk.text)
        assert point["vector"][""] == vector.tolist()
        assert point["vector"]["bm25"] == {"indices": expected.indices, "values": expected.values}
        assert point["payload"]["text"] == chunk.text
        assert point["payload"]["document"] == "deck"

    queries = [body for method, path, body in sent if path.endswith("/points/query")]
    lexical, final = queries
    phrase = {"must": [{"key": "text", "match": {"phrase": "Überdruck am Auslass"}}]}
    terms = query_vector("pump Überdruck am Auslass")
    assert lexical["using"] == "bm25" and lexical["limit"] == 2
    assert lexical["query"] == {"nearest": {"indices": terms.indices, "values": terms.values}}
    assert lexical["filter"] == phrase
    # The document frequency of each word, by count requests on the `text` index.
    counted = [
        body["filter"]["must"][0]["match"]["text"]
        for method, path, body in sent
        if path.endswith("/points/count") and body.get("filter")
    ]
    assert counted == ["pump", "uberdruck", "am", "auslass"]
    # The number of points: Qdrant's estimate, not a full count.
    (total,) = [b for m, path, b in sent if path.endswith("/points/count") and not b.get("filter")]
    assert total["exact"] is False

    # One request ranks: both lists prefetched deep, the score formula of core/index/ranking.py.
    dense, sparse = final["prefetch"]
    assert dense["query"] == vectors[0].tolist() and "using" not in dense
    assert sparse["query"] == lexical["query"]["nearest"] and sparse["using"] == "bm25"
    assert dense["limit"] == sparse["limit"] == 300
    assert dense["filter"] == sparse["filter"] == final["filter"] == phrase
    # The best hit holds every word: weight 0.3, divided by its BM25 score (2.0).
    whole_query = {"key": "text", "match": {"phrase": "pump Überdruck am Auslass"}}
    assert final["query"] == {
        "formula": {
            "sum": ["$score[0]", {"mult": [0.15, "$score[1]"]}, {"mult": [1.0, whole_query]}]
        },
        "defaults": {"$score[0]": 0.0, "$score[1]": 0.0},
    }
    assert final["limit"] == 5 and final["with_payload"] is True
