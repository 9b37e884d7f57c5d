"""The one Definitions object of this code location.

Importing this module must stay cheap: the webserver, daemon and sensors load it often, so torch
and sentence-transformers are imported only when a run first embeds (see core/embed.py).
"""

import os

from dagster import BackfillPolicy, Definitions, in_process_executor

from .core.pipeline import PIPELINE_VERSION
from .core.settings import Settings
from .defs import assets
from .defs.automation import MODEL_ASSETS, model_code_version, reindex_condition, scheduled_reindex
from .defs.batch_failures import rerun_batch_without_bad_documents
from .defs.jobs import ingest_documents
from .defs.resources import resources_for_deployment
from .defs.sensors import ingest_new_decks


def build_definitions(settings: Settings | None = None, deployment: str | None = None) -> Definitions:
    """Definitions for one configuration; `defs` below is the one Dagster loads."""
    settings = settings or Settings.from_env()
    resources = resources_for_deployment(
        deployment or os.environ.get("OSMOSE_DEPLOYMENT", "local"), settings
    )
    model_version = model_code_version(
        PIPELINE_VERSION, resources["embedder"].model, resources["segmenter"].penalty
    )
    schedule = reindex_condition(settings.reindex_cron)

    batched = BackfillPolicy.multi_run(max_partitions_per_run=settings.decks_per_run)

    def on_schedule(asset_def):
        return asset_def.map_asset_specs(
            lambda spec: spec.replace_attributes(
                code_version=model_version, automation_condition=schedule
            )
        )

    document_assets = [
        assets.raw_documents,
        assets.extracted_slides,
        assets.topic_segments,
        assets.embeddings,
        assets.qdrant_index,
    ]
    return Definitions(
        assets=[
            (on_schedule(a) if a.key.to_user_string() in MODEL_ASSETS else a).with_attributes(
                backfill_policy=batched
            )
            for a in document_assets
        ],
        jobs=[ingest_documents],
        sensors=[ingest_new_decks, scheduled_reindex, rerun_batch_without_bad_documents],
        resources=resources,
        # No fork: CUDA cannot run in a forked child, and one process means one model load per run.
        executor=in_process_executor,
    )


defs = build_definitions()
