"""Segments + vectors to Qdrant points: deterministic ids, write-then-remove, search.

The embedded store (`QdrantClient(path=...)`) admits one process at a time, so `open_index`
holds it only for the duration of one operation and waits, bounded, for another holder.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import DimensionMismatchError, IndexBusyError, OsmoseError
from .records import Chunk


POINT_NAMESPACE = uuid.UUID("4f1c2b6e-8a53-4d0e-9c47-6b1d2f0e7a35")
UPSERT_BATCH = 256
_LOCKED_MESSAGE = "already accessed by another instance"


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
    api_key: str | None = None
    lock_timeout_s: float = 120.0

    def describe(self) -> str:
        return self.url if self.url else f"embedded store at {self.path}"


@contextmanager
def open_index(location: IndexLocation) -> Iterator["VectorIndex"]:
    client = _connect(location)
    try:
        yield VectorIndex(client, location.collection, server=bool(location.url))
    finally:
        client.close()


def _connect(location: IndexLocation):
    from qdrant_client import QdrantClient

    if location.url:
        return QdrantClient(url=location.url, api_key=location.api_key, timeout=30)
    assert location.path is not None
    location.path.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + location.lock_timeout_s
    delay = 0.05
    while True:
        try:
            return QdrantClient(path=str(location.path))
        except RuntimeError as error:
            if _LOCKED_MESSAGE not in str(error):
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
        """Write the document's new points first, then remove its points that are not among them.

        A crash between the two steps leaves old and new points side by side, never neither; the
        next run removes the leftovers.
        """
        from qdrant_client import models

        if len(chunks) != len(vectors):
            raise OsmoseError(f"{file}: {len(chunks)} chunks but {len(vectors)} vectors")
        if len(vectors):
            self.ensure_collection(vectors.shape[1])
        before = self.point_ids(document)
        ids = [point_id(document, chunk) for chunk in chunks]
        points = [
            models.PointStruct(
                id=pid,
                vector=vector.tolist(),
                payload={
                    "document": document,
                    "file": file,
                    "first_slide": chunk.first_slide,
                    "last_slide": chunk.last_slide,
                    "segment": chunk.segment,
                    "chunk": chunk.index,
                    "title": chunk.title,
                    "text": chunk.text,
                    "model": model,
                },
            )
            for pid, chunk, vector in zip(ids, chunks, vectors)
        ]
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(self.collection, points[start : start + UPSERT_BATCH], wait=True)
        stale = sorted(before - set(ids))
        if stale:
            self.client.delete(
                self.collection, models.PointIdsList(points=list(stale)), wait=True
            )
        return WriteReport(
            written=len(set(ids) - before),
            unchanged=len(set(ids) & before),
            removed=len(stale),
        )

    def delete_document(self, document: str) -> int:
        from qdrant_client import models

        ids = self.point_ids(document)
        if ids:
            self.client.delete(self.collection, models.PointIdsList(points=sorted(ids)), wait=True)
        return len(ids)

    def point_ids(self, document: str) -> set[str]:
        if not self.exists():
            return set()
        return {str(point.id) for point in self._scroll(self._document_filter(document), False)}

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
    def _document_filter(document: str):
        from qdrant_client import models

        return models.Filter(
            must=[models.FieldCondition(key="document", match=models.MatchValue(value=document))]
        )
