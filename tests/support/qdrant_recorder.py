"""A local HTTP server that answers as Qdrant's REST API would, for one collection, and records
each request qdrant-client sends it (method, path, JSON body): what osmose sends a Qdrant server,
without one. Its answers are canned; it ranks nothing (tests/core/test_index_server_requests.py
says what that proves and what not)."""

from __future__ import annotations

import http.server
import json
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tests.support.json_reply import send_json

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
    hit: ClassVar[dict] = {}

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
        elif path == f"{base}/points/query":
            # The best lexical hits (a BM25 query alone) exist; the final query's points do not
            # matter here.
            lexical = body.get("using") == "bm25" and not body.get("prefetch")
            result = {"points": [dict(type(self).hit, score=2.0)] if lexical else []}
        elif path == f"{base}/points/count":
            result = {"count": 2}
        else:  # payload indexes, upserts, deletes
            result = {"operation_id": 1, "status": "completed"}
        answer = {"result": result, "status": "ok", "time": 0.0}
        if path == "/":  # the version probe
            answer = {"title": "qdrant - vector search engine", "version": "1.19.1"}
        send_json(self, 200, answer)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@contextmanager
def recording_qdrant(hit: dict | None = None) -> Iterator[str]:
    """The URL of a recording server; `Recorder.requests` holds what it received."""
    Recorder.requests = []
    Recorder.created = False
    Recorder.info = collection_info()
    Recorder.hit = hit or {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        # qdrant-client asks for the server's version from a thread of its own: let it have its
        # answer before the server goes, or it warns later, in whichever test runs then.
        deadline = time.monotonic() + 2.0
        while (
            Recorder.requests
            and not any(method == "GET" and path == "/" for method, path, _ in Recorder.requests)
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        httpd.shutdown()
        httpd.server_close()
