"""Segments + vectors to Qdrant points: deterministic ids, write-then-remove, search.

The embedded store (`QdrantClient(path=...)`) admits one process at a time, so `open_index`
holds it only for the duration of one operation and waits, bounded, for another holder.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .errors import (
    ConfigError,
    DimensionMismatchError,
    IndexBusyError,
    IndexUnavailableError,
    OsmoseError,
)
from .records import Chunk
from .settings import (
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_QDRANT_RETRIES,
    DEFAULT_QDRANT_TIMEOUT_S,
    Settings,
)

POINT_NAMESPACE = uuid.UUID("4f1c2b6e-8a53-4d0e-9c47-6b1d2f0e7a35")
UPSERT_BATCH = 256
_LOCKED_MESSAGE = "already accessed by another instance"
DEFAULT_CONNECT_ATTEMPTS = DEFAULT_QDRANT_RETRIES + 1  # a Qdrant server: the first try + retries
SERVER_TIMEOUT_S = 30  # a Qdrant server: seconds per request once it answered


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

    def describe(self) -> str:
        return _public_url(self.url) if self.url else f"embedded store at {self.path}"

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
    )


@contextmanager
def open_index(location: IndexLocation) -> Iterator[VectorIndex]:
    client = _connect(location)
    try:
        yield VectorIndex(client, location.collection, server=bool(location.url))
    except Exception as error:
        if location.url and _is_connection_failure(error):
            # The server went away in the middle of an operation. Points are written before
            # stale ones are removed, so what is there is the old version, maybe with part of
            # the new one beside it; the next run of the document completes it.
            raise IndexUnavailableError(
                f"lost the Qdrant server at {location.describe()} in the middle of an operation "
                f"({_cause(error, location.api_key)}); the document's previous points are kept, "
                "run it again once the server is back"
            ) from None
        raise
    finally:
        client.close()


def _connect(location: IndexLocation):
    from qdrant_client import QdrantClient

    if location.url:
        _check_server(location)
        return QdrantClient(url=location.url, api_key=location.api_key, timeout=SERVER_TIMEOUT_S)
    assert location.path is not None
    location.path.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + location.lock_timeout_s
    delay = 0.05
    while True:
        try:
            return QdrantClient(path=str(location.path))
        except (RuntimeError, sqlite3.OperationalError) as error:
            # qdrant-client reads the collections' SQLite files before it takes the folder's
            # lock, so a process that opens the store while another one writes to it can meet
            # SQLite's own lock first: the same "held by another process", said differently.
            if _LOCKED_MESSAGE not in str(error) and "database is locked" not in str(error):
                raise
            if time.monotonic() >= deadline:
                raise IndexBusyError(
                    f"the embedded Qdrant store at {location.path} is held by another process "
                    f"(waited {location.lock_timeout_s:.0f}s, OSMOSE_LOCK_TIMEOUT_S). Embedded "
                    "mode allows one process at a time: wait for the other run, or set "
                    "QDRANT_URL to use a Qdrant server"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _check_server(location: IndexLocation) -> None:
    """Ask the server for its collections, up to `connect_attempts` times with a backoff, before
    anything is read or written: an unreachable server fails here, with nothing half-done, in at
    most attempts x connect_timeout_s + the backoff (3 x 5 s + 3 s by default)."""
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    attempts = max(1, int(location.connect_attempts))
    started = time.monotonic()
    cause = "no attempt made"
    for attempt in range(1, attempts + 1):
        with warnings.catch_warnings():
            # "Api key is used with an insecure connection": said once, by the client we keep.
            warnings.simplefilter("ignore", UserWarning)
            probe = QdrantClient(
                url=location.url,
                api_key=location.api_key,
                timeout=max(1, math.ceil(location.connect_timeout_s)),
                check_compatibility=False,  # its own background request would only warn, later
            )
        try:
            probe.get_collections()
            return
        except UnexpectedResponse as error:
            if error.status_code in (401, 403):  # retrying cannot fix a key
                raise IndexUnavailableError(
                    f"the Qdrant server at {location.describe()} refused the request (HTTP "
                    f"{error.status_code} {error.reason_phrase}): check QDRANT_API_KEY"
                ) from None
            cause = f"HTTP {error.status_code} {error.reason_phrase}"
        except Exception as error:  # connection refused, DNS, TLS, timeout: all worth a retry
            cause = _cause(error, location.api_key)
        finally:
            probe.close()
        if attempt < attempts:
            time.sleep(min(2 ** (attempt - 1), 8))
    raise IndexUnavailableError(
        f"the Qdrant server at {location.describe()} cannot be reached ({cause}; "
        f"{attempts} attempt(s) in {time.monotonic() - started:.0f}s): check that it is running "
        "and reachable from this machine and that QDRANT_URL is right "
        "(OSMOSE_QDRANT_RETRIES and OSMOSE_QDRANT_TIMEOUT_S set how long to try)"
    )


def _public_url(url: str) -> str:
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


def _cause(error: BaseException, secret: str | None) -> str:
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


def _is_connection_failure(error: BaseException) -> bool:
    """The server could not be reached or stopped answering (not a refused request)."""
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException

    if isinstance(error, ResponseHandlingException):
        error = error.source
    return isinstance(error, (httpx.TransportError, ConnectionError, TimeoutError))


class VectorIndex:
    def __init__(self, client, collection: str, server: bool):
        self.client = client
        self.collection = collection
        self.server = server

    def exists(self) -> bool:
        return self.client.collection_exists(self.collection)

    def ensure_collection(self, dimension: int) -> None:
        from qdrant_client import models

        if self.exists():
            existing = self.dimension()
            if existing != dimension:
                raise DimensionMismatchError(
                    f"collection {self.collection!r} holds {existing}-dimensional vectors but the "
                    f"model gives {dimension}: use another collection (OSMOSE_COLLECTION) "
                    "or the model that built it"
                )
            return
        self.client.create_collection(
            self.collection,
            vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
        )
        if self.server:  # the embedded store ignores payload indexes (and warns)
            self.client.create_payload_index(
                self.collection, "document", field_schema=models.PayloadSchemaType.KEYWORD
            )

    def dimension(self) -> int:
        params = self.client.get_collection(self.collection).config.params.vectors
        return int(params.size)

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
        upserts all their points in batches of UPSERT_BATCH, whatever document they belong to.
        """
        from qdrant_client import models

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
            models.PointStruct(
                id=pid,
                vector=vector.tolist(),
                payload={
                    "document": doc.document,
                    "file": doc.file,
                    "first_slide": chunk.first_slide,
                    "last_slide": chunk.last_slide,
                    "segment": chunk.segment,
                    "chunk": chunk.index,
                    "title": chunk.title,
                    "text": chunk.text,
                    "model": model,
                },
            )
            for doc in documents
            for pid, chunk, vector in zip(ids[doc.document], doc.chunks, doc.vectors)
        ]
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(self.collection, points[start : start + UPSERT_BATCH], wait=True)
        stale = {name: sorted(before[name] - set(ids[name])) for name in ids}
        removed: list[int | str | uuid.UUID] = [pid for name in ids for pid in stale[name]]
        if removed:
            self.client.delete(self.collection, models.PointIdsList(points=removed), wait=True)
        return {
            name: WriteReport(
                written=len(set(ids[name]) - before[name]),
                unchanged=len(set(ids[name]) & before[name]),
                removed=len(stale[name]),
            )
            for name in ids
        }

    def delete_document(self, document: str) -> int:
        from qdrant_client import models

        ids = self.point_ids(document)
        if ids:
            self.client.delete(self.collection, models.PointIdsList(points=sorted(ids)), wait=True)
        return len(ids)

    def point_ids(self, document: str) -> set[str]:
        return self.point_ids_by_document([document])[document]

    def point_ids_by_document(self, documents: Sequence[str]) -> dict[str, set[str]]:
        """The ids of each document's points, read in one pass over the collection."""
        found: dict[str, set[str]] = {document: set() for document in documents}
        if not documents or not self.exists():
            return found
        for point in self._scroll(self._documents_filter(list(found)), ["document"]):
            found[point.payload["document"]].add(str(point.id))
        return found

    def documents(self) -> dict[str, int]:
        """Points per document."""
        if not self.exists():
            return {}
        counts: dict[str, int] = {}
        for point in self._scroll(None, ["document"]):
            name = point.payload["document"]
            counts[name] = counts.get(name, 0) + 1
        return counts

    def count(self) -> int:
        return self.client.count(self.collection).count if self.exists() else 0

    def search(self, vector: np.ndarray, limit: int) -> list[Hit]:
        if not self.exists():
            return []
        response = self.client.query_points(
            self.collection, query=vector.tolist(), limit=limit, with_payload=True
        )
        return [
            Hit(
                document=p.payload["document"],
                file=p.payload["file"],
                first_slide=p.payload["first_slide"],
                last_slide=p.payload["last_slide"],
                title=p.payload["title"],
                score=float(p.score),
                text=p.payload["text"],
            )
            for p in response.points
        ]

    def _scroll(self, query_filter, with_payload):
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=query_filter,
                with_payload=with_payload,
                with_vectors=False,
                limit=1024,
                offset=offset,
            )
            yield from points
            if offset is None:
                return

    @staticmethod
    def _documents_filter(documents: list[str]):
        from qdrant_client import models

        match = (
            models.MatchValue(value=documents[0])
            if len(documents) == 1
            else models.MatchAny(any=documents)
        )
        return models.Filter(must=[models.FieldCondition(key="document", match=match)])
