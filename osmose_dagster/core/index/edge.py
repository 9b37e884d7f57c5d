"""The embedded engine: Qdrant Edge (qdrant-edge-py), one shard per collection under the store
folder (`$OSMOSE_HOME/qdrant/shards/<collection>`).

One process at a time: `open_edge_store` takes an exclusive `flock` on `<store>/edge.lock`
(released by the OS when the process ends, even on kill -9) and waits, bounded, for another
holder; Edge itself refuses a second opener of a shard's write-ahead log (`WouldBlock`), which
is waited for the same way. Every write goes to the shard's WAL first, so a process killed in
the middle of a write leaves a shard that loads with each finished operation applied.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from osmose_dagster.core.errors import IndexBusyError
from osmose_dagster.core.index.engine import (
    DENSE_VECTOR,
    SPARSE_VECTOR,
    Found,
    IndexPoint,
    SearchRequest,
)
from osmose_dagster.core.index.ranking import VERBATIM_BONUS

UPSERT_BATCH = 1024
SCROLL_PAGE = 1024
# A segment whose vectors pass this size (KiB) gets an HNSW graph at the end of the next write:
# Qdrant's default, about 6,600 points of 384 dimensions. Below it, search is exact brute force
# (under a millisecond for that many points).
INDEXING_THRESHOLD_KB = 10_000
# Up to 8 segments before the optimizer merges the smallest, none merged past 300 MB (about
# 200,000 points of 384 dimensions): Qdrant's defaults (as many segments as CPUs, no cap) merged
# the growing segment again and again, rebuilding its graph each time: 30,000 points written 400
# at a time took 81 s of graph building on 2 cores, 33 s with these.
SEGMENTS = 8
MAX_SEGMENT_KB = 300_000
_WOULD_BLOCK = "WouldBlock"
_CONFIG_FILE = "edge_config.json"


def shard_path(store: Path, collection: str) -> Path:
    return store / "shards" / collection


@contextmanager
def open_edge_store(store: Path, lock_timeout_s: float) -> Iterator[Callable[[], None]]:
    """Hold the store for this process, waiting at most `lock_timeout_s` for another holder.
    Yields the function that raises IndexBusyError once the wait is over (for the shard's own
    lock, met after ours)."""
    store.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s

    def busy() -> None:
        raise IndexBusyError(
            f"the embedded Qdrant store at {store} is held by another process "
            f"(waited {lock_timeout_s:.0f}s, OSMOSE_LOCK_TIMEOUT_S). Embedded mode allows one "
            "process at a time: wait for the other run, or set QDRANT_URL to use a Qdrant server"
        ) from None

    with open(store / "edge.lock", "a+b") as lock:
        delay = 0.05
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    busy()
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

        def wait_or_fail(delay_s: float = 0.2) -> None:
            if time.monotonic() >= deadline:
                busy()
            time.sleep(delay_s)

        try:
            yield wait_or_fail
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class EdgeEngine:
    """One collection as one Edge shard. The shard is loaded on first use and created by
    `create`; until then `exists()` is False and reads see an empty collection."""

    def __init__(self, path: Path, wait_or_fail: Callable[[], None]):
        self.path = path  # the shard's folder (shard_path)
        self.wait_or_fail = wait_or_fail
        self._shard: Any = None
        self._written = False  # flushed on close only if something was written

    # -- the shard's life ---------------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / _CONFIG_FILE).is_file()

    def _loaded(self):
        if self._shard is None:
            from qdrant_edge import EdgeShard

            while True:
                try:
                    self._shard = EdgeShard.load(str(self.path))
                    break
                except Exception as error:  # Edge raises a bare Exception
                    if _WOULD_BLOCK not in str(error):
                        raise
                    self.wait_or_fail()  # another process holds this shard's WAL
        return self._shard

    def create(self, dimension: int) -> None:
        """Build the shard beside its final place, then rename it in: a process killed while
        creating leaves no half-made shard (the next one starts over)."""
        build = self.path.with_name(f".{self.path.name}.new")
        self.create_at(build, dimension)
        os.replace(build, self.path)

    @staticmethod
    def create_at(path: Path, dimension: int) -> None:
        import qdrant_edge as edge

        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shard = edge.EdgeShard.create(
            str(path),
            edge.EdgeConfig(
                vectors=edge.EdgeVectorParams(size=dimension, distance=edge.Distance.Cosine),
                sparse_vectors={
                    SPARSE_VECTOR: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)
                },
                optimizers=edge.EdgeOptimizersConfig(
                    indexing_threshold=INDEXING_THRESHOLD_KB,
                    default_segment_number=SEGMENTS,
                    max_segment_size=MAX_SEGMENT_KB,
                ),
            ),
        )
        try:
            for field, params in payload_index_params().items():
                shard.update(edge.UpdateOperation.create_field_index(field, params))
            shard.flush()
        finally:
            shard.close()

    def dimension(self) -> int:
        config = json.loads((self.path / _CONFIG_FILE).read_text())
        return int(config["vectors"][DENSE_VECTOR]["size"])

    def has_sparse(self) -> bool:
        config = json.loads((self.path / _CONFIG_FILE).read_text())
        return SPARSE_VECTOR in (config.get("sparse_vectors") or {})

    def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            try:
                if self._written:
                    shard.flush()
            finally:
                shard.close()

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, points: Sequence[IndexPoint]) -> None:
        import qdrant_edge as edge

        shard = self._loaded()
        self._written = True
        for start in range(0, len(points), UPSERT_BATCH):
            batch = [
                edge.Point(
                    p.id,
                    {
                        DENSE_VECTOR: p.dense,
                        SPARSE_VECTOR: edge.SparseVector(p.sparse.indices, p.sparse.values),
                    },
                    p.payload,
                )
                for p in points[start : start + UPSERT_BATCH]
            ]
            shard.update(edge.UpdateOperation.upsert_points(batch))

    def delete(self, ids: Sequence[str]) -> None:
        import qdrant_edge as edge

        shard = self._loaded()
        self._written = True
        for start in range(0, len(ids), UPSERT_BATCH):
            shard.update(
                edge.UpdateOperation.delete_points(list(ids[start : start + UPSERT_BATCH]))
            )

    def finish_writes(self) -> None:
        """Let Qdrant's optimizers run: they index a segment (HNSW) once it passes the indexing
        threshold, and merge or vacuum segments; with nothing to do this returns at once.
        Called at the end of a write, never inside a search."""
        if self._shard is not None:
            self._make_payload_indexes_cold()
            self._shard.optimize()
            self._shard.flush()

    def _make_payload_indexes_cold(self) -> None:
        """Shards created before the payload indexes were cold (payload_index_params) get them
        rebuilt so, once, at the end of a write (seconds at 100,000 points)."""
        import qdrant_edge as edge

        schema = self._shard.info().payload_schema
        for field, params in payload_index_params().items():
            now = schema.get(field)
            if now is None or getattr(now.params, "memory", None) != edge.Memory.Cold:
                self._shard.update(edge.UpdateOperation.create_field_index(field, params))

    # -- reads ----------------------------------------------------------------------------
    def scroll(
        self, documents: Sequence[str] | None, fields: Sequence[str] | None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        import qdrant_edge as edge

        if not self.exists():
            return
        shard = self._loaded()
        selector = True if fields is None else edge.PayloadSelector.Include(list(fields))
        query_filter = _documents_filter(documents) if documents is not None else None
        offset = None
        while True:
            records, offset = shard.scroll(
                edge.ScrollRequest(
                    offset=offset,
                    limit=SCROLL_PAGE,
                    filter=query_filter,
                    with_payload=selector,
                    with_vector=False,
                )
            )
            for record in records:
                yield str(record.id), dict(record.payload or {})
            if offset is None:
                return

    def retrieve(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not self.exists() or not ids:
            return {}
        records = self._loaded().retrieve(list(ids), with_payload=True, with_vector=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def count(self) -> int:
        import qdrant_edge as edge

        return int(self._loaded().count(edge.CountRequest(exact=True))) if self.exists() else 0

    def search(self, request: SearchRequest) -> list[Found]:
        import qdrant_edge as edge

        if not self.exists():
            return []
        query_filter = _filter(request)
        dense = edge.Query.Nearest(list(request.dense)) if request.dense is not None else None
        sparse = (
            edge.Query.Nearest(
                edge.SparseVector(request.sparse.indices, request.sparse.values),
                using=SPARSE_VECTOR,
            )
            if request.sparse
            else None
        )
        if dense is not None and sparse is not None:
            query: Any = _formula(request)
            prefetches = [
                edge.Prefetch(limit=request.depth, query=dense, filter=query_filter),
                edge.Prefetch(limit=request.depth, query=sparse, filter=query_filter),
            ]
        else:
            query, prefetches = (dense if dense is not None else sparse), None
        points = self._loaded().query(
            edge.QueryRequest(
                limit=request.limit,
                query=query,
                prefetches=prefetches,
                filter=query_filter,
                with_payload=True,
            )
        )
        return [Found(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    def size(self) -> int:
        import qdrant_edge as edge

        return int(self._loaded().count(edge.CountRequest(exact=False))) if self.exists() else 0

    def document_frequency(self, word: str) -> int:
        import qdrant_edge as edge

        if not self.exists():
            return 0
        match = edge.Filter(must=[edge.FieldCondition("text", match=edge.MatchText(word))])
        return int(self._loaded().count(edge.CountRequest(exact=True, filter=match)))

    def info(self) -> dict[str, int]:
        """Points, HNSW-indexed vectors and segments (for benchmarks and status)."""
        if not self.exists():
            return {"points": 0, "indexed_vectors": 0, "segments": 0}
        info = self._loaded().info()
        return {
            "points": info.points_count,
            "indexed_vectors": info.indexed_vectors_count,
            "segments": info.segments_count,
        }


def payload_index_params() -> dict[str, Any]:
    """The payload indexes: `document` (keyword: a document's points, for removal and checks)
    and `text` (full text: quoted phrases). Both cold: read from disk (the page cache) when a
    filter needs them instead of loaded into memory when the shard opens: at 100,000 points
    the store opens in 0.37 s instead of 0.85 s (2 CPU cores), search unchanged
    (bench/index_scale.py)."""
    import qdrant_edge as edge

    return {
        "document": edge.KeywordIndexParams(memory=edge.Memory.Cold),
        "text": text_index_params(),
    }


def text_index_params():
    """The full-text index on `text` that quoted phrases are matched with: words (the `word`
    tokenizer: the `multilingual` one drops numbers, so "quarter 23" matched "quarter 24"),
    lowercase, accents folded (ß as ss), no stemming or stop words (as core/index/bm25.py)."""
    import qdrant_edge as edge

    return edge.TextIndexParams(
        tokenizer=edge.TokenizerType.Word,
        lowercase=True,
        ascii_folding=True,
        phrase_matching=True,
        memory=edge.Memory.Cold,
    )


def _documents_filter(documents: Sequence[str]):
    import qdrant_edge as edge

    return edge.Filter(must=[_any_of("document", documents)])


def _any_of(field: str, values: Sequence[str]):
    import qdrant_edge as edge

    match = edge.MatchValue(values[0]) if len(values) == 1 else edge.MatchAny(list(values))
    return edge.FieldCondition(field, match=match)


def _filter(request: SearchRequest):
    """Every phrase in the text, and the documents or files asked for."""
    import qdrant_edge as edge

    must: list[Any] = [
        edge.FieldCondition("text", match=edge.MatchPhrase(p)) for p in request.phrases
    ]
    if request.documents is not None:
        must.append(_any_of("document", request.documents))
    if request.files is not None:
        must.append(_any_of("file", request.files))
    return edge.Filter(must=must) if must else None


def _formula(request: SearchRequest):
    """$score[0] (cosine) + multiplier x $score[1] (BM25) [+ bonus if the text holds verbatim]."""
    import qdrant_edge as edge

    expr = edge.Expression
    terms = [
        expr.Variable("$score[0]"),
        expr.Mult([expr.Constant(request.lexical_multiplier), expr.Variable("$score[1]")]),
    ]
    if request.verbatim:
        phrase = edge.FieldCondition("text", match=edge.MatchPhrase(request.verbatim))
        terms.append(expr.Mult([expr.Constant(VERBATIM_BONUS), expr.Condition(phrase)]))
    return edge.Formula(expr.Sum(terms), defaults={"$score[0]": 0.0, "$score[1]": 0.0})
