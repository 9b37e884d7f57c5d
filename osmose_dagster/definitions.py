"""The one Definitions object of this code location.

Importing this module must stay cheap: the webserver, daemon and sensors load it often, so torch
and sentence-transformers are imported only when a run first embeds (see core/embed.py).
"""

import os
import warnings

from dagster import BetaWarning, Definitions, in_process_executor

from .core.settings import Settings
from .defs import assets
from .defs.jobs import ingest_documents
from .defs.resources import resources_for_deployment
from .defs.sensors import ingest_new_decks

# Output(data_version=...) is beta in 1.13; we rely on it knowingly (sha256 as data version).
warnings.filterwarnings("ignore", category=BetaWarning)


def build_definitions(settings: Settings | None = None, deployment: str | None = None) -> Definitions:
    """Definitions for one configuration; `defs` below is the one Dagster loads."""
    return Definitions(
        assets=[
            assets.raw_documents,
            assets.extracted_slides,
            assets.topic_segments,
            assets.embeddings,
            assets.qdrant_index,
        ],
        jobs=[ingest_documents],
        sensors=[ingest_new_decks],
        resources=resources_for_deployment(
            deployment or os.environ.get("OSMOSE_DEPLOYMENT", "local"),
            settings or Settings.from_env(),
        ),
        # No fork: CUDA cannot run in a forked child, and one process means one model load per run.
        executor=in_process_executor,
    )


defs = build_definitions()
