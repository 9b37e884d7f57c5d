"""A backfill launched as the UI's "Materialize all" does, over decks of which two cannot be read,
through a real webserver, daemon and run queue. The batch fails naming those two decks, the
run-failure sensor runs the rest of the batch again, and every good deck ends up indexed."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request

import pytest
from dagster import DagsterEventType, DagsterRunStatus

from osmose_dagster.defs.batch_failures import SPLIT_FROM_TAG
from tests.support.deployment import running, wait_for

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

FIVE_ASSETS = ["raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"]
RUN_TIMEOUT_S = 600
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    # Only the backfill runs: the drop-folder sensor never finds a deck stable, and the
    # scheduled re-index waits for New Year.
    with running(
        tmp_path_factory.mktemp("deployment"),
        OSMOSE_STABLE_SECONDS="1e9",
        OSMOSE_REINDEX_CRON="0 0 1 1 *",
        OSMOSE_LOCK_TIMEOUT_S="300",
    ) as deployed:
        yield deployed


def _launch_backfill_of_all_partitions(port: int) -> str:
    params = {"allPartitions": True, "assetSelection": [{"path": [name]} for name in FIVE_ASSETS]}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": LAUNCH_BACKFILL, "variables": {"params": params}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)["data"]["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return answer["backfillId"]


def test_a_backfill_indexes_every_good_deck_although_two_of_its_batch_cannot_be_read(
    deployment, sample_decks, tmp_path
):
    decks = sorted(sample_decks.values())
    bad = ["broken one.pptx", "broken two.pptx"]
    (deployment.inbox / bad[0]).write_bytes(os.urandom(2048))
    (deployment.inbox / bad[1]).write_bytes(b"PK\x03\x04 truncated zip")
    for deck in decks:
        shutil.copyfile(deck, deployment.inbox / deck.name)
    good = [deck.name for deck in decks]
    # As the drop-folder sensor leaves them: one partition per deck, bad ones in between.
    keys = [good[0], bad[0], good[1], good[2], bad[1], good[3]]
    deployment.instance().add_dynamic_partitions("documents", keys)

    backfill_id = _launch_backfill_of_all_partitions(deployment.port)

    batch = wait_for(
        lambda: deployment.runs(
            statuses=[DagsterRunStatus.FAILURE], tags={"dagster/backfill": backfill_id}
        ),
        RUN_TIMEOUT_S,
        "the backfill's batch to fail on its unreadable decks",
    )
    (batch,) = batch
    assert batch.dagster_run.tags["dagster/asset_partition_range_start"] == keys[0]
    assert batch.dagster_run.tags["dagster/asset_partition_range_end"] == keys[-1]
    (failure,) = deployment.instance().all_logs(
        batch.dagster_run.run_id, of_type=DagsterEventType.STEP_FAILURE
    )
    message = failure.dagster_event.step_failure_data.user_failure_data.description
    assert "2 of 6 documents in this batch could not be read" in message
    assert "broken one.pptx: not a PowerPoint presentation" in message
    assert "broken two.pptx: the file is corrupt or truncated" in message

    # A run records its index materialization a moment before it ends: wait for both.
    wait_for(
        lambda: (
            all(deployment.indexed_since(key) for key in good)
            and all(r.dagster_run.is_finished for r in _reruns(deployment, batch))
        ),
        RUN_TIMEOUT_S,
        "the good decks of the failed batch to be indexed and their runs to end",
    )
    reruns = _reruns(deployment, batch)
    assert len(reruns) == 3, [r.dagster_run.tags for r in reruns]  # [g0], [g1..g2], [g3]
    assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in reruns), [
        (r.dagster_run.run_id, r.dagster_run.status) for r in reruns
    ]
    for key in good:
        assert deployment.points(key), f"{key} has no points"
    for key in bad:
        assert not deployment.indexed_since(key)
        assert not deployment.points(key)


def _reruns(deployment, batch):
    return deployment.runs(tags={SPLIT_FROM_TAG: batch.dagster_run.run_id})
