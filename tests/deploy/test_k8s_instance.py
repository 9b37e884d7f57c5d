"""The Dagster instance that deploy/helm/dagster-values.yaml describes, loaded by a real
DagsterInstance, and its run queue keeping one run per slot while launching Kubernetes Jobs.

The values are turned into dagster.yaml as Dagster's chart renders its instance ConfigMap
(tests/support/k8s.py transcribes the chart's templates for the keys these values use; no Helm
binary here). Changed for the test, and only that: the run launcher's cluster connection (a
kubeconfig to a local API stand-in instead of the in-cluster one), and PostgreSQL's address
(the local test server; in the fast tests, Dagster's default SQLite storage instead).

What this does not prove: that Helm renders the same YAML (a template change upstream would not
be seen), a daemon process running the queue (the test runs the run-queue daemon's own
iteration in process), a Kubernetes scheduler, or pods running: a launched run here is a Job
body received by the stand-in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.test_utils import create_run_for_test, create_test_daemon_workspace_context
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from osmose_dagster.core.ops import compute_slots
from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.core.settings import Settings
from osmose_dagster.instance.k8s_run_launcher import GpuK8sRunLauncher
from osmose_dagster.instance.run_coordinator import GpuSlotRunCoordinator
from tests.support.k8s import (
    chart_instance,
    helm_documents,
    helm_file,
    job_origin,
    kube_api_recorder,
    kubeconfig,
    remote_job_origin,
)
from tests.support.paths import REPO_ROOT
from tests.support.postgres import PG, fresh_database

VALUES = helm_file("dagster-values.yaml")
SETTINGS = helm_documents("osmose-settings.yaml")[0]["data"]
PRODUCTION = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
STORAGE_KEYS = ("run_storage", "event_log_storage", "schedule_storage")


def _home(tmp_path: Path, config: dict) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


def _with_recorder(config: dict, kube_url: str, tmp_path: Path) -> dict:
    launcher = config["run_launcher"]
    launcher["config"] = {
        **launcher["config"],
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig(tmp_path / "kubeconfig", kube_url)),
    }
    return config


@pytest.fixture
def settings_env(monkeypatch):
    """The daemon's environment: the ConfigMap osmose-settings, as the chart gives it."""
    for name in [n for n in os.environ if n.startswith(("OSMOSE_", "QDRANT_"))]:
        monkeypatch.delenv(name)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)


def test_k8s_the_chart_instance_is_the_production_instance_with_the_kubernetes_launcher(
    settings_env, tmp_path
):
    """Run queue, run monitoring, run retries and tick retention are those of deploy/dagster.yaml
    (docker compose), the launcher is GpuK8sRunLauncher with its GPU settings, and the slots the
    queue spreads runs over are OSMOSE_GPU_SLOTS of the ConfigMap. Storage is SQLite here (the
    slow test below loads the Postgres storage as written)."""
    rendered = chart_instance(VALUES)
    # The same run queue, monitoring, retries and tick retention as docker compose's instance.
    for key in ("run_coordinator", "run_monitoring", "run_retries"):
        assert rendered[key] == PRODUCTION[key], key
    assert rendered["retention"]["sensor"]["purge_after_days"] == {
        **PRODUCTION["retention"]["sensor"]["purge_after_days"],
        "started": -1,
    }

    with kube_api_recorder() as api:
        config = _with_recorder(rendered, api.url, tmp_path)
        for key in STORAGE_KEYS:
            del config[key]
        instance = DagsterInstance.from_config(str(_home(tmp_path, config)))
        try:
            coordinator = instance.run_coordinator
            assert isinstance(coordinator, GpuSlotRunCoordinator)
            queue = coordinator.get_run_queue_config()
            assert queue.max_concurrent_runs == 8
            assert queue.tag_concurrency_limits == [
                {"key": SLOT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
            ]
            launcher = instance.run_launcher
            assert isinstance(launcher, GpuK8sRunLauncher)
            assert launcher.gpu_resource == "nvidia.com/gpu"
            assert launcher.gpu_node_selector == {"nvidia.com/gpu.present": "true"}
            assert launcher.job_namespace == "osmose"
            assert launcher.env_config_maps == ["osmose-settings"]
            assert launcher.env_secrets == ["osmose-qdrant"]
            assert launcher.supports_check_run_worker_health  # run monitoring asks it
            assert instance.run_monitoring_enabled
            assert instance.run_monitoring_start_timeout_seconds == 600
            assert instance.run_monitoring_max_resume_run_attempts == 0
            assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
            assert not instance.run_retries_retry_on_asset_or_op_failure
            assert not instance.telemetry_enabled
        finally:
            instance.dispose()
    assert compute_slots(Settings.from_env().gpus) == ["0", "1", "2", "3"]


def test_k8s_the_run_queue_launches_one_job_per_gpu_slot_at_a_time(settings_env, tmp_path):
    """Six runs submitted without a slot (as from the UI's Materialize button) through the
    chart's instance: the coordinator tags them over the 4 slots of OSMOSE_GPU_SLOTS; one
    iteration of Dagster's run-queue daemon launches 4 Jobs, one per slot, each asking for one
    GPU, and leaves 2 queued; when the run on slot 0 ends, the next iteration launches the one
    waiting for slot 0, and only it. Not proven: a daemon process, pods running, Postgres (SQLite
    here: the limits are the queue's, the storage only holds them)."""
    with kube_api_recorder() as api:
        config = _with_recorder(chart_instance(VALUES), api.url, tmp_path)
        for key in STORAGE_KEYS:
            del config[key]
        instance = DagsterInstance.from_config(str(_home(tmp_path, config)))
        try:
            runs = [
                create_run_for_test(
                    instance,
                    job_name="ingest_documents",
                    status=DagsterRunStatus.NOT_STARTED,
                    job_code_origin=job_origin(),
                    remote_job_origin=remote_job_origin(),
                )
                for _ in range(6)
            ]
            with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as ctx:
                for run in runs:
                    instance.submit_run(run.run_id, ctx.create_request_context())
                slots = [instance.get_run_by_id(run.run_id).tags[SLOT_TAG] for run in runs]  # type: ignore[union-attr]
                assert slots == ["0", "1", "2", "3", "0", "1"]

                daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
                list(daemon.run_iteration(ctx))
                jobs = [job for _, job in api.created_jobs()]
                labels = sorted(job["metadata"]["labels"][SLOT_TAG] for job in jobs)
                assert labels == ["0", "1", "2", "3"]
                for job in jobs:
                    (container,) = job["spec"]["template"]["spec"]["containers"]
                    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
                queued = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED]))
                assert sorted(run.tags[SLOT_TAG] for run in queued) == ["0", "1"]

                list(daemon.run_iteration(ctx))  # nothing has ended: nothing more starts
                assert len(api.created_jobs()) == 4

                instance.report_run_failed(runs[0])  # the run on slot 0 ends (its pod died)
                list(daemon.run_iteration(ctx))
                assert len(api.created_jobs()) == 5
                assert api.created_jobs()[-1][1]["metadata"]["labels"]["dagster/run-id"] == (
                    runs[4].run_id
                )
        finally:
            instance.dispose()


@pytest.mark.slow  # a PostgreSQL database made and dropped, Dagster's schema migrated into it
def test_k8s_the_chart_instance_as_written_loads_against_postgres(settings_env, tmp_path):
    """The chart's instance with its PostgreSQL storage (scheme postgresql+psycopg2, password
    from DAGSTER_PG_PASSWORD as the chart's pods get it), pointed at the local test server.
    Not proven: the chart's own PostgreSQL, or a managed one's TLS parameters."""
    with fresh_database() as name, kube_api_recorder() as api:
        config = _with_recorder(chart_instance(VALUES), api.url, tmp_path)
        for key in STORAGE_KEYS:
            postgres_db = config[key]["config"]["postgres_db"]
            assert postgres_db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
            assert postgres_db["scheme"] == "postgresql+psycopg2"
            postgres_db.update(hostname=PG["host"], username=PG["user"], db_name=name)
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")  # trust auth here
            instance = DagsterInstance.from_config(str(_home(tmp_path, config)))
            try:
                assert isinstance(instance.run_storage, PostgresRunStorage)
                assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
                assert isinstance(instance.run_coordinator, GpuSlotRunCoordinator)
                assert isinstance(instance.run_launcher, GpuK8sRunLauncher)
                run = create_run_for_test(instance, job_name="ingest_documents")
                assert instance.get_run_by_id(run.run_id) is not None
            finally:
                instance.dispose()
