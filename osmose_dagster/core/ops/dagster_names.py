"""The names Dagster knows this project by: asset keys and run tags, spelled once.

Plain strings, so the daemon's plugins (instance/) and the command line can read them without
loading the Dagster definitions. defs/assets.py declares the assets under these names.
"""

# The five assets, in the order a deck flows through them.
RAW_DOCUMENTS = "raw_documents"
EXTRACTED_SLIDES = "extracted_slides"
TOPIC_SEGMENTS = "topic_segments"
EMBEDDINGS = "embeddings"
QDRANT_INDEX = "qdrant_index"
ASSET_NAMES = (RAW_DOCUMENTS, EXTRACTED_SLIDES, TOPIC_SEGMENTS, EMBEDDINGS, QDRANT_INDEX)
# The steps that load the model and so need a compute slot (a GPU where there is one).
MODEL_ASSET_NAMES = (TOPIC_SEGMENTS, EMBEDDINGS)

# Our run tags.
# The slot a run holds. Its value is kept from when slots were only GPUs: the tag limits of
# existing dagster.yaml files, and runs already queued, use it.
SLOT_TAG = "osmose/gpu"
LAUNCHED_BY_TAG = "osmose/launched_by"  # "sensor", "cli", "ui", the sensor that re-ran a batch ...
SPLIT_FROM_TAG = "osmose/split_from"  # a run re-requested for part of a failed batch
GAVE_UP_TAG = "osmose/gave_up"
KILLED_AFTER_LAST_STEP_TAG = "osmose/killed_after_last_step"

# Dagster's own run tags, which Dagster sets (read here, never written).
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
ROOT_RUN_TAG = "dagster/root_run_id"  # set on the retries and re-executions of a run
FROM_UI_TAG = "dagster/from_ui"  # "true" on runs and backfills launched from the UI
BACKFILL_TAG = "dagster/backfill"
AUTOMATION_TAG = "dagster/from_automation_condition"


def launched_by(tags: dict[str, str]) -> str | None:
    """Who started a run, for one that came without our LAUNCHED_BY_TAG: the UI, a backfill
    (the scheduled re-index, or one launched from the UI's partitions page) or an automation
    condition; None when Dagster's tags do not say."""
    if tags.get(FROM_UI_TAG) == "true":
        return "ui"
    if BACKFILL_TAG in tags:
        return "backfill"
    if AUTOMATION_TAG in tags:
        return "automation"
    return None
