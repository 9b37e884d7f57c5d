"""One process per compute slot (a GPU, or a CPU slot), whichever way its run was started.

The run queue keeps tagged runs apart; this lock is what actually guards the device, so a run
that bypassed the queue (the UI's Materialize button before tagging, `osmose ingest`, a
`dagster asset materialize`) waits for the slot instead of sharing it. `flock` locks die with the
process, so a killed run never leaves its slot locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from .errors import OsmoseError


class SlotBusyError(OsmoseError):
    """No slot came free within the wait limit."""


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
        delay, told = 0.2, False
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
            if on_wait and not told:
                on_wait(f"waiting for compute slot {' or '.join(candidates)} (held by another run)")
                told = True
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def _try_lock(path: Path):
    handle = open(path, "a+")
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
