"""Texts -> vectors and topics: device choice, the embedder (batching, fp16, OOM back-off), segmentation."""

from osmose_dagster.core.model.device import describe_device, device_for_slot, resolve_device
from osmose_dagster.core.model.embed import Embedder, EncodeStats, load_embedder
from osmose_dagster.core.model.pipeline import (
    PIPELINE_VERSION,
    embed_chunks,
    segment_deck,
    segment_decks,
    vector_problems,
)

__all__ = [
    "PIPELINE_VERSION",
    "Embedder",
    "EncodeStats",
    "describe_device",
    "device_for_slot",
    "embed_chunks",
    "load_embedder",
    "resolve_device",
    "segment_deck",
    "segment_decks",
    "vector_problems",
]
