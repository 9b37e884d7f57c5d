"""Shared by the killed-run tests and bench/soak.py: the index read back as a user would check it
(point ids per document), the same decks ingested afresh for comparison, and the run processes of
a real deployment found and killed the way the kernel's OOM killer would (SIGKILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, DagsterRun

from osmose_dagster.core.index.store import index_location, open_index
from osmose_dagster.core.settings import Settings
from osmose_dagster.instance.health import recorded_run_process

REPO_ROOT = Path(__file__).resolve().parents[2]


def index_points(home: Path, lock_timeout_s: float = 300) -> dict[str, set[str]]:
    """{document: its point ids} in the embedded index of the OSMOSE_HOME `home`."""
    settings = Settings.from_env({"OSMOSE_HOME": str(home)})
    location = index_location(settings).with_lock_timeout(lock_timeout_s)
    with open_index(location) as index:
        documents = sorted(index.documents())
        return index.point_ids_by_document(documents) if documents else {}


def fresh_ingest(files: list[Path], home: Path, timeout_s: float = 1800) -> dict[str, set[str]]:
    """The point ids a fresh `osmose ingest` of `files` (keys: their names) gives, in `home`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QDRANT_", "OSMOSE_")) and k != "DAGSTER_HOME"
    }
    env.update(OSMOSE_HOME=str(home), OSMOSE_DEVICE="cpu", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "osmose_dagster.cli", "ingest", *map(str, files), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO_ROOT,
    )
    # Exit 1 with rows: some decks failed (they have no points, in the deployment neither).
    if not done.stdout.strip() or not json.loads(done.stdout)["documents"]:
        raise AssertionError(f"fresh ingest failed: {done.stderr[-2000:]}")
    return index_points(home)


def copy_for_ingest(files: dict[str, Path], folder: Path) -> list[Path]:
    """Copies of decks under the names they have in the inbox (a document's key is its name)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for name, path in files.items():
        shutil.copyfile(path, folder / name)
        copies.append(folder / name)
    return copies


def run_pid(instance: DagsterInstance, run: DagsterRun) -> int | None:
    """The pid of the run's process (Dagster records it when the process starts)."""
    found = recorded_run_process(instance, run.run_id)
    return found[0] if found else None


def kill(pid: int, sig: int = signal.SIGKILL) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
