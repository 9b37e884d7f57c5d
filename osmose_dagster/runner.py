"""Materialize document partitions through Dagster from a plain process (the `osmose` CLI).

Each document is its own run (recorded in the Dagster instance, visible in the UI), executed in
this process one after another, so the model is loaded once for all of them and a bad deck
fails only its own run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .core.settings import Settings
from .run_results import check_results, first_failure, metadata_by_asset

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
# A failed run is reported by the caller in one line; Dagster's console logger would add a stack
# trace on stderr for every failed step (the run's event log keeps everything either way).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
DEBUG_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass
class DocumentOutcome:
    document: str
    file: str
    run_id: str
    success: bool
    metadata: dict = field(default_factory=dict)  # asset name -> {metadata key: value}
    checks: dict = field(default_factory=dict)  # asset check name -> passed
    error: str | None = None


def ensure_dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME as set, or a private one under OSMOSE_HOME (with the project's dagster.yaml).

    Dagster itself reads DAGSTER_HOME from the environment, so it is set for this process."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists() and PROJECT_DAGSTER_YAML.exists():
        shutil.copyfile(PROJECT_DAGSTER_YAML, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(settings: Settings):
    from dagster import DagsterInstance

    ensure_dagster_home(settings)
    return DagsterInstance.get()


def materialize_documents(
    keys: list[str], settings: Settings, on_start=None, debug: bool = False
) -> list[DocumentOutcome]:
    from .definitions import build_definitions
    from .defs.partitions import DOCUMENTS, documents

    defs = build_definitions(settings)
    instance = get_instance(settings)
    known = set(documents.get_partition_keys(dynamic_partitions_store=instance))
    missing = [key for key in dict.fromkeys(keys) if key not in known]
    if missing:
        instance.add_dynamic_partitions(DOCUMENTS, missing)
    job = defs.resolve_job_def("ingest_documents")
    outcomes = []
    for key in keys:
        if on_start:
            on_start(key)
        result = job.execute_in_process(
            partition_key=key,
            instance=instance,
            raise_on_error=False,
            run_config=DEBUG_RUN_CONFIG if debug else QUIET_RUN_CONFIG,
            tags={"osmose/launched_by": "cli"},
        )
        outcomes.append(
            DocumentOutcome(
                document=key,
                file=Path(key).name,
                run_id=result.run_id,
                success=result.success,
                metadata=metadata_by_asset(result.all_events),
                checks=check_results(result.all_events),
                error=None if result.success else _failure_message(result),
            )
        )
    return outcomes


def _failure_message(result) -> str:
    failure = first_failure(result.all_events)
    if "Nonexistent partition key" in failure.message:  # the sensor deleted it mid-run
        partition = result.dagster_run.tags.get("dagster/partition", "the document")
        return (
            f"{partition}: removed from the inbox while its run was in flight; nothing was indexed"
        )
    return failure.message


def remove_documents(keys: list[str], settings: Settings) -> dict[str, int]:
    """Delete each document's points, its partition and its inbox file; returns points removed."""
    from .core.errors import DocumentNotFoundError
    from .core.inbox_files import locate
    from .core.index import index_location, open_index
    from .defs.partitions import DOCUMENTS

    removed = {}
    with open_index(index_location(settings)) as index:
        for key in keys:
            removed[key] = index.delete_document(key)
    instance = get_instance(settings)
    for key in keys:
        if instance.has_dynamic_partition(DOCUMENTS, key):
            instance.delete_dynamic_partition(DOCUMENTS, key)
        try:
            locate(settings.inbox, key)  # refuses keys that would leave the inbox
        except DocumentNotFoundError:
            continue
        # The inbox entry itself: where it is a link, the link goes, never the file it points to.
        (settings.inbox / key).unlink()
    return removed
