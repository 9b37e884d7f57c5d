"""The five document assets. Each body reads its inputs, calls one `core` function per document,
and returns the values with the metadata a user reads in the UI; `build_document_assets` declares
them, once, with their final settings.

A run holds one document (sensor, UI, CLI) or a batch of them (a backfill, so that the model is
loaded once for many decks): values are `{partition key: value}`, metadata covers the batch.
"""

from collections.abc import Callable, Mapping
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

from osmose_dagster.core.errors import DocumentChangedError, DocumentNotFoundError
from osmose_dagster.core.extract import extract_deck, ocr_budget_warning
from osmose_dagster.core.inbox import files as inbox_files
from osmose_dagster.core.index import DocumentPoints
from osmose_dagster.core.model import (
    PIPELINE_VERSION,
    EncodeStats,
    embed_chunks,
    segment_decks,
    vector_problems,
)
from osmose_dagster.core.ops.dagster_names import (
    EMBEDDINGS,
    EXTRACTED_SLIDES,
    QDRANT_INDEX,
    RAW_DOCUMENTS,
    TOPIC_SEGMENTS,
)
from osmose_dagster.core.records import ExtractedDeck, RawDocument, SegmentedDeck
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.automation import (
    MODEL_ASSETS,
    extraction_code_version,
    model_code_version,
    reextract_condition,
    reindex_condition,
)
from osmose_dagster.defs.batch_failures import per_document
from osmose_dagster.defs.partitions import documents
from osmose_dagster.defs.resources import (
    EmbedderResource,
    InboxResource,
    QdrantResource,
    SegmenterResource,
)

GROUP = "ingest"
SHA256_BY_DOCUMENT = "sha256_by_document"
BY_DOCUMENT = "by_document"  # a batch run's figures of each document: {document: {name: value}}
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
    carry its code version and the scheduled re-index, and the extraction its own code version
    (pipeline version, OCR setting) and the scheduled re-extraction (defs/automation.py)."""
    batched = BackfillPolicy.multi_run(max_partitions_per_run=settings.decks_per_run)
    model_version = model_code_version(PIPELINE_VERSION, settings.model, settings.segment_penalty)
    reindex = reindex_condition(settings.reindex_cron)
    code_versions = {
        EXTRACTED_SLIDES: extraction_code_version(PIPELINE_VERSION, settings.ocr),
        **dict.fromkeys(MODEL_ASSETS, model_version),
    }
    conditions = {
        EXTRACTED_SLIDES: reextract_condition(settings.reindex_cron),
        **dict.fromkeys(MODEL_ASSETS, reindex),
    }

    def declare(
        name: str,
        body: Callable[..., Any],
        kind: str,
        check: tuple[str, str] | None = None,  # (name, description)
    ) -> AssetsDefinition:
        # Inputs are wired by parameter name, so each body's name is its asset's.
        assert body.__name__ == name, (body.__name__, name)
        return asset(
            name=name,
            partitions_def=documents,
            group_name=GROUP,
            kinds={kind},
            backfill_policy=batched,
            code_version=code_versions.get(name),
            automation_condition=conditions.get(name),
            check_specs=[AssetCheckSpec(check[0], asset=name, description=check[1])]
            if check
            else None,
        )(body)

    return [
        declare(RAW_DOCUMENTS, raw_documents, "file"),
        declare(EXTRACTED_SLIDES, extracted_slides, "pptx"),
        declare(TOPIC_SEGMENTS, topic_segments, "pytorch"),
        declare(
            EMBEDDINGS,
            embeddings,
            "pytorch",
            check=(
                "vectors_are_valid",
                "Every chunk's vector has the model's dimension and holds no NaN or infinity "
                "(such a vector would rank at random); the problems and the dimension are in "
                "its metadata.",
            ),
        ),
        declare(
            QDRANT_INDEX,
            qdrant_index,
            "qdrant",
            check=(
                "points_match_chunks",
                "After the write, the index holds as many points of each document as it has "
                "chunks (none missing, none left from an older version); lists the documents "
                "that do not match.",
            ),
        ),
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
    alt text, notes and comments, then the text read from its pictures (OCR). A part that cannot
    be read is skipped, named in the run log and counted (`parts_skipped`); a picture that cannot
    be read is skipped and counted by reason (`pictures_skipped_*`); the rest of the deck is
    indexed."""
    limits, passwords, ocr = inbox.extraction_limits(), inbox.deck_passwords(), inbox.ocr()
    figures: dict[str, dict[str, int | float]] = {}

    def extract(key: str, raw: RawDocument) -> ExtractedDeck:
        extraction = extract_deck(raw.path, limits=limits, passwords=passwords, ocr=ocr)
        for part in extraction.skipped:
            context.log.warning(f"{key}: {part}")
        if extraction.ocr_budget_exhausted_at:
            context.log.warning(f"{key}: {ocr_budget_warning(extraction)}")
        slides = extraction.slides
        figures[key] = {
            "slides": len(slides),
            "characters": sum(len(slide.text) for slide in slides),
            "hidden_slides": sum(slide.hidden for slide in slides),
            "slides_without_text": sum(not slide.text.strip() for slide in slides),
            **{name: extraction.counts.get(name, 0) for name in EXTRACTION_COUNTS},
            **(extraction.ocr.as_metadata() if extraction.ocr else {}),
        }
        context.log.info(
            f"{key}: {len(extraction.slides)} slides extracted"
            + (f", {len(extraction.skipped)} part(s) skipped" if extraction.skipped else "")
        )
        return ExtractedDeck(
            document=key, file=raw.file, sha256=raw.sha256, slides=extraction.slides
        )

    decks = per_document(context, raw_documents, extract)
    return Output(
        decks,
        metadata={
            **_documents(decks),
            **_per_document_and_summed(figures),
            "ocr": ocr.describe(),
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
    figures = {
        key: {"segments": len(deck.segments), "chunks": len(deck.chunks)}
        for key, deck in decks.items()
    }
    return Output(
        decks,
        metadata={
            **_documents(decks),
            **_per_document_and_summed(figures),
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
            **_per_document_and_summed({key: {"vectors": len(v)} for key, v in vectors.items()}),
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
    figures = {
        key: {
            "points": r.written + r.unchanged,
            "points_written": r.written,
            "points_unchanged": r.unchanged,
            "points_removed": r.removed,
        }
        for key, r in reports.items()
    }
    return MaterializeResult(
        metadata={
            **_documents(reports),
            **_per_document_and_summed(figures),
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


def _per_document_and_summed(figures: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Each figure summed over the run's documents; a batch also shows each document's own
    figures under BY_DOCUMENT (the UI's table of a backfill run, and `osmose ingest`'s rows)."""
    names = list(dict.fromkeys(name for own in figures.values() for name in own))
    summed: dict[str, Any] = {
        name: sum(own.get(name, 0) for own in figures.values()) for name in names
    }
    if len(figures) > 1:
        summed[BY_DOCUMENT] = MetadataValue.json(figures)
    return summed


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
