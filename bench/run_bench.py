"""Issue 6 benchmark: the project through Dagster against the plain script, on generated decks.

    .venv/bin/python -m bench.run_bench --repeat 3            # every row (resumes, see below)
    .venv/bin/python -m bench.run_bench --quick               # smoke test: rows a and b, once
    .venv/bin/python -m bench.run_bench --rows a,b --repeat 3 --budget 540
    .venv/bin/python -m bench.run_bench --table                # the stored measurements only

Rows (each measurement is a fresh process, timed from outside by bench/measure.py):
  a           the plain script (bench/plain_script.py) on the 230-slide deck
  b           the project on the 230-slide deck: `osmose ingest DECK` (one Dagster run,
              execute_in_process, in a fresh OSMOSE_HOME and DAGSTER_HOME)
  c-plain     the plain script's loop over the 50 decks, model loaded once
  c-cli       `osmose ingest` of the 50 decks: one process, one run per OSMOSE_DECKS_PER_RUN decks
  c-backfill  the runs a backfill of the 50 decks makes under BackfillPolicy.multi_run(25): one
              `dagster job execute` process per batch of 25 partitions (the partition-range tags
              the backfill daemon puts on its runs), one after the other as one compute slot
              allows; the daemon's own scheduling latency is not included
  b-sensor    the 230-slide deck dropped into the inbox of a real deployment (dagster-daemon,
              the drop-folder sensor, the run queue, a run process launched by the daemon)
  c-sensor    the same with the 50 decks: the sensor puts the decks it finds in one tick in
              runs of up to OSMOSE_DECKS_PER_RUN (--backfill-batch), one at a time per slot
  c-daemon-backfill  the 50 decks as one asset backfill submitted to the same deployment (as
              the UI's backfill dialog does): the daemon makes runs of 25 partitions
  Daemon rows are timed from the drop (or the submission) to the end of the last run; the
  daemon's own start is not timed, and their peak RSS is the largest run's own figure.

Columns: texts embedded; seconds of model load, extract, segment, embed, index (plain: the
script's own timers; project: STEP_START to STEP_SUCCESS of each step from the run's event log,
summed over the runs of the measurement: extract = raw_documents + extracted_slides, segment =
topic_segments less the model load it contains, embed = embeddings, index = qdrant_index; load
= importing torch and sentence-transformers and loading the model: in the plain script from its
start to the model being ready; in a run, from topic_segments' inputs being loaded to the
embedder resource's "model ... loaded" line, summed over runs, which in a later run of the same
process is only the slot lock and the cached model); other = wall less those
(interpreter start, imports, Dagster's definitions, instance and per-run work); wall = the whole
process (or processes) from spawn to exit; cpu = user + system seconds of the process tree; peak
RSS = ru_maxrss of RUSAGE_CHILDREN in the wrapper (the largest single process); x plain = wall
over the plain row's on the same decks, x plain cpu = the same for cpu seconds. Each cell is the
median over the measurements.

Every measurement is appended to --results (JSON lines). A later invocation with the same
workload and settings reuses them and only adds what is missing up to --repeat, so a full table
can be filled in several invocations (--budget stops starting new measurements after that many
seconds); --fresh ignores earlier measurements.

Timings depend on the machine and on what else runs on it: on a shared box, compare rows measured
at the same time (each record keeps the 1-minute load average), not tables of different days.
`cpu s` helps tell contention from work, but it is not load-proof either: torch's worker threads
spin while they wait, so a busy machine lowers it and an idle one raises it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

from bench.workloads import describe, workload_specs, write_workload  # noqa: E402

PYTHON = sys.executable
JOB = "ingest_documents"
STAGES = ["load", "extract", "segment", "embed", "index"]
FIVE_ASSETS = ["raw_documents", "extracted_slides", "topic_segments", "embeddings", "qdrant_index"]
BENCH_VERSION = 3  # bump when a column's definition changes: older measurements are not reused
LOADED = re.compile(r"loaded in ([0-9.]+)s")

ROWS = {
    "a": ("plain script, 230-slide deck", "big", "plain", None),
    "b": ("osmose ingest (1 Dagster run), 230-slide deck", "big", "cli", "a"),
    "b-sensor": ("drop folder + sensor + daemon (1 run), 230-slide deck", "big", "sensor", "a"),
    "c-plain": ("plain script loop, model loaded once", "many", "plain", None),
    "c-cli": ("osmose ingest: 1 process, 1 run per batch of decks", "many", "cli", "c-plain"),
    "c-backfill": ("backfill runs: 1 process per {batch} decks", "many", "backfill", "c-plain"),
    "c-daemon-backfill": (
        "asset backfill launched by the daemon ({batch} decks per run)",
        "many",
        "daemon-backfill",
        "c-plain",
    ),
    "c-sensor": ("drop folder + sensor + daemon (batched runs)", "many", "sensor", "c-plain"),
}
DAEMON_KINDS = ("sensor", "daemon-backfill")


# --------------------------------------------------------------------------- measurements


def measure(command: list[str], folder: Path, env: dict | None = None) -> dict:
    """One fresh wrapper process per measurement (its RUSAGE_CHILDREN is this command only)."""
    result = folder / f"measure-{time.monotonic_ns()}.json"
    subprocess.run(
        [PYTHON, str(BENCH / "measure.py"), str(result), "--cwd", str(REPO), "--", *command],
        env=env,
        check=True,
    )
    data = json.loads(result.read_text())
    if data["rc"] != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} ... exited {data['rc']}:\n{data['stderr_tail']}"
        )
    return data


def measure_plain(decks: list[Path], folder: Path, args) -> dict:
    data = measure(
        [
            PYTHON,
            str(BENCH / "plain_script.py"),
            "--json",
            "--device",
            args.device,
            "--chunking",
            args.chunking,
            *map(str, decks),
        ],
        folder,
    )
    inner = json.loads(data["stdout"].strip().splitlines()[-1])
    stages = inner["stages_s"]
    return {
        "wall_s": data["wall_s"],
        "cpu_s": data["cpu_s"],
        "peak_rss_mib": data["peak_rss_mib"],
        **{s: stages[s] for s in STAGES},
        "load": round(stages["imports"] + stages["load"], 3),  # as the project's: imports included
        "imports": stages["imports"],
        "model_load": stages["load"],
        "texts": inner["texts_embedded"],
        "characters": inner["characters_embedded"],
        "slides": inner["slides"],
        "points": inner["points"],
    }


def osmose_command() -> list[str]:
    """The installed `osmose` script, else the same entry point run from the checkout (the GPU
    machine uses the project through PYTHONPATH, uninstalled)."""
    script = Path(PYTHON).parent / "osmose"
    return [str(script)] if script.exists() else [PYTHON, "-m", "osmose_dagster.cli"]


def project_env(home: Path, args) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OSMOSE_", "QDRANT_"))}
    env.update(
        OSMOSE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        OSMOSE_DEVICE=args.device,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    return env


def measure_project(kind: str, decks: list[Path], folder: Path, args) -> dict:
    if kind in DAEMON_KINDS:
        return measure_daemon(kind, decks, folder, args)
    home = folder / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(
        REPO / "osmose_dagster" / "instance" / "dagster.yaml", dagster_home / "dagster.yaml"
    )
    create_instance(dagster_home)
    env = project_env(home, args)
    calls = []
    if kind == "cli":
        calls.append([*osmose_command(), "ingest", "--json", *map(str, decks)])
    elif kind == "backfill":
        calls = backfill_calls(decks, home, dagster_home, args.backfill_batch)
    else:
        raise ValueError(kind)
    done = [measure(call, folder, env) for call in calls]
    return {
        **summarize_runs(read_runs(dagster_home)),
        "wall_s": round(sum(d["wall_s"] for d in done), 3),
        "cpu_s": round(sum(d["cpu_s"] for d in done), 3),
        "peak_rss_mib": max(d["peak_rss_mib"] for d in done),
        "processes": len(calls),
    }


def create_instance(dagster_home: Path) -> None:
    """A deployment's instance (SQLite files, schema migrations) exists before any run: its
    one-off creation is not part of a run's cost, so it happens before the clock starts."""
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        instance.get_runs(limit=1)
    finally:
        instance.dispose()


def summarize_runs(runs: list[dict]) -> dict:
    """The runs' stage seconds (summed), texts encoded, and model load, from their event logs."""
    failed = [r for r in runs if r["status"] != "SUCCESS"]
    if failed or not runs:
        raise RuntimeError(f"run(s) did not succeed: {failed or 'no runs'}")
    steps: dict[str, float] = {}
    for run in runs:
        for step, seconds in run["steps"].items():
            steps[step] = steps.get(step, 0.0) + seconds
    load = sum(r["load_s"] for r in runs)  # imports + model load in a process's first run
    slides = sum(r["slides_encoded"] for r in runs)
    chunks = sum(r["chunks_encoded"] for r in runs)
    return {
        "load": round(load, 3),
        "extract": round(steps.get("raw_documents", 0) + steps.get("extracted_slides", 0), 3),
        "segment": round(steps.get("topic_segments", 0) - load, 3),
        "embed": round(steps.get("embeddings", 0), 3),
        "index": round(steps.get("qdrant_index", 0), 3),
        "texts": slides + chunks,
        "slide_texts": slides,
        "chunk_texts": chunks,
        "slides": sum(r["slides"] for r in runs),
        "chunks": sum(r["chunks"] for r in runs),
        "vectors_reused": sum(r["vectors_reused"] for r in runs),
        "runs": len(runs),
        "run_overhead_s": round(sum(r["run_s"] - sum(r["steps"].values()) for r in runs), 3),
        "slide_encode_texts_per_s": _rate(slides, sum(r["encoding_seconds"] for r in runs)),
    }


def measure_daemon(kind: str, decks: list[Path], folder: Path, args) -> dict:
    """A real local deployment: `dagster-daemon` on the repo's dagster.yaml and workspace, with
    the default run launcher (each run its own process). `sensor`: the decks are copied into the
    drop folder and the drop-folder sensor requests one run per deck. `daemon-backfill`: the decks'
    partitions are added and one asset backfill of the five assets is submitted, as the UI's
    backfill dialog does; the backfill daemon makes runs of --backfill-batch partitions.

    The clock runs from the drop (or the submission) to the end of the last run: a deployment is
    long-lived, so the daemon's start is not timed. Peak RSS is the largest run process's, as
    the run itself reports it (the `embeddings` step's peak_memory_mib); cpu is not measured.
    """
    from tests.support.deployment import (  # the test suite's real deployment helper
        Deployment,
        wait_for,
    )

    idle = {"OSMOSE_REINDEX_CRON": "0 0 1 1 *"}  # the scheduled re-index stays out of the way
    if kind == "daemon-backfill":
        idle["OSMOSE_STABLE_SECONDS"] = "1e9"  # so does the drop-folder sensor
    deployment = Deployment(
        folder, OSMOSE_DEVICE=args.device, OSMOSE_DECKS_PER_RUN=str(args.backfill_batch), **idle
    )
    create_instance(deployment.dagster_home)
    deployment.start_daemon()
    try:
        instance = deployment.instance()
        wait_for(
            lambda: _sensor_ticked(instance, "ingest_new_decks"), 300, "the sensor's first tick"
        )
        for deck in decks:
            shutil.copyfile(deck, deployment.inbox / deck.name)
        started = time.time()
        if kind == "daemon-backfill":
            submit_backfill(instance, [deck.name for deck in decks])
        timeout = 600 + 60 * len(decks)
        names = [deck.name for deck in decks] if kind == "sensor" else None
        wait_for(
            lambda: _all_finished(deployment, names),
            timeout,
            f"the runs of {len(decks)} deck(s)",
            interval_s=0.5,
        )
        records = deployment.finished_runs()
        ended = max(r.end_time for r in records)
        runs = read_runs(deployment.dagster_home)
    except BaseException:
        print(deployment.log_tail("daemon"), file=sys.stderr)
        raise
    finally:
        deployment.stop()
    return {
        **summarize_runs(runs),
        "wall_s": round(ended - started, 3),
        "cpu_s": None,
        "peak_rss_mib": max(r["peak_memory_mib"] for r in runs),
        "processes": len(runs),
    }


def submit_backfill(instance, partitions: list[str]) -> None:
    from dagster import AssetKey
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from osmose_dagster.definitions import defs

    instance.add_dynamic_partitions("documents", partitions)
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id=make_new_backfill_id(),
            asset_graph=defs.resolve_asset_graph(),
            partition_names=partitions,
            asset_selection=[AssetKey(name) for name in FIVE_ASSETS],
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title="bench",
            description=None,
            run_config=None,
        )
    )


def _sensor_ticked(instance, name: str) -> bool:
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == name:
            return bool(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1))
    return False


def _all_finished(deployment, documents: list[str] | None) -> bool:
    """Every run ended (a failure stops the measurement); with documents, each one indexed (the
    sensor puts decks it finds together in batched runs), else every backfill completed."""
    from dagster import DagsterRunStatus

    records = deployment.runs()
    failed = [
        r.dagster_run.run_id for r in records if r.dagster_run.status == DagsterRunStatus.FAILURE
    ]
    if failed:
        raise RuntimeError(f"run(s) failed: {failed}")
    if not records or any(not r.dagster_run.is_finished for r in records):
        return False
    if documents is not None:
        return all(deployment.indexed_since(key) for key in documents)
    backfills = deployment.instance().get_backfills()
    return bool(backfills) and all(b.status.value.startswith("COMPLETED") for b in backfills)


def backfill_calls(
    decks: list[Path], home: Path, dagster_home: Path, batch_size: int
) -> list[list[str]]:
    """Decks in the inbox and their partitions added (as the sensor leaves them), then one
    `dagster job execute` per batch with the tags the backfill daemon gives a multi-run batch."""
    from dagster import DagsterInstance

    from osmose_dagster.core.ops import compute_slots
    from osmose_dagster.core.ops.dagster_names import SLOT_TAG

    inbox = home / "inbox"
    inbox.mkdir(parents=True)
    keys = []
    for deck in decks:
        shutil.copyfile(deck, inbox / deck.name)
        keys.append(deck.name)
    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        instance.add_dynamic_partitions("documents", keys)
        stored = list(instance.get_dynamic_partitions("documents"))
    finally:
        instance.dispose()
    if stored != keys:
        raise RuntimeError("partition order differs from the decks' order: ranges would not match")
    slot = compute_slots(None)[0]
    calls = []
    for start in range(0, len(keys), batch_size):
        batch = keys[start : start + batch_size]
        tags = {
            "dagster/asset_partition_range_start": batch[0],
            "dagster/asset_partition_range_end": batch[-1],
            SLOT_TAG: slot,
            "osmose/launched_by": "bench backfill",
            "osmose/bench_call": str(len(calls)),
        }
        calls.append(
            [
                PYTHON,
                "-m",
                "dagster",
                "job",
                "execute",
                "-m",
                "osmose_dagster.definitions",
                "-j",
                JOB,
                "--tags",
                json.dumps(tags),
            ]
        )
    return calls


def read_runs(dagster_home: Path) -> list[dict]:
    """Per run: status, seconds per step, run seconds, model load, slides, chunks."""
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        out = []
        for record in instance.get_run_records():
            run = record.dagster_run
            starts, steps, ready, loaded = {}, {}, None, None
            run_start = run_end = None
            meta: dict[str, dict] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None:
                    # The embedder resource's line, once the ML stack is imported and the model
                    # loaded (or found loaded, in a later run of the same process).
                    if LOADED.search(entry.user_message or "") and loaded is None:
                        loaded = entry.timestamp
                    continue
                kind = event.event_type_value
                if kind == "STEP_START":
                    starts[event.step_key] = entry.timestamp
                elif kind == "STEP_INPUT" and event.step_key == "topic_segments":
                    ready = entry.timestamp
                elif kind == "STEP_SUCCESS":
                    steps[event.step_key] = entry.timestamp - starts[event.step_key]
                elif kind in ("RUN_START", "PIPELINE_START"):
                    run_start = entry.timestamp
                elif kind in ("RUN_SUCCESS", "RUN_FAILURE", "PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
                    run_end = entry.timestamp
                elif kind == "ASSET_MATERIALIZATION":
                    m = event.event_specific_data.materialization
                    meta[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
            out.append(
                {
                    "run_id": run.run_id,
                    "status": run.status.value,
                    "call": int(run.tags.get("osmose/bench_call", 0)),
                    "steps": steps,
                    "run_s": (run_end - run_start)
                    if run_start and run_end
                    else sum(steps.values()),
                    "load_s": (loaded - ready) if loaded and ready else 0.0,
                    "slides": meta.get("extracted_slides", {}).get("slides", 0),
                    "chunks": meta.get("topic_segments", {}).get("chunks", 0),
                    "slides_encoded": meta.get("topic_segments", {}).get("texts_encoded", 0),
                    "chunks_encoded": meta.get("embeddings", {}).get(
                        "long_slide_pieces_encoded", 0
                    ),
                    "vectors_reused": meta.get("embeddings", {}).get("slide_vectors_pooled", 0),
                    "peak_memory_mib": meta.get("topic_segments", {}).get("peak_memory_mib", 0.0),
                    "encoding_seconds": meta.get("topic_segments", {}).get("encoding_seconds", 0.0),
                }
            )
        return out
    finally:
        instance.dispose()


def _rate(count: float, seconds: float):
    return round(count / seconds, 1) if seconds else None


# --------------------------------------------------------------------------- table


def code_version() -> str:
    """sha256 of the package's sources and dagster.yaml: measurements of other code are not mixed
    (the commit is recorded beside each measurement, but is not part of the key: committing the
    bench's own files must not orphan the measurements)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(
        [
            *(REPO / "osmose_dagster").rglob("*.py"),
            REPO / "osmose_dagster" / "instance" / "dagster.yaml",
        ]
    ):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short=10", "HEAD"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def median(records: list[dict], key: str):
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def table(
    results: dict[str, list[dict]], selected: list[str], workloads: dict[str, str], batch: int
) -> list[str]:
    header = [
        "row",
        "what",
        "decks",
        "n",
        "texts",
        *STAGES,
        "other",
        "wall s",
        "cpu s",
        "peak RSS MiB",
        "x plain",
        "x plain cpu",
    ]
    lines = [header]
    for row in selected:
        title, workload, _kind, ref = ROWS[row]
        title = title.format(batch=batch)
        records = results.get(row, [])
        if not records:
            lines.append([row, title, workloads.get(workload, ""), "0"] + ["-"] * (len(header) - 4))
            continue
        med = {k: median(records, k) for k in [*STAGES, "wall_s", "cpu_s", "peak_rss_mib", "texts"]}
        other = med["wall_s"] - sum(med[s] or 0 for s in STAGES)
        ratio = cpu_ratio = "-"
        if ref and results.get(ref):
            ratio = f"{med['wall_s'] / median(results[ref], 'wall_s'):.2f}"
            if med["cpu_s"] is not None:
                cpu_ratio = f"{med['cpu_s'] / median(results[ref], 'cpu_s'):.2f}"
        lines.append(
            [
                row,
                title,
                workloads.get(workload, ""),
                str(len(records)),
                f"{med['texts']:.0f}",
                *[f"{med[s]:.1f}" for s in STAGES],
                f"{other:.1f}",
                f"{med['wall_s']:.1f}",
                "-" if med["cpu_s"] is None else f"{med['cpu_s']:.1f}",
                f"{med['peak_rss_mib']:.0f}",
                ratio,
                cpu_ratio,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    return text


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="measurements per row (median)")
    parser.add_argument("--quick", action="store_true", help="rows a and b once: a smoke test")
    parser.add_argument("--rows", help=f"comma-separated, of {', '.join(ROWS)} (default: all)")
    parser.add_argument("--decks", type=int, default=50, help="use the first N of the 50 decks")
    parser.add_argument(
        "--backfill-batch",
        type=int,
        default=None,
        help="partitions per backfill run (default: the assets' BackfillPolicy, 25)",
    )
    parser.add_argument(
        "--device", default="cpu", help="OSMOSE_DEVICE and the plain script's device"
    )
    parser.add_argument("--chunking", default="slide", help="plain script: slide or window:N")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "osmose-bench",
        help="workloads (cached) and scratch folders",
    )
    parser.add_argument(
        "--results", type=Path, help="JSON lines of measurements (default: WORK/results.jsonl)"
    )
    parser.add_argument("--fresh", action="store_true", help="ignore earlier measurements")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="start no new measurement after this many seconds",
    )
    parser.add_argument(
        "--table", action="store_true", help="print the stored measurements' table only"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each measurement's scratch folder"
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat, rows = 1, ["a", "b"]
    else:
        rows = args.rows.split(",") if args.rows else list(ROWS)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")

    if args.backfill_batch is None:
        from osmose_dagster.core.settings import Settings

        args.backfill_batch = Settings.from_env().decks_per_run
    args.work.mkdir(parents=True, exist_ok=True)
    results_path = args.results or args.work / "results.jsonl"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    decks = {
        "big": write_workload("big", args.work / "workloads" / "big"),
        "many": write_workload("many", args.work / "workloads" / "many")[: args.decks],
    }
    big = describe(args.work / "workloads" / "big")
    workloads = {
        "big": f"1 ({big['slides']} slides)",
        "many": f"{len(decks['many'])} ({_slides(decks['many'])} slides)",
    }
    config = {
        "bench": BENCH_VERSION,
        "code": code_version(),
        "device": args.device,
        "backfill_batch": args.backfill_batch,
        "chunking": args.chunking,
        "decks": len(decks["many"]),
        "workload_keys": _keys(args.work),
    }

    results: dict[str, list[dict]] = {}
    if results_path.exists() and not args.fresh:
        for line in results_path.read_text().splitlines():
            record = json.loads(line)
            if record.get("config") == config:
                results.setdefault(record["row"], []).append(record)

    started = time.monotonic()
    if not args.table:
        print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at start", flush=True)
    stopped = False
    for repeat in range(0 if args.table else args.repeat):
        for row in rows:
            title, workload, kind, _ = ROWS[row]
            title = title.format(batch=args.backfill_batch)
            if len(results.get(row, [])) > repeat:
                continue
            if args.budget is not None and time.monotonic() - started > args.budget:
                stopped = True
                break
            scratch = Path(tempfile.mkdtemp(prefix=f"{row}-", dir=args.work))
            t0 = time.monotonic()
            print(
                f"[{row}] {title} ({workloads[workload]}), measurement {repeat + 1} ...", flush=True
            )
            try:
                if kind == "plain":
                    record = measure_plain(decks[workload], scratch, args)
                else:
                    record = measure_project(kind, decks[workload], scratch, args)
            finally:
                if not args.keep:
                    shutil.rmtree(scratch, ignore_errors=True)
            record.update(
                row=row,
                config=config,
                machine=machine(),
                commit=commit(),
                loadavg_1m=round(os.getloadavg()[0], 2),
                at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            with results_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            results.setdefault(row, []).append(record)
            cpu = "-" if record["cpu_s"] is None else f"{record['cpu_s']:.1f}s"
            print(
                f"      wall {record['wall_s']:.1f}s, cpu {cpu}, peak RSS "
                f"{record['peak_rss_mib']:.0f} MiB, texts {record['texts']} "
                f"(took {time.monotonic() - t0:.0f}s, load average {record['loadavg_1m']})",
                flush=True,
            )
        if stopped:
            break

    print()
    print(
        f"median of up to {args.repeat} measurement(s) per row; device {args.device}; "
        f"plain chunking {args.chunking}; {machine()}"
    )
    for line in table(results, rows, workloads, args.backfill_batch):
        print(line)
    if stopped:
        print(
            f"(budget of {args.budget:.0f}s reached: rerun the same command to add the missing measurements)"
        )
    print(f"measurements: {results_path}")
    return 0


def _slides(decks: list[Path]) -> int:
    counts = {
        spec["file"]: spec["count"] for name in ("big", "many") for spec in workload_specs(name)
    }
    return sum(counts[d.name] for d in decks)


def _keys(work: Path) -> dict:
    out = {}
    for name in ("big", "many"):
        try:
            out[name] = json.loads((work / "workloads" / name / ".workload.json").read_text())[
                "key"
            ][:16]
        except (OSError, ValueError, KeyError):
            out[name] = None
    return out


if __name__ == "__main__":
    sys.exit(main())
