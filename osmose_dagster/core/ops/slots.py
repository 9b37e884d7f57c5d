"""Compute slots: the GPUs (or CPU slots) runs are spread over, and the one a run holds.

A slot is a GPU id ("0", "1") or a CPU slot ("cpu-0"). Each run that embeds carries the slot it
was given in the `SLOT_TAG` run tag, and dagster.yaml lets one run per tag value run at a time.
The queue keeps tagged runs apart; the lock taken by `hold_slot` is what actually guards the
device, so a run that bypassed the queue (`osmose ingest`, `dagster asset materialize`) waits for
the slot instead of sharing it. `flock` locks die with the process, so a killed run never leaves
its slot locked.
"""

from __future__ import annotations

import fcntl
import glob
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from osmose_dagster.core.errors import ConfigError, SlotBusyError

WAIT_REMINDER_S = 300.0


def compute_slots(configured: str | None = None) -> list[str]:
    """The slots runs are spread over: GPU ids ("0", "1"), or "cpu-0".. for `cpu:N`
    (OSMOSE_GPUS).

    Discovery must stay cheap (the sensor calls it every tick), so it counts the NVIDIA device
    files instead of importing torch. No GPU and nothing configured gives one CPU slot.
    """
    value = (configured or "").strip().lower()
    if value.startswith("cpu"):
        _, _, count = value.partition(":")
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"OSMOSE_GPUS={configured!r}: expected cpu:N with N >= 1")
        return [f"cpu-{i}" for i in range(int(count))]
    if value:
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() for part in ids):
            raise ConfigError(f"OSMOSE_GPUS={configured!r}: expected GPU ids like 0,1 or cpu:N")
        return ids
    found = sorted(
        path.removeprefix("/dev/nvidia")
        for path in glob.glob("/dev/nvidia[0-9]*")
        if path.removeprefix("/dev/nvidia").isdigit()
    )
    return found or ["cpu-0"]


def is_gpu_slot(slot: str) -> bool:
    return slot.strip().isdigit()


def least_busy_slot(load: Mapping[str, int]) -> str:
    """The slot with the fewest runs; ties go to the slot listed first."""
    return min(load, key=load.__getitem__)


def spread_over_slots(count: int, slots: Sequence[str], busy: Mapping[str, int]) -> list[str]:
    """A slot for each of `count` new runs, given the runs queued or running per slot (`busy`):
    each goes to the least busy slot, counting those assigned before it."""
    load = {slot: busy.get(slot, 0) for slot in slots}
    chosen = []
    for _ in range(count):
        slot = least_busy_slot(load)
        load[slot] += 1
        chosen.append(slot)
    return chosen


_held: dict[Path, tuple[str, object]] = {}  # lock folder -> (slot, open lock file)
_guard = threading.Lock()


def hold_slot(
    lock_dir: Path,
    slots: Sequence[str],
    *,
    preferred: str | None = None,
    timeout_s: float = 24 * 3600,
    on_wait: Callable[[str], None] | None = None,
) -> str:
    """Lock `preferred` (or the first free of `slots`) for the rest of this process's life.

    A process holds at most one slot per lock folder: later calls return the one it holds.
    """
    lock_dir = lock_dir.resolve()
    with _guard:
        if lock_dir in _held:
            return _held[lock_dir][0]
        lock_dir.mkdir(parents=True, exist_ok=True)
        candidates = [preferred] if preferred else list(slots)
        deadline = time.monotonic() + timeout_s
        delay, told_at = 0.2, None
        while True:
            for slot in candidates:
                handle = _try_lock(lock_dir / f"slot-{slot}.lock")
                if handle is not None:
                    _held[lock_dir] = (slot, handle)
                    return slot
            if time.monotonic() >= deadline:
                raise SlotBusyError(
                    f"no compute slot of {', '.join(candidates)} came free in {timeout_s:.0f}s"
                )
            # Said again every few minutes: the run's log shows it waits, and run monitoring
            # (which ends runs that log nothing and use no CPU for long) sees it is alive.
            if on_wait and (told_at is None or time.monotonic() - told_at >= WAIT_REMINDER_S):
                still = "still " if told_at is not None else ""
                on_wait(
                    f"{still}waiting for compute slot {' or '.join(candidates)} "
                    "(held by another run)"
                )
                told_at = time.monotonic()
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def _try_lock(path: Path):
    handle = open(path, "a+")  # noqa: SIM115 (held open: the lock lives as long as the handle)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
