"""How busy each compute slot is, read from the run storage (for the sensor and the coordinator)."""

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from ..core.slots import SLOT_TAG

# Runs that hold, or will hold, their slot.
SLOT_HOLDING_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def runs_per_slot(instance: DagsterInstance, slots: list[str]) -> dict[str, int]:
    return {
        slot: instance.get_runs_count(
            RunsFilter(tags={SLOT_TAG: slot}, statuses=SLOT_HOLDING_STATUSES)
        )
        for slot in slots
    }
