"""What osmose sends to a Qdrant server (QDRANT_URL): the HTTP requests qdrant-client makes for
our collection, points and searches, captured by a small local HTTP server that records each
request and answers as Qdrant's REST API would.

What this proves: the collection is made with the dense vector and the `bm25` sparse vector with
the IDF modifier, the payload indexes (`document` keyword, `text` full-text with phrase matching
and accent folding), every point carries the BM25 vector core/index/bm25.py computes (the same as the
embedded engine stores), and a search sends the dense and the BM25 query in one batch, with a
quoted phrase as a `phrase` match on `text` (and the whole query as one, to put a chunk holding
it word for word first). What it does not prove: that a real Qdrant server
of the docker-compose version accepts these bodies and ranks as Edge does; the stub's answers
are canned (tests/core/test_index.py runs the same engine code on qdrant-client's in-process
implementation of the API for behaviour).
"""

from __future__ import annotations

import http.server
import json
import threading
import warnings
from typing import Any, ClassVar

import numpy as np
import pytest

from osmose_dagster.core.index.bm25 import document_vector, query_vector
from osmose_dagster.core.index.store import IndexLocation, open_index
from osmose_dagster.core.records import Chunk

COLLECTION = "osmose_all_minilm_l6_v2"


def collection_info() -> dict:
    """A CollectionInfo body as a server returns it, for the collection osmose creates (made by
    qdrant-client's own in-process Qdrant, so that it has every field the client parses)."""
    from qdrant_client import QdrantClient

    from osmose_dagster.core.index.server import ServerEngine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = QdrantClient(":memory:")
    ServerEngine(client, COLLECTION).create(4)
    info = client.get_collection(COLLECTION).model_dump(mode="json", exclude_none=True)
    client.close()
    return info


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, Any]]] = []
    created = False
    info: ClassVar[dict] = {}

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path = self.path.split("?")[0]
        type(self).requests.append((self.command, path, body))
        base = f"/collections/{COLLECTION}"
        if path in ("/", "/collections"):
            result: object = {"collections": []}
        elif path == f"{base}/exists":
            result = {"exists": type(self).created}
        elif path == base and self.command == "PUT":
            type(self).created = True
            result = True
        elif path == base:
            result = type(self).info
        elif path == f"{base}/points/scroll":
            result = {"points": [], "next_page_offset": None}
        elif path == f"{base}/points/query/batch":
            result = [{"points": []} for _ in body["searches"]]
        else:  # payload indexes, upserts, deletes
            result = {"operation_id": 1, "status": "completed"}
        answer = {"result": result, "status": "ok", "time": 0.0}
        if path == "/":  # the version probe
            answer = {"title": "qdrant - vector search engine", "version": "1.19.1"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.requests = []
    Recorder.created = False
    Recorder.info = collection_info()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


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

    (batch,) = [body for method, path, body in sent if path.endswith("/query/batch")]
    dense, sparse, verbatim = batch["searches"]
    phrase = {"must": [{"key": "text", "match": {"phrase": "Überdruck am Auslass"}}]}
    assert dense["query"] == {"nearest": vectors[0].tolist()}
    assert dense["filter"] == phrase and dense["with_payload"] is True
    terms = query_vector("pump Überdruck am Auslass")
    assert sparse["using"] == "bm25"
    assert sparse["query"] == {"nearest": {"indices": terms.indices, "values": terms.values}}
    assert sparse["filter"] == phrase
    assert dense["limit"] == sparse["limit"] >= 5
    # The whole query, word for word: what puts a line copied from a deck first.
    assert verbatim["query"] == dense["query"]
    assert verbatim["filter"]["must"] == [
        *phrase["must"],
        {"key": "text", "match": {"phrase": "pump Überdruck am Auslass"}},
    ]
