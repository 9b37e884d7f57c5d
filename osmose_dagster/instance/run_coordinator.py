"""The run queue, plus one rule: every run that will embed carries a compute-slot tag.

Runs from the sensor and the scheduled backfills are tagged when requested. A run started from
the UI's Materialize button (or `dagster job launch`) carries no tag by itself; this coordinator
gives it the least busy slot's tag before queueing it, so dagster.yaml's per-tag limit binds it
like any other run, and says who launched it (`osmose/launched_by`: ui, backfill, automation). Runs that bypass the queue altogether (`execute_in_process`, the `osmose`
CLI) are kept apart by the slot lock the embedder resource takes (core/ops/slots.py).
"""

from dagster import AssetKey, DagsterRun, QueuedRunCoordinator, SubmitRunContext

from osmose_dagster.core.ops import compute_slots, least_busy_slot
from osmose_dagster.core.ops.dagster_names import (
    LAUNCHED_BY_TAG,
    MODEL_ASSET_NAMES,
    SLOT_TAG,
    launched_by,
)
from osmose_dagster.core.settings import Settings
from osmose_dagster.instance.slot_runs import runs_per_slot

GPU_ASSETS = {AssetKey(name) for name in MODEL_ASSET_NAMES}


class GpuSlotRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        tags: dict[str, str] = {}
        if SLOT_TAG not in run.tags and _embeds(run):
            slots = compute_slots(Settings.from_env().gpus)  # the daemon's OSMOSE_GPUS
            tags[SLOT_TAG] = least_busy_slot(runs_per_slot(self._instance, slots))
        launcher = launched_by(dict(run.tags))
        if LAUNCHED_BY_TAG not in run.tags and launcher:
            tags[LAUNCHED_BY_TAG] = launcher  # so run metrics tell UI runs from the sensor's
        if tags:
            self._instance.add_run_tags(run.run_id, tags)
            tagged = self._instance.get_run_by_id(run.run_id)
            assert tagged is not None  # it was just tagged
            context = SubmitRunContext(tagged, context.workspace)
        return super().submit_run(context)


def _embeds(run: DagsterRun) -> bool:
    """Whole-job runs (no asset selection) are assumed to embed: a slot too many is harmless."""
    return run.asset_selection is None or bool(GPU_ASSETS & set(run.asset_selection))
