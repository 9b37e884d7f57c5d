"""Compute slots on a machine without a GPU: which slots exist, which device a slot gives, and the
slot lock that keeps two processes off one slot. (What a GPU slot does on a real GPU is checked
by bench/gpu_check.py on a GPU machine; nothing here proves CUDA behaviour.)"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from osmose_dagster.core.errors import ConfigError
from osmose_dagster.core.model.device import cuda_device_count, device_for_slot
from osmose_dagster.core.ops.slots import (
    compute_slots,
    hold_slot,
    least_busy_slot,
    spread_over_slots,
)
from osmose_dagster.core.settings import Settings
from tests.support.paths import REPO_ROOT


def test_configured_slots():
    assert compute_slots("0,1") == ["0", "1"]
    assert compute_slots(" 2 , 3 ") == ["2", "3"]
    assert compute_slots("cpu:3") == ["cpu-0", "cpu-1", "cpu-2"]
    for bad in ("cpu:0", "cpu:x", "gpu0", "0;1"):
        with pytest.raises(ConfigError, match="OSMOSE_GPUS"):
            compute_slots(bad)


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
def test_discovery_without_gpus_gives_one_cpu_slot():
    assert compute_slots(None) == ["cpu-0"]


def test_cpu_slot_runs_on_the_cpu():
    choice = device_for_slot("cpu-1")
    assert choice.device == "cpu" and "cpu-1" in choice.reason


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
def test_a_gpu_slot_without_cuda_fails_clearly_unless_fallback_is_configured():
    with pytest.raises(ConfigError, match=r"given GPU 1 .*OSMOSE_CPU_FALLBACK=1"):
        device_for_slot("1")
    fallback = device_for_slot("1", cpu_fallback=True)
    assert fallback.device == "cpu" and fallback.fell_back_to_cpu
    assert "falling back to the CPU" in fallback.reason


def test_an_explicit_device_wins_over_the_slot():
    assert device_for_slot("1", requested="cpu").device == "cpu"


HOLDER = """
import sys, time
from pathlib import Path
from osmose_dagster.core.ops.slots import hold_slot
slot = hold_slot(Path(sys.argv[1]), sys.argv[2].split(","), timeout_s=60)
print(slot, flush=True)
time.sleep(600)
"""


def _holder(lock_dir, slots: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), slots],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_slot_held_by_another_process_is_skipped_then_freed_by_its_death(tmp_path):
    first = _holder(tmp_path, "cpu-0,cpu-1")
    try:
        assert first.stdout.readline().strip() == "cpu-0"
        second = _holder(tmp_path, "cpu-0,cpu-1")
        try:
            assert second.stdout.readline().strip() == "cpu-1"
            first.kill()  # like kill -9 in the middle of a run: the OS drops the lock
            first.wait()
            started = time.monotonic()
            assert hold_slot(tmp_path, ["cpu-0"], timeout_s=30) == "cpu-0"
            assert time.monotonic() - started < 10
            # One process holds one slot: asking again returns the same one.
            assert hold_slot(tmp_path, ["cpu-1", "cpu-0"]) == "cpu-0"
        finally:
            second.kill()
    finally:
        first.kill()


def test_waiting_for_a_busy_slot_is_bounded_and_says_so(tmp_path):
    from osmose_dagster.core.ops.slots import SlotBusyError

    holder = _holder(tmp_path, "cpu-0")
    try:
        assert holder.stdout.readline().strip() == "cpu-0"
        code = (
            "import sys; from pathlib import Path; from osmose_dagster.core.ops.slots import hold_slot\n"
            "try:\n hold_slot(Path(sys.argv[1]), ['cpu-0'], timeout_s=1, on_wait=print)\n"
            "except Exception as e: print(type(e).__name__, e)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        told = done.stdout.splitlines()
        assert told[0].startswith("waiting for compute slot cpu-0")
        assert told[-1].startswith(SlotBusyError.__name__) and "cpu-0" in told[-1]
    finally:
        holder.kill()


def test_runs_go_to_the_least_busy_slot_counting_this_ticks_assignments():
    assert least_busy_slot({"0": 2, "1": 1, "2": 1}) == "1"  # tie: the slot listed first
    assert spread_over_slots(3, ["cpu-0", "cpu-1"], {}) == ["cpu-0", "cpu-1", "cpu-0"]
    assert spread_over_slots(4, ["0", "1"], {"0": 3}) == ["1", "1", "1", "0"]
    assert spread_over_slots(0, ["0"], {"0": 9}) == []


def test_k8s_a_gpu_slot_count_gives_slots_0_to_n_minus_1():
    """OSMOSE_GPU_SLOTS=N (a cluster, which hands GPUs out by count): the slots "0".."N-1", the
    same as OSMOSE_GPUS=0,..,N-1; setting both, or 0, is refused."""
    assert compute_slots(Settings.from_env({"OSMOSE_GPU_SLOTS": "4"}).gpus) == ["0", "1", "2", "3"]
    assert Settings.from_env({"OSMOSE_GPUS": "cpu:2"}).gpus == "cpu:2"
    with pytest.raises(ConfigError, match="both set"):
        Settings.from_env({"OSMOSE_GPU_SLOTS": "2", "OSMOSE_GPUS": "0,1"})
    with pytest.raises(ConfigError, match="OSMOSE_GPU_SLOTS"):
        Settings.from_env({"OSMOSE_GPU_SLOTS": "0"})


@pytest.mark.skipif(cuda_device_count() > 0, reason="this machine has a GPU")
def test_k8s_a_pod_on_gpu_slot_3_uses_its_device_0_and_fails_clearly_without_one():
    """In a pod, GPU slot 3 is a count, not a device: the launcher sets OSMOSE_DEVICE=cuda:0, so
    the run asks for the pod's device 0, not device 3; a pod that sees no GPU fails the run
    saying so instead of running on the CPU. (Without a GPU here, what is shown is the failure;
    that device 0 is used when present is not proven on this machine.)"""
    with pytest.raises(ConfigError, match=r"'cuda:0' requested but 0 CUDA device\(s\)"):
        device_for_slot("3", requested="cuda:0")
