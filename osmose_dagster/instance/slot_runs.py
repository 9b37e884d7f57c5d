"""How busy each compute slot is, read from the run storage (for the sensor and the coordinator)."""

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from osmose_dagster.core.ops.dagster_names import SLOT_TAG

# Runs that will hold their slot, and runs that hold it.
QUEUED_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]
IN_PROGRESS_STATUSES = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
SLOT_HOLDING_STATUSES = QUEUED_STATUSES + IN_PROGRESS_STATUSES


def runs_per_slot(instance: DagsterInstance, slots: list[str]) -> dict[str, int]:
    return {slot: _count(instance, slot, SLOT_HOLDING_STATUSES) for slot in slots}


def runs_per_slot_and_state(
    instance: DagsterInstance, slots: list[str]
) -> dict[tuple[str, str], int]:
    """(slot, "queued" | "in_progress") -> runs, for the metrics."""
    return {
        (slot, state): _count(instance, slot, statuses)
        for slot in slots
        for state, statuses in (("queued", QUEUED_STATUSES), ("in_progress", IN_PROGRESS_STATUSES))
    }


def _count(instance: DagsterInstance, slot: str, statuses: list[DagsterRunStatus]) -> int:
    return instance.get_runs_count(RunsFilter(tags={SLOT_TAG: slot}, statuses=statuses))
