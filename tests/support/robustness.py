"""Robustness harness: decks through the real path (drop folder -> sensor -> run), one file at a
time, with each file's outcome, error class, time and peak memory.

Orchestration only, no algorithm: it drives the project's own pieces. A temporary OSMOSE_HOME and
DAGSTER_HOME (with the repository's dagster.yaml, a SQLite instance) are set up; each file is
copied into the inbox the way a file manager finishes a copy (written under a hidden `.partial`
name, then renamed); the real `ingest_new_decks` sensor is evaluated against the real instance,
tick after tick, its partition requests applied as the daemon applies them; and each RunRequest
it returns is executed with the `ingest_documents` job's `execute_in_process` in a child process
(as the daemon's run launcher runs each run in its own process), so that a crash, a hang or a
memory blow-up of one file cannot take the harness down, and so that time and peak memory are
the file's own. Outcomes are read back from the Dagster event log (STEP_FAILURE errors and their
cause chain), as a user would read them in the UI.

Used by `bench/robustness.py` (the `make robustness` command) and by
`tests/integration/test_corpus_real_path.py`. `python -m support.robustness` (with tests/ on the path) is the child
process's entry point, not a user command.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from osmose_dagster.core.inbox.scan import is_deck_name
from osmose_dagster.defs.run_results import (
    check_results,
    first_failure,
    metadata_by_asset,
    typed_error_names,
)
from osmose_dagster.instance.home import OSMOSE_DAGSTER_YAML

from .sensor_ticks import SensorTicks

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"
SENSOR = "ingest_new_decks"
JOB = "ingest_documents"
MEMORY_LIMIT_MIB = 2048  # the contract: a file's run stays under 2 GiB
KILL_AT_MIB = 3072  # the watchdog kills a child whose process tree goes above this
DEFAULT_TIMEOUT_S = 600.0  # per file
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


# ---------------------------------------------------------------------------------------------
# Rows: one per file


@dataclass
class Row:
    file: str  # the name dropped into the inbox (the document key)
    source: str  # sample | corpus | crafted
    outcome: str = "pending"  # indexed | failed | ignored | skipped | crashed | timeout | killed
    error_class: str = ""
    detail: str = ""  # the one-line error message (or why the file was not taken up)
    run_s: float | None = None  # the Dagster run, start to end
    wall_s: float | None = None  # the child process's share for this file (start-up included)
    peak_rss_mib: float | None = None  # the child's peak RSS while it ran this file
    tree_peak_mib: float | None = None  # child + its subprocesses (soffice) sampled together
    slides: int | None = None
    points: int | None = None
    run_id: str = ""
    description: str = ""  # manifest notes or the crafted file's description
    expected: str = ""  # what the manifest implies: "indexed", "error:<classes>", or ""
    violations: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# What the corpus manifest says each file should give


def read_manifest(corpus: Path = CORPUS) -> dict[str, dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", newline="", encoding="utf-8") as table:
        return {row["file"]: row for row in csv.DictReader(table, delimiter="\t")}


def container(row: dict[str, str]) -> str:
    """The manifest notes' first field: container kind, main content type, parts present."""
    return row["notes"].split(";")[0]


def expectation(row: dict[str, str], soffice: bool) -> tuple[str, frozenset[str]]:
    """("indexed", {}) where the file must be indexed; ("error", classes) where it must fail with
    one of those classes; ("either", classes) where it may be indexed or fail with one of them.

    From the manifest's columns: `python_pptx` (the python-pptx probe: `ok slides=N` is a readable
    deck) and `notes` (container: `zip main=<type> [strict]`, `zip-unreadable`, `ole2 ...`).
    Legacy `.ppt` and ISO Strict decks are converted by LibreOffice when `soffice` is installed;
    a legacy file that LibreOffice itself cannot convert (PowerPoint 4.0, fuzzed or damaged
    records) may fail, with a conversion or corruption error.
    """
    notes, kind = row["notes"], container(row)
    if "encrypted" in notes:
        return "error", frozenset({"EncryptedDeckError"})
    if kind.startswith("zip-unreadable"):
        return "error", frozenset({"CorruptDeckError"})
    if "strict" in kind.split():
        return ("indexed", frozenset()) if soffice else ("error", frozenset({"StrictOOXMLError"}))
    if row["python_pptx"].startswith("ok") or kind.startswith("zip main="):
        return "indexed", frozenset()
    if notes.startswith("ole2; legacy"):
        if soffice:
            return "either", frozenset({"ConversionError", "CorruptDeckError"})
        return "error", frozenset({"LegacyFormatError", "CorruptDeckError"})
    return "either", frozenset(typed_error_names())


def describe_expectation(expected: tuple[str, frozenset[str]]) -> str:
    kind, classes = expected
    return kind if not classes else f"{kind}:{'|'.join(sorted(classes))}"


# ---------------------------------------------------------------------------------------------
# The deployment: temporary OSMOSE_HOME + DAGSTER_HOME, the real sensor, runs in child processes


class Harness:
    """A temporary deployment under `root`. Use as a context manager: it sets OSMOSE_HOME,
    DAGSTER_HOME and the other variables in this process for its lifetime (restored after)."""

    def __init__(
        self,
        root: Path,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        kill_at_mib: float = KILL_AT_MIB,
        slots: int = 1,
        env: dict[str, str] | None = None,
    ):
        self.root = Path(root)
        self.home = self.root / "osmose"
        self.dagster_home = self.home / "dagster"
        self.inbox = self.home / "inbox"
        self.timeout_s = timeout_s
        self.kill_at_mib = kill_at_mib
        self.env_overrides = {
            "OSMOSE_HOME": str(self.home),
            "DAGSTER_HOME": str(self.dagster_home),
            "OSMOSE_DEVICE": "cpu",
            "OSMOSE_GPUS": f"cpu:{slots}",  # CPU compute slots: runs side by side
            "OSMOSE_STABLE_SECONDS": "0",  # the sensor still waits one tick for a file to hold still
            "OSMOSE_DECKS_PER_RUN": "1",  # a run per file: its own outcome, time and memory
            "OSMOSE_LOCK_TIMEOUT_S": "300",
            "HF_HUB_OFFLINE": "1",
            **(env or {}),
        }
        self._saved_env: dict[str, str | None] = {}
        self.ticks = 0
        self.tick_errors: list[str] = []
        self.sensor_log: list[str] = []

    # -- set-up ---------------------------------------------------------------------------------

    def __enter__(self) -> Harness:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OSMOSE_DAGSTER_YAML, self.dagster_home / "dagster.yaml")
        self.inbox.mkdir(parents=True, exist_ok=True)
        removed = [k for k in os.environ if k.startswith(("QDRANT_", "OSMOSE_"))]
        for name in {*removed, *self.env_overrides}:
            self._saved_env[name] = os.environ.get(name)
        for name in removed:
            del os.environ[name]
        os.environ.update(self.env_overrides)
        from dagster import DagsterInstance

        from osmose_dagster.core.settings import Settings
        from osmose_dagster.definitions import build_definitions

        self.settings = Settings.from_env()
        self.defs = build_definitions(self.settings)
        self.instance = DagsterInstance.get()
        self.sensor = SensorTicks(self.defs, self.instance, SENSOR)
        return self

    def __exit__(self, *exc) -> None:
        self.instance.dispose()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QDRANT_", "OSMOSE_"))}
        env.update(self.env_overrides)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")) if p
        )
        return env

    # -- the drop folder and the sensor ---------------------------------------------------------

    def drop(self, source: Path, name: str | None = None) -> str:
        """Copy a file into the inbox as a file manager finishes a copy: a hidden partial file,
        then a rename into place (the sensor ignores hidden files)."""
        name = name or source.name
        partial = self.inbox / f".{uuid.uuid4().hex}.partial"
        shutil.copyfile(source, partial)
        os.replace(partial, self.inbox / name)
        return name

    def tick(self):
        """One evaluation of the real sensor, its partition requests applied as the daemon does.
        Returns the tick's data, or None when the evaluation raised (recorded in tick_errors)."""
        self.ticks += 1
        handler = _ListHandler(self.sensor_log)
        logger = logging.getLogger("dagster")
        logger.addHandler(handler)
        try:
            data = self.sensor.tick()
        except Exception as error:  # the contract says the sensor keeps running: record it
            self.tick_errors.append(f"tick {self.ticks}: {type(error).__name__}: {error}")
            return None
        finally:
            logger.removeHandler(handler)
        return data

    def requests_after_drop(self, max_ticks: int = 3) -> list:
        """Tick until the dropped files have been requested (a file must hold still for one tick
        first); the run requests of all those ticks, in order."""
        requests = []
        for _ in range(max_ticks):
            data = self.tick()
            if data is not None:
                requests.extend(data.run_requests)
                if requests and not _waiting(data):
                    break
        return requests

    # -- runs -----------------------------------------------------------------------------------

    def execute(
        self, requests: list, on_row: Callable[[str, dict], None] | None = None, batch: int = 1
    ) -> dict[str, dict]:
        """Execute each RunRequest in a child process (`batch` requests per child: 1 gives each
        file its own process). With several compute slots (`slots`), the runs of each slot (the
        sensor's `osmose/gpu` tag) go one after another, and the slots side by side, as the run
        queue would run them. Returns {partition key: child measurements}."""
        from osmose_dagster.core.ops.dagster_names import SLOT_TAG

        by_slot: dict[str, list] = {}
        for request in requests:
            by_slot.setdefault(request.tags.get(SLOT_TAG, ""), []).append(request)
        if len(by_slot) <= 1:
            return self._execute_serially(requests, on_row, batch)
        results: dict[str, dict] = {}
        lock = threading.Lock()

        def locked(key: str, measured: dict) -> None:
            with lock:
                if on_row:
                    on_row(key, measured)

        threads = [
            threading.Thread(
                target=lambda group: results.update(self._execute_serially(group, locked, batch)),
                args=(group,),
            )
            for group in by_slot.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def _execute_serially(self, requests: list, on_row, batch: int) -> dict[str, dict]:
        results: dict[str, dict] = {}
        todo = list(requests)
        while todo:
            chunk, todo = todo[:batch], todo[batch:]
            pending = list(chunk)
            while pending:
                done = self._run_child(pending)
                for request in pending:
                    key = request.partition_key
                    if key in done:
                        results[key] = done[key]
                        if on_row:
                            on_row(key, done[key])
                finished = [r for r in pending if r.partition_key in done]
                pending = [r for r in pending if r.partition_key not in done]
                if not finished and pending:  # nothing progressed: should not happen
                    for request in pending:
                        results[request.partition_key] = {"child": "no result"}
                    break
        return results

    def _run_child(self, requests: list) -> dict[str, dict]:
        """One child process for these requests. A file during which the child dies, hangs past
        the timeout or grows past the memory kill line gets that as its result; the files after
        it are left for the next child."""
        specs = []
        for request in requests:
            tags = dict(request.tags)
            tags.update({"dagster/sensor_name": SENSOR, "osmose/launched_by": "sensor"})
            if request.run_key:
                tags["dagster/run_key"] = request.run_key
            specs.append({"key": request.partition_key, "run_id": str(uuid.uuid4()), "tags": tags})
        by_key = {s["key"]: s for s in specs}
        process = subprocess.Popen(
            [sys.executable, "-m", "support.robustness", "--child"],
            cwd=REPO_ROOT,
            env=self.child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a kill takes soffice with it
        )
        process.stdin.write(json.dumps(specs))
        process.stdin.close()
        stderr_tail: list[str] = []
        threading.Thread(target=_drain, args=(process.stderr, stderr_tail), daemon=True).start()
        lines: list[dict] = []
        reader = threading.Thread(
            target=_read_json_lines, args=(process.stdout, lines), daemon=True
        )
        reader.start()

        done: dict[str, dict] = {}
        current, started_at, tree_peak = None, time.monotonic(), 0.0
        child_started = started_at
        killed_for = None
        status = None
        while True:
            while lines:
                message = lines.pop(0)
                if message["event"] == "start":
                    current, started_at, tree_peak = message["key"], time.monotonic(), 0.0
                elif message["event"] == "done":
                    message["tree_peak_mib"] = round(tree_peak, 1)
                    message["run_id"] = by_key[message["key"]]["run_id"]
                    done[message["key"]] = message
                    current = None
                    started_at = time.monotonic()
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, _tree_rss_mib(process.pid))
            elapsed = time.monotonic() - started_at
            if killed_for is None and tree_peak > self.kill_at_mib:
                killed_for = "killed"
                _kill_group(process.pid)
            elif killed_for is None and elapsed > self.timeout_s:
                killed_for = "timeout"
                _kill_group(process.pid)
            time.sleep(0.1)
        _kill_group(process.pid)  # leftovers (a soffice the child started) go with it
        process.returncode = os.waitstatus_to_exitcode(status)
        reader.join(5)
        for message in lines:  # the last lines, read after the exit
            if message["event"] == "done":
                message["tree_peak_mib"] = round(tree_peak, 1)
                message["run_id"] = by_key[message["key"]]["run_id"]
                done[message["key"]] = message
                current = None
            elif message["event"] == "start":
                current, tree_peak = message["key"], 0.0
        if current is None and len(done) < len(specs):
            current = next(s["key"] for s in specs if s["key"] not in done)  # died before 'start'
        if len(specs) == 1 and specs[0]["key"] in done:  # the file had the process to itself
            only = done[specs[0]["key"]]
            only["wall_s"] = round(time.monotonic() - child_started, 2)  # start-up included
            # ru_maxrss (KiB): the child, or the largest of the subprocesses it waited for
            only["peak_rss_mib"] = max(only.get("peak_rss_mib") or 0, usage.ru_maxrss / 1024)
        if current is not None and current not in done:
            wall = time.monotonic() - (started_at if done else child_started)
            done[current] = {
                "event": "done",
                "key": current,
                "run_id": by_key[current]["run_id"],
                "child": killed_for or "crashed",
                "exit": process.returncode,
                "wall_s": round(wall, 2),
                # ru_maxrss (KiB): the child, or the largest of the subprocesses it waited for
                "peak_rss_mib": round(usage.ru_maxrss / 1024, 1) if len(specs) == 1 else None,
                "tree_peak_mib": round(tree_peak, 1),
                "stderr": "".join(stderr_tail)[-2000:],
            }
        return done

    # -- reading outcomes back from the instance ------------------------------------------------

    def row_for(self, row: Row, measured: dict) -> Row:
        """Fill `row` from the child's measurements and the run's record and event log."""
        from dagster import DagsterRunStatus

        row.run_id = measured.get("run_id", "")
        row.wall_s = measured.get("wall_s")
        row.peak_rss_mib = measured.get("peak_rss_mib")
        row.tree_peak_mib = measured.get("tree_peak_mib")
        record = self.instance.get_run_record_by_id(row.run_id) if row.run_id else None
        if record is not None and record.start_time and record.end_time:
            row.run_s = round(record.end_time - record.start_time, 2)
        child = measured.get("child")
        if child in ("crashed", "timeout", "killed", "no result"):
            row.outcome = child.replace("no result", "crashed")
            why = {
                "timeout": f"no result after {self.timeout_s:.0f} s; the child was killed",
                "killed": f"process tree above {self.kill_at_mib:.0f} MiB; the child was killed",
            }.get(child, f"the child process died (exit status {measured.get('exit')})")
            row.detail = why + _last_line(measured.get("stderr", ""))
            if record is not None and record.dagster_run.status not in (
                DagsterRunStatus.SUCCESS,
                DagsterRunStatus.FAILURE,
            ):  # as the daemon's run monitoring would: the run's process is gone
                self.instance.report_run_failed(record.dagster_run, row.detail)
            return row
        if measured.get("harness_error"):
            row.outcome = "crashed"
            row.detail = measured["harness_error"]
            return row
        if record is None:
            row.outcome, row.detail = "crashed", "no run was recorded"
            return row
        events = [entry.dagster_event for entry in self.instance.all_logs(row.run_id)]
        if record.dagster_run.status == DagsterRunStatus.SUCCESS:
            row.outcome = "indexed"
            metadata = metadata_by_asset(events)
            row.slides = metadata.get("extracted_slides", {}).get("slides")
            row.points = metadata.get("qdrant_index", {}).get("points")
        else:
            row.outcome = "failed"
            failure = first_failure(events)
            row.error_class, row.detail = failure.error_class, failure.message
        for name, passed in check_results(events).items():
            if not passed:
                row.violations.append(f"asset check {name} failed")
        return row

    # -- the index ------------------------------------------------------------------------------

    def snapshot(self, documents: Iterable[str]) -> dict[str, dict[str, dict]]:
        """{document: {point id: payload}} from the index the runs write to."""
        found: dict[str, dict[str, dict]] = {}
        with self.defs.resources["qdrant"].open_index() as index:
            for document in documents:
                ids = index.point_ids(document)
                found[document] = index.payloads(sorted(ids)) if ids else {}
        return found


def _waiting(data) -> bool:
    message = getattr(data, "skip_message", None) or ""
    return "waiting to hold still" in message


class _ListHandler(logging.Handler):
    """Keeps the sensor's log lines (skipped files and why)."""

    def __init__(self, lines: list[str]):
        super().__init__(level=logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f"; last stderr line: {lines[-1].strip()[:200]}" if lines else ""


def _drain(stream, tail: list[str]) -> None:
    for line in stream:
        tail.append(line)
        del tail[:-40]


def _read_json_lines(stream, out: list[dict]) -> None:
    for line in stream:
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))


def _pss_mib(pid: int) -> float:
    """Proportional set size: pages shared with another process (a fork, before its exec) are
    split between them, so a tree's sum is not counted twice."""
    try:
        return _pss(psutil.Process(pid))
    except psutil.Error:
        return 0.0


def _pss(process: psutil.Process) -> float:
    """PSS in MiB (psutil reads /proc/PID/smaps_rollup); 0 once the process is gone."""
    try:
        return process.memory_full_info().pss / 2**20
    except psutil.Error:
        return 0.0


def _tree_rss_mib(pid: int) -> float:
    """The memory of `pid` and all its descendants (soffice included), summed as PSS.

    A descendant still running `pid`'s program is left out: that is `pid` between a fork (or
    vfork) and its exec, sharing `pid`'s pages, and the two are read at different instants, so
    its share would be counted on top of pages already counted whole (Dagster starts `tail` this
    way twice per step: a 1 GiB process read as 2 GiB). The runs start no Python workers."""
    # psutil finds the descendants by reading every process's stat: 3.6-4.4 ms a sample with 100
    # processes on the host, against 0.8 ms for our former walk of /proc/PID/task/*/children;
    # small beside the watchdog's 0.1 s sleep, so the library's version stays.
    try:
        root = psutil.Process(pid)
        tree = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    program = _program(root)
    return _pss(root) + sum(_pss(child) for child in tree if _program(child) != program)


def _program(process: psutil.Process) -> str | None:
    try:
        return process.exe() or None
    except psutil.Error:
        return None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Checking a row against the contract


def check_row(
    row: Row,
    expected: tuple[str, frozenset[str]] | None = None,
    memory_limit_mib: float = MEMORY_LIMIT_MIB,
) -> Row:
    """Adds to `row.violations` what breaks the contract: an outcome other than indexed or a
    typed failure (a file the sensor left out with its reason given is fine), an untyped error,
    a message that does not name the file, peak memory at or above the limit, or an outcome the
    manifest rules out."""
    typed = typed_error_names()
    name = Path(row.file).name
    if row.outcome in ("crashed", "timeout", "killed", "pending"):
        row.violations.append(f"{row.outcome}: {row.detail}")
    elif row.outcome == "failed":
        if row.error_class not in typed:
            row.violations.append(f"untyped error {row.error_class or '(none)'}")
        if name not in row.detail:
            row.violations.append("the error message does not name the file")
    elif row.outcome == "skipped" and not row.detail:
        row.violations.append("not taken up by the sensor, and no reason given")
    peak = max(row.peak_rss_mib or 0, row.tree_peak_mib or 0)
    if peak >= memory_limit_mib:
        row.violations.append(f"peak memory {peak:.0f} MiB >= {memory_limit_mib:.0f} MiB")
    if expected is not None:
        kind, classes = expected
        row.expected = describe_expectation(expected)
        if kind == "indexed" and row.outcome != "indexed":
            row.violations.append("the manifest says this deck is readable: it must be indexed")
        elif kind == "error" and not (row.outcome == "failed" and row.error_class in classes):
            row.violations.append(f"expected a failure with {'/'.join(sorted(classes))}")
        elif kind == "either" and row.outcome == "failed" and row.error_class not in classes:
            row.violations.append(f"expected indexed or {'/'.join(sorted(classes))}")
    return row


# ---------------------------------------------------------------------------------------------
# A whole session: samples first (snapshot), then the files under test, then the checks after


@dataclass
class Report:
    rows: list[Row]
    samples: list[Row]
    problems: list[str]  # session-wide violations (sensor, other decks' points)
    total_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.violations for r in [*self.samples, *self.rows])


@dataclass
class Item:
    path: Path
    name: str
    source: str
    description: str = ""
    expected: tuple[str, frozenset[str]] | None = None


def corpus_items(corpus: Path = CORPUS, soffice: bool | None = None) -> list[Item]:
    from osmose_dagster.core.extract.sniff import find_soffice

    has_soffice = find_soffice() is not None if soffice is None else soffice
    items = []
    for name, row in sorted(read_manifest(corpus).items()):
        items.append(
            Item(corpus / name, name, "corpus", row["notes"], expectation(row, has_soffice))
        )
    return items


def crafted_items(folder: Path) -> list[Item]:
    """The crafted bad files (tests/support/crafted_inputs.py), written into `folder`."""
    from .crafted_inputs import write_crafted_inputs

    folder.mkdir(parents=True, exist_ok=True)
    described = write_crafted_inputs(folder)
    return [
        Item(folder / name, name, "crafted", description) for name, description in described.items()
    ]


def run_session(
    root: Path,
    items: list[Item],
    *,
    batch: int = 1,
    slots: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_limit_mib: float = MEMORY_LIMIT_MIB,
    progress: Callable[[Row], None] | None = None,
) -> Report:
    """Index the sample decks, snapshot their points, then put every item through the drop
    folder, the sensor and a run, one item after another; then check the sensor still ticks and
    the sample decks' points are unchanged."""
    from osmose_dagster.cli.samples import write_sample_decks

    started = time.monotonic()
    problems: list[str] = []
    with Harness(root, timeout_s=timeout_s, slots=slots) as harness:
        sample_paths = write_sample_decks(root / "samples")
        samples = _put_through(
            harness,
            [Item(p, p.name, "sample") for p in sample_paths],
            batch=len(sample_paths),
            memory_limit_mib=memory_limit_mib,
            progress=progress,
        )
        for row in samples:
            if row.outcome != "indexed" or not row.points:
                row.violations.append("a sample deck was not indexed")
        documents = [row.file for row in samples]
        before = harness.snapshot(documents)

        # One wave at a time: its files dropped together, taken up by the sensor, run (one file
        # per slot at a time: with batch=1 and one slot, each file alone from drop to result).
        rows = []
        wave = batch * slots
        for index in range(0, len(items), wave):
            rows.extend(
                _put_through(
                    harness,
                    items[index : index + wave],
                    batch=batch,
                    memory_limit_mib=memory_limit_mib,
                    progress=progress,
                )
            )

        # After everything: the sensor still ticks, asks for nothing more, and the sample decks'
        # points are exactly what they were.
        errors_before = len(harness.tick_errors)
        last = harness.tick()
        if last is None or len(harness.tick_errors) > errors_before:
            problems.append("the sensor's last tick failed: " + "; ".join(harness.tick_errors))
        elif last.run_requests:
            problems.append(f"the sensor's last tick requested {len(last.run_requests)} more runs")
        if harness.tick_errors:
            problems.append("sensor tick errors: " + "; ".join(harness.tick_errors))
        after = harness.snapshot(documents)
        for document in documents:
            if after.get(document) != before.get(document):
                problems.append(f"the points of {document} changed while the other files ran")
    return Report(
        rows=rows, samples=samples, problems=problems, total_s=round(time.monotonic() - started, 1)
    )


def _put_through(
    harness: Harness, items: list[Item], *, batch: int, memory_limit_mib: float, progress
) -> list[Row]:
    rows = {
        item.name: Row(file=item.name, source=item.source, description=item.description)
        for item in items
    }
    dropped = {}
    for item in items:
        try:
            dropped[harness.drop(item.path, item.name)] = item
        except OSError as error:
            row = rows[item.name]
            row.outcome, row.detail = "skipped", f"cannot be copied into the inbox: {error}"
    log_from = len(harness.sensor_log)
    requests = harness.requests_after_drop() if dropped else []
    requested = {r.partition_key for r in requests}
    for name, item in dropped.items():
        if name not in requested:
            row = rows[item.name]
            if not is_deck_name(Path(name).name):
                row.outcome = "ignored"
                row.detail = (
                    "not a deck name (suffix, hidden, lock or temp file): the sensor ignores it"
                )
            else:
                row.outcome = "skipped"
                said = [line for line in harness.sensor_log[log_from:] if name in line]
                row.detail = " ".join((said[-1] if said else "").split())
    by_key = {r.partition_key: r for r in requests}

    def finish(key: str, measured: dict) -> None:
        item = dropped.get(key)
        if item is None:
            return
        row = harness.row_for(rows[item.name], measured)
        check_row(row, item.expected, memory_limit_mib)
        if progress:
            progress(row)

    harness.execute([by_key[k] for k in by_key if k in dropped], on_row=finish, batch=batch)
    for item in items:
        row = rows[item.name]
        if row.outcome in ("ignored", "skipped"):
            check_row(row, item.expected, memory_limit_mib)
            if progress:
                progress(row)
    return [rows[item.name] for item in items]


# ---------------------------------------------------------------------------------------------
# Output


COLUMNS = ("file", "outcome", "error class", "run s", "wall s", "peak RSS MiB", "detail")


def table(rows: list[Row], detail_width: int = 90, file_width: int = 60) -> str:
    lines = []
    cells = [
        (
            _cut(row.file, file_width),
            row.outcome + (" !" if row.violations else ""),
            row.error_class or "-",
            _num(row.run_s),
            _num(row.wall_s),
            _num(max(row.peak_rss_mib or 0, row.tree_peak_mib or 0) or None, 0),
            _cut(
                row.detail
                if row.outcome != "indexed"
                else f"{row.slides} slides, {row.points} points",
                detail_width,
            )
            + ("  [" + "; ".join(row.violations) + "]" if row.violations else ""),
        )
        for row in rows
    ]
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS) - 1)]
    for c in [COLUMNS, *cells]:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths)) + "  " + c[-1])
    return "\n".join(lines)


def summary(report: Report) -> str:
    rows = report.rows
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    classes: dict[str, int] = {}
    for row in rows:
        if row.error_class:
            classes[row.error_class] = classes.get(row.error_class, 0) + 1
    peaks = [max(r.peak_rss_mib or 0, r.tree_peak_mib or 0) for r in rows]
    violating = [r.file for r in rows if r.violations]
    parts = [
        f"{len(rows)} files: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        "errors: " + (", ".join(f"{n} {k}" for k, n in sorted(classes.items())) or "none"),
        f"max peak RSS {max(peaks, default=0):.0f} MiB",
        f"total {report.total_s:.0f} s",
        f"contract violations: {len(violating)} file(s)"
        + (f" ({', '.join(violating[:10])})" if violating else "")
        + (f"; session: {'; '.join(report.problems)}" if report.problems else ""),
    ]
    return "; ".join(parts)


def _num(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------
# The child process: executes the run requests it reads on stdin, one JSON line per event


def _child_main() -> int:
    specs = json.loads(sys.stdin.read())
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the run prints must not mix with our JSON lines
    from dagster import DagsterInstance

    from osmose_dagster.core.settings import Settings
    from osmose_dagster.definitions import build_definitions

    defs = build_definitions(Settings.from_env())
    job = defs.resolve_job_def(JOB)
    instance = DagsterInstance.get()
    first = True
    for spec in specs:
        started = time.monotonic()
        if not first:
            _reset_peak_rss()
        print(json.dumps({"event": "start", "key": spec["key"]}), file=out, flush=True)
        result = {"event": "done", "key": spec["key"]}
        try:
            outcome = job.execute_in_process(
                partition_key=spec["key"],
                instance=instance,
                tags=spec["tags"],
                run_id=spec["run_id"],
                raise_on_error=False,
                run_config=QUIET_RUN_CONFIG,
            )
            result["success"] = outcome.success
        except BaseException as error:  # the run machinery itself failed: report, go on
            result["harness_error"] = f"{type(error).__name__}: {error}"
        result["wall_s"] = round(time.monotonic() - started, 2)
        result["peak_rss_mib"] = _peak_rss_mib()
        first = False
        print(json.dumps(result), file=out, flush=True)
    instance.dispose()
    return 0


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so the next file's peak is
    its own (the process keeps what the previous files left allocated). psutil has no reset, and
    no VmHWM either (below): these two stay with /proc."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def iter_rows(report: Report) -> Iterator[Row]:
    yield from report.samples
    yield from report.rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        raise SystemExit(_child_main())
    raise SystemExit("support.robustness is run by bench/robustness.py (make robustness)")
