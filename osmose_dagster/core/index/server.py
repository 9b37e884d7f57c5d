"""A Qdrant server (QDRANT_URL) through qdrant-client: the same points, vectors, payload indexes
and queries as the embedded engine (core/index/edge.py), sent as qdrant-client's models.

`ServerEngine` takes any `QdrantClient`; `connect_server` makes the one for a URL after
checking, with bounded retries, that the server answers.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from osmose_dagster.core.errors import IndexUnavailableError, OsmoseError
from osmose_dagster.core.index.engine import SPARSE_VECTOR, Found, IndexPoint, SearchRequest
from osmose_dagster.core.index.ranking import VERBATIM_BONUS

UPSERT_BATCH = 256
SCROLL_PAGE = 1024
SERVER_TIMEOUT_S = 30  # seconds per request once the server answered


class ServerEngine:
    """`shards`, `replicas` and `write_consistency` are how `create` makes the collection (its
    shard count, copies of each shard, and copies that must apply a write before it is answered);
    the defaults (1, 1, 1) are right for one node. They bind only a collection osmose creates."""

    def __init__(
        self,
        client,
        collection: str,
        *,
        shards: int = 1,
        replicas: int = 1,
        write_consistency: int = 1,
    ):
        self.client = client
        self.collection = collection
        self.shards = shards
        self.replicas = replicas
        self.write_consistency = write_consistency
        self._has_sparse: bool | None = None  # read once per opening

    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.collection))

    def create(self, dimension: int) -> None:
        from qdrant_client import models

        self.client.create_collection(
            self.collection,
            vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
            sparse_vectors_config={
                SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
            shard_number=self.shards,
            replication_factor=self.replicas,
            write_consistency_factor=self.write_consistency,
        )
        with warnings.catch_warnings():
            # qdrant-client's in-process stand-in (tests) warns that it ignores payload indexes
            warnings.simplefilter("ignore", UserWarning)
            self.client.create_payload_index(
                self.collection, "document", field_schema=models.PayloadSchemaType.KEYWORD
            )
            self.client.create_payload_index(
                self.collection, "text", field_schema=text_index_params()
            )
        self._has_sparse = True

    def dimension(self) -> int:
        params = self.client.get_collection(self.collection).config.params.vectors
        return int(params.size)

    def has_sparse(self) -> bool:
        if self._has_sparse is None:
            params = self.client.get_collection(self.collection).config.params
            self._has_sparse = SPARSE_VECTOR in (params.sparse_vectors or {})
        return self._has_sparse

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        from qdrant_client import models

        if not self.has_sparse():
            raise OsmoseError(
                f"collection {self.collection!r} on the Qdrant server was made before hybrid "
                "search (it has no 'bm25' sparse vector): delete it on the server, then "
                "backfill the qdrant_index asset (its points are rebuilt from the stored "
                "embeddings; nothing is encoded again), or set OSMOSE_COLLECTION to a new name"
            )
        structs = [
            models.PointStruct(
                id=p.id,
                vector={
                    "": p.dense,
                    SPARSE_VECTOR: models.SparseVector(
                        indices=p.sparse.indices, values=p.sparse.values
                    ),
                },
                payload=p.payload,
            )
            for p in points
        ]
        for start in range(0, len(structs), UPSERT_BATCH):
            self.client.upsert(self.collection, structs[start : start + UPSERT_BATCH], wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        from qdrant_client import models

        self.client.delete(self.collection, models.PointIdsList(points=list(ids)), wait=True)

    def finish_writes(self) -> None:
        """A server's own optimizers build its HNSW graph in the background."""

    def scroll(
        self, documents: Sequence[str] | None, fields: Sequence[str] | None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        if not self.exists():
            return
        query_filter = _documents_filter(documents) if documents is not None else None
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=query_filter,
                with_payload=True if fields is None else list(fields),
                with_vectors=False,
                limit=SCROLL_PAGE,
                offset=offset,
            )
            for point in points:
                yield str(point.id), dict(point.payload or {})
            if offset is None:
                return

    def retrieve(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids or not self.exists():
            return {}
        points = self.client.retrieve(self.collection, ids=list(ids), with_payload=True)
        return {str(p.id): dict(p.payload or {}) for p in points}

    def count(self) -> int:
        return self.client.count(self.collection).count if self.exists() else 0

    def search(self, request: SearchRequest) -> list[Found]:
        if not self.exists():
            return []
        if request.sparse and not self.has_sparse():
            request = replace(request, sparse=None)
        response = self.client.query_points(self.collection, **query_arguments(request))
        return [Found(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]

    def size(self) -> int:
        return self.client.count(self.collection, exact=False).count if self.exists() else 0

    def document_frequency(self, word: str) -> int:
        from qdrant_client import models

        if not self.exists():
            return 0
        match = models.Filter(
            must=[models.FieldCondition(key="text", match=models.MatchText(text=word))]
        )
        return self.client.count(self.collection, count_filter=match, exact=True).count

    def close(self) -> None:
        self.client.close()


def query_arguments(request: SearchRequest) -> dict[str, Any]:
    """The keyword arguments of `QdrantClient.query_points` for one search: the same request as
    the embedded engine's (core/index/edge.py), and what docs/search-api.md shows."""
    from qdrant_client import models

    query_filter = search_filter(request)
    dense = list(request.dense) if request.dense is not None else None
    sparse = (
        models.SparseVector(indices=request.sparse.indices, values=request.sparse.values)
        if request.sparse
        else None
    )
    common: dict[str, Any] = {"limit": request.limit, "with_payload": True}
    if dense is not None and sparse is not None:
        return {
            **common,
            "prefetch": [
                models.Prefetch(query=dense, limit=request.depth, filter=query_filter),
                models.Prefetch(
                    query=sparse, using=SPARSE_VECTOR, limit=request.depth, filter=query_filter
                ),
            ],
            "query": formula(request),
            "query_filter": query_filter,
        }
    if sparse is not None:
        return {**common, "query": sparse, "using": SPARSE_VECTOR, "query_filter": query_filter}
    return {**common, "query": dense, "query_filter": query_filter}


def formula(request: SearchRequest):
    from qdrant_client import models

    terms: list[Any] = [
        "$score[0]",
        models.MultExpression(mult=[request.lexical_multiplier, "$score[1]"]),
    ]
    if request.verbatim:
        phrase = models.FieldCondition(
            key="text", match=models.MatchPhrase(phrase=request.verbatim)
        )
        terms.append(models.MultExpression(mult=[VERBATIM_BONUS, phrase]))
    return models.FormulaQuery(
        formula=models.SumExpression(sum=terms), defaults={"$score[0]": 0.0, "$score[1]": 0.0}
    )


def search_filter(request: SearchRequest):
    """Every phrase in the text, and the documents or files asked for."""
    from qdrant_client import models

    must: list[Any] = [
        models.FieldCondition(key="text", match=models.MatchPhrase(phrase=phrase))
        for phrase in request.phrases
    ]
    for field, values in (("document", request.documents), ("file", request.files)):
        if values is not None:
            must.append(_any_of(field, values))
    return models.Filter(must=must) if must else None


def text_index_params():
    """As core/index_edge.text_index_params: Unicode words, lowercase, accents folded."""
    from qdrant_client import models

    return models.TextIndexParams(
        type=models.TextIndexType.TEXT,
        tokenizer=models.TokenizerType.WORD,
        lowercase=True,
        ascii_folding=True,
        phrase_matching=True,
    )


def _documents_filter(documents: Sequence[str]):
    from qdrant_client import models

    return models.Filter(must=[_any_of("document", documents)])


def _any_of(field: str, values: Sequence[str]):
    from qdrant_client import models

    match = (
        models.MatchValue(value=values[0])
        if len(values) == 1
        else models.MatchAny(any=list(values))
    )
    return models.FieldCondition(key=field, match=match)


def connect_server(url: str, api_key: str | None, attempts: int, timeout_s: float):
    """A client for the server, once it has answered (see check_server)."""
    from qdrant_client import QdrantClient

    check_server(url, api_key, attempts, timeout_s)
    return QdrantClient(url=url, api_key=api_key, timeout=SERVER_TIMEOUT_S)


def check_server(url: str, api_key: str | None, attempts: int, timeout_s: float) -> None:
    """Ask the server for its collections, up to `attempts` times with a backoff, before
    anything is read or written: an unreachable server fails here, with nothing half-done, in at
    most attempts x timeout_s + the backoff (3 x 5 s + 3 s by default)."""
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    attempts = max(1, int(attempts))
    started = time.monotonic()
    cause = "no attempt made"
    for attempt in range(1, attempts + 1):
        with warnings.catch_warnings():
            # "Api key is used with an insecure connection": said once, by the client we keep.
            warnings.simplefilter("ignore", UserWarning)
            probe = QdrantClient(
                url=url,
                api_key=api_key,
                timeout=max(1, math.ceil(timeout_s)),
                check_compatibility=False,  # its own background request would only warn, later
            )
        try:
            probe.get_collections()
            return
        except UnexpectedResponse as error:
            if error.status_code in (401, 403):  # retrying cannot fix a key
                raise IndexUnavailableError(
                    f"the Qdrant server at {public_url(url)} refused the request (HTTP "
                    f"{error.status_code} {error.reason_phrase}): check QDRANT_API_KEY"
                ) from None
            cause = f"HTTP {error.status_code} {error.reason_phrase}"
        except Exception as error:  # connection refused, DNS, TLS, timeout: all worth a retry
            cause = error_cause(error, api_key)
        finally:
            probe.close()
        if attempt < attempts:
            time.sleep(min(2 ** (attempt - 1), 8))
    raise IndexUnavailableError(
        f"the Qdrant server at {public_url(url)} cannot be reached ({cause}; "
        f"{attempts} attempt(s) in {time.monotonic() - started:.0f}s): check that it is running "
        "and reachable from this machine and that QDRANT_URL is right "
        "(OSMOSE_QDRANT_RETRIES and OSMOSE_QDRANT_TIMEOUT_S set how long to try)"
    )


def public_url(url: str) -> str:
    """The URL to show: scheme, host, port and path, without credentials or a query string."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6
        netloc = host + (f":{parts.port}" if parts.port else "")
    except ValueError:  # not a URL we can parse: show only what precedes any credentials
        return url.split("@")[-1].split("?")[0]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def error_cause(error: BaseException, secret: str | None) -> str:
    """The innermost cause, one line, with the API key blanked should it ever appear."""
    while True:
        inner = getattr(error, "source", None) or error.__cause__
        if not isinstance(inner, BaseException):
            break
        error = inner
    text = " ".join(str(error).split()) or type(error).__name__
    if secret:
        text = text.replace(secret, "***")
    return text[:300]


def is_connection_failure(error: BaseException) -> bool:
    """The server could not be reached or stopped answering (not a refused request)."""
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException

    if isinstance(error, ResponseHandlingException):
        error = error.source
    return isinstance(error, (httpx.TransportError, ConnectionError, TimeoutError))
