"""Which compute device a run uses, and why. torch is imported only when asked."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from osmose_dagster.core.errors import ConfigError
from osmose_dagster.core.ops import is_gpu_slot

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # a torch device string: "cpu", "cuda:0", ...
    reason: str
    fell_back_to_cpu: bool = False


def resolve_device(requested: str = "auto") -> DeviceChoice:
    """`auto` takes CUDA when present, else the CPU (flagged so the caller can warn).

    An explicit `cuda`/`cuda:N` on a machine without it is an error, not a silent fallback.
    """
    requested = (requested or "auto").strip().lower()
    if not _DEVICE_PATTERN.match(requested):
        raise ConfigError(
            f"device {requested!r} is not one of auto, cpu, cuda, cuda:N (OSMOSE_DEVICE)"
        )
    if requested == "cpu":
        return DeviceChoice("cpu", "CPU requested")
    count = cuda_device_count()
    if requested == "auto":
        if count:
            return DeviceChoice("cuda:0", f"auto: {count} CUDA device(s) visible, using the first")
        return DeviceChoice(
            "cpu", "auto: no CUDA device visible, running on the CPU (slow)", fell_back_to_cpu=True
        )
    index = int(requested.split(":")[1]) if ":" in requested else 0
    if index >= count:
        raise ConfigError(
            f"device {requested!r} requested but {count} CUDA device(s) are visible; "
            "set OSMOSE_DEVICE=auto or cpu to run without a GPU"
        )
    return DeviceChoice(f"cuda:{index}", f"{requested} requested")


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def describe_device(device: str) -> dict[str, str | float]:
    """Name and total memory of a device, for the run log and the UI."""
    if not device.startswith("cuda"):
        import platform

        return {"device": device, "device_name": platform.processor() or "CPU"}
    import torch

    props = torch.cuda.get_device_properties(torch.device(device))
    return {
        "device": device,
        "device_name": props.name,
        "device_memory_gib": round(props.total_memory / 2**30, 1),
    }


def device_for_slot(slot: str, requested: str = "auto", cpu_fallback: bool = False) -> DeviceChoice:
    """The torch device for the slot a run holds.

    `cpu-N` slots run on the CPU. A GPU id runs on that GPU; inside a container that sees only
    its own GPU (CUDA_VISIBLE_DEVICES=1), GPU 1 is `cuda:0` there. An explicit OSMOSE_DEVICE
    other than auto wins over the slot.
    """
    if (requested or "auto").lower() != "auto":
        return resolve_device(requested)
    if not is_gpu_slot(slot):
        return DeviceChoice("cpu", f"compute slot {slot} is a CPU slot")
    count = cuda_device_count()
    visible = [
        v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()
    ]
    index = visible.index(slot) if slot in visible else int(slot)
    if index < count:
        return DeviceChoice(f"cuda:{index}", f"this run was given GPU {slot}")
    if cpu_fallback:
        return DeviceChoice(
            "cpu",
            f"this run was given GPU {slot} but {count} CUDA device(s) are visible; "
            "falling back to the CPU (OSMOSE_CPU_FALLBACK=1)",
            fell_back_to_cpu=True,
        )
    raise ConfigError(
        f"this run was given GPU {slot} but {count} CUDA device(s) are visible here; "
        "set OSMOSE_CPU_FALLBACK=1 to run on the CPU instead, or fix OSMOSE_GPUS"
    )
