"""A batch (a backfill's partition range) with unreadable decks, run in process against a real
instance and real files: it fails naming exactly those decks, and the run-failure sensor asks for
the rest of the batch again. tests/integration/test_backfill_with_bad_decks.py does the same through the
daemon and checks that the good decks end up indexed."""

from __future__ import annotations

import os

import pytest
from dagster import DagsterEventType, build_run_status_sensor_context

from osmose_dagster.cli.runner import get_instance
from osmose_dagster.core.inbox.files import add_to_inbox
from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions
from osmose_dagster.defs.batch_failures import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    SPLIT_FROM_TAG,
    rerun_batch_without_bad_documents,
)

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out


def test_a_batch_fails_naming_only_its_unreadable_decks_and_the_rest_is_requested_again(
    osmose_home, tmp_path, sample_decks
):
    settings = Settings.from_env()
    decks = sorted(sample_decks.values())
    keys = [add_to_inbox(settings.inbox, decks[0])]
    for name in ("broken one.pptx", "broken two.pptx"):
        (tmp_path / name).write_bytes(os.urandom(2048))
    keys.append(add_to_inbox(settings.inbox, tmp_path / "broken one.pptx"))
    keys += [add_to_inbox(settings.inbox, deck) for deck in decks[1:3]]
    keys.append(add_to_inbox(settings.inbox, tmp_path / "broken two.pptx"))
    instance = get_instance(settings)
    instance.add_dynamic_partitions("documents", keys)

    job = build_definitions(settings).resolve_job_def("ingest_documents")
    result = job.execute_in_process(
        instance=instance,
        tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "extracted_slides"
    message = failure.step_failure_data.user_failure_data.description
    assert "2 of 5 documents in this batch could not be read" in message
    assert "broken one.pptx: not a PowerPoint presentation" in message
    assert "broken two.pptx: not a PowerPoint presentation" in message
    assert not any(key in message for key in keys if not key.startswith("broken"))

    run = instance.get_run_by_id(result.run_id)
    context = build_run_status_sensor_context(
        sensor_name=rerun_batch_without_bad_documents.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()
    requests = rerun_batch_without_bad_documents(context)

    assert [(r.partition_key, r.partition_key_range) for r in requests] == [
        (keys[0], None),
        (None, (keys[2], keys[3])),
    ]
    assert all(r.tags[SPLIT_FROM_TAG] == result.run_id for r in requests)
    assert len({r.run_key for r in requests}) == 2


def test_a_run_of_one_unreadable_deck_keeps_its_own_error_and_is_not_requested_again(
    osmose_home, tmp_path
):
    settings = Settings.from_env()
    (tmp_path / "broken.pptx").write_bytes(os.urandom(2048))
    key = add_to_inbox(settings.inbox, tmp_path / "broken.pptx")
    instance = get_instance(settings)
    instance.add_dynamic_partitions("documents", [key])
    job = build_definitions(settings).resolve_job_def("ingest_documents")
    result = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)

    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failure.step_failure_data.error.cause.cls_name == "NotAPresentationError"
    context = build_run_status_sensor_context(
        sensor_name=rerun_batch_without_bad_documents.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()
    skipped = rerun_batch_without_bad_documents(context)
    assert "did not fail on unreadable decks of a batch" in skipped.skip_message
