"""Running in production: compute slots, batches of decks per run, processes, run deaths, metrics files, Dagster names."""

from osmose_dagster.core.ops.batches import group_for_runs, ranges_without
from osmose_dagster.core.ops.metrics import (
    RunFigures,
    TickFigures,
    count_run_outcome,
    write_embedding_metrics,
    write_run_metrics,
    write_tick_metrics,
)
from osmose_dagster.core.ops.processes import (
    StallWatch,
    kill_tree,
    process_facts,
    same_process,
    stall_message,
)
from osmose_dagster.core.ops.run_deaths import VANISHED, Death, death_from_messages, summary
from osmose_dagster.core.ops.slots import (
    compute_slots,
    hold_slot,
    is_gpu_slot,
    least_busy_slot,
    spread_over_slots,
)

__all__ = [
    "VANISHED",
    "Death",
    "RunFigures",
    "StallWatch",
    "TickFigures",
    "compute_slots",
    "count_run_outcome",
    "death_from_messages",
    "group_for_runs",
    "hold_slot",
    "is_gpu_slot",
    "kill_tree",
    "least_busy_slot",
    "process_facts",
    "ranges_without",
    "same_process",
    "spread_over_slots",
    "stall_message",
    "summary",
    "write_embedding_metrics",
    "write_run_metrics",
    "write_tick_metrics",
]
