"""The project's embedding against bare `SentenceTransformer.encode` on the same texts.

    .venv/bin/python -m bench.encode_efficiency [--device cpu] [--repeat 3] [--decks big|many]

For the workload's decks (bench/workloads.py), in one process with one loaded model:
  slides  `core.pipeline.segment_decks` (every slide, one encode call for the run, plus the
          segmentation itself) against bare `encode` of the same slide texts;
  chunks  `core.pipeline.embed_chunks` (the `embeddings` asset's work: every chunk's vector
          pooled from segmentation's slide vectors) against bare `encode` of every chunk text,
          which is what a step that encodes chunks whole would have to do;
  encoder the project's `Embedder` on the chunk texts of several slides (no reuse) against bare
          `encode` of those texts: the cost of the project's own layer.
Bare encode uses the same batch size and normalisation. Each side runs --repeat times,
alternating, and the medians are compared. The target (issue 6) is >= 90% of bare throughput.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

from bench.workloads import write_workload  # noqa: E402


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--decks", default="big", choices=["big", "many"])
    parser.add_argument("--limit", type=int, default=None, help="first N decks of the workload")
    parser.add_argument("--work", type=Path, default=Path("/tmp/osmose-bench"))
    args = parser.parse_args()

    from osmose_dagster.core.extract.deck import extract_slides
    from osmose_dagster.core.model.embed import EncodeStats, forget_recent_vectors, load_embedder
    from osmose_dagster.core.model.pipeline import embed_chunks, segment_decks
    from osmose_dagster.core.records import ExtractedDeck

    paths = write_workload(args.decks, args.work / "workloads" / args.decks)[: args.limit]
    decks = {p.name: ExtractedDeck(p.name, p.name, "-", extract_slides(p)) for p in paths}
    embedder = load_embedder("all-MiniLM-L6-v2", args.device, 64)
    model = embedder._model  # the SentenceTransformer itself, for the bare side

    def bare(texts):
        return lambda: model.encode(
            [embedder.passage_prefix + t for t in texts],
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    slides = [slide.text for deck in decks.values() for slide in deck.slides]
    forget_recent_vectors()
    segmented = segment_decks(decks, embedder, penalty=1.0)
    chunks = [chunk.text for deck in segmented.values() for chunk in deck.chunks]
    probe = EncodeStats()
    embed_chunks(segmented, embedder, probe)  # which chunk texts the project encodes itself
    slide_texts = set(slides)
    encoded = [t for t in dict.fromkeys(chunks) if t not in slide_texts]

    def project_slides():
        segment_decks(decks, embedder, penalty=1.0)

    def project_chunks():
        embed_chunks(segmented, embedder, EncodeStats())

    def project_encoder():
        embedder.embed_passages(encoded)

    def remember_segmentation():  # as when a run's `embeddings` step starts
        forget_recent_vectors()
        segment_decks(decks, embedder, penalty=1.0)

    # name: (prepare, untimed; the project's side; bare encode of the same texts; texts)
    cases = {
        "slides": (forget_recent_vectors, project_slides, bare(slides), len(slides)),
        "chunks": (remember_segmentation, project_chunks, bare(chunks), len(chunks)),
        "encoder": (forget_recent_vectors, project_encoder, bare(encoded), len(encoded)),
    }
    bare(slides[:64])()  # warm-up
    print(
        f"{len(decks)} deck(s), {len(slides)} slides, {len(chunks)} chunks of which the project "
        f"encodes {probe.texts} ({probe.reused} reused); device {args.device}; median of "
        f"{args.repeat}",
        flush=True,
    )
    print(
        f"{'case':8} {'texts':>6} {'project s':>10} {'bare s':>8} {'project/bare throughput':>24}"
    )
    for name, (prepare, project, reference, count) in cases.items():
        ours, theirs = [], []
        for _ in range(args.repeat):
            prepare()
            ours.append(timed(project))
            theirs.append(timed(reference))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:8} {count:6d} {a:10.2f} {b:8.2f} {b / a:23.0%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
