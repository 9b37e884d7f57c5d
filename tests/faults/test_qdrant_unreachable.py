"""QDRANT_URL pointing at a server that is not there, or that refuses us: bounded retries, one
clear line, nothing written anywhere, and QDRANT_API_KEY never shown (stdout, stderr, the
Dagster event log and run records, asset metadata and files, the code location's snapshot).

Real CLI processes and a real Dagster instance. "Unreachable" is a real closed port on
127.0.0.1; "refuses" is a small real HTTP server answering 401 or 503. Not covered: a host that
drops packets (each try then waits OSMOSE_QDRANT_TIMEOUT_S; the arithmetic is the same), TLS
errors, and a server lost in the middle of a write (open_index turns that into
IndexUnavailableError too, but no test kills a live Qdrant server here: none is installed).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from pathlib import Path

import pytest

from tests.support.faultkit import osmose

pytestmark = pytest.mark.slow  # real runs, processes or models: `make test-fast` leaves it out

SECRET = "some-secret-value-123"
DECK = "ml_platform_onboarding_en.pptx"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def osmose_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("osmose:")]


def files_containing(root: Path, needle: bytes) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


@pytest.mark.timeout(600)
def test_ingest_fails_clearly_when_the_server_is_unreachable_and_never_shows_the_key(
    tmp_path, sample_decks
):
    home = tmp_path / "home"
    port = closed_port()
    done = osmose(
        home,
        "ingest",
        str(sample_decks[DECK]),
        "--json",
        QDRANT_URL=f"http://127.0.0.1:{port}",
        QDRANT_API_KEY=SECRET,
        OSMOSE_QDRANT_RETRIES="1",
    )
    assert done.returncode == 1, done.stderr
    (line,) = osmose_lines(done.stderr)
    assert f"127.0.0.1:{port}" in line and "Connection refused" in line
    assert "2 attempt(s)" in line and "QDRANT_URL" in line  # bounded: 1 try + 1 retry
    assert "Traceback" not in done.stderr
    (row,) = json.loads(done.stdout)["documents"]
    assert row["points"] is None and f"127.0.0.1:{port}" in row["error"]

    # The run in the Dagster instance failed in qdrant_index with the typed error.
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._serdes import serialize_value

    with DagsterInstance.from_ref(_instance_ref(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.FAILURE
        records = instance.all_logs(run.run_id)
        failures = [
            r.dagster_event
            for r in records
            if r.is_dagster_event and r.dagster_event.is_step_failure
        ]
        (failure,) = failures
        assert failure.step_key == "qdrant_index"
        error, classes = failure.step_failure_data.error, []
        while error is not None:
            classes.append(error.cls_name)
            error = error.cause
        assert "IndexUnavailableError" in classes
        assert SECRET not in serialize_value(records)  # every event, metadata included
        assert SECRET not in serialize_value(run)  # run config and tags

    # Nothing fell back to the embedded store, and no file under OSMOSE_HOME (asset values,
    # Dagster's run storage, compute logs) holds the key.
    assert not (home / "qdrant").exists()
    assert files_containing(home, SECRET.encode()) == []
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("command", [["search", "gpu quota"], ["status"]])
def test_search_and_status_fail_with_one_line_naming_the_server(tmp_path, command):
    port = closed_port()
    done = osmose(
        tmp_path / "home",
        *command,
        QDRANT_URL=f"http://user:pw@127.0.0.1:{port}",
        QDRANT_API_KEY=SECRET,
        OSMOSE_QDRANT_RETRIES="0",
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    (line,) = osmose_lines(done.stderr)
    assert f"http://127.0.0.1:{port}" in line and "Connection refused" in line
    assert "1 attempt(s)" in line
    assert SECRET not in done.stderr + done.stdout and "pw@" not in done.stderr


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 503
    seen: list[dict]

    def do_GET(self):
        self.seen.append(dict(self.headers))
        body = json.dumps({"status": {"error": f"echo {self.headers.get('api-key')}"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def answering_server():
    servers = []

    def start(status: int):
        handler = type("Handler", (_Answer,), {"status": status, "seen": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(300)
def test_a_refused_key_is_not_retried_and_not_echoed(tmp_path, answering_server):
    url, seen = answering_server(401)
    done = osmose(
        tmp_path / "home",
        "status",
        QDRANT_URL=url,
        QDRANT_API_KEY=SECRET,
        OSMOSE_QDRANT_RETRIES="3",
    )
    assert done.returncode == 2
    (line,) = osmose_lines(done.stderr)
    assert url in line and "401" in line and "QDRANT_API_KEY" in line
    assert len(seen) == 1 and seen[0].get("api-key") == SECRET  # sent, once; shown nowhere
    assert SECRET not in done.stderr + done.stdout


@pytest.mark.timeout(300)
def test_a_failing_server_is_tried_exactly_1_plus_retries_times(tmp_path, answering_server):
    url, seen = answering_server(503)
    done = osmose(tmp_path / "home", "status", QDRANT_URL=url, OSMOSE_QDRANT_RETRIES="2")
    assert done.returncode == 2
    (line,) = osmose_lines(done.stderr)
    assert url in line and "HTTP 503" in line and "3 attempt(s)" in line
    assert len(seen) == 3


def test_the_key_is_kept_out_of_reprs_and_descriptions_and_the_ui_config(tmp_path, monkeypatch):
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    from osmose_dagster.core.index.store import IndexLocation, index_location
    from osmose_dagster.core.settings import Settings
    from osmose_dagster.definitions import build_definitions

    location = IndexLocation(
        collection="c", url="https://u:p@qdrant.example:6333/x?k=v", api_key=SECRET
    )
    assert SECRET not in repr(location) and "api_key" not in repr(location)
    assert location.describe() == "https://qdrant.example:6333/x"

    monkeypatch.setenv("OSMOSE_HOME", str(tmp_path))
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")
    monkeypatch.setenv("QDRANT_API_KEY", SECRET)
    for deployment in ("local", "production"):
        monkeypatch.setenv("OSMOSE_DEPLOYMENT", deployment)
        settings = Settings.from_env()
        defs = build_definitions(settings)
        snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
        assert SECRET not in snapshot  # what the webserver gets from the code location
        assert "QDRANT_API_KEY" in snapshot  # the resource config names the variable instead
        assert SECRET not in repr(settings)
        # The CLI reaches the store from the settings: the values, not the variables' names.
        resolved = index_location(settings)
        assert (resolved.url, resolved.api_key) == ("http://127.0.0.1:6333", SECRET)


def _instance_ref(home: Path):
    from dagster._core.instance.ref import InstanceRef

    return InstanceRef.from_dir(str(home / "dagster"))
