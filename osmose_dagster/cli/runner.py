"""Materialize document partitions through Dagster from a plain process (the `osmose` CLI).

Decks run in batches (one Dagster run per batch, recorded in the instance and visible in the UI),
executed in this process one after another, so the model is loaded once for all of them; a bad
deck fails only itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from osmose_dagster.core.ops import ranges_without
from osmose_dagster.core.ops.dagster_names import (
    LAUNCHED_BY_TAG,
    PARTITION_TAG,
    QDRANT_INDEX,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SPLIT_FROM_TAG,
)
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.assets import BY_DOCUMENT
from osmose_dagster.defs.run_results import (
    check_results,
    first_failure,
    metadata_by_asset,
    unreadable_documents,
)

REMOVED_IN_FLIGHT = "removed from the inbox while its run was in flight; nothing was indexed"
CHANGED_IN_FLIGHT = "removed or replaced in the inbox while its run was in flight; not indexed"
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
    """DAGSTER_HOME as set, or a private one under OSMOSE_HOME (its dagster.yaml a link to
    osmose's local one; see instance/home.py).

    Dagster itself reads DAGSTER_HOME from the environment, so it is set for this process."""
    from osmose_dagster.instance.home import prepare_dagster_home

    home = settings.dagster_home
    note = prepare_dagster_home(home)
    if note and settings.dagster_home_override is None:  # a DAGSTER_HOME set on purpose is theirs
        print(f"note: {note}", file=sys.stderr)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(settings: Settings):
    from dagster import DagsterInstance

    ensure_dagster_home(settings)
    return DagsterInstance.get()


def materialize_documents(
    keys: list[str],
    settings: Settings,
    on_start: Callable[[Sequence[str]], None] | None = None,
    debug: bool = False,
) -> list[DocumentOutcome]:
    """One run per batch of at most OSMOSE_DECKS_PER_RUN decks (a partition range, as the
    scheduled backfill makes), so the model and the index are set up once per batch. Decks a
    batch could not read fail alone: the rest of the batch runs again without them."""
    from osmose_dagster.defs.partitions import DOCUMENTS, documents

    instance = get_instance(settings)
    wanted = list(dict.fromkeys(keys))
    known = set(documents.get_partition_keys(dynamic_partitions_store=instance))
    missing = [key for key in wanted if key not in known]
    if missing:
        instance.add_dynamic_partitions(DOCUMENTS, missing)
    ordered = documents.get_partition_keys(dynamic_partitions_store=instance)
    batch_run = _BatchRunner(settings, instance, on_start, debug)
    outcomes: dict[str, DocumentOutcome] = {}
    for first, last in ranges_without(ordered, wanted, ()):
        span = ordered[ordered.index(first) : ordered.index(last) + 1]
        for start in range(0, len(span), settings.decks_per_run):
            outcomes.update(batch_run(ordered, span[start : start + settings.decks_per_run]))
    return [outcomes[key] for key in wanted]


class _BatchRunner:
    def __init__(self, settings: Settings, instance, on_start, debug: bool) -> None:
        from osmose_dagster.definitions import build_definitions
        from osmose_dagster.defs.jobs import ingest_documents

        self.job = build_definitions(settings).resolve_job_def(ingest_documents.name)
        self.instance, self.on_start = instance, on_start
        self.run_config = DEBUG_RUN_CONFIG if debug else QUIET_RUN_CONFIG

    def __call__(
        self, ordered: Sequence[str], batch: Sequence[str], split_from: str = ""
    ) -> dict[str, DocumentOutcome]:
        if self.on_start:
            self.on_start(batch)
        tags = {LAUNCHED_BY_TAG: "cli", **({SPLIT_FROM_TAG: split_from} if split_from else {})}
        if len(batch) > 1:
            tags |= {RANGE_START_TAG: batch[0], RANGE_END_TAG: batch[-1]}
        result = self.job.execute_in_process(
            partition_key=batch[0] if len(batch) == 1 else None,
            instance=self.instance,
            raise_on_error=False,
            run_config=self.run_config,
            tags=tags,
        )
        metadata = metadata_by_asset(result.all_events)
        checks = check_results(result.all_events)
        bad = unreadable_documents(result.all_events) if len(batch) > 1 else {}
        error = None if result.success or bad else _failure_message(result)
        outcomes = {
            key: DocumentOutcome(
                document=key,
                file=Path(key).name,
                run_id=result.run_id,
                success=result.success,
                metadata=_own_metadata(metadata, key),
                checks=checks,
                error=None if result.success else bad.get(key, error or f"{key}: its batch failed"),
            )
            for key in batch
        }
        if result.success and len(batch) > 1:
            written = metadata.get(QDRANT_INDEX, {}).get(BY_DOCUMENT) or {}
            for key in set(batch) - set(written):  # removed or replaced while the run read it
                outcomes[key].success = False
                outcomes[key].error = f"{key}: {CHANGED_IN_FLIGHT}"
        if bad:  # the others run again without the decks that could not be read
            for first, last in ranges_without(ordered, batch, bad):
                span = ordered[ordered.index(first) : ordered.index(last) + 1]
                outcomes.update(self(ordered, span, split_from=result.run_id))
        return outcomes


def _own_metadata(metadata: dict[str, dict], key: str) -> dict[str, dict]:
    """A document's figures in a batch run: its own where the batch lists them per document
    (BY_DOCUMENT), the batch's otherwise (model, device, encoding speed)."""
    own: dict[str, dict] = {}
    for asset, values in metadata.items():
        by_document = values.get(BY_DOCUMENT) or {}
        rest = {name: value for name, value in values.items() if name != BY_DOCUMENT}
        own[asset] = {**rest, **by_document.get(key, {})}
    return own


def _failure_message(result) -> str:
    failure = first_failure(result.all_events)
    if "Nonexistent partition key" in failure.message:  # the sensor deleted it mid-run
        partition = result.dagster_run.tags.get(PARTITION_TAG, "the document")
        return f"{partition}: {REMOVED_IN_FLIGHT}"
    return failure.message


def remove_documents(keys: list[str], settings: Settings) -> dict[str, int]:
    """Delete each document's points, its partition and its inbox file; returns points removed."""
    from osmose_dagster.core.errors import DocumentNotFoundError
    from osmose_dagster.core.inbox.files import locate
    from osmose_dagster.core.index import index_location, open_index
    from osmose_dagster.defs.partitions import DOCUMENTS

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
