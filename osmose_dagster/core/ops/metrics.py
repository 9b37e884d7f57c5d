"""The project's figures as Prometheus text files, for node-exporter's textfile collector.

Three kinds of file, all under OSMOSE_METRICS_DIR, each replaced atomically (node-exporter may
read one at any moment) and bounded in number and in series (labels are slots, devices, models,
stages and error classes; never a document):
- `osmose_embedding_<device>.prom`: written by a run while it encodes (its running totals);
- `osmose_run_slot_<slot>.prom`: the last finished run of each compute slot (written by the
  run-status sensors: texts/s, stage seconds, the device it used against the slot it was given);
- `osmose_inbox.prom`: the drop-folder sensor's tick (decks waiting, runs per slot and state,
  documents indexed, the last successful ingest);
- `osmose_runs_total.prom`: counters of finished runs, and of failures by error class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.parser import text_string_to_metric_families

Labels = Mapping[str, str]

INBOX_FILE = "osmose_inbox.prom"
RUNS_TOTAL_FILE = "osmose_runs_total.prom"


@dataclass(frozen=True)
class Metric:
    """One metric family as our files expose it: `name` is the exposed name, a counter's
    included (it ends in `_total`); every sample of a family has the same label names."""

    name: str
    help: str
    samples: list[tuple[Labels, float]]
    kind: str = "gauge"  # or "counter"

    def family(self) -> Family:
        label_names = sorted(self.samples[0][0]) if self.samples else []
        family: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            if not self.name.endswith("_total"):  # prometheus_client would add the suffix
                raise ValueError(f"counter {self.name} must end in _total")
            family = CounterMetricFamily(self.name, self.help, labels=label_names)
        elif self.kind == "gauge":
            family = GaugeMetricFamily(self.name, self.help, labels=label_names)
        else:
            raise ValueError(f"{self.name}: unknown metric kind {self.kind!r}")
        for labels, value in self.samples:
            if sorted(labels) != label_names:
                raise ValueError(f"{self.name}: label names {sorted(labels)} != {label_names}")
            family.add_metric([labels[name] for name in label_names], value)
        return family


class _Families:
    """A collector of fixed families: a registry per file, so nothing global is exposed."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._families = [metric.family() for metric in metrics]

    def collect(self) -> Iterator[Family]:
        return iter(self._families)


def _registry(metrics: Iterable[Metric]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(metrics))
    return registry


def render(metrics: Iterable[Metric]) -> str:
    """The metrics in Prometheus' text exposition format."""
    return generate_latest(_registry(metrics)).decode()


def write_metrics(path: Path, metrics: Iterable[Metric]) -> Path:
    """Replace `path` with the metrics: prometheus_client writes them beside it (`NAME.PID.TID`,
    which node-exporter's `*.prom` glob leaves alone), then renames the file over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), _registry(metrics))
    return path


def write_textfile(path: Path, gauges: dict[str, tuple[str, float]], labels: Labels) -> None:
    """One gauge per entry (name -> (help text, value)), all with the same labels."""
    write_metrics(
        path, [Metric(name, text, [(labels, value)]) for name, (text, value) in gauges.items()]
    )


def write_embedding_metrics(
    folder: Path,
    *,
    model: str,
    device: str,
    device_name: str,
    texts: int,
    texts_per_second: float,
    peak_memory_bytes: int,
    finished_at: float,
) -> Path:
    """The running run's embedding figures, one file per device so concurrent runs never clash."""
    path = folder / f"osmose_embedding_{device.replace(':', '_')}.prom"
    write_textfile(
        path,
        {
            "osmose_embedding_texts_per_second": (
                "Texts embedded per second in the last run.",
                texts_per_second,
            ),
            "osmose_embedding_texts": ("Texts embedded in the last run.", texts),
            "osmose_embedding_peak_memory_bytes": (
                "Peak device memory (CUDA allocated, or process RSS on the CPU) in the last run.",
                peak_memory_bytes,
            ),
            "osmose_embedding_last_run_timestamp_seconds": (
                "When the last run finished embedding.",
                finished_at,
            ),
        },
        {"model": model, "device": device, "device_name": device_name},
    )
    return path


@dataclass(frozen=True)
class RunFigures:
    """What one finished run did, for its slot's file."""

    slot: str  # the compute slot it was given ("0", "cpu-0"); "none" for an untagged run
    device: str  # the torch device it encoded on ("cuda:0", "cpu"); "" if it encoded nothing
    model: str
    documents: int
    texts: int
    texts_per_second: float
    peak_memory_bytes: float
    stage_seconds: Mapping[str, float]  # asset name -> seconds its step took
    finished_at: float
    drop_to_index_seconds: float | None = None  # slowest deck, from its drop into the inbox
    points_in_index: int | None = None
    launched_by: str = "none"  # the run's osmose/launched_by tag: sensor, cli, ui, backfill ...


def write_run_metrics(folder: Path, run: RunFigures) -> Path:
    slot = {"slot": run.slot}
    used_cpu = run.device == "cpu"
    metrics = [
        Metric(
            "osmose_run_info",
            "The last finished run of a slot: the device it encoded on, the model and who "
            "launched it (value 1).",
            [
                (
                    {
                        **slot,
                        "device": run.device or "none",
                        "model": run.model,
                        "launched_by": run.launched_by,
                    },
                    1,
                )
            ],
        ),
        Metric(
            "osmose_run_used_cpu",
            "1 when the slot's last run encoded on the CPU (expected only for cpu-N slots).",
            [(slot, 1 if used_cpu else 0)],
        ),
        Metric(
            "osmose_run_documents", "Documents in the slot's last run.", [(slot, run.documents)]
        ),
        Metric("osmose_run_texts", "Texts the slot's last run encoded.", [(slot, run.texts)]),
        Metric(
            "osmose_run_texts_per_second",
            "Texts per second while the slot's last run encoded.",
            [({**slot, "device": run.device or "none"}, run.texts_per_second)],
        ),
        Metric(
            "osmose_run_peak_memory_bytes",
            "Peak device memory of the slot's last run (CUDA allocated, or RSS on the CPU).",
            [(slot, run.peak_memory_bytes)],
        ),
        Metric(
            "osmose_run_stage_seconds",
            "Seconds each step of the slot's last run took.",
            [({**slot, "stage": stage}, seconds) for stage, seconds in run.stage_seconds.items()],
        ),
        Metric(
            "osmose_run_finished_timestamp_seconds",
            "When the slot's last run finished.",
            [(slot, run.finished_at)],
        ),
    ]
    if run.drop_to_index_seconds is not None:
        metrics.append(
            Metric(
                "osmose_ingest_latency_seconds",
                "From a deck's drop into the inbox to its points being searchable: the slowest "
                "deck of the slot's last sensor-started run.",
                [(slot, run.drop_to_index_seconds)],
            )
        )
    if run.points_in_index is not None:
        metrics.append(
            Metric(
                "osmose_index_points",
                "Points in the collection after the slot's last run wrote.",
                [(slot, run.points_in_index)],
            )
        )
    return write_metrics(folder / f"osmose_run_slot_{_file_safe(run.slot)}.prom", metrics)


@dataclass(frozen=True)
class TickFigures:
    """What the drop-folder sensor saw on one tick."""

    decks_known: int  # decks in the inbox the sensor tracks
    decks_waiting: int  # not requested yet: still being written, or left for the next tick
    runs: Mapping[tuple[str, str], int]  # (slot, "queued" | "in_progress") -> runs
    gpu_slots: int  # GPU slots configured (0 on a CPU-only deployment)
    documents: int  # documents (partitions) in the index
    last_success_at: float | None  # when a run last indexed a deck
    at: float
    unreadable: int = 0  # decks or folders that could not be read this tick
    extra: list[Metric] = field(default_factory=list)


def write_tick_metrics(folder: Path, tick: TickFigures) -> Path:
    metrics = [
        Metric(
            "osmose_inbox_decks", "Decks in the inbox the sensor tracks.", [({}, tick.decks_known)]
        ),
        Metric(
            "osmose_inbox_decks_waiting",
            "Decks in the inbox not requested yet: still being written or left for the next tick.",
            [({}, tick.decks_waiting)],
        ),
        Metric(
            "osmose_inbox_unreadable",
            "Decks or folders of the inbox that could not be read on the last tick.",
            [({}, tick.unreadable)],
        ),
        Metric(
            "osmose_runs",
            "Runs per compute slot: queued (waiting for their slot) or in progress.",
            [({"slot": slot, "state": state}, n) for (slot, state), n in sorted(tick.runs.items())],
        ),
        Metric(
            "osmose_gpu_slots",
            "GPU compute slots configured (OSMOSE_GPUS).",
            [({}, tick.gpu_slots)],
        ),
        Metric("osmose_index_documents", "Documents in the index.", [({}, tick.documents)]),
        Metric(
            "osmose_sensor_tick_timestamp_seconds",
            "When the drop-folder sensor last ticked.",
            [({}, tick.at)],
        ),
        *tick.extra,
    ]
    if tick.last_success_at is not None:
        metrics.append(
            Metric(
                "osmose_last_successful_ingest_timestamp_seconds",
                "When a run last indexed a deck.",
                [({}, tick.last_success_at)],
            )
        )
    return write_metrics(folder / INBOX_FILE, metrics)


def count_run_outcome(folder: Path, *, failed: bool, error_classes: Iterable[str] = ()) -> Path:
    """Add one finished run to the counters (and each error class of a failed one).

    Counters live in the file itself, read back before each update: the only writer is the
    code location's sensor process, one tick at a time."""
    path = folder / RUNS_TOTAL_FILE
    finished: dict[str, float] = {}
    failures: dict[str, float] = {}
    if path.exists():
        try:
            for family in text_string_to_metric_families(path.read_text()):
                for sample in family.samples:
                    if sample.name == "osmose_runs_finished_total":
                        finished[sample.labels.get("outcome", "")] = sample.value
                    elif sample.name == "osmose_run_failures_total":
                        failures[sample.labels.get("error_class", "")] = sample.value
        except ValueError:  # not exposition format (edited by hand?): the counters start again
            finished, failures = {}, {}
    outcome = "failed" if failed else "succeeded"
    finished[outcome] = finished.get(outcome, 0) + 1
    finished.setdefault("succeeded", 0)
    finished.setdefault("failed", 0)
    for error_class in error_classes if failed else ():
        failures[error_class] = failures.get(error_class, 0) + 1
    return write_metrics(
        path,
        [
            Metric(
                "osmose_runs_finished_total",
                "Runs of the ingest job that finished, by outcome.",
                [({"outcome": name}, n) for name, n in sorted(finished.items())],
                kind="counter",
            ),
            Metric(
                "osmose_run_failures_total",
                "Failures by error class: a deck that cannot be read counts its own class (a "
                "batch counts each bad deck); a run that died counts RunProcessDied.",
                [({"error_class": name}, n) for name, n in sorted(failures.items())],
                kind="counter",
            ),
        ],
    )


def _file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)
