"""Run figures as a Prometheus text file, for node-exporter's textfile collector."""

from __future__ import annotations

import os
from pathlib import Path


def write_textfile(
    path: Path, gauges: dict[str, tuple[str, float]], labels: dict[str, str]
) -> None:
    """Replace `path` atomically with one gauge per entry: name -> (help text, value).

    node-exporter may read the file at any moment, so it is written beside and renamed.
    """
    label_text = ",".join(f'{key}="{_escape(value)}"' for key, value in sorted(labels.items()))
    lines = []
    for name, (help_text, value) in gauges.items():
        lines += [
            f"# HELP {name} {help_text}",
            f"# TYPE {name} gauge",
            f"{name}{{{label_text}}} {value:g}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(path)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
    """The last run's embedding figures, one file per device so concurrent runs never clash."""
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
