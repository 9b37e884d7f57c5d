"""The Prometheus text files: valid exposition format (checked by Debian's promtool where it is
installed), counters that add up across writers' calls, and a bounded number of files."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from osmose_dagster.core.ops.metrics import (
    RunFigures,
    TickFigures,
    count_run_outcome,
    write_run_metrics,
    write_tick_metrics,
)


def _run(slot: str, device: str, texts: int) -> RunFigures:
    return RunFigures(
        slot=slot,
        device=device,
        model='all-MiniLM-L6-v2 "quoted"\\',
        documents=2,
        texts=texts,
        texts_per_second=123.4,
        peak_memory_bytes=2.5e9,
        stage_seconds={"extracted_slides": 0.5, "topic_segments": 3.25},
        finished_at=1_764_000_000.5,
        drop_to_index_seconds=21.0,
        points_in_index=40,
    )


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_counters_add_up_over_calls_by_outcome_and_error_class(tmp_path):
    count_run_outcome(tmp_path, failed=False)
    count_run_outcome(tmp_path, failed=True, error_classes=["NotAPresentationError"] * 2)
    count_run_outcome(tmp_path, failed=True, error_classes=["RunProcessDied"])
    samples = _samples((tmp_path / "osmose_runs_total.prom").read_text())
    assert samples == {
        'osmose_runs_finished_total{outcome="failed"}': 2,
        'osmose_runs_finished_total{outcome="succeeded"}': 1,
        'osmose_run_failures_total{error_class="NotAPresentationError"}': 2,
        'osmose_run_failures_total{error_class="RunProcessDied"}': 1,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["osmose_runs_total.prom"]  # no partial left


def test_one_file_per_slot_whatever_the_number_of_runs(tmp_path):
    for texts in range(5):
        write_run_metrics(tmp_path, _run("0", "cuda:0", texts))
    write_run_metrics(tmp_path, _run("cpu-1", "cpu", 7))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "osmose_run_slot_0.prom",
        "osmose_run_slot_cpu-1.prom",
    ]
    gpu = _samples((tmp_path / "osmose_run_slot_0.prom").read_text())
    assert gpu['osmose_run_texts{slot="0"}'] == 4  # the last run's
    assert gpu['osmose_run_used_cpu{slot="0"}'] == 0
    assert gpu['osmose_run_stage_seconds{slot="0",stage="topic_segments"}'] == 3.25
    assert gpu['osmose_run_finished_timestamp_seconds{slot="0"}'] == 1_764_000_000.5
    cpu = _samples((tmp_path / "osmose_run_slot_cpu-1.prom").read_text())
    assert cpu['osmose_run_used_cpu{slot="cpu-1"}'] == 1


def test_files_are_valid_exposition_format(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool missing: scripts/test.sh installs Debian's prometheus")
    write_run_metrics(tmp_path, _run("0", "cuda:0", 10))
    write_tick_metrics(
        tmp_path,
        TickFigures(
            decks_known=3,
            decks_waiting=1,
            runs={("0", "queued"): 2, ("0", "in_progress"): 1},
            gpu_slots=1,
            documents=2,
            last_success_at=1_764_000_000.0,
            at=1_764_000_010.0,
        ),
    )
    count_run_outcome(tmp_path, failed=True, error_classes=["DeckTooLargeError"])
    for path in sorted(tmp_path.glob("*.prom")):
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=path.read_text(), capture_output=True, text=True
        )
        # promtool lints too (e.g. counters named *_total): only errors fail it.
        assert checked.returncode == 0, f"{path.name}: {checked.stdout}{checked.stderr}"


def test_counters_keep_their_names_and_read_back_escaped_labels(tmp_path):
    # prometheus_client renders and parses: no `_created` series beside the counters, and a
    # label value with quotes and backslashes comes back as it was (not escaped once more).
    odd = 'Weird "class"\\x'
    for _ in range(3):
        count_run_outcome(tmp_path, failed=True, error_classes=[odd])
    text = (tmp_path / "osmose_runs_total.prom").read_text()
    assert "_created" not in text
    assert "# TYPE osmose_run_failures_total counter" in text
    assert _samples(text)['osmose_run_failures_total{error_class="Weird \\"class\\"\\\\x"}'] == 3
