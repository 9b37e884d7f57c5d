"""Helpers for the fault tests: the real `osmose` CLI in child processes (each in its own process
group, so a kill takes the whole run), the real embedded Qdrant read back, the real asset files.

No mocks: every fault is a real one (SIGKILL, a closed port, a held lock, a deleted file).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from tests.support.paths import REPO_ROOT, subprocess_env

MODEL = "all-MiniLM-L6-v2"


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = subprocess_env(home)
    env.update(extra)
    return env


def osmose(home: Path, *args: str, timeout: int = 600, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", *args],
        env=env_for(home, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


def start_osmose(home: Path, logs: Path, *args: str, **extra: str) -> subprocess.Popen:
    """The CLI in its own session (process group); stdout/stderr go to files under `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "osmose_dagster.cli", *args],
        env=env_for(home, **extra),
        stdout=(logs / "stdout").open("w"),
        stderr=(logs / "stderr").open("w"),
        cwd=REPO_ROOT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> int:
    """SIGKILL the process and everything in its group; returns its exit status."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout=60)


def wait_until(condition, process: subprocess.Popen, timeout: float, what: str, poll: float = 0.02):
    """Poll `condition()` until true; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended (exit {process.returncode}) before {what}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def asset_file(home: Path, asset: str, key: str, suffix: str = ".json") -> Path:
    """Where ReadableFileIOManager stores one partition's value (defs/io_manager.py)."""
    return home / "assets" / asset / (quote(key, safe="") + suffix)


def mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def store_file(home: Path) -> Path:
    """A file of the embedded store that each point write changes: the Qdrant Edge shard's
    id tracker (`mutable_id_tracker.versions`, appended to for every point written)."""
    from osmose_dagster.core.index.edge import shard_path
    from osmose_dagster.core.index.store import collection_name_for

    shard = shard_path(home / "qdrant", collection_name_for(MODEL))
    found = sorted(shard.glob("segments/*/mutable_id_tracker.versions"), key=mtime)
    return found[-1] if found else shard / "no-segment-yet"


def points_by_document(home: Path, lock_timeout_s: float = 10) -> dict[str, dict[str, dict]]:
    """{document: {point id: payload}} read from the embedded store (which must open: a dead
    process holds no lock). Points without a `document` payload are listed under None."""
    from osmose_dagster.core.index.store import IndexLocation, collection_name_for, open_index

    location = IndexLocation(
        collection=collection_name_for(MODEL), path=home / "qdrant", lock_timeout_s=lock_timeout_s
    )
    found: dict = {}
    with open_index(location) as index:
        if not index.exists():
            return {}
        for pid, payload in index.payloads().items():
            found.setdefault(payload.get("document"), {})[pid] = payload
        assert index.count() == sum(len(p) for p in found.values())
    return found


def chunk_ids(home: Path, key: str) -> list[str]:
    """The point ids the document's stored topic segments call for (core.index.point_id)."""
    from pydantic import TypeAdapter

    from osmose_dagster.core.index.store import point_id
    from osmose_dagster.core.records import SegmentedDeck

    deck = TypeAdapter(SegmentedDeck).validate_json(
        asset_file(home, "topic_segments", key).read_bytes()
    )
    return [point_id(key, chunk) for chunk in deck.chunks]


def write_big_deck(path: Path, slides: int, seed: int) -> Path:
    """A generated deck from bench/workloads.py (deterministic bytes)."""
    from bench.workloads import write_generated_deck

    path.parent.mkdir(parents=True, exist_ok=True)
    write_generated_deck(path, slides, seed=seed)
    return path


def read_logs(logs: Path) -> tuple[str, str]:
    return (logs / "stdout").read_text(), (logs / "stderr").read_text()
