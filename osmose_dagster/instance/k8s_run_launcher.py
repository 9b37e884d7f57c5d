"""dagster-k8s's K8sRunLauncher (one Kubernetes Job, so one pod, per run), plus one rule: a run
that holds a GPU slot gets a pod with one GPU, and a run that does not gets none.

Needs the `k8s` extra (`pip install "osmose-dagster[k8s]"`); nothing else in the package imports
this module, so the rest of the package works without it.

The run queue gives each run that embeds a compute slot (the `osmose/gpu` tag: "0", "1", ... or
"cpu-N"), and dagster.yaml lets one run per slot value run at a time, across the cluster: the
queue lives in the instance's Postgres. Kubernetes hands GPUs out by count, not by id, so on a
cluster the slots are N tokens (OSMOSE_GPU_SLOTS=N: as many as the GPUs the cluster offers these
runs), and this launcher adds, per run, what depends on the tag:

- a GPU slot: the container's resource limit `nvidia.com/gpu: 1` (`gpu_resource`, e.g. a MIG
  profile instead), the pod's `gpu_node_selector` and `gpu_tolerations`, and `OSMOSE_DEVICE=cuda:0`
  (the pod's one GPU is its CUDA device 0, whichever GPU of the node it is), unless the
  deployment sets OSMOSE_DEVICE to something other than `auto`;
- a `cpu-N` slot, or no tag: nothing, so the pod asks for no GPU and lands on any node;
- either way, the label `osmose/gpu=<slot>` on the Job and its pod (`kubectl get pods -l
  osmose/gpu`).

The override point is `get_container_context_for_run(run)`: K8sRunLauncher builds every Job
(launch, resume) from it and reads it again to find the Job (health checks, terminate), so the
per-run config lives in one place and the parent's job construction is used unchanged. It is
merged last, after the launcher's config and a run's own `dagster-k8s/config` tag, so a run on a
GPU slot always asks for its GPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import Array, DagsterRun, Field, Map, Permissive

try:
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import UserDefinedDagsterK8sConfig
except ImportError as missing:
    raise ImportError(
        f"GpuK8sRunLauncher needs dagster-k8s ({missing}): "
        'pip install "osmose-dagster[k8s]", or build the image with --build-arg OSMOSE_EXTRAS=k8s'
    ) from missing

from osmose_dagster.core.ops.dagster_names import SLOT_TAG
from osmose_dagster.instance.gpu_runs import env_for, gpu_of, slot_of

GPU_RESOURCE = "nvidia.com/gpu"  # what the NVIDIA device plugin advertises
GPU_CONFIG = {
    "gpu_resource": Field(
        str,
        is_required=False,
        default_value=GPU_RESOURCE,
        description="The extended resource a GPU run's container asks one of (limits).",
    ),
    "gpu_node_selector": Field(
        Map(str, str),
        is_required=False,
        default_value={},
        description="nodeSelector of the pods of GPU runs only (e.g. the GPU nodes' label).",
    ),
    "gpu_tolerations": Field(
        Array(Permissive()),
        is_required=False,
        default_value=[],
        description="Tolerations of the pods of GPU runs only (e.g. the GPU nodes' taint).",
    ),
}


def slot_k8s_config(
    tags: Mapping[str, str],
    env_vars: Sequence[str],
    *,
    gpu_resource: str = GPU_RESOURCE,
    gpu_node_selector: Mapping[str, str] | None = None,
    gpu_tolerations: Sequence[Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> UserDefinedDagsterK8sConfig:
    """What a run's slot adds to its Job (pure: no cluster). Merged deep, as dagster-k8s merges:
    lists are appended to, maps merged into (the launcher's cpu/memory limits are kept)."""
    slot = slot_of(tags)
    labels = {SLOT_TAG: slot} if slot else {}
    if gpu_of(tags) is None:
        return UserDefinedDagsterK8sConfig(
            pod_template_spec_metadata={"labels": labels}, job_metadata={"labels": labels}
        )
    env = [
        {"name": name, "value": value}
        for name, _, value in (
            item.partition("=")
            for item in env_for(tags, env_vars, environ, inherits_daemon_env=True)
        )
    ]
    container: dict[str, Any] = {"resources": {"limits": {gpu_resource: "1"}}}
    if env:
        container["env"] = env
    pod_spec: dict[str, Any] = {}
    if gpu_node_selector:
        pod_spec["node_selector"] = dict(gpu_node_selector)
    if gpu_tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in gpu_tolerations]
    return UserDefinedDagsterK8sConfig(
        container_config=container,
        pod_spec_config=pod_spec,
        pod_template_spec_metadata={"labels": labels},
        job_metadata={"labels": labels},
    )


class GpuK8sRunLauncher(K8sRunLauncher):
    """K8sRunLauncher whose run pods get one GPU when their run holds a GPU slot.

    Configured like K8sRunLauncher (service_account_name, instance_config_map, job_namespace,
    env_config_maps, env_secrets, volumes, resources, ...), plus `gpu_resource`,
    `gpu_node_selector` and `gpu_tolerations`, applied to GPU runs only. A GPU in the
    launcher-wide `resources` is refused: it would give every run, CPU ones too, a GPU.
    """

    def __init__(
        self,
        gpu_resource: str = GPU_RESOURCE,
        gpu_node_selector: Mapping[str, str] | None = None,
        gpu_tolerations: Sequence[Mapping[str, Any]] | None = None,
        **kwargs,
    ):
        resources = kwargs.get("resources") or {}
        if any(gpu_resource in (resources.get(part) or {}) for part in ("limits", "requests")):
            raise ValueError(
                f"GpuK8sRunLauncher gives {gpu_resource} to the pods of runs on GPU slots only "
                f"(their {SLOT_TAG} tag); remove it from run_launcher.config.resources"
            )
        super().__init__(**kwargs)
        self.gpu_resource = gpu_resource
        self.gpu_node_selector = dict(gpu_node_selector or {})
        self.gpu_tolerations = [dict(toleration) for toleration in gpu_tolerations or []]

    @classmethod
    def config_type(cls):
        return {**K8sRunLauncher.config_type(), **GPU_CONFIG}

    def get_container_context_for_run(self, dagster_run: DagsterRun) -> K8sContainerContext:
        slot_config = slot_k8s_config(
            dagster_run.tags,
            self.env_vars,
            gpu_resource=self.gpu_resource,
            gpu_node_selector=self.gpu_node_selector,
            gpu_tolerations=self.gpu_tolerations,
        )
        return (
            super()
            .get_container_context_for_run(dagster_run)
            .merge(K8sContainerContext(run_k8s_config=slot_config))
        )
