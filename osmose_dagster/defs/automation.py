"""Scheduled re-indexing as backfills: on a cron, every document whose segments, vectors or points
are missing, failed, or were made by another model or pipeline version is re-materialized; and
every document whose extraction was made by another pipeline version or OCR setting is extracted
again first (its slides' text is what changed), then re-embedded.

Schedules cannot start backfills in Dagster 1.13; an automation condition sensor with
`emit_backfills=True` can, and the assets' BackfillPolicy puts many documents in one run, so the
model is loaded once per batch, not once per deck. Decks whose extraction is missing or failed
(a corrupt file) are left to the drop-folder sensor: re-running them cannot help until the file
changes, and they would fail a whole batch.
"""

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
)

from osmose_dagster.core.ops.dagster_names import (
    EMBEDDINGS,
    EXTRACTED_SLIDES,
    QDRANT_INDEX,
    TOPIC_SEGMENTS,
)
from osmose_dagster.core.settings import OcrSettings

AC = AutomationCondition

# The part of the pipeline whose output depends on the model and the segmentation settings.
MODEL_ASSETS = [TOPIC_SEGMENTS, EMBEDDINGS, QDRANT_INDEX]
REINDEXED_ASSETS = [EXTRACTED_SLIDES, *MODEL_ASSETS]


def reindex_condition(cron: str) -> AutomationCondition:
    # Reset only by our own request: a run that finished with the old model just before a deploy
    # is an update too, and must not hide the change from us.
    outdated = AC.code_version_changed().since(AC.newly_requested())
    reextracted = AC.any_deps_match(AC.will_be_requested())
    needs_work = AC.missing() | AC.execution_failed() | outdated | reextracted
    inputs_missing = AC.any_deps_match(AC.missing() & ~AC.will_be_requested())
    return (
        AC.cron_tick_passed(cron) & needs_work & ~inputs_missing & ~AC.in_progress()
    ).with_label(f"scheduled re-index ({cron})")


def reextract_condition(cron: str) -> AutomationCondition:
    """Extracted decks whose extraction code version changed are extracted again on the cron.

    Not the missing or failed ones (the module docstring says why). The first evaluation counts
    as a change: extraction had no code version before PIPELINE_VERSION 5, so the deployment that
    brings OCR re-extracts the decks indexed before it once (cached picture text makes later
    re-extractions cheap)."""
    outdated = (AC.code_version_changed() | AC.initial_evaluation()).since(AC.newly_requested())
    return (
        AC.cron_tick_passed(cron)
        & outdated
        & ~AC.missing()
        & ~AC.execution_failed()
        & ~AC.in_progress()
    ).with_label(f"scheduled re-extraction ({cron})")


def model_code_version(pipeline_version: str, model: str, penalty: float) -> str:
    """Changes whenever the vectors would: another model, segmentation knob or pipeline version."""
    return f"{pipeline_version}|{model}|penalty={penalty:g}"


def extraction_code_version(pipeline_version: str, ocr: OcrSettings) -> str:
    """Changes whenever the slides' text would: the pipeline version, OCR on or off, its
    languages."""
    return f"{pipeline_version}|ocr={ocr.describe()}"


scheduled_reindex = AutomationConditionSensorDefinition(
    "scheduled_reindex",
    target=AssetSelection.assets(*REINDEXED_ASSETS),
    emit_backfills=True,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Re-index missing, failed or outdated documents as batched backfills on a cron (and "
        "re-extract those extracted by another pipeline version or OCR setting first)."
    ),
)
