"""GpuK8sRunLauncher: each run is a Kubernetes Job; a run on a GPU slot asks for one GPU, a CPU
run for none. No cluster runs here.

The whole launch path runs: the launcher config of deploy/helm/dagster-values.yaml (as Dagster's
chart hands it to the instance), a real instance holding the runs, the subclass's
`get_container_context_for_run`, dagster-k8s's own job construction, and the kubernetes client
sending the Job over HTTP, to a local server that records the JSON body a cluster's API server
would receive (tests/support/k8s.py). The one change to the config: the client is pointed at
that server (a kubeconfig) instead of loading the in-cluster one. The daemon's environment is
the ConfigMap deploy/helm/osmose-settings.yaml, as the chart gives it, plus a QDRANT_API_KEY
that must not appear in any Job. Each recorded Job is then validated offline against
Kubernetes' own OpenAPI schema (kubernetes-validate, strict: unknown fields are errors).

What this does not prove: that a cluster schedules the pod (a scheduler, the NVIDIA device
plugin handing out `nvidia.com/gpu`, a node matching the selector and tolerations, the volumes'
storage class), that the image starts, nor that the pod's process sees one GPU as CUDA device 0
(no GPU here): on a GPU cluster, a run's log names its device. Nor does the schema check API
server admission (quotas, policies).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
from dagster._core.launcher import LaunchRunContext
from dagster._core.test_utils import create_run_for_test, instance_for_test

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.instance.k8s_run_launcher import GpuK8sRunLauncher, slot_k8s_config
from tests.support.k8s import (
    IMAGE,
    helm_documents,
    helm_file,
    job_origin,
    kube_api_recorder,
    kubeconfig,
)
from tests.support.paths import REPO_ROOT

VALUES = helm_file("dagster-values.yaml")
LAUNCHER = VALUES["runLauncher"]["config"]["customRunLauncher"]
SETTINGS = helm_documents("osmose-settings.yaml")[0]["data"]
API_KEY = "qdrant-key-that-must-not-leak"
# The oldest Kubernetes most clusters still run, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.latest_version()]


def _container(job: dict) -> dict:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.fixture(scope="module")
def launched(tmp_path_factory) -> dict[str | None, dict]:
    """The Job body sent for a run on GPU slot 3, one on CPU slot cpu-0, and an untagged one,
    plus the runs' tags, keyed by slot."""
    tmp = tmp_path_factory.mktemp("k8s")
    environ = {**SETTINGS, "QDRANT_API_KEY": API_KEY}
    origin = job_origin(IMAGE)  # the image the code server reports (DAGSTER_CURRENT_IMAGE)
    with pytest.MonkeyPatch.context() as monkeypatch, kube_api_recorder() as api:
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        config = {
            **LAUNCHER["config"],
            "load_incluster_config": False,
            "kubeconfig_file": str(kubeconfig(tmp / "kubeconfig", api.url)),
        }
        launcher_config = {"module": LAUNCHER["module"], "class": LAUNCHER["class"]}
        overrides = {"run_launcher": {**launcher_config, "config": config}}
        found: dict[str | None, dict] = {}
        with instance_for_test(overrides=overrides) as instance:
            launcher = instance.run_launcher
            assert isinstance(launcher, GpuK8sRunLauncher)
            for slot in ["3", "cpu-0", None]:
                run = create_run_for_test(
                    instance,
                    job_name="ingest_documents",
                    tags={SLOT_TAG: slot} if slot else {},
                    job_code_origin=origin,
                )
                launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
                namespace, job = api.created_jobs()[-1]
                stored = instance.get_run_by_id(run.run_id)
                assert stored is not None
                found[slot] = {
                    "namespace": namespace,
                    "job": job,
                    "run_id": run.run_id,
                    "tags": dict(stored.tags),
                }
        return found


def test_k8s_a_run_on_a_gpu_slot_gets_a_pod_with_one_gpu(launched):
    """What the API server would receive for a run tagged osmose/gpu=3 (of OSMOSE_GPU_SLOTS=4):
    one `nvidia.com/gpu`, the GPU nodes' selector and toleration, and `OSMOSE_DEVICE=cuda:0`
    (slot 3 is a count, not a device id: the pod's one GPU is its device 0). Not proven: that a
    scheduler places it, or that CUDA in the pod sees that GPU as device 0."""
    gpu = launched["3"]
    job, container = gpu["job"], _container(gpu["job"])
    pod = job["spec"]["template"]["spec"]
    config = LAUNCHER["config"]

    assert gpu["namespace"] == config["job_namespace"] == "osmose"
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "memory": "12Gi"}
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "6Gi"}
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert _env(container)["OSMOSE_DEVICE"] == "cuda:0"
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    # The run's command: Dagster's run worker for this run, in the code server's image.
    assert container["image"] == IMAGE and gpu["tags"]["dagster/image"] == IMAGE
    assert container["args"][1:5] == ["-m", "dagster", "api", "execute_run"]
    assert gpu["run_id"] in container["args"][5]
    # Labels: kubectl get pods -l osmose/gpu=3 finds it; Dagster's own name the run.
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels[SLOT_TAG] == "3"
        assert labels["dagster/run-id"] == gpu["run_id"]
        assert labels["dagster/job"] == "ingest_documents"
        assert labels["app.kubernetes.io/component"] == "run_worker"
        assert labels["app.kubernetes.io/part-of"] == "osmose"
    assert gpu["tags"][SLOT_TAG] == "3"


@pytest.mark.parametrize("slot", ["cpu-0", None], ids=["cpu-0", "untagged"])
def test_k8s_cpu_and_untagged_runs_ask_for_no_gpu(launched, slot):
    """A CPU slot's run, or an untagged one: the launcher's cpu/memory only, no GPU, no GPU-node
    selector or toleration (it may land on any node), OSMOSE_DEVICE left to the ConfigMap. Not
    proven: where a scheduler puts it."""
    job = launched[slot]["job"]
    container, pod = _container(job), job["spec"]["template"]["spec"]

    assert container["resources"] == {
        "limits": {"memory": "12Gi"},
        "requests": {"cpu": "2", "memory": "6Gi"},
    }
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert "OSMOSE_DEVICE" not in _env(container)
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels.get(SLOT_TAG) == slot
    assert container["image"] == IMAGE


def test_k8s_run_pods_read_settings_from_the_configmap_and_the_key_from_a_secret(launched):
    """Every run pod: OSMOSE_* and QDRANT_URL from the ConfigMap osmose-settings (the same one
    the daemon read), QDRANT_API_KEY from the Secret osmose-qdrant, the Postgres password from
    its Secret, the shared volumes. The daemon's QDRANT_API_KEY is in no Job. Not proven: that
    those objects exist in the cluster (`kubectl` creates them, docs/scaling.md)."""
    for found in launched.values():
        job = found["job"]
        container, pod = _container(job), job["spec"]["template"]["spec"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "osmose-settings"}},
            {"secretRef": {"name": "osmose-qdrant"}},
        ]
        env = _env(container)
        assert "QDRANT_API_KEY" not in env and "QDRANT_URL" not in env
        assert not [name for name in env if name.startswith("OSMOSE_") and name != "OSMOSE_DEVICE"]
        assert env["DAGSTER_PG_PASSWORD"] == {
            "secretKeyRef": {"name": "osmose-postgresql", "key": "postgresql-password"}
        }
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
        assert API_KEY not in json.dumps(job)
        assert pod["serviceAccountName"] == "osmose-dagster"
        assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]} == {
            "/data": False,
            "/models": True,
        }
        assert {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]} == {
            "osmose-data": "osmose-data",
            "osmose-models": "osmose-models",
        }
    # The ConfigMap has what a pod needs, and no secret.
    assert SETTINGS["OSMOSE_DEPLOYMENT"] == "production" and SETTINGS["QDRANT_URL"]
    assert SETTINGS["OSMOSE_HOME"] == "/data"
    assert not any("KEY" in name or "PASSWORD" in name for name in SETTINGS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_k8s_the_jobs_and_manifests_are_valid_kubernetes_objects(launched, version):
    """The three recorded Jobs, the ConfigMap and the PersistentVolumeClaims of deploy/helm/,
    against Kubernetes' OpenAPI schema (kubernetes-validate, strict). A misspelt or misplaced
    field fails here (checked: a `nodeSelektor`). Not proven: admission by a real API server."""
    manifests = [found["job"] for found in launched.values()]
    manifests += helm_documents("osmose-settings.yaml") + helm_documents("osmose-volumes.yaml")
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["ConfigMap", "Job", "Job", "Job", "PersistentVolumeClaim"] + [
        "PersistentVolumeClaim"
    ]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)

    broken = json.loads(json.dumps(launched["3"]["job"]))
    pod = broken["spec"]["template"]["spec"]
    pod["nodeSelektor"] = pod.pop("nodeSelector")
    with pytest.raises(kubernetes_validate.ValidationError, match="nodeSelektor"):
        kubernetes_validate.validate(broken, version, strict=True)


def test_k8s_an_operator_device_choice_is_kept_and_the_gpu_resource_can_be_named():
    """Pure: an OSMOSE_DEVICE other than auto (here `cpu`) is not replaced by cuda:0, though the
    pod still gets its GPU (the slot is held); `gpu_resource` names another extended resource (a
    MIG profile)."""
    config = slot_k8s_config({SLOT_TAG: "0"}, [], environ={"OSMOSE_DEVICE": "cpu"})
    assert config.container_config == {"resources": {"limits": {"nvidia.com/gpu": "1"}}}

    config = slot_k8s_config(
        {SLOT_TAG: "1"}, ["OSMOSE_DEVICE=auto"], gpu_resource="nvidia.com/mig-1g.10gb"
    )
    assert config.container_config["resources"] == {"limits": {"nvidia.com/mig-1g.10gb": "1"}}
    assert config.container_config["env"] == [{"name": "OSMOSE_DEVICE", "value": "cuda:0"}]


def test_k8s_a_run_tag_with_its_own_resources_still_gets_the_gpu(tmp_path):
    """A run tagged `dagster-k8s/config` with its own resources (which, in dagster-k8s, replace
    the launcher's) still asks for its GPU: the slot's config is merged after the tag. Through
    the launcher's container context, no cluster."""
    with kube_api_recorder() as api, instance_for_test() as instance:
        launcher = GpuK8sRunLauncher(
            service_account_name="osmose-dagster",
            instance_config_map="osmose-dagster-instance",
            dagster_home="/opt/dagster/home",
            load_incluster_config=False,
            kubeconfig_file=str(kubeconfig(tmp_path / "kubeconfig", api.url)),
        )
        launcher.register_instance(instance)
        tag = {"container_config": {"resources": {"limits": {"memory": "32Gi"}}}}
        run = create_run_for_test(
            instance, tags={SLOT_TAG: "2", "dagster-k8s/config": json.dumps(tag)}
        )
        context = launcher.get_container_context_for_run(run)
    resources = context.run_k8s_config.container_config["resources"]
    assert resources == {"limits": {"memory": "32Gi", "nvidia.com/gpu": "1"}}


def test_k8s_a_gpu_in_the_launcher_wide_resources_is_refused(tmp_path):
    """A GPU in the launcher's `resources` would give every run, CPU ones too, a GPU: refused when
    the launcher is built (the daemon fails to start, saying why). Not proven: anything a
    cluster does."""
    with kube_api_recorder() as api, pytest.raises(ValueError, match="GPU slots only"):
        GpuK8sRunLauncher(
            service_account_name="osmose-dagster",
            instance_config_map="osmose-dagster-instance",
            dagster_home="/opt/dagster/home",
            load_incluster_config=False,
            kubeconfig_file=str(kubeconfig(tmp_path / "kubeconfig", api.url)),
            resources={"limits": {"nvidia.com/gpu": "1"}},
        )


def test_k8s_the_package_imports_without_dagster_k8s():
    """Only dagster.yaml names the Kubernetes launcher: the definitions, the command line and
    the other daemon plugins import with dagster-k8s absent (blocked in a child process), and
    the launcher module says what is missing. Not proven: an install without the extra from
    PyPI (dagster-k8s is blocked, not uninstalled)."""
    code = (
        "import sys\n"
        "sys.modules['dagster_k8s'] = None\n"  # import dagster_k8s now raises ImportError
        "import osmose_dagster.definitions, osmose_dagster.cli.main\n"
        "import osmose_dagster.instance.run_coordinator, osmose_dagster.instance.run_launcher\n"
        "import osmose_dagster.instance.local_run_launcher\n"
        "try:\n"
        "    import osmose_dagster.instance.k8s_run_launcher\n"
        "except ImportError as error:\n"
        "    print('k8s launcher:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "k8s launcher:" in result.stdout and 'pip install "osmose-dagster[k8s]"' in result.stdout
    assert Path(REPO_ROOT / "pyproject.toml").read_text().count('"dagster-k8s==0.29.27"') == 1
