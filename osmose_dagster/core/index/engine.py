"""What `VectorIndex` needs from a vector engine: the few operations both engines implement
(core/index/edge.py embedded, core/index/server.py a Qdrant server), and the shapes they share.

Both hold, per collection: one unnamed dense vector (cosine), one sparse vector named
SPARSE_VECTOR with Qdrant's IDF modifier (core/index/bm25.py), a keyword index on `document` and a
full-text index on `text` with phrase matching (for quoted phrases in a query).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from osmose_dagster.core.index.bm25 import SparseTerms

SPARSE_VECTOR = "bm25"
DENSE_VECTOR = ""  # the unnamed default vector, as collections made before hybrid search have


@dataclass(frozen=True)
class IndexPoint:
    id: str
    dense: list[float]
    sparse: SparseTerms
    payload: dict[str, Any]


@dataclass(frozen=True)
class Found:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchRequest:
    """One ranked query, run by the engine as one Qdrant request.

    With `dense` alone: the cosine ranking; with `sparse` alone: the BM25 ranking; with both:
    the score formula of core/index/ranking.py over the two lists, each prefetched `depth` deep:
    cosine + `lexical_multiplier` x BM25 (+ VERBATIM_BONUS where the text holds `verbatim`).
    Every result holds each of `phrases` and belongs to `documents` / `files` when given."""

    limit: int
    dense: Sequence[float] | None = None
    sparse: SparseTerms | None = None
    lexical_multiplier: float = 0.0
    verbatim: str | None = None
    phrases: Sequence[str] = ()
    documents: Sequence[str] | None = None
    files: Sequence[str] | None = None
    depth: int = 300


class IndexEngine(Protocol):
    def exists(self) -> bool: ...

    def create(self, dimension: int) -> None: ...

    def dimension(self) -> int: ...

    def has_sparse(self) -> bool: ...

    def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def scroll(
        self, documents: Sequence[str] | None, fields: Sequence[str] | None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, payload) of every point, or of the documents' points; `fields` None: all."""
        ...

    def retrieve(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def count(self) -> int: ...

    def search(self, request: SearchRequest) -> list[Found]:
        """At most `request.limit` points, best first, with their payloads and scores."""
        ...

    def size(self) -> int:
        """About how many points there are (Qdrant's estimate: no full count)."""
        ...

    def document_frequency(self, word: str) -> int:
        """How many points' text holds `word` (by the `text` index's tokenizer)."""
        ...

    def finish_writes(self) -> None:
        """End of a write: build or refresh what search needs (the HNSW graph), if anything."""
        ...

    def close(self) -> None: ...
