"""A deck deleted from the inbox while its run is in flight (real `osmose ingest` process, real
drop-folder sensor evaluated against the same Dagster instance and embedded store).

Behaviour: before `qdrant_index` writes a document's points it checks that the inbox still holds
the bytes the run read (`core.inbox_files.ensure_unchanged`, under the store's lock). A deck that
was removed is therefore never indexed: its run fails with one clear line, nothing of it is
written, other documents are untouched, and the sensor deletes its partition at its next tick.

Two cases: the sensor ticks after the run ended, or while it embeds (then Dagster refuses the
run's next output for the deleted partition; the CLI turns that into the same plain message).
Not covered: a deletion in the ~50 ms between `raw_documents` and `extracted_slides` (the run
fails on the missing file before writing anything).
"""

from __future__ import annotations

import pytest
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from tests.support.faultkit import (
    asset_file,
    osmose,
    points_by_document,
    read_logs,
    start_osmose,
    wait_until,
    write_big_deck,
)
from tests.support.sensor_ticks import SensorTicks

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

C = "quarterly_review_en.pptx"
B = "removed_while_running.pptx"


def _sensor(home) -> SensorTicks:
    from osmose_dagster.core.settings import Settings
    from osmose_dagster.definitions import build_definitions

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster")))
    return SensorTicks(build_definitions(Settings.from_env()), instance)


def _scenario(tmp_path, sample_decks, osmose_home, monkeypatch, tick_during_run: bool):
    home = osmose_home  # the test process (sensor) and the CLI share OSMOSE_HOME, DAGSTER_HOME
    monkeypatch.setenv("OSMOSE_STABLE_SECONDS", "0")
    done = osmose(home, "ingest", str(sample_decks[C]))
    assert done.returncode == 0, done.stderr
    reference = points_by_document(home)

    deck = write_big_deck(home / "inbox" / B, 100, seed=11)  # written straight into the inbox
    sensor = _sensor(home)
    sensor.tick()
    sensor.tick()  # held still for a tick: now in the sensor's cursor as requested
    assert B in sensor.partitions()

    run = start_osmose(home, tmp_path / "run", "ingest", str(deck), "--json")
    slides = asset_file(home, "extracted_slides", B)
    vectors = asset_file(home, "embeddings", B, ".npy")
    wait_until(lambda: slides.exists(), run, 600, "B's slides to be extracted")
    deck.unlink()  # the file is gone; the run holds its slides
    if tick_during_run:
        sensor.tick()  # the removal is seen while the run is still embedding
        assert not vectors.exists(), "the tick came too late to be 'during' the run"
        assert B not in sensor.partitions()
    status = run.wait(timeout=900)
    _stdout, stderr = read_logs(tmp_path / "run")
    during = points_by_document(home)
    assert during[C] == reference[C]
    # Either way the run fails with one plain line, before anything of B is written.
    assert status == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("osmose:")]
    assert errors == [
        f"osmose: {B}: removed from the inbox while its run was in flight; nothing was indexed"
    ], stderr
    assert "Traceback" not in stderr and "Stack Trace" not in stderr
    assert B not in during

    sensor.tick()
    after = points_by_document(home)
    assert after[C] == reference[C]
    assert B not in after, f"{len(after.get(B, {}))} point(s) of a deck no longer in the inbox"
    assert B not in sensor.partitions()


@pytest.mark.timeout(1200)
def test_a_deck_removed_mid_run_is_not_indexed_and_the_sensor_drops_it(
    tmp_path, sample_decks, osmose_home, monkeypatch
):
    _scenario(tmp_path, sample_decks, osmose_home, monkeypatch, tick_during_run=False)


@pytest.mark.timeout(1200)
def test_a_sensor_tick_during_the_run_fails_the_run_and_leaves_no_points(
    tmp_path, sample_decks, osmose_home, monkeypatch
):
    _scenario(tmp_path, sample_decks, osmose_home, monkeypatch, tick_during_run=True)
