"""What a run's compute slot (its `osmose/gpu` tag) asks of the container or pod that runs it;
shared by the Docker launcher (instance/run_launcher.py) and the Kubernetes one
(instance/k8s_run_launcher.py).

A container or pod given one GPU sees it as CUDA device 0, whatever the GPU's id on its host:
so a run on a GPU slot is told `OSMOSE_DEVICE=cuda:0`, unless the deployment set OSMOSE_DEVICE to
something other than `auto` (`cpu`, say), which is the operator's choice and left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from osmose_dagster.core.ops import is_gpu_slot
from osmose_dagster.core.ops.dagster_names import SLOT_TAG

ONE_GPU_DEVICE = "cuda:0"


def slot_of(tags: Mapping[str, str]) -> str | None:
    """The compute slot a run holds ("0", "cpu-1"), or None for an untagged run."""
    return (tags.get(SLOT_TAG) or "").strip() or None


def gpu_of(tags: Mapping[str, str]) -> str | None:
    """The GPU slot a run was given, or None for a CPU slot or an untagged run."""
    slot = slot_of(tags)
    return slot if slot is not None and is_gpu_slot(slot) else None


def env_for(
    tags: Mapping[str, str],
    env_vars: Sequence[str],
    environ: Mapping[str, str] | None = None,
    *,
    inherits_daemon_env: bool = False,
) -> list[str]:
    """Extra env vars for the run's container (appended, so they win over the configured ones):
    `["OSMOSE_DEVICE=cuda:0"]` for a run on a GPU slot, else none.

    `env_vars` are the launcher's (`NAME` takes its value from `environ`, the daemon's
    environment, as dagster-docker and dagster-k8s do; `NAME=value` is literal).
    `inherits_daemon_env`: the container gets the daemon's OSMOSE_DEVICE by other means too (on
    Kubernetes, the same ConfigMap feeds the daemon and the run pods).
    """
    if gpu_of(tags) is None:
        return []
    environ = os.environ if environ is None else environ
    device = environ.get("OSMOSE_DEVICE") if inherits_daemon_env else None
    for item in env_vars:
        name, has_value, value = item.partition("=")
        if name == "OSMOSE_DEVICE":
            device = value if has_value else environ.get(name)
    if (device or "auto").strip().lower() != "auto":
        return []  # an explicit OSMOSE_DEVICE (cpu, cuda:N) is the operator's choice
    return [f"OSMOSE_DEVICE={ONE_GPU_DEVICE}"]
