"""A bad deck fails alone, also in a batch.

Dagster marks every partition of a batched run (a partition range) alike: materialized when the
step succeeds, failed when it raises. So a batch step reads every deck, and if some cannot be
read it fails naming each of them (metadata `bad_documents`, and `batch`: all its documents).
The run-failure sensor below then requests the rest of the batch again, as the contiguous ranges
left between the bad decks: the good decks are indexed a few seconds later, the bad ones stay
failed with their own error.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from dagster import (
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    RunFailureSensorContext,
    RunRequest,
    SkipReason,
    run_failure_sensor,
)

from osmose_dagster.core.errors import DeckError, DocumentNotFoundError, UnsafeDocumentPathError
from osmose_dagster.core.ops import ranges_without
from osmose_dagster.core.ops.dagster_names import (
    LAUNCHED_BY_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SPLIT_FROM_TAG,
)
from osmose_dagster.defs.jobs import ingest_documents
from osmose_dagster.defs.partitions import documents

BAD_DOCUMENTS = "bad_documents"
BAD_DOCUMENT_CLASSES = "bad_document_classes"  # document -> its error's class (the metrics)
BATCH = "batch"
# What is wrong with one deck rather than with the run: another run cannot help these decks.
DOCUMENT_ERRORS = (DeckError, DocumentNotFoundError, UnsafeDocumentPathError)

In = TypeVar("In")
Out = TypeVar("Out")


def per_document(
    context, items: Mapping[str, In], work: Callable[[str, In], Out]
) -> dict[str, Out]:
    """`work(key, item)` for each document. A run of one document raises its error as it is;
    a batch reads them all, then fails naming every deck that could not be read."""
    if len(items) == 1:
        return {key: work(key, item) for key, item in items.items()}
    done: dict[str, Out] = {}
    bad: dict[str, str] = {}
    classes: dict[str, str] = {}
    for key, item in items.items():
        try:
            done[key] = work(key, item)
        except DOCUMENT_ERRORS as error:
            bad[key], classes[key] = str(error), type(error).__name__
            context.log.error(f"{key}: {error}")
    if bad:
        listed = "; ".join(bad.values())
        good = len(items) - len(bad)
        then = (
            f"The sensor {rerun_batch_without_bad_documents.name} runs the other {good} again "
            "without them."
            if good
            else "No other document was in this batch."
        )
        raise Failure(
            description=(
                f"{len(bad)} of {len(items)} documents in this batch could not be read: "
                f"{listed}. {then}"
            ),
            metadata={
                BAD_DOCUMENTS: MetadataValue.json(bad),
                BAD_DOCUMENT_CLASSES: MetadataValue.json(classes),
                BATCH: MetadataValue.json(list(items)),
            },
            allow_retries=False,
        )
    return done


def bad_documents(context: RunFailureSensorContext) -> tuple[dict[str, str], list[str]]:
    """The decks the failed run's steps named as unreadable, and the batch they were in (both
    empty: the run failed for another reason)."""
    bad: dict[str, str] = {}
    batch: list[str] = []
    for event in context.get_step_failure_events():
        failure = event.step_failure_data.user_failure_data
        if failure and BAD_DOCUMENTS in failure.metadata:
            named = failure.metadata[BAD_DOCUMENTS].value
            members = failure.metadata[BATCH].value
            assert isinstance(named, dict) and isinstance(members, list)  # as per_document wrote
            bad.update({str(key): str(why) for key, why in named.items()})
            batch = [str(key) for key in members]
    return bad, batch


@run_failure_sensor(
    name="rerun_batch_without_bad_documents",
    request_job=ingest_documents,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description=(
        "When a batched run (a backfill's partition range) fails because some decks cannot be "
        "read, requests the rest of the batch again without them: one bad deck never keeps the "
        "others of its batch out of the index."
    ),
)
def rerun_batch_without_bad_documents(context: RunFailureSensorContext):
    run = context.dagster_run
    bad, batch = bad_documents(context)
    if not bad:
        return SkipReason(f"run {run.run_id[:8]} did not fail on unreadable decks of a batch")
    keys = documents.get_partition_keys(dynamic_partitions_store=context.instance)
    ranges = ranges_without(keys, batch, bad)
    context.log.info(
        f"run {run.run_id[:8]} failed on {len(bad)} of its {len(batch)} deck(s): "
        f"{', '.join(sorted(bad))}; requesting {len(ranges)} run(s) for the rest"
    )
    return [_request(run, first, last) for first, last in ranges]


def _request(run, first: str, last: str) -> RunRequest:
    tags = {SPLIT_FROM_TAG: run.run_id, LAUNCHED_BY_TAG: "rerun_batch_without_bad_documents"}
    if first != last:
        tags.update({RANGE_START_TAG: first, RANGE_END_TAG: last})
    return RunRequest(
        run_key=f"{run.run_id}:{first}:{last}",
        partition_key=first if first == last else None,
        asset_selection=list(run.asset_selection) if run.asset_selection else None,
        tags=tags,
    )
