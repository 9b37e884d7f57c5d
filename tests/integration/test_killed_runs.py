"""Runs killed from outside, against a real `dagster-daemon` and the project's dagster.yaml: each
run process is SIGKILLed as the kernel's OOM killer would, or stopped (SIGSTOP) as a hung process
would be, and nobody does anything after. The tests share one deployment and run in file order.

- killed mid-embedding, then killed mid-write to the index: each time Dagster's run retries run it
  again and the deck ends indexed exactly as a fresh `osmose ingest` of the same file indexes it;
- hung: run monitoring (the local launcher's health check) kills it, and the retry indexes it;
- killed after its last step: nothing is left to run again, and the run says so;
- killed on every try: the last try carries one line saying so, the other decks of its batch are
  run apart and indexed, and a deck dropped after it is indexed.

The deployment's dagster.yaml is the project's, with run monitoring polling every 3 s and a stall
timeout of 20 s instead of 30 s and 15 minutes (so that a hang is found in seconds); everything
else, run retries included, is as shipped.

The mid-write and hung runs are caught at an exact point, not by timing: tests/support/pauses
makes the run process pause right after it wrote a deck's new points (before it removes the old
ones) when the test asks for it; the test then kills or stops that process. A write takes a
tenth of a second, too short to hit by watching files (a kill that came late, after the run's
last step, is what made this test time out on loaded CI machines before).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from dagster import DagsterEventType, DagsterRunStatus

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.defs.killed_runs import GAVE_UP_TAG, KILLED_AFTER_LAST_STEP_TAG
from tests.support.deployment import Deployment, wait_for
from tests.support.killed_runs import fresh_ingest, index_points, kill, run_pid

PAUSES = Path(__file__).resolve().parents[1] / "support" / "pauses"

pytestmark = pytest.mark.slow

BIG = "big deck.pptx"
RUN_TIMEOUT_S = 300
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, Path]:
    from bench.workloads import write_generated_deck

    folder = tmp_path_factory.mktemp("decks")
    paths = {"v1": folder / "v1" / BIG, "v2": folder / "v2" / BIG}
    for seed, path in enumerate(paths.values(), start=15):
        path.parent.mkdir()
        # 100 generated slides: about 6 s of embedding on 2 cores, so a kill lands inside it.
        write_generated_deck(path, 100, seed=seed)
    return paths


@pytest.fixture(scope="module")
def expected(decks, tmp_path_factory) -> dict[str, set[str]]:
    """The big deck's point ids from a fresh ingest of each version (its key: its name)."""
    return {
        version: fresh_ingest([path], tmp_path_factory.mktemp(f"fresh-{version}"))[BIG]
        for version, path in decks.items()
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, expected):
    root = tmp_path_factory.mktemp("deployment")
    deployed = Deployment(
        root,
        OSMOSE_TEST_PAUSES=str(root / "pauses"),
        PYTHONPATH=f"{PAUSES}{os.pathsep}{Path(__file__).resolve().parents[2]}",
        OSMOSE_GPUS="cpu:2",
        OSMOSE_STABLE_SECONDS="1",
        OSMOSE_LOCK_TIMEOUT_S="300",
    )
    config_path = deployed.dagster_home / "dagster.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 3
    config["run_launcher"]["config"]["stall_timeout_seconds"] = 20
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    deployed.instance()  # creates the run storage before the daemon's processes race to
    deployed.start_daemon()
    try:
        yield deployed
    finally:
        deployed.stop()


def _drop(deployed: Deployment, path: Path, name: str) -> None:
    partial = deployed.inbox / f".{name}.partial"
    shutil.copyfile(path, partial)
    os.replace(partial, deployed.inbox / name)


def _pause(deployed: Deployment, key: str, point: str):
    """Ask the run of `key` to pause at `point` (tests/support/pauses); returns a function giving
    the paused process's pid once it has paused (None before)."""
    folder = Path(deployed.env["OSMOSE_TEST_PAUSES"])
    folder.mkdir(exist_ok=True)
    (folder / f"{quote(key, safe='')}.{point}").touch()
    paused = folder / f"{quote(key, safe='')}.{point}.paused"

    def pid() -> int | None:
        try:
            text = paused.read_text()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    return pid


def _runs_of(deployed: Deployment, key: str, statuses=None) -> list:
    """Runs whose documents include `key` (its partition, or a range holding it), oldest first."""
    keys = deployed.instance().get_dynamic_partitions("documents")
    found = []
    for record in deployed.runs(statuses=statuses):
        tags = record.dagster_run.tags
        if tags.get("dagster/partition") == key:
            found.append(record)
        elif all(tag in tags for tag in RANGE) and key in keys:
            first, last = (keys.index(tags[t]) if tags[t] in keys else -1 for t in RANGE)
            if first <= keys.index(key) <= last:
                found.append(record)
    return sorted(found, key=lambda r: r.create_timestamp)


def _started_pid(deployed: Deployment, key: str) -> tuple[str, int] | None:
    instance = deployed.instance()
    for record in _runs_of(deployed, key, statuses=[DagsterRunStatus.STARTED]):
        pid = run_pid(instance, record.dagster_run)
        if pid:
            return record.dagster_run.run_id, pid
    return None


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _asset_file(deployed: Deployment, asset: str, key: str, suffix: str) -> Path:
    """Where the IO manager stores one partition's value (defs/io_manager.py)."""
    return deployed.home / "assets" / asset / (quote(key, safe="") + suffix)


def _wait_retried_and_indexed(deployed: Deployment, killed_run_id: str, key: str) -> list:
    """Wait for the killed run's retry to succeed; returns the run group, first try first."""
    instance = deployed.instance()

    def succeeded():
        group = instance.get_run_group(killed_run_id)
        runs = sorted(group[1], key=lambda r: int(r.tags.get("dagster/retry_number", 0)))
        return runs if runs[-1].status == DagsterRunStatus.SUCCESS else None

    runs = wait_for(succeeded, RUN_TIMEOUT_S, f"the retry of the killed run of {key} to succeed")
    killed = runs[0]
    assert killed.status == DagsterRunStatus.FAILURE
    for retry in runs[1:]:
        # The retry keeps the run's compute slot and its documents.
        assert retry.tags[SLOT_TAG] == killed.tags[SLOT_TAG]
        assert retry.tags.get("dagster/partition") == killed.tags.get("dagster/partition")
    return runs


def _logged(deployed: Deployment, run_id: str, text: str) -> bool:
    return any(text in entry.user_message for entry in deployed.instance().all_logs(run_id))


def _messages(deployed: Deployment, run_id: str) -> list[str]:
    events = deployed.instance().all_logs(
        run_id, of_type={DagsterEventType.ENGINE_EVENT, DagsterEventType.RUN_FAILURE}
    )
    return [e.dagster_event.message or "" for e in events if e.dagster_event]


def test_a_run_killed_mid_embedding_is_retried_and_the_deck_indexed_exactly(
    deployment, decks, expected
):
    segments = _asset_file(deployment, "topic_segments", BIG, ".json")
    started = time.monotonic()
    _drop(deployment, decks["v1"], BIG)
    run_id, pid = wait_for(lambda: _started_pid(deployment, BIG), RUN_TIMEOUT_S, "its process")
    # topic_segments encodes every slide once the model is loaded (the run log says when).
    wait_for(
        lambda: _logged(deployment, run_id, "once for this run process"), 120, "the model", 0.1
    )
    assert kill(pid)
    assert _mtime(segments) is None, "the kill came after the slides were encoded"

    runs = _wait_retried_and_indexed(deployment, run_id, BIG)
    assert any("terminated by signal 9" in m for m in _messages(deployment, run_id))
    assert index_points(deployment.home) == {BIG: expected["v1"]}
    print(
        f"killed mid-embedding: indexed after {len(runs)} tries, {time.monotonic() - started:.0f} s"
    )


def test_a_run_killed_mid_write_is_retried_and_the_new_version_replaces_the_old(
    deployment, decks, expected
):
    started = time.monotonic()
    paused = _pause(deployment, BIG, "after-write")
    _drop(deployment, decks["v2"], BIG)
    pid = wait_for(paused, RUN_TIMEOUT_S, "the run to write the new points", 0.05)
    run_id, started_pid = wait_for(lambda: _started_pid(deployment, BIG), 10, "its run")
    assert pid == started_pid
    # Both versions' points are in the index now: the old ones are not removed yet.
    assert kill(pid)

    runs = _wait_retried_and_indexed(deployment, run_id, BIG)
    steps = deployment.instance().get_run_step_stats(run_id)
    assert {s.step_key: getattr(s.status, "value", None) for s in steps}.get(
        "qdrant_index"
    ) != "SUCCESS"
    assert [r.tags.get("dagster/retry_number") for r in runs] == [None, "1"]
    assert index_points(deployment.home) == {BIG: expected["v2"]}
    assert not expected["v1"] & expected["v2"]
    print(f"killed mid-write: indexed after {len(runs)} tries, {time.monotonic() - started:.0f} s")


def test_a_hung_run_is_ended_by_run_monitoring_and_retried(deployment, sample_decks):
    key = "hung.pptx"
    paused = _pause(deployment, key, "after-write")
    _drop(deployment, sample_decks["quarterly_review_en.pptx"], key)
    pid = wait_for(paused, RUN_TIMEOUT_S, "the run to write its points", 0.05)
    run_id, _ = wait_for(lambda: _started_pid(deployment, key), 10, "its run")
    assert kill(pid, signal.SIGSTOP)  # alive, holding its slot and the index, doing nothing

    _wait_retried_and_indexed(deployment, run_id, key)
    messages = _messages(deployment, run_id)
    assert any(f"run process {pid} made no progress for" in m for m in messages), messages
    assert index_points(deployment.home)[key]


def test_a_run_killed_after_its_last_step_is_not_retried_and_says_its_deck_is_indexed(
    deployment, sample_decks
):
    key = "finished.pptx"
    paused = _pause(deployment, key, "before-success")
    _drop(deployment, sample_decks["ml_platform_onboarding_en.pptx"], key)
    pid = wait_for(paused, RUN_TIMEOUT_S, "the run to finish its steps", 0.05)
    run_id, _ = wait_for(lambda: _started_pid(deployment, key), 10, "its run")
    assert kill(pid)

    instance = deployment.instance()
    run = wait_for(
        lambda: (
            KILLED_AFTER_LAST_STEP_TAG in instance.get_run_by_id(run_id).tags
            and instance.get_run_by_id(run_id)
        ),
        RUN_TIMEOUT_S,
        "the run to be reported as killed after its last step",
    )
    assert run.status == DagsterRunStatus.FAILURE
    assert GAVE_UP_TAG not in run.tags
    assert len(instance.get_run_group(run_id)[1]) == 1, "a retry was started"
    said = [m for m in _messages(deployment, run_id) if "after every step" in m]
    assert said and said[0].startswith(
        f"{key}: its run was ended by signal 9 (SIGKILL) after every step it had to run "
        "succeeded: its assets are materialized (its deck is indexed)"
    ), said
    assert index_points(deployment.home)[key]


def test_a_batch_killed_on_every_try_gives_up_clearly_and_holds_no_deck_back(
    deployment, sample_decks
):
    doomed, others = "k1 doomed.pptx", ["k2 bystander.pptx", "k3 bystander.pptx"]
    sources = list(sample_decks.values())
    for name, source in zip([doomed, *others], sources):
        shutil.copyfile(source, deployment.inbox / f".{name}.partial")
    for name in [doomed, *others]:  # found in one tick: two runs, one a batch of two decks
        os.replace(deployment.inbox / f".{name}.partial", deployment.inbox / name)

    instance = deployment.instance()
    killed: set[int] = set()

    def gave_up():
        found = _started_pid(deployment, doomed)
        if found and found[1] not in killed and kill(found[1]):
            killed.add(found[1])
        final = [
            r
            for r in _runs_of(deployment, doomed, statuses=[DagsterRunStatus.FAILURE])
            if GAVE_UP_TAG in r.dagster_run.tags and r.dagster_run.tags.get("dagster/partition")
        ]
        return final[0].dagster_run if final else None

    final = wait_for(gave_up, 2 * RUN_TIMEOUT_S, "the doomed deck's runs to give up", 0.2)
    report = [m for m in _messages(deployment, final.run_id) if "Not retried again" in m]
    assert report and report[0].startswith(
        f"{doomed}: its run was killed 3 times, last by signal 9 (SIGKILL): likely out of memory"
    ), report

    # Its batch gave up first, and the bystander batched with it was run apart and indexed.
    batches = [
        r.dagster_run for r in _runs_of(deployment, doomed) if RANGE[0] in r.dagster_run.tags
    ]
    assert batches, "the three decks were not found in one tick: no batch to split"
    assert len(instance.get_run_group(batches[0].run_id)[1]) == 3  # the first try, two retries
    late = "k4 late.pptx"
    _drop(deployment, sample_decks["ml_platform_onboarding_en.pptx"], late)
    wait_for(
        lambda: all(deployment.indexed_since(key) for key in [*others, late]),
        RUN_TIMEOUT_S,
        "the other decks, and one dropped after, to be indexed",
    )
    points = index_points(deployment.home)
    assert doomed not in points and all(points.get(key) for key in [*others, late])
    assert len(killed) == 6, f"{len(killed)} run processes killed (3 of the batch, 3 of the deck)"
