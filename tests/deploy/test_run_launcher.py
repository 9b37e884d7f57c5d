"""GpuDockerRunLauncher: each run container gets exactly the GPU of its `osmose/gpu` tag.

No Docker engine runs here. The pure part (`with_run_gpu`) is checked directly; then the whole
launch path is run — deploy/dagster.yaml's launcher config, a real instance holding the run,
DockerRunLauncher's own launch code, docker-py building the request — with only docker-py's
transport replaced by a recorder of the JSON body the engine would receive. What that does not
prove: that the engine and the NVIDIA Container Toolkit honour the request (on a GPU host,
`docker compose --profile gpu-check run --rm gpu-check` and a run's log, which names its device).
"""

from __future__ import annotations

import sys
from pathlib import Path

import docker
import docker.api.client
import pytest
import yaml
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.test_utils import create_run_for_test, instance_for_test
from dagster_docker.container_context import DockerContainerContext

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.instance.run_launcher import GpuDockerRunLauncher, with_run_gpu

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())["run_launcher"]
IMAGE = "osmose-dagster:v7"
# What docker-compose.yml gives the daemon (the launcher passes these names on by value).
DAEMON_ENV = {
    "DAGSTER_POSTGRES_HOST": "postgres",
    "DAGSTER_POSTGRES_PORT": "5432",
    "DAGSTER_POSTGRES_USER": "dagster",
    "DAGSTER_POSTGRES_PASSWORD": "secret",
    "DAGSTER_POSTGRES_DB": "dagster",
    "DAGSTER_CURRENT_IMAGE": IMAGE,
    "OSMOSE_DEPLOYMENT": "production",
    "OSMOSE_GPUS": "0,1",
    "OSMOSE_MODEL": "intfloat/multilingual-e5-large",
    "OSMOSE_DEVICE": "auto",
    "OSMOSE_CPU_FALLBACK": "",
    "OSMOSE_BATCH_SIZE": "",
    "OSMOSE_DECKS_PER_RUN": "50",
    "OSMOSE_SEGMENT_PENALTY": "1.0",
    "OSMOSE_COLLECTION": "",
    "QDRANT_URL": "http://qdrant:6333",
    "QDRANT_API_KEY": "",
    "OSMOSE_QDRANT_SHARDS": "",
    "OSMOSE_QDRANT_REPLICAS": "",
    "OSMOSE_QDRANT_WRITE_CONSISTENCY": "",
}


def _configured() -> DockerContainerContext:
    config = LAUNCHER["config"]
    return DockerContainerContext(
        env_vars=config["env_vars"],
        networks=[config["network"]],
        container_kwargs=config["container_kwargs"],
    )


def test_a_run_tagged_gpu_1_gets_device_1_and_only_device_1():
    context = with_run_gpu(_configured(), {SLOT_TAG: "1"}, environ=DAEMON_ENV)

    requests = context.container_kwargs["device_requests"]
    assert len(requests) == 1
    assert requests[0]["DeviceIDs"] == ["1"]
    assert requests[0]["Capabilities"] == [["gpu"]]
    assert requests[0]["Count"] == 0  # not "all", not "any one": that device only
    # The container sees its one GPU as CUDA device 0; the last value of a name wins.
    assert context.env_vars[-1] == "OSMOSE_DEVICE=cuda:0"
    # Everything configured is kept.
    assert context.container_kwargs["volumes"] == LAUNCHER["config"]["container_kwargs"]["volumes"]
    assert context.networks == ["osmose"]


@pytest.mark.parametrize(
    "tags", [{SLOT_TAG: "cpu-0"}, {SLOT_TAG: "cpu-3"}, {}], ids=["cpu-0", "cpu-3", "untagged"]
)
def test_cpu_slots_and_untagged_runs_get_no_device_request(tags):
    context = with_run_gpu(_configured(), tags, environ=DAEMON_ENV)

    assert "device_requests" not in context.container_kwargs
    assert list(context.env_vars) == LAUNCHER["config"]["env_vars"]


def test_an_explicit_osmose_device_is_left_to_the_operator():
    context = with_run_gpu(
        _configured(), {SLOT_TAG: "2"}, environ={**DAEMON_ENV, "OSMOSE_DEVICE": "cpu"}
    )
    assert context.container_kwargs["device_requests"][0]["DeviceIDs"] == ["2"]
    assert not any(v.startswith("OSMOSE_DEVICE=") for v in context.env_vars)


def test_device_requests_in_the_launcher_config_are_refused():
    with pytest.raises(ValueError, match="osmose/gpu"):
        GpuDockerRunLauncher(
            image=IMAGE,
            container_kwargs={"device_requests": [{"count": -1, "capabilities": [["gpu"]]}]},
        )


class _Engine:
    """docker-py's transport, replaced: records what would be POSTed to /containers/create."""

    def __init__(self):
        self.created: list[dict] = []
        self.started: list[str] = []

    def install(self, monkeypatch):
        client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.47")
        monkeypatch.setattr(docker.client, "from_env", lambda *a, **k: client)
        api = docker.api.client.APIClient

        def create_container_from_config(_api, config, name=None, platform=None):
            self.created.append(config)
            return {"Id": f"container{len(self.created)}"}

        monkeypatch.setattr(api, "create_container_from_config", create_container_from_config)
        monkeypatch.setattr(api, "inspect_container", lambda _api, cid: {"Id": cid, "Config": {}})
        monkeypatch.setattr(api, "start", lambda _api, cid, *a, **k: self.started.append(cid))


def test_launching_runs_sends_the_engine_exactly_their_gpu(monkeypatch, tmp_path):
    for name, value in DAEMON_ENV.items():
        monkeypatch.setenv(name, value)
    engine = _Engine()
    engine.install(monkeypatch)
    origin = JobPythonOrigin(
        "ingest_documents",
        RepositoryPythonOrigin(
            executable_path=sys.executable,
            code_pointer=ModuleCodePointer("osmose_dagster.definitions", "defs"),
            container_image=IMAGE,  # what the code server reports (its DAGSTER_CURRENT_IMAGE)
        ),
    )
    with instance_for_test(overrides={"run_launcher": LAUNCHER}) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, GpuDockerRunLauncher)
        bodies = {}
        for slot in ["1", "cpu-0", None]:
            tags = {SLOT_TAG: slot} if slot else {}
            run = create_run_for_test(
                instance, job_name="ingest_documents", tags=tags, job_code_origin=origin
            )
            launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
            bodies[slot] = engine.created[-1]
            assert (
                instance.get_run_by_id(run.run_id).tags["docker/container_id"] == engine.started[-1]
            )

    gpu = bodies["1"]
    assert gpu["Image"] == IMAGE
    assert gpu["HostConfig"]["DeviceRequests"] == [
        {"Driver": "", "Count": 0, "DeviceIDs": ["1"], "Capabilities": [["gpu"]], "Options": {}}
    ]
    assert "OSMOSE_DEVICE=cuda:0" in gpu["Env"]
    assert "OSMOSE_GPUS=0,1" in gpu["Env"] and "DAGSTER_POSTGRES_HOST=postgres" in gpu["Env"]
    assert gpu["HostConfig"]["NetworkMode"] == "osmose"
    assert sorted(gpu["HostConfig"]["Binds"]) == sorted(
        [
            "osmose_data:/data",
            "osmose_inbox:/data/inbox",
            "osmose_models:/models:ro",
            "osmose_dagster_storage:/opt/dagster/home/storage",
        ]
    )
    # The code server's own interpreter (same image, same path) runs the run.
    assert gpu["Cmd"][:5] == [sys.executable, "-m", "dagster", "api", "execute_run"]
    for slot in ["cpu-0", None]:
        body = bodies[slot]
        assert "DeviceRequests" not in body["HostConfig"]
        assert not any(v.startswith("OSMOSE_DEVICE=cuda") for v in body["Env"])
        assert body["HostConfig"]["Binds"] == gpu["HostConfig"]["Binds"]
        assert body["Image"] == IMAGE
