"""The Dagster wiring in seconds (part of `make test-fast`): the five asset bodies materialized in
process on a small deck against a real instance, model and embedded store, and one tick of the
drop-folder sensor on a real instance. A broken asset body or sensor fails here, not only in the
slow suite."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagster import AddDynamicPartitionsRequest, DagsterEventType, instance_for_test

from osmose_dagster.core.inbox import add_to_inbox
from osmose_dagster.core.index import index_location, open_index
from osmose_dagster.core.ops.dagster_names import (
    ASSET_NAMES,
    LAUNCHED_BY_TAG,
    SLOT_TAG,
)
from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions
from osmose_dagster.defs.jobs import ingest_documents
from osmose_dagster.defs.partitions import DOCUMENTS
from tests.support.indexing import write_deck
from tests.support.sensor_ticks import SensorTicks

SLIDES = [
    ("Beekeeping in winter", "Hives are wrapped in straw and the bees cluster around the queen."),
    ("Harvesting honey", "Frames are spun in an extractor once the cells are capped with wax."),
]


def small_deck(path: Path) -> Path:
    return write_deck(path, SLIDES)


def test_the_declared_assets_are_the_names_the_rest_of_the_project_uses(osmose_home):
    defs = build_definitions(Settings.from_env())
    declared = [key.to_user_string() for key in defs.resolve_all_asset_keys()]
    assert sorted(declared) == sorted(ASSET_NAMES)


def test_the_five_assets_index_a_small_deck_in_process_and_the_index_answers(
    osmose_home, tmp_path, embedder
):
    settings = Settings.from_env()
    key = add_to_inbox(settings.inbox, small_deck(tmp_path / "bees.pptx"))
    job = build_definitions(settings).resolve_job_def(ingest_documents.name)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(DOCUMENTS, [key])
        result = job.execute_in_process(partition_key=key, instance=instance)
        assert result.success
        materialized = {
            event.asset_key.to_user_string()
            for event in result.all_events
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key
        }
        assert materialized == set(ASSET_NAMES)
        checks = [
            event.asset_check_evaluation_data
            for event in result.all_events
            if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        ]
        assert checks and all(check.passed for check in checks)

    vector = embedder.embed_queries(["how do bees survive the cold months"])[0]
    with open_index(index_location(settings)) as index:
        (hit,) = index.search(vector, 1, query="how do bees survive the cold months")
    assert hit.document == key
    assert "the bees cluster around the queen" in hit.text


def test_a_sensor_tick_on_a_real_instance_requests_a_run_for_a_dropped_deck(
    osmose_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("OSMOSE_GPUS", "cpu:1")
    settings = Settings.from_env()
    settings.inbox.mkdir(parents=True)
    deck = small_deck(settings.inbox / "bees.pptx")
    old = time.time_ns() - 60 * 1_000_000_000  # older than OSMOSE_STABLE_SECONDS
    os.utime(deck, ns=(old, old))
    with instance_for_test() as instance:
        ticks = SensorTicks(build_definitions(settings), instance)
        ticks.tick()  # first sight: a deck must hold still for one tick
        data = ticks.tick()
        (request,) = data.run_requests
        assert request.partition_key == "bees.pptx"
        assert request.tags[LAUNCHED_BY_TAG] == "sensor" and request.tags[SLOT_TAG] == "cpu-0"
        added = [
            list(r.partition_keys)
            for r in data.dynamic_partitions_requests
            if isinstance(r, AddDynamicPartitionsRequest)
        ]
        assert added == [["bees.pptx"]]
        assert ticks.partitions() == ["bees.pptx"]
