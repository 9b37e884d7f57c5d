"""Segments + vectors to Qdrant points: deterministic ids, write-then-remove, hybrid search.

One interface (`open_index` -> `VectorIndex`) over two engines: Qdrant Edge embedded under
OSMOSE_HOME (core/index/edge.py; one process at a time, so `open_index` holds it for one
operation and waits, bounded, for another holder) and a Qdrant server at QDRANT_URL
(core/index/server.py). Each point carries the model's dense vector and a BM25 sparse vector of
its title and text (core/index/bm25.py); a search ranks by both in one request
(core/index/ranking.py).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from osmose_dagster.core.errors import (
    ConfigError,
    DimensionMismatchError,
    IndexUnavailableError,
    OsmoseError,
)
from osmose_dagster.core.index.bm25 import SparseTerms, document_vector, query_vector, tokenize
from osmose_dagster.core.index.engine import Found, IndexEngine, IndexPoint, SearchRequest
from osmose_dagster.core.index.query import parse_query
from osmose_dagster.core.index.ranking import CANDIDATES, MIN_VERBATIM_WORDS, lexical_weight
from osmose_dagster.core.records import Chunk
from osmose_dagster.core.settings import (
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_QDRANT_REPLICAS,
    DEFAULT_QDRANT_RETRIES,
    DEFAULT_QDRANT_SHARDS,
    DEFAULT_QDRANT_TIMEOUT_S,
    DEFAULT_QDRANT_WRITE_CONSISTENCY,
    Settings,
)

POINT_NAMESPACE = uuid.UUID("4f1c2b6e-8a53-4d0e-9c47-6b1d2f0e7a35")
DEFAULT_CONNECT_ATTEMPTS = DEFAULT_QDRANT_RETRIES + 1  # a Qdrant server: the first try + retries
SEARCH_MODES = ("hybrid", "dense", "sparse")
FREQUENCY_BY_SEARCH = 1000


def collection_name_for(model: str) -> str:
    """One collection per model, so a model change never writes into another's vectors."""
    base = Path(model.rstrip("/")).name.lower()
    return "osmose_" + re.sub(r"[^a-z0-9]+", "_", base).strip("_")


def point_id(document: str, chunk: Chunk) -> str:
    """Stable across runs: same document, position and text give the same id."""
    digest = hashlib.sha256(chunk.text.encode("utf-8")).hexdigest()
    return str(uuid.uuid5(POINT_NAMESPACE, f"{document}\x1f{chunk.index}\x1f{digest}"))


@dataclass(frozen=True)
class WriteReport:
    written: int  # points that did not exist before
    unchanged: int  # points rewritten with the same id (same text at the same place)
    removed: int  # this document's points that the new version no longer has


@dataclass(frozen=True)
class DocumentPoints:
    """What one document's points are made of: its chunks and their vectors, row for row."""

    document: str
    file: str
    chunks: Sequence[Chunk]
    vectors: np.ndarray


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search; `score` is Qdrant's: the cosine similarity of query and chunk
    plus the exact-word bonus of core/index/ranking.py (hybrid), or one list's own score."""

    document: str
    file: str
    first_slide: int
    last_slide: int
    title: str
    score: float
    text: str


@dataclass(frozen=True)
class IndexLocation:
    collection: str
    path: Path | None = None  # embedded store folder
    url: str | None = None  # a Qdrant server instead
    api_key: str | None = field(default=None, repr=False)  # never in a repr, log or message
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    # A server: tries before IndexUnavailableError (1 + OSMOSE_QDRANT_RETRIES), each given
    # connect_timeout_s (OSMOSE_QDRANT_TIMEOUT_S), with 1, 2, 4... s (at most 8) between them.
    connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS
    connect_timeout_s: float = DEFAULT_QDRANT_TIMEOUT_S
    # A server: how the collection is made when osmose creates it (OSMOSE_QDRANT_SHARDS,
    # OSMOSE_QDRANT_REPLICAS, OSMOSE_QDRANT_WRITE_CONSISTENCY); an existing one is used as it is.
    shards: int = DEFAULT_QDRANT_SHARDS
    replicas: int = DEFAULT_QDRANT_REPLICAS
    write_consistency: int = DEFAULT_QDRANT_WRITE_CONSISTENCY

    def describe(self) -> str:
        from osmose_dagster.core.index.server import public_url

        return public_url(self.url) if self.url else f"embedded store at {self.path}"

    def with_lock_timeout(self, seconds: float) -> IndexLocation:
        return replace(self, lock_timeout_s=seconds)


def index_location(settings: Settings) -> IndexLocation:
    """Where this deployment's points live: the Qdrant server at QDRANT_URL when set, else the
    embedded store under OSMOSE_HOME; one collection per model (OSMOSE_COLLECTION overrides)."""
    if settings.deployment == "production" and not settings.qdrant_url:
        raise ConfigError("OSMOSE_DEPLOYMENT=production needs QDRANT_URL (its Qdrant server)")
    return IndexLocation(
        collection=settings.collection or collection_name_for(settings.model),
        path=None if settings.qdrant_url else settings.qdrant_path,
        url=settings.qdrant_url,
        api_key=settings.qdrant_api_key,
        lock_timeout_s=settings.lock_timeout_s,
        connect_attempts=settings.qdrant_retries + 1,
        connect_timeout_s=settings.qdrant_timeout_s,
        shards=settings.qdrant_shards,
        replicas=settings.qdrant_replicas,
        write_consistency=settings.qdrant_write_consistency,
    )


@contextmanager
def open_index(location: IndexLocation) -> Iterator[VectorIndex]:
    """The index of `location`, held for one operation (the `with` block)."""
    with ExitStack() as stack:
        if location.url:
            engine: IndexEngine = _server_engine(location)
        else:
            engine = stack.enter_context(_edge_engine(location))
        try:
            yield VectorIndex(engine, location)
        except Exception as error:
            if location.url and _is_connection_failure(error):
                # The server went away in the middle of an operation. Points are written before
                # stale ones are removed, so what is there is the old version, maybe with part
                # of the new one beside it; the next run of the document completes it.
                from osmose_dagster.core.index.server import error_cause

                raise IndexUnavailableError(
                    f"lost the Qdrant server at {location.describe()} in the middle of an "
                    f"operation ({error_cause(error, location.api_key)}); the document's "
                    "previous points are kept, run it again once the server is back"
                ) from None
            raise
        finally:
            engine.close()


def _server_engine(location: IndexLocation) -> IndexEngine:
    from osmose_dagster.core.index.server import ServerEngine, connect_server

    assert location.url is not None
    client = connect_server(
        location.url, location.api_key, location.connect_attempts, location.connect_timeout_s
    )
    return ServerEngine(
        client,
        location.collection,
        shards=location.shards,
        replicas=location.replicas,
        write_consistency=location.write_consistency,
    )


@contextmanager
def _edge_engine(location: IndexLocation) -> Iterator[IndexEngine]:
    from osmose_dagster.core.index.edge import EdgeEngine, open_edge_store, shard_path
    from osmose_dagster.core.index.legacy import legacy_collection, rebuild_from_legacy

    assert location.path is not None
    with open_edge_store(location.path, location.lock_timeout_s) as wait_or_fail:
        engine = EdgeEngine(shard_path(location.path, location.collection), wait_or_fail)
        if not engine.exists() and legacy_collection(location.path, location.collection):
            rebuild_from_legacy(location.path, location.collection, engine)
        yield engine


def _is_connection_failure(error: BaseException) -> bool:
    from osmose_dagster.core.index.server import is_connection_failure

    return is_connection_failure(error)


class VectorIndex:
    def __init__(self, engine: IndexEngine, location: IndexLocation):
        self.engine = engine
        self.location = location
        self.collection = location.collection
        self.server = bool(location.url)

    def exists(self) -> bool:
        return self.engine.exists()

    def ensure_collection(self, dimension: int) -> None:
        if self.exists():
            existing = self.dimension()
            if existing != dimension:
                raise DimensionMismatchError(
                    f"collection {self.collection!r} holds {existing}-dimensional vectors but the "
                    f"model gives {dimension}: use another collection (OSMOSE_COLLECTION) "
                    "or the model that built it"
                )
            return
        self.engine.create(dimension)

    def dimension(self) -> int:
        return self.engine.dimension()

    def replace_document(
        self,
        document: str,
        file: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        model: str,
    ) -> WriteReport:
        """`replace_documents` for one document."""
        return self.replace_documents([DocumentPoints(document, file, chunks, vectors)], model)[
            document
        ]

    def replace_documents(
        self, documents: Sequence[DocumentPoints], model: str
    ) -> dict[str, WriteReport]:
        """Write the documents' new points first, then remove their points that are not among them.

        A crash between the two steps leaves old and new points side by side, never neither; the
        next run removes the leftovers. A batch reads its documents' existing ids in one pass and
        upserts all their points in batches, whatever document they belong to. At the end the
        engine may build its search graph (HNSW) for points not yet in one.
        """
        for doc in documents:
            if len(doc.chunks) != len(doc.vectors):
                raise OsmoseError(
                    f"{doc.file}: {len(doc.chunks)} chunks but {len(doc.vectors)} vectors"
                )
        dimensions = {doc.vectors.shape[1] for doc in documents if len(doc.vectors)}
        if dimensions:
            self.ensure_collection(dimensions.pop())
        before = self.point_ids_by_document([doc.document for doc in documents])
        ids = {
            doc.document: [point_id(doc.document, chunk) for chunk in doc.chunks]
            for doc in documents
        }
        points = [
            IndexPoint(
                id=pid,
                dense=vector.tolist(),
                sparse=document_vector(chunk.title, chunk.text),
                payload=chunk_payload(doc, chunk, model),
            )
            for doc in documents
            for pid, chunk, vector in zip(ids[doc.document], doc.chunks, doc.vectors)
        ]
        if points:
            self.engine.upsert(points)
        stale = {name: sorted(before[name] - set(ids[name])) for name in ids}
        removed = [pid for name in ids for pid in stale[name]]
        if removed:
            self.engine.delete(removed)
        if points or removed:
            self.engine.finish_writes()
        return {
            name: WriteReport(
                written=len(set(ids[name]) - before[name]),
                unchanged=len(set(ids[name]) & before[name]),
                removed=len(stale[name]),
            )
            for name in ids
        }

    def delete_document(self, document: str) -> int:
        ids = self.point_ids(document)
        if ids:
            self.engine.delete(sorted(ids))
            self.engine.finish_writes()
        return len(ids)

    def point_ids(self, document: str) -> set[str]:
        return self.point_ids_by_document([document])[document]

    def point_ids_by_document(self, documents: Sequence[str]) -> dict[str, set[str]]:
        """The ids of each document's points, read in one pass over the collection."""
        found: dict[str, set[str]] = {document: set() for document in documents}
        if not documents or not self.exists():
            return found
        for pid, payload in self.engine.scroll(list(found), ["document"]):
            found[payload["document"]].add(pid)
        return found

    def documents(self) -> dict[str, int]:
        """Points per document."""
        counts: dict[str, int] = {}
        for _, payload in self.engine.scroll(None, ["document"]):
            name = payload["document"]
            counts[name] = counts.get(name, 0) + 1
        return counts

    def payloads(self, ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """{point id: payload} of the given points, or of every point."""
        if ids is None:
            return dict(self.engine.scroll(None, None))
        return self.engine.retrieve(sorted(ids))

    def count(self) -> int:
        return self.engine.count()

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        query: str = "",
        mode: str = "hybrid",
        documents: Sequence[str] | None = None,
        files: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The best `limit` chunks for a query: its `vector` (the model's) and its text, ranked
        by Qdrant in one request (core/index/ranking.py).

        `hybrid` (default) scores cosine + w(q) x BM25 / best BM25 (+1 for a chunk holding the
        whole query word for word); `dense` or `sparse` rank by one list alone (benchmarks). A
        phrase in double quotes must occur, words in that order (case and accents aside), in
        every result. `documents` / `files` keep the results to those. Without `query`: dense.
        """
        if mode not in SEARCH_MODES:
            raise ValueError(f"search mode {mode!r}: expected one of {', '.join(SEARCH_MODES)}")
        parsed = parse_query(query)
        sparse = query_vector(parsed.text)
        where = SearchRequest(limit, phrases=parsed.phrases, documents=documents, files=files)
        if mode == "sparse":
            found = self.engine.search(replace(where, sparse=sparse))
        elif mode == "dense" or not sparse:
            found = self.engine.search(replace(where, dense=vector.tolist()))
        else:
            found = self._hybrid(vector, parsed.text, sparse, where)
        return [_hit(f) for f in found]

    def _frequency(self, word: str, held: bool) -> int:
        """How many points hold `word`: counted on the `text` index, or, for a word that index
        splits otherwise (Chinese and Japanese pairs, Arabic without its stretching) but a best
        hit holds, by its BM25 list (at most FREQUENCY_BY_SEARCH)."""
        frequency = self.engine.document_frequency(word)
        if frequency == 0 and held:
            request = SearchRequest(FREQUENCY_BY_SEARCH, sparse=query_vector(word))
            frequency = len(self.engine.search(request))
        return frequency

    def _hybrid(
        self, vector: np.ndarray, text: str, sparse: SparseTerms, where: SearchRequest
    ) -> list[Found]:
        best = self.engine.search(replace(where, limit=2, sparse=sparse))
        if not best:
            return self.engine.search(replace(where, dense=vector.tolist()))
        words = dict.fromkeys(tokenize(text))
        texts = [f.payload.get("text", "") for f in best]
        held = set(tokenize(" ".join(texts)))
        weight = lexical_weight(
            {word: self._frequency(word, word in held) for word in words},
            self.engine.size(),  # an estimate: exact counting costs 10 ms at 100,000 points
            texts,
        )
        return self.engine.search(
            replace(
                where,
                dense=vector.tolist(),
                sparse=sparse,
                lexical_multiplier=weight / best[0].score if best[0].score > 0 else 0.0,
                verbatim=text if len(words) >= MIN_VERBATIM_WORDS else None,
                depth=max(CANDIDATES, where.limit),
            )
        )


def chunk_payload(doc: DocumentPoints, chunk: Chunk, model: str) -> dict[str, Any]:
    return {
        "document": doc.document,
        "file": doc.file,
        "first_slide": chunk.first_slide,
        "last_slide": chunk.last_slide,
        "segment": chunk.segment,
        "chunk": chunk.index,
        "title": chunk.title,
        "text": chunk.text,
        "model": model,
    }


def _hit(found: Found) -> Hit:
    p = found.payload
    return Hit(
        document=p["document"],
        file=p["file"],
        first_slide=p["first_slide"],
        last_slide=p["last_slide"],
        title=p["title"],
        score=found.score,
        text=p["text"],
    )
