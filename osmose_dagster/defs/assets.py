"""The five document assets. Each body reads its inputs, calls one `core` function, and returns
the value with the metadata a user reads in the UI."""


import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
)

from ..core import documents as inbox_files
from ..core.index import open_index
from ..core.pipeline import embed_chunks, segment_deck, vector_problems
from ..core.pptx_extract import extract_slides
from ..core.records import ExtractedDeck, RawDocument, SegmentedDeck
from .partitions import documents
from .resources import EmbedderResource, InboxResource, QdrantResource, SegmenterResource

GROUP = "ingest"


@asset(partitions_def=documents, group_name=GROUP, kinds={"file"})
def raw_documents(context: AssetExecutionContext, inbox: InboxResource) -> Output[RawDocument]:
    """The deck file in the inbox: path, size, and sha256 (its data version)."""
    raw = inbox_files.describe(_path(inbox.path), context.partition_key)
    return Output(
        raw,
        data_version=DataVersion(raw.sha256),
        metadata={"path": raw.path, "size_bytes": raw.size, "sha256": raw.sha256},
    )


@asset(partitions_def=documents, group_name=GROUP, kinds={"pptx"})
def extracted_slides(raw_documents: RawDocument) -> Output[ExtractedDeck]:
    """Every slide's title, body in reading order, tables, notes, charts and SmartArt text."""
    slides = extract_slides(raw_documents.path)
    deck = ExtractedDeck(
        document=raw_documents.document,
        file=raw_documents.file,
        sha256=raw_documents.sha256,
        slides=slides,
    )
    return Output(
        deck,
        metadata={
            "slides": len(slides),
            "characters": sum(len(slide.text) for slide in slides),
            "hidden_slides": sum(slide.hidden for slide in slides),
            "slides_without_text": sum(not slide.text.strip() for slide in slides),
            "tables": sum(len(slide.tables) for slide in slides),
        },
    )


@asset(partitions_def=documents, group_name=GROUP, kinds={"pytorch"})
def topic_segments(
    context: AssetExecutionContext,
    extracted_slides: ExtractedDeck,
    embedder: EmbedderResource,
    segmenter: SegmenterResource,
) -> Output[SegmentedDeck]:
    """Consecutive slides grouped by topic from slide embeddings, split into model-sized chunks."""
    model = embedder.load_for_run(context)
    deck = segment_deck(extracted_slides, model, penalty=segmenter.penalty)
    return Output(
        deck,
        metadata={
            "segments": len(deck.segments),
            "chunks": len(deck.chunks),
            "segment_penalty": segmenter.penalty,
            "segment_table": MetadataValue.md(_segment_table(deck)),
        },
    )


@asset(
    partitions_def=documents,
    group_name=GROUP,
    kinds={"pytorch"},
    check_specs=[AssetCheckSpec("vectors_are_valid", asset="embeddings")],
)
def embeddings(
    context: AssetExecutionContext, topic_segments: SegmentedDeck, embedder: EmbedderResource
):
    """One normalized vector per chunk (float32, `.npy`)."""
    model = embedder.load_for_run(context)
    vectors, stats = embed_chunks(topic_segments, model)
    yield Output(
        vectors,
        metadata={
            "vectors": len(vectors),
            "dimension": model.dimension,
            "model": embedder.model,
            **_device_metadata(model.device.device),
            "embedding_seconds": round(stats.seconds, 3),
            "texts_per_second": round(stats.texts_per_second, 1),
            "batch_size": stats.batch_size,
        },
    )
    problems = vector_problems(vectors, model.dimension)
    yield AssetCheckResult(
        check_name="vectors_are_valid",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={"problems": "; ".join(problems) or "none", "dimension": model.dimension},
    )


@asset(
    partitions_def=documents,
    group_name=GROUP,
    kinds={"qdrant"},
    check_specs=[AssetCheckSpec("points_match_chunks", asset="qdrant_index")],
)
def qdrant_index(
    context: AssetExecutionContext,
    topic_segments: SegmentedDeck,
    embeddings: np.ndarray,
    embedder: EmbedderResource,
    qdrant: QdrantResource,
) -> MaterializeResult:
    """The document's points in Qdrant: new ones written first, then its stale ones removed."""
    location = qdrant.location(embedder.model)
    with open_index(location) as index:
        report = index.replace_document(
            topic_segments.document,
            topic_segments.file,
            topic_segments.chunks,
            embeddings,
            embedder.model,
        )
        stored = index.point_ids(topic_segments.document)
    expected = len(topic_segments.chunks)
    return MaterializeResult(
        metadata={
            "points": len(stored),
            "points_written": report.written,
            "points_unchanged": report.unchanged,
            "points_removed": report.removed,
            "collection": location.collection,
            "store": location.describe(),
        },
        check_results=[
            AssetCheckResult(
                check_name="points_match_chunks",
                passed=len(stored) == expected,
                metadata={"points_in_qdrant": len(stored), "chunks": expected},
            )
        ],
    )


def _path(value: str):
    from pathlib import Path

    return Path(value)


def _segment_table(deck: SegmentedDeck) -> str:
    rows = ["| # | slides | title |", "| --- | --- | --- |"]
    for segment in deck.segments:
        title = segment.title.replace("|", "\\|")
        rows.append(f"| {segment.index + 1} | {segment.first_slide}–{segment.last_slide} | {title} |")
    return "\n".join(rows)


def _device_metadata(device: str) -> dict:
    from ..core.gpu import describe_device

    return describe_device(device)
