"""The embedded store of before Qdrant Edge (qdrant-client's local mode: `<store>/meta.json` and
`<store>/collection/<name>/storage.sqlite`), rebuilt as an Edge shard by itself.

The first time a collection is opened that has no shard yet but has points in the old store,
its points (ids, vectors, payloads) are copied into a new shard, with their BM25 vectors
computed from the stored title and text: nothing is encoded again and nothing is lost. The shard
is built beside its final place and renamed in when complete, so a process killed meanwhile
leaves the old store as it was and the next opening starts over. The old files are left where
they are (delete `meta.json` and `collection/` once satisfied); the shard's existence is what
says the copy was made.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from osmose_dagster.core.index.bm25 import document_vector
from osmose_dagster.core.index.edge import EdgeEngine
from osmose_dagster.core.index.engine import IndexPoint

log = logging.getLogger(__name__)
COPY_BATCH = 1024


def legacy_collection(store: Path, collection: str) -> Path | None:
    """The old store's file for `collection`, if the store has one."""
    sqlite = store / "collection" / collection / "storage.sqlite"
    return sqlite if (store / "meta.json").is_file() and sqlite.is_file() else None


def rebuild_from_legacy(store: Path, collection: str, engine: EdgeEngine) -> int:
    """Copy the old store's `collection` into the engine's (missing) shard; the points copied.
    The caller holds the store (open_edge_store)."""
    from qdrant_client import QdrantClient

    log.warning(
        "%s: rebuilding collection %r from the store of an older version (qdrant-client local "
        "mode) as a Qdrant Edge shard, once; its files are left in place",
        store,
        collection,
    )
    build = engine.path.with_name(f".{engine.path.name}.from-local-mode")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode's "more than 20,000 points" advice
        client = QdrantClient(path=str(store))
    try:
        vectors: Any = client.get_collection(collection).config.params.vectors
        dimension = int((vectors[""] if isinstance(vectors, dict) else vectors).size)
        EdgeEngine.create_at(build, dimension)
        target = EdgeEngine(build, engine.wait_or_fail)
        copied, offset = 0, None
        try:
            while True:
                points, offset = client.scroll(
                    collection,
                    with_payload=True,
                    with_vectors=True,
                    limit=COPY_BATCH,
                    offset=offset,
                )
                target.upsert(
                    [
                        IndexPoint(
                            id=str(p.id),
                            dense=list(_dense(p.vector)),
                            sparse=document_vector(
                                str((p.payload or {}).get("title", "")),
                                str((p.payload or {}).get("text", "")),
                            ),
                            payload=dict(p.payload or {}),
                        )
                        for p in points
                    ]
                )
                copied += len(points)
                if offset is None:
                    break
            target.finish_writes()
        finally:
            target.close()
    finally:
        client.close()
    os.replace(build, engine.path)
    log.warning("%s: collection %r rebuilt: %d points", store, collection, copied)
    return copied


def _dense(vector) -> list[float]:
    if isinstance(vector, dict):  # a named-vector store: the unnamed one
        vector = vector.get("", next(iter(vector.values())))
    return list(vector)
