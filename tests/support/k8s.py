"""Kubernetes without a cluster, for tests/deploy/test_k8s_*.py.

- `KubeApiRecorder`: a local HTTP server standing in for the Kubernetes API server. The
  kubernetes client sends it exactly what it would send a cluster (the JSON body of each
  request); it records each and answers `201 Created` with the object, as the API server does.
  It schedules nothing, runs no pod and holds no GPU.
- `kubeconfig(path, url)`: a kubeconfig pointing the client at it.
- `chart_instance(values)`: the dagster.yaml that Dagster's chart renders from our values, for
  the parts those values use (templates/configmap-instance.yaml and helpers/instance/*.tpl of
  the chart, transcribed): storage, run launcher, run coordinator, telemetry, retention, and
  additionalInstanceConfig appended. Not Helm: a template change upstream is not seen here.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import yaml
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

from tests.support.json_reply import send_json
from tests.support.paths import REPO_ROOT

HELM = REPO_ROOT / "deploy" / "helm"


IMAGE = "registry.example.com/osmose-dagster:0.1.0"  # the values' image
JOB = "ingest_documents"


def job_origin(image: str = IMAGE) -> JobPythonOrigin:
    """Where a run's code is, as the code server reports it: its image (DAGSTER_CURRENT_IMAGE)."""
    return JobPythonOrigin(
        JOB,
        RepositoryPythonOrigin(
            executable_path=sys.executable,
            code_pointer=ModuleCodePointer("osmose_dagster.definitions", "defs"),
            container_image=image,
        ),
    )


def remote_job_origin() -> RemoteJobOrigin:
    """The job as the webserver and the daemon see it: in the chart's user-code deployment."""
    location = GrpcServerCodeLocationOrigin(host="osmose", port=3030, location_name="osmose")
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), JOB)


def helm_file(name: str) -> Any:
    return yaml.safe_load((HELM / name).read_text())


def helm_documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((HELM / name).read_text()) if doc]


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, Any]]] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).requests.append((self.command, self.path, body))
        status, answer = (201, body) if self.command == "POST" else (404, {"kind": "Status"})
        send_json(self, status, answer)

    do_GET = do_POST = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


class KubeApiRecorder:
    def __init__(self, url: str):
        self.url = url

    @property
    def requests(self) -> list[tuple[str, str, Any]]:
        return _Recorder.requests

    def created_jobs(self) -> list[tuple[str, dict]]:
        """(namespace, Job body) for each Job created, in order."""
        jobs = []
        for method, path, body in self.requests:
            parts = path.split("?")[0].strip("/").split("/")
            if method == "POST" and parts[:3] == ["apis", "batch", "v1"] and parts[-1] == "jobs":
                jobs.append((parts[4], body))
        return jobs


@contextmanager
def kube_api_recorder() -> Iterator[KubeApiRecorder]:
    _Recorder.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield KubeApiRecorder(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()


def kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "recorder", "cluster": {"server": url}}],
                "users": [{"name": "test", "user": {"token": "not-a-real-token"}}],
                "contexts": [
                    {"name": "recorder", "context": {"cluster": "recorder", "user": "test"}}
                ],
                "current-context": "recorder",
            }
        )
    )
    return path


def chart_instance(values: dict, release_namespace: str = "osmose") -> dict:
    """dagster.yaml as the chart's configmap-instance.yaml renders it from `values` (the keys our
    values use: CustomRunLauncher, CustomRunCoordinator, an external PostgreSQL)."""
    pg = values["postgresql"]
    assert not pg["enabled"], "only an external PostgreSQL is transcribed here"
    postgres_db = {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"],
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams") or {},
    }
    if pg.get("postgresqlScheme"):
        postgres_db["scheme"] = pg["postgresqlScheme"]

    def storage(module: str, cls: str) -> dict:
        return {"module": module, "class": cls, "config": {"postgres_db": dict(postgres_db)}}

    launcher = values["runLauncher"]
    assert launcher["type"] == "CustomRunLauncher"
    custom_launcher = launcher["config"]["customRunLauncher"]
    instance: dict[str, Any] = {
        "schedule_storage": storage("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
        "run_launcher": {
            "module": custom_launcher["module"],
            "class": custom_launcher["class"],
            "config": custom_launcher["config"],
        },
        "run_storage": storage("dagster_postgres.run_storage", "PostgresRunStorage"),
        "event_log_storage": storage("dagster_postgres.event_log", "PostgresEventLogStorage"),
    }
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    if daemon.get("enabled", True) and coordinator["enabled"]:
        assert coordinator["type"] == "CustomRunCoordinator"
        custom = coordinator["config"]["customRunCoordinator"]
        instance["run_coordinator"] = {
            "module": custom["module"],
            "class": custom["class"],
            "config": custom["config"],
        }
    for key in ("runMonitoring", "runRetries"):
        assert not daemon[key]["enabled"], f"{key}: only additionalInstanceConfig is transcribed"
    instance["telemetry"] = {"enabled": values["telemetry"]["enabled"]}
    retention = values.get("retention") or {}
    if retention.get("enabled"):
        instance["retention"] = {
            key: {"purge_after_days": retention[name]["purgeAfterDays"]}
            for key, name in (("sensor", "sensor"), ("schedule", "schedule"))
            if retention.get(name)
        }
    extra = values.get("additionalInstanceConfig") or {}
    duplicated = set(extra) & set(instance)
    assert not duplicated, f"additionalInstanceConfig repeats {duplicated}: invalid YAML"
    return {**instance, **extra}
