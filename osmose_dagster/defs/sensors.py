"""The drop-folder sensor: Dagster wiring around core/inbox/scan.py (which holds the logic)."""

import hashlib
import time
from pathlib import Path

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetRecordsFilter,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from osmose_dagster.core.inbox import (
    DeckRequest,
    InboxCursor,
    TickPlan,
    idle_tick_reason,
    list_inbox,
    plan_tick,
)
from osmose_dagster.core.ops import (
    TickFigures,
    compute_slots,
    group_for_runs,
    is_gpu_slot,
    spread_over_slots,
    write_tick_metrics,
)
from osmose_dagster.core.ops.dagster_names import (
    LAUNCHED_BY_TAG,
    QDRANT_INDEX,
    RANGE_END_TAG,
    RANGE_START_TAG,
    RAW_DOCUMENTS,
    SLOT_TAG,
)
from osmose_dagster.core.settings import Settings
from osmose_dagster.defs.assets import SHA256_BY_DOCUMENT
from osmose_dagster.defs.jobs import ingest_documents
from osmose_dagster.defs.partitions import DOCUMENTS, documents
from osmose_dagster.defs.resources import InboxResource, QdrantResource
from osmose_dagster.instance.slot_runs import runs_per_slot, runs_per_slot_and_state

SENSOR_INTERVAL_S = 15
# A tick may run 60 s, whatever the inbox holds. Each cap leaves the rest to the next tick:
MAX_RUNS_PER_TICK = 1000  # Dagster's check of a tick's run requests grows with their square
HASHING_BUDGET_S = 15.0  # reading new or changed decks (10,000 real decks are many GB)
REMOVAL_LOCK_WAIT_S = 15.0  # waiting for the embedded store to delete a removed deck's points
KEYS_LOGGED_PER_LINE = 20


def build_inbox_sensor(settings: Settings) -> SensorDefinition:
    """The drop-folder sensor, with this deployment's settings (read once, when the code location
    loads: OSMOSE_STABLE_SECONDS, OSMOSE_DECKS_PER_RUN, OSMOSE_GPUS, OSMOSE_ALLOW_MASS_REMOVAL)."""

    @sensor(
        name="ingest_new_decks",
        job=ingest_documents,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Watches the inbox: a new deck adds its partition and requests its run (new decks "
            "found together share runs of up to OSMOSE_DECKS_PER_RUN), a changed deck (content "
            "hash) requests a new run, a removed deck loses its partition and its points. "
            "Decks still being written wait until they hold still (OSMOSE_STABLE_SECONDS). An "
            "emptied inbox, or most decks gone at once, removes nothing unless "
            "OSMOSE_ALLOW_MASS_REMOVAL=1."
        ),
    )
    def ingest_new_decks(
        context: SensorEvaluationContext, inbox: InboxResource, qdrant: QdrantResource
    ) -> SensorResult:
        return _tick(context, settings, inbox, qdrant)

    return ingest_new_decks


def _tick(
    context: SensorEvaluationContext,
    settings: Settings,
    inbox: InboxResource,
    qdrant: QdrantResource,
) -> SensorResult:
    cursor = InboxCursor.from_json(context.cursor)
    listing = list_inbox(Path(inbox.path), known_keys=cursor.decks)
    plan = plan_tick(
        listing,
        cursor,
        now_ns=time.time_ns(),
        stable_seconds=settings.stable_seconds,
        max_requests=MAX_RUNS_PER_TICK,
        hashing_budget_s=HASHING_BUDGET_S,
        allow_mass_removal=settings.allow_mass_removal,
    )
    _log_problems(context, plan)
    if plan.deferred:
        context.log.info(
            f"{len(plan.deferred)} stable deck(s) left for the next tick (at most "
            f"{MAX_RUNS_PER_TICK} runs and {HASHING_BUDGET_S:.0f} s of reading per tick)"
        )
    removed, not_removed = _delete_points(context, plan, qdrant)
    already_indexed = [r.key for r in plan.requests if _already_indexed(context, r)]
    run_requests = _run_requests(
        context,
        [r for r in plan.requests if r.key not in already_indexed],
        decks_per_run=settings.decks_per_run,
        slots=compute_slots(settings.gpus),
    )
    partition_requests: list[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] = []
    if plan.requests:  # existing keys are skipped by Dagster; adding each keeps runs resolvable
        partition_requests.append(documents.build_add_request([r.key for r in plan.requests]))
    if removed:
        partition_requests.append(documents.build_delete_request(removed))
    _write_tick_metrics(context, settings, plan)
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        cursor=plan.cursor_keeping(not_removed).to_json(),
        skip_reason=None
        if run_requests
        else idle_tick_reason(
            Path(inbox.path),
            listing,
            plan,
            stable_seconds=settings.stable_seconds,
            removed=removed,
            already_indexed=already_indexed,
        ),
    )


def _write_tick_metrics(
    context: SensorEvaluationContext, settings: Settings, plan: TickPlan
) -> None:
    """The tick's figures for Prometheus; a metrics folder that cannot be written costs a
    warning, never the tick."""
    instance = context.instance
    slots = compute_slots(settings.gpus)
    known = set(instance.get_dynamic_partitions(DOCUMENTS))
    indexed = instance.get_materialized_partitions(AssetKey(QDRANT_INDEX)) & known
    latest = instance.fetch_materializations(AssetKey(QDRANT_INDEX), limit=1).records
    figures = TickFigures(
        decks_known=len(plan.cursor.decks),
        decks_waiting=len(plan.waiting) + len(plan.deferred),
        runs=runs_per_slot_and_state(instance, slots),
        gpu_slots=sum(is_gpu_slot(slot) for slot in slots),
        # Decks indexed and still in the inbox (this tick's removals are applied after it).
        documents=len(indexed - set(plan.removed)),
        last_success_at=latest[0].timestamp if latest else None,
        at=time.time(),
        unreadable=len(plan.errors),
    )
    try:
        write_tick_metrics(settings.metrics_dir, figures)
    except OSError as error:
        context.log.warning(f"could not write the metrics to {settings.metrics_dir}: {error}")


def _run_requests(
    context: SensorEvaluationContext,
    requests: list[DeckRequest],
    decks_per_run: int,
    slots: list[str],
) -> list[RunRequest]:
    """New decks found together go in batched runs (partition ranges: the model is loaded once
    per batch); a changed deck, whose partition sits among older ones, gets a run of its own."""
    if not requests:
        return []
    busy = runs_per_slot(context.instance, slots)
    for kind, keys in (
        ("new", [r.key for r in requests if r.new]),
        ("changed", [r.key for r in requests if not r.new]),
    ):
        if keys:
            context.log.info(f"requesting runs for {len(keys)} {kind} deck(s): {_some(keys)}")
    # Keys that are partitions already keep their place in the partition order: no range.
    known = set(context.instance.get_dynamic_partitions(DOCUMENTS))
    fresh = {r.key: r for r in requests if r.new and r.key not in known}
    groups = group_for_runs(list(fresh), decks_per_run, len(slots))
    units = [[fresh[key] for key in group] for group in groups]
    units += [[r] for r in requests if r.key not in fresh]
    chosen = spread_over_slots(len(units), slots, busy)
    return [_run_request(unit, slot) for unit, slot in zip(units, chosen)]


def _run_request(unit: list[DeckRequest], slot: str) -> RunRequest:
    tags = {SLOT_TAG: slot, LAUNCHED_BY_TAG: "sensor"}
    if len(unit) == 1:
        return RunRequest(partition_key=unit[0].key, run_key=unit[0].run_key, tags=tags)
    digest = hashlib.sha256("\n".join(r.run_key for r in unit).encode()).hexdigest()[:16]
    return RunRequest(
        run_key=f"batch:{unit[0].key}:{len(unit)}:{digest}",
        tags={**tags, RANGE_START_TAG: unit[0].key, RANGE_END_TAG: unit[-1].key},
    )


def _already_indexed(context: SensorEvaluationContext, request: DeckRequest) -> bool:
    """This exact content was indexed already: by `osmose ingest`, the UI, or before the cursor
    was reset. Re-running it would only spend GPU time to change nothing."""
    if not context.instance.has_dynamic_partition(DOCUMENTS, request.key):
        # Removed from the index (its partition deleted with its points) and put back: the
        # records of its last run are still there, its points are not. Index it again.
        return False
    raw = _latest_materialization(context.instance, RAW_DOCUMENTS, request.key)
    if raw is None:
        return False
    if _indexed_sha256(raw.asset_materialization.metadata, request.key) != request.sha256:
        return False
    indexed = _latest_materialization(context.instance, QDRANT_INDEX, request.key)
    if indexed is None or indexed.storage_id < raw.storage_id:
        return False
    context.log.info(f"{request.key}: this content is already indexed; no run needed")
    return True


def _indexed_sha256(metadata, key: str) -> str | None:
    """The hash `raw_documents` recorded for the deck: its own run's, or its batch's entry."""
    if "sha256" in metadata:
        return metadata["sha256"].value
    if SHA256_BY_DOCUMENT in metadata:
        return metadata[SHA256_BY_DOCUMENT].value.get(key)
    return None


def _latest_materialization(instance, asset: str, partition: str):
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _delete_points(
    context: SensorEvaluationContext, plan: TickPlan, qdrant: QdrantResource
) -> tuple[list[str], list[str]]:
    """Delete the points of removed decks; returns (removed keys, keys to retry next tick)."""
    keys = sorted(plan.removed)
    if not keys:
        return [], []
    location = qdrant.location()
    done: list[str] = []
    try:
        with qdrant.open_index(lock_timeout_s=REMOVAL_LOCK_WAIT_S) as index:
            for key in keys:
                points = index.delete_document(key)
                done.append(key)
                context.log.info(
                    f"removed {key}: no longer in the inbox; {points} point(s) deleted from "
                    f"{location.describe()}, partition deleted"
                )
    except Exception as error:  # store busy or unreachable: not this tick's other work's fault
        context.log.warning(
            f"could not delete the points of {len(keys) - len(done)} removed deck(s) "
            f"({error}); retrying next tick"
        )
    return done, [key for key in keys if key not in done]


def _log_problems(context: SensorEvaluationContext, plan: TickPlan) -> None:
    for path, why in plan.skipped.items():
        context.log.warning(f"skipped {path}: {why}")
    for key, why in plan.errors.items():
        context.log.warning(f"{key}: {why}")
    if plan.held_back:  # on every tick it lasts: the index and the inbox disagree meanwhile
        context.log.warning(f"removal held back: {plan.held_back}")


def _some(keys: list[str]) -> str:
    shown = ", ".join(keys[:KEYS_LOGGED_PER_LINE])
    more = len(keys) - KEYS_LOGGED_PER_LINE
    return shown + (f" and {more} more" if more > 0 else "")
