"""Reciprocal rank fusion of ranked lists (dense and BM25), done by the project so that the
embedded engine and a server fuse identically.

A candidate's fused score is the sum, over the lists it appears in, of weight / (k + rank),
rank counted from 1. k (OSMOSE_FUSION_K) flattens the advantage of the very first ranks; the
weights (1 for dense, OSMOSE_SPARSE_WEIGHT for BM25) say how much each list counts.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], k: float, weights: Sequence[float]
) -> list[tuple[T, float]]:
    """The union of the lists, best fused score first; ties keep the first list's order, then
    the next list's."""
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[T, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}  # first seen: earlier lists first
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))
