"""How the embedded index scales: Qdrant Edge (now) against qdrant-client's local mode (before).

    .venv/bin/python -m bench.index_scale [--points 10000,100000,1000000] [--engines edge,local]
        [--old-code /tmp/before13] [--local-max 100000] [--work /tmp/osmose-index-scale]

Each (engine, size) runs in a fresh process, through the project's own `open_index` and
`VectorIndex` (the `local` engine is the code before issue 13, imported from --old-code: a clone
of the repository at that commit, e.g. `git clone -q . /tmp/before13 && git -C /tmp/before13
checkout ddbbab9`). Points: synthetic 384-d unit vectors and realistic payloads (8 chunks per
deck, 60-120 words of bench/workloads.py slide text each, a unique reference per chunk), written
as runs write them: `replace_documents` of 50 decks per opening of the store.

Columns:
  insert      all the points, batch after batch (Edge: including the HNSW graphs built at the end
              of writes, `hnsw` of it);
  open        `open_index` + a count, median of 5 fresh openings;
  search      p50/p95 of 200 searches as `osmose search` runs them (Edge: hybrid, the query's
              words and its vector; local: dense, all it had), limit 10, store already open;
  scroll      p50 of 50 `point_ids(document)` (a filtered scroll: the sensor's removal, the
              asset check);
  +1 deck     median of 5 `replace_document` of one new 8-chunk deck, each in a fresh opening,
              into this index, and in brackets into an empty one;
  peak RSS    of the process; disk: blocks used by the store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CHUNKS_PER_DECK = 8
DECKS_PER_WRITE = 50
DIMENSION = 384
WORDS = 3  # words per search query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", default="10000,100000,1000000")
    parser.add_argument("--engines", default="edge,local")
    parser.add_argument("--old-code", type=Path, default=Path("/tmp/before13"))
    parser.add_argument("--local-max", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/osmose-index-scale"))
    parser.add_argument("--max-minutes", type=float, default=25, help="per engine and size")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "POINTS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], int(args.child[1]), args.work)

    sizes = [int(n) for n in args.points.split(",")]
    engines = args.engines.split(",")
    header = (
        f"{'points':>9} {'engine':6} {'insert':>8} {'hnsw':>7} {'open':>7} {'search p50/p95':>15} "
        f"{'scroll':>8} {'+1 deck (empty)':>17} {'peak RSS':>9} {'disk':>9}"
    )
    print(header, flush=True)
    for size in sizes:
        for engine in engines:
            if engine == "local" and size > args.local_max:
                print(f"{size:>9} {engine:6} not run: local mode at this size (see README)")
                continue
            env = dict(os.environ)
            if engine == "local":
                env["PYTHONPATH"] = str(args.old_code)
            else:
                env["PYTHONPATH"] = str(BENCH.parent)
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        engine,
                        str(size),
                        "--work",
                        str(args.work),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=args.max_minutes * 60,
                )
            except subprocess.TimeoutExpired as stopped:
                progress = (stopped.stderr or b"").decode().strip().splitlines()
                print(
                    f"{size:>9} {engine:6} stopped after {args.max_minutes:g} min; last progress: "
                    f"{progress[-1] if progress else 'none'}",
                    flush=True,
                )
                continue
            if done.returncode != 0:
                print(f"{size:>9} {engine:6} failed: {done.stderr.strip()[-800:]}", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{size:>9} {engine:6} {r['insert_s']:7.1f}s {r['hnsw_s']:6.1f}s "
                f"{r['open_s']:6.3f}s {r['search_p50_ms']:6.1f}/{r['search_p95_ms']:5.1f} ms "
                f"{r['scroll_ms']:6.1f}ms {r['one_deck_s']:7.3f}s ({r['one_deck_empty_s']:.3f}s) "
                f"{r['peak_rss_mib']:6.0f}MiB {r['disk_mib']:6.0f}MiB"
                f"   [{time.perf_counter() - started:.0f}s]",
                flush=True,
            )
    return 0


def child(engine: str, size: int, work: Path) -> int:
    import numpy as np

    from osmose_dagster.core.index.store import DocumentPoints, IndexLocation, open_index
    from osmose_dagster.core.records import Chunk

    work.mkdir(parents=True, exist_ok=True)
    store = Path(tempfile.mkdtemp(prefix=f"{engine}-{size}-", dir=work)) / "qdrant"
    location = IndexLocation(collection="scale", path=store)
    texts = slide_texts()
    rng = np.random.default_rng(size)
    hnsw = [0.0]
    if engine == "edge":
        from osmose_dagster.core.index import edge as index_edge

        finish = index_edge.EdgeEngine.finish_writes

        def timed_finish(self):
            t0 = time.perf_counter()
            finish(self)
            hnsw[0] += time.perf_counter() - t0

        index_edge.EdgeEngine.finish_writes = timed_finish  # type: ignore[method-assign]

    def deck(number: int) -> DocumentPoints:
        name = f"team_{number % 97}/deck_{number:07d}.pptx"
        chunks = [
            Chunk(
                segment=i,
                index=i,
                first_slide=3 * i + 1,
                last_slide=3 * i + 3,
                title=texts[(number * 7 + i) % len(texts)][0],
                text=f"{texts[(number * 13 + i) % len(texts)][1]} Ref K-{number:07d}-{i}.",
            )
            for i in range(CHUNKS_PER_DECK)
        ]
        vectors = rng.normal(size=(CHUNKS_PER_DECK, DIMENSION)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return DocumentPoints(name, name, chunks, vectors)

    decks = size // CHUNKS_PER_DECK
    started = time.perf_counter()
    for first in range(0, decks, DECKS_PER_WRITE):
        batch = [deck(n) for n in range(first, min(decks, first + DECKS_PER_WRITE))]
        with open_index(location) as index:
            index.replace_documents(batch, "m")
        if (first // DECKS_PER_WRITE) % 25 == 24:
            print(
                f"{(first + DECKS_PER_WRITE) * CHUNKS_PER_DECK} points in "
                f"{time.perf_counter() - started:.0f}s (graph building {hnsw[0]:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    insert_s = time.perf_counter() - started

    opens = []
    for _ in range(5):
        t0 = time.perf_counter()
        with open_index(location) as index:
            assert index.count() == decks * CHUNKS_PER_DECK
        opens.append(time.perf_counter() - t0)

    words = sorted({w for _, text in texts for w in text.split() if w.isalpha() and len(w) > 3})
    query_rng = random.Random(1)
    searches, scrolls = [], []
    with open_index(location) as index:
        for _ in range(200):
            query = " ".join(query_rng.sample(words, WORDS))
            vector = rng.normal(size=DIMENSION).astype("float32")
            vector /= np.linalg.norm(vector)
            t0 = time.perf_counter()
            hits = index.search(vector, 10, query) if engine == "edge" else index.search(vector, 10)
            searches.append(time.perf_counter() - t0)
            assert len(hits) == 10
        for n in query_rng.sample(range(decks), 50):
            name = f"team_{n % 97}/deck_{n:07d}.pptx"
            t0 = time.perf_counter()
            assert len(index.point_ids(name)) == CHUNKS_PER_DECK
            scrolls.append(time.perf_counter() - t0)

    def one_more(target: IndexLocation, number: int) -> float:
        new = deck(number)
        t0 = time.perf_counter()
        with open_index(target) as index:
            index.replace_documents([new], "m")
        return time.perf_counter() - t0

    one_deck = [one_more(location, decks + 1 + i) for i in range(5)]
    empty = []
    for i in range(5):
        fresh = IndexLocation(collection="scale", path=store.parent / f"empty-{i}")
        empty.append(one_more(fresh, 10**7 + i))

    disk = sum(p.stat().st_blocks * 512 for p in store.rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "insert_s": insert_s,
                "hnsw_s": hnsw[0],
                "open_s": float(np.median(opens)),
                "search_p50_ms": float(np.percentile(searches, 50) * 1000),
                "search_p95_ms": float(np.percentile(searches, 95) * 1000),
                "scroll_ms": float(np.median(scrolls) * 1000),
                "one_deck_s": float(np.median(one_deck)),
                "one_deck_empty_s": float(np.median(empty)),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "disk_mib": disk / 2**20,
            }
        )
    )
    return 0


def slide_texts() -> list[tuple[str, str]]:
    """(title, text) of 2,000 generated slides (bench/workloads.py): 60-120 words each."""
    from bench.workloads import generated_deck_slides

    return [
        (title, " ".join(bullets + ([notes] if notes else [])))
        for title, bullets, notes in generated_deck_slides(2000, seed=13)
    ]


if __name__ == "__main__":
    sys.exit(main())
