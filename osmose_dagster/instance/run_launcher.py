"""dagster-docker's DockerRunLauncher, plus one rule: a run's container sees exactly its GPU.

The run queue gives each run that embeds a compute slot (the `osmose/gpu` tag: a GPU id, or
`cpu-N`). DockerRunLauncher applies the same container arguments to every run, so this subclass
adds, per run, the one thing that depends on the tag:

- GPU `N`: an NVIDIA device request for device `N` only (`docker run --gpus device=N`), and
  `OSMOSE_DEVICE=cuda:0`, because a container given one GPU sees it as its CUDA device 0 (unless
  the deployment forces another OSMOSE_DEVICE, e.g. `cpu`, which is then left alone);
- a `cpu-N` slot, or no tag: no device request, so CPU-only hosts need no NVIDIA runtime.

The override point is `get_container_context(run)`: DockerRunLauncher builds every container
(launch, resume) from it, and reads it again to find or stop the container, so the per-run
arguments live in one place and the parent's launch code is used unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import docker.errors
from dagster import DagsterRun
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext
from docker.types import DeviceRequest

from osmose_dagster.core.ops import StallWatch, stall_message
from osmose_dagster.instance.dagster_private import CheckRunHealthResult, WorkerStatus
from osmose_dagster.instance.gpu_runs import env_for, gpu_of
from osmose_dagster.instance.health import latest_event_id
from osmose_dagster.instance.local_run_launcher import STALL_CONFIG


def device_requests_for(tags: Mapping[str, str]) -> list[DeviceRequest]:
    gpu = gpu_of(tags)
    return [DeviceRequest(device_ids=[gpu], capabilities=[["gpu"]])] if gpu is not None else []


def with_run_gpu(
    context: DockerContainerContext,
    tags: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> DockerContainerContext:
    """The container context of one run: the configured one plus its GPU (pure; no engine)."""
    kwargs = {k: v for k, v in context.container_kwargs.items() if k != "device_requests"}
    requests = device_requests_for(tags)
    if requests:
        kwargs["device_requests"] = requests
    return DockerContainerContext(
        registry=context.registry,
        env_vars=[*context.env_vars, *env_for(tags, context.env_vars, environ)],
        networks=context.networks,
        container_kwargs=kwargs,
    )


class GpuDockerRunLauncher(DockerRunLauncher):
    """DockerRunLauncher whose run containers get exactly the GPU of their `osmose/gpu` tag.

    Configured like DockerRunLauncher (image, network(s), env_vars, container_kwargs), except
    that `container_kwargs.device_requests` is refused: GPUs are assigned per run, here. Plus
    `stall_timeout_seconds` / `stall_cpu_seconds` (as the local launcher's): run monitoring's
    health check also ends (kills) a run container that wrote no event and used (almost) no CPU
    time for that long, so that a hung run does not keep its GPU.
    """

    def __init__(
        self, container_kwargs=None, stall_timeout_seconds=900, stall_cpu_seconds=1.0, **kwargs
    ):
        if container_kwargs and "device_requests" in container_kwargs:
            raise ValueError(
                "GpuDockerRunLauncher gives each run container the GPU of its osmose/gpu tag; "
                "remove device_requests from run_launcher.config.container_kwargs"
            )
        super().__init__(container_kwargs=container_kwargs, **kwargs)
        self._stalls = StallWatch(
            timeout_s=stall_timeout_seconds, min_cpu_seconds=stall_cpu_seconds
        )

    @classmethod
    def config_type(cls):
        return {**DockerRunLauncher.config_type(), **STALL_CONFIG}

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        health = super().check_run_worker_health(run)
        if health.status != WorkerStatus.RUNNING or not self._stalls.timeout_s:
            return health
        container = self._get_container(run)
        if container is None:
            return health
        try:
            # one_shot: the current counters, without waiting a second for a second sample.
            stats = container.stats(stream=False, one_shot=True)
            cpu_seconds = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        except (docker.errors.APIError, KeyError, TypeError):
            return health
        activity = latest_event_id(self._instance, run.run_id)
        idle_s = self._stalls.observe(run.run_id, cpu_seconds, activity)
        if not self._stalls.stalled(idle_s):
            return health
        message = stall_message(
            f"run container {container.short_id}",
            idle_s,
            self._stalls.cpu_since_progress(run.run_id, cpu_seconds),
        )
        self._instance.report_engine_event(message, run, cls=self.__class__)
        with contextlib.suppress(docker.errors.APIError):
            container.kill()
        return CheckRunHealthResult(WorkerStatus.FAILED, msg=message)

    def get_container_context(self, dagster_run: DagsterRun) -> DockerContainerContext:
        return with_run_gpu(super().get_container_context(dagster_run), dagster_run.tags)
