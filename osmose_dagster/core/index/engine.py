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
class Rankings:
    dense: list[Found]
    sparse: list[Found]
    verbatim: list[Found]


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

    def query(
        self,
        dense: Sequence[float],
        sparse: SparseTerms,
        limit: int,
        phrases: Sequence[str],
        verbatim: str | None = None,
    ) -> Rankings:
        """The dense ranking, the BM25 ranking (empty when `sparse` is) and, when `verbatim` is
        given, the points whose text holds it word for word (ranked by the dense vector); each
        of at most `limit` points whose text contains every phrase."""
        ...

    def finish_writes(self) -> None:
        """End of a write: build or refresh what search needs (the HNSW graph), if anything."""
        ...

    def close(self) -> None: ...
