"""The five document assets. Each body reads its inputs, calls one `core` function per document,
and returns the values with the metadata a user reads in the UI; `build_document_assets` declares
them, once, with their final settings.

A run holds one document (sensor, UI, CLI) or a batch of them (a backfill, so that the model is
loaded once for many decks): values are `{partition key: value}`, metadata covers the batch.
"""

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
)

from ..core import inbox_files
from ..core.embed import EncodeStats
from ..core.errors import DocumentChangedError, DocumentNotFoundError
from ..core.index import DocumentPoints
from ..core.pipeline import PIPELINE_VERSION, embed_chunks, segment_decks, vector_problems
from ..core.pptx_extract import extract_deck
from ..core.records import ExtractedDeck, RawDocument, SegmentedDeck
from ..core.settings import Settings
from .automation import model_code_version, reindex_condition
from .batch_failures import per_document
from .partitions import documents
from .resources import EmbedderResource, InboxResource, QdrantResource, SegmenterResource

GROUP = "ingest"
SHA256_BY_DOCUMENT = "sha256_by_document"
# What `extracted_slides` counts, summed over its documents (DeckExtraction.counts).
EXTRACTION_COUNTS = (
    "tables",
    "charts",
    "comments",
    "alt_texts",
    "parts_skipped",
    "off_slide_shapes",
    "repeated_blocks_dropped",
)


def build_document_assets(settings: Settings) -> list[AssetsDefinition]:
    """The five assets, each declared once with its final settings: batches of
    OSMOSE_DECKS_PER_RUN documents per backfill run; the three whose output depends on the model
    carry its code version and the scheduled re-index (defs/automation.py)."""
    batched = BackfillPolicy.multi_run(max_partitions_per_run=settings.decks_per_run)
    version = model_code_version(PIPELINE_VERSION, settings.model, settings.segment_penalty)
    reindex = reindex_condition(settings.reindex_cron)

    def declare(
        body: Callable[..., Any], kind: str, model_dependent: bool = False, check: str = ""
    ) -> AssetsDefinition:
        return asset(
            partitions_def=documents,
            group_name=GROUP,
            kinds={kind},
            backfill_policy=batched,
            code_version=version if model_dependent else None,
            automation_condition=reindex if model_dependent else None,
            check_specs=[AssetCheckSpec(check, asset=body.__name__)] if check else None,
        )(body)

    return [
        declare(raw_documents, "file"),
        declare(extracted_slides, "pptx"),
        declare(topic_segments, "pytorch", model_dependent=True),
        declare(embeddings, "pytorch", model_dependent=True, check="vectors_are_valid"),
        declare(qdrant_index, "qdrant", model_dependent=True, check="points_match_chunks"),
    ]


def raw_documents(
    context: AssetExecutionContext, inbox: InboxResource
) -> Output[dict[str, RawDocument]]:
    """The deck file in the inbox: path, size, and sha256 (its data version)."""
    keys = {key: key for key in context.partition_keys}
    raws = per_document(context, keys, lambda key, _: inbox_files.describe(Path(inbox.path), key))
    # Output takes one data version for all its partitions, so a batch leaves Dagster's default.
    (only,) = raws.values() if len(raws) == 1 else (None,)
    metadata: dict[str, Any]
    if only:
        metadata = {"path": only.path, "size_bytes": only.size, "sha256": only.sha256}
    else:  # each partition's own hash, for the sensor's "already indexed" check
        metadata = {
            "documents": len(raws),
            "total_bytes": sum(raw.size for raw in raws.values()),
            SHA256_BY_DOCUMENT: MetadataValue.json({key: raw.sha256 for key, raw in raws.items()}),
        }
    return Output(raws, data_version=DataVersion(only.sha256) if only else None, metadata=metadata)


def extracted_slides(
    context: AssetExecutionContext, raw_documents: dict[str, RawDocument], inbox: InboxResource
) -> Output[dict[str, ExtractedDeck]]:
    """Every slide's text in reading order: title, body, tables, charts (with their values),
    alt text, notes and comments. A part that cannot be read is skipped, named in the run log
    and counted (`parts_skipped`); the rest of the deck is indexed."""
    limits, passwords = inbox.extraction_limits(), inbox.deck_passwords()
    counts: Counter[str] = Counter()

    def extract(key: str, raw: RawDocument) -> ExtractedDeck:
        extraction = extract_deck(raw.path, limits=limits, passwords=passwords)
        for part in extraction.skipped:
            context.log.warning(f"{key}: {part}")
        counts.update(extraction.counts)
        context.log.info(
            f"{key}: {len(extraction.slides)} slides extracted"
            + (f", {len(extraction.skipped)} part(s) skipped" if extraction.skipped else "")
        )
        return ExtractedDeck(
            document=key, file=raw.file, sha256=raw.sha256, slides=extraction.slides
        )

    decks = per_document(context, raw_documents, extract)
    slides = [slide for deck in decks.values() for slide in deck.slides]
    return Output(
        decks,
        metadata={
            **_documents(decks),
            "slides": len(slides),
            "characters": sum(len(slide.text) for slide in slides),
            "hidden_slides": sum(slide.hidden for slide in slides),
            "slides_without_text": sum(not slide.text.strip() for slide in slides),
            **{name: counts[name] for name in EXTRACTION_COUNTS},
        },
    )


def topic_segments(
    context: AssetExecutionContext,
    extracted_slides: dict[str, ExtractedDeck],
    embedder: EmbedderResource,
    segmenter: SegmenterResource,
) -> Output[dict[str, SegmentedDeck]]:
    """Consecutive slides grouped by topic from slide embeddings, split into model-sized chunks."""
    model = embedder.load_for_run(context)
    stats = EncodeStats()
    decks = segment_decks(extracted_slides, model, penalty=segmenter.penalty, stats=stats)
    embedder.record_encoding(model, stats)
    for key, deck in decks.items():
        context.log.info(f"{key}: {len(deck.segments)} segments, {len(deck.chunks)} chunks")
    return Output(
        decks,
        metadata={
            **_documents(decks),
            "segments": sum(len(deck.segments) for deck in decks.values()),
            "chunks": sum(len(deck.chunks) for deck in decks.values()),
            "segment_penalty": segmenter.penalty,
            # The run's encoding happens here: every slide, once; chunk vectors are pooled.
            "model": embedder.model,
            **model.device_description(),
            "texts_encoded": stats.texts,
            "encoding_seconds": round(stats.seconds, 3),
            "texts_per_second": round(stats.texts_per_second, 1),
            "peak_memory_mib": round(stats.peak_memory_bytes / 2**20, 1),
            "batch_size": stats.batch_size,
            "segment_table": MetadataValue.md(_segment_table(decks)),
        },
    )


def embeddings(
    context: AssetExecutionContext,
    topic_segments: dict[str, SegmentedDeck],
    embedder: EmbedderResource,
):
    """One normalized vector per chunk (float32, `.npy`), pooled from its slides' vectors."""
    model = embedder.load_for_run(context)
    stats = EncodeStats()
    vectors = embed_chunks(topic_segments, model, stats)
    embedder.record_encoding(model, stats)
    if stats.texts:
        context.log.info(
            f"encoded {stats.texts} piece(s) of slides too long for the model in "
            f"{stats.seconds:.1f}s; every other vector was pooled from the slide vectors"
        )
    yield Output(
        vectors,
        metadata={
            **_documents(vectors),
            "vectors": sum(len(v) for v in vectors.values()),
            "dimension": model.dimension,
            "model": embedder.model,
            "slide_vectors_pooled": stats.reused,
            "long_slide_pieces_encoded": stats.texts,
        },
    )
    problems = [
        f"{key}: {problem}"
        for key, array in vectors.items()
        for problem in vector_problems(array, model.dimension)
    ]
    yield AssetCheckResult(
        check_name="vectors_are_valid",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={"problems": "; ".join(problems) or "none", "dimension": model.dimension},
    )


def qdrant_index(
    context: AssetExecutionContext,
    topic_segments: dict[str, SegmentedDeck],
    embeddings: dict[str, np.ndarray],
    embedder: EmbedderResource,
    qdrant: QdrantResource,
    inbox: InboxResource,
) -> MaterializeResult:
    """The document's points in Qdrant: new ones written first, then its stale ones removed."""
    location = qdrant.location()
    with qdrant.open_index() as index:
        stale = _changed_in_flight(topic_segments, Path(inbox.path), context)
        writes = [
            DocumentPoints(key, deck.file, deck.chunks, embeddings[key])
            for key, deck in topic_segments.items()
            if key not in stale
        ]
        reports = index.replace_documents(writes, embedder.model)
        stored = index.point_ids_by_document(list(reports))
        points_in_collection = index.count()
    mismatched = [w.document for w in writes if len(stored[w.document]) != len(w.chunks)]
    return MaterializeResult(
        metadata={
            **_documents(reports),
            "points": sum(r.written + r.unchanged for r in reports.values()),
            "points_written": sum(r.written for r in reports.values()),
            "points_unchanged": sum(r.unchanged for r in reports.values()),
            "points_removed": sum(r.removed for r in reports.values()),
            "points_in_collection": points_in_collection,
            "collection": location.collection,
            "store": location.describe(),
            **({"skipped_changed_in_flight": ", ".join(stale)} if stale else {}),
        },
        check_results=[
            AssetCheckResult(
                check_name="points_match_chunks",
                passed=not mismatched,
                metadata={"documents_not_matching": ", ".join(mismatched) or "none"},
            )
        ],
    )


def _changed_in_flight(decks: dict[str, SegmentedDeck], inbox: Path, context) -> list[str]:
    """Documents removed or replaced in the inbox since this run read them: not to be written.

    A run of one document fails with the reason; a batch goes on with its other documents (the
    drop-folder sensor deletes a removed deck's partition and runs a replaced one again).
    """
    stale = []
    for key, deck in decks.items():
        try:
            inbox_files.ensure_unchanged(inbox, key, deck.sha256)
        except (DocumentNotFoundError, DocumentChangedError) as error:
            if len(decks) == 1:
                raise
            context.log.warning(str(error))
            stale.append(key)
    return stale


def _documents(values: dict) -> dict:
    return {"documents": len(values)} if len(values) > 1 else {}


def _segment_table(decks: dict[str, SegmentedDeck]) -> str:
    many = len(decks) > 1
    rows = ["| document | # | slides | title |" if many else "| # | slides | title |"]
    rows.append("| --- | --- | --- | --- |" if many else "| --- | --- | --- |")
    for key, deck in decks.items():
        for segment in deck.segments:
            title = segment.title.replace("|", "\\|")
            cells = [key] if many else []
            cells += [str(segment.index + 1), f"{segment.first_slide}–{segment.last_slide}", title]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
