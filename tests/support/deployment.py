"""A real local deployment for tests: a temporary OSMOSE_HOME and DAGSTER_HOME (with the
project's dagster.yaml), a real `dagster-daemon` and, when asked, a real `dagster-webserver`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter

from osmose_dagster.core.index.store import IndexLocation, collection_name_for, open_index
from osmose_dagster.instance.home import OSMOSE_DAGSTER_YAML

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Deployment:
    def __init__(self, root: Path, **env: str):
        self.home = root / "osmose"
        self.dagster_home = self.home / "dagster"
        self.dagster_home.mkdir(parents=True)
        shutil.copyfile(OSMOSE_DAGSTER_YAML, self.dagster_home / "dagster.yaml")
        self.inbox = self.home / "inbox"
        self.inbox.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("QDRANT_", "OSMOSE_"))},
            "OSMOSE_HOME": str(self.home),
            "DAGSTER_HOME": str(self.dagster_home),
            "OSMOSE_DEVICE": "cpu",
            "PYTHONPATH": str(REPO_ROOT),
            **env,
        }
        self.logs = root / "logs"
        self.logs.mkdir()
        self.processes: list[subprocess.Popen] = []
        self.port: int | None = None

    def instance(self) -> DagsterInstance:
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        return DagsterInstance.get()

    def start_daemon(self, **env: str) -> None:
        self.env.update(env)
        self._spawn(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")]
        )

    def start_webserver(self) -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._spawn(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                "-w",
                str(REPO_ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
        )
        wait_for(lambda: _port_open(self.port), 120, "the webserver to listen")
        return self.port

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (the child writes to it)
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes = []

    def runs(self, statuses=None, tags=None):
        return self.instance().get_run_records(RunsFilter(statuses=statuses, tags=tags))

    def finished_runs(self):
        return self.runs(statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE])

    def indexed_since(self, key: str, after: float = 0.0) -> list:
        """The deck's points written since `after` (a `qdrant_index` materialization of its
        partition), by a run of its own or by a batch."""
        records = (
            self.instance()
            .fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey("qdrant_index"), asset_partitions=[key]),
                limit=1,
            )
            .records
        )
        return [record for record in records if record.timestamp > after]

    def points(self, key: str, model: str = "all-MiniLM-L6-v2") -> set[str]:
        location = IndexLocation(
            collection=collection_name_for(model), path=self.home / "qdrant", lock_timeout_s=300
        )
        with open_index(location) as index:
            return index.point_ids(key)

    def log_tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]


@contextmanager
def running(root: Path, **env: str):
    """A deployment with its daemon and webserver started, stopped on the way out."""
    deployed = Deployment(root, **env)
    deployed.start_daemon()
    deployed.start_webserver()
    try:
        yield deployed
    finally:
        deployed.stop()


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
