"""A run killed on every try ends as one clear failure, and its batch does not wait with it.

Dagster's run retries (`run_retries` in dagster.yaml) start a run again when its process died:
killed (the OOM killer, `kill -9`, an evicted container), gone with its code server, or hung and
ended by run monitoring. Decks that fail on their content are not retried
(`retry_on_asset_or_op_failure: false`): their own error says why. When the last try dies too,
this sensor writes on that final run, as an error in its event log (and in the sensor's log):

    ml_plan.pptx: its run was killed 3 times, last by signal 9 (SIGKILL): likely out of memory
    (...). Not retried again ...

and tags it `osmose/gave_up`. If that run was a batch (a partition range), each of its decks is
requested again in a run of its own, so that one deck that kills its run keeps no other deck of
the batch out of the index; runs of one deck are not split further.

A run killed after its last step succeeded (in the moment between its steps' end and the run's)
has nothing left to run again: Dagster's retry of it fails with "No steps needed to be retried".
Its decks are indexed; the sensor says so on the run, tags it `osmose/killed_after_last_step`,
and requests nothing.
"""

import logging

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    MetadataValue,
    RunFailureSensorContext,
    RunRequest,
    SkipReason,
    run_failure_sensor,
)

from osmose_dagster.core.ops import Death, death_from_messages, summary
from osmose_dagster.core.ops.dagster_names import (
    GAVE_UP_TAG,
    KILLED_AFTER_LAST_STEP_TAG,
    LAUNCHED_BY_TAG,
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SPLIT_FROM_TAG,
)
from osmose_dagster.defs.jobs import ingest_documents
from osmose_dagster.defs.partitions import DOCUMENTS, documents
from osmose_dagster.instance.dagster_private import (
    RUN_FAILURE_REASON_TAG,
    WILL_RETRY_TAG,
    EngineEventData,
    RunFailureReason,
    SerializableErrorInfo,
    StepEventStatus,
    auto_reexecution_should_retry_run,
)

SENSOR_NAME = "give_up_on_runs_killed_every_try"
log = logging.getLogger("osmose_dagster")


@run_failure_sensor(
    name=SENSOR_NAME,
    request_job=ingest_documents,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description=(
        "When a run whose process died (killed, out of memory, hung) has used up its automatic "
        "retries, says so on the final run in one line (how many tries died, how the last did, "
        "the likely cause) and requests each deck of a batched run again in a run of its own."
    ),
)
def give_up_on_runs_killed_every_try(context: RunFailureSensorContext):
    run = context.dagster_run
    if GAVE_UP_TAG in run.tags or KILLED_AFTER_LAST_STEP_TAG in run.tags:
        return SkipReason(f"run {run.run_id[:8]} was already reported")
    if run.tags.get(RUN_FAILURE_REASON_TAG) == RunFailureReason.STEP_FAILURE.value:
        return SkipReason(f"run {run.run_id[:8]} failed on its own error, not from outside")
    instance = context.instance
    last = _death(instance, run)
    if last is not None and _every_step_succeeded(instance, run):
        # Checked before the retry tag: Dagster sets it to "true", then to "false" once its
        # retry has failed for want of steps to run.
        batch = _batch(instance, run)
        indexed = "its deck is indexed" if len(batch) == 1 else "its decks are indexed"
        message = (
            f"{_subject(batch)} was ended {last.how} after every step it had to run "
            f"succeeded: its assets are materialized ({indexed}), so there is nothing "
            "to run again. Dagster marked it failed only because its process did not live to end it."
        )
        instance.report_engine_event(message, run)
        instance.add_run_tags(run.run_id, {KILLED_AFTER_LAST_STEP_TAG: last.how})
        context.log.info(message)
        return None
    if _will_retry(instance, run):
        return SkipReason(f"run {run.run_id[:8]} will be retried")
    tries = _tries(instance, run)
    deaths = [_death(instance, attempt) for attempt in tries]
    if deaths[-1] is None:
        return SkipReason(f"run {run.run_id[:8]} did not end from outside")
    batch = _batch(instance, run)
    if not batch and (run.tags.get(PARTITION_TAG) or run.tags.get(RANGE_START_TAG)):
        return SkipReason(f"run {run.run_id[:8]}: its decks have left the inbox")
    died = [death for death in deaths if death is not None]
    message = _message(batch, died, len(tries), instance.run_retries_max_retries)
    instance.report_engine_event(
        message,
        run,
        engine_event_data=EngineEventData(
            metadata={
                "tries": MetadataValue.int(len(tries)),
                "runs": MetadataValue.json([attempt.run_id for attempt in tries]),
                "how each ended": MetadataValue.json([d.how if d else "failed" for d in deaths]),
            },
            error=SerializableErrorInfo(message, [], "RunKilledOnEveryTry"),
        ),
    )
    instance.add_run_tags(run.run_id, {GAVE_UP_TAG: summary(died).split(":", 1)[0]})
    context.log.error(message)
    log.error("run %s: %s", run.run_id, message)
    if len(batch) < 2:
        return None
    return [
        RunRequest(
            run_key=f"{run.run_id}:{key}",
            partition_key=key,
            asset_selection=list(run.asset_selection) if run.asset_selection else None,
            tags={SPLIT_FROM_TAG: run.run_id, LAUNCHED_BY_TAG: SENSOR_NAME},
        )
        for key in batch
    ]


def _will_retry(instance: DagsterInstance, run: DagsterRun) -> bool:
    """Whether Dagster's run retries will run it again (the tag Dagster sets when the run fails,
    or, in the moment before it is set, the rule that sets it)."""
    tag = run.tags.get(WILL_RETRY_TAG)
    if tag is not None:
        return tag == "true"
    return instance.run_retries_enabled and auto_reexecution_should_retry_run(instance, run, None)


def _tries(instance: DagsterInstance, run: DagsterRun) -> list[DagsterRun]:
    """The run and the runs it retried, first try first."""
    tries = [run]
    while tries[-1].parent_run_id and len(tries) < 100:
        parent = instance.get_run_by_id(tries[-1].parent_run_id)
        if parent is None:
            break
        tries.append(parent)
    return tries[::-1]


def _death(instance: DagsterInstance, run: DagsterRun) -> Death | None:
    events = instance.all_logs(
        run.run_id, of_type={DagsterEventType.ENGINE_EVENT, DagsterEventType.RUN_FAILURE}
    )
    return death_from_messages(
        [entry.dagster_event.message or "" for entry in events if entry.dagster_event]
    )


def _batch(instance: DagsterInstance, run: DagsterRun) -> list[str]:
    """The run's documents: its partition, or the keys of its partition range as they are now."""
    first, last = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if not (first and last):
        partition = run.tags.get(PARTITION_TAG)
        if partition and instance.has_dynamic_partition(DOCUMENTS, partition):
            return [partition]
        return []
    keys = documents.get_partition_keys(dynamic_partitions_store=instance)
    if first not in keys or last not in keys:
        return [key for key in (first, last) if key in keys]
    return list(keys[keys.index(first) : keys.index(last) + 1])


def _every_step_succeeded(instance: DagsterInstance, run: DagsterRun) -> bool:
    """Whether every step of the run's plan succeeded (so a retry would have none to run)."""
    if not run.execution_plan_snapshot_id:
        return False
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    planned = set(plan.step_keys_to_execute)
    succeeded = {
        stats.step_key
        for stats in instance.get_run_step_stats(run.run_id)
        if stats.status == StepEventStatus.SUCCESS
    }
    return bool(planned) and planned <= succeeded


def _subject(batch: list[str]) -> str:
    if len(batch) == 1:
        return f"{batch[0]}: its run"
    if batch:
        return f"a batch of {len(batch)} decks ({batch[0]} … {batch[-1]}): its run"
    return "this run"


def _message(batch: list[str], died: list[Death], tries: int, max_retries: int) -> str:
    subject = _subject(batch)
    why = (
        f"Not retried again (run_retries.max_retries is {max_retries})."
        if tries > max_retries
        else "Dagster's run retries did not run it again (its events say why)."
    )
    then = (
        "Each of its decks is requested again in a run of its own, so that the others are "
        "indexed and the one that kills its run is found."
        if len(batch) > 1
        else "The deck stays failed until its file changes or the scheduled re-index takes it."
    )
    return f"{subject} was {summary(died)}. {why} {then}"
