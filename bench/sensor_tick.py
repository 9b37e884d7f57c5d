"""How long a drop-folder sensor tick takes over a large inbox (the sensor's limit is 60 s).

    .venv/bin/python -m bench.sensor_tick [--files 10000] [--no-dagster]

Builds a temporary inbox of small `.pptx` files in nested folders, then times:
  core    list_inbox + plan_tick + cursor JSON in and out, as the sensor runs them, with the clock
          passed in and no caps: tick 1 sees every file new (and too recent), tick 2 runs after
          the stability delay (every file held still: each is hashed once and requested), tick 3
          with nothing changed (stat only);
  dagster the whole sensor evaluation through Dagster, caps included (a temporary instance; files
          made old first): tick 1 sees them, the next ticks request up to MAX_RUNS_PER_TICK runs
          each, the last finds nothing. This adds what Dagster does with the run requests
          (partition validation, tags) and the GPU-slot counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from osmose_dagster.core.inbox.scan import InboxCursor, list_inbox, plan_tick

STABLE_S = 5.0


def build_inbox(inbox: Path, count: int) -> None:
    """`count` files, 100 per folder, two levels deep: a/00/deck_00000.pptx ..."""
    for i in range(count):
        folder = inbox / f"team_{i // 1000:02d}" / f"batch_{(i // 100) % 10:02d}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"deck_{i:05d}.pptx").write_bytes(b"PK\x03\x04 deck %d" % i)


def core_tick(inbox: Path, cursor_json: str | None, now_ns: int):
    started = time.perf_counter()
    cursor = InboxCursor.from_json(cursor_json)
    plan = plan_tick(
        list_inbox(inbox, known_keys=cursor.decks), cursor, now_ns=now_ns, stable_seconds=STABLE_S
    )
    cursor_json = plan.cursor.to_json()
    return time.perf_counter() - started, plan, cursor_json


def bench_core(inbox: Path, count: int) -> None:
    print(f"core: list_inbox + plan_tick + cursor JSON, {count} files")
    now = time.time_ns()
    cursor = None
    for label, tick_now in [
        ("tick 1 (all new, too recent)", now),
        (f"tick 2 (+{STABLE_S + 1:.0f} s: all stable)", now + int((STABLE_S + 1) * 1e9)),
        ("tick 3 (nothing changed)", now + int((STABLE_S + 2) * 1e9)),
    ]:
        seconds, plan, cursor = core_tick(inbox, cursor, tick_now)
        print(
            f"  {label:32s} {seconds:6.3f} s  {count / seconds:9.0f} files/s  "
            f"waiting={len(plan.waiting)} hashed={plan.hashed} requested={len(plan.requests)}"
        )
    size = len(cursor.encode())
    print(f"  cursor: {size / 1e6:.2f} MB of JSON ({size / count:.0f} bytes per deck)")


def bench_dagster(home: Path, count: int) -> None:
    os.environ.update(OSMOSE_HOME=str(home), OSMOSE_GPUS="cpu:2", OSMOSE_DEVICE="cpu")
    old = time.time_ns() - 60 * 1_000_000_000
    for path in (home / "inbox").rglob("*.pptx"):
        os.utime(path, ns=(old, old))

    from dagster import build_sensor_context, instance_for_test

    from osmose_dagster.core.settings import Settings
    from osmose_dagster.definitions import build_definitions
    from osmose_dagster.defs.sensors import MAX_RUNS_PER_TICK

    defs = build_definitions(Settings.from_env())
    sensor = defs.resolve_sensor_def("ingest_new_decks")

    print(
        f"dagster: the whole sensor evaluation (evaluate_tick), {count} files, "
        f"at most {MAX_RUNS_PER_TICK} runs per tick"
    )
    with instance_for_test() as instance:
        cursor = None
        requested = 0
        for tick in range(1, 1000):
            started = time.perf_counter()
            with (
                contextlib.redirect_stderr(io.StringIO()),
                build_sensor_context(  # sensor's log
                    instance_ref=instance.get_ref(),
                    definitions=defs,
                    resources=defs.resources,
                    cursor=cursor,
                ) as context,
            ):
                data = sensor.evaluate_tick(context)
            seconds = time.perf_counter() - started
            cursor = data.cursor
            for request in data.dynamic_partitions_requests:  # as the daemon does
                instance.add_dynamic_partitions("documents", list(request.partition_keys))
            requested += len(data.run_requests)
            print(
                f"  tick {tick:<3d} {seconds:6.3f} s  {count / seconds:9.0f} files/s  "
                f"run requests={len(data.run_requests):<5d} requested so far={requested}"
            )
            if tick > 1 and not data.run_requests:
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--no-dagster", action="store_true", help="time the core scan only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        inbox = home / "inbox"
        started = time.perf_counter()
        build_inbox(inbox, args.files)
        print(f"built {args.files} files under {inbox} in {time.perf_counter() - started:.1f} s")
        bench_core(inbox, args.files)
        if not args.no_dagster:
            bench_dagster(home, args.files)


if __name__ == "__main__":
    main()
