"""What run monitoring's health checks read from the instance about a run."""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance

STARTED_PROCESS = "Started process for run (pid: "


def recorded_run_process(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, when it was recorded) from the run's "Started process for run (pid: N)." event,
    which Dagster writes from the run process itself; None for a run that has none (a run of
    `osmose ingest` executes in the CLI's process and writes none)."""
    records = instance.event_log_storage.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50, ascending=True
    ).records
    for record in records:
        entry = record.event_log_entry
        message = (entry.dagster_event.message if entry.dagster_event else None) or ""
        if message.startswith(STARTED_PROCESS):
            return int(message[len(STARTED_PROCESS) :].split(")", 1)[0]), entry.timestamp
    return None


def latest_event_id(instance: DagsterInstance, run_id: str) -> int | None:
    """The storage id of the run's latest event: it changes whenever the run logs anything."""
    records = instance.event_log_storage.get_records_for_run(
        run_id, limit=1, ascending=False
    ).records
    return records[0].storage_id if records else None
