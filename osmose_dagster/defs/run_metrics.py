"""Each finished run's figures into the metrics text files (core/ops/metrics.py): the run-status
sensors read what the run recorded (its metadata, step timings, tags) from the instance, so the
runs themselves need no metrics code beyond their encoding totals."""

from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRecord,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
)

from osmose_dagster.core.ops import RunFigures, count_run_outcome, write_run_metrics
from osmose_dagster.core.ops.dagster_names import (
    EXTRACTED_SLIDES,
    LAUNCHED_BY_TAG,
    QDRANT_INDEX,
    ROOT_RUN_TAG,
    SLOT_TAG,
    SPLIT_FROM_TAG,
    TOPIC_SEGMENTS,
)
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.batch_failures import BAD_DOCUMENT_CLASSES
from osmose_dagster.defs.run_results import failure_classes, metadata_by_asset


def _originating_run(instance: DagsterInstance, run: DagsterRun) -> RunRecord | None:
    """The run the sensor requested for these decks: this one, or the one it retries or was
    split from (a batch run again without its bad decks), so latency counts from the request."""
    current = instance.get_run_record_by_id(run.run_id)
    for _ in range(10):  # a chain of splits and retries is short; never loop forever
        if current is None:
            return None
        tags = current.dagster_run.tags
        parent = tags.get(SPLIT_FROM_TAG) or tags.get(ROOT_RUN_TAG)
        if not parent or parent == current.dagster_run.run_id:
            return current
        current = instance.get_run_record_by_id(parent)
    return current


def build_run_metrics_sensors(settings: Settings) -> list[SensorDefinition]:
    folder = settings.metrics_dir

    @run_status_sensor(
        name="record_finished_runs",
        run_status=DagsterRunStatus.SUCCESS,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
        description="Writes each successful run's figures (texts/s, device against slot, step "
        f"seconds, ingest latency) to {folder} for Prometheus' node-exporter.",
    )
    def record_finished_runs(context: RunStatusSensorContext):
        run = context.dagster_run
        instance = context.instance
        events = [entry.dagster_event for entry in instance.all_logs(run.run_id)]
        metadata = metadata_by_asset(events)
        segments = metadata.get(TOPIC_SEGMENTS, {})
        stages = {
            stat.step_key: stat.end_time - stat.start_time
            for stat in instance.get_run_step_stats(run.run_id)
            if stat.start_time and stat.end_time
        }
        record = instance.get_run_record_by_id(run.run_id)
        finished = record.end_time if record and record.end_time else 0.0
        origin = _originating_run(instance, run)
        latency = None
        if (
            record
            and record.end_time
            and origin
            and origin.dagster_run.tags.get(LAUNCHED_BY_TAG) == "sensor"
        ):
            latency = record.end_time - origin.create_timestamp.timestamp()
        extracted = metadata.get(EXTRACTED_SLIDES, {})
        write_run_metrics(
            folder,
            RunFigures(
                slot=run.tags.get(SLOT_TAG, "none"),
                launched_by=run.tags.get(LAUNCHED_BY_TAG, "none"),
                device=str(segments.get("device", "")),
                model=str(segments.get("model", settings.model)),
                documents=int(extracted.get("documents", 1 if extracted else 0)),
                texts=int(segments.get("texts_encoded", 0)),
                texts_per_second=float(segments.get("texts_per_second", 0.0)),
                peak_memory_bytes=float(segments.get("peak_memory_mib", 0.0)) * 2**20,
                stage_seconds=stages,
                finished_at=finished,
                drop_to_index_seconds=latency,
                points_in_index=metadata.get(QDRANT_INDEX, {}).get("points_in_collection"),
            ),
        )
        count_run_outcome(folder, failed=False)
        return SkipReason(f"recorded run {run.run_id[:8]}'s figures in {folder}")

    @run_failure_sensor(
        name="count_failed_runs",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
        description=f"Counts failed runs by error class in {folder} for Prometheus.",
    )
    def count_failed_runs(context: RunFailureSensorContext):
        run = context.dagster_run
        events = [entry.dagster_event for entry in context.instance.all_logs(run.run_id)]
        classes = failure_classes(events, BAD_DOCUMENT_CLASSES)
        count_run_outcome(folder, failed=True, error_classes=classes)
        return SkipReason(f"counted run {run.run_id[:8]}'s failure: {', '.join(classes)}")

    return [record_finished_runs, count_failed_runs]
