"""Robustness run: every real-world deck of ../shared/corpus/real and every crafted bad file goes
through the real path (drop folder -> `ingest_new_decks` sensor -> `ingest_documents` run), and a
table says, per file: indexed or failed, the error class, time, peak memory, the error message.

    make robustness                       # everything (scripts/robustness.sh)
    .venv/bin/python -m bench.robustness --only corpus --limit 10
    .venv/bin/python -m bench.robustness --json rows.json

How: a temporary OSMOSE_HOME and DAGSTER_HOME (the repository's dagster.yaml, SQLite); the four
sample decks are indexed first and their points noted; then each file is dropped into the inbox,
the real sensor is evaluated against the real instance until it requests the file's run, and the
run is executed (`execute_in_process` of the sensor's job with the sensor's partition, tags and
run key) in a child process of its own. The daemon would launch it in a process of its own too;
doing it here instead of through `dagster-daemon` saves the daemon's polling and the code
server's start-up per run, and lets the harness measure and police each process: peak RSS (the
child's VmHWM / ru_maxrss: the whole run process, imports and the loaded model included; soffice
conversions count as their own process), a per-file timeout, and a kill line on the process
tree's memory. After all files: the sensor must tick once more without error and ask for
nothing, and the sample decks' points (ids and payloads) must be as they were.

Exit status 1 when any file breaks the contract: an outcome other than indexed or failed with a
typed error (an OsmoseError subclass, core/errors.py) whose message names the file; peak memory
of 2 GiB or more; a crash, a hang or a kill; a deck the corpus manifest says is readable (or a
legacy/Strict deck's expected error) not matching; or the sensor or the other decks' points
damaged.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from tests.support import robustness as rb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["corpus", "crafted"], help="run one set of files")
    parser.add_argument("--limit", type=int, help="the first N files of each set")
    parser.add_argument("--match", help="only files whose name contains this text")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this path")
    parser.add_argument("--corpus", type=Path, default=rb.CORPUS, help="default: %(default)s")
    parser.add_argument(
        "--timeout",
        type=float,
        default=rb.DEFAULT_TIMEOUT_S,
        help="seconds per file before its process is killed (default %(default)s)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="runs per child process (default 1: each file its own process, "
        "start-up and model load included in its time and memory)",
    )
    parser.add_argument(
        "--slots",
        type=int,
        default=1,
        help="CPU compute slots (OSMOSE_GPUS=cpu:N): N runs side by side, as the "
        "run queue allows; times then include the competition (default 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary OSMOSE_HOME")
    args = parser.parse_args(argv)

    items, notes = [], []
    if args.only in (None, "corpus"):
        if (args.corpus / "MANIFEST.tsv").exists():
            items += _select(rb.corpus_items(args.corpus), args)
        else:
            notes.append(f"corpus: {args.corpus} not found, not run")
    root = Path(tempfile.mkdtemp(prefix="osmose-robustness-"))
    if args.only in (None, "crafted"):
        items += _select(rb.crafted_items(root / "crafted"), args)
    for note in notes:
        print(f"NOTE {note}", file=sys.stderr)
    if not items:
        print("no files to run", file=sys.stderr)
        return 2

    from osmose_dagster.core.extract.sniff import find_soffice

    print(
        f"{len(items)} files through drop folder -> sensor -> run, one child process per "
        f"{'file' if args.batch == 1 else f'{args.batch} files'}; soffice: "
        f"{find_soffice() or 'not installed'}; state under {root}",
        file=sys.stderr,
    )
    started = time.monotonic()

    def progress(row: rb.Row) -> None:
        peak = max(row.peak_rss_mib or 0, row.tree_peak_mib or 0)
        print(
            f"  [{time.monotonic() - started:6.0f}s] {row.outcome:8} {row.error_class or '-':22} "
            f"{peak:5.0f} MiB  {row.file}" + ("  VIOLATION" if row.violations else ""),
            file=sys.stderr,
            flush=True,
        )

    report = rb.run_session(
        root, items, batch=args.batch, slots=args.slots, timeout_s=args.timeout, progress=progress
    )
    report.notes = notes
    print()
    print(
        "peak RSS = the run's whole child process (Python, Dagster, torch and the model "
        "included; about 0.5 GiB of it is that fixed cost), or its largest subprocess"
    )
    print("run s = the Dagster run, start to end; wall s = the child process (start-up included)")
    print()
    print(rb.table(report.rows))
    print()
    print(
        "sample decks indexed first (their points must not change): "
        + ", ".join(f"{r.file} {r.outcome} ({r.points} points)" for r in report.samples)
    )
    print(
        "sensor after all files: "
        + (
            "ticks, nothing more requested"
            if not any("sensor" in p for p in report.problems)
            else "DAMAGED"
        )
    )
    print(
        "sample decks' points after all files: "
        + ("unchanged" if not any("points of" in p for p in report.problems) else "CHANGED")
    )
    for note in notes:
        print(f"note: {note}")
    print("summary: " + rb.summary(report))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": [r.to_json() for r in rb.iter_rows(report)],
                    "problems": report.problems,
                    "notes": notes,
                    "total_s": report.total_s,
                    "ok": report.ok,
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0 if report.ok else 1


def _select(items: list, args) -> list:
    if args.match:
        items = [i for i in items if args.match in i.name]
    return items[: args.limit] if args.limit else items


if __name__ == "__main__":
    raise SystemExit(main())
