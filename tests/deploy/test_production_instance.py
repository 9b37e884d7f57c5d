"""deploy/dagster.yaml against the real PostgreSQL on 127.0.0.1:5432 (a fresh database per test
run, dropped at the end), with the code location served by the same `dagster code-server start`
command as docker-compose's `code` service and a real `dagster-daemon` reading
deploy/workspace.yaml (its host and port pointed at that server).

A deck dropped into the inbox is taken up by the sensor, queued, tagged with its compute slot,
dequeued by the daemon's run coordinator and executed: all of it recorded in Postgres.

What this does not prove: the run launcher. The test swaps GpuDockerRunLauncher for Dagster's
default launcher (the run executes as a process of the code server instead of in its own
container), since no Docker engine runs here; the Docker launcher's container arguments are
checked in test_run_launcher.py, but not an engine creating the container, pulling the image,
mounting the volumes or handing it the GPU. Nor does it prove the compose services themselves
(the Postgres and Qdrant images, healthchecks as compose runs them, the `osmose` network), the
Qdrant server (the run uses the embedded store: OSMOSE_DEPLOYMENT=local), or the production
model (the packaged MiniLM instead of e5-large, which is not on this machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.launcher import DefaultRunLauncher
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.instance.run_coordinator import GpuSlotRunCoordinator
from osmose_dagster.instance.run_launcher import GpuDockerRunLauncher
from tests.support.postgres import PG, fresh_database

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def database():
    """A fresh database, dropped (with any connection left) when the module is done."""
    with fresh_database() as name:
        yield name


@pytest.fixture
def pg_env(database, monkeypatch) -> dict[str, str]:
    env = {
        "DAGSTER_POSTGRES_HOST": PG["host"],
        "DAGSTER_POSTGRES_PORT": str(PG["port"]),
        "DAGSTER_POSTGRES_USER": PG["user"],
        "DAGSTER_POSTGRES_PASSWORD": "",  # trust auth here; docker-compose.yml requires one
        "DAGSTER_POSTGRES_DB": database,
        "DAGSTER_CURRENT_IMAGE": "osmose-dagster:test",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _home_with(tmp_path: Path, config: dict) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


def test_the_production_instance_as_written_loads_against_postgres(pg_env, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")

    instance = DagsterInstance.from_config(str(home))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, GpuSlotRunCoordinator)
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert limits == [
            {"key": SLOT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]
        launcher = instance.run_launcher
        assert isinstance(launcher, GpuDockerRunLauncher)
        assert launcher.image == "osmose-dagster:test"  # from DAGSTER_CURRENT_IMAGE
        assert launcher.networks == ["osmose"]
        assert not instance.telemetry_enabled
        # A run whose container died is failed, so its GPU slot does not stay held.
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        # A run whose container died is run again, twice at most; a deck's own error is not.
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert launcher.supports_check_run_worker_health and launcher._stalls.timeout_s == 600
    finally:
        instance.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(condition, timeout_s: float, what: str, logs: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    tails = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs.glob("*.log")
    )
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{tails}")


def test_a_queued_run_is_dequeued_and_executed_by_a_real_daemon_on_postgres(
    pg_env, database, sample_decks, tmp_path
):
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    # The one change (see the module docstring): no Docker engine here.
    config["run_launcher"] = {
        "module": "dagster._core.launcher.default_run_launcher",
        "class": "DefaultRunLauncher",
    }
    home = _home_with(tmp_path, config)
    port = _free_port()
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    assert (server["host"], server["port"]) == ("code", 4000)  # the compose service
    server.update(host="127.0.0.1", port=port)
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))

    osmose_home = tmp_path / "osmose"
    inbox = osmose_home / "inbox"
    inbox.mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QDRANT_", "OSMOSE_"))},
        **pg_env,
        "DAGSTER_HOME": str(home),
        "OSMOSE_HOME": str(osmose_home),
        "OSMOSE_DEPLOYMENT": "local",
        "OSMOSE_GPUS": "cpu:1",
        "OSMOSE_DEVICE": "cpu",
        "OSMOSE_STABLE_SECONDS": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    processes: list[subprocess.Popen] = []

    def spawn(name: str, command: list[str]) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 (the child writes to it)
        processes.append(
            subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def healthy(command: list[str]) -> bool:
        return subprocess.run(command, env=env, capture_output=True, timeout=60).returncode == 0

    instance = None
    try:
        # docker-compose.yml's `code` command and healthcheck, on loopback.
        spawn(
            "code",
            [
                str(BIN / "dagster"),
                "code-server",
                "start",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-m",
                "osmose_dagster.definitions",
                "--location-name",
                "osmose_dagster",
            ],
        )
        _wait(
            lambda: healthy([str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)]),
            90,
            "the code server's health check",
            logs,
        )
        spawn(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")]
        )

        shutil.copyfile(sample_decks["energie_renouvelable_fr.pptx"], inbox / "energie.pptx")

        instance = DagsterInstance.from_config(str(home))
        assert isinstance(instance.run_launcher, DefaultRunLauncher)

        def finished():
            return instance.get_run_records(
                RunsFilter(statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE])
            )

        record = _wait(finished, RUN_TIMEOUT_S, "the sensor's run to finish", logs)[0]
        run = record.dagster_run
        assert run.status == DagsterRunStatus.SUCCESS, (logs / "daemon.log").read_text()[-3000:]
        assert run.job_name == "ingest_documents"
        assert run.tags["dagster/partition"] == "energie.pptx"
        assert run.tags[SLOT_TAG] == "cpu-0"
        # It went through the queue, and the daemon (the only one that launches queued runs)
        # took it out: enqueued, then starting, then success.
        events = [
            e.dagster_event.event_type
            for e in instance.all_logs(run.run_id)
            if e.dagster_event is not None
        ]
        order = [
            DagsterEventType.RUN_ENQUEUED,
            DagsterEventType.RUN_STARTING,
            DagsterEventType.RUN_SUCCESS,
        ]
        assert [e for e in events if e in order] == order
        # docker-compose.yml's daemon healthcheck passes against this instance.
        assert healthy([str(BIN / "dagster-daemon"), "liveness-check"])
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if instance is not None:
            instance.dispose()

    # The runs table is PostgreSQL's, and nothing fell back to SQLite under DAGSTER_HOME.
    with psycopg2.connect(dbname=database, **PG) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT status, pipeline_name FROM runs WHERE run_id = %s", (run.run_id,))
        assert cursor.fetchone() == ("SUCCESS", "ingest_documents")
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run.run_id,))
        assert cursor.fetchone()[0] > 10
    assert not list(home.rglob("*.db"))
