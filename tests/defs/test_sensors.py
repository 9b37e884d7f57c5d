"""The drop-folder sensor evaluated against a real Dagster instance, a real inbox and a real
embedded Qdrant store; partition requests are applied to the instance as the daemon does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import (
    AddDynamicPartitionsRequest,
    DagsterRun,
    DagsterRunStatus,
    DeleteDynamicPartitionsRequest,
    instance_for_test,
)
from dagster._core.utils import make_new_run_id

from osmose_dagster.core.index.store import open_index
from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.core.records import Chunk
from osmose_dagster.core.settings import Settings
from osmose_dagster.definitions import build_definitions
from tests.support.paths import REPO_ROOT
from tests.support.sensor_ticks import SensorTicks as Ticks

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out


@pytest.fixture
def setup(osmose_home, monkeypatch):
    monkeypatch.setenv("OSMOSE_GPUS", "cpu:2")
    settings = Settings.from_env()
    settings.inbox.mkdir(parents=True)
    defs = build_definitions(settings)
    with instance_for_test() as instance:
        yield settings, defs, instance


def drop(inbox: Path, key: str, content: bytes) -> Path:
    """A file whose mtime is a minute old (older than OSMOSE_STABLE_SECONDS)."""
    path = inbox / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    old = time.time_ns() - 60 * 1_000_000_000
    os.utime(path, ns=(old, old))
    return path


def requests_of(data, kind) -> list[list[str]]:
    return [list(r.partition_keys) for r in data.dynamic_partitions_requests if isinstance(r, kind)]


def test_new_decks_add_partitions_and_runs_spread_over_gpu_slots(setup):
    settings, defs, instance = setup
    for key in ["budget.pptx", "sales/q3.pptx", "sales/q4.PPTX"]:
        drop(settings.inbox, key, key.encode())
    drop(settings.inbox, "~$budget.pptx", b"lock")
    # One run already running on cpu-0: new runs go first to cpu-1.
    instance.add_run(
        DagsterRun(
            job_name="ingest_documents",
            run_id=make_new_run_id(),
            status=DagsterRunStatus.STARTED,
            tags={SLOT_TAG: "cpu-0"},
        )
    )
    ticks = Ticks(defs, instance)

    seen = ticks.tick()  # first sight: a deck must hold still for one tick
    assert seen.run_requests == [] and seen.dynamic_partitions_requests == []
    assert "3 deck(s) waiting to hold still" in seen.skip_message

    first = ticks.tick()
    keys = ["budget.pptx", "sales/q3.pptx", "sales/q4.PPTX"]
    # Found together: batched runs (partition ranges), one per slot, the idle slot first.
    batch, single = first.run_requests
    assert batch.partition_key_range == ("budget.pptx", "sales/q3.pptx")
    assert single.partition_key == "sales/q4.PPTX"
    assert [r.tags[SLOT_TAG] for r in first.run_requests] == ["cpu-1", "cpu-0"]
    assert requests_of(first, AddDynamicPartitionsRequest) == [keys]
    assert ticks.partitions() == keys

    again = ticks.tick()  # the same cursor, nothing changed
    assert again.run_requests == [] and again.dynamic_partitions_requests == []
    assert again.cursor == first.cursor

    drop(settings.inbox, "sales/q3.pptx", b"new content")
    assert ticks.tick().run_requests == []  # changed: waits a tick
    changed = ticks.tick()
    assert [r.partition_key for r in changed.run_requests] == ["sales/q3.pptx"]
    run_keys = {r.run_key for r in first.run_requests}
    assert changed.run_requests[0].run_key not in run_keys
    assert changed.run_requests[0].tags["osmose/launched_by"] == "sensor"


def test_a_removed_deck_loses_its_partition_and_its_points(setup, embedder):
    settings, defs, instance = setup
    drop(settings.inbox, "keep.pptx", b"keep")
    gone = drop(settings.inbox, "gone.pptx", b"gone")
    ticks = Ticks(defs, instance)
    ticks.tick()
    assert len(ticks.tick().run_requests) == 2

    # Index both documents where the sensor looks (the same store and collection as the assets).
    location = defs.resources["qdrant"].location()
    texts = ["Quarterly revenue grew in EMEA.", "GPU quota is requested per team."]
    chunks = [Chunk(0, i, i + 1, i + 1, f"slide {i + 1}", text) for i, text in enumerate(texts)]
    vectors = embedder.embed_passages(texts)
    with open_index(location) as index:
        for document in ("keep.pptx", "gone.pptx"):
            index.replace_document(document, document, chunks, vectors, "all-MiniLM-L6-v2")
        assert len(index.point_ids("gone.pptx")) == 2

    gone.unlink()
    removed = ticks.tick()
    assert requests_of(removed, DeleteDynamicPartitionsRequest) == [["gone.pptx"]]
    assert removed.run_requests == []
    assert ticks.partitions() == ["keep.pptx"]
    with open_index(location) as index:
        assert index.point_ids("gone.pptx") == set()
        assert len(index.point_ids("keep.pptx")) == 2
        hits = index.search(embedder.embed_queries(["GPU quota"])[0], limit=10)
    assert {hit.document for hit in hits} == {"keep.pptx"}

    after = ticks.tick()
    assert after.dynamic_partitions_requests == [] and after.run_requests == []


HOLDER = """
import sys
from pathlib import Path
from osmose_dagster.core.index.store import IndexLocation, open_index

with open_index(IndexLocation(collection="c", path=Path(sys.argv[1]), lock_timeout_s=0)):
    print("ready", flush=True)
    sys.stdin.readline()  # hold the embedded store until told to let go
"""


def test_a_removal_waits_for_a_busy_store_and_is_retried_next_tick(setup, monkeypatch):
    settings, _, instance = setup
    monkeypatch.setenv("OSMOSE_LOCK_TIMEOUT_S", "0.5")
    defs = build_definitions(Settings.from_env())
    gone = drop(settings.inbox, "gone.pptx", b"gone")
    ticks = Ticks(defs, instance)
    ticks.tick()
    ticks.tick()
    assert ticks.partitions() == ["gone.pptx"]

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.qdrant_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        gone.unlink()
        busy = ticks.tick()  # points cannot be deleted now: neither is the partition
        assert busy.dynamic_partitions_requests == []
        assert ticks.partitions() == ["gone.pptx"]
    finally:
        holder.stdin.write("go\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    retried = ticks.tick()
    assert requests_of(retried, DeleteDynamicPartitionsRequest) == [["gone.pptx"]]
    assert ticks.partitions() == []


def test_a_deck_already_indexed_with_the_same_content_gets_no_second_run(setup, sample_decks):
    """`osmose ingest` (or a reset cursor) must not make the sensor redo finished work."""
    settings, defs, instance = setup
    deck = sample_decks["ml_platform_onboarding_en.pptx"]
    path = drop(settings.inbox, "onboarding.pptx", deck.read_bytes())
    instance.add_dynamic_partitions("documents", ["onboarding.pptx"])
    result = defs.resolve_job_def("ingest_documents").execute_in_process(
        partition_key="onboarding.pptx", instance=instance
    )
    assert result.success
    ticks = Ticks(defs, instance)
    ticks.tick()
    assert ticks.tick().run_requests == []

    drop(settings.inbox, "onboarding.pptx", path.read_bytes() + b"\0")  # changed content
    ticks.tick()
    assert [r.partition_key for r in ticks.tick().run_requests] == ["onboarding.pptx"]


def test_a_deck_put_back_after_its_removal_is_indexed_again_even_with_the_same_content(
    setup, sample_decks
):
    """Its last run's records say "indexed"; its points went with its removal (found by
    bench/soak.py: such a deck stayed out of the index)."""
    settings, defs, instance = setup
    content = sample_decks["ml_platform_onboarding_en.pptx"].read_bytes()
    path = drop(settings.inbox, "onboarding.pptx", content)
    instance.add_dynamic_partitions("documents", ["onboarding.pptx"])
    job = defs.resolve_job_def("ingest_documents")
    assert job.execute_in_process(partition_key="onboarding.pptx", instance=instance).success
    ticks = Ticks(defs, instance)
    ticks.tick()
    assert ticks.tick().run_requests == []

    path.unlink()
    assert requests_of(ticks.tick(), DeleteDynamicPartitionsRequest) == [["onboarding.pptx"]]
    with open_index(defs.resources["qdrant"].location()) as index:
        assert index.point_ids("onboarding.pptx") == set()
    drop(settings.inbox, "onboarding.pptx", content)  # the same bytes, back
    ticks.tick()
    assert [r.partition_key for r in ticks.tick().run_requests] == ["onboarding.pptx"]


def test_decks_indexed_together_by_a_batch_get_no_second_run(setup, sample_decks):
    """A batched run records each deck's hash too: a reset cursor re-requests none of them."""
    settings, defs, instance = setup
    keys = ["a.pptx", "b.pptx"]
    for key, deck in zip(keys, ["ml_platform_onboarding_en.pptx", "quarterly_review_en.pptx"]):
        drop(settings.inbox, key, sample_decks[deck].read_bytes())
    instance.add_dynamic_partitions("documents", keys)
    result = defs.resolve_job_def("ingest_documents").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "a.pptx",
            "dagster/asset_partition_range_end": "b.pptx",
        },
    )
    assert result.success
    ticks = Ticks(defs, instance)  # a fresh cursor, as after a reset
    ticks.tick()
    assert ticks.tick().run_requests == []

    drop(settings.inbox, "b.pptx", sample_decks["quarterly_review_en.pptx"].read_bytes() + b"\0")
    ticks.tick()
    assert [r.partition_key for r in ticks.tick().run_requests] == ["b.pptx"]
