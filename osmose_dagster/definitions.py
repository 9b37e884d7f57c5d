"""The one Definitions object of this code location, built from one Settings.

Importing this module must stay cheap: the webserver, daemon and sensors load it often, so torch
and sentence-transformers are imported only when a run first embeds (see core/model/embed.py).
"""

from dagster import Definitions, in_process_executor

from osmose_dagster.core.inbox import ensure_inbox
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.assets import build_document_assets
from osmose_dagster.defs.automation import scheduled_reindex
from osmose_dagster.defs.batch_failures import rerun_batch_without_bad_documents
from osmose_dagster.defs.jobs import ingest_documents
from osmose_dagster.defs.killed_runs import give_up_on_runs_killed_every_try
from osmose_dagster.defs.resources import resources_for
from osmose_dagster.defs.run_metrics import build_run_metrics_sensors
from osmose_dagster.defs.sensors import build_inbox_sensor


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Definitions for one configuration (the environment's by default)."""
    settings = settings or Settings.from_env()
    ensure_inbox(settings.inbox)  # the drop folder, there from the first start
    return Definitions(
        assets=build_document_assets(settings),
        jobs=[ingest_documents],
        sensors=[
            build_inbox_sensor(settings),
            scheduled_reindex,
            rerun_batch_without_bad_documents,
            give_up_on_runs_killed_every_try,
            *build_run_metrics_sensors(settings),
        ],
        resources=resources_for(settings),
        # No fork: CUDA cannot run in a forked child, and one process means one model load per run.
        executor=in_process_executor,
    )


defs = build_definitions()
