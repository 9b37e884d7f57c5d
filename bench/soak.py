"""Churn-and-kill soak: a real local deployment (this repository's dagster.yaml, a real
`dagster-daemon` and `dagster-webserver`, two CPU compute slots) while, for `--minutes`:

- decks are added, replaced and deleted in the inbox at random, every 10-40 s; replacements (and
  half the additions) are plain, non-atomic copies written in pieces, as a file manager or a
  sync tool writes them;
- run processes are killed (SIGKILL) at random, every 30-150 s, sparing a run on its last try (a
  deck killed on every try is given up on purpose: tests/integration/test_killed_runs.py);
- in the first half, the daemon is killed every 6-12 minutes (less for short soaks), alone (SIGKILL: its code server
  and runs live on) or with its whole process group (its code server and runs die with it), and
  started again a few seconds later;
- the webserver is asked for the latest runs every 30 s, as an open UI would.

Every 10 s it records the resident memory of the daemon, its code server, the webserver, its code
server and each run process, the runs per state, and the run processes alive per compute slot.
After the last change it waits for the deployment to settle, then stops it and compares the index
(point ids per document) with a fresh `osmose ingest` of the final inbox.

Targets (exit 1 if one is missed): the index exact within 5 minutes of the last change; daemon
and webserver memory flat (growth under 10% over the second half: the median of the first and
last minute of it); no compute slot ever held by two runs (run records, and live processes).

    .venv/bin/python -m bench.soak                 # one hour
    .venv/bin/python -m bench.soak --minutes 1440  # a day
    .venv/bin/python -m bench.soak --minutes 10 --keep
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from dagster import (  # noqa: E402
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.storage.tags import RETRY_NUMBER_TAG  # noqa: E402

from bench.workloads import write_generated_deck  # noqa: E402
from osmose_dagster.cli.samples import write_sample_decks  # noqa: E402
from osmose_dagster.core.ops.dagster_names import SLOT_TAG  # noqa: E402
from osmose_dagster.core.ops.processes import process_facts  # noqa: E402
from osmose_dagster.defs.killed_runs import GAVE_UP_TAG, KILLED_AFTER_LAST_STEP_TAG  # noqa: E402
from tests.support.deployment import Deployment  # noqa: E402
from tests.support.killed_runs import fresh_ingest, index_points, run_pid  # noqa: E402

SLOTS = 2
MAX_RETRIES = 2  # dagster.yaml's run_retries.max_retries: a run on this try is spared
UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
TARGET_CONVERGE_S = 300
TARGET_GROWTH = 0.10


def rss_mib(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def code_server_of(pid: int | None) -> int | None:
    """The `dagster api grpc` child a daemon or webserver starts for the workspace."""
    for child in children(pid) if pid else []:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"api grpc" in command or b"code-server" in command:
            return child
    return None


@dataclass
class Sample:
    t: float  # seconds since the start
    daemon: float | None
    daemon_code: float | None
    webserver: float | None
    webserver_code: float | None
    run_rss: list[float]
    states: dict[str, int]
    daemon_pid: int | None


@dataclass
class Soak:
    deployed: Deployment
    rng: random.Random
    pool: list[Path]
    start: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    events: Counter = field(default_factory=Counter)
    slot_violations: list[str] = field(default_factory=list)
    last_change: float = 0.0
    last_change_wall: float = 0.0  # the same, as a timestamp
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    daemon: object = None  # the current dagster-daemon Popen
    webserver: object = None
    _instance: DagsterInstance | None = None

    def instance(self) -> DagsterInstance:
        if self._instance is None:
            self._instance = self.deployed.instance()
        return self._instance

    def runs(self, statuses=None) -> list:
        return list(self.instance().get_run_records(RunsFilter(statuses=statuses)))

    def now(self) -> float:
        return time.monotonic() - self.start

    # -- the inbox --------------------------------------------------------------------------
    def decks(self) -> list[str]:
        return sorted(
            p.name for p in self.deployed.inbox.iterdir() if p.is_file() and p.suffix == ".pptx"
        )

    def churn_once(self, names: list[str]) -> None:
        present = self.decks()
        action = self.rng.choices(["add", "replace", "delete"], weights=[4, 4, 2])[0]
        if action == "add" and len(present) >= 14:
            action = "replace"
        if action == "delete" and len(present) <= 4:
            action = "add"
        if action == "replace" and not present:
            action = "add"
        source = self.rng.choice(self.pool)
        if action == "replace":
            target = self.deployed.inbox / self.rng.choice(present)
            current = target.read_bytes()
            source = self.rng.choice([p for p in self.pool if p.read_bytes() != current])
        if action == "add":
            free = [n for n in names if n not in present]
            name = self.rng.choice(free)
            if self.rng.random() < 0.5:
                partial = self.deployed.inbox / f".{name}.partial"
                shutil.copyfile(source, partial)
                os.replace(partial, self.deployed.inbox / name)
            else:
                self.copy_in_pieces(source, self.deployed.inbox / name)
        elif action == "replace":
            self.copy_in_pieces(source, target)
        else:
            (self.deployed.inbox / self.rng.choice(present)).unlink()
        self.events[f"decks {dict(add='added', replace='replaced', delete='deleted')[action]}"] += 1
        self.last_change, self.last_change_wall = self.now(), time.time()

    def copy_in_pieces(self, source: Path, target: Path) -> None:
        """A plain copy onto the name (truncate, then write), in 3 pieces with pauses."""
        data = source.read_bytes()
        cut = sorted(self.rng.sample(range(1, len(data)), 2))
        with open(target, "wb") as out:
            for piece in (data[: cut[0]], data[cut[0] : cut[1]], data[cut[1] :]):
                out.write(piece)
                out.flush()
                time.sleep(self.rng.uniform(0.2, 1.5))

    # -- the killers ---------------------------------------------------------------------------
    def started_runs(self) -> list:
        return self.runs(statuses=[DagsterRunStatus.STARTED])

    def kill_a_run(self) -> None:
        instance = self.instance()
        spared = 0
        candidates = []
        for record in self.started_runs():
            run = record.dagster_run
            if int(run.tags.get(RETRY_NUMBER_TAG, 0)) >= MAX_RETRIES:
                spared += 1
                continue
            pid = run_pid(instance, run)
            if pid:
                candidates.append(pid)
        if candidates:
            try:
                os.kill(self.rng.choice(candidates), signal.SIGKILL)
                self.events["run processes killed"] += 1
            except ProcessLookupError:
                pass
        elif spared:
            self.events["run kills skipped (last try)"] += 1

    def kill_the_daemon(self, whole_group: bool) -> None:
        if whole_group:
            instance = self.instance()
            last_tries = [
                r
                for r in self.started_runs()
                if int(r.dagster_run.tags.get(RETRY_NUMBER_TAG, 0)) >= MAX_RETRIES
                and run_pid(instance, r.dagster_run)
            ]
            if last_tries:  # its runs would die with it: spare a run on its last try
                whole_group = False
        process = self.daemon
        if whole_group:
            os.killpg(process.pid, signal.SIGKILL)
            self.events["daemon killed with its code server and runs"] += 1
        else:
            os.kill(process.pid, signal.SIGKILL)
            self.events["daemon killed alone"] += 1
        process.wait()
        self.deployed.processes.remove(process)
        time.sleep(self.rng.uniform(3, 10))
        self.start_daemon()

    def start_daemon(self) -> None:
        self.deployed.start_daemon()
        self.daemon = self.deployed.processes[-1]

    # -- what is measured -------------------------------------------------------------------
    def sample(self) -> None:
        instance = self.instance()
        states: Counter = Counter()
        for status in [*UNFINISHED, DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE]:
            states[status.value] = instance.get_runs_count(RunsFilter(statuses=[status]))
        live: dict[str, list[int]] = {}
        run_rss = []
        for record in self.runs(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]):
            pid = run_pid(instance, record.dagster_run)
            facts = process_facts(pid) if pid else None
            if facts is None or facts.exited:
                continue
            live.setdefault(record.dagster_run.tags.get(SLOT_TAG, "?"), []).append(pid)
            run_rss.append(rss_mib(pid) or 0.0)
        for slot, pids in live.items():
            if len(pids) > 1:
                self.slot_violations.append(f"{self.now():.0f}s: slot {slot} run processes {pids}")
        daemon_pid = self.daemon.pid if self.daemon and self.daemon.poll() is None else None
        web_pid = self.webserver.pid if self.webserver else None
        self.samples.append(
            Sample(
                t=self.now(),
                daemon=rss_mib(daemon_pid),
                daemon_code=rss_mib(code_server_of(daemon_pid)),
                webserver=rss_mib(web_pid),
                webserver_code=rss_mib(code_server_of(web_pid)),
                run_rss=run_rss,
                states=dict(states),
                daemon_pid=daemon_pid,
            )
        )

    def ask_the_webserver(self) -> None:
        query = (
            '{"query": "{ runsOrError(limit: 50) { ... on Runs { results { runId status } } } }"}'
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.deployed.port}/graphql",
            data=query.encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                json.load(answer)
            self.events["webserver queries"] += 1
        except OSError:
            self.events["webserver queries failed"] += 1


def every(soak: Soak, low: float, high: float, action, until) -> threading.Thread:
    def loop():
        while not soak.stop.wait(soak.rng.uniform(low, high)):
            if not until():
                return
            try:
                action()
            except Exception as error:  # a soak keeps going; the error is counted and shown
                soak.events[f"error in {action.__name__}: {type(error).__name__}: {error}"] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def decks_for_the_pool(folder: Path, rng: random.Random) -> list[Path]:
    """4 sample decks and 12 generated ones (10-80 slides), each its own content."""
    pool = list(write_sample_decks(folder / "samples"))
    for index in range(12):
        path = folder / f"generated-{index}.pptx"
        write_generated_deck(path, rng.randint(10, 80), seed=1000 + index)
        pool.append(path)
    return pool


def settled(soak: Soak) -> bool:
    """The drop-folder sensor has looked at the inbox twice since the last change (a deck is
    requested once it held still for a tick), no run waits or runs, and every deck of the inbox
    is indexed in its present content: its partition exists, its latest `raw_documents` read
    these bytes and `qdrant_index` was written after it."""
    instance = soak.instance()
    if len(sensor_ticks_since(instance, "ingest_new_decks", soak.last_change_wall)) < 2:
        return False
    if soak.runs(statuses=UNFINISHED):
        return False
    for path in soak.deployed.inbox.iterdir():
        if not path.is_file() or path.suffix != ".pptx":
            continue
        if not instance.has_dynamic_partition("documents", path.name):
            return False
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        read = _latest(instance, "raw_documents", path.name)
        written = _latest(instance, "qdrant_index", path.name)
        if read is None or written is None or written.timestamp < read.timestamp:
            return False
        metadata = read.asset_materialization.metadata
        if "sha256" in metadata:
            read_sha = metadata["sha256"].value
        else:
            read_sha = metadata["sha256_by_document"].value.get(path.name)
        if read_sha != sha:
            return False
    return True


def sensor_ticks_since(instance: DagsterInstance, sensor: str, since: float) -> list:
    """The sensor's finished ticks that started after `since` (a timestamp)."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == sensor:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
            return [t for t in ticks if t.timestamp > since and t.status != TickStatus.STARTED]
    return []


def _latest(instance: DagsterInstance, asset: str, key: str):
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[key]), limit=1
    ).records
    return records[0] if records else None


def growth(samples: list[Sample], attribute: str, total: float) -> tuple[float, float, float]:
    """(median of the first minute of the second half, median of the last minute, growth)."""
    half = [s for s in samples if s.t >= total / 2 and getattr(s, attribute) is not None]
    if len(half) < 2:
        return float("nan"), float("nan"), float("nan")
    first = statistics.median(getattr(s, attribute) for s in half if s.t < half[0].t + 60)
    last = statistics.median(getattr(s, attribute) for s in half if s.t > half[-1].t - 60)
    return first, last, (last - first) / first


def overlapping_runs(deployed: Deployment) -> list[str]:
    """Two runs of one slot whose [start, end] overlap, from the run records."""
    by_slot: dict[str, list] = {}
    for record in deployed.runs():
        if record.start_time:
            by_slot.setdefault(record.dagster_run.tags.get(SLOT_TAG, "?"), []).append(record)
    found = []
    for slot, records in by_slot.items():
        records.sort(key=lambda r: r.start_time)
        for before, after in zip(records, records[1:]):
            end = before.end_time or float("inf")
            if after.start_time < end - 0.001:
                found.append(
                    f"slot {slot}: {before.dagster_run.run_id[:8]} / {after.dagster_run.run_id[:8]}"
                )
    return found


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="churn for this long (60)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="also write the samples and results here")
    args = parser.parse_args(argv)
    total = args.minutes * 60
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="osmose-soak-"))
    print(f"soak: {args.minutes:g} min of churn and kills in {root} (seed {args.seed})", flush=True)
    pool = decks_for_the_pool(root / "pool", rng)
    names = [f"deck-{i:02d}.pptx" for i in range(20)]
    deployed = Deployment(
        root / "deployment",
        OSMOSE_GPUS=f"cpu:{SLOTS}",
        OSMOSE_STABLE_SECONDS="2",
        OSMOSE_LOCK_TIMEOUT_S="300",
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops it
    try:
        soak = Soak(deployed=deployed, rng=rng, pool=pool)
        for name in names[:6]:
            shutil.copyfile(rng.choice(pool), deployed.inbox / name)
        soak.instance()  # creates the run storage before the daemon's processes race to
        soak.start_daemon()
        deployed.start_webserver()
        soak.webserver = deployed.processes[-1]
        soak.start = time.monotonic()

        churning = lambda: soak.now() < total  # noqa: E731
        first_half = lambda: soak.now() < total / 2 - 120  # noqa: E731
        always = lambda: True  # noqa: E731
        daemon_every = min(360.0, total / 8)  # 6-12 minutes apart in an hour's soak

        def kill_the_daemon():
            soak.kill_the_daemon(whole_group=rng.random() < 0.5)

        threads = [
            every(soak, 10, 40, lambda: soak.churn_once(names), churning),
            every(soak, 30, 150, soak.kill_a_run, churning),
            every(soak, daemon_every, 2 * daemon_every, kill_the_daemon, first_half),
            every(soak, 30, 30, soak.ask_the_webserver, always),
            every(soak, 10, 10, soak.sample, always),
        ]
        for thread in threads[:2]:
            thread.join()
        last_change = soak.last_change
        print(f"churn over at {soak.now() / 60:.1f} min; last change at {last_change / 60:.1f} min")
        converged_at = None
        deadline = last_change + 3 * TARGET_CONVERGE_S
        while soak.now() < deadline:
            if settled(soak):
                converged_at = soak.now()
                break
            time.sleep(5)
        soak.sample()
        soak.stop.set()
        overlaps = overlapping_runs(deployed)
        runs = soak.runs()
        by_status = Counter(r.dagster_run.status.value for r in runs)
        retries = sum(1 for r in runs if RETRY_NUMBER_TAG in r.dagster_run.tags)
        gave_up = sum(1 for r in runs if GAVE_UP_TAG in r.dagster_run.tags)
        after_last = sum(1 for r in runs if KILLED_AFTER_LAST_STEP_TAG in r.dagster_run.tags)
        deployed.stop()

        final = sorted(soak.decks())
        points = index_points(deployed.home)
        fresh_dir = root / "fresh"
        copies = []
        for name in final:
            (fresh_dir / "decks").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(deployed.inbox / name, fresh_dir / "decks" / name)
            copies.append(fresh_dir / "decks" / name)
        expected = fresh_ingest(copies, fresh_dir / "home") if copies else {}
        exact = points == expected
        converge_s = None if converged_at is None else converged_at - last_change

        print()
        print("memory (RSS MiB) and runs over time:")
        header = (
            f"{'min':>5} {'daemon':>7} {'d.code':>7} {'web':>6} {'w.code':>7} {'runs':>5} "
            f"{'run max':>8} {'queued':>7} {'started':>8} {'success':>8} {'failure':>8}"
        )
        print(header)
        step = max(1, len(soak.samples) // 24)
        shown = soak.samples[::step]
        if shown[-1] is not soak.samples[-1]:
            shown.append(soak.samples[-1])
        for s in shown:
            print(
                f"{s.t / 60:5.1f} {fmt(s.daemon):>7} {fmt(s.daemon_code):>7} {fmt(s.webserver):>6} "
                f"{fmt(s.webserver_code):>7} {len(s.run_rss):>5} "
                f"{fmt(max(s.run_rss) if s.run_rss else None):>8} {s.states.get('QUEUED', 0):>7} "
                f"{s.states.get('STARTED', 0):>8} {s.states.get('SUCCESS', 0):>8} "
                f"{s.states.get('FAILURE', 0):>8}"
            )
        print()
        print("memory curve, first and last values (RSS MiB):")
        for label, attribute in [
            ("daemon", "daemon"),
            ("daemon's code server", "daemon_code"),
            ("webserver", "webserver"),
            ("webserver's code server", "webserver_code"),
        ]:
            values = [s for s in soak.samples if getattr(s, attribute) is not None]
            if values:
                print(
                    f"  {label}: {fmt(getattr(values[0], attribute))} at "
                    f"{values[0].t / 60:.1f} min -> {fmt(getattr(values[-1], attribute))} at "
                    f"{values[-1].t / 60:.1f} min (peak {fmt(max(getattr(v, attribute) for v in values))})"
                )
        last_daemon = [s for s in soak.samples if s.daemon is not None]
        if last_daemon:
            since = next(s.t for s in last_daemon if s.daemon_pid == last_daemon[-1].daemon_pid)
            print(f"  (the last daemon process ran from {since / 60:.1f} min)")
        run_peaks = [max(s.run_rss) for s in soak.samples if s.run_rss]
        if run_peaks:
            print(
                f"  run processes: median {statistics.median(run_peaks):.0f}, "
                f"max {max(run_peaks):.0f} (the largest alive at each sample)"
            )
        d_first, d_last, d_growth = growth(soak.samples, "daemon", total)
        w_first, w_last, w_growth = growth(soak.samples, "webserver", total)
        print("what happened:")
        for event, count in sorted(soak.events.items()):
            print(f"  {event}: {count}")
        print(
            f"  runs: {len(runs)} ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))}); "
            f"automatic retries {retries}; given up after every try died {gave_up}; killed "
            f"after their last step (indexed, nothing to retry) {after_last}"
        )
        print(
            f"  final inbox: {len(final)} decks; index: {len(points)} documents, "
            f"{sum(map(len, points.values()))} points; fresh ingest: {len(expected)} documents, "
            f"{sum(map(len, expected.values()))} points"
        )
        if not exact:
            for name in sorted(set(points) | set(expected)):
                if points.get(name) != expected.get(name):
                    print(
                        f"  differs: {name}: index {len(points.get(name, ()))} points, fresh "
                        f"{len(expected.get(name, ()))}, in common "
                        f"{len(points.get(name, set()) & expected.get(name, set()))}"
                    )
        targets = [
            (
                "index exact (point ids = a fresh ingest of the final inbox)",
                exact,
                "exact" if exact else "differs",
            ),
            (
                f"settled within {TARGET_CONVERGE_S} s of the last change",
                converge_s is not None and converge_s <= TARGET_CONVERGE_S,
                "never" if converge_s is None else f"{converge_s:.0f} s",
            ),
            (
                "daemon memory growth over the second half < 10%",
                d_growth < TARGET_GROWTH,
                f"{d_first:.0f} -> {d_last:.0f} MiB ({d_growth:+.1%})",
            ),
            (
                "webserver memory growth over the second half < 10%",
                w_growth < TARGET_GROWTH,
                f"{w_first:.0f} -> {w_last:.0f} MiB ({w_growth:+.1%})",
            ),
            (
                "no slot held by two runs (records; live processes)",
                not overlaps and not soak.slot_violations,
                f"{len(overlaps)} overlapping runs; {len(soak.slot_violations)} samples with two "
                "live processes on a slot",
            ),
        ]
        print()
        print(f"{'target':<58} {'met':<4} figure")
        for name, met, figure in targets:
            print(f"{name:<58} {'yes' if met else 'NO':<4} {figure}")
        for line in [*overlaps, *soak.slot_violations][:10]:
            print(f"  {line}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "samples": [s.__dict__ for s in soak.samples],
                        "events": dict(soak.events),
                        "targets": [{"target": n, "met": m, "figure": f} for n, m, f in targets],
                    },
                    indent=1,
                )
            )
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        return 0 if all(met for _, met, _ in targets) else 1
    finally:
        deployed.stop()


if __name__ == "__main__":
    sys.exit(main())
